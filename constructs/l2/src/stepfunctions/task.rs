//! The `Task` state and the extension point of its service integrations:
//! [`TaskIntegration`], bound to the task when the task is added to a definition.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;

use cairn_core::{Arn, Value};

use super::error::{DefResult, DefinitionError};
use super::fields::{comment_method, handler_methods, parameters_method, path_methods, result_methods, Io};
use super::integrations::{
    AwsSdk, LambdaFunction, LambdaInvoke, SendCommand, ServiceAction, ServiceCall, StartExecution,
};
use super::retry::{Catch, Retry};
use super::state::{sealed, Body, HasNext, State, StateBody};
use crate::iam::PolicyStatement;

/// How a task waits for the work it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrationPattern {
    /// Call the service and continue with its response.
    RequestResponse,
    /// `.sync`: start a job and wait for it to complete.
    RunJob,
    /// `.waitForTaskToken`: pass a task token on and wait until it is returned.
    WaitForTaskToken,
}

impl IntegrationPattern {
    /// The suffix of an optimized integration's resource for this pattern: `""`,
    /// `".sync"` or `".waitForTaskToken"`.
    pub fn suffix(self) -> &'static str {
        match self {
            IntegrationPattern::RequestResponse => "",
            IntegrationPattern::RunJob => ".sync",
            IntegrationPattern::WaitForTaskToken => ".waitForTaskToken",
        }
    }
}

impl fmt::Display for IntegrationPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntegrationPattern::RequestResponse => "request-response",
            IntegrationPattern::RunJob => ".sync (run a job)",
            IntegrationPattern::WaitForTaskToken => ".waitForTaskToken",
        })
    }
}

/// The `Resource` of an optimized service integration in the stack's partition,
/// `arn:${AWS::Partition}:states:::<integration>` (e.g. `lambda:invoke`,
/// `sns:publish.waitForTaskToken`), so the definition works in every partition (China,
/// GovCloud ...). In `DefinitionString` it is a `${Key}` placeholder
/// (`"Resource": "${LambdaInvoke}"`) resolved through `DefinitionSubstitutions`.
///
/// ```
/// use cairn_constructs::stepfunctions::integration_arn;
/// use cairn_core::{Pseudo, Value};
/// assert_eq!(
///     integration_arn("lambda:invoke"),
///     Value::join("", ["arn:".into(), Value::pseudo(Pseudo::Partition), ":states:::lambda:invoke".into()]),
/// );
/// ```
pub fn integration_arn(integration: &str) -> Value {
    Arn::new("states", integration).no_region().no_account().format()
}

/// A service integration of a [`Task`]: what the task calls, and what the state machine's
/// role needs for it. The built-in constructors ([`Task::lambda_invoke`], [`Task::aws_sdk`],
/// [`Task::service`] ...) are implementations; implement it for an integration they do not
/// cover and pass it to [`Task::new`].
///
/// The integration is bound to its task when the task is added to a
/// [`Definition`](super::Definition) (the CDK's `bind`): [`TaskIntegration::bind`] returns
/// the task's `Resource`, the integration's `Parameters` and the role's statements; the
/// [`StateMachine`](super::StateMachine) that runs the definition grants the statements.
///
/// ```
/// use cairn_constructs::iam::PolicyStatement;
/// use cairn_constructs::stepfunctions::{
///     Definition, DefinitionError, IntegrationConfig, IntegrationPattern, Params, Task,
///     TaskContext, TaskIntegration,
/// };
/// use cairn_core::{format_arn, Value};
///
/// /// EventBridge `PutEvents` on one bus.
/// #[derive(Debug)]
/// struct PutEvents { bus: String }
///
/// impl TaskIntegration for PutEvents {
///     fn name(&self) -> String { "events:putEvents".into() }
///     fn supports(&self, pattern: IntegrationPattern) -> bool {
///         pattern != IntegrationPattern::RunJob
///     }
///     fn bind(&self, task: &TaskContext<'_>) -> Result<IntegrationConfig, DefinitionError> {
///         let bus = format_arn("events", format!("event-bus/{}", self.bus));
///         Ok(IntegrationConfig::new(task.resource("events:putEvents"))
///             .parameters(Params::new().set("Entries", Value::List(vec![Params::new()
///                 .set("EventBusName", self.bus.as_str())
///                 .set("Source", "orders")
///                 .path("Detail", "$")
///                 .set("DetailType", "OrderPlaced")
///                 .into()])))
///             .policy_statement(PolicyStatement::allow()
///                 .actions([task.iam_action("events:PutEvents")])
///                 .resources(task.iam_resources(vec![bus]))))
///     }
/// }
///
/// # fn main() -> Result<(), DefinitionError> {
/// let mut def = Definition::new();
/// let put = def.add(Task::new("Announce", PutEvents { bus: "orders".into() }))?;
/// def.end(put)?;
/// assert_eq!(def.policy_statements()[0].actions, ["events:PutEvents"]);
/// # Ok(())
/// # }
/// ```
pub trait TaskIntegration: fmt::Debug + Send + Sync {
    /// The integration in messages: `lambda:invoke`, `aws-sdk:ssm:sendCommand` ...
    fn name(&self) -> String;

