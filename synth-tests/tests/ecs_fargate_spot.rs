//! Snapshot of the `ecs-fargate-spot` example, and the wiring it must show: the Fargate /
//! Fargate Spot strategy with its weights, the stop timeout, the ALB health check, the
//! target tracking policies, a service security group that admits only the ALB, an
//! execution role that pulls from its repository and writes its log group, and the
//! scheduled scanner with a role limited to RunTask and PassRole.

use examples::ecs_fargate_spot::{
    self, CONTAINER_PORT, CPU_TARGET_PERCENT, DEREGISTRATION_DELAY_SECONDS, FARGATE_BASE, FARGATE_WEIGHT,
    HEALTH_CHECK_PATH, MAX_TASKS, MIN_TASKS, REQUESTS_PER_TASK, SCAN_SCHEDULE, SPOT_WEIGHT, STACK,
    STOP_TIMEOUT,
};
use serde_json::{json, Value as Json};
use synth_tests::{
    actions, of_type, one_with_prefix, role_statements, snapshot, stack_names, synth, template_json,
};

fn template() -> Json {
    template_json(&synth(ecs_fargate_spot::build), STACK)
}

fn get_att(id: &str, attr: &str) -> Json {
    json!({ "Fn::GetAtt": [id, attr] })
}

#[test]
fn ecs_fargate_spot_template() {
    let asm = synth(ecs_fargate_spot::build);
    let names = stack_names(&asm);
    assert_eq!(names, [STACK]);
    for s in asm.stacks() {
        let body = snapshot(&asm, &s.display_name);
        insta::assert_snapshot!(s.display_name.clone(), body);
    }
}

#[test]
fn service_and_cluster_split_tasks_across_fargate_and_spot() {
    let t = template();
    let expected = json!([
        { "Base": FARGATE_BASE, "CapacityProvider": "FARGATE", "Weight": FARGATE_WEIGHT },
        { "CapacityProvider": "FARGATE_SPOT", "Weight": SPOT_WEIGHT },
    ]);
    let (_, service) = one_with_prefix(&t, "AWS::ECS::Service", "WebService");
    assert_eq!(service["Properties"]["CapacityProviderStrategy"], expected);
    assert!(
        service["Properties"].get("LaunchType").is_none(),
        "a strategy excludes a launch type"
    );
    let (assoc_id, assoc) = one_with_prefix(&t, "AWS::ECS::ClusterCapacityProviderAssociations", "Cluster");
    assert_eq!(
        assoc["Properties"]["CapacityProviders"],
        json!(["FARGATE", "FARGATE_SPOT"])
    );
    assert_eq!(assoc["Properties"]["DefaultCapacityProviderStrategy"], expected);
    // The service is created once the providers are associated.
    assert!(service["DependsOn"]
        .as_array()
        .unwrap()
        .contains(&json!(assoc_id)));
    let (_, cluster) = one_with_prefix(&t, "AWS::ECS::Cluster", "Cluster");
    assert_eq!(
        cluster["Properties"]["ClusterSettings"],
        json!([{ "Name": "containerInsights", "Value": "enabled" }])
    );
}

#[test]
fn the_web_container_has_time_to_handle_sigterm() {
    let t = template();
    let (_, task) = one_with_prefix(&t, "AWS::ECS::TaskDefinition", "WebTask");
    let container = &task["Properties"]["ContainerDefinitions"][0];
    assert_eq!(container["Name"], "web");
    assert_eq!(container["StopTimeout"], STOP_TIMEOUT.as_secs());
    // The load balancer drains a task well before ECS kills it.
    assert!((DEREGISTRATION_DELAY_SECONDS as u64) < STOP_TIMEOUT.as_secs());
    let (_, tg) = one_with_prefix(&t, "AWS::ElasticLoadBalancingV2::TargetGroup", "WebTargets");
    assert_eq!(
        tg["Properties"]["TargetGroupAttributes"],
        json!([{ "Key": "deregistration_delay.timeout_seconds", "Value": DEREGISTRATION_DELAY_SECONDS.to_string() }])
    );
}

#[test]
fn the_alb_checks_the_health_of_the_tasks() {
    let t = template();
    let (tg_id, tg) = one_with_prefix(&t, "AWS::ElasticLoadBalancingV2::TargetGroup", "WebTargets");
    let p = &tg["Properties"];
    assert_eq!(p["TargetType"], "ip");
    assert_eq!(p["Port"], CONTAINER_PORT);
    assert_eq!(p["HealthCheckEnabled"], true);
    assert_eq!(p["HealthCheckPath"], HEALTH_CHECK_PATH);
    assert_eq!(p["HealthCheckPort"], "traffic-port");
    let (listener_id, _) = one_with_prefix(&t, "AWS::ElasticLoadBalancingV2::Listener", "AlbHttp");
    let (_, service) = one_with_prefix(&t, "AWS::ECS::Service", "WebService");
    assert_eq!(
        service["Properties"]["LoadBalancers"],
        json!([{ "ContainerName": "web", "ContainerPort": CONTAINER_PORT, "TargetGroupArn": { "Ref": tg_id } }])
    );
    assert_eq!(service["Properties"]["HealthCheckGracePeriodSeconds"], 60);
    assert!(service["DependsOn"]
        .as_array()
        .unwrap()
        .contains(&json!(listener_id)));
}

