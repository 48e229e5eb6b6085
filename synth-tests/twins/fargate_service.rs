//! Twin pair `fargate_service` (cairn side of `fargate_service.js`): a Fargate service of
//! two tasks in a VPC's private subnets behind an internet-facing ALB, its container
//! logging to CloudWatch Logs.

use cairn::ec2::{Vpc, VpcProps};
use cairn::ecs::{
    Cluster, ClusterProps, ContainerDefinitionOptions, ContainerImage, FargateService, FargateServiceProps,
    FargateTaskDefinition, FargateTaskDefinitionProps, LogDriver, PortMapping,
};
use cairn::elbv2::{
    ApplicationLoadBalancer, ApplicationLoadBalancerProps, ApplicationTargetGroupProps, HealthCheck,
    ListenerAction, ListenerProps, TargetType,
};
use cairn::App;

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("FargateService")?;

    let vpc = Vpc::new(
        &mut app,
        stack,
        "Vpc",
        VpcProps {
            nat_gateways: Some(1),
            ..VpcProps::default()
        },
    )?;
    let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps::new(&vpc))?;

    let task = FargateTaskDefinition::new(
        &mut app,
        stack,
        "Task",
        FargateTaskDefinitionProps {
            cpu: 512,
            memory_mib: 1024,
            ..FargateTaskDefinitionProps::default()
        },
    )?;
    task.add_container(
        &mut app,
        "web",
        ContainerDefinitionOptions {
            port_mappings: vec![PortMapping::tcp(80)],
            logging: Some(LogDriver::aws_logs("web")),
            // The CDK's default; cairn's read-only root file system would replace the task
            // definition (`ContainerDefinitions` is create-only).
            readonly_root_filesystem: false,
            ..ContainerDefinitionOptions::new(ContainerImage::from_registry(
                "public.ecr.aws/nginx/nginx:1.27",
            ))
        },
    )?;

    let service = FargateService::new(
        &mut app,
        stack,
        "Service",
        FargateServiceProps {
            desired_count: 2,
            ..FargateServiceProps::new(&cluster, &task)
        },
    )?;

    let alb = ApplicationLoadBalancer::new(&mut app, stack, "Alb", ApplicationLoadBalancerProps::new(&vpc))?;
    let listener = alb.add_listener(
        &mut app,
        "Http",
        // Replaced by the forward to the service below, as in the CDK.
        ListenerProps::http(ListenerAction::fixed_response(404, "text/plain", "no targets")),
    )?;
    let group = listener.add_targets(
        &mut app,
        "Web",
        ApplicationTargetGroupProps {
            target_type: TargetType::Ip,
            health_check: HealthCheck::default(),
            ..ApplicationTargetGroupProps::new(&vpc, 80)
        },
    )?;
    service.attach_to_application_target_group(&mut app, &alb, &listener, &group)?;
    Ok(app)
}