    /// Whether the integration supports an integration pattern; request-response only,
    /// unless overridden.
    fn supports(&self, pattern: IntegrationPattern) -> bool {
        pattern == IntegrationPattern::RequestResponse
    }

    /// The parameter [`Task::payload`] and [`Task::payload_path`] set (a Lambda invoke's
    /// `Payload`, a started execution's `Input`); `None` (the default): `Task::payload`
    /// sets the task's `Parameters` and `Task::payload_path` does nothing.
    fn payload_parameter(&self) -> Option<&str> {
        None
    }

    /// Binds the integration to the task that uses it: its `Resource`, its `Parameters`
    /// (the task's own are added over them), the statements the state machine's role needs
    /// (the first is the main one, on the resources [`TaskContext::iam_resources`] gives),
    /// and the retriers it adds. Errors name the state ([`TaskContext::invalid`]).
    fn bind(&self, task: &TaskContext<'_>) -> DefResult<IntegrationConfig>;
}

/// What a [`TaskIntegration`] learns about its task when it is bound.
#[derive(Debug, Clone, Copy)]
pub struct TaskContext<'a> {
    state: &'a str,
    pattern: IntegrationPattern,
    iam_resources: Option<&'a [Value]>,
    iam_action: Option<&'a str>,
}

impl TaskContext<'_> {
    /// The task's state name.
    pub fn state(&self) -> &str {
        self.state
    }

    /// The task's integration pattern (supported: checked before binding).
    pub fn pattern(&self) -> IntegrationPattern {
        self.pattern
    }

    /// The `Resource` of the optimized integration `integration` (`sns:publish`) with the
    /// suffix of the task's pattern: `arn:<partition>:states:::sns:publish.waitForTaskToken`
    /// ([`integration_arn`]).
    pub fn resource(&self, integration: &str) -> Value {
        integration_arn(&format!("{integration}{}", self.pattern.suffix()))
    }

    /// The resources of the main statement: those of [`Task::iam_resources`] when set,
    /// else `default`.
    pub fn iam_resources(&self, default: Vec<Value>) -> Vec<Value> {
        self.iam_resources.map_or(default, <[Value]>::to_vec)
    }

    /// The action of the main statement: that of [`Task::iam_action`] when set, else
    /// `default`.
    pub fn iam_action(&self, default: impl Into<String>) -> String {
        self.iam_action.map_or_else(|| default.into(), str::to_string)
    }

    /// An error about a field of the task: `state 'X': <field> "<value>" is invalid: <reason>`.
    pub fn invalid(&self, field: &str, value: &str, reason: &str) -> DefinitionError {
        super::validate::invalid(self.state, field, value, reason)
    }
}

/// What a [`TaskIntegration`] binds to: the task's `Resource`, the integration's
/// `Parameters`, the role's statements and the integration's retriers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IntegrationConfig {
    /// `Resource`: an integration ARN ([`TaskContext::resource`]) or a function's ARN.
    pub resource: Value,
    /// The integration's `Parameters`; the task's payload and [`Task::parameters`] are
    /// added over them (`key` replaces `key.$` and the other way round).
    pub parameters: Option<Value>,
    /// The statements the state machine's role needs; the first is the main one.
    pub policy_statements: Vec<PolicyStatement>,
    /// Retriers tried before the task's own (e.g. Lambda's transient service errors);
    /// [`Task::retry_on_service_exceptions`] turns them off.
    pub retries: Vec<Retry>,
}

