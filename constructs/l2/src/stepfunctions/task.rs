//! The `Task` state and its service integrations.

use std::fmt;

use indexmap::IndexMap;

use cairn_core::Value;

use super::fields::{
    comment_method, handler_methods, parameters_method, path_methods, result_methods, state_impl, Io,
};
use super::retry::{Catch, Retry};
use super::state::HasNext;
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

impl fmt::Display for IntegrationPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntegrationPattern::RequestResponse => "request-response",
            IntegrationPattern::RunJob => ".sync (run a job)",
            IntegrationPattern::WaitForTaskToken => ".waitForTaskToken",
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Payload {
    Input,
    Path(String),
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Integration {
    LambdaInvoke {
        function: Value,
        payload: Payload,
        retry_service_exceptions: bool,
    },
    LambdaFunction {
        function: Value,
    },
    Sdk {
        service: String,
        action: String,
        iam_action: String,
        resources: Vec<Value>,
    },
    SendCommand(Box<SendCommand>),
    StartExecution {
        state_machine: Value,
        input: Payload,
    },
    Service {
        service: String,
        action: String,
        resources: Vec<Value>,
    },
}

/// `.sync` integrations of [`Task::service`]: the managed EventBridge rule Step Functions
/// uses to learn about completion, and the extra actions it calls while waiting.
const SYNC_SERVICES: &[(&str, &str, Option<&str>, &[&str])] = &[
    (
        "codebuild",
        "startBuild",
        Some("StepFunctionsGetEventsForCodeBuildStartBuildRule"),
        &[
            "codebuild:StopBuild",
            "codebuild:BatchGetBuilds",
            "codebuild:BatchGetReports",
        ],
    ),
    (
        "batch",
        "submitJob",
        Some("StepFunctionsGetEventsForBatchJobsRule"),
        &[],
    ),
    (
        "ecs",
        "runTask",
        Some("StepFunctionsGetEventsForECSTaskRule"),
        &["ecs:StopTask", "ecs:DescribeTasks"],
    ),
    (
        "glue",
        "startJobRun",
        None,
        &["glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
    ),
];

const LAMBDA_SERVICE_ERRORS: [&str; 4] = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
];

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
    pub(super) integration: Integration,
    pub(super) pattern: IntegrationPattern,
    pub(super) timeout_seconds: Option<u32>,
    pub(super) heartbeat_seconds: Option<u32>,
    pub(super) retries: Vec<Retry>,
    pub(super) catches: Vec<Catch>,
    pub(super) iam_resources: Option<Vec<Value>>,
    pub(super) iam_action: Option<String>,
    pub(super) statements: Vec<PolicyStatement>,
}

