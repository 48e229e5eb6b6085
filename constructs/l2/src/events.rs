//! EventBridge: rules on a schedule or an event pattern, and their targets (Lambda
//! functions, Step Functions state machines, SNS topics, ECS tasks on Fargate), with the
//! permissions each target needs.
//!
//! ```
//! use cairn_constructs::events::{CronOptions, Rule, RuleProps, RuleTarget, Schedule, TargetInput};
//! use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Jobs")?;
//! let worker = Function::new(&mut app, stack, "Worker", FunctionProps::new(
//!     Runtime::Python3_13, "index.handler", Code::inline("def handler(e, c):\n    return e\n")))?;
//! let nightly = Rule::new(&mut app, stack, "Nightly", RuleProps::schedule(
//!     Schedule::cron(CronOptions { minute: Some("0".into()), hour: Some("3".into()), ..Default::default() })))?;
//! nightly.add_target(&mut app, RuleTarget::lambda(worker)
//!     .input(TargetInput::json(serde_json::json!({ "job": "compact" }))))?;
//!
//! let asm = app.synth()?;
//! let jobs = asm.stack("Jobs").unwrap();
//! let id = jobs.resources_of_type("AWS::Events::Rule")[0];
//! let rule = &jobs.template["Resources"][id]["Properties"];
//! assert_eq!(rule["ScheduleExpression"], "cron(0 3 * * ? *)");
//! assert_eq!(rule["Targets"][0]["Input"], "{\"job\":\"compact\"}");
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use indexmap::IndexMap;

use cairn_core::{App, Error, NodeId, Res, Result, Val, Value};

use crate::ec2::{SecurityGroup, SecurityGroupProps, SubnetType};
use crate::ecs::{check_strategy, CapacityProviderStrategy, Cluster, FargateTaskDefinition};
use crate::iam::{PolicyStatement, Principal, Role, RoleProps};
use crate::lambda::Function;

pub use cairn_cfn::events::*;

/// When a scheduled rule runs: a fixed rate or a cron expression (UTC).
///
/// ```
/// use cairn_constructs::events::{CronOptions, Schedule};
/// use std::time::Duration;
/// assert_eq!(Schedule::minutes(1).expression().unwrap(), "rate(1 minute)");
/// assert_eq!(Schedule::rate(Duration::from_secs(7200)).expression().unwrap(), "rate(2 hours)");
/// assert_eq!(Schedule::days(1).expression().unwrap(), "rate(1 day)");
/// let weekdays = Schedule::cron(CronOptions {
///     minute: Some("30".into()), hour: Some("8".into()), week_day: Some("MON-FRI".into()),
///     ..Default::default()
/// });
/// assert_eq!(weekdays.expression().unwrap(), "cron(30 8 ? * MON-FRI *)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `rate(...)`: a whole number of minutes, at least one; written in the largest unit
    /// that divides it (minutes, hours or days).
    Rate(Duration),
    /// `cron(...)` from fields.
    Cron(CronOptions),
    /// A schedule expression written by hand, e.g. `at(2030-01-01T00:00:00)`.
    Expression(String),
}

/// The fields of a cron schedule; unset fields are `*`, and the day of the month is `?`
/// when a day of the week is given (EventBridge needs one of the two to be `?`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CronOptions {
    /// Minutes (0-59).
    pub minute: Option<String>,
    /// Hours (0-23, UTC).
    pub hour: Option<String>,
    /// Day of the month (1-31, `L`, `W`).
    pub day: Option<String>,
    /// Month (1-12 or JAN-DEC).
    pub month: Option<String>,
    /// Day of the week (1-7 or SUN-SAT, `L`, `#`).
    pub week_day: Option<String>,
    /// Year (1970-2199).
    pub year: Option<String>,
}

impl Schedule {
    /// A fixed rate.
    pub fn rate(every: Duration) -> Self {
        Schedule::Rate(every)
    }

    /// Every `n` minutes.
    pub fn minutes(n: u64) -> Self {
        Schedule::Rate(Duration::from_secs(n * 60))
    }

    /// Every `n` hours.
    pub fn hours(n: u64) -> Self {
        Schedule::Rate(Duration::from_secs(n * 3600))
    }

    /// Every `n` days.
    pub fn days(n: u64) -> Self {
        Schedule::Rate(Duration::from_secs(n * 86_400))
    }

