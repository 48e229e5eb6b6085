//! The seam between the toolkit and AWS: the calls the commands make, as traits over plain
//! data. [`crate::aws`] implements them with the AWS SDK; the unit tests implement them with
//! an in-memory fake (`crate::fake`), so every phase of a deployment runs without a server.
//!
//! The traits are split by service ([`CloudFormation`], [`ObjectStore`] for S3,
//! [`AccountInfo`] for STS and SSM); [`Cloud`] is all of them for one region, and
//! [`Clouds`] makes the [`Cloud`] of a region.

use std::collections::BTreeMap;
use std::future::Future;

use crate::diff::Replacement;
use crate::error::Error;
use crate::events::StackEvent;

/// A failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloudError {
    /// The service answered with an error.
    Service {
        /// The error code (`ValidationError`, `ParameterNotFound` ...), when given.
        code: Option<String>,
        /// The service's message.
        message: String,
    },
    /// No answer: the endpoint could not be reached (refused, unknown host, timed out).
    Unreachable {
        /// The endpoint's URL.
        endpoint: String,
        /// What happened (`connection refused` ...).
        cause: String,
        /// What to check.
        hint: String,
    },
    /// Anything else (an answer that cannot be read, a failure inside the SDK), described.
    Other(String),
}

impl CloudError {
    /// A service error without a code.
    #[cfg(test)]
    pub(crate) fn service(message: impl Into<String>) -> Self {
        CloudError::Service {
            code: None,
            message: message.into(),
        }
    }

    /// Whether the error says the stack (or parameter, or resource) does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        match self {
            CloudError::Service { code, message } => {
                message.contains("does not exist")
                    || matches!(
                        code.as_deref(),
                        Some("ParameterNotFound" | "NotFound" | "NoSuchKey")
                    )
            }
            _ => false,
        }
    }

    /// Whether the error says the update changes nothing.
    pub(crate) fn is_no_changes(&self) -> bool {
        matches!(self, CloudError::Service { message, .. } if is_no_changes(message))
    }

    /// The service's message (with its code), or the description.
    pub(crate) fn message(&self) -> String {
        match self {
            CloudError::Service {
                code: Some(code),
                message,
            } => format!("{code}: {message}"),
            CloudError::Service { code: None, message } => message.clone(),
            CloudError::Unreachable { endpoint, cause, .. } => format!("cannot reach {endpoint}: {cause}"),
            CloudError::Other(m) => m.clone(),
        }
    }

    /// The toolkit error for `operation` on `stack`.
    pub(crate) fn at(self, stack: &str, operation: &'static str) -> Error {
        match self {
            CloudError::Unreachable {
                endpoint,
                cause,
                hint,
            } => Error::Unreachable {
                stack: stack.to_string(),
                operation,
                endpoint,
                cause,
                hint,
            },
            other => Error::Aws {
                stack: stack.to_string(),
                operation,
                message: other.message(),
            },
        }
    }
}

/// Whether CloudFormation's reason says an update changes nothing (a failed change set's
/// status reason, or the error of `CreateChangeSet`/`UpdateStack`).
pub(crate) fn is_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("No updates to be performed")
}

/// The result of a call.
pub(crate) type CloudResult<T> = std::result::Result<T, CloudError>;

/// What `DescribeStacks` says about a stack.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct StackState {
    /// The stack id (ARN).
    pub id: String,
    /// `CREATE_COMPLETE` ...
    pub status: String,
    /// Why it is in that status, when CloudFormation says.
    pub status_reason: Option<String>,
    /// The parameters' current values, by key.
    pub parameters: BTreeMap<String, String>,
    /// The stack's tags.
    pub tags: Vec<(String, String)>,
    /// Whether termination protection is on.
    pub termination_protection: bool,
    /// The outputs, by key.
    pub outputs: BTreeMap<String, String>,
}

/// Where CloudFormation reads a template from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Template {
    /// Inline (up to 51,200 bytes).
    Body(String),
    /// An S3 URL (the staging bucket).
    Url(String),
}

/// A parameter of a create or update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parameter {
    /// The key.
    pub key: String,
    /// The value; `None` keeps the stack's previous value.
    pub value: Option<String>,
}

/// The input of `CreateStack`, `UpdateStack` and `CreateChangeSet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackRequest {
    /// The stack name (or id, for an update).
    pub stack: String,
    /// The template.
    pub template: Template,
    /// The parameters.
    pub parameters: Vec<Parameter>,
    /// The tags.
    pub tags: Vec<(String, String)>,
    /// SNS topics receiving the stack events.
    pub notification_arns: Vec<String>,
    /// Leave failed resources in place (create and update only).
    pub disable_rollback: bool,
    /// Termination protection (create only).
    pub termination_protection: bool,
    /// The role CloudFormation deploys with (`RoleARN`: the bootstrap stack's execution
    /// role), when the stack names one.
    pub role_arn: Option<String>,
    /// The existing resources an `IMPORT` change set adopts (empty otherwise).
    pub resources_to_import: Vec<ResourceToImport>,
}