state_impl!(Task, Task, Box::new);
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
    fn with(name: &str, integration: Integration) -> Task {
        Task {
            name: name.to_string(),
            io: Io::default(),
            integration,
            pattern: IntegrationPattern::RequestResponse,
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
    /// (`arn:aws:states:::lambda:invoke`) with the state's input as `Payload`. The
    /// function is its ARN, name or a reference; the role may invoke it and its versions.
    /// Like the CDK, it retries Lambda's transient service errors (see
    /// [`Task::retry_on_service_exceptions`]).
    pub fn lambda_invoke(name: &str, function: impl Into<Value>) -> Task {
        Task::with(
            name,
            Integration::LambdaInvoke {
                function: function.into(),
                payload: Payload::Input,
                retry_service_exceptions: true,
            },
        )
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
        Task::with(
            name,
            Integration::LambdaFunction {
                function: function_arn.into(),
            },
        )
    }

    /// Calls any AWS API through the AWS SDK integration
    /// (`arn:aws:states:::aws-sdk:<service>:<action>`, the action in camelCase, e.g.
    /// `ec2`, `stopInstances`). The role gets `<service>:<Action>` on `iam_resources`;
    /// change the IAM action with [`Task::iam_action`] when it differs.
    pub fn aws_sdk<V: Into<Value>>(
        name: &str,
        service: &str,
        action: &str,
        iam_resources: impl IntoIterator<Item = V>,
    ) -> Task {
        Task::with(
            name,
            Integration::Sdk {
                service: service.to_string(),
                action: action.to_string(),
                iam_action: format!("{}:{}", sdk_iam_service(service), upper_first(action)),
                resources: iam_resources.into_iter().map(Into::into).collect(),
            },
        )
    }

    /// Runs an SSM document on instances (`aws-sdk:ssm:sendCommand`); the role gets
    /// `ssm:SendCommand` on the document and the instances.
    pub fn ssm_send_command(name: &str, command: SendCommand) -> Task {
        Task::with(name, Integration::SendCommand(Box::new(command)))
    }

    /// Starts an execution of another state machine (`states:startExecution`, with
    /// `.sync:2` for [`IntegrationPattern::RunJob`]), passing the state's input.
    pub fn start_execution(name: &str, state_machine_arn: impl Into<Value>) -> Task {
        Task::with(
            name,
            Integration::StartExecution {
                state_machine: state_machine_arn.into(),
                input: Payload::Input,
            },
        )
    }

    /// Calls an optimized service integration (`arn:aws:states:::<service>:<action>`,
    /// e.g. `sns`, `publish`) with the task's [`Task::parameters`]; the role gets
    /// `<service>:<Action>` on `iam_resources`. `.sync` is supported for CodeBuild
    /// `startBuild`, Batch `submitJob`, ECS `runTask` and Glue `startJobRun`.
    pub fn service<V: Into<Value>>(
        name: &str,
        service: &str,
        action: &str,
        iam_resources: impl IntoIterator<Item = V>,
    ) -> Task {
        Task::with(
            name,
            Integration::Service {
                service: service.to_string(),
                action: action.to_string(),
                resources: iam_resources.into_iter().map(Into::into).collect(),
            },
        )
    }

    /// The Lambda `Payload` (a literal, a reference or [`Params`](super::Params)); by default the input.
    pub fn payload(mut self, payload: impl Into<Value>) -> Self {
        match &mut self.integration {
            Integration::LambdaInvoke { payload: p, .. } => *p = Payload::Value(payload.into()),
            Integration::StartExecution { input, .. } => *input = Payload::Value(payload.into()),
            _ => self.io.parameters = Some(payload.into()),
        }
        self
    }

    /// The Lambda `Payload` (or a started execution's `Input`) selected from the input.
    pub fn payload_path(mut self, path: &str) -> Self {
        match &mut self.integration {
            Integration::LambdaInvoke { payload: p, .. } => *p = Payload::Path(path.to_string()),
            Integration::StartExecution { input, .. } => *input = Payload::Path(path.to_string()),
            _ => {}
        }
        self
    }

    /// Whether a Lambda invoke retries Lambda's transient service errors (on by default:
    /// 6 attempts, 2 s apart, doubling).
    pub fn retry_on_service_exceptions(mut self, on: bool) -> Self {
        if let Integration::LambdaInvoke {
            retry_service_exceptions,
            ..
        } = &mut self.integration
        {
            *retry_service_exceptions = on;
        }
        self
    }

    /// Sets the integration pattern.
    pub fn integration_pattern(mut self, pattern: IntegrationPattern) -> Self {
        self.pattern = pattern;
        self
    }

    /// `.waitForTaskToken`: the task passes [`TASK_TOKEN`](super::TASK_TOKEN) on and waits for it.
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

    pub(super) fn integration_name(&self) -> String {
        match &self.integration {
            Integration::LambdaInvoke { .. } => "lambda:invoke".into(),
            Integration::LambdaFunction { .. } => "a Lambda function ARN".into(),
            Integration::Sdk { service, action, .. } => format!("aws-sdk:{service}:{action}"),
            Integration::SendCommand(_) => "aws-sdk:ssm:sendCommand".into(),
            Integration::StartExecution { .. } => "states:startExecution".into(),
            Integration::Service { service, action, .. } => format!("{service}:{action}"),
        }
    }

    pub(super) fn supports(&self, pattern: IntegrationPattern) -> bool {
        use IntegrationPattern::*;
        match (&self.integration, pattern) {
            (_, RequestResponse) => true,
            (Integration::LambdaFunction { .. }, _) => false,
            (Integration::StartExecution { .. }, _) => true,
            (_, WaitForTaskToken) => true,
            (Integration::Service { service, action, .. }, RunJob) => sync_service(service, action).is_some(),
            (_, RunJob) => false,
        }
    }

    pub(super) fn resource(&self) -> Value {
        let suffix = match (self.pattern, &self.integration) {
            (IntegrationPattern::RequestResponse, _) => "",
            (IntegrationPattern::RunJob, Integration::StartExecution { .. }) => ".sync:2",
            (IntegrationPattern::RunJob, _) => ".sync",
            (IntegrationPattern::WaitForTaskToken, _) => ".waitForTaskToken",
        };
        let integration = match &self.integration {
            Integration::LambdaFunction { function } => return function.clone(),
            Integration::LambdaInvoke { .. } => "lambda:invoke".to_string(),
            Integration::Sdk { service, action, .. } => format!("aws-sdk:{service}:{action}"),
            Integration::SendCommand(_) => "aws-sdk:ssm:sendCommand".into(),
            Integration::StartExecution { .. } => "states:startExecution".into(),
            Integration::Service { service, action, .. } => format!("{service}:{action}"),
        };
        Value::from(format!("arn:aws:states:::{integration}{suffix}"))
    }

    /// `Parameters` as rendered: the integration's own keys, then the user's.
    pub(super) fn rendered_parameters(&self) -> Option<Value> {
        let payload_entry = |m: &mut IndexMap<String, Value>, key: &str, p: &Payload| match p {
            Payload::Input => {
                m.insert(format!("{key}.$"), Value::from("$"));
            }
            Payload::Path(path) => {
                m.insert(format!("{key}.$"), Value::from(path.as_str()));
            }
            Payload::Value(v) => {
                m.insert(key.to_string(), v.clone());
            }
        };
        let mut base: IndexMap<String, Value> = IndexMap::new();
        match &self.integration {
            Integration::LambdaInvoke {
                function, payload, ..
            } => {
                base.insert("FunctionName".into(), function.clone());
                payload_entry(&mut base, "Payload", payload);
            }
            Integration::StartExecution { state_machine, input } => {
                base.insert("StateMachineArn".into(), state_machine.clone());
                payload_entry(&mut base, "Input", input);
            }
            Integration::SendCommand(c) => {
                base.insert("DocumentName".into(), c.document.clone());
                match &c.instances {
                    Instances::Ids(ids) => {
                        base.insert("InstanceIds".into(), Value::List(ids.clone()));
                    }
                    Instances::Path(p) => {
                        base.insert("InstanceIds.$".into(), Value::from(p.as_str()));
                    }
                    Instances::Targets(t) => {
                        base.insert("Targets".into(), t.clone());
                    }
                }
                if let Some(p) = &c.parameters {
                    base.insert("Parameters".into(), p.clone());
                }
                if let Some(comment) = &c.comment {
                    base.insert("Comment".into(), Value::from(comment.as_str()));
                }
            }
            _ => return self.io.parameters.clone(),
        }
        if let Some(Value::Map(user)) = &self.io.parameters {
            for (k, v) in user {
                let other = match k.strip_suffix(".$") {
                    Some(plain) => plain.to_string(),
                    None => format!("{k}.$"),
                };
                base.shift_remove(&other);
                base.insert(k.clone(), v.clone());
            }
        }
        Some(Value::Map(base))
    }

    pub(super) fn rendered_retries(&self) -> Vec<Retry> {
        let mut out = Vec::new();
        if let Integration::LambdaInvoke {
            retry_service_exceptions: true,
            ..
        } = self.integration
        {
            out.push(Retry {
                errors: LAMBDA_SERVICE_ERRORS.iter().map(|e| e.to_string()).collect(),
                interval_seconds: Some(2),
                max_attempts: Some(6),
                backoff_rate: Some(2.0),
                ..Retry::default()
            });
        }
        out.extend(self.retries.iter().cloned());
        out
    }

    /// The statements the state machine's role needs for this task.
    pub(super) fn policy_statements(&self) -> Vec<PolicyStatement> {
        let mut out = Vec::new();
        let resources = |default: Vec<Value>| self.iam_resources.clone().unwrap_or(default);
        match &self.integration {
            Integration::LambdaInvoke { function, .. } | Integration::LambdaFunction { function } => {
                out.push(
                    PolicyStatement::allow()
                        .actions(["lambda:InvokeFunction"])
                        .resources(resources(lambda_arns(function))),
                );
            }
            Integration::Sdk {
                iam_action,
                resources: r,
                ..
            } => {
                let action = self.iam_action.clone().unwrap_or_else(|| iam_action.clone());
                out.push(
                    PolicyStatement::allow()
                        .actions([action])
                        .resources(resources(r.clone())),
                );
            }
            Integration::SendCommand(c) => {
                let action = self
                    .iam_action
                    .clone()
                    .unwrap_or_else(|| "ssm:SendCommand".into());
                out.push(
                    PolicyStatement::allow()
                        .actions([action])
                        .resources(resources(c.iam_resources())),
                );
            }
            Integration::StartExecution { state_machine, .. } => {
                out.push(
                    PolicyStatement::allow()
                        .actions(["states:StartExecution"])
                        .resources(resources(vec![state_machine.clone()])),
                );
                if self.pattern == IntegrationPattern::RunJob {
                    out.push(
                        PolicyStatement::allow()
                            .actions(["states:DescribeExecution", "states:StopExecution"])
                            .resource(executions_of(state_machine)),
                    );
                    out.push(events_rule_statement(
                        "StepFunctionsGetEventsForStepFunctionsExecutionRule",
                    ));
                }
            }
            Integration::Service {
                service,
                action,
                resources: r,
            } => {
                let main = self
                    .iam_action
                    .clone()
                    .unwrap_or_else(|| format!("{service}:{}", upper_first(action)));
                let r = resources(r.clone());
                out.push(PolicyStatement::allow().actions([main]).resources(r.clone()));
                if self.pattern == IntegrationPattern::RunJob {
                    if let Some((rule, extra)) = sync_service(service, action) {
                        if !extra.is_empty() {
                            let on = if service == "ecs" {
                                vec![Value::from("*")]
                            } else {
                                r
                            };
                            out.push(
                                PolicyStatement::allow()
                                    .actions(extra.iter().copied())
                                    .resources(on),
                            );
                        }
                        if let Some(rule) = rule {
                            out.push(events_rule_statement(rule));
                        }
                    }
                }
            }
        }
        out.extend(self.statements.iter().cloned());
        out
    }

    pub(super) fn main_iam_resources_empty(&self) -> bool {
        match &self.iam_resources {
            Some(r) => r.is_empty(),
            None => match &self.integration {
                Integration::Sdk { resources, .. } | Integration::Service { resources, .. } => {
                    resources.is_empty()
                }
                _ => false,
            },
        }
    }
}

fn sync_service(service: &str, action: &str) -> Option<(Option<&'static str>, &'static [&'static str])> {
    SYNC_SERVICES
        .iter()
        .find(|(s, a, _, _)| *s == service && *a == action)
        .map(|(_, _, rule, extra)| (*rule, *extra))
}

fn events_rule_statement(rule: &str) -> PolicyStatement {
    PolicyStatement::allow()
        .actions(["events:PutTargets", "events:PutRule", "events:DescribeRule"])
        .resource(Value::sub_with(
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${Rule}",
            [("Rule", Value::from(rule))],
        ))
}

/// The IAM service prefix of an AWS SDK service name where they differ.
fn sdk_iam_service(service: &str) -> &str {
    match service {
        "sfn" => "states",
        "cloudwatchlogs" => "logs",
        "efs" => "elasticfilesystem",
        "elasticloadbalancingv2" => "elasticloadbalancing",
        "mediapackagevod" => "mediapackage-vod",
        "mwaa" => "airflow",
        "sesv2" => "ses",
        other => other,
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The function ARN and its versions and aliases, for `lambda:InvokeFunction`.
fn lambda_arns(function: &Value) -> Vec<Value> {
    match function {
        Value::String(s) if s.starts_with("arn:") => {
            if s.split(':').count() > 7 {
                vec![function.clone()]
            } else {
                vec![function.clone(), Value::from(format!("{s}:*"))]
            }
        }
        Value::String(name) => {
            let arn = |suffix: &str| {
                Value::sub_with(
                    &format!("arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:${{Name}}{suffix}"),
                    [("Name", Value::from(name.as_str()))],
                )
            };
            vec![arn(""), arn(":*")]
        }
        other => vec![other.clone(), Value::join("", [other.clone(), Value::from(":*")])],
    }
}

/// `arn:...:execution:<state machine name>:*` for a state machine ARN.
fn executions_of(state_machine: &Value) -> Value {
    match state_machine {
        Value::String(s) if s.contains(":stateMachine:") => {
            Value::from(format!("{}:*", s.replacen(":stateMachine:", ":execution:", 1)))
        }
        other => Value::sub_with(
            "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Name}:*",
            [("Name", Value::select(6, Value::split(":", other.clone())))],
        ),
    }
}

/// An SSM `SendCommand` call for [`Task::ssm_send_command`].
///
/// ```
/// use cairn_constructs::stepfunctions::{Instances, Params, SendCommand, Task, TASK_TOKEN};
/// let cmd = SendCommand::new("AWS-RunShellScript", Instances::path("$.instanceIds"))
///     .parameters(Params::new().path(
///         "commands.$",
///         "States.Array(States.Format('/opt/patch.sh {}', $$.Task.Token))",
///     ))
///     .comment("patch");
/// let task = Task::ssm_send_command("Patch", cmd).wait_for_task_token();
/// # let _ = (task, TASK_TOKEN);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SendCommand {
    /// The document: an AWS-owned name (`AWS-RunShellScript`), one of the account's
    /// names, an ARN, or a reference (the `Ref` of an `AWS::SSM::Document`).
    pub document: Value,
    /// The instances it runs on.
    pub instances: Instances,
    /// The document's parameters (`Parameters`), e.g. `{"commands": [...]}`.
    pub parameters: Option<Value>,
    /// `Comment`.
    pub comment: Option<String>,
}

impl SendCommand {
    /// Runs `document` on `instances`.
    pub fn new(document: impl Into<Value>, instances: Instances) -> SendCommand {
        SendCommand {
            document: document.into(),
            instances,
            parameters: None,
            comment: None,
        }
    }

    /// Sets the document's parameters.
    pub fn parameters(mut self, parameters: impl Into<Value>) -> Self {
        self.parameters = Some(parameters.into());
        self
    }

    /// Sets the command's comment.
    pub fn comment(mut self, comment: &str) -> Self {
        self.comment = Some(comment.to_string());
        self
    }

    fn iam_resources(&self) -> Vec<Value> {
        let mut out = vec![ssm_document_arn(&self.document)];
        match &self.instances {
            Instances::Ids(ids) => out.extend(ids.iter().map(instance_arn)),
            Instances::Path(_) | Instances::Targets(_) => out.push(Value::sub(
                "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*",
            )),
        }
        out
    }
}

/// The instances a [`SendCommand`] runs on.
#[derive(Debug, Clone, PartialEq)]
pub enum Instances {
    /// Instance ids (literals or references), granted one by one.
    Ids(Vec<Value>),
    /// Ids selected from the input at run time (`InstanceIds.$`); grants every instance.
    Path(String),
    /// `Targets` (e.g. by tag); grants every instance.
    Targets(Value),
}

impl Instances {
    /// Fixed instance ids.
    pub fn ids<V: Into<Value>>(ids: impl IntoIterator<Item = V>) -> Instances {
        Instances::Ids(ids.into_iter().map(Into::into).collect())
    }

    /// Ids selected from the input.
    pub fn path(path: &str) -> Instances {
        Instances::Path(path.to_string())
    }
}

fn ssm_document_arn(document: &Value) -> Value {
    match document {
        Value::String(s) if s.starts_with("arn:") => document.clone(),
        Value::String(s) => {
            let lower = s.to_ascii_lowercase();
            let aws_owned = ["aws", "amazon", "amzn"].iter().any(|p| lower.starts_with(p));
            let template = if aws_owned {
                "arn:${AWS::Partition}:ssm:${AWS::Region}::document/${Name}"
            } else {
                "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:document/${Name}"
            };
            Value::sub_with(template, [("Name", document.clone())])
        }
        other => Value::sub_with(
            "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:document/${Name}",
            [("Name", other.clone())],
        ),
    }
}

fn instance_arn(id: &Value) -> Value {
    match id {
        Value::String(s) if s.starts_with("arn:") => id.clone(),
        Value::String(s) if s.starts_with("mi-") => Value::sub_with(
            "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:managed-instance/${Id}",
            [("Id", id.clone())],
        ),
        other => Value::sub_with(
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${Id}",
            [("Id", other.clone())],
        ),
    }
}
