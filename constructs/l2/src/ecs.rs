//! ECS on Fargate: clusters with the `FARGATE` and `FARGATE_SPOT` capacity providers and a
//! default strategy, Fargate task definitions (containers, CloudWatch Logs, task and
//! execution roles) and Fargate services (awsvpc networking, a security group that admits
//! only the load balancer, ALB target groups, deployment circuit breaker, task count auto
//! scaling on CPU, memory or ALB requests).
//!
//! ```
//! use std::time::Duration;
//! use cairn_constructs::ec2::{Vpc, VpcProps};
//! use cairn_constructs::ecs::{
//!     CapacityProviderStrategy, Cluster, ClusterProps, ContainerDefinitionOptions, ContainerImage,
//!     FargateService, FargateServiceProps, FargateTaskDefinition, FargateTaskDefinitionProps,
//!     LogDriver, PortMapping,
//! };
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
//! let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps {
//!     default_capacity_provider_strategy: vec![
//!         CapacityProviderStrategy::fargate(1).base(1),
//!         CapacityProviderStrategy::fargate_spot(1),
//!     ],
//!     ..ClusterProps::new(&vpc)
//! })?;
//! let task = FargateTaskDefinition::new(&mut app, stack, "Task", FargateTaskDefinitionProps::default())?;
//! task.add_container(&mut app, "web", ContainerDefinitionOptions {
//!     port_mappings: vec![PortMapping::tcp(8080)],
//!     logging: Some(LogDriver::aws_logs("web")),
//!     stop_timeout: Some(Duration::from_secs(120)),
//!     ..ContainerDefinitionOptions::new(ContainerImage::from_registry("public.ecr.aws/nginx/nginx:1.27"))
//! })?;
//! let service = FargateService::new(&mut app, stack, "Web", FargateServiceProps {
//!     desired_count: 2,
//!     capacity_provider_strategies: cluster.default_capacity_provider_strategy().to_vec(),
//!     ..FargateServiceProps::new(&cluster, &task)
//! })?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let svc = &s.template["Resources"][s.resources_of_type("AWS::ECS::Service")[0]]["Properties"];
//! assert_eq!(svc["CapacityProviderStrategy"][1]["CapacityProvider"], "FARGATE_SPOT");
//! # let _ = service;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use indexmap::IndexMap;

use cairn_core::{App, Arn, NodeId, Pseudo, Res, Result, Val, Value};

use crate::applicationautoscaling::{
    scalable_target, PredefinedMetric, ScalableTarget, ScalableTargetProps, TargetTrackingProps,
};
use crate::ec2::{Port, SecurityGroup, SecurityGroupProps, SubnetType, Vpc};
use crate::ecr::Repository;
use crate::elbv2::{ApplicationListener, ApplicationLoadBalancer, ApplicationTargetGroup, CfnTargetGroup};
use crate::iam::{Grantable, PolicyStatement, Principal, Role, RoleProps};
use crate::logs::{LogGroup, LogGroupProps};
use crate::secretsmanager::Secret;
use crate::ssm::StringParameter;

mod services;
pub use services::*;

pub use cairn_cfn::ecs::*;

/// The Fargate capacity provider.
pub const FARGATE: &str = "FARGATE";
/// The Fargate Spot capacity provider (spare capacity at a discount; tasks get SIGTERM
/// and two minutes' notice before they are stopped).
pub const FARGATE_SPOT: &str = "FARGATE_SPOT";
/// The longest stop timeout Fargate accepts (seconds between SIGTERM and SIGKILL).
pub const MAX_FARGATE_STOP_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------
// Capacity provider strategies
// ---------------------------------------------------------------------------------------

/// One item of a capacity provider strategy: a provider, its weight, and the tasks it
/// runs before weights apply (`base`, one item at most).
///
/// ```
/// use cairn_constructs::ecs::CapacityProviderStrategy;
/// let s = CapacityProviderStrategy::fargate_spot(3);
/// assert_eq!((s.capacity_provider.as_str(), s.weight, s.base), ("FARGATE_SPOT", 3, None));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityProviderStrategy {
    /// The provider's short name (`FARGATE`, `FARGATE_SPOT` or a custom one).
    pub capacity_provider: String,
    /// The relative share of tasks (0 to 1,000).
    pub weight: u32,
    /// Tasks placed on this provider first (0 to 100,000).
    pub base: Option<u32>,
}

impl CapacityProviderStrategy {
    /// `FARGATE` with a weight.
    pub fn fargate(weight: u32) -> Self {
        CapacityProviderStrategy {
            capacity_provider: FARGATE.into(),
            weight,
            base: None,
        }
    }

    /// `FARGATE_SPOT` with a weight.
    pub fn fargate_spot(weight: u32) -> Self {
        CapacityProviderStrategy {
            capacity_provider: FARGATE_SPOT.into(),
            weight,
            base: None,
        }
    }

    /// Sets the base.
    pub fn base(mut self, base: u32) -> Self {
        self.base = Some(base);
        self
    }
}

/// Why a strategy is invalid for providers `available`, or `None`.
///
/// ```
/// use cairn_constructs::ecs::{check_strategy, CapacityProviderStrategy, FARGATE, FARGATE_SPOT};
/// let ok = [CapacityProviderStrategy::fargate(1), CapacityProviderStrategy::fargate_spot(1)];
/// assert!(check_strategy(&ok, &[FARGATE.into(), FARGATE_SPOT.into()]).is_none());
/// let all_zero = [CapacityProviderStrategy::fargate(0)];
/// assert!(check_strategy(&all_zero, &[FARGATE.into()]).is_some());
/// ```
pub fn check_strategy(strategy: &[CapacityProviderStrategy], available: &[String]) -> Option<String> {
    if strategy.is_empty() {
        return None;
    }
    for (i, s) in strategy.iter().enumerate() {
        if !available.contains(&s.capacity_provider) {
            return Some(format!(
                "capacity provider {:?} is not associated with the cluster (it has {:?}); enable the Fargate capacity providers on the cluster or use one of them",
                s.capacity_provider, available
            ));
        }
        if strategy[..i]
            .iter()
            .any(|o| o.capacity_provider == s.capacity_provider)
        {
            return Some(format!(
                "capacity provider {:?} appears twice in the strategy; list each provider once",
                s.capacity_provider
            ));
        }
        if s.weight > 1000 {
            return Some(format!(
                "the weight of {:?} is {}, above ECS's maximum of 1000",
                s.capacity_provider, s.weight
            ));
        }
        if s.base.is_some_and(|b| b > 100_000) {
            return Some(format!(
                "the base of {:?} is above ECS's maximum of 100000",
                s.capacity_provider
            ));
        }
    }
    if strategy.iter().filter(|s| s.base.is_some()).count() > 1 {
        return Some("only one capacity provider of a strategy may have a base".into());
    }
    if strategy.iter().all(|s| s.weight == 0) {
        return Some(
            "every capacity provider of the strategy has weight 0, so no task could be placed; give one a weight above 0"
                .into(),
        );
    }
    None
}