/// A resource an `IMPORT` change set adopts (`ResourcesToImport`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceToImport {
    /// Its logical ID in the template.
    pub logical_id: String,
    /// Its type.
    pub resource_type: String,
    /// The values of its type's identifier properties (`BucketName` ...).
    pub identifier: BTreeMap<String, String>,
}

/// Whether a change set creates or updates its stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeSetKind {
    /// A new stack.
    Create,
    /// An existing stack.
    Update,
    /// Existing resources adopted into the stack (a new stack, or an existing one).
    Import,
}

/// The handle of a created change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeSetId {
    /// The change set's id (ARN).
    pub id: String,
    /// Its stack's id.
    pub stack_id: String,
}

/// A change set's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChangeSetStatus {
    /// Still being computed.
    Pending,
    /// Computed, ready to execute.
    Ready,
    /// Failed, with CloudFormation's reason.
    Failed(String),
}

/// One resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceChange {
    /// `Add`, `Modify`, `Remove` ...
    pub action: String,
    /// The logical ID.
    pub logical_id: String,
    /// The resource type.
    pub resource_type: String,
    /// Whether CloudFormation replaces the resource.
    pub replacement: Replacement,
}

/// What `DescribeChangeSet` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeSet {
    /// Its status.
    pub status: ChangeSetStatus,
    /// The resource changes.
    pub changes: Vec<ResourceChange>,
}

/// CloudFormation, for one region.
pub(crate) trait CloudFormation: Send + Sync {
    /// `DescribeStacks` of one stack (by name or id); `None` when it does not exist.
    fn describe_stack(&self, stack: &str) -> impl Future<Output = CloudResult<Option<StackState>>> + Send;
    /// `GetTemplate` (the original template, as deployed).
    fn get_template(&self, stack: &str) -> impl Future<Output = CloudResult<String>> + Send;
    /// `DescribeStackEvents`, newest first (as the API returns them).
    fn stack_events(&self, stack: &str) -> impl Future<Output = CloudResult<Vec<StackEvent>>> + Send;
    /// `DescribeStackResources`: `(logical ID, physical ID)` of every resource.
    fn stack_resources(&self, stack: &str)
        -> impl Future<Output = CloudResult<Vec<(String, String)>>> + Send;
    /// `ValidateTemplate`.
    fn validate_template(&self, template: &Template) -> impl Future<Output = CloudResult<()>> + Send;
    /// `CreateChangeSet` (with the IAM and auto-expand capabilities).
    fn create_change_set(
        &self,
        request: &StackRequest,
        name: &str,
        kind: ChangeSetKind,
    ) -> impl Future<Output = CloudResult<ChangeSetId>> + Send;
    /// `DescribeChangeSet`.
    fn describe_change_set(&self, id: &ChangeSetId) -> impl Future<Output = CloudResult<ChangeSet>> + Send;
    /// `ExecuteChangeSet`.
    fn execute_change_set(
        &self,
        id: &ChangeSetId,
        disable_rollback: bool,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// `DeleteChangeSet`.
    fn delete_change_set(&self, id: &ChangeSetId) -> impl Future<Output = CloudResult<()>> + Send;
    /// `CreateStack` (with the IAM and auto-expand capabilities); the new stack's id.
    fn create_stack(&self, request: &StackRequest) -> impl Future<Output = CloudResult<String>> + Send;
    /// `UpdateStack` (with the IAM and auto-expand capabilities).
    fn update_stack(&self, request: &StackRequest) -> impl Future<Output = CloudResult<()>> + Send;
    /// `DeleteStack`, with the execution role (`RoleARN`) when the stack names one.
    fn delete_stack(
        &self,
        stack: &str,
        role_arn: Option<&str>,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// `ContinueUpdateRollback` with the execution role (`RoleARN`), skipping (orphaning)
    /// the resources `skip` names.
    fn continue_update_rollback(
        &self,
        stack: &str,
        role_arn: Option<&str>,
        skip: &[String],
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// `RollbackStack` of a stack left `CREATE_FAILED`/`UPDATE_FAILED` by a deployment
    /// without rollback, with the execution role (`RoleARN`), keeping the resources it
    /// created unless they were created by the failed operation (`RetainExceptOnCreate`).
    fn rollback_stack(
        &self,
        stack: &str,
        role_arn: Option<&str>,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// `DetectStackDrift`: the detection's id.
    fn detect_stack_drift(&self, stack: &str) -> impl Future<Output = CloudResult<String>> + Send;
    /// `DescribeStackDriftDetectionStatus`.
    fn drift_detection_status(
        &self,
        detection_id: &str,
    ) -> impl Future<Output = CloudResult<DriftDetection>> + Send;
    /// `DescribeStackResourceDrifts` (every page): the drift of each checked resource.
    fn stack_resource_drifts(
        &self,
        stack: &str,
    ) -> impl Future<Output = CloudResult<Vec<ResourceDrift>>> + Send;
    /// `ListStacks` (every page), deleted stacks included.
    fn list_stacks(&self) -> impl Future<Output = CloudResult<Vec<StackSummary>>> + Send;
    /// `UpdateTerminationProtection`.
    fn update_termination_protection(
        &self,
        stack: &str,
        enabled: bool,
    ) -> impl Future<Output = CloudResult<()>> + Send;
}

/// Where a drift detection is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DetectionStatus {
    /// Still running.
    InProgress,
    /// Done.
    Complete,
    /// Done, but some resources could not be checked; the reason says why.
    Failed(String),
}

/// What `DescribeStackDriftDetectionStatus` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DriftDetection {
    /// The detection's status.
    pub status: DetectionStatus,
    /// `DRIFTED`, `IN_SYNC`, `UNKNOWN`, `NOT_CHECKED` (once complete).
    pub stack_drift_status: Option<String>,
}

/// One property that differs between the template and the resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct PropertyDifference {
    /// The property's path (`/Properties/VisibilityTimeout`, `/Tags/0/Value` ...).
    pub path: String,
    /// The value the template expects (JSON text).
    pub expected: String,
    /// The resource's value (JSON text).
    pub actual: String,
    /// `ADD`, `REMOVE` or `NOT_EQUAL`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// One resource's drift (`DescribeStackResourceDrifts`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceDrift {
    /// The logical ID.
    pub logical_id: String,
    /// The physical ID.
    pub physical_id: String,
    /// The type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// `IN_SYNC`, `MODIFIED`, `DELETED`, `NOT_CHECKED`, `UNKNOWN`.
    pub status: String,
    /// The properties that differ (`MODIFIED` only).
    pub differences: Vec<PropertyDifference>,
}

/// A stack as `ListStacks` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackSummary {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: String,
}

