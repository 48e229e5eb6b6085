//! The toolkit's errors: each names the stack (when there is one) and what to do.

use std::path::PathBuf;

/// A toolkit failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The app's assembly misses context values that could not be looked up.
    #[error("the app needs context values that are missing: {}; {reason}", keys.join(", "))]
    MissingContext {
        /// The missing keys.
        keys: Vec<String>,
        /// Why they were not looked up, and what to do.
        reason: String,
    },
    /// The assembly directory is missing or malformed.
    #[error("cannot read the cloud assembly {path}: {message} (synthesize it first: `cairn synth` in the directory of the app's cdk.json, or `cargo run --bin <app> -- synth --output {path}`)")]
    Assembly {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The project file (`cdk.json`) cannot be used.
    #[error("cannot use {path}: {message}")]
    Project {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The app command failed, or wrote no assembly.
    #[error("the app `{command}` did not synthesize: {message}")]
    App {
        /// The command.
        command: String,
        /// What happened.
        message: String,
    },
    /// A stack selector matched nothing.
    #[error("no stack matches `{pattern}`; the assembly has: {available}")]
    NoSuchStack {
        /// The selector.
        pattern: String,
        /// The stacks there are.
        available: String,
    },
    /// A command line value is malformed.
    #[error("{0}")]
    Usage(String),
    /// An AWS API call failed.
    #[error("{stack}: {operation} failed: {message}")]
    Aws {
        /// The stack (or environment) concerned.
        stack: String,
        /// The API operation.
        operation: &'static str,
        /// The service's message.
        message: String,
    },
    /// The endpoint did not answer (refused, unknown host, timed out): nothing was retried
    /// for long, and nothing was changed by this call.
    #[error("{stack}: {operation}: cannot reach {endpoint} ({cause}); {hint}")]
    Unreachable {
        /// The stack (or environment) concerned.
        stack: String,
        /// The API operation.
        operation: &'static str,
        /// The endpoint's URL.
        endpoint: String,
        /// What happened.
        cause: String,
        /// What to check.
        hint: String,
    },
    /// The environment has no (or an outdated) bootstrap stack.
    #[error("{stack}: the environment {environment} is not bootstrapped: {detail}; run `cairn bootstrap {environment}{}` (or `cdk bootstrap`) first", if qualifier == cairn_core::DEFAULT_QUALIFIER { String::new() } else { format!(" --qualifier {qualifier}") })]
    NotBootstrapped {
        /// The stack being deployed.
        stack: String,
        /// `aws://ACCOUNT/REGION`.
        environment: String,
        /// The bootstrap qualifier the stack needs.
        qualifier: String,
        /// What is missing.
        detail: String,
    },
    /// CloudFormation rejected the template.
    #[error("{stack}: the template is invalid: {message}")]
    InvalidTemplate {
        /// The stack.
        stack: String,
        /// CloudFormation's reason.
        message: String,
    },
    /// An asset could not be published.
    #[error("{stack}: cannot publish asset {asset}: {message}")]
    Asset {
        /// The stack.
        stack: String,
        /// The asset id or path.
        asset: String,
        /// What went wrong.
        message: String,
    },
    /// The change set would delete or replace data-holding resources.
    #[error("{stack}: refusing to deploy: the change destroys data in {resources}; give them DeletionPolicy/UpdateReplacePolicy Retain or Snapshot, or pass --force to accept the loss")]
    DataLoss {
        /// The stack.
        stack: String,
        /// `Bucket (AWS::S3::Bucket, replaced)`, ...
        resources: String,
    },
    /// Approval is required and cannot be asked.
    #[error("{stack}: the change needs approval ({why}) but there is no terminal to ask; pass --require-approval never to deploy without asking")]
    ApprovalNeeded {
        /// The stack.
        stack: String,
        /// Why approval is needed.
        why: String,
    },
    /// The user declined.
    #[error("{stack}: not approved; nothing was changed (the change set {change_set} was deleted)")]
    NotApproved {
        /// The stack.
        stack: String,
        /// The change set name.
        change_set: String,
    },
    /// Destroy needs confirmation and cannot ask.
    #[error("destroying {stacks} needs confirmation but there is no terminal to ask; pass --force")]
    ConfirmationNeeded {
        /// The stacks.
        stacks: String,
    },
    /// The stack is in a state the command cannot work from.
    #[error("{stack}: {message}")]
    StackState {
        /// The stack.
        stack: String,
        /// What the state is and what to do.
        message: String,
    },
    /// The operation ended in a failure status.
    #[error("{stack}: {operation} failed with status {status}{reasons}")]
    OperationFailed {
        /// The stack.
        stack: String,
        /// deploy / destroy.
        operation: &'static str,
        /// The final stack status.
        status: String,
        /// The failing resources with their reasons, one per line.
        reasons: String,
    },
    /// Ctrl-C: the operation goes on in CloudFormation.
    #[error("interrupted: the {operation} of {stack} goes on in CloudFormation; follow it with `aws cloudformation describe-stack-events --stack-name {stack}` (or run the same cairn command again once it is done)")]
    Interrupted {
        /// The stack.
        stack: String,
        /// deploy / destroy.
        operation: &'static str,
    },
    /// Several stacks failed (each was reported as it failed).
    #[error("{failed} of {total} stack(s) failed: {names}")]
    Several {
        /// How many failed.
        failed: usize,
        /// How many were attempted.
        total: usize,
        /// Their names.
        names: String,
    },
    /// A command needs confirmation and there is no terminal to ask.
    #[error("{action} needs confirmation but there is no terminal to ask; pass {flag}")]
    NeedsConfirmation {
        /// What would be done (`deleting 3 isolated assets from BUCKET`).
        action: String,
        /// The flag that confirms it.
        flag: &'static str,
    },
    /// `rollback` found no stack it could roll back.
    #[error("no stack could be rolled back: {0}")]
    NothingToRollBack(String),
    /// `import` found changes to existing resources in the template.
    #[error("{stack}: an import cannot change or remove existing resources, and the template does: {resources}; deploy those changes first (or remove them from the app for the import), or pass --force to import the new resources and leave the rest for the next deploy")]
    ImportNotAdditive {
        /// The stack.
        stack: String,
        /// `Queue (AWS::SQS::Queue, modified)`, ...
        resources: String,
    },
    /// `drift --fail` found drifted resources.
    #[error("drift detected: {0}")]
    Drifted(String),
    /// `diff --fail` found differences.
    #[error("differences found in {0}")]
    Differences(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The toolkit's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