// ---------------------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------------------

/// CloudWatch Container Insights for the cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContainerInsights {
    /// Container Insights metrics (the default).
    #[default]
    Enabled,
    /// Container Insights with enhanced observability (task and container level).
    Enhanced,
    /// Off (the account setting is overridden).
    Disabled,
}

impl ContainerInsights {
    fn value(self) -> &'static str {
        match self {
            ContainerInsights::Enabled => "enabled",
            ContainerInsights::Enhanced => "enhanced",
            ContainerInsights::Disabled => "disabled",
        }
    }
}

/// What is known of an existing cluster ([`Cluster::from_cluster_attributes`]).
#[derive(Debug, Clone)]
pub struct ClusterAttributes {
    /// The cluster's name.
    pub cluster_name: Value,
    /// The cluster's ARN (built from the name in the stack's account and region when
    /// `None`).
    pub cluster_arn: Option<Value>,
    /// The VPC its tasks run in.
    pub vpc: Vpc,
    /// The capacity providers associated with it (e.g. `FARGATE`, `FARGATE_SPOT`).
    pub capacity_providers: Vec<String>,
}

impl ClusterAttributes {
    /// A cluster by name in `vpc`, with no capacity provider listed.
    pub fn new(cluster_name: impl Into<Value>, vpc: &Vpc) -> Self {
        ClusterAttributes {
            cluster_name: cluster_name.into(),
            cluster_arn: None,
            vpc: vpc.clone(),
            capacity_providers: Vec::new(),
        }
    }
}

/// Settings of a [`Cluster`].
///
/// ```
/// use cairn_constructs::ec2::{Vpc, VpcProps};
/// use cairn_constructs::ecs::{ClusterProps, ContainerInsights};
/// # let mut app = cairn_core::App::new();
/// # let stack = app.stack("S").unwrap();
/// let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default()).unwrap();
/// let props = ClusterProps::new(&vpc);
/// assert!(props.enable_fargate_capacity_providers);
/// assert_eq!(props.container_insights, ContainerInsights::Enabled);
/// ```
#[derive(Debug, Clone)]
pub struct ClusterProps {
    /// The VPC tasks and services run in.
    pub vpc: Vpc,
    /// A physical name; generated when `None`.
    pub cluster_name: Option<Value>,
    /// Associate `FARGATE` and `FARGATE_SPOT` with the cluster (default true).
    pub enable_fargate_capacity_providers: bool,
    /// The strategy of tasks and services that name none (needs the Fargate providers);
    /// empty leaves the choice to each service.
    pub default_capacity_provider_strategy: Vec<CapacityProviderStrategy>,
    /// Container Insights (default: enabled).
    pub container_insights: ContainerInsights,
}

impl ClusterProps {
    /// A cluster in `vpc` with the Fargate capacity providers and Container Insights.
    pub fn new(vpc: &Vpc) -> Self {
        ClusterProps {
            vpc: vpc.clone(),
            cluster_name: None,
            enable_fargate_capacity_providers: true,
            default_capacity_provider_strategy: Vec::new(),
            container_insights: ContainerInsights::Enabled,
        }
    }
}

/// An ECS cluster (`AWS::ECS::Cluster`, the child `Resource`) and, with the Fargate
/// capacity providers, their association and default strategy
/// (`AWS::ECS::ClusterCapacityProviderAssociations`, a child with the cluster's id, as the
/// CDK writes it). Holds the VPC, so it is `Clone` rather than `Copy`.
#[derive(Debug, Clone)]
pub struct Cluster {
    node: NodeId,
    resource: Option<Res<CfnCluster>>,
    name: Value,
    arn: Value,
    vpc: Vpc,
    associations: Option<NodeId>,
    capacity_providers: Vec<String>,
    default_strategy: Vec<CapacityProviderStrategy>,
}

