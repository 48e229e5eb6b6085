//! EventBridge: rules on a schedule or an event pattern, and the [`RuleTarget`] trait
//! that what they invoke implements (Lambda functions in [`crate::lambda`]; state
//! machines, SNS topics and ECS tasks in [`crate::events_targets`]; your own), each
//! creating the permissions it needs when it is bound to its rule.
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
//! nightly.add_target(&mut app, worker.with_input(
//!     TargetInput::json(serde_json::json!({ "job": "compact" }))))?;
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

use cairn_core::{App, Construct, NodeId, Res, Result, Val, Value};

use crate::iam::{Principal, Role, RoleProps};

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

/// What a rule puts in its `Targets` for one target, as the target's
/// [`RuleTarget::bind`] returns it. The rule sets the target's `Id`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TargetConfig {
    /// The target's ARN (`Arn`).
    pub arn: Value,
    /// The role EventBridge assumes to invoke the target (`RoleArn`); targets that take a
    /// resource policy instead (Lambda functions, SNS topics) have none.
    pub role_arn: Option<Value>,
    /// What the target receives; the whole event when `None`.
    pub input: Option<TargetInput>,
    /// `EcsParameters`, for a target that runs ECS tasks.
    pub ecs_parameters: Option<rule::EcsParameters>,
}

impl TargetConfig {
    /// A target by ARN, receiving the whole event, with no role.
    pub fn new(arn: impl Into<Value>) -> Self {
        TargetConfig {
            arn: arn.into(),
            role_arn: None,
            input: None,
            ecs_parameters: None,
        }
    }

    /// Sets the role EventBridge assumes to invoke the target.
    pub fn role_arn(mut self, role_arn: impl Into<Value>) -> Self {
        self.role_arn = Some(role_arn.into());
        self
    }

    /// Sets what the target receives.
    pub fn input(mut self, input: TargetInput) -> Self {
        self.input = Some(input);
        self
    }

    /// Sets the `EcsParameters`.
    pub fn ecs_parameters(mut self, parameters: rule::EcsParameters) -> Self {
        self.ecs_parameters = Some(parameters);
        self
    }
}

/// Something a [`Rule`] can invoke (the CDK's `IRuleTarget`): bound to the rule when it is
/// added with [`Rule::add_target`], it creates what it needs to be invoked (a role for
/// EventBridge, a resource-based permission) and says what goes into the rule's `Targets`.
///
/// A Lambda function is a target ([`crate::lambda::Function`]); state machines, SNS topics
/// and ECS tasks are in [`crate::events_targets`]. A target of your own:
///
/// ```
/// use cairn_constructs::events::{Rule, RuleProps, RuleTarget, Schedule, TargetConfig};
/// use cairn_constructs::iam::PolicyStatement;
/// use cairn_core::{App, Result, Value};
///
/// /// Puts the event on a Kinesis stream.
/// struct KinesisStream { arn: Value }
///
/// impl RuleTarget for KinesisStream {
///     fn bind(&self, app: &mut App, rule: &Rule, id: &str) -> Result<TargetConfig> {
///         let role = rule.target_role(app, id)?;
///         role.add_to_policy(app, PolicyStatement::allow()
///             .actions(["kinesis:PutRecord", "kinesis:PutRecords"])
///             .resource(self.arn.clone()))?;
///         Ok(TargetConfig::new(self.arn.clone()).role_arn(role.arn()))
///     }
/// }
///
/// # fn main() -> Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let rule = Rule::new(&mut app, stack, "Tick", RuleProps::schedule(Schedule::minutes(5)))?;
/// rule.add_target(&mut app, KinesisStream { arn: "arn:aws:kinesis:eu-west-1:123456789012:stream/s".into() })?;
/// let asm = app.synth()?;
/// let s = asm.stack("S").unwrap();
/// let props = &s.template["Resources"][s.resources_of_type("AWS::Events::Rule")[0]]["Properties"];
/// assert!(props["Targets"][0]["RoleArn"]["Fn::GetAtt"][0].as_str().unwrap().starts_with("TickTarget0Role"));
/// # Ok(())
/// # }
/// ```
pub trait RuleTarget {
    /// Binds the target to `rule` as its target `id` (`Target0`, `Target1` ... in the
    /// order they are added): creates what the target needs (under the rule, children
    /// named after `id`, e.g. [`Rule::target_role`]) and returns what the rule lists.
    fn bind(&self, app: &mut App, rule: &Rule, id: &str) -> Result<TargetConfig>;

    /// This target, receiving `input` instead of the whole event.
    fn with_input(self, input: TargetInput) -> WithInput<Self>
    where
        Self: Sized,
    {
        WithInput { target: self, input }
    }
}

impl<T: RuleTarget + ?Sized> RuleTarget for &T {
    fn bind(&self, app: &mut App, rule: &Rule, id: &str) -> Result<TargetConfig> {
        (**self).bind(app, rule, id)
    }
}

impl<T: RuleTarget + ?Sized> RuleTarget for Box<T> {
    fn bind(&self, app: &mut App, rule: &Rule, id: &str) -> Result<TargetConfig> {
        (**self).bind(app, rule, id)
    }
}

/// A target with the input it receives (see [`RuleTarget::with_input`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WithInput<T> {
    target: T,
    input: TargetInput,
}

impl<T: RuleTarget> RuleTarget for WithInput<T> {
    fn bind(&self, app: &mut App, rule: &Rule, id: &str) -> Result<TargetConfig> {
        let mut config = self.target.bind(app, rule, id)?;
        config.input = Some(self.input.clone());
        Ok(config)
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
        if props.schedule.is_none() && props.event_pattern.is_none() {
            return Err(app.invalid_props(
                node,
                "a rule needs a schedule or an event pattern (RuleProps::schedule or RuleProps::pattern)",
            ));
        }
        let mut rule = CfnRule::default();
        if let Some(s) = &props.schedule {
            let expr = s.expression().map_err(|p| app.invalid_props(node, p))?;
            rule.schedule_expression = Some(expr.into());
        }
        if let Some(p) = &props.event_pattern {
            if p.is_empty() {
                return Err(app.invalid_props(
                    node,
                    "the event pattern matches on nothing; set source, detail_type or detail",
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

    /// Adds a target as `Target0`, `Target1` ... in order: the target is bound to the
    /// rule (see [`RuleTarget`]), which creates what it needs to be invoked.
    pub fn add_target(&self, app: &mut App, target: impl RuleTarget) -> Result<()> {
        let id = format!("Target{}", self.targets(app).len());
        let config = target.bind(app, self, &id)?;
        let mut t = rule::Target::new(config.arn, id);
        t.role_arn = config.role_arn.map(Into::into);
        t.ecs_parameters = config.ecs_parameters.map(Into::into);
        match config.input {
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

    /// A role for the target `id` (child `<id>Role` of the rule) that only
    /// `events.amazonaws.com` may assume, for targets EventBridge invokes through a role
    /// (Step Functions, ECS tasks, Kinesis ...): add what the target needs to its policy
    /// and return its ARN as [`TargetConfig::role_arn`].
    pub fn target_role(&self, app: &mut App, id: &str) -> Result<Role> {
        Role::new(
            app,
            self.node,
            &format!("{id}Role"),
            RoleProps::new(Principal::service("events.amazonaws.com")),
        )
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

impl Construct for Rule {
    fn node(&self) -> NodeId {
        self.node
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
