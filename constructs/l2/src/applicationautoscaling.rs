//! Application Auto Scaling: scalable targets (what is scaled, between which bounds) and
//! their target tracking policies (keep a metric near a value).
//!
//! Services with their own L2 (`ecs::FargateService::auto_scale_task_count`) build the
//! target for you; this module is the general form.
//!
//! ```
//! use cairn_constructs::applicationautoscaling::{
//!     PredefinedMetric, ScalableTarget, ScalableTargetProps, TargetTrackingProps,
//! };
//! use cairn_constructs::applicationautoscaling::scalable_target::{ScalableDimension, ServiceNamespace};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let target = ScalableTarget::new(&mut app, stack, "Tasks", ScalableTargetProps::new(
//!     ServiceNamespace::Ecs,
//!     "service/prod/web",
//!     ScalableDimension::EcsServiceDesiredCount,
//!     2,
//!     10,
//! ))?;
//! target.scale_to_track_metric(&mut app, "Cpu", TargetTrackingProps::new(
//!     PredefinedMetric::EcsServiceAverageCpuUtilization, 60.0))?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let p = &s.template["Resources"][s.resources_of_type("AWS::ApplicationAutoScaling::ScalingPolicy")[0]];
//! assert_eq!(p["Properties"]["PolicyType"], "TargetTrackingScaling");
//! assert_eq!(p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"], 60.0);
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use cairn_core::{make_unique_id, App, NodeId, Res, Result, Value};

pub use cairn_cfn::applicationautoscaling::*;

/// Settings of a [`ScalableTarget`].
///
/// ```
/// use cairn_constructs::applicationautoscaling::ScalableTargetProps;
/// use cairn_constructs::applicationautoscaling::scalable_target::{ScalableDimension, ServiceNamespace};
/// let p = ScalableTargetProps::new(ServiceNamespace::Ecs, "service/c/s", ScalableDimension::EcsServiceDesiredCount, 1, 4);
/// assert_eq!((p.min_capacity, p.max_capacity), (1, 4));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ScalableTargetProps {
    /// The service that owns the resource (`ecs`, `dynamodb` ...).
    pub service_namespace: scalable_target::ServiceNamespace,
    /// The resource, in the service's format (`service/<cluster>/<service>` for ECS).
    pub resource_id: Value,
    /// What is scaled (`ecs:service:DesiredCount` ...).
    pub scalable_dimension: scalable_target::ScalableDimension,
    /// The lower bound.
    pub min_capacity: u32,
    /// The upper bound (at least `min_capacity`).
    pub max_capacity: u32,
    /// The role Application Auto Scaling uses; the service-linked role when `None`.
    pub role_arn: Option<Value>,
}

impl ScalableTargetProps {
    /// A target between `min_capacity` and `max_capacity`.
    pub fn new(
        service_namespace: scalable_target::ServiceNamespace,
        resource_id: impl Into<Value>,
        scalable_dimension: scalable_target::ScalableDimension,
        min_capacity: u32,
        max_capacity: u32,
    ) -> Self {
        ScalableTargetProps {
            service_namespace,
            resource_id: resource_id.into(),
            scalable_dimension,
            min_capacity,
            max_capacity,
            role_arn: None,
        }
    }
}

/// A metric Application Auto Scaling tracks without configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum PredefinedMetric {
    /// The average CPU utilization of an ECS service's tasks, in percent.
    EcsServiceAverageCpuUtilization,
    /// The average memory utilization of an ECS service's tasks, in percent.
    EcsServiceAverageMemoryUtilization,
    /// Requests per target of an ALB target group; `resource_label` is
    /// `<load balancer full name>/<target group full name>`.
    AlbRequestCountPerTarget {
        /// The resource label.
        resource_label: Value,
    },
    /// Another predefined metric type of the schema, with its resource label if any.
    Other(
        scaling_policy::PredefinedMetricSpecificationPredefinedMetricType,
        Option<Value>,
    ),
}

impl PredefinedMetric {
    fn specification(&self) -> scaling_policy::PredefinedMetricSpecification {
        use scaling_policy::PredefinedMetricSpecificationPredefinedMetricType as T;
        let (kind, label) = match self {
            PredefinedMetric::EcsServiceAverageCpuUtilization => (T::EcsServiceAverageCpuUtilization, None),
            PredefinedMetric::EcsServiceAverageMemoryUtilization => {
                (T::EcsServiceAverageMemoryUtilization, None)
            }
            PredefinedMetric::AlbRequestCountPerTarget { resource_label } => {
                (T::AlbRequestCountPerTarget, Some(resource_label.clone()))
            }
            PredefinedMetric::Other(t, label) => (t.clone(), label.clone()),
        };
        scaling_policy::PredefinedMetricSpecification {
            resource_label: label.map(Into::into),
            ..scaling_policy::PredefinedMetricSpecification::new(kind)
        }
    }
}

