//! # cairn
//!
//! Infrastructure as code for Rust. Build an [`App`] of [`Stack`]s out of constructs,
//! let aspects check and fix them, and synthesize AWS CloudFormation templates into a
//! cloud assembly (`cdk.out`) that the AWS CDK CLI and cairn's toolkit can deploy.
//!
//! This crate is the one users depend on: it re-exports the core ([`cairn_core`]) and
//! adds the app command line ([`main`], [`AppExt::run`]: `synth` and `list`) and the
//! [`Context`] the CLIs pass. Deploying is the `cairn` CLI's (`cairn-toolkit`), which runs
//! the app from a `cdk.json` as the AWS CDK CLI does; apps link no AWS SDK unless built with
//! this crate's `toolkit` feature.
//!
//! ```no_run
//! use cairn::{App, CfnResource, Output};
//!
//! fn build() -> cairn::Result<App> {
//!     let mut app = App::new();
//!     let stack = app.stack("Storage")?;
//!     let bucket = app.add(stack, "Logs", CfnResource::new("AWS::S3::Bucket"))?;
//!     app.output(stack, "LogsBucket", Output::new(bucket.ref_()))?;
//!     Ok(app)
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     // `synth [--output DIR] [--format json|yaml] [STACK...]`, `list`; with CDK_OUTDIR
//!     // set and no subcommand (as `cairn` and `cdk` run it), `synth` into CDK_OUTDIR
//!     cairn::main(build)
//! }
//! ```

#![warn(missing_docs)]

pub mod cli;
pub mod context;

/// The compliance layer: rules, rule sets, tags, suppressions.
pub use cairn_aspects as aspects;
/// The typed L1 resources (one module per service, behind cargo features of `cairn-cfn`)
/// and the schema validator.
pub use cairn_cfn as cfn;
/// The L2 constructs, one module per service (`cairn::s3::Bucket`, `cairn::iam::Role` ...),
/// each also re-exporting its service's L1 types.
pub use cairn_constructs::*;
pub use cairn_core::*;
pub use cli::{main, AppExt, CliEnv};
pub use context::Context;

/// Integration tests: deploy an app's stacks, drive them, assert on what the AWS APIs
/// return, destroy them (the `integ` feature; see `cairn_toolkit::integ`).
#[cfg(feature = "integ")]
pub use cairn_toolkit::integ;