impl IntegrationConfig {
    /// An integration calling `resource`, with no parameters, statements or retriers yet.
    pub fn new(resource: impl Into<Value>) -> IntegrationConfig {
        IntegrationConfig {
            resource: resource.into(),
            parameters: None,
            policy_statements: Vec::new(),
            retries: Vec::new(),
        }
    }

    /// Sets the integration's `Parameters` (a [`Params`](super::Params) or a map).
    pub fn parameters(mut self, parameters: impl Into<Value>) -> Self {
        self.parameters = Some(parameters.into());
        self
    }

    /// Adds a statement the role needs.
    pub fn policy_statement(mut self, statement: PolicyStatement) -> Self {
        self.policy_statements.push(statement);
        self
    }

    /// Adds a retrier.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retries.push(retry);
        self
    }
}

/// A task's payload, set by [`Task::payload`] or [`Task::payload_path`].
#[derive(Debug, Clone, PartialEq)]
enum Payload {
    Path(String),
    Value(Value),
}

/// The `Task` state: calls a service through one of Step Functions' integrations.
///
/// ```
/// use cairn_constructs::stepfunctions::{Params, Task};
/// let notify = Task::lambda_invoke("Notify", "arn:aws:lambda:us-east-1:123456789012:function:notify")
///     .payload(Params::new().path("instance.$", "$.id").task_token("token"))
///     .wait_for_task_token()
///     .timeout_seconds(3600)
///     .heartbeat_seconds(600);
/// # let _ = notify;
/// ```
#[derive(Debug, Clone)]
pub struct Task {
    pub(super) name: String,
    pub(super) io: Io,
    integration: Arc<dyn TaskIntegration>,
    pub(super) pattern: IntegrationPattern,
    payload: Option<Payload>,
    integration_retries: bool,
    pub(super) timeout_seconds: Option<u32>,
    pub(super) heartbeat_seconds: Option<u32>,
    pub(super) retries: Vec<Retry>,
    pub(super) catches: Vec<Catch>,
    iam_resources: Option<Vec<Value>>,
    iam_action: Option<String>,
    statements: Vec<PolicyStatement>,
}

impl sealed::Sealed for Task {}

impl State for Task {
    fn name(&self) -> &str {
        &self.name
    }

    fn into_body(self) -> DefResult<StateBody> {
        Ok(StateBody(Body::Task(Box::new(self.bind()?))))
    }
}

impl HasNext for Task {}
comment_method!(Task);
path_methods!(Task);
result_methods!(Task);
handler_methods!(Task);
parameters_method!(
    Task,
    "Sets `Parameters`. For integrations that fill `Parameters` themselves (Lambda invoke, SSM SendCommand, StartExecution), the keys are added to theirs (`key` replaces `key.$` and the other way round)."
);

impl Task {
    /// A task calling `integration`, request-response, with no settings yet.
    pub fn new(name: &str, integration: impl TaskIntegration + 'static) -> Task {
        Task {
            name: name.to_string(),
            io: Io::default(),
            integration: Arc::new(integration),
            pattern: IntegrationPattern::RequestResponse,
            payload: None,
            integration_retries: true,
            timeout_seconds: None,
            heartbeat_seconds: None,
            retries: Vec::new(),
            catches: Vec::new(),
            iam_resources: None,
            iam_action: None,
            statements: Vec::new(),
        }
    }

    /// Invokes a Lambda function through the optimized integration
    /// (`arn:<partition>:states:::lambda:invoke`) with the state's input as `Payload`. The
    /// function is its ARN, name or a reference; the role may invoke it and its versions.
    /// Like the CDK, it retries Lambda's transient service errors (see
    /// [`Task::retry_on_service_exceptions`]).
    pub fn lambda_invoke(name: &str, function: impl Into<Value>) -> Task {
        Task::new(name, LambdaInvoke::new(function))
    }

    /// [`Task::lambda_invoke`] of a [`crate::lambda::Function`] (its ARN, from any stack).
    ///
    /// ```
    /// use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
    /// use cairn_constructs::stepfunctions::Task;
    /// # let mut app = cairn_core::App::new();
    /// # let stack = app.stack("S").unwrap();
    /// let f = Function::new(&mut app, stack, "Resize", FunctionProps::new(
    ///     Runtime::Python3_13, "index.handler", Code::inline("def handler(e, c):\n    return e\n"))).unwrap();
    /// let task = Task::invoke("Resize", &f).result_path("$.resized");
    /// # let _ = task;
    /// ```
    pub fn invoke(name: &str, function: &crate::lambda::Function) -> Task {
        Task::lambda_invoke(name, function.function_arn())
    }

