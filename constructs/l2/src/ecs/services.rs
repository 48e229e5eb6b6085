//! Services: `FargateService`, its networking, load balancer targets and deployment settings.

use super::*;
use crate::ec2::SubnetSelection;

/// Settings of a [`FargateService`].
#[derive(Debug, Clone)]
pub struct FargateServiceProps {
    /// The cluster.
    pub cluster: Cluster,
    /// The task definition.
    pub task_definition: FargateTaskDefinition,
    /// Tasks to run (default 1; auto scaling changes it afterwards).
    pub desired_count: u32,
    /// A physical name; generated when `None`.
    pub service_name: Option<String>,
    /// The capacity provider strategy; when empty the service uses launch type `FARGATE`.
    pub capacity_provider_strategies: Vec<CapacityProviderStrategy>,
    /// The Fargate platform version (`LATEST` when `None`).
    pub platform_version: Option<String>,
    /// The subnets tasks run in (default: private with egress).
    pub subnet_type: SubnetType,
    /// The subnets tasks run in, as aws-cdk-lib's `vpcSubnets` (by group name, zones,
    /// one per zone); when set it replaces `subnet_type`.
    pub vpc_subnets: Option<SubnetSelection>,
    /// Give tasks public IPs (default false; needed only in public subnets without NAT).
    pub assign_public_ip: bool,
    /// The security groups; one allowing all outbound and no inbound traffic is created
    /// (`<Service>/SecurityGroup`) when empty. Load balancers open their port on it.
    pub security_groups: Vec<SecurityGroup>,
    /// Ignore failing load balancer health checks this long after a task starts
    /// (default 60 s once a load balancer is attached).
    pub health_check_grace_period: Option<Duration>,
    /// The lower limit of running tasks during a deployment, in percent (default 100).
    pub min_healthy_percent: u32,
    /// The upper limit of running tasks during a deployment, in percent (default 200).
    pub max_healthy_percent: u32,
    /// Roll back a deployment whose tasks keep failing (default true).
    pub circuit_breaker_rollback: bool,
    /// ECS Exec (default false); the task role gets the `ssmmessages` actions the agent needs.
    pub enable_execute_command: bool,
}

impl FargateServiceProps {
    /// One task of `task_definition` in `cluster`.
    pub fn new(cluster: &Cluster, task_definition: &FargateTaskDefinition) -> Self {
        FargateServiceProps {
            cluster: cluster.clone(),
            task_definition: *task_definition,
            desired_count: 1,
            service_name: None,
            capacity_provider_strategies: Vec::new(),
            platform_version: None,
            subnet_type: SubnetType::PrivateWithEgress,
            vpc_subnets: None,
            assign_public_ip: false,
            security_groups: Vec::new(),
            health_check_grace_period: None,
            min_healthy_percent: 100,
            max_healthy_percent: 200,
            circuit_breaker_rollback: true,
            enable_execute_command: false,
        }
    }
}

/// A Fargate service (`AWS::ECS::Service`, the child `Service` as in the CDK) with its
/// security groups.
#[derive(Debug, Clone)]
pub struct FargateService {
    pub(super) node: NodeId,
    resource: Res<CfnService>,
    cluster: Cluster,
    task_definition: FargateTaskDefinition,
    security_groups: Vec<SecurityGroup>,
}

