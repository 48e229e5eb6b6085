//! # cairn-core
//!
//! The core of cairn, infrastructure as code for Rust: the construct tree, values and
//! intrinsic functions, the template model, logical IDs, synthesis and the cloud
//! assembly writer.
//!
//! The tree is an arena owned by the [`App`]; constructs are small `Copy` handles
//! ([`NodeId`], [`Stack`], [`Res<T>`]). A resource attribute such as
//! `bucket.attr_arn()` is a [`Value`] that *names* its node; it becomes a `Ref`, a
//! `Fn::GetAtt`, or an `Fn::ImportValue` with an automatic export when it crosses
//! stacks, only at synthesis.
//!
//! ```
//! use cairn_core::{App, CfnResource, Output, Parameter, Value};
//!
//! # fn main() -> Result<(), cairn_core::Error> {
//! let mut app = App::new();
//! let producer = app.stack("Producer")?;
//! let queue = app.add(producer, "Queue", CfnResource::new("AWS::SQS::Queue"))?;
//!
//! let consumer = app.stack("Consumer")?;
//! let name = app.parameter(consumer, "TopicName", Parameter::string().default_value("events"))?;
//! app.add(consumer, "Topic", CfnResource::new("AWS::SNS::Topic")
//!     .with("TopicName", name.value())
//!     .with("Tags", Value::list([Value::map([
//!         ("Key", Value::from("queue")),
//!         ("Value", queue.attr("Arn")),
//!     ])])))?;
//!
//! let assembly = app.synth()?;
//! let consumer = assembly.stack("Consumer").unwrap();
//! assert!(consumer.template_json().contains("Fn::ImportValue"));
//! assert_eq!(consumer.dependencies, vec!["Producer".to_string()]);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod annotations;
pub mod arn;
pub mod aspect;
pub mod assembly;
pub mod asset;
pub mod context;
pub mod error;
pub mod id;
pub mod logical_id;
pub mod naming;
pub mod render;
pub mod resource;
pub mod synth;
pub mod template;
pub mod tree;
pub mod validate;
pub mod value;

pub use annotations::{Annotation, Diagnostic, Level};
pub use arn::{format_arn, Arn, ArnScope, Partition};
pub use aspect::{Annotations, Aspects, PRIORITY_DEFAULT, PRIORITY_MUTATING, PRIORITY_READONLY};
pub use assembly::{CloudAssembly, StackArtifact, Template, TemplateFormat};
pub use asset::{
    AssetBytes, AssetLocation, AssetSource, BootstrapNames, FileAsset, FileAssetArtifact, ASSET_BUCKET,
    DEFAULT_QUALIFIER, REQUIRED_BOOTSTRAP_VERSION, REQUIRED_LOOKUP_BOOTSTRAP_VERSION,
};
pub use context::{ContextQuery, MissingContext};
pub use error::{Error, Result};
pub use id::{AppId, ConditionRef, Construct, MappingRef, NodeId, OutputRef, ParameterRef, Stack, Stage};
pub use logical_id::make_unique_id;
pub use resource::{
    CfnResource, CfnResourceAttributes, PropertyOverride, RemovalPolicy, Res, Resource, ResourceEntry,
    ResourceOptions, TypedResource,
};
pub use synth::SynthOptions;
pub use template::{Environment, Mapping, Output, Parameter, ParameterType, StackProps};
pub use tree::{App, Aspect, AspectApplication, Node, NodeKind, Report, Reporter};
pub use validate::{PropertyError, Validator};
pub use value::{Intrinsic, Pseudo, Reference, Target, ToValue, Val, Value};
