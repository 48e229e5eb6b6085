//! Snapshots of the `web-jobnet` example, and the wiring they must show: the stacks'
//! dependencies and imports, the security group chain, the state machines' Map and
//! logging, and the notifications.

use std::collections::BTreeSet;

use cairn::assertions::Match;
use cairn::CloudAssembly;
use examples::web_jobnet::{self, STACKS};
use serde_json::{json, Value as Json};
use synth_tests::{
    actions, definition, one_with_prefix, only, role_statements, snapshot, stack_names, synth, target,
    template, with_prefix,
};

fn app() -> CloudAssembly {
    synth(web_jobnet::build)
}

/// Every `Fn::ImportValue` name in a JSON tree.
fn imports(v: &Json, out: &mut BTreeSet<String>) {
    match v {
        Json::Object(m) => {
            if let Some(Json::String(name)) = m.get("Fn::ImportValue") {
                out.insert(name.clone());
            }
            m.values().for_each(|x| imports(x, out));
        }
        Json::Array(items) => items.iter().for_each(|x| imports(x, out)),
        _ => {}
    }
}

/// What each import of `consumer` is in its producer: `Type` and `Ref` or the attribute.
fn imported_values(asm: &CloudAssembly, consumer: &str) -> BTreeSet<(String, String, String)> {
    let mut names = BTreeSet::new();
    imports(&asm.stack(consumer).unwrap().template, &mut names);
    let mut out = BTreeSet::new();
    for name in names {
        let (producer, output) = asm
            .stacks()
            .iter()
            .find_map(|s| {
                s.template["Outputs"].as_object().and_then(|outputs| {
                    outputs
                        .values()
                        .find(|o| o["Export"]["Name"] == name.as_str())
                        .map(|o| (s, o.clone()))
                })
            })
            .unwrap_or_else(|| panic!("no stack exports {name}"));
        let value = &output["Value"];
        let (target, what) = match (value.get("Ref"), value.get("Fn::GetAtt")) {
            (Some(Json::String(r)), _) => (r.clone(), "Ref".to_string()),
            (_, Some(Json::Array(ga))) => (
                ga[0].as_str().unwrap().to_string(),
                ga[1].as_str().unwrap().to_string(),
            ),
            _ => panic!("export {name} is neither a Ref nor a GetAtt: {value}"),
        };
        let ty = producer.template["Resources"][&target]["Type"]
            .as_str()
            .unwrap()
            .to_string();
        out.insert((producer.display_name.clone(), ty, format!("{target}.{what}")));
    }
    out
}

#[test]
fn web_jobnet_templates() {
    let asm = app();
    let names = stack_names(&asm);
    assert_eq!(names, STACKS);
    for s in asm.stacks() {
        let body = snapshot(&asm, &s.display_name);
        insta::assert_snapshot!(s.display_name.clone(), body);
    }
}

#[test]
fn stacks_depend_on_what_they_reference() {
    let asm = app();
    let deps = |s: &str| -> BTreeSet<String> { asm.stack(s).unwrap().dependencies.iter().cloned().collect() };
    let set = |names: &[&str]| -> BTreeSet<String> { names.iter().map(|s| s.to_string()).collect() };
    assert_eq!(deps("WebJobnetWeb"), set(&[]));
    assert_eq!(deps("WebJobnetFunctions"), set(&["WebJobnetWeb"]));
    // The flows call the functions and iterate over the web servers' ids.
    assert_eq!(
        deps("WebJobnetStop"),
        set(&["WebJobnetFunctions", "WebJobnetWeb"])
    );
    assert_eq!(
        deps("WebJobnetStart"),
        set(&["WebJobnetFunctions", "WebJobnetWeb"])
    );
}

