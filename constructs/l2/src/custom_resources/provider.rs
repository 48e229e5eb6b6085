//! The provider framework (aws-cdk-lib's `custom-resources.Provider`).

use std::time::Duration;

use cairn_cfn::stepfunctions::CfnStateMachine;
use cairn_core::{App, NodeId, Result, Value};

use crate::iam::{AnyRole, PolicyStatement, Principal, Role, RoleProps};
use crate::lambda::{Code, Function, FunctionProps, Runtime};
use crate::logs::RetentionDays;

use super::CFN_RESPONSE;

/// The framework's entry points (`framework.py`).
const FRAMEWORK: &str = include_str!("framework.py");

/// Settings of a [`Provider`]. Start from [`ProviderProps::new`].
#[derive(Debug, Clone)]
pub struct ProviderProps {
    /// The function invoked for every Create, Update and Delete: it starts the operation
    /// and returns `{"PhysicalResourceId": .., "Data": {..}, "NoEcho": ..}` (each
    /// optional: the default physical id is the request id on Create, the current one
    /// otherwise).
    pub on_event_handler: Function,
    /// The function asked whether the operation is complete: called right after the
    /// on-event function and then every `query_interval` while it returns
    /// `{"IsComplete": false}`, until `total_timeout`; `{"IsComplete": true, "Data": {..}}`
    /// ends it (its Data merged over the on-event function's). `None`: the on-event
    /// function completes the operation itself.
    pub is_complete_handler: Option<Function>,
    /// Time between is-complete calls (whole seconds). Default: 5 seconds.
    pub query_interval: Duration,
    /// How long the operation may take in all, a whole multiple of `query_interval`, at
    /// most 1 hour (CloudFormation's limit for a custom resource). Default: 30 minutes.
    pub total_timeout: Duration,
    /// A physical name for the on-event framework function.
    pub provider_function_name: Option<String>,
    /// Subnets the framework functions run in (e.g. to reach a private endpoint); empty:
    /// outside any VPC.
    pub vpc_subnets: Vec<Value>,
    /// The framework functions' security groups (with `vpc_subnets`).
    pub security_group_ids: Vec<Value>,
    /// The role the framework functions run with, of this app or existing
    /// (`Some(role.into())`; the CDK's `role`): it gets their invoke and read permissions
    /// on your functions (an existing role's inline policy; an immutable one must have
    /// them already). Default: a role per framework function (`<function>/ServiceRole`).
    pub role: Option<AnyRole>,
    /// How long the framework functions' logs are kept (their `LogGroup`s). Default: two
    /// years (cairn's function default); `None`: no log group is made, Lambda's own group
    /// keeps the logs forever (the CDK's default).
    pub log_retention: Option<RetentionDays>,
}

impl ProviderProps {
    /// Props with the on-event function; everything else default.
    pub fn new(on_event_handler: Function) -> Self {
        ProviderProps {
            on_event_handler,
            is_complete_handler: None,
            query_interval: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30 * 60),
            provider_function_name: None,
            vpc_subnets: Vec::new(),
            security_group_ids: Vec::new(),
            role: None,
            log_retention: Some(RetentionDays::TwoYears),
        }
    }
}

/// A custom resource provider: the framework functions that stand between CloudFormation
/// and your on-event (and is-complete) functions, so your functions just return values
/// (or raise) and never speak CloudFormation's protocol.
///
/// Children (aws-cdk-lib's ids): `framework-onEvent` (the service token), and with an
/// is-complete function `framework-isComplete`, `framework-onTimeout` and
/// `waiter-state-machine` (`Role`, `Resource`: one task calling `framework-isComplete`,
/// retried every query interval for `total_timeout / query_interval` attempts, caught by
/// `framework-onTimeout`). Each framework function may invoke (and read, to wait until
/// it is active) the user's functions.
#[derive(Debug, Clone, Copy)]
pub struct Provider {
    node: NodeId,
    entry: Function,
}

impl PartialEq for Provider {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

construct!(Provider);
node_from!(Provider);

/// The framework's three functions: child id, Python entry point, CDK entry point name.
const ON_EVENT: (&str, &str) = ("on_event", "onEvent");
const IS_COMPLETE: (&str, &str) = ("is_complete", "isComplete");
const ON_TIMEOUT: (&str, &str) = ("on_timeout", "onTimeout");

impl Provider {
    /// Creates the provider as construct `id` under `scope`.
    ///
    /// Errors: a query interval that is not whole seconds (or zero), a total timeout over
    /// one hour or not a whole multiple of the interval.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: ProviderProps) -> Result<Provider> {
        let node = app.construct(scope, id)?;
        let interval = props.query_interval;
        let total = props.total_timeout;
        let mut problems = Vec::new();
        if interval.subsec_nanos() != 0 || interval.as_secs() == 0 {
            problems.push(format!(
                "query_interval {interval:?} must be whole seconds, at least 1 s"
            ));
        }
        if total.subsec_nanos() != 0 || total.as_secs() == 0 || total.as_secs() > 3600 {
            problems.push(format!(
                "total_timeout {total:?} must be whole seconds between 1 s and 1 hour"
            ));
        } else if interval.as_secs() > 0 && !total.as_secs().is_multiple_of(interval.as_secs()) {
            problems.push(format!(
                "total_timeout {}s is not a whole multiple of query_interval {}s: the number of is-complete \
                 calls cannot be determined; choose a timeout divisible by the interval",
                total.as_secs(),
                interval.as_secs()
            ));
        }
        crate::check_props(app, node, problems)?;

