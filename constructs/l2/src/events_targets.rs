//! EventBridge rule targets (the CDK's `aws-events-targets`): Step Functions state
//! machines and SNS topics by ARN, and Fargate tasks. Each implements
//! [`RuleTarget`], creating what it needs when it is added to a rule with
//! [`Rule::add_target`]. A Lambda function is a target itself
//! ([`crate::lambda::Function`]).
//!
//! ```
//! use cairn_constructs::events::{EventPattern, Rule, RuleProps, RuleTarget, TargetInput};
//! use cairn_constructs::events_targets::{SfnStateMachine, SnsTopic};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Orders")?;
//! let placed = Rule::new(&mut app, stack, "Placed", RuleProps::pattern(EventPattern {
//!     source: vec!["com.acme.orders".into()],
//!     ..Default::default()
//! }))?;
//! placed.add_target(&mut app, SfnStateMachine::new("arn:aws:states:eu-west-1:123456789012:stateMachine:fulfil")
//!     .with_input(TargetInput::path("$.detail")))?;
//! placed.add_target(&mut app, SnsTopic::new("arn:aws:sns:eu-west-1:123456789012:audit"))?;
//! let asm = app.synth()?;
//! let s = asm.stack("Orders").unwrap();
//! assert_eq!(s.resources_of_type("AWS::IAM::Role").len(), 1, "only the state machine needs a role");
//! # Ok(())
//! # }
//! ```

use cairn_core::{App, Result, Val, Value};

use crate::ec2::{SecurityGroup, SecurityGroupProps, SubnetType};
use crate::ecs::{check_strategy, CapacityProviderStrategy, Cluster, FargateTaskDefinition};
use crate::events::{rule, Rule, RuleTarget, TargetConfig};
use crate::iam::PolicyStatement;

/// A Step Functions state machine by ARN: the rule gets a role per such target
/// (`<Rule>/Target<n>Role`, assumed by `events.amazonaws.com`) allowed
/// `states:StartExecution` on it.
#[derive(Debug, Clone, PartialEq)]
pub struct SfnStateMachine {
    arn: Value,
}

impl SfnStateMachine {
    /// The state machine with this ARN.
    pub fn new(arn: impl Into<Value>) -> Self {
        SfnStateMachine { arn: arn.into() }
    }
}

impl RuleTarget for SfnStateMachine {
    fn bind(&self, app: &mut App, rule: &Rule, id: &str) -> Result<TargetConfig> {
        let role = rule.target_role(app, id)?;
        role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(["states:StartExecution"])
                .resource(self.arn.clone()),
        )?;
        Ok(TargetConfig::new(self.arn.clone()).role_arn(role.arn()))
    }
}

/// An SNS topic by ARN. The topic's policy must allow `events.amazonaws.com` to
/// `sns:Publish` (scoped to the rule's ARN): that is the topic owner's job, as the policy
/// belongs to the topic; an unencrypted or AWS-managed-key topic needs nothing else, a
/// topic encrypted with a customer key also needs the key to allow EventBridge.
#[derive(Debug, Clone, PartialEq)]
pub struct SnsTopic {
    arn: Value,
}

impl SnsTopic {
    /// The topic with this ARN.
    pub fn new(arn: impl Into<Value>) -> Self {
        SnsTopic { arn: arn.into() }
    }
}

impl RuleTarget for SnsTopic {
    fn bind(&self, _app: &mut App, _rule: &Rule, _id: &str) -> Result<TargetConfig> {
        Ok(TargetConfig::new(self.arn.clone()))
    }
}