    /// A cron schedule.
    pub fn cron(options: CronOptions) -> Self {
        Schedule::Cron(options)
    }

    /// The EventBridge schedule expression, or why the schedule is invalid.
    pub fn expression(&self) -> std::result::Result<String, String> {
        match self {
            Schedule::Rate(d) => {
                let secs = d.as_secs();
                if d.subsec_nanos() != 0 || secs % 60 != 0 || secs == 0 {
                    return Err(format!(
                        "a rate must be a whole number of minutes, at least one (got {d:?}); EventBridge rates have minute granularity"
                    ));
                }
                let minutes = secs / 60;
                let (n, unit) = if minutes % 1440 == 0 {
                    (minutes / 1440, "day")
                } else if minutes % 60 == 0 {
                    (minutes / 60, "hour")
                } else {
                    (minutes, "minute")
                };
                Ok(format!("rate({n} {unit}{})", if n == 1 { "" } else { "s" }))
            }
            Schedule::Cron(c) => {
                if c.day.is_some() && c.week_day.is_some() {
                    return Err(
                        "a cron schedule cannot set both day (of the month) and week_day; EventBridge needs one of them to be '?'"
                            .into(),
                    );
                }
                let day = c.day.clone().unwrap_or_else(|| {
                    if c.week_day.is_some() {
                        "?".into()
                    } else {
                        "*".into()
                    }
                });
                let fields = [
                    ("minute", c.minute.clone().unwrap_or_else(|| "*".into())),
                    ("hour", c.hour.clone().unwrap_or_else(|| "*".into())),
                    ("day", day),
                    ("month", c.month.clone().unwrap_or_else(|| "*".into())),
                    ("week_day", c.week_day.clone().unwrap_or_else(|| "?".into())),
                    ("year", c.year.clone().unwrap_or_else(|| "*".into())),
                ];
                for (name, v) in &fields {
                    if v.is_empty() || v.chars().any(char::is_whitespace) {
                        return Err(format!(
                            "cron field {name} {v:?} must be non-empty without spaces"
                        ));
                    }
                }
                let parts: Vec<&str> = fields.iter().map(|(_, v)| v.as_str()).collect();
                Ok(format!("cron({})", parts.join(" ")))
            }
            Schedule::Expression(e) => {
                if e.trim().is_empty() {
                    Err("the schedule expression is empty".into())
                } else {
                    Ok(e.clone())
                }
            }
        }
    }
}

/// Which events a rule matches (the common fields; anything else goes into `detail`
/// or `extra`). Lists match any of their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventPattern {
    /// `source`, e.g. `aws.s3` or `com.example.orders`.
    pub source: Vec<String>,
    /// `detail-type`, e.g. `Object Created`.
    pub detail_type: Vec<String>,
    /// `detail`: a JSON pattern over the event's detail.
    pub detail: Option<serde_json::Value>,
    /// `account`
    pub account: Vec<String>,
    /// `region`
    pub region: Vec<String>,
    /// `resources`
    pub resources: Vec<String>,
    /// Other top-level fields, as JSON patterns.
    pub extra: IndexMap<String, serde_json::Value>,
}

impl EventPattern {
    /// The pattern as EventBridge reads it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (key, values) in [
            ("source", &self.source),
            ("detail-type", &self.detail_type),
            ("account", &self.account),
            ("region", &self.region),
            ("resources", &self.resources),
        ] {
            if !values.is_empty() {
                m.insert(key.into(), serde_json::json!(values));
            }
        }
        if let Some(d) = &self.detail {
            m.insert("detail".into(), d.clone());
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        serde_json::Value::Object(m)
    }

    fn is_empty(&self) -> bool {
        self.to_json().as_object().is_none_or(|m| m.is_empty())
    }
}

/// Settings of a [`Rule`]: a schedule, an event pattern, or both.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleProps {
    /// When to run.
    pub schedule: Option<Schedule>,
    /// Which events to match.
    pub event_pattern: Option<EventPattern>,
    /// `ENABLED` (default) or `DISABLED`.
    pub enabled: bool,
    /// `Description`
    pub description: Option<String>,
    /// A physical name; generated by CloudFormation when `None` (recommended).
    pub rule_name: Option<String>,
    /// The event bus (name or ARN); the default bus when `None`.
    pub event_bus: Option<Value>,
}