impl PartialEq for FargateService {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// The strategy as the service's L1 items.
fn service_strategy(s: &[CapacityProviderStrategy]) -> Vec<Val<service::CapacityProviderStrategyItem>> {
    s.iter()
        .map(|s| {
            Val::Lit(service::CapacityProviderStrategyItem {
                base: s.base.map(|b| i64::from(b).into()),
                capacity_provider: Some(s.capacity_provider.as_str().into()),
                weight: Some(i64::from(s.weight).into()),
            })
        })
        .collect()
}

impl FargateService {
    /// Creates the service as construct `id` under `scope`. The service waits for the
    /// capacity provider association (when it uses a strategy) and for the task and
    /// execution roles with the policies they have now: make the grants a task needs
    /// before creating its service.
    ///
    /// Errors: a task definition without containers, a strategy the cluster cannot
    /// serve, deployment percentages ECS refuses, no subnets of the type.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: FargateServiceProps,
    ) -> Result<FargateService> {
        let node = app.construct(scope, id)?;
        if props.task_definition.containers(app).is_empty() {
            return Err(app.invalid_props(node,
                "the task definition has no container; add one with FargateTaskDefinition::add_container before creating the service",
            ));
        }
        if let Some(problem) = check_strategy(
            &props.capacity_provider_strategies,
            props.cluster.capacity_providers(),
        ) {
            return Err(app.invalid_props(node, format!("capacity_provider_strategies: {problem}")));
        }
        if props.max_healthy_percent < 100 || props.min_healthy_percent > props.max_healthy_percent {
            return Err(app.invalid_props(node,
                format!(
                    "min_healthy_percent {} / max_healthy_percent {}: the maximum must be at least 100 and at least the minimum",
                    props.min_healthy_percent, props.max_healthy_percent
                ),
            ));
        }
        let vpc = props.cluster.vpc();
        let picked = match &props.vpc_subnets {
            Some(selection) => vpc.select(app, node, selection)?,
            None => vpc.require_subnets(app, node, props.subnet_type)?,
        };
        let subnets: Vec<Val<String>> = picked.iter().map(|s| Val::from(s.subnet_id())).collect();
        let security_groups = if props.security_groups.is_empty() {
            vec![SecurityGroup::new(
                app,
                node,
                "SecurityGroup",
                SecurityGroupProps::new(props.cluster.vpc(), &format!("{}/SecurityGroup", app.path(node))),
            )?]
        } else {
            props.security_groups.clone()
        };
        let mut svc = CfnService {
            cluster: Some(props.cluster.cluster_name().into()),
            task_definition: Some(props.task_definition.task_definition_arn().into()),
            desired_count: Some(i64::from(props.desired_count).into()),
            service_name: props.service_name.as_deref().map(Into::into),
            platform_version: Some(props.platform_version.as_deref().unwrap_or("LATEST").into()),
            enable_ecs_managed_tags: Some(false.into()),
            enable_execute_command: props.enable_execute_command.then(|| true.into()),
            deployment_configuration: Some(
                service::DeploymentConfiguration {
                    maximum_percent: Some(i64::from(props.max_healthy_percent).into()),
                    minimum_healthy_percent: Some(i64::from(props.min_healthy_percent).into()),
                    deployment_circuit_breaker: Some(
                        service::DeploymentCircuitBreaker::new(true, props.circuit_breaker_rollback).into(),
                    ),
                    ..Default::default()
                }
                .into(),
            ),
            network_configuration: Some(
                service::NetworkConfiguration {
                    awsvpc_configuration: Some(
                        service::AwsVpcConfiguration {
                            assign_public_ip: Some(
                                if props.assign_public_ip {
                                    service::AssignPublicIp::Enabled
                                } else {
                                    service::AssignPublicIp::Disabled
                                }
                                .into(),
                            ),
                            security_groups: Some(Val::Lit(
                                security_groups
                                    .iter()
                                    .map(|g| Val::from(g.security_group_id()))
                                    .collect(),
                            )),
                            subnets: Some(Val::Lit(subnets)),
                        }
                        .into(),
                    ),
                }
                .into(),
            ),
            health_check_grace_period_seconds: props
                .health_check_grace_period
                .map(|d| (d.as_secs() as i64).into()),
            ..Default::default()
        };
        if props.capacity_provider_strategies.is_empty() {
            svc.launch_type = Some(service::LaunchType::Fargate.into());
        } else {
            svc.capacity_provider_strategy =
                Some(Val::Lit(service_strategy(&props.capacity_provider_strategies)));
        }
        let resource = app.add(node, "Service", svc)?;
        let mut deps = Vec::new();
        if !props.capacity_provider_strategies.is_empty() {
            deps.extend(props.cluster.capacity_provider_associations());
        }
        // Tasks start with their roles' policies in place: dependencies on the role
        // constructs, expanded at synthesis, so grants added later are waited for too.
        deps.push(props.task_definition.task_role().node());
        deps.push(props.task_definition.execution_role().node());
        if props.enable_execute_command {
            // What the SSM agent in the task needs for ECS Exec (the CDK's list).
            props.task_definition.add_to_task_role_policy(
                app,
                PolicyStatement::allow()
                    .actions([
                        "ssmmessages:CreateControlChannel",
                        "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel",
                        "ssmmessages:OpenDataChannel",
                    ])
                    .resource("*"),
            )?;
        }
        app.resource_options_mut(resource)?.depends_on.extend(deps);
        Ok(FargateService {
            node,
            resource,
            cluster: props.cluster,
            task_definition: props.task_definition,
            security_groups,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnService> {
        self.resource
    }

    /// The service's ARN (`Ref`).
    pub fn service_arn(&self) -> Value {
        self.resource.ref_()
    }

    /// The service's name.
    pub fn service_name(&self) -> Value {
        self.resource.attr_name()
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The task definition.
    pub fn task_definition(&self) -> FargateTaskDefinition {
        self.task_definition
    }

    /// The security groups of the tasks.
    pub fn security_groups(&self) -> &[SecurityGroup] {
        &self.security_groups
    }

    /// Registers the task definition's default container (the first essential one with a
    /// port) with an ALB target group of target type `ip`: the service's `LoadBalancers`
    /// entry, ingress from the load balancer's security group on the container port only
    /// (and the matching egress there), a 60 s health check grace period unless set, and
    /// a dependency on the listener that links the group to the load balancer.
    ///
    /// Errors: no container with a port, a target group whose target type is not `ip`.
    pub fn attach_to_application_target_group(
        &self,
        app: &mut App,
        load_balancer: &ApplicationLoadBalancer,
        listener: &ApplicationListener,
        target_group: &ApplicationTargetGroup,
    ) -> Result<()> {
        let Some(container) = self.task_definition.default_container(app) else {
            return Err(app.invalid_props(self.node,
                "no essential container of the task definition has a port mapping; add PortMapping::tcp(port) to the container the load balancer should reach",
            ));
        };
        let port = container.container_port.unwrap_or(80);
        let ip = app
            .node(target_group.resource().node())
            .resource::<CfnTargetGroup>()
            .and_then(|t| t.target_type.as_ref())
            .and_then(Val::literal)
            .map(|t| t.as_str() == "ip")
            .unwrap_or(false);
        if !ip {
            return Err(app.invalid_props(self.node,
                format!(
                    "target group {} must have target type ip for Fargate tasks (awsvpc); set TargetType::Ip in its props",
                    app.path(target_group.node())
                ),
            ));
        }
        for sg in &self.security_groups {
            load_balancer.allow_to(app, sg, Port::tcp(port))?;
        }
        let entry = service::LoadBalancer {
            container_name: Some(container.name.as_str().into()),
            container_port: Some(i64::from(port).into()),
            target_group_arn: Some(target_group.target_group_arn().into()),
            ..Default::default()
        };
        if let Some(s) = app.node_mut(self.resource.node()).resource_mut::<CfnService>() {
            let mut list = match s.load_balancers.take() {
                Some(Val::Lit(l)) => l,
                _ => Vec::new(),
            };
            list.push(Val::Lit(entry));
            s.load_balancers = Some(Val::Lit(list));
            if s.health_check_grace_period_seconds.is_none() {
                s.health_check_grace_period_seconds = Some(60.into());
            }
        }
        let opts = app.resource_options_mut(self.resource)?;
        if !opts.depends_on.contains(&listener.resource().node()) {
            opts.depends_on.push(listener.resource().node());
        }
        Ok(())
    }

    /// Scales the number of tasks between `min` and `max` with Application Auto Scaling
    /// (`<Service>/TaskCount/Target`, through ECS's service-linked role); add policies to
    /// the result.
    ///
    /// Errors: `max` below `min`, or a second call.
    pub fn auto_scale_task_count(&self, app: &mut App, min: u32, max: u32) -> Result<ScalableTaskCount> {
        let holder = app.construct(self.node, "TaskCount")?;
        let resource_id = Value::join(
            "/",
            [
                Value::from("service"),
                self.cluster.cluster_name(),
                self.service_name(),
            ],
        );
        let role = Arn::new(
            "iam",
            "role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
        )
        .no_region()
        .format();
        let target = ScalableTarget::new(
            app,
            holder,
            "Target",
            ScalableTargetProps {
                role_arn: Some(role),
                ..ScalableTargetProps::new(
                    scalable_target::ServiceNamespace::Ecs,
                    resource_id,
                    scalable_target::ScalableDimension::EcsServiceDesiredCount,
                    min,
                    max,
                )
            },
        )?;
        Ok(ScalableTaskCount { node: holder, target })
    }
}

impl From<&FargateService> for NodeId {
    fn from(s: &FargateService) -> NodeId {
        s.node
    }
}

impl From<FargateService> for NodeId {
    fn from(s: FargateService) -> NodeId {
        s.node
    }
}
