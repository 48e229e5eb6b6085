//! Errors: each names the construct path and says how to fix it.

use std::path::PathBuf;

use crate::annotations::Diagnostic;

/// Everything that can go wrong while building or synthesizing an app.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A construct id is empty or contains a forbidden character.
    #[error("invalid construct id {id:?} under '{scope}': {reason}; use a non-empty id without '/'")]
    InvalidId {
        /// Path of the scope the construct was added to.
        scope: String,
        /// The rejected id.
        id: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// Two siblings share an id.
    #[error("duplicate construct id: '{path}' already exists (a {existing} was added there first); give the new construct a different id")]
    DuplicateId {
        /// The path both constructs would have.
        path: String,
        /// What kind of node is already there.
        existing: &'static str,
    },

    /// A construct was placed where it cannot live (e.g. a resource directly under the app).
    #[error("'{path}': {problem}")]
    InvalidScope {
        /// Path of the offending scope.
        path: String,
        /// What is wrong and what to do.
        problem: String,
    },

    /// A handle was used that belongs to another app (or to none).
    #[error("node #{0} was not made by this app; handles are only valid in the app that created them: build the construct in this app")]
    UnknownNode(usize),

    /// A node was used as something it is not (e.g. a bucket handle as a condition).
    #[error("'{path}' cannot be used here: a {expected} is needed, but it is of kind '{actual}'")]
    WrongKind {
        /// The node's path.
        path: String,
        /// What was needed.
        expected: &'static str,
        /// What the node is.
        actual: &'static str,
    },

    /// Two nodes of a stack map to the same logical ID.
    #[error("logical ID collision in stack '{stack}': '{first}' and '{second}' both get '{logical_id}'; rename one of them or override its logical ID")]
    LogicalIdCollision {
        /// The stack.
        stack: String,
        /// The contested logical ID.
        logical_id: String,
        /// The first node's path.
        first: String,
        /// The second node's path.
        second: String,
    },

    /// A logical ID (an override, or one computed from ids without a letter or digit) is not
    /// a valid CloudFormation logical ID.
    #[error("'{path}': logical ID {logical_id:?} is invalid: CloudFormation takes 1 to 255 ASCII letters and digits; give the construct an id with letters or digits, or override its logical ID with a valid one")]
    InvalidLogicalId {
        /// The node's path.
        path: String,
        /// The rejected logical ID.
        logical_id: String,
    },

    /// A stack's name (given, or derived from its path) is not one CloudFormation accepts.
    #[error("stack '{path}': the stack name {name:?} is invalid: CloudFormation takes 1 to 128 letters, digits and hyphens, starting with a letter; give the stack such an id or set StackProps::stack_name")]
    InvalidStackName {
        /// The stack's path.
        path: String,
        /// The rejected name.
        name: String,
    },

    /// A value references a node in a stack of another account or region.
    #[error("'{consumer}' references '{producer}', but their stacks deploy to different environments ({consumer_env} vs {producer_env}); cross-stack references only work within one account and region: pass the value as a parameter, or store it in an SSM parameter and read it in the other environment")]
    CrossEnvironmentReference {
        /// The referencing construct.
        consumer: String,
        /// The referenced construct.
        producer: String,
        /// The consumer stack's environment.
        consumer_env: String,
        /// The producer stack's environment.
        producer_env: String,
    },

    /// A value references a node that is not in any stack, or an output.
    #[error("'{consumer}' references '{target}', which cannot be referenced: {reason}")]
    InvalidReference {
        /// The referencing construct.
        consumer: String,
        /// The referenced construct.
        target: String,
        /// Why the reference is invalid.
        reason: &'static str,
    },

    /// Stack dependencies form a cycle.
    #[error("stack dependency cycle: {}; remove one of the references or explicit dependencies", cycle.join(" -> "))]
    DependencyCycle {
        /// The stacks of the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },

    /// A stack exceeds a CloudFormation quota.
    #[error("stack '{stack}' has {count} {what}, over CloudFormation's limit of {limit}; split it into several stacks")]
    LimitExceeded {
        /// The stack.
        stack: String,
        /// What is counted (resources, parameters, outputs ...).
        what: &'static str,
        /// How many the stack has.
        count: usize,
        /// The quota.
        limit: usize,
    },

    /// A template body is larger than CloudFormation accepts even from S3.
    #[error("stack '{stack}': template is {bytes} bytes, over CloudFormation's limit of {limit} bytes; split the stack")]
    TemplateTooLarge {
        /// The stack.
        stack: String,
        /// The template size.
        bytes: usize,
        /// The quota.
        limit: usize,
    },

    /// Validation found errors; nothing was written.
    #[error("synthesis failed with {} error(s):\n{}", errors.len(), errors.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Validation {
        /// Every error found, each with its construct path.
        errors: Vec<Diagnostic>,
    },

    /// A file of the cloud assembly could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The file or directory of an asset does not exist.
    #[error("'{path}': asset path {} does not exist; check the path (relative paths are resolved from the working directory)", source_path.display())]
    AssetNotFound {
        /// The construct the asset was added to.
        path: String,
        /// The missing file or directory.
        source_path: PathBuf,
    },

    /// The file or directory of an asset cannot be packaged.
    #[error("'{path}': asset {}: {message}", source_path.display())]
    Asset {
        /// The construct the asset was added to.
        path: String,
        /// The file or directory concerned.
        source_path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A construct's settings are invalid (an L2 construct checks its props).
    #[error("'{path}': {problem}")]
    InvalidProps {
        /// The construct's path.
        path: String,
        /// What is wrong and what to do.
        problem: String,
    },

    /// A template could not be serialized.
    #[error("cannot serialize the template of '{stack}': {message}")]
    Serialize {
        /// The stack.
        stack: String,
        /// The serializer's message.
        message: String,
    },
}

/// `Result` with cairn's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