impl PartialEq for Cluster {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl Cluster {
    /// Creates the cluster as construct `id` under `scope`.
    ///
    /// Errors: a default strategy without the Fargate providers, or one ECS refuses
    /// (see [`check_strategy`]).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: ClusterProps) -> Result<Cluster> {
        let node = app.construct(scope, id)?;
        let capacity_providers: Vec<String> = if props.enable_fargate_capacity_providers {
            vec![FARGATE.into(), FARGATE_SPOT.into()]
        } else {
            Vec::new()
        };
        if let Some(problem) = check_strategy(&props.default_capacity_provider_strategy, &capacity_providers)
        {
            return Err(app.invalid_props(node, format!("default_capacity_provider_strategy: {problem}")));
        }
        let cluster = CfnCluster {
            cluster_name: props.cluster_name.clone().map(Into::into),
            cluster_settings: Some(Val::Lit(vec![Val::Lit(cluster::ClusterSettings {
                name: Some("containerInsights".into()),
                value: Some(props.container_insights.value().into()),
            })])),
            ..Default::default()
        };
        let resource = app.add(node, "Resource", cluster)?;
        let mut associations = None;
        if props.enable_fargate_capacity_providers {
            let strategy: Vec<Val<cluster_capacity_provider_associations::CapacityProviderStrategy>> = props
                .default_capacity_provider_strategy
                .iter()
                .map(|s| {
                    Val::Lit(cluster_capacity_provider_associations::CapacityProviderStrategy {
                        base: s.base.map(|b| i64::from(b).into()),
                        weight: Some(i64::from(s.weight).into()),
                        ..cluster_capacity_provider_associations::CapacityProviderStrategy::new(
                            s.capacity_provider.as_str(),
                        )
                    })
                })
                .collect();
            let mut a = CfnClusterCapacityProviderAssociations::new(resource.ref_(), Val::Lit(strategy));
            a.capacity_providers = Some(Val::Lit(
                capacity_providers.iter().map(|p| Val::from(p.clone())).collect(),
            ));
            associations = Some(app.add(node, id, a)?.node());
        }
        Ok(Cluster {
            node,
            resource: Some(resource),
            name: resource.ref_(),
            arn: resource.attr_arn(),
            vpc: props.vpc,
            associations,
            capacity_providers,
            default_strategy: props.default_capacity_provider_strategy,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource; `None` for an existing cluster ([`Cluster::from_cluster_attributes`]).
    pub fn resource(&self) -> Option<Res<CfnCluster>> {
        self.resource
    }

    /// The cluster's name (`Ref`, or the name of an existing cluster).
    pub fn cluster_name(&self) -> Value {
        self.name.clone()
    }

    /// The cluster's ARN.
    pub fn cluster_arn(&self) -> Value {
        self.arn.clone()
    }

    /// A cluster that exists, by its attributes: no resource is added, and services run
    /// in it as in a created one (in the subnets of `attrs.vpc`, which may be an existing
    /// VPC too). The capacity providers are those `attrs` lists (services that name
    /// `FARGATE_SPOT` need it there). An empty name is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::ec2::{Vpc, VpcAttributes};
    /// use cairn_constructs::ecs::{Cluster, ClusterAttributes};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let vpc = Vpc::from_attributes(&mut app, stack, "Vpc", VpcAttributes {
    ///     private_subnet_ids: vec!["subnet-a".into()],
    ///     ..VpcAttributes::new("vpc-1", ["eu-west-1a"])
    /// })?;
    /// let cluster = Cluster::from_cluster_attributes(&mut app, stack, "Shared", ClusterAttributes::new("shared", &vpc))?;
    /// assert_eq!(cluster.cluster_name(), "shared".into());
    /// assert!(cluster.resource().is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_cluster_attributes(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        attrs: ClusterAttributes,
    ) -> Result<Cluster> {
        let node = crate::imported::import_node(app, scope, id)?;
        crate::imported::check_name(app, node, "cluster name", &attrs.cluster_name)?;
        let arn = match attrs.cluster_arn {
            Some(arn) => {
                let example = "arn:aws:ecs:us-east-1:123456789012:cluster/my-cluster";
                crate::imported::parse_arn(
                    app,
                    node,
                    &arn,
                    "ecs",
                    Some("cluster"),
                    crate::imported::ArnFormat::Slash,
                    example,
                )?;
                arn
            }
            None => cairn_core::format_arn(
                "ecs",
                Value::join("", [Value::from("cluster/"), attrs.cluster_name.clone()]),
            ),
        };
        Ok(Cluster {
            node,
            resource: None,
            name: attrs.cluster_name,
            arn,
            vpc: attrs.vpc,
            associations: None,
            capacity_providers: attrs.capacity_providers,
            default_strategy: Vec::new(),
        })
    }

    /// The VPC.
    pub fn vpc(&self) -> &Vpc {
        &self.vpc
    }

    /// The capacity providers associated with the cluster.
    pub fn capacity_providers(&self) -> &[String] {
        &self.capacity_providers
    }

    /// The default capacity provider strategy.
    pub fn default_capacity_provider_strategy(&self) -> &[CapacityProviderStrategy] {
        &self.default_strategy
    }

    /// The `AWS::ECS::ClusterCapacityProviderAssociations` node, when the Fargate
    /// providers are enabled (services using them wait for it).
    pub fn capacity_provider_associations(&self) -> Option<NodeId> {
        self.associations
    }
}

impl From<Cluster> for NodeId {
    fn from(c: Cluster) -> NodeId {
        c.node
    }
}

impl From<&Cluster> for NodeId {
    fn from(c: &Cluster) -> NodeId {
        c.node
    }
}

// ---------------------------------------------------------------------------------------
// Task definitions and containers
// ---------------------------------------------------------------------------------------

/// The CPU architecture of a Fargate task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CpuArchitecture {
    /// x86-64 (the default).
    #[default]
    X86_64,
    /// ARM64 (Graviton). Not available on `FARGATE_SPOT`.
    Arm64,
}

/// The `(cpu, memory MiB)` pairs Fargate accepts.
fn fargate_memory_ok(cpu: u32, memory: u32) -> bool {
    match cpu {
        256 => [512, 1024, 2048].contains(&memory),
        512 => (1024..=4096).contains(&memory) && memory.is_multiple_of(1024),
        1024 => (2048..=8192).contains(&memory) && memory.is_multiple_of(1024),
        2048 => (4096..=16384).contains(&memory) && memory.is_multiple_of(1024),
        4096 => (8192..=30720).contains(&memory) && memory.is_multiple_of(1024),
        8192 => (16384..=61440).contains(&memory) && memory.is_multiple_of(4096),
        16384 => (32768..=122880).contains(&memory) && memory.is_multiple_of(8192),
        _ => false,
    }
}

/// Settings of a [`FargateTaskDefinition`].
///
/// ```
/// use cairn_constructs::ecs::FargateTaskDefinitionProps;
/// let p = FargateTaskDefinitionProps::default();
/// assert_eq!((p.cpu, p.memory_mib), (256, 512));
/// ```
#[derive(Debug, Clone)]
pub struct FargateTaskDefinitionProps {
    /// CPU units (256, 512, 1024, 2048, 4096, 8192 or 16384; default 256).
    pub cpu: u32,
    /// Memory in MiB, one Fargate accepts with `cpu` (default 512).
    pub memory_mib: u32,
    /// The family; derived from the construct path when `None`.
    pub family: Option<String>,
    /// The role the containers' code uses; one assumed by `ecs-tasks.amazonaws.com` is
    /// created (`<Task>/TaskRole`) when `None`.
    pub task_role: Option<Role>,
    /// The role ECS uses to pull images and write logs; one is created
    /// (`<Task>/ExecutionRole`) when `None`. Containers grant it what they need.
    pub execution_role: Option<Role>,
    /// The CPU architecture (Linux); `RuntimePlatform` is written for ARM64 only (X86_64
    /// is Fargate's default).
    pub cpu_architecture: CpuArchitecture,
    /// Ephemeral storage in GiB (21 to 200; Fargate's 20 when `None`).
    pub ephemeral_storage_gib: Option<u32>,
}

impl Default for FargateTaskDefinitionProps {
    fn default() -> Self {
        FargateTaskDefinitionProps {
            cpu: 256,
            memory_mib: 512,
            family: None,
            task_role: None,
            execution_role: None,
            cpu_architecture: CpuArchitecture::X86_64,
            ephemeral_storage_gib: None,
        }
    }
}

/// Where a container's image comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerImage {
    /// A public or otherwise reachable registry image, e.g. `public.ecr.aws/nginx/nginx:1.27`.
    Registry(String),
    /// A tag of an ECR repository of this app; the execution role is granted pull.
    Ecr {
        /// The repository.
        repository: Repository,
        /// The tag.
        tag: String,
    },
}

