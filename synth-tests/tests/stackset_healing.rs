//! Snapshots of the `stackset-healing` example, and the wiring they must show: the order
//! parameter against the StackSets' tags, the workflow's loops and retries, state passed
//! as S3 keys, the dashboard behind CloudFront only, and the functions' least-privilege
//! roles.

use std::collections::{BTreeMap, BTreeSet};

use cairn::CloudAssembly;
use examples::stackset_healing::{self, RETRIED_ERRORS, RUNNING_STATUSES, STACKS, STACK_SETS};
use serde_json::{json, Value as Json};
use synth_tests::{
    actions, definition, of_type, role_statements, snapshot, stack_names, synth, target, template_json,
    with_prefix,
};

fn app() -> CloudAssembly {
    synth(stackset_healing::build)
}

#[test]
fn stackset_healing_templates() {
    let asm = app();
    let names = stack_names(&asm);
    assert_eq!(names, STACKS);
    for s in asm.stacks() {
        let body = snapshot(&asm, &s.display_name);
        insta::assert_snapshot!(s.display_name.clone(), body);
    }
}

/// The value of a tag of a StackSet resource.
fn tag<'a>(stack_set: &'a Json, key: &str) -> Option<&'a str> {
    stack_set["Properties"]["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Key"] == key)
        .and_then(|t| t["Value"].as_str())
}

#[test]
fn the_order_parameter_respects_the_dependson_tags_of_the_stack_sets() {
    let asm = app();
    let t = template_json(&asm, STACKS[0]);
    let params = of_type(&t, "AWS::SSM::Parameter");
    assert_eq!(params.len(), 1);
    assert_eq!(
        params[0].1["Properties"]["Name"],
        stackset_healing::ORDER_PARAMETER
    );
    let plan: Json = serde_json::from_str(params[0].1["Properties"]["Value"].as_str().unwrap()).unwrap();
    let order: Vec<&str> = plan["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "baseline-iam",
            "config-recorder-legacy",
            "baseline-logging",
            "config-recorder",
            "budget-alarm"
        ]
    );
    let pos: BTreeMap<&str, usize> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let sets = of_type(&t, "AWS::CloudFormation::StackSet");
    assert_eq!(sets.len(), STACK_SETS.len());
    for (_, s) in &sets {
        let name = s["Properties"]["StackSetName"].as_str().unwrap();
        // Every StackSet is in the order, after each StackSet its dependson tag names.
        for dep in tag(s, "dependson")
            .unwrap_or("")
            .split(':')
            .filter(|d| !d.is_empty())
        {
            assert!(pos[dep] < pos[name], "{dep} must come before {name}");
        }
        // The parameter carries what the workflow needs of each StackSet.
        let entry = plan["stackSets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap();
        assert_eq!(entry["mandatory"].to_string(), tag(s, "mandatory").unwrap());
        assert_eq!(entry["selfHealing"].to_string(), tag(s, "selfhealing").unwrap());
        let regions: Vec<&str> = entry["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(regions.join(":"), tag(s, "region").unwrap());
        assert_eq!(s["Properties"]["PermissionModel"], "SERVICE_MANAGED");
        assert_eq!(s["Properties"]["AutoDeployment"]["Enabled"], true);
        assert!(s["Properties"]["TemplateBody"]
            .as_str()
            .unwrap()
            .contains("AWSTemplateFormatVersion"));
    }
    // The two Config recorders exclude each other but never share an OU and Region.
    let recorder = sets
        .iter()
        .find(|(_, s)| s["Properties"]["StackSetName"] == "config-recorder")
        .unwrap()
        .1;
    assert_eq!(tag(recorder, "antidependson"), Some("config-recorder-legacy"));
    assert_eq!(plan["conflicts"], json!([]));
}

#[test]
fn every_until_complete_loop_waits_polls_and_chooses() {
    let asm = app();
    let def = definition(&template_json(&asm, STACKS[1]));
    let states = def["States"].as_object().unwrap();
    let waits: Vec<&String> = states
        .iter()
        .filter(|(_, s)| s["Type"] == "Wait")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        waits.iter().map(|s| s.as_str()).collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "WaitForCleanup",
            "WaitForDeployment",
            "WaitForDriftDetection",
            "WaitForDeletion",
            "WaitForRedeployment"
        ])
    );
    let running: Vec<Json> = RUNNING_STATUSES
        .iter()
        .map(|s| json!({ "Variable": "$.operation.status", "StringEquals": s }))
        .collect();
    for wait in waits {
        // Wait -> the operation's status (TriggerDriftStatus) -> a Choice that loops back
        // while the operation runs and goes on otherwise.
        let poll = states[wait]["Next"].as_str().unwrap();
        assert_eq!(states[poll]["Type"], "Task", "{wait}");
        assert!(
            states[poll]["Parameters"]["FunctionName"]
                .to_string()
                .contains("TriggerDriftStatus"),
            "{wait} polls with TriggerDriftStatus"
        );
        let choice = &states[states[poll]["Next"].as_str().unwrap()];
        assert_eq!(choice["Type"], "Choice");
        let back = choice["Choices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["Next"] == wait.as_str())
            .unwrap_or_else(|| panic!("{wait}: no branch back"));
        assert_eq!(back["Or"], json!(running), "{wait}");
        assert_ne!(choice["Default"], wait.as_str());
    }
    // The outer loops: mandatory StackSets until done, then drift detection until done.
    let choice = |name: &str| &states[name];
    assert_eq!(
        choice("MandatoryDeploymentsDone?")["Choices"],
        json!([{ "Variable": "$.deploy.done", "BooleanEquals": true, "Next": "DetectDrift" }])
    );
    assert_eq!(
        choice("MandatoryDeploymentsDone?")["Default"],
        "WaitForDeployment"
    );
    assert_eq!(
        choice("DeploymentComplete?")["Default"],
        "DeployMandatoryStackSet"
    );
    assert_eq!(
        choice("DriftDetectionsDone?")["Choices"][0]["Next"],
        "PrepareStatus"
    );
    assert_eq!(choice("AnyInstanceToHeal?")["Default"], "DetectDrift");
    assert_eq!(choice("InstancesHealed?")["Choices"][0]["Next"], "DetectDrift");
    assert_eq!(
        choice("DeletionComplete?")["Choices"][1]["Next"],
        "RedeployInstance"
    );
    assert_eq!(
        choice("RedeploymentComplete?")["Default"],
        "DeleteDriftedInstance"
    );
    assert_eq!(
        states["DeleteDriftedInstance"]["Parameters"]["Payload"]["action"],
        "delete"
    );
    assert_eq!(
        states["RedeployInstance"]["Parameters"]["Payload"]["action"],
        "redeploy"
    );
    assert_eq!(def["StartAt"], "InitCleanup");
    assert_eq!(def["TimeoutSeconds"], 23 * 3600);
}

