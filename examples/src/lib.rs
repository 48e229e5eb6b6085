//! The cairn example apps. Each module builds one app; each binary in `src/bin` runs
//! one of them through the app command line (`synth`, `list`), and `synth-tests`
//! snapshots their templates.

#![warn(missing_docs)]

pub mod ami_tracker;
pub mod aspects_demo;
pub mod bench_app;
pub mod data_lake;
pub mod ecs_fargate_spot;
pub mod eks_jenkins;
pub mod hello;
pub mod pipelines;
pub mod stack_manager;
pub mod stackset_healing;
pub mod web_jobnet;