impl ContainerImage {
    /// An image by name.
    pub fn from_registry(name: &str) -> Self {
        ContainerImage::Registry(name.to_string())
    }

    /// A tag of an ECR repository.
    pub fn from_ecr_repository(repository: &Repository, tag: &str) -> Self {
        ContainerImage::Ecr {
            repository: *repository,
            tag: tag.to_string(),
        }
    }
}

/// A container log driver.
#[derive(Debug, Clone, PartialEq)]
pub enum LogDriver {
    /// `awslogs`: CloudWatch Logs.
    AwsLogs {
        /// Stream names are `<prefix>/<container>/<task id>`.
        stream_prefix: String,
        /// The group; one with the secure defaults of [`LogGroupProps`] is created
        /// (`<Task>/<container>/LogGroup`, as in the CDK) when `None`.
        log_group: Option<LogGroup>,
        /// Buffer logs instead of blocking the container when CloudWatch is slow
        /// (`mode: non-blocking`; default false).
        non_blocking: bool,
    },
}

impl LogDriver {
    /// CloudWatch Logs to a new log group.
    pub fn aws_logs(stream_prefix: &str) -> Self {
        LogDriver::AwsLogs {
            stream_prefix: stream_prefix.to_string(),
            log_group: None,
            non_blocking: false,
        }
    }

    /// CloudWatch Logs to an existing group.
    pub fn aws_logs_to(stream_prefix: &str, log_group: LogGroup) -> Self {
        LogDriver::AwsLogs {
            stream_prefix: stream_prefix.to_string(),
            log_group: Some(log_group),
            non_blocking: false,
        }
    }
}

/// A secret ECS reads when the task starts and hands to the container as an environment
/// variable; the execution role is granted read on it (and decrypt on its key).
#[derive(Debug, Clone, PartialEq)]
pub enum ContainerSecret {
    /// A Secrets Manager secret: the whole value, or one key of its JSON.
    SecretsManager {
        /// The secret.
        secret: Secret,
        /// The JSON key, when the secret holds JSON.
        field: Option<String>,
    },
    /// An SSM parameter.
    SsmParameter(StringParameter),
}

impl ContainerSecret {
    /// The whole value of a Secrets Manager secret.
    pub fn from_secrets_manager(secret: &Secret) -> Self {
        ContainerSecret::SecretsManager {
            secret: *secret,
            field: None,
        }
    }

    /// One key of a Secrets Manager secret holding JSON.
    pub fn from_secrets_manager_field(secret: &Secret, field: &str) -> Self {
        ContainerSecret::SecretsManager {
            secret: *secret,
            field: Some(field.to_string()),
        }
    }

    /// An SSM parameter.
    pub fn from_ssm_parameter(parameter: &StringParameter) -> Self {
        ContainerSecret::SsmParameter(*parameter)
    }

    fn value_from(&self) -> Value {
        match self {
            ContainerSecret::SecretsManager { secret, field: None } => secret.secret_arn(),
            ContainerSecret::SecretsManager {
                secret,
                field: Some(f),
            } => Value::join("", [secret.secret_arn(), Value::from(format!(":{f}::"))]),
            ContainerSecret::SsmParameter(p) => p.parameter_arn(),
        }
    }

    fn grant_read(&self, app: &mut App, grantee: &Role) -> Result<()> {
        match self {
            ContainerSecret::SecretsManager { secret, .. } => secret.grant_read(app, grantee),
            ContainerSecret::SsmParameter(p) => p.grant_read(app, grantee),
        }
    }
}

/// A container port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapping {
    /// The port the container listens on (the host port is the same on Fargate).
    pub container_port: u16,
    /// UDP instead of TCP.
    pub udp: bool,
}

impl PortMapping {
    /// A TCP port.
    pub fn tcp(port: u16) -> Self {
        PortMapping {
            container_port: port,
            udp: false,
        }
    }
}

/// A container health check (Docker's `HEALTHCHECK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerHealthCheck {
    /// The command, e.g. `["CMD-SHELL", "curl -f http://localhost/ || exit 1"]`.
    pub command: Vec<String>,
    /// Between checks (5 to 300 s; default 30).
    pub interval: Duration,
    /// Before a check fails (2 to 60 s; default 5).
    pub timeout: Duration,
    /// Failures before unhealthy (1 to 10; default 3).
    pub retries: u32,
    /// Grace period after start (0 to 300 s; default none).
    pub start_period: Option<Duration>,
}

impl ContainerHealthCheck {
    /// A shell command check with the default timings.
    pub fn shell(command: &str) -> Self {
        ContainerHealthCheck {
            command: vec!["CMD-SHELL".into(), command.to_string()],
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            retries: 3,
            start_period: None,
        }
    }
}