    /// Invokes a Lambda function by using its ARN as the `Resource`: the result is the
    /// function's response itself (no `Payload` wrapper).
    pub fn lambda_function(name: &str, function_arn: impl Into<Value>) -> Task {
        Task::new(name, LambdaFunction::new(function_arn))
    }

    /// Calls any AWS API through the AWS SDK integration
    /// (`arn:<partition>:states:::aws-sdk:<service>:<action>`, the action in camelCase, e.g.
    /// `ec2`, `stopInstances`). The role gets `<service>:<Action>` on `iam_resources`;
    /// change the IAM action with [`Task::iam_action`] when it differs.
    pub fn aws_sdk<V: Into<Value>>(
        name: &str,
        service: &str,
        action: &str,
        iam_resources: impl IntoIterator<Item = V>,
    ) -> Task {
        Task::new(name, AwsSdk(ServiceAction::new(service, action, iam_resources)))
    }

    /// Runs an SSM document on instances (`aws-sdk:ssm:sendCommand`); the role gets
    /// `ssm:SendCommand` on the document and the instances.
    pub fn ssm_send_command(name: &str, command: SendCommand) -> Task {
        Task::new(name, command)
    }

    /// Starts an execution of another state machine (`states:startExecution`, with
    /// `.sync:2` for [`IntegrationPattern::RunJob`]), passing the state's input.
    pub fn start_execution(name: &str, state_machine_arn: impl Into<Value>) -> Task {
        Task::new(name, StartExecution::new(state_machine_arn))
    }

    /// Calls an optimized service integration (`arn:<partition>:states:::<service>:<action>`,
    /// e.g. `sns`, `publish`) with the task's [`Task::parameters`]; the role gets
    /// `<service>:<Action>` on `iam_resources`. `.sync` is supported for CodeBuild
    /// `startBuild`, Batch `submitJob`, ECS `runTask` and Glue `startJobRun`.
    pub fn service<V: Into<Value>>(
        name: &str,
        service: &str,
        action: &str,
        iam_resources: impl IntoIterator<Item = V>,
    ) -> Task {
        Task::new(
            name,
            ServiceCall(ServiceAction::new(service, action, iam_resources)),
        )
    }

    /// The integration's payload (a Lambda invoke's `Payload`, a started execution's
    /// `Input`: a literal, a reference or [`Params`](super::Params)); by default the
    /// input. For other integrations it sets `Parameters`.
    pub fn payload(mut self, payload: impl Into<Value>) -> Self {
        if self.integration.payload_parameter().is_some() {
            self.payload = Some(Payload::Value(payload.into()));
        } else {
            self.io.parameters = Some(payload.into());
        }
        self
    }

    /// The integration's payload (a Lambda `Payload`, a started execution's `Input`)
    /// selected from the input.
    pub fn payload_path(mut self, path: &str) -> Self {
        if self.integration.payload_parameter().is_some() {
            self.payload = Some(Payload::Path(path.to_string()));
        }
        self
    }

    /// Whether the task keeps the retriers its integration adds: a Lambda invoke retries
    /// Lambda's transient service errors (on by default: 6 attempts, 2 s apart,
    /// doubling).
    pub fn retry_on_service_exceptions(mut self, on: bool) -> Self {
        self.integration_retries = on;
        self
    }

    /// Sets the integration pattern.
    pub fn integration_pattern(mut self, pattern: IntegrationPattern) -> Self {
        self.pattern = pattern;
        self
    }

    /// `.waitForTaskToken`: the task passes [`TASK_TOKEN`](super::TASK_TOKEN) on and
    /// waits for it.
    pub fn wait_for_task_token(self) -> Self {
        self.integration_pattern(IntegrationPattern::WaitForTaskToken)
    }

    /// `.sync`: the task waits for the job it starts.
    pub fn sync(self) -> Self {
        self.integration_pattern(IntegrationPattern::RunJob)
    }