#[test]
fn the_functions_stack_imports_only_what_it_uses() {
    let asm = app();
    let imported = imported_values(&asm, "WebJobnetFunctions");
    let kinds: Vec<(String, String)> = imported
        .iter()
        .map(|(producer, ty, what)| {
            assert_eq!(producer, "WebJobnetWeb");
            let attr = what.split_once('.').map(|(_, a)| a).unwrap_or_default();
            (ty.clone(), attr.to_string())
        })
        .collect();
    let expected = [
        ("AWS::Backup::BackupVault", "BackupVaultArn"),
        ("AWS::Backup::BackupVault", "Ref"),
        ("AWS::EC2::Instance", "Ref"),
        ("AWS::EC2::Instance", "Ref"),
        ("AWS::ElasticLoadBalancingV2::Listener", "Ref"),
        ("AWS::ElasticLoadBalancingV2::TargetGroup", "Ref"),
        ("AWS::IAM::Role", "Arn"),
        ("AWS::RDS::DBCluster", "DBClusterArn"),
        ("AWS::RDS::DBCluster", "Ref"),
    ];
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        expected.map(|(t, a)| (t.to_string(), a.to_string())),
        "imports: {imported:#?}"
    );
    // The role passed to AWS Backup is the backup role, not the web servers' role.
    assert!(imported
        .iter()
        .any(|(_, ty, what)| ty == "AWS::IAM::Role" && what.starts_with("BackupRole")));

    // The flows import the functions they call and the instance ids, nothing else.
    for flow in ["WebJobnetStop", "WebJobnetStart"] {
        for (producer, ty, _) in imported_values(&asm, flow) {
            match producer.as_str() {
                "WebJobnetFunctions" => assert_eq!(ty, "AWS::Lambda::Function", "{flow}"),
                "WebJobnetWeb" => assert_eq!(ty, "AWS::EC2::Instance", "{flow}"),
                other => panic!("{flow} imports from {other}"),
            }
        }
    }
}