/// An object as `ListObjectsV2` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectInfo {
    /// The key.
    pub key: String,
    /// The size in bytes.
    pub size: u64,
    /// When it was last written, in seconds since the Unix epoch.
    pub last_modified: i64,
}

/// S3, for assets and large templates.
pub(crate) trait ObjectStore: Send + Sync {
    /// Whether the object can be read (`HeadObject` succeeds).
    fn object_exists(&self, bucket: &str, key: &str) -> impl Future<Output = CloudResult<bool>> + Send;
    /// `PutObject`.
    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// `ListObjectsV2` (every page).
    fn list_objects(&self, bucket: &str) -> impl Future<Output = CloudResult<Vec<ObjectInfo>>> + Send;
    /// `GetObjectTagging`: the object's tags.
    fn object_tags(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = CloudResult<Vec<(String, String)>>> + Send;
    /// `PutObjectTagging` (replaces the object's tags), or `DeleteObjectTagging` when
    /// `tags` is empty.
    fn set_object_tags(
        &self,
        bucket: &str,
        key: &str,
        tags: &[(String, String)],
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// `DeleteObjects` (up to 1,000 keys): the keys that could not be deleted, with why.
    fn delete_objects(
        &self,
        bucket: &str,
        keys: &[String],
    ) -> impl Future<Output = CloudResult<Vec<(String, String)>>> + Send;
}

/// STS and SSM: who we are and what the environment records.
pub(crate) trait AccountInfo: Send + Sync {
    /// The account of the credentials (`GetCallerIdentity`).
    fn account(&self) -> impl Future<Output = CloudResult<String>> + Send;
    /// An SSM parameter's value (`GetParameter`); `None` when it does not exist.
    fn parameter(&self, name: &str) -> impl Future<Output = CloudResult<Option<String>>> + Send;
}

/// A Lambda function's new code (`UpdateFunctionCode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FunctionCode {
    /// A zip in S3 (a published file asset).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The object version, when the template names one.
        version: Option<String>,
    },
    /// A container image.
    ImageUri(String),
}

/// A Lambda function's new configuration (`UpdateFunctionConfiguration`): the properties
/// that changed, each with its new value (the service's default when the template no
/// longer sets it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FunctionConfiguration {
    /// `Environment.Variables`.
    pub environment: Option<BTreeMap<String, String>>,
    /// `Description`.
    pub description: Option<String>,
    /// `MemorySize` (MB).
    pub memory_size: Option<i64>,
    /// `Timeout` (seconds).
    pub timeout: Option<i64>,
}