/// Settings of a container.
///
/// ```
/// use cairn_constructs::ecs::{ContainerDefinitionOptions, ContainerImage};
/// let o = ContainerDefinitionOptions::new(ContainerImage::from_registry("busybox:1.36"));
/// assert!(o.essential);
/// assert!(o.readonly_root_filesystem);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerDefinitionOptions {
    /// The image.
    pub image: ContainerImage,
    /// The task stops when this container stops (default true).
    pub essential: bool,
    /// CPU units reserved for the container.
    pub cpu: Option<u32>,
    /// Hard memory limit in MiB.
    pub memory_limit_mib: Option<u32>,
    /// Soft memory limit in MiB.
    pub memory_reservation_mib: Option<u32>,
    /// Ports.
    pub port_mappings: Vec<PortMapping>,
    /// Environment variables (not secrets).
    pub environment: IndexMap<String, Value>,
    /// Environment variables ECS fills from secrets when the task starts.
    pub secrets: IndexMap<String, ContainerSecret>,
    /// Overrides the image's `CMD`.
    pub command: Vec<String>,
    /// Overrides the image's `ENTRYPOINT`.
    pub entry_point: Vec<String>,
    /// Where logs go (none when `None`; the recommended setting is [`LogDriver::aws_logs`]).
    pub logging: Option<LogDriver>,
    /// How long ECS waits after SIGTERM before SIGKILL (at most 120 s on Fargate; 30 s
    /// when `None`). Long enough for the process to drain on a Spot interruption.
    pub stop_timeout: Option<Duration>,
    /// A container health check.
    pub health_check: Option<ContainerHealthCheck>,
    /// Mount the root file system read-only (default true; write to volumes or `/tmp`
    /// mounts instead).
    pub readonly_root_filesystem: bool,
    /// Paths (e.g. `/tmp`) mounted read-write on a task volume of the task's ephemeral
    /// storage, so a container with a read-only root file system can still write there.
    pub writable_paths: Vec<String>,
    /// The user (e.g. `1000:1000`); the image's when `None`.
    pub user: Option<String>,
    /// The working directory.
    pub working_directory: Option<String>,
}

impl ContainerDefinitionOptions {
    /// An essential container of `image` with a read-only root file system.
    pub fn new(image: ContainerImage) -> Self {
        ContainerDefinitionOptions {
            image,
            essential: true,
            cpu: None,
            memory_limit_mib: None,
            memory_reservation_mib: None,
            port_mappings: Vec::new(),
            environment: IndexMap::new(),
            secrets: IndexMap::new(),
            command: Vec::new(),
            entry_point: Vec::new(),
            logging: None,
            stop_timeout: None,
            health_check: None,
            readonly_root_filesystem: true,
            writable_paths: Vec::new(),
            user: None,
            working_directory: None,
        }
    }
}

/// A container of a task definition (an item of its `ContainerDefinitions`).
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerDefinition {
    /// The container's name.
    pub name: String,
    /// Its first port, if any.
    pub container_port: Option<u16>,
    /// The log group, when it logs to CloudWatch (known to the value
    /// [`FargateTaskDefinition::add_container`] returns; `None` from
    /// [`FargateTaskDefinition::containers`]).
    pub log_group: Option<LogGroup>,
}

/// A Fargate task definition (`AWS::ECS::TaskDefinition`, the child `Resource`) with its
/// task role and execution role.
#[derive(Debug, Clone, Copy)]
pub struct FargateTaskDefinition {
    node: NodeId,
    resource: Res<CfnTaskDefinition>,
    task_role: Role,
    execution_role: Role,
    cpu: u32,
    memory_mib: u32,
}

