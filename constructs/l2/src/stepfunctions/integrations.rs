//! The built-in service integrations of [`Task`](super::Task): Lambda (optimized and by
//! ARN), AWS SDK calls, SSM `SendCommand`, starting another state machine, and optimized
//! service integrations (`sns:publish`, `glue:startJobRun.sync` ...). Each implements
//! [`TaskIntegration`], the trait a user implements for one they do not cover.

use cairn_core::Value;

use super::error::DefResult;
use super::retry::Retry;
use super::task::{integration_arn, IntegrationConfig, IntegrationPattern, TaskContext, TaskIntegration};
use super::validate::check_path;
use crate::iam::PolicyStatement;

// ------------------------------------------------------------------- lambda ----

const LAMBDA_SERVICE_ERRORS: [&str; 4] = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
];

/// `lambda:invoke`: invokes a function with the state's input as `Payload`, retrying
/// Lambda's transient service errors ([`Task::lambda_invoke`](super::Task::lambda_invoke)).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LambdaInvoke {
    function: Value,
}

impl LambdaInvoke {
    pub(super) fn new(function: impl Into<Value>) -> LambdaInvoke {
        LambdaInvoke {
            function: function.into(),
        }
    }
}

impl TaskIntegration for LambdaInvoke {
    fn name(&self) -> String {
        "lambda:invoke".into()
    }

    fn supports(&self, pattern: IntegrationPattern) -> bool {
        pattern != IntegrationPattern::RunJob
    }

    fn payload_parameter(&self) -> Option<&str> {
        Some("Payload")
    }

    fn bind(&self, task: &TaskContext<'_>) -> DefResult<IntegrationConfig> {
        Ok(IntegrationConfig::new(task.resource("lambda:invoke"))
            .parameters(Value::map([
                ("FunctionName", self.function.clone()),
                ("Payload.$", Value::from("$")),
            ]))
            .policy_statement(
                PolicyStatement::allow()
                    .actions(["lambda:InvokeFunction"])
                    .resources(task.iam_resources(lambda_arns(&self.function))),
            )
            .retry(Retry {
                errors: LAMBDA_SERVICE_ERRORS.iter().map(|e| e.to_string()).collect(),
                interval_seconds: Some(2),
                max_attempts: Some(6),
                backoff_rate: Some(2.0),
                ..Retry::default()
            }))
    }
}

/// A function ARN as the `Resource`: the result is the function's response itself
/// ([`Task::lambda_function`](super::Task::lambda_function)).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LambdaFunction {
    function: Value,
}

impl LambdaFunction {
    pub(super) fn new(function_arn: impl Into<Value>) -> LambdaFunction {
        LambdaFunction {
            function: function_arn.into(),
        }
    }
}

impl TaskIntegration for LambdaFunction {
    fn name(&self) -> String {
        "a Lambda function ARN".into()
    }

    fn bind(&self, task: &TaskContext<'_>) -> DefResult<IntegrationConfig> {
        Ok(IntegrationConfig::new(self.function.clone()).policy_statement(
            PolicyStatement::allow()
                .actions(["lambda:InvokeFunction"])
                .resources(task.iam_resources(lambda_arns(&self.function))),
        ))
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

// ------------------------------------------------------------ AWS SDK calls ----

/// A service, one of its actions, and the resources the role may call it on: what an
/// AWS SDK call and an optimized integration are made of.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ServiceAction {
    service: String,
    action: String,
    resources: Vec<Value>,
}

impl ServiceAction {
    pub(super) fn new<V: Into<Value>>(
        service: &str,
        action: &str,
        iam_resources: impl IntoIterator<Item = V>,
    ) -> ServiceAction {
        ServiceAction {
            service: service.to_string(),
            action: action.to_string(),
            resources: iam_resources.into_iter().map(Into::into).collect(),
        }
    }

    /// A service is lowercase (`ssm`, `ec2`), an action camelCase as in the SDK.
    fn check(&self, task: &TaskContext<'_>) -> DefResult<()> {
        let service_ok = !self.service.is_empty()
            && self
                .service
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !service_ok {
            return Err(task.invalid(
                "Resource",
                &self.service,
                "the service is lowercase, e.g. \"ssm\" or \"ec2\"",
            ));
        }
        if !self.action.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            return Err(task.invalid(
                "Resource",
                &self.action,
                "the action is camelCase as in the SDK, e.g. \"sendCommand\"",
            ));
        }
        Ok(())
    }
}

/// `aws-sdk:<service>:<action>`: any AWS API ([`Task::aws_sdk`](super::Task::aws_sdk)).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AwsSdk(pub(super) ServiceAction);

impl TaskIntegration for AwsSdk {
    fn name(&self) -> String {
        format!("aws-sdk:{}:{}", self.0.service, self.0.action)
    }

    fn supports(&self, pattern: IntegrationPattern) -> bool {
        pattern != IntegrationPattern::RunJob
    }

    fn bind(&self, task: &TaskContext<'_>) -> DefResult<IntegrationConfig> {
        let call = &self.0;
        call.check(task)?;
        let action = format!("{}:{}", sdk_iam_service(&call.service), upper_first(&call.action));
        Ok(
            IntegrationConfig::new(task.resource(&self.name())).policy_statement(
                PolicyStatement::allow()
                    .actions([task.iam_action(action)])
                    .resources(task.iam_resources(call.resources.clone())),
            ),
        )
    }
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

// -------------------------------------------------------------- SSM command ----

/// An SSM `SendCommand` call for [`Task::ssm_send_command`](super::Task::ssm_send_command).
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