impl Default for RuleProps {
    fn default() -> Self {
        RuleProps {
            schedule: None,
            event_pattern: None,
            enabled: true,
            description: None,
            rule_name: None,
            event_bus: None,
        }
    }
}

impl RuleProps {
    /// A scheduled rule.
    pub fn schedule(schedule: Schedule) -> Self {
        RuleProps {
            schedule: Some(schedule),
            ..Default::default()
        }
    }

    /// A rule matching events.
    pub fn pattern(pattern: EventPattern) -> Self {
        RuleProps {
            event_pattern: Some(pattern),
            ..Default::default()
        }
    }
}

/// What the target receives.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetInput {
    /// A constant JSON document instead of the event (`Input`).
    Json(serde_json::Value),
    /// A part of the event selected by a JSONPath, e.g. `$.detail` (`InputPath`).
    Path(String),
    /// Values picked from the event into a template (`InputTransformer`): in the
    /// template, `<name>` is replaced by the value at `paths[name]`.
    Transformer {
        /// Name -> JSONPath in the event.
        paths: IndexMap<String, String>,
        /// The template, e.g. `"{\"bucket\": <bucket>}"`.
        template: String,
    },
}

impl TargetInput {
    /// A constant JSON input.
    pub fn json(value: serde_json::Value) -> Self {
        TargetInput::Json(value)
    }

    /// A JSONPath into the event.
    pub fn path(path: &str) -> Self {
        TargetInput::Path(path.to_string())
    }

    /// An input transformer.
    pub fn transformer<K: Into<String>, V: Into<String>>(
        paths: impl IntoIterator<Item = (K, V)>,
        template: &str,
    ) -> Self {
        TargetInput::Transformer {
            paths: paths.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            template: template.to_string(),
        }
    }
}

/// What a rule invokes.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetKind {
    /// A Lambda function; the rule gets a resource-based permission to invoke it
    /// (`events.amazonaws.com`, scoped to the rule's ARN).
    Lambda(Function),
    /// A Step Functions state machine by ARN; the rule gets a role per such target
    /// (`<Rule>/Target<n>Role`, assumed by `events.amazonaws.com`) allowed
    /// `states:StartExecution` on it.
    StateMachine(Value),
    /// An SNS topic by ARN. The topic's policy must allow `events.amazonaws.com` to
    /// `sns:Publish` (scoped to the rule's ARN): that is the topic owner's job, as the
    /// policy belongs to the topic; an unencrypted or AWS-managed-key topic needs nothing
    /// else, a topic encrypted with a customer key also needs the key to allow EventBridge.
    SnsTopic(Value),
    /// Runs a Fargate task (`ecs:RunTask`); the rule gets a role per such target
    /// (`<Rule>/Target<n>Role`, assumed by `events.amazonaws.com`) allowed `ecs:RunTask`
    /// on the task definition in that cluster only, and `iam:PassRole` on the task's task
    /// and execution roles only (passed to `ecs-tasks.amazonaws.com` only). To override a
    /// container's command or environment, give the target a JSON input of
    /// `{"containerOverrides": [...]}`.
    EcsTask(Box<EcsTask>),
}