/// Runs a Fargate task (`ecs:RunTask`): the rule gets a role per such target
/// (`<Rule>/Target<n>Role`, assumed by `events.amazonaws.com`) allowed `ecs:RunTask` on
/// the task definition in that cluster only, and `iam:PassRole` on the task's task and
/// execution roles only (passed to `ecs-tasks.amazonaws.com` only). To override a
/// container's command or environment, give the target a JSON input of
/// `{"containerOverrides": [...]}` ([`RuleTarget::with_input`]).
///
/// ```
/// use cairn_constructs::ec2::{Vpc, VpcProps};
/// use cairn_constructs::ecs::{
///     CapacityProviderStrategy, Cluster, ClusterProps, ContainerDefinitionOptions, ContainerImage,
///     FargateTaskDefinition, FargateTaskDefinitionProps, LogDriver,
/// };
/// use cairn_constructs::events::{Rule, RuleProps, Schedule};
/// use cairn_constructs::events_targets::EcsTask;
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
/// nightly.add_target(&mut app, EcsTask {
///     capacity_provider_strategies: vec![CapacityProviderStrategy::fargate_spot(1)],
///     ..EcsTask::new(&cluster, &task)
/// })?;
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

    /// The `EcsParameters` of the target (validated; the security group created when
    /// none is given).
    fn parameters(&self, app: &mut App, rule: &Rule) -> Result<rule::EcsParameters> {
        if !(1..=10).contains(&self.task_count) {
            return Err(app.invalid_props(
                rule.node(),
                format!("ECS task target: task_count {} must be 1 to 10", self.task_count),
            ));
        }
        if self.task_definition.containers(app).is_empty() {
            let problem = format!(
                "ECS task target: the task definition {} has no container; add one before targeting it",
                app.path(self.task_definition.node())
            );
            return Err(app.invalid_props(rule.node(), problem));
        }
        if let Some(p) = check_strategy(
            &self.capacity_provider_strategies,
            self.cluster.capacity_providers(),
        ) {
            return Err(app.invalid_props(rule.node(), format!("ECS task target: {p}")));
        }
        let subnets: Vec<Val<String>> = self
            .cluster
            .vpc()
            .require_subnets(app, rule.node(), self.subnet_type)?
            .iter()
            .map(|s| Val::from(s.subnet_id()))
            .collect();
        let groups: Vec<Val<String>> = if self.security_groups.is_empty() {
            vec![Val::from(self.default_security_group(app)?)]
        } else {
            self.security_groups
                .iter()
                .map(|g| Val::from(g.security_group_id()))
                .collect()
        };
        let mut p = rule::EcsParameters::new(self.task_definition.task_definition_arn());
        p.task_count = Some(i64::from(self.task_count).into());
        p.platform_version = Some(self.platform_version.as_deref().unwrap_or("LATEST").into());
        p.network_configuration = Some(
            rule::NetworkConfiguration {
                aws_vpc_configuration: Some(
                    rule::AwsVpcConfiguration {
                        assign_public_ip: Some(
                            if self.assign_public_ip {
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
        if self.capacity_provider_strategies.is_empty() {
            p.launch_type = Some(rule::LaunchType::Fargate.into());
        } else {
            p.capacity_provider_strategy = Some(Val::Lit(
                self.capacity_provider_strategies
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

    /// The id of the task definition's `SecurityGroup` (created by the first rule that
    /// needs it, shared by the others).
    fn default_security_group(&self, app: &mut App) -> Result<Value> {
        let td = self.task_definition.node();
        let existing = app
            .node(td)
            .child("SecurityGroup")
            .and_then(|g| app.node(g).child("Resource"));
        Ok(match existing {
            Some(r) => Value::get_att(r, "GroupId"),
            None => {
                let description = format!("{}/SecurityGroup", app.path(td));
                SecurityGroup::new(
                    app,
                    td,
                    "SecurityGroup",
                    SecurityGroupProps::new(self.cluster.vpc(), &description),
                )?
                .security_group_id()
            }
        })
    }
}

impl RuleTarget for EcsTask {
    fn bind(&self, app: &mut App, rule: &Rule, id: &str) -> Result<TargetConfig> {
        // The parameters first: a security group they create comes before the role.
        let parameters = self.parameters(app, rule)?;
        let role = rule.target_role(app, id)?;
        role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(["ecs:RunTask"])
                .resource(self.task_definition.task_definition_arn())
                .condition("ArnEquals", "ecs:cluster", self.cluster.cluster_arn()),
        )?;
        role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(["iam:PassRole"])
                .resources([
                    self.task_definition.execution_role().arn(),
                    self.task_definition.task_role().arn(),
                ])
                .condition("StringEquals", "iam:PassedToService", "ecs-tasks.amazonaws.com"),
        )?;
        Ok(TargetConfig::new(self.cluster.cluster_arn())
            .role_arn(role.arn())
            .ecs_parameters(parameters))
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