/// Settings of a target tracking policy.
///
/// ```
/// use cairn_constructs::applicationautoscaling::{PredefinedMetric, TargetTrackingProps};
/// let p = TargetTrackingProps::new(PredefinedMetric::EcsServiceAverageMemoryUtilization, 70.0);
/// assert!(!p.disable_scale_in);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TargetTrackingProps {
    /// The metric.
    pub metric: PredefinedMetric,
    /// The value to keep the metric at (greater than zero).
    pub target_value: f64,
    /// Seconds to wait after a scale-in before the next one (the service's default when `None`).
    pub scale_in_cooldown: Option<Duration>,
    /// Seconds to wait after a scale-out before the next one (the service's default when `None`).
    pub scale_out_cooldown: Option<Duration>,
    /// Never remove capacity (default false).
    pub disable_scale_in: bool,
    /// A policy name; derived from the construct path when `None`.
    pub policy_name: Option<String>,
}

impl TargetTrackingProps {
    /// Track `metric` at `target_value`.
    pub fn new(metric: PredefinedMetric, target_value: f64) -> Self {
        TargetTrackingProps {
            metric,
            target_value,
            scale_in_cooldown: None,
            scale_out_cooldown: None,
            disable_scale_in: false,
            policy_name: None,
        }
    }
}

/// A scalable target (`AWS::ApplicationAutoScaling::ScalableTarget`), its L1 the child
/// `Resource`; policies are children of the target.
#[derive(Debug, Clone, Copy)]
pub struct ScalableTarget {
    node: NodeId,
    resource: Res<CfnScalableTarget>,
}

impl PartialEq for ScalableTarget {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl ScalableTarget {
    /// Creates the target as construct `id` under `scope`.
    ///
    /// Errors: `max_capacity` below `min_capacity`.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: ScalableTargetProps,
    ) -> Result<ScalableTarget> {
        let node = app.construct(scope, id)?;
        if props.max_capacity < props.min_capacity {
            return Err(app.invalid_props(
                node,
                format!(
                    "max_capacity {} is below min_capacity {}; raise max_capacity or lower min_capacity",
                    props.max_capacity, props.min_capacity
                ),
            ));
        }
        let mut t = CfnScalableTarget::new(
            i64::from(props.max_capacity),
            i64::from(props.min_capacity),
            props.resource_id.clone(),
            props.scalable_dimension.clone(),
            props.service_namespace.clone(),
        );
        t.role_arn = props.role_arn.clone().map(Into::into);
        let resource = app.add(node, "Resource", t)?;
        Ok(ScalableTarget { node, resource })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnScalableTarget> {
        self.resource
    }

    /// The target's id (`Ref`), as policies name it in `ScalingTargetId`.
    pub fn scalable_target_id(&self) -> Value {
        self.resource.ref_()
    }

    /// Adds a target tracking policy as construct `id` under the target (the L1 is its
    /// child `Resource`).
    ///
    /// Errors: a target value that is not a positive finite number.
    pub fn scale_to_track_metric(
        &self,
        app: &mut App,
        id: &str,
        props: TargetTrackingProps,
    ) -> Result<Res<CfnScalingPolicy>> {
        let node = app.construct(self.node, id)?;
        if !(props.target_value.is_finite() && props.target_value > 0.0) {
            return Err(app.invalid_props(
                node,
                format!(
                    "target_value {} must be a positive number (e.g. 60.0 for 60 % CPU)",
                    props.target_value
                ),
            ));
        }
        let name = props.policy_name.clone().unwrap_or_else(|| {
            make_unique_id(&app.path_from(app.root(), node))
                .chars()
                .take(256)
                .collect()
        });
        let mut config = scaling_policy::TargetTrackingScalingPolicyConfiguration::new(props.target_value);
        config.predefined_metric_specification = Some(props.metric.specification().into());
        config.scale_in_cooldown = props.scale_in_cooldown.map(|d| (d.as_secs() as i64).into());
        config.scale_out_cooldown = props.scale_out_cooldown.map(|d| (d.as_secs() as i64).into());
        if props.disable_scale_in {
            config.disable_scale_in = Some(true.into());
        }
        let mut policy = CfnScalingPolicy::new(name, scaling_policy::PolicyType::TargetTrackingScaling);
        policy.scaling_target_id = Some(self.scalable_target_id().into());
        policy.target_tracking_scaling_policy_configuration = Some(config.into());
        app.add(node, "Resource", policy)
    }
}

impl From<ScalableTarget> for NodeId {
    fn from(t: ScalableTarget) -> NodeId {
        t.node
    }
}

construct!(ScalableTarget);
