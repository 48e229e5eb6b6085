//! ecs: cluster capacity providers and strategies, Fargate task definitions (containers,
//! logs, roles, volumes), Fargate services behind an ALB with task count scaling, and the
//! EventBridge ECS task target; schema-checked, rule-clean (the listener port
//! allow-listed), cfn-lint-clean; invalid settings refused naming the construct.

mod common;
use common::{logical, logical_of, of_type, synth_clean};

use std::time::Duration;

use cairn_core::{App, Environment, Stack, StackProps};
use serde_json::{json, Value as Json};

use cairn_constructs::ec2::{Vpc, VpcProps};
use cairn_constructs::ecr::{Repository, RepositoryProps};
use cairn_constructs::ecs::{
    CapacityProviderStrategy, Cluster, ClusterProps, ContainerDefinitionOptions, ContainerHealthCheck,
    ContainerImage, ContainerInsights, FargateService, FargateServiceProps, FargateTaskDefinition,
    FargateTaskDefinitionProps, LogDriver, PortMapping, RequestCountScalingProps, UtilizationScalingProps,
};
use cairn_constructs::elbv2::{
    ApplicationLoadBalancer, ApplicationLoadBalancerProps, ApplicationTargetGroup,
    ApplicationTargetGroupProps, ListenerAction, ListenerProps, TargetType,
};
use cairn_constructs::events::{Rule, RuleProps, Schedule};
use cairn_constructs::events_targets::EcsTask;

const IMAGE: &str = "public.ecr.aws/nginx/nginx:1.27";

fn base() -> (App, Stack, Vpc) {
    let mut app = App::new();
    let root = app.root();
    let s = app
        .stack_with(
            root,
            "S",
            StackProps {
                env: Some(Environment::new("123456789012", "eu-west-1")),
                ..StackProps::default()
            },
        )
        .unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    (app, s, vpc)
}

fn web_container(port: u16) -> ContainerDefinitionOptions {
    ContainerDefinitionOptions {
        port_mappings: vec![PortMapping::tcp(port)],
        logging: Some(LogDriver::aws_logs("web")),
        ..ContainerDefinitionOptions::new(ContainerImage::from_registry(IMAGE))
    }
}

fn task_with_container(app: &mut App, s: Stack, id: &str) -> FargateTaskDefinition {
    let task = FargateTaskDefinition::new(app, s, id, FargateTaskDefinitionProps::default()).unwrap();
    task.add_container(app, "web", web_container(8080)).unwrap();
    task
}

fn spot_split() -> Vec<CapacityProviderStrategy> {
    vec![
        CapacityProviderStrategy::fargate(1).base(2),
        CapacityProviderStrategy::fargate_spot(3),
    ]
}

fn resource<'a>(t: &'a Json, id: &str) -> &'a Json {
    &t["Resources"][id]
}

