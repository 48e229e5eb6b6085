//! `ecs-fargate-spot`: a web service split across Fargate and Fargate Spot behind an
//! application load balancer, and a nightly security scan as a scheduled Fargate task
//! (the pattern of AWS's "HDI compliance remediation" write-up: a scanner container on a
//! schedule, its findings kept in an encrypted bucket and an encrypted log group).
//!
//! One stack, [`STACK`], in [`REGION`] (account-agnostic):
//!
//! - a VPC with public and private subnets in two AZs (one NAT gateway);
//! - two ECR repositories, `web` and `scanner`: scan on push, KMS encryption, immutable
//!   tags, untagged images expire after a week and the last 30 images are kept;
//! - an ECS cluster with Container Insights and the `FARGATE` and `FARGATE_SPOT` capacity
//!   providers, its default strategy [`FARGATE_BASE`] task(s) on Fargate and then
//!   [`FARGATE_WEIGHT`]:[`SPOT_WEIGHT`];
//! - the web service: [`DESIRED_COUNT`] tasks of the `web` image in the private subnets
//!   with the same strategy; the container has [`STOP_TIMEOUT`] between SIGTERM and
//!   SIGKILL, so a task interrupted on Spot (two minutes' notice) or replaced by a
//!   deployment finishes its requests; the target group drains in
//!   [`DEREGISTRATION_DELAY_SECONDS`], well inside that. Logs go to an encrypted log group;
//!   the execution role may pull from the `web` repository and write that group only;
//! - an internet-facing ALB (access logs to an encrypted, TLS-only bucket) with an HTTP
//!   listener forwarding to the service; the target group checks [`HEALTH_CHECK_PATH`]. The
//!   service's security group admits the ALB's group on [`CONTAINER_PORT`] and nothing else;
//! - task count auto scaling between [`MIN_TASKS`] and [`MAX_TASKS`]: target tracking on
//!   CPU ([`CPU_TARGET_PERCENT`]) and on ALB requests per task ([`REQUESTS_PER_TASK`]);
//! - the scanner: a task definition of the `scanner` image whose task role may read the
//!   web repository's image scan findings and put reports into the results bucket (KMS,
//!   versioned, TLS-only, retained); an EventBridge rule on [`SCAN_SCHEDULE`] runs it on
//!   Fargate Spot with a role that may only run that task definition in that cluster and
//!   pass its two roles to ECS.
//!
//! The listener is plain HTTP because the example has no certificate; with one, use
//! `ListenerProps::https` on 443. The ALB's port is allow-listed for cairn's
//! no-public-ingress rule and explained to checkov (`CKV_AWS_260`). The recommended rules
//! run over the app in fix mode and find nothing to fix; every property is checked
//! against its schema.

use std::time::Duration;

use cairn::aspects::rules::NoPublicIngress;
use cairn::aspects::{Mode, RuleSet};
use cairn::ec2::{SubnetConfiguration, Vpc, VpcProps};
use cairn::ecr::{LifecycleRule, Repository, RepositoryProps};
use cairn::ecs::{
    CapacityProviderStrategy, Cluster, ClusterProps, ContainerDefinitionOptions, ContainerImage,
    FargateService, FargateServiceProps, FargateTaskDefinition, FargateTaskDefinitionProps, LogDriver,
    PortMapping, RequestCountScalingProps, UtilizationScalingProps,
};
use cairn::elbv2::{
    AccessLogs, ApplicationLoadBalancer, ApplicationLoadBalancerProps, ApplicationTargetGroup,
    ApplicationTargetGroupProps, HealthCheck, ListenerAction, ListenerProps, TargetType,
};
use cairn::events::{CronOptions, Rule, RuleProps, Schedule};
use cairn::events_targets::EcsTask;
use cairn::iam::PolicyStatement;
use cairn::kms::{Key, KeyProps};
use cairn::logs::{LogGroup, LogGroupProps, RetentionDays};
use cairn::s3::{Bucket, BucketEncryption, BucketProps};
use cairn::{App, Environment, Output, Result, StackProps, Value};