/// Where a Lambda function's last update is (`GetFunctionConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionStatus {
    /// `Pending`, `Active`, `Failed` ... (`State`).
    pub state: Option<String>,
    /// `InProgress`, `Successful`, `Failed` (`LastUpdateStatus`).
    pub last_update_status: Option<String>,
    /// Why it failed (`LastUpdateStatusReason`).
    pub reason: Option<String>,
}

/// An ECS service's deployments (`DescribeServices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceState {
    /// The task definition of the primary deployment.
    pub task_definition: String,
    /// How many deployments are running (1 once a rollout is over).
    pub deployments: usize,
    /// The primary deployment's `rolloutState` (`IN_PROGRESS`, `COMPLETED`, `FAILED`).
    pub rollout_state: Option<String>,
    /// Why the rollout is in that state.
    pub rollout_reason: Option<String>,
}

/// The service APIs a hotswap deployment calls instead of CloudFormation: Lambda, Step
/// Functions and ECS.
pub(crate) trait Services: Send + Sync {
    /// Lambda `UpdateFunctionCode`.
    fn update_function_code(
        &self,
        function: &str,
        code: &FunctionCode,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// Lambda `UpdateFunctionConfiguration` with the properties set in `config`.
    fn update_function_configuration(
        &self,
        function: &str,
        config: &FunctionConfiguration,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// Lambda `GetFunctionConfiguration`: the function's state and last update's status.
    fn function_status(&self, function: &str) -> impl Future<Output = CloudResult<FunctionStatus>> + Send;
    /// Step Functions `UpdateStateMachine` with a new definition.
    fn update_state_machine(
        &self,
        arn: &str,
        definition: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// ECS `DescribeTaskDefinition`: the `taskDefinition` object, as the API returns it.
    fn describe_task_definition(
        &self,
        arn: &str,
    ) -> impl Future<Output = CloudResult<serde_json::Value>> + Send;
    /// ECS `RegisterTaskDefinition` with `input` (the API's request object): the new
    /// revision's ARN.
    fn register_task_definition(
        &self,
        input: &serde_json::Value,
    ) -> impl Future<Output = CloudResult<String>> + Send;
    /// ECS `UpdateService` to `task_definition`, forcing a new deployment.
    fn update_service(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
    ) -> impl Future<Output = CloudResult<()>> + Send;
    /// ECS `DescribeServices` of one service.
    fn describe_service(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = CloudResult<ServiceState>> + Send;
}

/// The services of one region.
pub(crate) trait Cloud: CloudFormation + ObjectStore + AccountInfo + Services + 'static {
    /// The region.
    fn region(&self) -> &str;
}

/// Makes the [`Cloud`] of a region.
pub(crate) trait Clouds: Send + Sync + 'static {
    /// The clients of one region.
    type Cloud: Cloud;
    /// The configured region (profile, `AWS_REGION`, `--region`), if any.
    fn default_region(&self) -> Option<String>;
    /// The clients for `region`.
    fn connect(&self, region: &str) -> impl Future<Output = Self::Cloud> + Send;
    /// The clients for `region` with the credentials of `role_arn` (STS `AssumeRole` with
    /// the configured credentials, refreshed as they expire); an error when the role cannot
    /// be assumed.
    fn assume(&self, region: &str, role_arn: &str) -> impl Future<Output = CloudResult<Self::Cloud>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_change_reasons() {
        assert!(is_no_changes("The submitted information didn't contain changes. Submit different information to create a change set."));
        assert!(is_no_changes("No updates are to be performed."));
        assert!(!is_no_changes("Template format error"));
        assert!(CloudError::service("No updates are to be performed.").is_no_changes());
    }

    #[test]
    fn errors_name_the_stack_and_operation() {
        let e = CloudError::Service {
            code: Some("ValidationError".into()),
            message: "Stack with id X does not exist".into(),
        };
        assert!(e.is_not_found());
        assert_eq!(
            e.at("X", "DescribeStacks").to_string(),
            "X: DescribeStacks failed: ValidationError: Stack with id X does not exist"
        );
        let down = CloudError::Unreachable {
            endpoint: "http://127.0.0.1:9".into(),
            cause: "connection refused".into(),
            hint: "check that it runs".into(),
        };
        assert!(!down.is_not_found());
        let text = down.at("Hello", "DescribeStacks").to_string();
        assert!(text.contains("http://127.0.0.1:9"), "{text}");
        assert!(text.contains("connection refused"), "{text}");
        assert!(text.contains("check that it runs"), "{text}");
    }
}