fn statements(t: &Json, role: &str) -> Vec<Json> {
    of_type(t, "AWS::IAM::Policy")
        .into_iter()
        .filter(|(_, p)| p["Properties"]["Roles"] == json!([{ "Ref": role }]))
        .flat_map(|(_, p)| {
            p["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn error_of<T: std::fmt::Debug>(r: cairn_core::Result<T>) -> String {
    r.expect_err("refused").to_string()
}

#[test]
fn a_web_service_on_fargate_and_spot_behind_an_alb_synthesizes_clean() {
    let (mut app, s, vpc) = base();
    let cluster = Cluster::new(
        &mut app,
        s,
        "Cluster",
        ClusterProps {
            default_capacity_provider_strategy: spot_split(),
            container_insights: ContainerInsights::Enhanced,
            ..ClusterProps::new(&vpc)
        },
    )
    .unwrap();
    let repo = Repository::new(&mut app, s, "Repo", RepositoryProps::default()).unwrap();
    let task = FargateTaskDefinition::new(
        &mut app,
        s,
        "Task",
        FargateTaskDefinitionProps {
            cpu: 1024,
            memory_mib: 3072,
            ..FargateTaskDefinitionProps::default()
        },
    )
    .unwrap();
    task.add_container(
        &mut app,
        "app",
        ContainerDefinitionOptions {
            stop_timeout: Some(Duration::from_secs(90)),
            health_check: Some(ContainerHealthCheck::shell(
                "curl -f http://localhost:8080/ || exit 1",
            )),
            writable_paths: vec!["/tmp".into()],
            ..ContainerDefinitionOptions {
                image: ContainerImage::from_ecr_repository(&repo, "v1"),
                ..web_container(8080)
            }
        },
    )
    .unwrap();
    let service = FargateService::new(
        &mut app,
        s,
        "Service",
        FargateServiceProps {
            desired_count: 3,
            capacity_provider_strategies: spot_split(),
            ..FargateServiceProps::new(&cluster, &task)
        },
    )
    .unwrap();
    let alb =
        ApplicationLoadBalancer::new(&mut app, s, "Alb", ApplicationLoadBalancerProps::new(&vpc)).unwrap();
    let tg = ApplicationTargetGroup::new(
        &mut app,
        s,
        "Targets",
        ApplicationTargetGroupProps {
            target_type: TargetType::Ip,
            ..ApplicationTargetGroupProps::new(&vpc, 8080)
        },
    )
    .unwrap();
    let listener = alb
        .add_listener(
            &mut app,
            "Http",
            ListenerProps::http(ListenerAction::forward(&tg)),
        )
        .unwrap();
    service
        .attach_to_application_target_group(&mut app, &alb, &listener, &tg)
        .unwrap();
    let scaling = service.auto_scale_task_count(&mut app, 3, 12).unwrap();
    scaling
        .scale_on_memory_utilization(&mut app, "Memory", UtilizationScalingProps::new(75.0))
        .unwrap();
    scaling
        .scale_on_request_count(
            &mut app,
            "Requests",
            RequestCountScalingProps::new(200, &alb, &tg),
        )
        .unwrap();
    let allow = alb.public_ingress(&app);
    let t = synth_clean(app, "S", &allow, "ecs-service");

    let cluster_id = logical_of(&t, "Cluster", "AWS::ECS::Cluster");
    assert_eq!(
        resource(&t, &cluster_id)["Properties"]["ClusterSettings"],
        json!([{ "Name": "containerInsights", "Value": "enhanced" }])
    );
    let assoc = logical_of(&t, "Cluster", "AWS::ECS::ClusterCapacityProviderAssociations");
    let expected = json!([
        { "Base": 2, "CapacityProvider": "FARGATE", "Weight": 1 },
        { "CapacityProvider": "FARGATE_SPOT", "Weight": 3 },
    ]);
    assert_eq!(
        resource(&t, &assoc)["Properties"]["DefaultCapacityProviderStrategy"],
        expected
    );
    assert_eq!(
        resource(&t, &assoc)["Properties"]["Cluster"],
        json!({ "Ref": cluster_id })
    );

    let svc_id = logical_of(&t, "Service", "AWS::ECS::Service");
    let svc = resource(&t, &svc_id);
    assert_eq!(svc["Properties"]["CapacityProviderStrategy"], expected);
    assert_eq!(svc["Properties"]["DesiredCount"], 3);
    assert_eq!(
        svc["Properties"]["DeploymentConfiguration"]["DeploymentCircuitBreaker"],
        json!({ "Enable": true, "Rollback": true })
    );
    let deps = svc["DependsOn"].as_array().unwrap();
    assert!(deps.contains(&json!(assoc)));
    assert!(deps.contains(&json!(logical(&t, "AlbHttp"))));

    let task_id = logical(&t, "Task");
    let td = &resource(&t, &task_id)["Properties"];
    assert_eq!(
        (td["Cpu"].as_str(), td["Memory"].as_str()),
        (Some("1024"), Some("3072"))
    );
    assert_eq!(td["NetworkMode"], "awsvpc");
    assert_eq!(td["RequiresCompatibilities"], json!(["FARGATE"]));
    // X86_64 Linux, Fargate's default, is left out as aws-cdk-lib does (create-only).
    assert!(td.get("RuntimePlatform").is_none(), "{td}");
    let c = &td["ContainerDefinitions"][0];
    assert_eq!(c["StopTimeout"], 90);
    assert_eq!(c["ReadonlyRootFilesystem"], true);
    assert_eq!(c["HealthCheck"]["Command"][0], "CMD-SHELL");
    assert_eq!(
        c["MountPoints"],
        json!([{ "ContainerPath": "/tmp", "ReadOnly": false, "SourceVolume": "app-tmp" }])
    );
    assert_eq!(td["Volumes"], json!([{ "Name": "app-tmp" }]));
    // The log group was created, encrypted with the stack's key, and is writable by the
    // execution role only.
    let group = logical(&t, "TaskappLogGroup");
    // `<Task>/<container>/LogGroup`, the CDK's path (its logical ID then matches a port's).
    assert_eq!(
        resource(&t, &group)["Metadata"]["aws:cdk:path"],
        "S/Task/app/LogGroup/Resource"
    );
    assert!(resource(&t, &group)["Properties"]["KmsKeyId"].is_object());
    assert_eq!(
        c["LogConfiguration"]["Options"]["awslogs-group"],
        json!({ "Ref": group })
    );
    let exec = td["ExecutionRoleArn"]["Fn::GetAtt"][0].as_str().unwrap();
    let task_role = td["TaskRoleArn"]["Fn::GetAtt"][0].as_str().unwrap();
    let exec_text = serde_json::to_string(&statements(&t, exec)).unwrap();
    for a in [
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "logs:PutLogEvents",
    ] {
        assert!(exec_text.contains(a), "{a} missing: {exec_text}");
    }
    assert!(
        statements(&t, task_role).is_empty(),
        "the task role gets nothing by default"
    );

    let policies = of_type(&t, "AWS::ApplicationAutoScaling::ScalingPolicy");
    let metrics: Vec<&Json> = policies
        .iter()
        .map(|(_, p)| {
            &p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
                ["PredefinedMetricType"]
        })
        .collect();
    assert_eq!(
        metrics,
        [
            &json!("ECSServiceAverageMemoryUtilization"),
            &json!("ALBRequestCountPerTarget")
        ]
    );
}

#[test]
fn a_service_without_a_strategy_uses_the_fargate_launch_type() {
    let (mut app, s, vpc) = base();
    let cluster = Cluster::new(&mut app, s, "Cluster", ClusterProps::new(&vpc)).unwrap();
    let task = task_with_container(&mut app, s, "Task");
    FargateService::new(&mut app, s, "Service", FargateServiceProps::new(&cluster, &task)).unwrap();
    let t = synth_clean(app, "S", &[], "ecs-launch-type");
    let svc = resource(&t, &logical_of(&t, "Service", "AWS::ECS::Service")).clone();
    assert_eq!(svc["Properties"]["LaunchType"], "FARGATE");
    assert!(svc["Properties"].get("CapacityProviderStrategy").is_none());
    let assoc = logical_of(&t, "Cluster", "AWS::ECS::ClusterCapacityProviderAssociations");
    assert!(!svc["DependsOn"].as_array().unwrap().contains(&json!(assoc)));
    // The default security group admits nothing.
    let sg = resource(&t, &logical(&t, "ServiceSecurityGroup"));
    assert!(sg["Properties"].get("SecurityGroupIngress").is_none());
    assert!(of_type(&t, "AWS::EC2::SecurityGroupIngress").is_empty());
}

#[test]
fn bad_strategies_are_refused_naming_the_construct() {
    let (mut app, s, vpc) = base();
    let no_fargate = Cluster::new(
        &mut app,
        s,
        "Plain",
        ClusterProps {
            enable_fargate_capacity_providers: false,
            ..ClusterProps::new(&vpc)
        },
    )
    .unwrap();
    assert!(no_fargate.capacity_provider_associations().is_none());
    let err = error_of(Cluster::new(
        &mut app,
        s,
        "NoProviders",
        ClusterProps {
            enable_fargate_capacity_providers: false,
            default_capacity_provider_strategy: spot_split(),
            ..ClusterProps::new(&vpc)
        },
    ));
    assert!(
        err.contains("S/NoProviders") && err.contains("not associated"),
        "{err}"
    );
    let zero = error_of(Cluster::new(
        &mut app,
        s,
        "Zero",
        ClusterProps {
            default_capacity_provider_strategy: vec![
                CapacityProviderStrategy::fargate(0),
                CapacityProviderStrategy::fargate_spot(0),
            ],
            ..ClusterProps::new(&vpc)
        },
    ));
    assert!(zero.contains("weight 0"), "{zero}");
    let two_bases = error_of(Cluster::new(
        &mut app,
        s,
        "TwoBases",
        ClusterProps {
            default_capacity_provider_strategy: vec![
                CapacityProviderStrategy::fargate(1).base(1),
                CapacityProviderStrategy::fargate_spot(1).base(1),
            ],
            ..ClusterProps::new(&vpc)
        },
    ));
    assert!(two_bases.contains("only one"), "{two_bases}");
    let heavy = error_of(Cluster::new(
        &mut app,
        s,
        "Heavy",
        ClusterProps {
            default_capacity_provider_strategy: vec![CapacityProviderStrategy::fargate(1001)],
            ..ClusterProps::new(&vpc)
        },
    ));
    assert!(heavy.contains("1000"), "{heavy}");
    let task = task_with_container(&mut app, s, "Task");
    let svc = error_of(FargateService::new(
        &mut app,
        s,
        "OnPlain",
        FargateServiceProps {
            capacity_provider_strategies: vec![CapacityProviderStrategy::fargate_spot(1)],
            ..FargateServiceProps::new(&no_fargate, &task)
        },
    ));
    assert!(svc.contains("S/OnPlain") && svc.contains("FARGATE_SPOT"), "{svc}");
}

#[test]
fn bad_task_definitions_and_containers_are_refused() {
    let (mut app, s, vpc) = base();
    let err = error_of(FargateTaskDefinition::new(
        &mut app,
        s,
        "Odd",
        FargateTaskDefinitionProps {
            cpu: 256,
            memory_mib: 4096,
            ..FargateTaskDefinitionProps::default()
        },
    ));
    assert!(
        err.contains("S/Odd") && err.contains("cpu 256 with 4096 MiB"),
        "{err}"
    );
    for (cpu, mem) in [(512, 1024), (4096, 30720), (8192, 65536 - 4096), (16384, 122880)] {
        FargateTaskDefinition::new(
            &mut app,
            s,
            &format!("Ok{cpu}x{mem}"),
            FargateTaskDefinitionProps {
                cpu,
                memory_mib: mem,
                ..FargateTaskDefinitionProps::default()
            },
        )
        .unwrap_or_else(|e| panic!("{cpu}/{mem} refused: {e}"));
    }
    let task =
        FargateTaskDefinition::new(&mut app, s, "Task", FargateTaskDefinitionProps::default()).unwrap();
    let long_stop = error_of(task.add_container(
        &mut app,
        "web",
        ContainerDefinitionOptions {
            stop_timeout: Some(Duration::from_secs(121)),
            ..web_container(80)
        },
    ));
    assert!(
        long_stop.contains("S/Task") && long_stop.contains("120"),
        "{long_stop}"
    );
    let bad_name = error_of(task.add_container(&mut app, "web app", web_container(80)));
    assert!(bad_name.contains("letters, digits"), "{bad_name}");
    let relative = error_of(task.add_container(
        &mut app,
        "rel",
        ContainerDefinitionOptions {
            writable_paths: vec!["tmp".into()],
            ..web_container(80)
        },
    ));
    assert!(relative.contains("absolute"), "{relative}");
    let greedy = error_of(task.add_container(
        &mut app,
        "greedy",
        ContainerDefinitionOptions {
            memory_limit_mib: Some(1024),
            ..web_container(80)
        },
    ));
    assert!(greedy.contains("above the task's 512 MiB"), "{greedy}");
    task.add_container(&mut app, "web", web_container(80)).unwrap();
    let twice = error_of(task.add_container(&mut app, "web", web_container(81)));
    assert!(twice.contains("already has a container"), "{twice}");

    let cluster = Cluster::new(&mut app, s, "Cluster", ClusterProps::new(&vpc)).unwrap();
    let empty =
        FargateTaskDefinition::new(&mut app, s, "Empty", FargateTaskDefinitionProps::default()).unwrap();
    let no_container = error_of(FargateService::new(
        &mut app,
        s,
        "Svc",
        FargateServiceProps::new(&cluster, &empty),
    ));
    assert!(
        no_container.contains("S/Svc") && no_container.contains("no container"),
        "{no_container}"
    );
}

#[test]
fn a_service_refuses_instance_target_groups_and_a_second_scaling_target() {
    let (mut app, s, vpc) = base();
    let cluster = Cluster::new(&mut app, s, "Cluster", ClusterProps::new(&vpc)).unwrap();
    let task = task_with_container(&mut app, s, "Task");
    let service =
        FargateService::new(&mut app, s, "Service", FargateServiceProps::new(&cluster, &task)).unwrap();
    let alb =
        ApplicationLoadBalancer::new(&mut app, s, "Alb", ApplicationLoadBalancerProps::new(&vpc)).unwrap();
    let instances = ApplicationTargetGroup::new(
        &mut app,
        s,
        "Instances",
        ApplicationTargetGroupProps::new(&vpc, 8080),
    )
    .unwrap();
    let listener = alb
        .add_listener(
            &mut app,
            "Http",
            ListenerProps::http(ListenerAction::forward(&instances)),
        )
        .unwrap();
    let err = error_of(service.attach_to_application_target_group(&mut app, &alb, &listener, &instances));
    assert!(
        err.contains("S/Service") && err.contains("target type ip"),
        "{err}"
    );

    let scaling = service.auto_scale_task_count(&mut app, 1, 4).unwrap();
    let bad = error_of(scaling.scale_on_cpu_utilization(&mut app, "Cpu", UtilizationScalingProps::new(0.0)));
    assert!(bad.contains("above 0"), "{bad}");
    let over =
        error_of(scaling.scale_on_cpu_utilization(&mut app, "Cpu2", UtilizationScalingProps::new(150.0)));
    assert!(over.contains("at most 100"), "{over}");
    let again = error_of(service.auto_scale_task_count(&mut app, 1, 4));
    assert!(again.contains("TaskCount"), "{again}");
}

#[test]
fn a_scheduled_rule_runs_a_fargate_task_with_a_least_privilege_role() {
    let (mut app, s, vpc) = base();
    let cluster = Cluster::new(&mut app, s, "Cluster", ClusterProps::new(&vpc)).unwrap();
    let task =
        FargateTaskDefinition::new(&mut app, s, "Scan", FargateTaskDefinitionProps::default()).unwrap();
    task.add_container(
        &mut app,
        "scanner",
        ContainerDefinitionOptions {
            logging: Some(LogDriver::aws_logs("scan")),
            ..ContainerDefinitionOptions::new(ContainerImage::from_registry(IMAGE))
        },
    )
    .unwrap();
    let nightly = Rule::new(&mut app, s, "Nightly", RuleProps::schedule(Schedule::days(1))).unwrap();
    nightly
        .add_target(
            &mut app,
            EcsTask {
                task_count: 2,
                capacity_provider_strategies: vec![CapacityProviderStrategy::fargate_spot(1)],
                ..EcsTask::new(&cluster, &task)
            },
        )
        .unwrap();
    let hourly = Rule::new(&mut app, s, "Hourly", RuleProps::schedule(Schedule::hours(1))).unwrap();
    hourly
        .add_target(&mut app, EcsTask::new(&cluster, &task))
        .unwrap();
    let t = synth_clean(app, "S", &[], "ecs-events");

    let task_id = logical(&t, "Scan");
    let cluster_id = logical_of(&t, "Cluster", "AWS::ECS::Cluster");
    let sg = logical(&t, "ScanSecurityGroup");
    let nightly = resource(&t, &logical(&t, "Nightly"))["Properties"]["Targets"][0].clone();
    assert_eq!(nightly["Arn"], json!({ "Fn::GetAtt": [cluster_id, "Arn"] }));
    let p = &nightly["EcsParameters"];
    assert_eq!(p["TaskCount"], 2);
    assert_eq!(p["TaskDefinitionArn"], json!({ "Ref": task_id }));
    assert_eq!(
        p["CapacityProviderStrategy"],
        json!([{ "CapacityProvider": "FARGATE_SPOT", "Weight": 1 }])
    );
    assert!(p.get("LaunchType").is_none());
    assert_eq!(
        p["NetworkConfiguration"]["AwsVpcConfiguration"]["SecurityGroups"],
        json!([{ "Fn::GetAtt": [sg, "GroupId"] }])
    );
    let hourly = resource(&t, &logical(&t, "Hourly"))["Properties"]["Targets"][0].clone();
    assert_eq!(hourly["EcsParameters"]["LaunchType"], "FARGATE");
    // Both rules share the task definition's security group.
    assert_eq!(
        hourly["EcsParameters"]["NetworkConfiguration"]["AwsVpcConfiguration"]["SecurityGroups"],
        json!([{ "Fn::GetAtt": [sg, "GroupId"] }])
    );

    let role = nightly["RoleArn"]["Fn::GetAtt"][0].as_str().unwrap().to_string();
    let st = statements(&t, &role);
    let td = &resource(&t, &task_id)["Properties"];
    assert_eq!(
        st,
        [
            json!({
                "Effect": "Allow",
                "Action": "ecs:RunTask",
                "Resource": { "Ref": task_id },
                "Condition": { "ArnEquals": { "ecs:cluster": { "Fn::GetAtt": [cluster_id, "Arn"] } } }
            }),
            json!({
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": [td["ExecutionRoleArn"], td["TaskRoleArn"]],
                "Condition": { "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }
            }),
        ]
    );
}

#[test]
fn bad_ecs_task_targets_are_refused() {
    let (mut app, s, vpc) = base();
    let cluster = Cluster::new(
        &mut app,
        s,
        "Cluster",
        ClusterProps {
            enable_fargate_capacity_providers: false,
            ..ClusterProps::new(&vpc)
        },
    )
    .unwrap();
    let task = task_with_container(&mut app, s, "Task");
    let empty =
        FargateTaskDefinition::new(&mut app, s, "Empty", FargateTaskDefinitionProps::default()).unwrap();
    let rule = Rule::new(&mut app, s, "R", RuleProps::schedule(Schedule::hours(1))).unwrap();
    let none = error_of(rule.add_target(
        &mut app,
        EcsTask {
            task_count: 0,
            ..EcsTask::new(&cluster, &task)
        },
    ));
    assert!(none.contains("S/R") && none.contains("task_count 0"), "{none}");
    let spot = error_of(rule.add_target(
        &mut app,
        EcsTask {
            capacity_provider_strategies: vec![CapacityProviderStrategy::fargate_spot(1)],
            ..EcsTask::new(&cluster, &task)
        },
    ));
    assert!(spot.contains("not associated"), "{spot}");
    let no_container = error_of(rule.add_target(&mut app, EcsTask::new(&cluster, &empty)));
    assert!(no_container.contains("S/Empty"), "{no_container}");
}

#[test]
fn secrets_are_read_by_the_execution_role_and_exec_gets_its_channels() {
    use cairn_constructs::ecs::ContainerSecret;
    use cairn_constructs::secretsmanager::{Secret, SecretProps};
    use cairn_constructs::ssm::{StringParameter, StringParameterProps};

    let (mut app, s, vpc) = base();
    let cluster = Cluster::new(&mut app, s, "Cluster", ClusterProps::new(&vpc)).unwrap();
    let db = Secret::new(&mut app, s, "Db", SecretProps::default()).unwrap();
    let flag = StringParameter::new(&mut app, s, "Flag", StringParameterProps::new("on")).unwrap();
    let task =
        FargateTaskDefinition::new(&mut app, s, "Task", FargateTaskDefinitionProps::default()).unwrap();
    task.add_container(
        &mut app,
        "web",
        ContainerDefinitionOptions {
            secrets: [
                (
                    "DB_PASSWORD".to_string(),
                    ContainerSecret::from_secrets_manager_field(&db, "password"),
                ),
                ("DB".to_string(), ContainerSecret::from_secrets_manager(&db)),
                ("FLAG".to_string(), ContainerSecret::from_ssm_parameter(&flag)),
            ]
            .into_iter()
            .collect(),
            ..web_container(8080)
        },
    )
    .unwrap();
    FargateService::new(
        &mut app,
        s,
        "Service",
        FargateServiceProps {
            enable_execute_command: true,
            ..FargateServiceProps::new(&cluster, &task)
        },
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "ecs-secrets");
    let td = &t["Resources"][&logical(&t, "Task")]["Properties"];
    let db_id = logical(&t, "Db");
    let secrets = &td["ContainerDefinitions"][0]["Secrets"];
    assert_eq!(
        secrets[0],
        json!({ "Name": "DB_PASSWORD", "ValueFrom": { "Fn::Join": ["", [{ "Ref": db_id }, ":password::"]] } })
    );
    assert_eq!(secrets[1], json!({ "Name": "DB", "ValueFrom": { "Ref": db_id } }));
    assert_eq!(secrets[2]["Name"], "FLAG");
    let exec = td["ExecutionRoleArn"]["Fn::GetAtt"][0].as_str().unwrap();
    let exec_text = serde_json::to_string(&statements(&t, exec)).unwrap();
    assert!(exec_text.contains("secretsmanager:GetSecretValue"), "{exec_text}");
    assert!(exec_text.contains("ssm:GetParameter"), "{exec_text}");
    let task_role = td["TaskRoleArn"]["Fn::GetAtt"][0].as_str().unwrap();
    let task_text = serde_json::to_string(&statements(&t, task_role)).unwrap();
    assert!(
        !task_text.contains("secretsmanager"),
        "the task role does not read the secret: {task_text}"
    );
    assert!(
        task_text.contains("ssmmessages:CreateControlChannel"),
        "{task_text}"
    );
    let svc = &t["Resources"][&logical_of(&t, "Service", "AWS::ECS::Service")];
    assert_eq!(svc["Properties"]["EnableExecuteCommand"], true);
}

#[test]
fn a_grant_to_the_task_role_after_the_service_is_created_is_waited_for() {
    use cairn_constructs::iam::PolicyStatement;
    let (mut app, s, vpc) = base();
    let cluster = Cluster::new(&mut app, s, "Cluster", ClusterProps::new(&vpc)).unwrap();
    let task = task_with_container(&mut app, s, "Task");
    FargateService::new(&mut app, s, "Service", FargateServiceProps::new(&cluster, &task)).unwrap();
    task.task_role()
        .add_to_policy(
            &mut app,
            PolicyStatement::allow()
                .actions(["s3:GetObject"])
                .resource("arn:aws:s3:::config/*"),
        )
        .unwrap();
    let t = synth_clean(app, "S", &[], "ecs-late-grant");
    let svc = resource(&t, &logical_of(&t, "Service", "AWS::ECS::Service")).clone();
    let waits = svc["DependsOn"].as_array().unwrap();
    for id in [
        logical(&t, "TaskTaskRoleDefaultPolicy"),
        logical(&t, "TaskTaskRole"),
        logical(&t, "TaskExecutionRole"),
    ] {
        assert!(
            waits.contains(&json!(id)),
            "the service waits for {id}: {waits:?}"
        );
    }
}

#[test]
fn an_arm64_task_definition_names_its_runtime_platform() {
    let (mut app, s, _vpc) = base();
    let task = FargateTaskDefinition::new(
        &mut app,
        s,
        "Task",
        FargateTaskDefinitionProps {
            cpu_architecture: cairn_constructs::ecs::CpuArchitecture::Arm64,
            ..FargateTaskDefinitionProps::default()
        },
    )
    .unwrap();
    task.add_container(&mut app, "web", web_container(8080)).unwrap();
    let t = synth_clean(app, "S", &[], "ecs-arm64");
    let td = &resource(&t, &logical(&t, "Task"))["Properties"];
    assert_eq!(
        td["RuntimePlatform"],
        json!({ "CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX" })
    );
}