#[test]
fn roles_are_scoped_to_the_job_nets_resources() {
    let asm = app();
    let t = template(&asm, "WebJobnetFunctions");
    // Stopping instances: only the two web servers.
    let stop = with_prefix(&t, "AWS::Lambda::Function", "StopInstance");
    let role = t.to_json()["Resources"][&stop]["Properties"]["Role"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap()
        .to_string();
    let policies = t.find_resources(
        "AWS::IAM::Policy",
        json!({ "Properties": { "Roles": [{ "Ref": role }] } }),
    );
    assert_eq!(policies.len(), 1);
    let statements = &policies[0].1["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(statements.as_array().unwrap().len(), 1);
    assert_eq!(statements[0]["Action"], "ec2:StopInstances");
    let resources = statements[0]["Resource"].as_array().unwrap();
    assert_eq!(resources.len(), 2);
    for r in resources {
        assert_eq!(
            r["Fn::Sub"][0],
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${Id}"
        );
        assert!(r["Fn::Sub"][1]["Id"]["Fn::ImportValue"].is_string());
    }
    // No statement anywhere grants every action.
    for (id, p) in t.find_resources("AWS::IAM::Policy", json!({})) {
        for s in p["Properties"]["PolicyDocument"]["Statement"].as_array().unwrap() {
            let actions = actions(s);
            assert!(actions.iter().all(|a| !a.contains('*')), "{id}: {actions:?}");
        }
    }
}

#[test]
fn security_groups_chain_alb_web_database() {
    let asm = app();
    let t = template(&asm, "WebJobnetWeb");
    let alb = with_prefix(&t, "AWS::EC2::SecurityGroup", "AlbSecurityGroup");
    let web = with_prefix(&t, "AWS::EC2::SecurityGroup", "WebSecurityGroup");
    let db = with_prefix(&t, "AWS::EC2::SecurityGroup", "DatabaseSecurityGroup");
    let group = |id: &str| json!({ "Fn::GetAtt": [id, "GroupId"] });

    // The internet reaches only the ALB, on 80.
    t.assert_has_resource_properties(
        "AWS::EC2::SecurityGroup",
        Match::object_like(json!({})).with(
            "GroupDescription",
            Match::string_like_regexp("^Automatically created Security Group for ELB"),
        ),
    );
    let alb_props = &t.to_json()["Resources"][&alb]["Properties"];
    assert_eq!(
        alb_props["SecurityGroupIngress"],
        json!([{ "CidrIp": "0.0.0.0/0", "Description": "Allow from anyone on port 80",
                 "FromPort": 80, "IpProtocol": "tcp", "ToPort": 80 }])
    );
    for (id, sg) in t.find_resources("AWS::EC2::SecurityGroup", json!({})) {
        if id != alb {
            assert!(
                sg["Properties"].get("SecurityGroupIngress").is_none(),
                "{id} has inline ingress"
            );
        }
    }
    // ALB -> web on 80, web -> database on 3306, as group-to-group rules.
    t.assert_has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        json!({ "GroupId": group(&web), "SourceSecurityGroupId": group(&alb),
                "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80 }),
    );
    t.assert_has_resource_properties(
        "AWS::EC2::SecurityGroupEgress",
        json!({ "GroupId": group(&alb), "DestinationSecurityGroupId": group(&web),
                "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80 }),
    );
    t.assert_has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        json!({ "GroupId": group(&db), "SourceSecurityGroupId": group(&web),
                "IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306 }),
    );
    t.assert_resource_count_is("AWS::EC2::SecurityGroupIngress", 2);
    // The web servers and the cluster use those groups.
    t.assert_has_resource_properties("AWS::EC2::Instance", json!({ "SecurityGroupIds": [group(&web)] }));
    t.assert_has_resource_properties(
        "AWS::RDS::DBCluster",
        json!({ "VpcSecurityGroupIds": [group(&db)], "StorageEncrypted": true }),
    );
}

#[test]
fn the_maps_run_two_web_servers_at_a_time() {
    let asm = app();
    for (stack, map, first) in [
        ("WebJobnetStart", "StartWebServers", "StartInstance"),
        ("WebJobnetStop", "StopWebServers", "DescribeInstance"),
    ] {
        let asl = definition(&template(&asm, stack));
        let m = &asl["States"][map];
        assert_eq!(m["Type"], "Map", "{stack}");
        assert_eq!(m["MaxConcurrency"], 2, "{stack}");
        assert_eq!(m["ItemsPath"], "$.targets.instanceIds", "{stack}");
        assert_eq!(m["ItemProcessor"]["StartAt"], first, "{stack}");
        // The items are the web servers' ids, from the web stack.
        let ids = asl["States"]["Targets"]["Result"]["instanceIds"]
            .as_array()
            .unwrap();
        assert_eq!(ids.len(), 2);
    }
}

#[test]
fn the_flows_poll_and_fail_by_name() {
    let asm = app();
    let stop = definition(&template(&asm, "WebJobnetStop"));
    assert_eq!(stop["StartAt"], "Targets");
    assert_eq!(stop["TimeoutSeconds"], 7200);
    assert_eq!(stop["States"]["Targets"]["Next"], "MaintenanceOn");
    assert_eq!(stop["States"]["MaintenanceOn"]["Next"], "StopWebServers");
    assert_eq!(stop["States"]["StopWebServers"]["Next"], "DescribeDatabase");
    assert_eq!(stop["States"]["BackupDatabase"]["Next"], "WaitForDatabaseBackup");
    let inner = &stop["States"]["StopWebServers"]["ItemProcessor"]["States"];
    assert_eq!(
        inner["InstanceState?"]["Choices"],
        json!([
            { "Variable": "$.instance.state", "StringEquals": "running", "Next": "StopHttpd" },
            { "Variable": "$.instance.state", "StringEquals": "stopping", "Next": "WaitForInstanceStop" },
            { "Variable": "$.instance.state", "StringEquals": "stopped", "Next": "BackupWebServer" }
        ])
    );
    assert_eq!(inner["StopHttpd"]["Next"], "WaitForStopHttpd");
    assert_eq!(inner["HttpdStopDone?"]["Default"], "HttpdStopFailed");
    assert_eq!(inner["InstanceStopped?"]["Choices"][0]["Next"], "BackupWebServer");
    assert_eq!(
        inner["InstanceStopped?"]["Choices"][1]["Next"],
        "WaitForInstanceStop"
    );
    assert_eq!(
        stop["States"]["DatabaseStopped?"]["Choices"][1]["Next"],
        "WaitForDatabaseStop"
    );
    assert_eq!(stop["States"]["StopFailed"]["Type"], "Fail");

    let start = definition(&template(&asm, "WebJobnetStart"));
    assert_eq!(
        start["States"]["DatabaseState?"]["Choices"][1]["Next"],
        "StartDatabase"
    );
    assert_eq!(
        start["States"]["DatabaseAvailable?"]["Choices"][0]["Next"],
        "StartWebServers"
    );
    assert_eq!(
        start["States"]["StartWebServers"]["Next"],
        "WaitForHealthyTargets"
    );
    assert_eq!(
        start["States"]["TargetsHealthy?"],
        json!({
            "Type": "Choice",
            "Choices": [{ "Variable": "$.targetHealth.allHealthy", "BooleanEquals": true, "Next": "MaintenanceOff" }],
            "Default": "WaitForHealthyTargets"
        })
    );
    assert_eq!(start["States"]["MaintenanceOff"]["Next"], "SystemStarted");
    let inner = &start["States"]["StartWebServers"]["ItemProcessor"]["States"];
    assert_eq!(inner["InstanceRunning?"]["Choices"][0]["Next"], "StartHttpd");
    assert_eq!(
        inner["StartHttpd"]["Retry"][1]["ErrorEquals"],
        json!(["InstanceNotReady"])
    );
}

#[test]
fn the_state_machines_log_everything_to_their_log_group() {
    let asm = app();
    for stack in ["WebJobnetStop", "WebJobnetStart"] {
        let t = template(&asm, stack);
        let group = only(&t, "AWS::Logs::LogGroup");
        t.assert_has_resource_properties(
            "AWS::StepFunctions::StateMachine",
            json!({
                "LoggingConfiguration": {
                    "Level": "ALL",
                    "Destinations": [{ "CloudWatchLogsLogGroup": { "LogGroupArn": { "Fn::GetAtt": [group, "Arn"] } } }]
                }
            }),
        );
        t.assert_has_resource_properties(
            "AWS::Logs::LogGroup",
            Match::object_like(json!({ "RetentionInDays": 731 })).with("KmsKeyId", Match::any_value()),
        );
    }
}

#[test]
fn finished_executions_are_sent_to_the_notifier() {
    let asm = app();
    let functions = template(&asm, "WebJobnetFunctions");
    let notifier = with_prefix(&functions, "AWS::Lambda::Function", "NotifySlack");
    for stack in ["WebJobnetStop", "WebJobnetStart"] {
        let t = template(&asm, stack);
        let machine = only(&t, "AWS::StepFunctions::StateMachine");
        let rule = with_prefix(&t, "AWS::Events::Rule", "NotifyOnFinish");
        let r = &t.to_json()["Resources"][&rule]["Properties"];
        assert_eq!(
            r["EventPattern"],
            json!({
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"],
                    "stateMachineArn": [{ "Ref": machine }]
                }
            })
        );
        let targets = r["Targets"].as_array().unwrap();
        assert_eq!(targets.len(), 1);
        // The target is the notifier's ARN, imported from the functions stack.
        let imported = imported_values(&asm, stack);
        let arn_import = targets[0]["Arn"]["Fn::ImportValue"].as_str().unwrap();
        let export = asm.stack("WebJobnetFunctions").unwrap().template["Outputs"]
            .as_object()
            .unwrap()
            .values()
            .find(|o| o["Export"]["Name"] == arn_import)
            .cloned()
            .unwrap();
        assert_eq!(export["Value"], json!({ "Fn::GetAtt": [notifier, "Arn"] }));
        assert!(imported.contains(&(
            "WebJobnetFunctions".to_string(),
            "AWS::Lambda::Function".to_string(),
            format!("{notifier}.Arn")
        )));
        // EventBridge may invoke it, for this rule only.
        t.assert_has_resource_properties(
            "AWS::Lambda::Permission",
            json!({
                "Action": "lambda:InvokeFunction",
                "FunctionName": { "Fn::ImportValue": arn_import },
                "Principal": "events.amazonaws.com",
                "SourceArn": { "Fn::GetAtt": [rule, "Arn"] }
            }),
        );
    }
}

#[test]
fn the_web_servers_get_their_scripts_and_agent_configuration() {
    let asm = app();
    let t = template(&asm, "WebJobnetWeb");
    let user_data = std::fs::read_to_string(web_jobnet::assets_dir().join(web_jobnet::USER_DATA)).unwrap();
    for script in ["httpd-start.sh", "httpd-stop.sh", "httpd-check.sh"] {
        assert!(
            user_data.contains(&format!("/opt/webapp/bin/{script}")),
            "{script}"
        );
    }
    assert!(user_data.contains(&format!("ssm:{}", web_jobnet::CLOUDWATCH_AGENT_PARAMETER)));
    t.assert_resource_count_is("AWS::EC2::Instance", 2);
    t.assert_has_resource_properties(
        "AWS::EC2::Instance",
        json!({ "UserData": { "Fn::Base64": user_data } }),
    );
    // The parameter holds the agent configuration file, which names the log groups.
    let params = t.find_resources(
        "AWS::SSM::Parameter",
        json!({ "Properties": { "Name": web_jobnet::CLOUDWATCH_AGENT_PARAMETER } }),
    );
    assert_eq!(params.len(), 1);
    let config: Json = serde_json::from_str(params[0].1["Properties"]["Value"].as_str().unwrap()).unwrap();
    let files = config["logs"]["logs_collected"]["files"]["collect_list"]
        .as_array()
        .unwrap();
    for (_, name) in web_jobnet::HTTPD_LOG_GROUPS {
        assert!(files.iter().any(|f| f["log_group_name"] == name), "{name}");
        t.assert_has_resource_properties("AWS::Logs::LogGroup", json!({ "LogGroupName": name }));
    }
}

/// The `Choice` of a backup loop: `COMPLETED` goes on to `success`, a job that failed,
/// was aborted or expired to the named `Fail` state `failure`, anything else (CREATED,
/// PENDING, RUNNING, ABORTING) back to `wait`.
fn assert_backup_loop(states: &Json, label: &str, success: &str, failure: &str) {
    let start = format!("Backup{label}");
    let wait = format!("WaitFor{label}Backup");
    let describe = format!("Describe{label}Backup");
    let done = format!("{label}BackupDone?");
    assert_eq!(states[&start]["Type"], "Task", "{start}");
    assert_eq!(
        states[&start]["Parameters"]["Payload"]["executionName.$"],
        "$$.Execution.Name"
    );
    assert_eq!(states[&start]["ResultPath"], "$.backup");
    assert_eq!(states[&start]["Next"], wait.as_str());
    assert_eq!(states[&wait]["Type"], "Wait");
    assert_eq!(states[&wait]["Next"], describe.as_str());
    assert_eq!(
        states[&describe]["Parameters"]["Payload"],
        json!({ "backupJobId.$": "$.backup.backupJobId" })
    );
    assert_eq!(states[&describe]["Next"], done.as_str());
    let failed: Vec<Json> = ["FAILED", "ABORTED", "EXPIRED", "PARTIAL"]
        .iter()
        .map(|s| json!({ "Variable": "$.backup.state", "StringEquals": s }))
        .collect();
    assert_eq!(
        states[&done],
        json!({
            "Type": "Choice",
            "Choices": [
                { "Variable": "$.backup.state", "StringEquals": "COMPLETED", "Next": success },
                { "Or": failed, "Next": failure }
            ],
            "Default": wait
        }),
        "{done}"
    );
    assert_eq!(states[failure]["Type"], "Fail", "{failure}");
    assert_eq!(
        states[failure]["Error"],
        format!("WebJobnet.{failure}").as_str(),
        "{failure}"
    );
}

/// Each web server is backed up (an AMI, through AWS Backup) once it has stopped, and
/// the flow waits for the job to complete before the web server counts as stopped.
#[test]
fn the_stop_flow_backs_up_each_stopped_web_server_and_waits_for_the_job() {
    let asm = app();
    let stop = definition(&template(&asm, "WebJobnetStop"));
    let inner = &stop["States"]["StopWebServers"]["ItemProcessor"]["States"];
    assert_eq!(
        inner["InstanceStopped?"]["Choices"][0],
        json!({ "Variable": "$.instance.state", "StringEquals": "stopped", "Next": "BackupWebServer" })
    );
    assert_backup_loop(inner, "WebServer", "WebServerStopped", "WebServerBackupFailed");
    // The job is of the item's instance.
    assert_eq!(
        inner["BackupWebServer"]["Parameters"]["Payload"]["instanceId.$"],
        "$.instanceId"
    );
    // Nothing else reaches WebServerStopped: every stopped web server is backed up.
    let to_stopped: Vec<&String> = inner
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, st)| st.to_string().contains("\"WebServerStopped\""))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(to_stopped, ["WebServerBackupDone?"]);
}

/// The database is stopped only once its backup job has completed, not right after
/// starting it with a retry on InvalidDBClusterStateFault.
#[test]
fn the_stop_flow_stops_the_database_once_its_backup_has_completed() {
    let asm = app();
    let stop = definition(&template(&asm, "WebJobnetStop"));
    let states = &stop["States"];
    assert_eq!(states["DatabaseState?"]["Choices"][0]["Next"], "BackupDatabase");
    assert_backup_loop(states, "Database", "StopDatabase", "DatabaseBackupFailed");
    // The job is of the cluster (no instance in the payload).
    assert!(states["BackupDatabase"]["Parameters"]["Payload"]
        .get("instanceId.$")
        .is_none());
    // Errors of the backup calls end in the flow's failure.
    for s in ["BackupDatabase", "DescribeDatabaseBackup"] {
        assert_eq!(states[s]["Catch"][0]["Next"], "StopFailed", "{s}");
    }
    assert!(
        states["StopDatabase"]
            .get("Retry")
            .is_none_or(|r| !r.to_string().contains("InvalidDBClusterStateFault")),
        "StopDatabase waits for the backup instead of retrying: {}",
        states["StopDatabase"]
    );
    let to_stop: Vec<&String> = states
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, st)| st.to_string().contains("\"StopDatabase\""))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(to_stop, ["DatabaseBackupDone?"]);
}

/// The backup functions: StartBackupJob (into the vault, passing the backup role to AWS
/// Backup only) knows the web servers; DescribeBackupJob may only describe jobs.
#[test]
fn the_backup_functions_start_and_describe_jobs() {
    let asm = app();
    let t = template(&asm, "WebJobnetFunctions");
    let (_, start) = one_with_prefix(&t, "AWS::Lambda::Function", "StartBackupJob");
    assert_eq!(start["Properties"]["Handler"], "backup_job.start");
    let env = &start["Properties"]["Environment"]["Variables"];
    for key in ["INSTANCE_IDS", "VAULT_NAME", "RESOURCE_ARN", "BACKUP_ROLE_ARN"] {
        assert!(!env[key].is_null(), "{key}");
    }
    let (_, describe) = one_with_prefix(&t, "AWS::Lambda::Function", "DescribeBackupJob");
    assert_eq!(describe["Properties"]["Handler"], "backup_job.describe");
    let role = target(&describe["Properties"]["Role"]);
    let statements = role_statements(&t, &role);
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert_eq!(actions(&statements[0]), ["backup:DescribeBackupJob"]);
}

/// The handler's own tests (`assets/web-jobnet/tests`: start a job of a web server or
/// the cluster, one per execution and resource, describe its state; boto3 replaced by an
/// in-memory AWS Backup). Runs with `CAIRN_PYTHON`, else `python3`.
#[test]
fn the_backup_handler_passes_its_unit_tests() {
    let python = std::env::var("CAIRN_PYTHON")
        .ok()
        .filter(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| "python3".to_string());
    let out = std::process::Command::new(&python)
        .args(["-m", "unittest", "discover", "-s", "tests", "-v"])
        .current_dir(web_jobnet::assets_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs (the handlers' tests need it)");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Ran 8 tests"), "{log}");
}

/// Each job net runs on its schedule: a scheduled rule in its stack starts its state
/// machine through a role that may start that machine only; the expressions come from
/// the context.
#[test]
fn the_job_nets_run_on_their_schedules() {
    fn check(asm: &CloudAssembly, expected: &web_jobnet::Schedules) {
        for (stack, expression) in [
            ("WebJobnetStop", &expected.stop),
            ("WebJobnetStart", &expected.start),
        ] {
            let t = template(asm, stack);
            let machine = only(&t, "AWS::StepFunctions::StateMachine");
            let (_, rule) = one_with_prefix(&t, "AWS::Events::Rule", "Schedule");
            let p = &rule["Properties"];
            assert_eq!(p["ScheduleExpression"], expression.as_str(), "{stack}");
            assert_eq!(p["State"], "ENABLED", "{stack}");
            let targets = p["Targets"].as_array().unwrap();
            assert_eq!(targets.len(), 1, "{stack}");
            assert_eq!(targets[0]["Arn"], json!({ "Ref": machine }), "{stack}");
            let role = target(&targets[0]["RoleArn"]);
            let statements = role_statements(&t, &role);
            assert_eq!(statements.len(), 1, "{stack}: {statements:?}");
            assert_eq!(actions(&statements[0]), ["states:StartExecution"]);
            assert_eq!(statements[0]["Resource"], json!({ "Ref": machine }));
            let trust = &t.to_json()["Resources"][&role]["Properties"]["AssumeRolePolicyDocument"];
            assert_eq!(
                trust["Statement"][0]["Principal"]["Service"],
                "events.amazonaws.com"
            );
        }
    }
    check(&app(), &web_jobnet::Schedules::default());
    let custom = web_jobnet::Schedules {
        stop: "cron(30 11 ? * * *)".into(),
        start: "rate(1 day)".into(),
    };
    check(
        &web_jobnet::build_with(&custom).unwrap().synth().unwrap(),
        &custom,
    );
    let context = cairn::Context::from_json(
        r#"{"web-jobnet:stopSchedule": "cron(30 11 ? * * *)", "web-jobnet:startSchedule": "rate(1 day)"}"#,
    )
    .unwrap();
    assert_eq!(web_jobnet::Schedules::from_context(&context).unwrap(), custom);
    let wrong = cairn::Context::from_json(r#"{"web-jobnet:stopSchedule": 13}"#).unwrap();
    let err = web_jobnet::Schedules::from_context(&wrong)
        .unwrap_err()
        .to_string();
    assert!(err.contains("web-jobnet:stopSchedule"), "{err}");
}

/// Every stack carries the job net's tags (CloudFormation puts them on every resource).
#[test]
fn every_stack_carries_the_tags() {
    let asm = app();
    for s in asm.stacks() {
        for (k, v) in web_jobnet::TAGS {
            assert_eq!(
                s.tags.get(k).map(String::as_str),
                Some(v),
                "{}: {k}",
                s.display_name
            );
        }
    }
}