/// A Fargate task an [`EcsTask`] target runs.
///
/// ```
/// use cairn_constructs::ec2::{Vpc, VpcProps};
/// use cairn_constructs::ecs::{
///     CapacityProviderStrategy, Cluster, ClusterProps, ContainerDefinitionOptions, ContainerImage,
///     FargateTaskDefinition, FargateTaskDefinitionProps, LogDriver,
/// };
/// use cairn_constructs::events::{EcsTask, Rule, RuleProps, RuleTarget, Schedule};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
/// let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps::new(&vpc))?;
/// let task = FargateTaskDefinition::new(&mut app, stack, "Scan", FargateTaskDefinitionProps::default())?;
/// task.add_container(&mut app, "scanner", ContainerDefinitionOptions {
///     logging: Some(LogDriver::aws_logs("scan")),
///     ..ContainerDefinitionOptions::new(ContainerImage::from_registry("aquasec/trivy:0.58.1"))
/// })?;
/// let nightly = Rule::new(&mut app, stack, "Nightly", RuleProps::schedule(Schedule::days(1)))?;
/// nightly.add_target(&mut app, RuleTarget::ecs_task(EcsTask {
///     capacity_provider_strategies: vec![CapacityProviderStrategy::fargate_spot(1)],
///     ..EcsTask::new(&cluster, &task)
/// }))?;
/// let asm = app.synth()?;
/// let s = asm.stack("S").unwrap();
/// let rule = &s.template["Resources"][s.resources_of_type("AWS::Events::Rule")[0]]["Properties"];
/// assert_eq!(rule["Targets"][0]["EcsParameters"]["CapacityProviderStrategy"][0]["CapacityProvider"], "FARGATE_SPOT");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EcsTask {
    /// The cluster the task runs in.
    pub cluster: Cluster,
    /// The task definition.
    pub task_definition: FargateTaskDefinition,
    /// Tasks to start per event (1 to 10; default 1).
    pub task_count: u32,
    /// The capacity provider strategy; when empty the task uses launch type `FARGATE`.
    pub capacity_provider_strategies: Vec<CapacityProviderStrategy>,
    /// The subnets of the cluster's VPC the task runs in (default: private with egress).
    pub subnet_type: SubnetType,
    /// Give the task a public IP (default false).
    pub assign_public_ip: bool,
    /// The security groups; when empty one allowing all outbound and no inbound traffic
    /// is created under the task definition (`<Task>/SecurityGroup`, shared by its rules).
    pub security_groups: Vec<SecurityGroup>,
    /// The Fargate platform version (`LATEST` when `None`).
    pub platform_version: Option<String>,
}

impl EcsTask {
    /// One task of `task_definition` in `cluster`.
    pub fn new(cluster: &Cluster, task_definition: &FargateTaskDefinition) -> Self {
        EcsTask {
            cluster: cluster.clone(),
            task_definition: *task_definition,
            task_count: 1,
            capacity_provider_strategies: Vec::new(),
            subnet_type: SubnetType::PrivateWithEgress,
            assign_public_ip: false,
            security_groups: Vec::new(),
            platform_version: None,
        }
    }
}

impl PartialEq for EcsTask {
    fn eq(&self, other: &Self) -> bool {
        self.cluster == other.cluster
            && self.task_definition == other.task_definition
            && self.task_count == other.task_count
            && self.capacity_provider_strategies == other.capacity_provider_strategies
            && self.subnet_type == other.subnet_type
            && self.assign_public_ip == other.assign_public_ip
            && self
                .security_groups
                .iter()
                .map(SecurityGroup::node)
                .eq(other.security_groups.iter().map(SecurityGroup::node))
            && self.platform_version == other.platform_version
    }
}

/// A target with its input.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleTarget {
    /// What is invoked.
    pub kind: TargetKind,
    /// What it receives; the whole event when `None`.
    pub input: Option<TargetInput>,
}

impl RuleTarget {
    /// A Lambda function target.
    pub fn lambda(function: Function) -> Self {
        RuleTarget {
            kind: TargetKind::Lambda(function),
            input: None,
        }
    }

    /// A state machine target, by ARN.
    pub fn state_machine(arn: impl Into<Value>) -> Self {
        RuleTarget {
            kind: TargetKind::StateMachine(arn.into()),
            input: None,
        }
    }

    /// An SNS topic target, by ARN (see [`TargetKind::SnsTopic`] for the topic policy).
    pub fn sns_topic(arn: impl Into<Value>) -> Self {
        RuleTarget {
            kind: TargetKind::SnsTopic(arn.into()),
            input: None,
        }
    }

    /// A Fargate task target (see [`TargetKind::EcsTask`]).
    pub fn ecs_task(task: EcsTask) -> Self {
        RuleTarget {
            kind: TargetKind::EcsTask(Box::new(task)),
            input: None,
        }
    }

    /// Sets what the target receives.
    pub fn input(mut self, input: TargetInput) -> Self {
        self.input = Some(input);
        self
    }
}

/// An EventBridge rule (`AWS::Events::Rule`).
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    node: NodeId,
    resource: Res<CfnRule>,
}