/// The stack.
pub const STACK: &str = "EcsFargateSpot";
/// The Region (the ALB's access log bucket policy names the Region's ELB account).
pub const REGION: &str = "eu-west-1";
/// Tasks placed on `FARGATE` before the weights apply (a floor that Spot cannot take away).
pub const FARGATE_BASE: u32 = 1;
/// The weight of `FARGATE` in the strategy.
pub const FARGATE_WEIGHT: u32 = 1;
/// The weight of `FARGATE_SPOT` in the strategy.
pub const SPOT_WEIGHT: u32 = 1;
/// The web service's tasks at creation.
pub const DESIRED_COUNT: u32 = 2;
/// The fewest tasks auto scaling keeps.
pub const MIN_TASKS: u32 = 2;
/// The most tasks auto scaling starts.
pub const MAX_TASKS: u32 = 10;
/// The CPU utilization the service is scaled to keep.
pub const CPU_TARGET_PERCENT: f64 = 60.0;
/// The ALB requests per task (per minute) the service is scaled to keep.
pub const REQUESTS_PER_TASK: u32 = 500;
/// The port the web container listens on.
pub const CONTAINER_PORT: u16 = 8080;
/// The path the load balancer checks.
pub const HEALTH_CHECK_PATH: &str = "/healthz";
/// SIGTERM to SIGKILL: Fargate's maximum, the length of a Spot interruption notice.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the target group drains a task before it is deregistered.
pub const DEREGISTRATION_DELAY_SECONDS: i64 = 30;
/// The image tag the service and the scanner run (tags are immutable: deploy a new tag).
pub const IMAGE_TAG: &str = "1.0.0";
/// When the scanner runs: every day at 02:00 UTC.
pub const SCAN_SCHEDULE: &str = "cron(0 2 * * ? *)";

/// The strategy of the cluster and of the web service.
pub fn web_strategy() -> Vec<CapacityProviderStrategy> {
    vec![
        CapacityProviderStrategy::fargate(FARGATE_WEIGHT).base(FARGATE_BASE),
        CapacityProviderStrategy::fargate_spot(SPOT_WEIGHT),
    ]
}

fn repository(app: &mut App, scope: cairn::Stack, id: &str, name: &str) -> Result<Repository> {
    Repository::new(
        app,
        scope,
        id,
        RepositoryProps {
            repository_name: Some(name.into()),
            lifecycle_rules: vec![
                LifecycleRule::expire_untagged_after_days(7),
                LifecycleRule::keep_last(30),
            ],
            ..RepositoryProps::default()
        },
    )
}