#[test]
fn stack_set_calls_retry_with_backoff_and_failures_are_notified() {
    let asm = app();
    let def = definition(&template_json(&asm, STACKS[1]));
    let states = def["States"].as_object().unwrap();
    let tasks: Vec<(&String, &Json)> = states.iter().filter(|(_, s)| s["Type"] == "Task").collect();
    assert_eq!(tasks.len(), 15);
    for (name, task) in tasks {
        if name.starts_with("Notify") {
            continue;
        }
        let retry = task["Retry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ErrorEquals"] == json!(RETRIED_ERRORS))
            .unwrap_or_else(|| panic!("{name}: no retry of the StackSet concurrency errors"));
        assert!(retry["ErrorEquals"]
            .to_string()
            .contains("OperationInProgressException"));
        assert!(retry["ErrorEquals"]
            .to_string()
            .contains("LimitExceededException"));
        assert_eq!(retry["BackoffRate"], 2.0, "{name}");
        assert_eq!(retry["IntervalSeconds"], 30);
        assert_eq!(retry["MaxAttempts"], 8);
        assert_eq!(retry["MaxDelaySeconds"], 600);
        assert_eq!(retry["JitterStrategy"], "FULL");
        assert_eq!(
            task["Catch"],
            json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "NotifyFailure" }]),
            "{name}"
        );
    }
    assert_eq!(states["NotifyFailure"]["Next"], "HealingFailed");
    assert_eq!(states["HealingFailed"]["Type"], "Fail");
    // The functions raise the retried errors by these names.
    let common = std::fs::read_to_string(stackset_healing::assets_dir().join("lambda/common.py")).unwrap();
    for e in RETRIED_ERRORS {
        assert!(common.contains(&format!("class {e}(Exception)")), "{e}");
    }
}