impl Rule {
    /// Creates the rule as construct `id` under `scope` (the L1 is its child `Resource`).
    ///
    /// Errors: neither a schedule nor a pattern, an invalid schedule, an empty pattern.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: RuleProps) -> Result<Rule> {
        let node = app.construct(scope, id)?;
        let invalid = |app: &App, problem: String| Error::InvalidProps {
            path: app.path(node),
            problem,
        };
        if props.schedule.is_none() && props.event_pattern.is_none() {
            return Err(invalid(
                app,
                "a rule needs a schedule or an event pattern (RuleProps::schedule or RuleProps::pattern)"
                    .into(),
            ));
        }
        let mut rule = CfnRule::default();
        if let Some(s) = &props.schedule {
            let expr = s.expression().map_err(|p| invalid(app, p))?;
            rule.schedule_expression = Some(expr.into());
        }
        if let Some(p) = &props.event_pattern {
            if p.is_empty() {
                return Err(invalid(
                    app,
                    "the event pattern matches on nothing; set source, detail_type or detail".into(),
                ));
            }
            rule.event_pattern = Some(Value::from_json(&p.to_json()));
        }
        rule.state = Some(if props.enabled {
            rule::State::Enabled.into()
        } else {
            rule::State::Disabled.into()
        });
        rule.description = props.description.as_deref().map(Into::into);
        rule.name = props.rule_name.as_deref().map(Into::into);
        rule.event_bus_name = props.event_bus.clone().map(Into::into);
        let resource = app.add(node, "Resource", rule)?;
        Ok(Rule { node, resource })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnRule> {
        self.resource
    }

    /// The rule's ARN.
    pub fn arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The rule's name (`Ref`).
    pub fn name(&self) -> Value {
        self.resource.ref_()
    }

    /// Adds a target (ids `Target0`, `Target1` ... in order) with the permissions it
    /// needs (see [`TargetKind`]).
    pub fn add_target(&self, app: &mut App, target: RuleTarget) -> Result<()> {
        let index = self.targets(app).len();
        let mut t = rule::Target::new(target_arn(&target.kind), format!("Target{index}"));
        match &target.kind {
            TargetKind::Lambda(f) => {
                let rule_id = cairn_core::make_unique_id(&app.path_from(app.root(), self.node));
                let id = format!("AllowEventRule{rule_id}");
                if app.node(f.node()).child(&id).is_none() {
                    f.add_permission(
                        app,
                        &id,
                        Principal::service("events.amazonaws.com"),
                        Some(self.arn()),
                    )?;
                }
            }
            TargetKind::StateMachine(arn) => {
                let role = Role::new(
                    app,
                    self.node,
                    &format!("Target{index}Role"),
                    RoleProps::new(Principal::service("events.amazonaws.com")),
                )?;
                role.add_to_policy(
                    app,
                    PolicyStatement::allow()
                        .actions(["states:StartExecution"])
                        .resource(arn.clone()),
                )?;
                t.role_arn = Some(role.arn().into());
            }
            TargetKind::SnsTopic(_) => {}
            TargetKind::EcsTask(task) => {
                t.ecs_parameters = Some(self.ecs_parameters(app, task)?.into());
                let role = Role::new(
                    app,
                    self.node,
                    &format!("Target{index}Role"),
                    RoleProps::new(Principal::service("events.amazonaws.com")),
                )?;
                role.add_to_policy(
                    app,
                    PolicyStatement::allow()
                        .actions(["ecs:RunTask"])
                        .resource(task.task_definition.task_definition_arn())
                        .condition("ArnEquals", "ecs:cluster", task.cluster.cluster_arn()),
                )?;
                role.add_to_policy(
                    app,
                    PolicyStatement::allow()
                        .actions(["iam:PassRole"])
                        .resources([
                            task.task_definition.execution_role().arn(),
                            task.task_definition.task_role().arn(),
                        ])
                        .condition("StringEquals", "iam:PassedToService", "ecs-tasks.amazonaws.com"),
                )?;
                t.role_arn = Some(role.arn().into());
            }
        }
        match target.input {
            None => {}
            Some(TargetInput::Json(v)) => t.input = Some(v.to_string().into()),
            Some(TargetInput::Path(p)) => t.input_path = Some(p.into()),
            Some(TargetInput::Transformer { paths, template }) => {
                let mut it = rule::InputTransformer::new(template);
                if !paths.is_empty() {
                    let map: IndexMap<String, Val<String>> =
                        paths.into_iter().map(|(k, v)| (k, Val::from(v))).collect();
                    it.input_paths_map = Some(map.into());
                }
                t.input_transformer = Some(it.into());
            }
        }
        let mut targets = self.targets(app);
        targets.push(t.into());
        if let Some(r) = app.node_mut(self.resource.node()).resource_mut::<CfnRule>() {
            r.targets = Some(targets.into());
        }
        Ok(())
    }