/// Builds the app.
pub fn build() -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());
    let root = app.root();
    let stack = app.stack_with(
        root,
        STACK,
        StackProps {
            env: Some(Environment {
                account: None,
                region: Some(REGION.into()),
            }),
            description: Some(
                "ecs-fargate-spot: a web service on Fargate and Fargate Spot behind an ALB, and a scheduled security scanner"
                    .into(),
            ),
            ..StackProps::default()
        },
    )?;
    let app_ref = &mut app;

    let vpc = Vpc::new(
        app_ref,
        stack,
        "Vpc",
        VpcProps {
            subnet_configuration: vec![
                SubnetConfiguration::public("Public").cidr_mask(24),
                SubnetConfiguration::private_with_egress("Private").cidr_mask(22),
            ],
            nat_gateways: Some(1),
            ..VpcProps::default()
        },
    )?;
    let web_repo = repository(app_ref, stack, "WebRepository", "ecs-fargate-spot/web")?;
    let scanner_repo = repository(app_ref, stack, "ScannerRepository", "ecs-fargate-spot/scanner")?;

    let cluster = Cluster::new(
        app_ref,
        stack,
        "Cluster",
        ClusterProps {
            default_capacity_provider_strategy: web_strategy(),
            ..ClusterProps::new(&vpc)
        },
    )?;

    // ---- the web service ----
    let web_logs = LogGroup::new(
        app_ref,
        stack,
        "WebLogs",
        LogGroupProps {
            retention: RetentionDays::ThreeMonths,
            ..LogGroupProps::default()
        },
    )?;
    let web_task = FargateTaskDefinition::new(
        app_ref,
        stack,
        "WebTask",
        FargateTaskDefinitionProps {
            cpu: 512,
            memory_mib: 1024,
            ..FargateTaskDefinitionProps::default()
        },
    )?;
    web_task.add_container(
        app_ref,
        "web",
        ContainerDefinitionOptions {
            port_mappings: vec![PortMapping::tcp(CONTAINER_PORT)],
            environment: [("PORT".to_string(), Value::from(CONTAINER_PORT.to_string()))]
                .into_iter()
                .collect(),
            logging: Some(LogDriver::aws_logs_to("web", web_logs)),
            stop_timeout: Some(STOP_TIMEOUT),
            writable_paths: vec!["/tmp".into()],
            ..ContainerDefinitionOptions::new(ContainerImage::from_ecr_repository(&web_repo, IMAGE_TAG))
        },
    )?;
    let service = FargateService::new(
        app_ref,
        stack,
        "WebService",
        FargateServiceProps {
            desired_count: DESIRED_COUNT,
            capacity_provider_strategies: web_strategy(),
            ..FargateServiceProps::new(&cluster, &web_task)
        },
    )?;

    let alb = ApplicationLoadBalancer::new(
        app_ref,
        stack,
        "Alb",
        ApplicationLoadBalancerProps {
            access_logs: Some(AccessLogs::new_bucket()),
            ..ApplicationLoadBalancerProps::new(&vpc)
        },
    )?;
    let target_group = ApplicationTargetGroup::new(
        app_ref,
        stack,
        "WebTargets",
        ApplicationTargetGroupProps {
            target_type: TargetType::Ip,
            health_check: HealthCheck {
                path: HEALTH_CHECK_PATH.into(),
                interval_seconds: 15,
                healthy_threshold: 2,
                ..HealthCheck::default()
            },
            deregistration_delay_seconds: Some(DEREGISTRATION_DELAY_SECONDS),
            ..ApplicationTargetGroupProps::new(&vpc, CONTAINER_PORT)
        },
    )?;
    let listener = alb.add_listener(
        app_ref,
        "Http",
        ListenerProps::http(ListenerAction::forward(&target_group)),
    )?;
    service.attach_to_application_target_group(app_ref, &alb, &listener, &target_group)?;
    // checkov's checks that this system answers rather than fixes.
    const HTTP_ONLY: &str = "The example has no domain and so no certificate: the listener serves the web tier over HTTP on 80; with a certificate use ListenerProps::https on 443 and redirect 80 to it";
    crate::answer_checks(
        app_ref,
        alb.node(),
        &[
            ("CKV_AWS_2", HTTP_ONLY),
            ("CKV_AWS_103", HTTP_ONLY),
            (
                "CKV_AWS_18",
                "This bucket is the load balancer's access-log destination: logging access to it would need another bucket whose own access goes unlogged, so the chain ends at this log bucket",
            ),
        ],
    )?;

    let scaling = service.auto_scale_task_count(app_ref, MIN_TASKS, MAX_TASKS)?;
    scaling.scale_on_cpu_utilization(
        app_ref,
        "CpuScaling",
        UtilizationScalingProps {
            scale_in_cooldown: Some(Duration::from_secs(300)),
            scale_out_cooldown: Some(Duration::from_secs(60)),
            ..UtilizationScalingProps::new(CPU_TARGET_PERCENT)
        },
    )?;
    scaling.scale_on_request_count(
        app_ref,
        "RequestScaling",
        RequestCountScalingProps {
            scale_in_cooldown: Some(Duration::from_secs(300)),
            scale_out_cooldown: Some(Duration::from_secs(60)),
            ..RequestCountScalingProps::new(REQUESTS_PER_TASK, &alb, &target_group)
        },
    )?;

    // ---- the scheduled scanner ----
    let results_key = Key::new(
        app_ref,
        stack,
        "ScanResultsKey",
        KeyProps {
            description: Some("Encrypts the security scan results".into()),
            ..KeyProps::default()
        },
    )?;
    let results = Bucket::new(
        app_ref,
        stack,
        "ScanResults",
        BucketProps {
            encryption: BucketEncryption::Kms(results_key),
            ..BucketProps::default()
        },
    )?;
    crate::answer_checks(
        app_ref,
        results.node(),
        &[(
            "CKV_AWS_18",
            "The scanner's reports: written only by the scan task's role and readable only by principals the bucket's own KMS key admits, so the key policy fixes who can read them; individual reads are audited with CloudTrail S3 data events where the account turns them on, and a second bucket of server access logs would add nothing",
        )],
    )?;
    let scan_logs = LogGroup::new(
        app_ref,
        stack,
        "ScanLogs",
        LogGroupProps {
            retention: RetentionDays::OneYear,
            ..LogGroupProps::default()
        },
    )?;
    let scan_task = FargateTaskDefinition::new(
        app_ref,
        stack,
        "ScanTask",
        FargateTaskDefinitionProps {
            cpu: 1024,
            memory_mib: 2048,
            ..FargateTaskDefinitionProps::default()
        },
    )?;
    scan_task.add_container(
        app_ref,
        "scanner",
        ContainerDefinitionOptions {
            environment: [
                ("RESULTS_BUCKET".to_string(), results.bucket_name()),
                ("RESULTS_PREFIX".to_string(), Value::from("scans/")),
                ("TARGET_REPOSITORY".to_string(), web_repo.repository_name()),
            ]
            .into_iter()
            .collect(),
            logging: Some(LogDriver::aws_logs_to("scanner", scan_logs)),
            stop_timeout: Some(Duration::from_secs(60)),
            // The scanner's database and working files.
            writable_paths: vec!["/tmp".into(), "/var/cache/scanner".into()],
            ..ContainerDefinitionOptions::new(ContainerImage::from_ecr_repository(&scanner_repo, IMAGE_TAG))
        },
    )?;
    // What the scanner reads (the web images' scan findings) and writes (its reports).
    scan_task.add_to_task_role_policy(
        app_ref,
        PolicyStatement::allow()
            .actions([
                "ecr:DescribeImages",
                "ecr:DescribeImageScanFindings",
                "ecr:ListImages",
            ])
            .resource(web_repo.repository_arn()),
    )?;
    results.grant_put(app_ref, &scan_task)?;

    let nightly = Rule::new(
        app_ref,
        stack,
        "NightlyScan",
        RuleProps {
            description: Some("Runs the security scanner every night".into()),
            ..RuleProps::schedule(Schedule::cron(CronOptions {
                minute: Some("0".into()),
                hour: Some("2".into()),
                ..CronOptions::default()
            }))
        },
    )?;
    nightly.add_target(
        app_ref,
        EcsTask {
            capacity_provider_strategies: vec![CapacityProviderStrategy::fargate_spot(1)],
            ..EcsTask::new(&cluster, &scan_task)
        },
    )?;

    app_ref.output(
        stack,
        "SiteUrl",
        Output::new(Value::join("", [Value::from("http://"), alb.dns_name()])).description("The web service"),
    )?;
    app_ref.output(
        stack,
        "WebRepositoryUri",
        Output::new(web_repo.repository_uri()).description("Push the web image here"),
    )?;
    app_ref.output(
        stack,
        "ScannerRepositoryUri",
        Output::new(scanner_repo.repository_uri()).description("Push the scanner image here"),
    )?;

    // The ALB's listener port is the only one open to the internet: allow-listed for
    // cairn's rule, and explained to checkov, whose CKV_AWS_260 refuses port 80 from
    // anywhere on any group.
    let mut public_ingress = NoPublicIngress::default();
    for (port, path) in alb.public_ingress(app_ref) {
        public_ingress = public_ingress.allow(port, &path);
    }
    app_ref
        .resource_options_mut(alb.security_group().resource())?
        .metadata
        .insert(
            "checkov".into(),
            Value::map([(
                "skip",
                Value::list([Value::map([
                    ("id", Value::from("CKV_AWS_260")),
                    (
                        "comment",
                        Value::from(
                            "The internet-facing ALB's HTTP listener: the example has no certificate (use HTTPS on 443 with one)",
                        ),
                    ),
                ])]),
            )]),
        );

    RuleSet::recommended()
        .rule(public_ingress, Mode::Error)
        .apply(&mut app, root);
    Ok(app)
}