#[test]
fn states_pass_s3_keys_not_state() {
    let asm = app();
    let def = definition(&template_json(&asm, STACKS[1]));
    let small: BTreeSet<&str> = [
        "stateKey.$",
        "stackSetName.$",
        "operationId.$",
        "action",
        "executionId.$",
        "summary.$",
        "error.$",
    ]
    .into();
    for (name, task) in def["States"].as_object().unwrap() {
        if task["Type"] != "Task" {
            continue;
        }
        let payload = task["Parameters"]["Payload"].as_object().unwrap();
        for (k, v) in payload {
            assert!(small.contains(k.as_str()), "{name} passes {k}");
            assert_ne!(v, "$", "{name} passes the whole input");
        }
        if !name.starts_with("Notify") && name != "InitCleanup" {
            assert_eq!(payload["stateKey.$"], "$.run.stateKey", "{name}");
            // Results are reduced to a few fields.
            assert!(task["ResultSelector"].as_object().unwrap().len() <= 4, "{name}");
        }
    }
    // The state bucket's run objects expire.
    let t = template_json(&asm, STACKS[1]);
    let bucket = &t["Resources"][with_prefix(&t, "AWS::S3::Bucket", "StateBucket")]["Properties"];
    assert_eq!(bucket["LifecycleConfiguration"]["Rules"][0]["Prefix"], "runs/");
    assert_eq!(
        bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"],
        30
    );
}

#[test]
fn the_dashboard_bucket_is_reachable_only_through_the_distribution() {
    let asm = app();
    let t = template_json(&asm, STACKS[1]);
    let bucket = with_prefix(&t, "AWS::S3::Bucket", "DashboardBucket");
    let distribution = with_prefix(&t, "AWS::CloudFront::Distribution", "Dashboard");
    let oac = with_prefix(
        &t,
        "AWS::CloudFront::OriginAccessControl",
        "DashboardOriginAccessControl",
    );
    assert_eq!(
        t["Resources"][&bucket]["Properties"]["PublicAccessBlockConfiguration"],
        json!({ "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true })
    );
    let policy = of_type(&t, "AWS::S3::BucketPolicy")
        .into_iter()
        .find(|(_, p)| p["Properties"]["Bucket"] == json!({ "Ref": bucket }))
        .expect("the dashboard bucket's policy")
        .1;
    let allows: Vec<&Json> = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    assert_eq!(allows.len(), 1);
    assert_eq!(
        allows[0]["Principal"],
        json!({ "Service": "cloudfront.amazonaws.com" })
    );
    assert_eq!(allows[0]["Action"], "s3:GetObject");
    assert_eq!(
        allows[0]["Condition"],
        json!({ "StringEquals": { "AWS:SourceArn": { "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" },
            ":cloudfront::", { "Ref": "AWS::AccountId" }, ":distribution/", { "Ref": distribution }]] } } })
    );
    let config = &t["Resources"][&distribution]["Properties"]["DistributionConfig"];
    assert_eq!(
        config["Origins"][0]["DomainName"],
        json!({ "Fn::GetAtt": [bucket, "RegionalDomainName"] })
    );
    assert_eq!(
        config["Origins"][0]["OriginAccessControlId"],
        json!({ "Fn::GetAtt": [oac, "Id"] })
    );
    assert_eq!(
        config["DefaultCacheBehavior"]["ViewerProtocolPolicy"],
        "redirect-to-https"
    );
    // Only StatusPrepareHTML writes there, and only the two dashboard objects.
    let writers: Vec<String> = functions(&t)
        .into_iter()
        .filter(|(_, statements)| statements.iter().any(|s| s.to_string().contains(&bucket)))
        .map(|(f, _)| f)
        .collect();
    assert_eq!(writers, ["StatusPrepareHTML"]);
}

/// Each function's name prefix and the statements of its role's policy.
fn functions(t: &Json) -> Vec<(String, Vec<Json>)> {
    stackset_healing::HANDLERS
        .iter()
        .map(|(prefix, _)| {
            let f = with_prefix(t, "AWS::Lambda::Function", prefix);
            let role = target(&t["Resources"][&f]["Properties"]["Role"]);
            (prefix.to_string(), role_statements(t, &role))
        })
        .collect()
}

/// The StackSet names in a statement's resources (`...:stackset/<name>:*`).
fn stack_set_names(statement: &Json) -> BTreeSet<String> {
    let text = statement["Resource"].to_string();
    text.split(":stackset/")
        .skip(1)
        .map(|s| s.split(':').next().unwrap().to_string())
        .collect()
}