impl PartialEq for FargateTaskDefinition {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

fn strings(v: &[String]) -> Option<Val<Vec<Val<String>>>> {
    if v.is_empty() {
        None
    } else {
        Some(Val::Lit(v.iter().map(|s| Val::from(s.clone())).collect()))
    }
}

impl FargateTaskDefinition {
    /// Creates the task definition as construct `id` under `scope`.
    ///
    /// Errors: a CPU and memory pair Fargate refuses, ephemeral storage outside 21-200 GiB.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: FargateTaskDefinitionProps,
    ) -> Result<FargateTaskDefinition> {
        let node = app.construct(scope, id)?;
        if !fargate_memory_ok(props.cpu, props.memory_mib) {
            return Err(app.invalid_props(node,
                format!(
                    "Fargate does not offer cpu {} with {} MiB; valid pairs are 256 with 512/1024/2048, 512 with 1024-4096, 1024 with 2048-8192, 2048 with 4096-16384, 4096 with 8192-30720 (steps of 1024), 8192 with 16384-61440 (steps of 4096), 16384 with 32768-122880 (steps of 8192)",
                    props.cpu, props.memory_mib
                ),
            ));
        }
        if let Some(g) = props.ephemeral_storage_gib {
            if !(21..=200).contains(&g) {
                return Err(app.invalid_props(
                    node,
                    format!(
                        "ephemeral_storage_gib {g} is outside 21-200 (leave it None for Fargate's 20 GiB)"
                    ),
                ));
            }
        }
        let task_role = match props.task_role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "TaskRole",
                RoleProps::new(Principal::service("ecs-tasks.amazonaws.com")),
            )?,
        };
        let execution_role = match props.execution_role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "ExecutionRole",
                RoleProps::new(Principal::service("ecs-tasks.amazonaws.com")),
            )?,
        };
        let family = props
            .family
            .clone()
            .unwrap_or_else(|| cairn_core::make_unique_id(&app.path_from(app.root(), node)));
        let td = CfnTaskDefinition {
            family: Some(family.into()),
            cpu: Some(props.cpu.to_string().into()),
            memory: Some(props.memory_mib.to_string().into()),
            network_mode: Some(task_definition::NetworkMode::Awsvpc.into()),
            requires_compatibilities: Some(Val::Lit(vec![Val::Lit(
                task_definition::RequiresCompatibilitiesItem::Fargate,
            )])),
            // Written for ARM64 only: X86_64 Linux is Fargate's default, left out as
            // aws-cdk-lib does (`RuntimePlatform` is create-only).
            runtime_platform: (props.cpu_architecture == CpuArchitecture::Arm64).then(|| {
                task_definition::RuntimePlatform {
                    cpu_architecture: Some(task_definition::CpuArchitecture::Arm64.into()),
                    operating_system_family: Some(task_definition::OperatingSystemFamily::Linux.into()),
                }
                .into()
            }),
            ephemeral_storage: props.ephemeral_storage_gib.map(|g| {
                task_definition::EphemeralStorage {
                    size_in_gi_b: Some(i64::from(g).into()),
                }
                .into()
            }),
            task_role_arn: Some(task_role.arn().into()),
            execution_role_arn: Some(execution_role.arn().into()),
            container_definitions: Some(Val::Lit(Vec::new())),
            ..Default::default()
        };
        let resource = app.add(node, "Resource", td)?;
        Ok(FargateTaskDefinition {
            node,
            resource,
            task_role,
            execution_role,
            cpu: props.cpu,
            memory_mib: props.memory_mib,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnTaskDefinition> {
        self.resource
    }

    /// The task definition's ARN (`Ref`, with its revision).
    pub fn task_definition_arn(&self) -> Value {
        self.resource.ref_()
    }

    /// The task role.
    pub fn task_role(&self) -> Role {
        self.task_role
    }

    /// The execution role.
    pub fn execution_role(&self) -> Role {
        self.execution_role
    }

    /// CPU units of the task.
    pub fn cpu(&self) -> u32 {
        self.cpu
    }

    /// Memory of the task in MiB.
    pub fn memory_mib(&self) -> u32 {
        self.memory_mib
    }

    /// Adds a statement to the task role's policy.
    pub fn add_to_task_role_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        self.task_role.add_to_policy(app, statement)
    }

    /// The containers so far, in order.
    pub fn containers(&self, app: &App) -> Vec<ContainerDefinition> {
        let list = self.container_list(app);
        list.iter()
            .filter_map(Val::literal)
            .map(|c| ContainerDefinition {
                name: c.name.literal().cloned().unwrap_or_default(),
                container_port: match &c.port_mappings {
                    Some(Val::Lit(p)) => p
                        .iter()
                        .filter_map(Val::literal)
                        .find_map(|m| m.container_port.as_ref().and_then(Val::literal))
                        .and_then(|p| u16::try_from(*p).ok()),
                    _ => None,
                },
                log_group: None,
            })
            .collect()
    }

    /// The first essential container with a port: the one a load balancer targets.
    pub fn default_container(&self, app: &App) -> Option<ContainerDefinition> {
        let list = self.container_list(app);
        list.iter()
            .filter_map(Val::literal)
            .zip(self.containers(app))
            .find(|(c, d)| {
                d.container_port.is_some()
                    && c.essential
                        .as_ref()
                        .and_then(Val::literal)
                        .copied()
                        .unwrap_or(true)
            })
            .map(|(_, d)| d)
    }

    fn container_list(&self, app: &App) -> Vec<Val<task_definition::ContainerDefinition>> {
        match app
            .node(self.resource.node())
            .resource::<CfnTaskDefinition>()
            .and_then(|t| t.container_definitions.as_ref())
        {
            Some(Val::Lit(l)) => l.clone(),
            _ => Vec::new(),
        }
    }

    /// Adds a container named `name`: an ECR image grants the execution role pull, the
    /// `awslogs` driver creates (or uses) a log group and grants the execution role write.
    ///
    /// Errors: a name that is empty, too long, not letters/digits/`-`/`_`, or taken; a
    /// stop timeout above 120 s; container CPU or memory above the task's.
    pub fn add_container(
        &self,
        app: &mut App,
        name: &str,
        options: ContainerDefinitionOptions,
    ) -> Result<ContainerDefinition> {
        self.check_container(app, name, &options)?;
        let image: Value = match &options.image {
            ContainerImage::Registry(n) => Value::from(n.as_str()),
            ContainerImage::Ecr { repository, tag } => {
                repository.grant_pull(app, &self.execution_role)?;
                repository.image_uri(tag)
            }
        };
        let mut c = task_definition::ContainerDefinition::new(image, name);
        c.essential = Some(options.essential.into());
        c.cpu = options.cpu.map(|v| i64::from(v).into());
        c.memory = options.memory_limit_mib.map(|v| i64::from(v).into());
        c.memory_reservation = options.memory_reservation_mib.map(|v| i64::from(v).into());
        if !options.port_mappings.is_empty() {
            c.port_mappings = Some(Val::Lit(
                options
                    .port_mappings
                    .iter()
                    .map(|p| {
                        Val::Lit(task_definition::PortMapping {
                            container_port: Some(i64::from(p.container_port).into()),
                            protocol: Some(
                                if p.udp {
                                    task_definition::Protocol::Udp
                                } else {
                                    task_definition::Protocol::Tcp
                                }
                                .into(),
                            ),
                            ..Default::default()
                        })
                    })
                    .collect(),
            ));
        }
        if !options.environment.is_empty() {
            c.environment = Some(Val::Lit(
                options
                    .environment
                    .iter()
                    .map(|(k, v)| {
                        Val::Lit(task_definition::KeyValuePair {
                            name: Some(k.as_str().into()),
                            value: Some(v.clone().into()),
                        })
                    })
                    .collect(),
            ));
        }
        if !options.secrets.is_empty() {
            let mut list = Vec::new();
            for (name, secret) in &options.secrets {
                secret.grant_read(app, &self.execution_role)?;
                list.push(Val::Lit(task_definition::Secret::new(
                    name.as_str(),
                    secret.value_from(),
                )));
            }
            c.secrets = Some(Val::Lit(list));
        }
        c.command = strings(&options.command);
        c.entry_point = strings(&options.entry_point);
        c.stop_timeout = options.stop_timeout.map(|t| (t.as_secs() as i64).into());
        if options.readonly_root_filesystem {
            c.readonly_root_filesystem = Some(true.into());
        }
        c.user = options.user.as_deref().map(Into::into);
        c.working_directory = options.working_directory.as_deref().map(Into::into);
        if let Some(h) = &options.health_check {
            c.health_check = Some(
                task_definition::HealthCheck {
                    command: strings(&h.command),
                    interval: Some((h.interval.as_secs() as i64).into()),
                    timeout: Some((h.timeout.as_secs() as i64).into()),
                    retries: Some(i64::from(h.retries).into()),
                    start_period: h.start_period.map(|d| (d.as_secs() as i64).into()),
                }
                .into(),
            );
        }
        let log_group = self.aws_logs(app, name, &options, &mut c)?;
        let (volumes, mounts) = writable_volumes(name, &options.writable_paths);
        if !mounts.is_empty() {
            c.mount_points = Some(Val::Lit(mounts));
        }
        let mut list = self.container_list(app);
        list.push(Val::Lit(c));
        if let Some(t) = app
            .node_mut(self.resource.node())
            .resource_mut::<CfnTaskDefinition>()
        {
            t.container_definitions = Some(Val::Lit(list));
            if !volumes.is_empty() {
                let mut all = match t.volumes.take() {
                    Some(Val::Lit(l)) => l,
                    _ => Vec::new(),
                };
                all.extend(volumes);
                t.volumes = Some(Val::Lit(all));
            }
        }
        Ok(ContainerDefinition {
            name: name.to_string(),
            container_port: options.port_mappings.first().map(|p| p.container_port),
            log_group,
        })
    }

    /// Refuses a container that cannot join this task definition: its name, stop
    /// timeout, writable paths, CPU or memory.
    fn check_container(&self, app: &App, name: &str, options: &ContainerDefinitionOptions) -> Result<()> {
        let err = |problem: String| app.invalid_props(self.node, format!("container {name:?}: {problem}"));
        if name.is_empty()
            || name.len() > 255
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(
                "a container name is 1-255 letters, digits, hyphens and underscores".into(),
            ));
        }
        if self.containers(app).iter().any(|c| c.name == name) {
            return Err(err(
                "the task definition already has a container of this name".into()
            ));
        }
        if let Some(t) = options.stop_timeout {
            if t > MAX_FARGATE_STOP_TIMEOUT || t.subsec_nanos() != 0 {
                return Err(err(format!(
                    "stop_timeout {t:?} must be whole seconds, at most 120 s on Fargate"
                )));
            }
        }
        if let Some(p) = options.writable_paths.iter().find(|p| !p.starts_with('/')) {
            return Err(err(format!("writable path {p:?} must be absolute (e.g. /tmp)")));
        }
        if options.cpu.is_some_and(|c| c > self.cpu) {
            return Err(err(format!("cpu is above the task's {}", self.cpu)));
        }
        for m in [options.memory_limit_mib, options.memory_reservation_mib]
            .into_iter()
            .flatten()
        {
            if m > self.memory_mib {
                return Err(err(format!(
                    "memory {m} MiB is above the task's {} MiB",
                    self.memory_mib
                )));
            }
        }
        Ok(())
    }

    /// The `awslogs` log configuration of a container (its `<name>/LogGroup` unless
    /// given), the execution role allowed to write to it; the log group.
    fn aws_logs(
        &self,
        app: &mut App,
        name: &str,
        options: &ContainerDefinitionOptions,
        c: &mut task_definition::ContainerDefinition,
    ) -> Result<Option<LogGroup>> {
        if let Some(LogDriver::AwsLogs {
            stream_prefix,
            log_group: group,
            non_blocking,
        }) = &options.logging
        {
            let group = match group {
                Some(g) => *g,
                // `<Task>/<container>/LogGroup`, where aws-cdk-lib's log driver puts it.
                None => {
                    let container = match app.node(self.node).child(name) {
                        Some(c) => c,
                        None => app.construct(self.node, name)?,
                    };
                    LogGroup::new(app, container, "LogGroup", LogGroupProps::default())?
                }
            };
            group.grant_write(app, &self.execution_role)?;
            let mut opts: IndexMap<String, Val<String>> = IndexMap::new();
            opts.insert("awslogs-group".into(), group.log_group_name().into());
            opts.insert("awslogs-stream-prefix".into(), stream_prefix.as_str().into());
            opts.insert("awslogs-region".into(), Value::pseudo(Pseudo::Region).into());
            if *non_blocking {
                opts.insert("mode".into(), "non-blocking".into());
            }
            c.log_configuration = Some(
                task_definition::LogConfiguration {
                    options: Some(Val::Lit(opts)),
                    ..task_definition::LogConfiguration::new("awslogs")
                }
                .into(),
            );
            return Ok(Some(group));
        }
        Ok(None)
    }
}