    /// The `EcsParameters` of an ECS task target (validated; the security group created
    /// when none is given).
    fn ecs_parameters(&self, app: &mut App, task: &EcsTask) -> Result<rule::EcsParameters> {
        let invalid = |app: &App, problem: String| Error::InvalidProps {
            path: app.path(self.node),
            problem,
        };
        if !(1..=10).contains(&task.task_count) {
            return Err(invalid(
                app,
                format!("ECS task target: task_count {} must be 1 to 10", task.task_count),
            ));
        }
        if task.task_definition.containers(app).is_empty() {
            return Err(invalid(
                app,
                format!(
                    "ECS task target: the task definition {} has no container; add one before targeting it",
                    app.path(task.task_definition.node())
                ),
            ));
        }
        if let Some(p) = check_strategy(
            &task.capacity_provider_strategies,
            task.cluster.capacity_providers(),
        ) {
            return Err(invalid(app, format!("ECS task target: {p}")));
        }
        let subnets: Vec<Val<String>> = task
            .cluster
            .vpc()
            .require_subnets(app, self.node, task.subnet_type)
            .map_err(Error::from)?
            .iter()
            .map(|s| Val::from(s.subnet_id()))
            .collect();
        let groups: Vec<Val<String>> = if task.security_groups.is_empty() {
            let td = task.task_definition.node();
            let existing = app
                .node(td)
                .child("SecurityGroup")
                .and_then(|g| app.node(g).child("Resource"));
            let id = match existing {
                Some(r) => Value::get_att(r, "GroupId"),
                None => {
                    let description = format!("{}/SecurityGroup", app.path(td));
                    SecurityGroup::new(
                        app,
                        td,
                        "SecurityGroup",
                        SecurityGroupProps::new(task.cluster.vpc(), &description),
                    )
                    .map_err(Error::from)?
                    .security_group_id()
                }
            };
            vec![Val::from(id)]
        } else {
            task.security_groups
                .iter()
                .map(|g| Val::from(g.security_group_id()))
                .collect()
        };
        let mut p = rule::EcsParameters::new(task.task_definition.task_definition_arn());
        p.task_count = Some(i64::from(task.task_count).into());
        p.platform_version = Some(task.platform_version.as_deref().unwrap_or("LATEST").into());
        p.network_configuration = Some(
            rule::NetworkConfiguration {
                aws_vpc_configuration: Some(
                    rule::AwsVpcConfiguration {
                        assign_public_ip: Some(
                            if task.assign_public_ip {
                                rule::AssignPublicIp::Enabled
                            } else {
                                rule::AssignPublicIp::Disabled
                            }
                            .into(),
                        ),
                        security_groups: Some(Val::Lit(groups)),
                        ..rule::AwsVpcConfiguration::new(Val::Lit(subnets))
                    }
                    .into(),
                ),
            }
            .into(),
        );
        if task.capacity_provider_strategies.is_empty() {
            p.launch_type = Some(rule::LaunchType::Fargate.into());
        } else {
            p.capacity_provider_strategy = Some(Val::Lit(
                task.capacity_provider_strategies
                    .iter()
                    .map(|s| {
                        Val::Lit(rule::CapacityProviderStrategyItem {
                            base: s.base.map(|b| i64::from(b).into()),
                            weight: Some(i64::from(s.weight).into()),
                            ..rule::CapacityProviderStrategyItem::new(s.capacity_provider.as_str())
                        })
                    })
                    .collect(),
            ));
        }
        Ok(p)
    }

    fn targets(&self, app: &App) -> Vec<Val<rule::Target>> {
        match app
            .node(self.resource.node())
            .resource::<CfnRule>()
            .and_then(|r| r.targets.as_ref())
        {
            Some(Val::Lit(list)) => list.clone(),
            _ => Vec::new(),
        }
    }
}

fn target_arn(kind: &TargetKind) -> Value {
    match kind {
        TargetKind::Lambda(f) => f.function_arn(),
        TargetKind::StateMachine(arn) | TargetKind::SnsTopic(arn) => arn.clone(),
        TargetKind::EcsTask(task) => task.cluster.cluster_arn(),
    }
}

impl From<Rule> for NodeId {
    fn from(r: Rule) -> NodeId {
        r.node
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}