fn names(of: impl Fn(bool, bool) -> bool) -> BTreeSet<String> {
    STACK_SETS
        .iter()
        .filter(|d| of(d.mandatory, d.self_healing))
        .map(|d| d.name.to_string())
        .collect()
}

#[test]
fn each_function_may_do_only_its_step_on_only_its_stack_sets() {
    let asm = app();
    let t = template_json(&asm, STACKS[1]);
    let fns: BTreeMap<String, Vec<Json>> = functions(&t).into_iter().collect();
    let mandatory = names(|m, _| m);
    let healing = names(|_, h| h);
    let all = names(|_, _| true);
    // Who may call which StackSet action, on which StackSets.
    let mut grants: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (f, statements) in &fns {
        for s in statements {
            assert_eq!(s["Effect"], "Allow");
            // `*` only for the Organizations reads (no ARN without the organisation id).
            if s["Resource"] == "*" {
                assert!(
                    actions(s).iter().all(|a| a.starts_with("organizations:List")),
                    "{f}: {s}"
                );
            }
            for a in actions(s) {
                assert!(!a.ends_with(":*") && a != "*", "{f}: {a}");
                if a.starts_with("cloudformation:") {
                    grants
                        .entry((a, f.clone()))
                        .or_default()
                        .extend(stack_set_names(s));
                }
            }
        }
    }
    let who = |action: &str| -> BTreeMap<String, BTreeSet<String>> {
        grants
            .iter()
            .filter(|((a, _), _)| a == action)
            .map(|((_, f), n)| (f.clone(), n.clone()))
            .collect()
    };
    assert_eq!(
        who("cloudformation:DetectStackSetDrift"),
        BTreeMap::from([("StackSetDriftDetection".to_string(), healing.clone())])
    );
    assert_eq!(
        who("cloudformation:CreateStackInstances"),
        BTreeMap::from([
            ("MandatoryStackSetDeployment".to_string(), mandatory.clone()),
            ("StackSetCleanup".to_string(), healing.clone()),
        ])
    );
    assert_eq!(
        who("cloudformation:DeleteStackInstances"),
        BTreeMap::from([
            ("StackSetCleanup".to_string(), healing.clone()),
            ("StackSetInitCleanup".to_string(), all.clone()),
        ])
    );
    // The organisation's accounts: listed by the cleanup (who left, who is suspended)
    // and walked OU by OU by the mandatory deployment.
    let organizations = |f: &str| -> BTreeSet<String> {
        fns[f]
            .iter()
            .flat_map(actions)
            .filter(|a| a.starts_with("organizations:"))
            .collect()
    };
    assert_eq!(
        organizations("StackSetInitCleanup"),
        BTreeSet::from(["organizations:ListAccounts".to_string()])
    );
    assert_eq!(
        organizations("MandatoryStackSetDeployment"),
        BTreeSet::from([
            "organizations:ListAccountsForParent".to_string(),
            "organizations:ListChildren".to_string()
        ])
    );
    assert_eq!(
        who("cloudformation:DescribeStackSetOperation"),
        BTreeMap::from([("TriggerDriftStatus".to_string(), all.clone())])
    );
    assert!(who("cloudformation:UpdateStackInstances").is_empty());
    assert!(!mandatory.contains("budget-alarm") && !healing.contains("config-recorder-legacy"));
    // Only the first step reads the order parameter (the others read the run state).
    let order_readers: Vec<&String> = fns
        .iter()
        .filter(|(_, st)| {
            st.iter()
                .any(|s| actions(s).iter().any(|a| a == "ssm:GetParameter"))
        })
        .map(|(f, _)| f)
        .collect();
    assert_eq!(order_readers, ["StackSetInitCleanup"]);
    // Only the notifier reads the webhook secret.
    let readers: Vec<&String> = fns
        .iter()
        .filter(|(_, st)| {
            st.iter()
                .any(|s| actions(s).iter().any(|a| a.starts_with("secretsmanager:")))
        })
        .map(|(f, _)| f)
        .collect();
    assert_eq!(readers, ["TeamsNotification"]);
    // Run state: objects under runs/ only.
    for (f, statements) in &fns {
        for s in statements {
            if actions(s)
                .iter()
                .any(|a| a == "s3:PutObject" || a == "s3:GetObject")
                && f != "StatusPrepareHTML"
            {
                assert!(s["Resource"].to_string().contains("/runs/*"), "{f}: {s}");
            }
        }
    }
}