        let user: Vec<Function> = std::iter::once(props.on_event_handler)
            .chain(props.is_complete_handler)
            .collect();
        let framework = |name: Option<String>| FunctionProps {
            function_name: name,
            role: props.role,
            log_retention: props.log_retention,
            vpc_subnets: props.vpc_subnets.clone(),
            security_group_ids: props.security_group_ids.clone(),
            ..FunctionProps::new(Runtime::Python3_13, "index.handler", Code::Inline(String::new()))
        };
        let entry = framework_function(
            app,
            node,
            ON_EVENT,
            framework(props.provider_function_name.clone()),
            &user,
        )?;
        let mut invoked = user.clone();
        if props.is_complete_handler.is_some() {
            let is_complete = framework_function(app, node, IS_COMPLETE, framework(None), &user)?;
            let on_timeout = framework_function(app, node, ON_TIMEOUT, framework(None), &user)?;
            let attempts = total.as_secs() / interval.as_secs();
            let machine = waiter(app, node, is_complete, on_timeout, interval.as_secs(), attempts)?;
            entry.add_environment(app, "WAITER_STATE_MACHINE_ARN", machine.clone())?;
            crate::iam::grant(app, &entry, ["states:StartExecution"], [machine])?;
            invoked.extend([is_complete, on_timeout]);
        }
        // The entry function invokes these as soon as a custom resource is created.
        for f in invoked {
            if let Some(log_group) = super::function_log_group(app, f.resource().node()) {
                app.resource_options_mut(entry.resource())?
                    .depends_on
                    .push(log_group);
            }
        }
        Ok(Provider { node, entry })
    }

    /// The service token of the custom resources this provider serves (the on-event
    /// framework function's ARN).
    pub fn service_token(&self) -> Value {
        self.entry.function_arn()
    }

    /// The on-event framework function.
    pub fn entry_function(&self) -> Function {
        self.entry
    }
}

/// One framework function (`framework-<entry>`, its name, role, log retention, subnets and
/// security groups from `base`) allowed to invoke and read the user's functions, whose ARNs
/// it gets in its environment.
fn framework_function(
    app: &mut App,
    provider: NodeId,
    (python, cdk): (&str, &str),
    base: FunctionProps,
    user: &[Function],
) -> Result<Function> {
    let description: String = format!(
        "AWS CDK resource provider framework - {cdk} ({})",
        app.path(provider)
    )
    .chars()
    .take(256)
    .collect();
    let f = Function::new(
        app,
        provider,
        &format!("framework-{cdk}"),
        FunctionProps {
            description: Some(description),
            timeout: Some(Duration::from_secs(900)),
            handler: format!("index.{python}"),
            code: Code::Inline(format!("{CFN_RESPONSE}\n{FRAMEWORK}")),
            ..base
        },
    )?;
    for (variable, handler) in ["USER_ON_EVENT_FUNCTION_ARN", "USER_IS_COMPLETE_FUNCTION_ARN"]
        .into_iter()
        .zip(user)
    {
        f.add_environment(app, variable, handler.function_arn())?;
        handler.grant_invoke(app, &f)?;
        f.role().add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(["lambda:GetFunction"])
                .resources([handler.function_arn()]),
        )?;
    }
    Ok(f)
}

/// The waiter state machine (`waiter-state-machine`: `Role`, `Resource`): is-complete
/// retried `attempts` times every `interval` seconds, then on-timeout. Its ARN.
fn waiter(
    app: &mut App,
    provider: NodeId,
    is_complete: Function,
    on_timeout: Function,
    interval: u64,
    attempts: u64,
) -> Result<Value> {
    let node = app.construct(provider, "waiter-state-machine")?;
    let role = Role::new(
        app,
        node,
        "Role",
        RoleProps::new(Principal::service("states.amazonaws.com")),
    )?;
    is_complete.grant_invoke(app, &role)?;
    on_timeout.grant_invoke(app, &role)?;
    let definition = Value::join(
        "",
        [
            Value::from(format!(
                "{{\"StartAt\":\"framework-isComplete-task\",\"States\":{{\"framework-isComplete-task\":{{\"End\":true,\
                 \"Retry\":[{{\"ErrorEquals\":[\"States.ALL\"],\"IntervalSeconds\":{interval},\"MaxAttempts\":{attempts},\
                 \"BackoffRate\":1}}],\"Catch\":[{{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"framework-onTimeout-task\"}}],\
                 \"Type\":\"Task\",\"Resource\":\""
            )),
            is_complete.function_arn(),
            Value::from("\"},\"framework-onTimeout-task\":{\"End\":true,\"Type\":\"Task\",\"Resource\":\""),
            on_timeout.function_arn(),
            Value::from("\"}}}"),
        ],
    );
    let mut machine = CfnStateMachine::new(role.arn());
    machine.definition_string = Some(definition.into());
    let resource = app.add(node, "Resource", machine)?;
    app.resource_options_mut(resource)?.depends_on.push(role.node());
    Ok(resource.ref_())
}