    fn default_iam_resources(&self) -> Vec<Value> {
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

impl TaskIntegration for SendCommand {
    fn name(&self) -> String {
        "aws-sdk:ssm:sendCommand".into()
    }

    fn supports(&self, pattern: IntegrationPattern) -> bool {
        pattern != IntegrationPattern::RunJob
    }

    fn bind(&self, task: &TaskContext<'_>) -> DefResult<IntegrationConfig> {
        let mut parameters = vec![("DocumentName", self.document.clone())];
        match &self.instances {
            Instances::Ids(ids) => parameters.push(("InstanceIds", Value::List(ids.clone()))),
            Instances::Path(p) => {
                check_path(task.state(), "InstanceIds", p)?;
                parameters.push(("InstanceIds.$", Value::from(p.as_str())));
            }
            Instances::Targets(t) => parameters.push(("Targets", t.clone())),
        }
        if let Some(p) = &self.parameters {
            parameters.push(("Parameters", p.clone()));
        }
        if let Some(comment) = &self.comment {
            parameters.push(("Comment", Value::from(comment.as_str())));
        }
        Ok(IntegrationConfig::new(task.resource("aws-sdk:ssm:sendCommand"))
            .parameters(Value::map(parameters))
            .policy_statement(
                PolicyStatement::allow()
                    .actions([task.iam_action("ssm:SendCommand")])
                    .resources(task.iam_resources(self.default_iam_resources())),
            ))
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

// ---------------------------------------------------------- start execution ----

/// `states:startExecution`: starts another state machine with the state's input
/// ([`Task::start_execution`](super::Task::start_execution)).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StartExecution {
    state_machine: Value,
}

impl StartExecution {
    pub(super) fn new(state_machine_arn: impl Into<Value>) -> StartExecution {
        StartExecution {
            state_machine: state_machine_arn.into(),
        }
    }
}

impl TaskIntegration for StartExecution {
    fn name(&self) -> String {
        "states:startExecution".into()
    }

    fn supports(&self, _pattern: IntegrationPattern) -> bool {
        true
    }

    fn payload_parameter(&self) -> Option<&str> {
        Some("Input")
    }

    fn bind(&self, task: &TaskContext<'_>) -> DefResult<IntegrationConfig> {
        let resource = match task.pattern() {
            // The `.sync:2` variant returns the output as JSON rather than a string.
            IntegrationPattern::RunJob => integration_arn("states:startExecution.sync:2"),
            _ => task.resource("states:startExecution"),
        };
        let mut config = IntegrationConfig::new(resource)
            .parameters(Value::map([
                ("StateMachineArn", self.state_machine.clone()),
                ("Input.$", Value::from("$")),
            ]))
            .policy_statement(
                PolicyStatement::allow()
                    .actions(["states:StartExecution"])
                    .resources(task.iam_resources(vec![self.state_machine.clone()])),
            );
        if task.pattern() == IntegrationPattern::RunJob {
            config = config
                .policy_statement(
                    PolicyStatement::allow()
                        .actions(["states:DescribeExecution", "states:StopExecution"])
                        .resource(executions_of(&self.state_machine)),
                )
                .policy_statement(events_rule_statement(
                    "StepFunctionsGetEventsForStepFunctionsExecutionRule",
                ));
        }
        Ok(config)
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

// --------------------------------------------------- optimized integrations ----

/// `.sync` integrations of [`Task::service`](super::Task::service): the managed
/// EventBridge rule Step Functions uses to learn about completion, and the extra actions
/// it calls while waiting.
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

/// `<service>:<action>`: an optimized integration called with the task's parameters
/// ([`Task::service`](super::Task::service)).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ServiceCall(pub(super) ServiceAction);

impl TaskIntegration for ServiceCall {
    fn name(&self) -> String {
        format!("{}:{}", self.0.service, self.0.action)
    }

    fn supports(&self, pattern: IntegrationPattern) -> bool {
        pattern != IntegrationPattern::RunJob || sync_service(&self.0.service, &self.0.action).is_some()
    }

    fn bind(&self, task: &TaskContext<'_>) -> DefResult<IntegrationConfig> {
        let call = &self.0;
        call.check(task)?;
        let main = task.iam_action(format!("{}:{}", call.service, upper_first(&call.action)));
        let resources = task.iam_resources(call.resources.clone());
        let mut config = IntegrationConfig::new(task.resource(&self.name())).policy_statement(
            PolicyStatement::allow()
                .actions([main])
                .resources(resources.clone()),
        );
        if task.pattern() == IntegrationPattern::RunJob {
            if let Some((rule, extra)) = sync_service(&call.service, &call.action) {
                if !extra.is_empty() {
                    let on = if call.service == "ecs" {
                        vec![Value::from("*")]
                    } else {
                        resources
                    };
                    config = config.policy_statement(
                        PolicyStatement::allow()
                            .actions(extra.iter().copied())
                            .resources(on),
                    );
                }
                if let Some(rule) = rule {
                    config = config.policy_statement(events_rule_statement(rule));
                }
            }
        }
        Ok(config)
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