#[test]
fn the_workflow_runs_daily() {
    let asm = app();
    let t = template_json(&asm, STACKS[1]);
    // One scheduled rule (the other rule is the order refresh's, on events).
    let rules: Vec<(&str, &Json)> = of_type(&t, "AWS::Events::Rule")
        .into_iter()
        .filter(|(_, r)| r["Properties"].get("ScheduleExpression").is_some())
        .collect();
    assert_eq!(rules.len(), 1);
    let rule = &rules[0].1["Properties"];
    assert_eq!(rule["ScheduleExpression"], "cron(0 5 * * ? *)");
    let machine = with_prefix(&t, "AWS::StepFunctions::StateMachine", "StateMachine");
    assert_eq!(rule["Targets"][0]["Arn"], json!({ "Ref": machine }));
    // Every handler exists in the package.
    for (_, handler) in stackset_healing::HANDLERS {
        let module = handler.split('.').next().unwrap();
        let code = std::fs::read_to_string(
            stackset_healing::assets_dir()
                .join("lambda")
                .join(format!("{module}.py")),
        )
        .unwrap();
        assert!(code.contains("def handler(event, _context):"), "{module}");
    }
}

/// The functions run in the state machine's order against in-memory fakes of
/// CloudFormation, S3 and SSM (`assets/stackset-healing/tests/test_workflow.py`), reading
/// the order JSON this synthesis wrote. Needs a Python with boto3 (`CAIRN_PYTHON`, which
/// the test command points at its tools' virtualenv, else `python3`): skipped with a note
/// without one, except under CI.
#[test]
fn the_functions_heal_a_drifted_instance_with_the_synthesized_order() {
    use std::process::Command;
    let python = std::env::var("CAIRN_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let has_boto3 = Command::new(&python)
        .args(["-c", "import boto3"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_boto3 {
        assert!(std::env::var_os("CI").is_none(), "python3 with boto3 is needed");
        eprintln!("note: python3 with boto3 not found, the function test is skipped");
        return;
    }
    let asm = app();
    let t = template_json(&asm, STACKS[0]);
    let value = of_type(&t, "AWS::SSM::Parameter")[0].1["Properties"]["Value"]
        .as_str()
        .unwrap()
        .to_string();
    let file = std::env::temp_dir().join(format!("stackset-healing-order-{}.json", std::process::id()));
    std::fs::write(&file, value).unwrap();
    // The StackSets as CloudFormation describes them: name, tags, auto-deployment targets.
    let sets: Vec<Json> = of_type(&t, "AWS::CloudFormation::StackSet")
        .into_iter()
        .map(|(_, r)| {
            let p = &r["Properties"];
            json!({
                "name": p["StackSetName"],
                "tags": p["Tags"],
                "groups": p["StackInstancesGroup"].as_array().unwrap().iter().map(|g| json!({
                    "ous": g["DeploymentTargets"]["OrganizationalUnitIds"],
                    "regions": g["Regions"],
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let sets_file = std::env::temp_dir().join(format!("stackset-healing-sets-{}.json", std::process::id()));
    std::fs::write(&sets_file, serde_json::to_string(&sets).unwrap()).unwrap();
    let out = Command::new(&python)
        .args(["-m", "unittest", "discover", "-s", "tests", "-v"])
        .current_dir(stackset_healing::assets_dir())
        // No __pycache__ in the function code directory (it is the Lambda asset).
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("ORDER_JSON_FILE", &file)
        .env("STACK_SETS_FILE", &sets_file)
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&sets_file);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Ran 13 tests"), "{log}");
    // The order written at run time from the StackSets' tags is the synthesized one.
    assert!(
        log.contains("test_the_refreshed_order_is_the_synthesized_one") && log.contains("... ok"),
        "{log}"
    );
}

/// InitCleanup loops until clean: a deletion it started is polled to completion, then
/// the cleanup is called again with the run's state, and only `done` goes on to the
/// mandatory deployments.
#[test]
fn the_init_cleanup_loops_until_no_stale_instance_is_left() {
    let asm = app();
    let def = definition(&template_json(&asm, STACKS[1]));
    let states = &def["States"];
    assert_eq!(states["InitCleanup"]["Next"], "InitCleanupDone?");
    assert_eq!(
        states["InitCleanup"]["ResultSelector"],
        json!({
            "stateKey.$": "$.Payload.stateKey",
            "done.$": "$.Payload.done",
            "stackSetName.$": "$.Payload.stackSetName",
            "operationId.$": "$.Payload.operationId"
        })
    );
    assert_eq!(
        states["InitCleanupDone?"],
        json!({
            "Type": "Choice",
            "Choices": [{ "Variable": "$.run.done", "BooleanEquals": true, "Next": "DeployMandatoryStackSet" }],
            "Default": "WaitForCleanup"
        })
    );
    assert_eq!(
        states["CleanupStatus"]["Parameters"]["Payload"]["operationId.$"],
        "$.run.operationId"
    );
    assert_eq!(states["CleanupComplete?"]["Default"], "ContinueCleanup");
    assert_eq!(
        states["ContinueCleanup"]["Parameters"]["Payload"],
        json!({ "executionId.$": "$$.Execution.Name", "stateKey.$": "$.run.stateKey" })
    );
    assert_eq!(states["ContinueCleanup"]["Next"], "InitCleanupDone?");
    assert_eq!(states["ContinueCleanup"]["ResultPath"], "$.run");
}

/// The dashboard is not public: a CloudFront Function on every viewer request of the
/// distribution serves only the allowed networks. Its synthesized code, run with node,
/// passes a request from an allowed network through and answers 403 to anyone else.
/// (That the dashboard's objects name no account is test_workflow.py's
/// test_the_dashboard_names_no_account.)
#[test]
fn the_dashboard_is_served_to_the_allowed_networks_only() {
    use std::process::Command;
    let asm = app();
    let t = template_json(&asm, STACKS[1]);
    let distribution = with_prefix(&t, "AWS::CloudFront::Distribution", "Dashboard");
    let (guard_id, guard) = of_type(&t, "AWS::CloudFront::Function")
        .into_iter()
        .next()
        .expect("the dashboard's CloudFront Function");
    assert_eq!(guard["Properties"]["AutoPublish"], true);
    assert_eq!(
        guard["Properties"]["FunctionConfig"]["Runtime"],
        "cloudfront-js-2.0"
    );
    let config = &t["Resources"][&distribution]["Properties"]["DistributionConfig"];
    assert_eq!(
        config["DefaultCacheBehavior"]["FunctionAssociations"],
        json!([{ "EventType": "viewer-request", "FunctionARN": { "Fn::GetAtt": [guard_id, "FunctionARN"] } }])
    );
    // The allow-list is IPv4: no IPv6 viewers.
    assert_eq!(config["IPV6Enabled"], false);
    let code = guard["Properties"]["FunctionCode"].as_str().unwrap();
    assert!(!code.contains("__ALLOWED_CIDRS__"));
    for cidr in stackset_healing::DASHBOARD_ALLOWED_CIDRS {
        assert!(code.contains(cidr), "{cidr}");
    }

    let node = std::env::var("CAIRN_NODE").unwrap_or_else(|_| "node".to_string());
    if Command::new(&node).arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "node is needed");
        eprintln!("note: node not found, the CloudFront Function is not run");
        return;
    }
    let script = format!(
        "{code}\nvar out = {{}};\n['198.51.100.7', '203.0.113.250', '192.0.2.1', '198.51.101.7', '2001:db8::1', 'x'].forEach(function (ip) {{\n  var r = handler({{ viewer: {{ ip: ip }}, request: {{ uri: '/status.json' }} }});\n  out[ip] = r.statusCode || r.uri;\n}});\nconsole.log(JSON.stringify(out));\n"
    );
    let out = Command::new(&node).arg("-e").arg(&script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        results,
        json!({
            "198.51.100.7": "/status.json",
            "203.0.113.250": "/status.json",
            "192.0.2.1": 403,
            "198.51.101.7": 403,
            "2001:db8::1": 403,
            "x": 403
        })
    );
}

/// The order follows tag changes made outside the app: a rule on every succeeded StackSet
/// operation runs StackSetOrderRefresh, which may list and describe the StackSets and
/// write the order parameter (and nothing else). What it writes is checked by
/// test_order_refresh.py against the synthesized order.
#[test]
fn the_order_is_written_again_when_a_stack_set_operation_succeeds() {
    let asm = app();
    let t = template_json(&asm, STACKS[1]);
    let (id, handler) = stackset_healing::ORDER_REFRESH_HANDLER;
    let function = with_prefix(&t, "AWS::Lambda::Function", id);
    let props = &t["Resources"][&function]["Properties"];
    assert_eq!(props["Handler"], handler);
    assert_eq!(
        props["Environment"]["Variables"]["ORDER_PARAMETER"],
        stackset_healing::ORDER_PARAMETER
    );
    let rule = with_prefix(&t, "AWS::Events::Rule", stackset_healing::ORDER_REFRESH_RULE);
    let rule = &t["Resources"][&rule]["Properties"];
    assert_eq!(
        rule["EventPattern"],
        json!({
            "source": ["aws.cloudformation"],
            "detail-type": ["CloudFormation StackSet Operation Status Change"],
            "detail": { "status": ["SUCCEEDED"] }
        })
    );
    assert_eq!(
        rule["Targets"][0]["Arn"],
        json!({ "Fn::GetAtt": [function, "Arn"] })
    );
    let role = target(&props["Role"]);
    let statements = role_statements(&t, &role);
    let granted: BTreeSet<String> = statements.iter().flat_map(actions).collect();
    assert_eq!(
        granted,
        BTreeSet::from([
            "cloudformation:ListStackSets".to_string(),
            "cloudformation:DescribeStackSet".to_string(),
            "cloudformation:ListStackSetAutoDeploymentTargets".to_string(),
            "ssm:PutParameter".to_string(),
            // The dead-letter queue of this asynchronously invoked function.
            "sqs:SendMessage".to_string(),
            "sqs:GetQueueAttributes".to_string(),
            "sqs:GetQueueUrl".to_string(),
        ])
    );
    let dlq = with_prefix(&t, "AWS::SQS::Queue", "OrderRefreshFailures");
    assert_eq!(
        props["DeadLetterConfig"]["TargetArn"],
        json!({ "Fn::GetAtt": [dlq, "Arn"] })
    );
    let put = statements
        .iter()
        .find(|s| actions(s).contains(&"ssm:PutParameter".to_string()))
        .unwrap();
    assert!(put["Resource"].to_string().contains("Fn::ImportValue"), "{put}");
    for s in &statements {
        if s["Resource"] == "*" {
            assert_eq!(actions(s), ["cloudformation:ListStackSets"]);
        }
    }
}

/// The resources of a StackSet template (YAML, two-space indents): each logical id with
/// its lines.
fn template_resources(text: &str) -> Vec<(String, Vec<&str>)> {
    let mut out: Vec<(String, Vec<&str>)> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            inside = line.trim_end() == "Resources:";
            continue;
        }
        if !inside {
            continue;
        }
        match line.strip_prefix("  ") {
            Some(rest) if !rest.starts_with(' ') && rest.trim_end().ends_with(':') => {
                out.push((rest.trim_end().trim_end_matches(':').to_string(), Vec::new()));
            }
            _ => {
                if let Some((_, lines)) = out.last_mut() {
                    lines.push(line);
                }
            }
        }
    }
    out
}

/// A self-healing StackSet is healed by deleting the drifted instance and deploying it
/// again: a resource its template keeps on deletion (`DeletionPolicy: Retain`) under a fixed
/// name would still exist, and the new instance could not create it (the instance would be
/// left failed, as the integration test showed for baseline-logging's log group).
#[test]
fn self_healing_templates_keep_no_named_resource_on_deletion() {
    let dir = stackset_healing::assets_dir().join(stackset_healing::TEMPLATES);
    let mut checked = 0;
    for d in STACK_SETS.iter().filter(|d| d.self_healing) {
        let text = std::fs::read_to_string(dir.join(d.template)).unwrap();
        for (resource, lines) in template_resources(&text) {
            checked += 1;
            let retained = lines.iter().any(|l| l.trim() == "DeletionPolicy: Retain");
            let named: Vec<&str> = lines
                .iter()
                .filter(|l| l.starts_with("      ") && !l.starts_with("       "))
                .filter_map(|l| l.trim().split(':').next())
                .filter(|key| key.ends_with("Name"))
                .collect();
            assert!(
                !retained || named.is_empty(),
                "{}: {resource} is kept on deletion under a fixed name ({named:?}): a heal could not create it again",
                d.name
            );
        }
    }
    assert!(
        checked >= 3,
        "the templates' resources were not found ({checked})"
    );
}