    /// Sets `TimeoutSeconds`.
    pub fn timeout_seconds(mut self, seconds: u32) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Sets `HeartbeatSeconds` (smaller than the timeout).
    pub fn heartbeat_seconds(mut self, seconds: u32) -> Self {
        self.heartbeat_seconds = Some(seconds);
        self
    }

    /// Replaces the resources the role is granted the task's main action on (e.g. the
    /// function ARNs a task may invoke when the function is chosen at run time).
    pub fn iam_resources<V: Into<Value>>(mut self, resources: impl IntoIterator<Item = V>) -> Self {
        self.iam_resources = Some(resources.into_iter().map(Into::into).collect());
        self
    }

    /// Replaces the IAM action derived from an AWS SDK call (e.g. `s3:ListBucket` for
    /// `listObjectsV2`).
    pub fn iam_action(mut self, action: &str) -> Self {
        self.iam_action = Some(action.to_string());
        self
    }

    /// Adds a statement to the role, beyond what the integration needs.
    pub fn add_policy_statement(mut self, statement: PolicyStatement) -> Self {
        self.statements.push(statement);
        self
    }

    /// Binds the integration: checks the pattern, asks the integration for its config
    /// and puts the task's payload and parameters over the integration's parameters.
    fn bind(self) -> DefResult<BoundTask> {
        let name = self.integration.name();
        if !self.integration.supports(self.pattern) {
            return Err(DefinitionError::UnsupportedPattern {
                state: self.name.clone(),
                integration: name,
                pattern: self.pattern,
            });
        }
        let context = TaskContext {
            state: &self.name,
            pattern: self.pattern,
            iam_resources: self.iam_resources.as_deref(),
            iam_action: self.iam_action.as_deref(),
        };
        let config = self.integration.bind(&context)?;
        if config
            .policy_statements
            .first()
            .is_some_and(|s| s.resources.is_empty())
        {
            return Err(DefinitionError::MissingIamResources {
                state: self.name.clone(),
                integration: name,
            });
        }
        let mut parameters = config.parameters;
        if let (Some(key), Some(payload)) = (self.integration.payload_parameter(), &self.payload) {
            if let Payload::Path(p) = payload {
                super::validate::check_path(&self.name, key, p)?;
            }
            let entry = match payload {
                Payload::Path(p) => (format!("{key}.$"), Value::from(p.as_str())),
                Payload::Value(v) => (key.to_string(), v.clone()),
            };
            parameters = Some(merged(parameters, [entry]));
        }
        let parameters = match (parameters, &self.io.parameters) {
            (Some(base), Some(Value::Map(user))) => Some(merged(Some(base), user.clone())),
            (Some(base), _) => Some(base),
            (None, user) => user.clone(),
        };
        let mut statements = config.policy_statements;
        statements.extend(self.statements.iter().cloned());
        let retries = if self.integration_retries {
            config.retries
        } else {
            Vec::new()
        };
        Ok(BoundTask {
            resource: config.resource,
            parameters,
            integration_retries: retries,
            statements,
            task: self,
        })
    }
}

/// `base` (a map, or nothing) with `entries` put over it: `key` replaces `key.$` and the
/// other way round.
fn merged(base: Option<Value>, entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    let mut map = match base {
        Some(Value::Map(m)) => m,
        _ => IndexMap::new(),
    };
    for (k, v) in entries {
        let other = match k.strip_suffix(".$") {
            Some(plain) => plain.to_string(),
            None => format!("{k}.$"),
        };
        map.shift_remove(&other);
        map.insert(k, v);
    }
    Value::Map(map)
}

/// A task bound to its integration, as a definition holds it.
#[derive(Debug, Clone)]
pub(super) struct BoundTask {
    pub(super) task: Task,
    pub(super) resource: Value,
    /// `Parameters` as rendered: the integration's, then the payload and the task's.
    pub(super) parameters: Option<Value>,
    /// The integration's retriers (empty when turned off).
    pub(super) integration_retries: Vec<Retry>,
    /// The integration's statements, then the task's own.
    pub(super) statements: Vec<PolicyStatement>,
}

impl BoundTask {
    /// The retriers as rendered: the integration's, then the task's.
    pub(super) fn retries(&self) -> Vec<Retry> {
        let mut out = self.integration_retries.clone();
        out.extend(self.task.retries.iter().cloned());
        out
    }
}