#[test]
fn the_task_count_tracks_cpu_and_requests() {
    let t = template();
    let (service_id, _) = one_with_prefix(&t, "AWS::ECS::Service", "WebService");
    let (target_id, target) =
        one_with_prefix(&t, "AWS::ApplicationAutoScaling::ScalableTarget", "WebService");
    let p = &target["Properties"];
    assert_eq!(
        (p["MinCapacity"].as_u64(), p["MaxCapacity"].as_u64()),
        (Some(MIN_TASKS.into()), Some(MAX_TASKS.into()))
    );
    assert_eq!(p["ServiceNamespace"], "ecs");
    assert_eq!(p["ScalableDimension"], "ecs:service:DesiredCount");
    assert_eq!(p["ResourceId"]["Fn::Join"][1][2], get_att(service_id, "Name"));
    let policies = of_type(&t, "AWS::ApplicationAutoScaling::ScalingPolicy");
    assert_eq!(policies.len(), 2);
    let config = |metric: &str| -> Json {
        policies
            .iter()
            .map(|(_, p)| &p["Properties"])
            .find(|p| {
                p["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
                    ["PredefinedMetricType"]
                    == metric
            })
            .unwrap_or_else(|| panic!("no {metric} policy"))
            .clone()
    };
    let cpu = config("ECSServiceAverageCPUUtilization");
    assert_eq!(cpu["PolicyType"], "TargetTrackingScaling");
    assert_eq!(cpu["ScalingTargetId"], json!({ "Ref": target_id }));
    assert_eq!(
        cpu["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
        CPU_TARGET_PERCENT
    );
    let requests = config("ALBRequestCountPerTarget");
    assert_eq!(requests["ScalingTargetId"], json!({ "Ref": target_id }));
    assert_eq!(
        requests["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
        f64::from(REQUESTS_PER_TASK)
    );
    let (alb_id, _) = one_with_prefix(&t, "AWS::ElasticLoadBalancingV2::LoadBalancer", "Alb");
    let (tg_id, _) = one_with_prefix(&t, "AWS::ElasticLoadBalancingV2::TargetGroup", "WebTargets");
    assert_eq!(
        requests["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]
            ["ResourceLabel"],
        json!({ "Fn::Join": ["/", [get_att(alb_id, "LoadBalancerFullName"), get_att(tg_id, "TargetGroupFullName")]] })
    );
}

#[test]
fn the_service_admits_only_the_load_balancer() {
    let t = template();
    let (sg_id, sg) = one_with_prefix(&t, "AWS::EC2::SecurityGroup", "WebServiceSecurityGroup");
    let (alb_sg_id, _) = one_with_prefix(&t, "AWS::EC2::SecurityGroup", "AlbSecurityGroup");
    let (_, service) = one_with_prefix(&t, "AWS::ECS::Service", "WebService");
    let net = &service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"];
    assert_eq!(net["SecurityGroups"], json!([get_att(sg_id, "GroupId")]));
    assert_eq!(net["AssignPublicIp"], "DISABLED");
    assert!(
        sg["Properties"].get("SecurityGroupIngress").is_none(),
        "no inline ingress"
    );
    let ingress: Vec<_> = of_type(&t, "AWS::EC2::SecurityGroupIngress")
        .into_iter()
        .filter(|(_, r)| r["Properties"]["GroupId"] == get_att(sg_id, "GroupId"))
        .collect();
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    let rule = &ingress[0].1["Properties"];
    assert_eq!(rule["SourceSecurityGroupId"], get_att(alb_sg_id, "GroupId"));
    assert_eq!(
        (rule["FromPort"].clone(), rule["ToPort"].clone()),
        (json!(CONTAINER_PORT), json!(CONTAINER_PORT))
    );
    assert_eq!(rule["IpProtocol"], "tcp");
}

#[test]
fn the_execution_role_pulls_its_image_and_writes_its_logs() {
    let t = template();
    let (_, task) = one_with_prefix(&t, "AWS::ECS::TaskDefinition", "WebTask");
    let role_id = task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap()
        .to_string();
    let (repo_id, _) = one_with_prefix(&t, "AWS::ECR::Repository", "WebRepository");
    let (logs_id, _) = one_with_prefix(&t, "AWS::Logs::LogGroup", "WebLogs");
    let container = &task["Properties"]["ContainerDefinitions"][0];
    assert_eq!(
        container["Image"]["Fn::Join"][1][0],
        get_att(repo_id, "RepositoryUri")
    );
    assert_eq!(container["LogConfiguration"]["LogDriver"], "awslogs");
    assert_eq!(
        container["LogConfiguration"]["Options"]["awslogs-group"],
        json!({ "Ref": logs_id })
    );
    let statements = role_statements(&t, &role_id);
    let on = |resource: &Json| -> Vec<String> {
        statements
            .iter()
            .filter(|s| &s["Resource"] == resource)
            .flat_map(actions)
            .collect()
    };
    assert_eq!(
        on(&get_att(repo_id, "Arn")),
        [
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage"
        ]
    );
    assert_eq!(on(&json!("*")), ["ecr:GetAuthorizationToken"]);
    assert_eq!(
        on(&get_att(logs_id, "Arn")),
        ["logs:CreateLogStream", "logs:PutLogEvents"]
    );
    assert_eq!(statements.len(), 3, "nothing else: {statements:?}");
}

#[test]
fn the_schedule_runs_the_scanner_with_run_task_and_pass_role_only() {
    let t = template();
    let (rule_id, rule) = one_with_prefix(&t, "AWS::Events::Rule", "NightlyScan");
    let (task_id, task) = one_with_prefix(&t, "AWS::ECS::TaskDefinition", "ScanTask");
    let (cluster_id, _) = one_with_prefix(&t, "AWS::ECS::Cluster", "Cluster");
    assert_eq!(rule["Properties"]["ScheduleExpression"], SCAN_SCHEDULE);
    let target = &rule["Properties"]["Targets"][0];
    assert_eq!(target["Arn"], get_att(cluster_id, "Arn"));
    let ecs = &target["EcsParameters"];
    assert_eq!(ecs["TaskDefinitionArn"], json!({ "Ref": task_id }));
    assert_eq!(ecs["TaskCount"], 1);
    assert_eq!(
        ecs["CapacityProviderStrategy"],
        json!([{ "CapacityProvider": "FARGATE_SPOT", "Weight": 1 }])
    );
    assert_eq!(
        ecs["NetworkConfiguration"]["AwsVpcConfiguration"]["AssignPublicIp"],
        "DISABLED"
    );
    assert_eq!(task["Properties"]["ContainerDefinitions"][0]["Name"], "scanner");

    let role_id = target["RoleArn"]["Fn::GetAtt"][0].as_str().unwrap().to_string();
    assert!(role_id.starts_with("NightlyScanTarget0Role"), "{role_id}");
    assert!(rule_id.starts_with("NightlyScan"));
    let (_, role) = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(id, _)| **id == role_id)
        .unwrap();
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        json!({ "Service": "events.amazonaws.com" })
    );
    let statements = role_statements(&t, &role_id);
    assert_eq!(statements.len(), 2, "{statements:?}");
    assert_eq!(actions(&statements[0]), ["ecs:RunTask"]);
    assert_eq!(statements[0]["Resource"], json!({ "Ref": task_id }));
    assert_eq!(
        statements[0]["Condition"]["ArnEquals"]["ecs:cluster"],
        get_att(cluster_id, "Arn")
    );
    assert_eq!(actions(&statements[1]), ["iam:PassRole"]);
    assert_eq!(
        statements[1]["Resource"],
        json!([
            task["Properties"]["ExecutionRoleArn"],
            task["Properties"]["TaskRoleArn"]
        ])
    );
    assert_eq!(
        statements[1]["Condition"]["StringEquals"]["iam:PassedToService"],
        "ecs-tasks.amazonaws.com"
    );
}

#[test]
fn the_scanner_writes_its_reports_to_an_encrypted_bucket() {
    let t = template();
    let (_, task) = one_with_prefix(&t, "AWS::ECS::TaskDefinition", "ScanTask");
    let (bucket_id, bucket) = one_with_prefix(&t, "AWS::S3::Bucket", "ScanResults");
    let (key_id, _) = one_with_prefix(&t, "AWS::KMS::Key", "ScanResultsKey");
    let sse = &bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        ["ServerSideEncryptionByDefault"];
    assert_eq!(sse["SSEAlgorithm"], "aws:kms");
    assert_eq!(bucket["DeletionPolicy"], "Retain");
    let role_id = task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    let statements = role_statements(&t, role_id);
    assert!(statements
        .iter()
        .any(|s| actions(s).contains(&"s3:PutObject".to_string())
            && s["Resource"]["Fn::Join"][1][0] == get_att(bucket_id, "Arn")));
    assert!(statements
        .iter()
        .any(|s| actions(s).contains(&"kms:GenerateDataKey*".to_string())
            && s["Resource"] == get_att(key_id, "Arn")));
    let env = &task["Properties"]["ContainerDefinitions"][0]["Environment"];
    assert!(env
        .as_array()
        .unwrap()
        .contains(&json!({ "Name": "RESULTS_BUCKET", "Value": { "Ref": bucket_id } })));
}