/// One task volume per writable path (`<container>-<path with - for />`) and the
/// container's mount points on them.
fn writable_volumes(
    name: &str,
    paths: &[String],
) -> (
    Vec<Val<task_definition::Volume>>,
    Vec<Val<task_definition::MountPoint>>,
) {
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for path in paths {
        let volume = format!("{name}{}", path.trim_end_matches('/').replace('/', "-"));
        volumes.push(Val::Lit(task_definition::Volume {
            name: Some(volume.as_str().into()),
            ..Default::default()
        }));
        mounts.push(Val::Lit(task_definition::MountPoint {
            container_path: Some(path.as_str().into()),
            read_only: Some(false.into()),
            source_volume: Some(volume.into()),
        }));
    }
    (volumes, mounts)
}

impl Grantable for FargateTaskDefinition {
    /// Grants go to the task role (what the containers' code may do).
    fn add_to_principal_policy(&self, app: &mut App, statement: crate::iam::PolicyStatement) -> Result<()> {
        self.task_role.add_to_policy(app, statement)
    }
}

impl From<FargateTaskDefinition> for NodeId {
    fn from(t: FargateTaskDefinition) -> NodeId {
        t.node
    }
}

// ---------------------------------------------------------------------------------------
// Task count scaling
// ---------------------------------------------------------------------------------------

/// Settings of a utilization (CPU or memory) target tracking policy.
///
/// ```
/// use cairn_constructs::ecs::UtilizationScalingProps;
/// let p = UtilizationScalingProps::new(60.0);
/// assert_eq!(p.target_utilization_percent, 60.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UtilizationScalingProps {
    /// The utilization to keep, in percent (above 0, at most 100).
    pub target_utilization_percent: f64,
    /// Wait after a scale-in (the service's default when `None`).
    pub scale_in_cooldown: Option<Duration>,
    /// Wait after a scale-out (the service's default when `None`).
    pub scale_out_cooldown: Option<Duration>,
    /// Never remove tasks (default false).
    pub disable_scale_in: bool,
}

impl UtilizationScalingProps {
    /// Track `percent` utilization.
    pub fn new(percent: f64) -> Self {
        UtilizationScalingProps {
            target_utilization_percent: percent,
            scale_in_cooldown: None,
            scale_out_cooldown: None,
            disable_scale_in: false,
        }
    }
}

