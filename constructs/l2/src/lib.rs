//! # cairn-constructs
//!
//! L2 constructs: hand-written, opinionated building blocks over the generated L1
//! resources, with secure defaults (encryption, no public access, retention of data),
//! typed wiring and least-privilege grants, in the vocabulary of aws-cdk-lib
//! (`s3::Bucket`, `iam::Role`, `lambda::Function`, `grant_read` ...).
//!
//! Each L2 is a construct node with its L1 as the child `Resource` (and helpers beside
//! it), so logical IDs come out as the CDK's do (`MyRoleF48FFE04`). Each service module
//! also re-exports that service's L1 types: `cairn::s3::CfnBucket` next to
//! `cairn::s3::Bucket`.

#![warn(missing_docs)]

/// [`cairn_core::Construct`] for handles with a `node` field (every L2 handle: the
/// convention's `fn node(&self) -> NodeId`).
macro_rules! construct {
    ($($t:ident),* $(,)?) => {$(
        impl cairn_core::Construct for $t {
            fn node(&self) -> cairn_core::NodeId {
                self.node
            }
        }
    )*};
}

/// `From<Handle> for NodeId`, so a handle is a scope and a dependency target.
macro_rules! node_from {
    ($($t:ident),* $(,)?) => {$(
        impl From<$t> for cairn_core::NodeId {
            fn from(handle: $t) -> cairn_core::NodeId {
                handle.node
            }
        }
    )*};
}

/// What every handle of an existing resource (`Kind::from_*`) implements:
/// [`cairn_core::Construct`], and `From<Handle>` and `From<&Handle>` for `NodeId` (it is a
/// scope and a dependency target, by value or by reference: the handle is `Clone`, not
/// `Copy`, as it holds the resource's ARN and name).
macro_rules! imported_handle {
    ($($t:ident),* $(,)?) => {$(
        construct!($t);
        node_from!($t);
        impl From<&$t> for cairn_core::NodeId {
            fn from(handle: &$t) -> cairn_core::NodeId {
                handle.node
            }
        }
    )*};
}

/// [`iam::Grantable`] for handles whose grants go to their `role` field's default policy.
macro_rules! grantable_by_role {
    ($($t:ident),* $(,)?) => {$(
        impl $crate::iam::Grantable for $t {
            fn add_to_principal_policy(
                &self,
                app: &mut cairn_core::App,
                statement: $crate::iam::PolicyStatement,
            ) -> cairn_core::Result<()> {
                self.role.add_to_policy(app, statement)
            }
        }
    )*};
}

pub mod applicationautoscaling;
pub mod assertions;
pub mod athena;
pub mod cloudformation;
pub mod cloudfront;
pub mod codebuild;
pub mod codepipeline;
pub mod custom_resources;
pub mod dynamodb;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod eks;
pub mod elbv2;
pub mod events;
pub mod events_targets;
pub mod glue;
pub mod iam;
mod imported;
pub mod kms;
pub mod lakeformation;
pub mod lambda;
pub mod logs;
pub mod pipelines;
pub mod rds;
pub mod route53;
pub mod s3;
pub mod secretsmanager;
pub mod sns;
pub mod sqs;
pub mod ssm;
pub mod stepfunctions;

use cairn_core::{App, NodeId, Result};

/// Fails with one [`cairn_core::Error::InvalidProps`] at `node` naming every problem
/// found in a construct's props ([`props_error`]); `Ok` when there is none.
pub(crate) fn check_props(app: &App, node: NodeId, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(props_error(app, node, problems))
    }
}

/// One [`cairn_core::Error::InvalidProps`] at `node` for the problems of a construct's
/// props: the problem, or each on its own line when there are several.
pub(crate) fn props_error(app: &App, node: NodeId, mut problems: Vec<String>) -> cairn_core::Error {
    if problems.len() == 1 {
        app.invalid_props(node, problems.pop().unwrap_or_default())
    } else {
        let n = problems.len();
        app.invalid_props(node, format!("{n} problems:\n- {}", problems.join("\n- ")))
    }
}