/// Settings of an ALB request count target tracking policy.
#[derive(Debug, Clone)]
pub struct RequestCountScalingProps {
    /// Requests per task per minute to keep.
    pub requests_per_target: u32,
    /// The load balancer the requests go through.
    pub load_balancer: ApplicationLoadBalancer,
    /// The service's target group.
    pub target_group: ApplicationTargetGroup,
    /// Wait after a scale-in (the service's default when `None`).
    pub scale_in_cooldown: Option<Duration>,
    /// Wait after a scale-out (the service's default when `None`).
    pub scale_out_cooldown: Option<Duration>,
}

impl RequestCountScalingProps {
    /// Track `requests_per_target` through `load_balancer` into `target_group`.
    pub fn new(
        requests_per_target: u32,
        load_balancer: &ApplicationLoadBalancer,
        target_group: &ApplicationTargetGroup,
    ) -> Self {
        RequestCountScalingProps {
            requests_per_target,
            load_balancer: *load_balancer,
            target_group: *target_group,
            scale_in_cooldown: None,
            scale_out_cooldown: None,
        }
    }
}

/// The task count of a service under Application Auto Scaling
/// ([`FargateService::auto_scale_task_count`]).
#[derive(Debug, Clone, Copy)]
pub struct ScalableTaskCount {
    node: NodeId,
    target: ScalableTarget,
}

impl ScalableTaskCount {
    /// The construct node (`<Service>/TaskCount`).
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The scalable target.
    pub fn scalable_target(&self) -> ScalableTarget {
        self.target
    }

    fn utilization(
        &self,
        app: &mut App,
        id: &str,
        metric: PredefinedMetric,
        props: UtilizationScalingProps,
    ) -> Result<Res<cairn_cfn::applicationautoscaling::CfnScalingPolicy>> {
        let p = props.target_utilization_percent;
        if !(p > 0.0 && p <= 100.0) {
            return Err(app.invalid_props(
                self.node,
                format!("{id}: target_utilization_percent {p} must be above 0 and at most 100"),
            ));
        }
        self.target.scale_to_track_metric(
            app,
            id,
            TargetTrackingProps {
                scale_in_cooldown: props.scale_in_cooldown,
                scale_out_cooldown: props.scale_out_cooldown,
                disable_scale_in: props.disable_scale_in,
                ..TargetTrackingProps::new(metric, p)
            },
        )
    }

    /// Keeps the service's average CPU utilization near the target.
    pub fn scale_on_cpu_utilization(
        &self,
        app: &mut App,
        id: &str,
        props: UtilizationScalingProps,
    ) -> Result<Res<cairn_cfn::applicationautoscaling::CfnScalingPolicy>> {
        self.utilization(app, id, PredefinedMetric::EcsServiceAverageCpuUtilization, props)
    }

    /// Keeps the service's average memory utilization near the target.
    pub fn scale_on_memory_utilization(
        &self,
        app: &mut App,
        id: &str,
        props: UtilizationScalingProps,
    ) -> Result<Res<cairn_cfn::applicationautoscaling::CfnScalingPolicy>> {
        self.utilization(
            app,
            id,
            PredefinedMetric::EcsServiceAverageMemoryUtilization,
            props,
        )
    }

    /// Keeps the ALB requests per task near the target (`ALBRequestCountPerTarget`, the
    /// resource label `<load balancer full name>/<target group full name>`).
    pub fn scale_on_request_count(
        &self,
        app: &mut App,
        id: &str,
        props: RequestCountScalingProps,
    ) -> Result<Res<cairn_cfn::applicationautoscaling::CfnScalingPolicy>> {
        if props.requests_per_target == 0 {
            return Err(app.invalid_props(self.node, format!("{id}: requests_per_target must be at least 1")));
        }
        let label = Value::join(
            "/",
            [
                props.load_balancer.resource().attr_load_balancer_full_name(),
                props.target_group.resource().attr_target_group_full_name(),
            ],
        );
        self.target.scale_to_track_metric(
            app,
            id,
            TargetTrackingProps {
                scale_in_cooldown: props.scale_in_cooldown,
                scale_out_cooldown: props.scale_out_cooldown,
                ..TargetTrackingProps::new(
                    PredefinedMetric::AlbRequestCountPerTarget {
                        resource_label: label,
                    },
                    f64::from(props.requests_per_target),
                )
            },
        )
    }
}

construct!(Cluster, FargateTaskDefinition, FargateService, ScalableTaskCount);
node_from!(ScalableTaskCount);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_sizes_follow_the_published_table() {
        for (cpu, ok, bad) in [
            (256, &[512, 1024, 2048][..], &[256, 3072][..]),
            (512, &[1024, 2048, 4096][..], &[512, 5120, 1536][..]),
            (1024, &[2048, 8192][..], &[1024, 9216][..]),
            (2048, &[4096, 16384][..], &[3072, 17408][..]),
            (4096, &[8192, 30720][..], &[7168, 31744][..]),
            (8192, &[16384, 20480, 61440][..], &[17408, 65536][..]),
            (16384, &[32768, 40960, 122880][..], &[36864, 131072][..]),
        ] {
            for m in ok {
                assert!(fargate_memory_ok(cpu, *m), "{cpu}/{m} should be accepted");
            }
            for m in bad {
                assert!(!fargate_memory_ok(cpu, *m), "{cpu}/{m} should be refused");
            }
        }
        assert!(!fargate_memory_ok(128, 512));
        assert!(!fargate_memory_ok(3000, 8192));
    }

    #[test]
    fn strategies_need_distinct_associated_providers() {
        let both = [FARGATE.to_string(), FARGATE_SPOT.to_string()];
        let dup = [
            CapacityProviderStrategy::fargate(1),
            CapacityProviderStrategy::fargate(2),
        ];
        assert!(check_strategy(&dup, &both).is_some_and(|p| p.contains("twice")));
        let deep = [CapacityProviderStrategy::fargate(1).base(100_001)];
        assert!(check_strategy(&deep, &both).is_some_and(|p| p.contains("100000")));
        assert!(check_strategy(&[], &[]).is_none());
        let ok = [
            CapacityProviderStrategy::fargate(0).base(1),
            CapacityProviderStrategy::fargate_spot(4),
        ];
        assert!(check_strategy(&ok, &both).is_none());
    }
}
