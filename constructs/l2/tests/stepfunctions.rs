//! Step Functions: realistic graphs rendered to ASL (checked field by field and by
//! asl-validator), the role's exact policy, the synthesized templates against the schemas,
//! cfn-lint and the recommended rules, and every definition error.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cairn_aspects::{Mode, RuleSet};
use cairn_constructs::iam::{PolicyStatement, Principal, Role, RoleProps};
use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
use cairn_constructs::logs::{LogGroup, LogGroupProps};
use cairn_constructs::stepfunctions::*;
use cairn_core::{App, CfnResource, CloudAssembly, TemplateFormat, Value};
use serde_json::{json, Value as Json};

const PLACEHOLDER_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:placeholder";

// ------------------------------------------------------------------ helpers ----

/// Applies the recommended rules in error mode and the schema validator, then synthesizes.
fn synth(mut app: App) -> CloudAssembly {
    let root = app.root();
    let mut rules = RuleSet::empty();
    for r in cairn_aspects::rules::recommended() {
        rules = rules.rule_boxed(r, Mode::Error);
    }
    rules.apply(&mut app, root);
    app.add_validator_once(cairn_cfn::SchemaValidator::new());
    match app.synth() {
        Ok(asm) => asm,
        Err(e) => panic!("synthesis failed: {e}"),
    }
}

fn template(asm: &CloudAssembly, stack: &str) -> Json {
    asm.stack(stack).expect("stack").template.json().clone()
}

fn only<'a>(asm: &'a CloudAssembly, stack: &str, ty: &str) -> &'a str {
    let ids = asm.stack(stack).expect("stack").resources_of_type(ty);
    assert_eq!(ids.len(), 1, "one {ty} in {stack}: {ids:?}");
    ids[0]
}

/// The state machine's definition as written (placeholders `${Key}` kept).
fn asl(t: &Json, logical_id: &str) -> Json {
    let text = t["Resources"][logical_id]["Properties"]["DefinitionString"]
        .as_str()
        .expect("DefinitionString is a literal string");
    serde_json::from_str(text).expect("DefinitionString is JSON")
}

/// The definition with every substitution replaced as CloudFormation would, with
/// placeholders for references (pseudo parameters become literals).
fn rendered(t: &Json, logical_id: &str) -> Json {
    let props = &t["Resources"][logical_id]["Properties"];
    let mut text = props["DefinitionString"].as_str().expect("string").to_string();
    if let Some(subs) = props["DefinitionSubstitutions"].as_object() {
        for (k, v) in subs {
            text = text.replace(&format!("${{{k}}}"), &render_value(v));
        }
    }
    assert!(!text.contains("${"), "unresolved placeholder in {text}");
    serde_json::from_str(&text).expect("rendered definition is JSON")
}

/// A substitution's value as CloudFormation would resolve it: pseudo parameters become
/// literals (the partition `aws`), `Fn::Join`s are joined, other references placeholders.
fn render_value(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        v if v == &json!({ "Ref": "AWS::Partition" }) => "aws".into(),
        v if v == &json!({ "Ref": "AWS::Region" }) => "us-east-1".into(),
        v if v == &json!({ "Ref": "AWS::AccountId" }) => "123456789012".into(),
        v if v["Fn::Join"].is_array() => {
            let parts = v["Fn::Join"][1].as_array().expect("Fn::Join of a list");
            let delimiter = v["Fn::Join"][0].as_str().expect("delimiter");
            parts.iter().map(render_value).collect::<Vec<_>>().join(delimiter)
        }
        _ => PLACEHOLDER_ARN.into(),
    }
}

/// The ARN of an optimized integration as the definition's substitutions hold it: in the
/// stack's partition.
fn states_arn(integration: &str) -> Json {
    json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, format!(":states:::{integration}")]] })
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("stepfunctions")
        .join(name);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs asl-validator (from `$ASL_VALIDATOR`) on a definition; errors fail the test.
fn asl_validator(name: &str, definition: &Json) {
    let Ok(bin) = std::env::var("ASL_VALIDATOR") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "ASL_VALIDATOR is not set; the test command sets it (scripts/test)"
        );
        eprintln!("note: ASL_VALIDATOR not set, asl-validator skipped for {name} (run scripts/test)");
        return;
    };
    assert!(Path::new(&bin).exists(), "ASL_VALIDATOR={bin} does not exist");
    let file = scratch(&format!("asl-{name}")).join("definition.asl.json");
    std::fs::write(&file, serde_json::to_string_pretty(definition).expect("json")).expect("write");
    let out = Command::new(&bin)
        .arg("--json-path")
        .arg(&file)
        .output()
        .expect("asl-validator runs");
    assert!(
        out.status.success(),
        "asl-validator rejected {name}:\n{}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        serde_json::to_string_pretty(definition).unwrap_or_default()
    );
}

/// Writes the assembly and runs cfn-lint (from `$CFN_LINT`) on every template.
fn cfn_lint(name: &str, asm: &CloudAssembly) {
    let Ok(bin) = std::env::var("CFN_LINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CFN_LINT is not set; the test command sets it (scripts/test)"
        );
        eprintln!("note: CFN_LINT not set, cfn-lint skipped for {name} (run scripts/test)");
        return;
    };
    assert!(Path::new(&bin).exists(), "CFN_LINT={bin} does not exist");
    let dir = scratch(&format!("lint-{name}"));
    asm.write(&dir, TemplateFormat::Json).expect("write assembly");
    let templates: Vec<PathBuf> = asm
        .stacks()
        .iter()
        .map(|s| dir.join(format!("{}.template.json", s.artifact_id)))
        .collect();
    let out = Command::new(&bin)
        .args(&templates)
        .output()
        .expect("cfn-lint runs");
    let code = out.status.code().unwrap_or(1);
    assert!(
        code & 2 == 0 && (code & !(2 | 4 | 8)) == 0,
        "cfn-lint found errors in {name}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Validates every state machine of every stack with asl-validator.
fn validate_all(name: &str, asm: &CloudAssembly) {
    for s in asm.stacks() {
        for id in s.resources_of_type("AWS::StepFunctions::StateMachine") {
            asl_validator(&format!("{name}-{id}"), &rendered(&s.template, id));
        }
    }
}

fn statements(t: &Json, policy: &str) -> Json {
    t["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"].clone()
}

fn logs_statement() -> Json {
    json!({
        "Effect": "Allow",
        "Action": [
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"
        ],
        "Resource": "*"
    })
}

fn instances_arn() -> Value {
    Value::sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*")
}

// ------------------------------------------------------- realistic graphs ----

/// Stops then starts every instance of the input, two at a time, polling the state.
fn instance_cycle() -> Result<Definition, DefinitionError> {
    let mut def = Definition::new();
    def.set_comment("Stop and start instances, two at a time");
    let each = def.add(
        Map::new("ForEachInstance")
            .items_path("$.instanceIds")
            .max_concurrency(2)
            .item_selector(Params::new().path("instanceId", "$$.Map.Item.Value"))
            .result_path("$.results"),
    )?;
    let it = def.item_processor(each)?;
    let ec2 = |name: &str, action: &str, resource: Value| {
        Task::aws_sdk(name, "ec2", action, [resource])
            .parameters(Params::new().path("InstanceIds", "States.Array($.instanceId)"))
    };
    let describe = |name: &str| {
        ec2(name, "describeInstances", Value::from("*"))
            .result_selector(Params::new().path("state", "$.Reservations[0].Instances[0].State.Name"))
            .result_path("$.status")
    };
    let throttled = Retry::on(["Ec2.RequestLimitExceeded"])
        .interval_seconds(5)
        .max_attempts(4)
        .backoff_rate(2.0)
        .max_delay_seconds(60)
        .jitter(true);
    let stop = def.add_in(
        it,
        ec2("StopInstance", "stopInstances", instances_arn())
            .discard_result()
            .retry(throttled.clone()),
    )?;
    let wait_stop = def.add_in(it, Wait::seconds("WaitForStop", 30))?;
    let check_stop = def.add_in(it, describe("DescribeStopping"))?;
    let stopped = def.add_in(it, Choice::new("Stopped?").comment("poll until stopped"))?;
    let start = def.add_in(
        it,
        ec2("StartInstance", "startInstances", instances_arn())
            .discard_result()
            .retry(throttled),
    )?;
    let wait_start = def.add_in(it, Wait::seconds("WaitForStart", 15))?;
    let check_start = def.add_in(it, describe("DescribeStarting"))?;
    let running = def.add_in(it, Choice::new("Running?"))?;
    let cycled = def.add_in(it, Succeed::new("InstanceCycled"))?;
    let broken = def.add_in(
        it,
        Fail::new("InstanceFailed")
            .error("UnexpectedInstanceState")
            .cause("the instance left the stop/start cycle"),
    )?;
    def.chain(stop).next(wait_stop)?.next(check_stop)?.next(stopped)?;
    def.when(
        stopped,
        Condition::string_equals("$.status.state", "stopped"),
        start,
    )?;
    def.when(
        stopped,
        Condition::or([
            Condition::string_equals("$.status.state", "stopping"),
            Condition::string_equals("$.status.state", "running"),
        ]),
        wait_stop,
    )?;
    def.otherwise(stopped, broken)?;
    def.chain(start)
        .next(wait_start)?
        .next(check_start)?
        .next(running)?;
    def.when(
        running,
        Condition::string_equals("$.status.state", "running"),
        cycled,
    )?;
    def.when(
        running,
        Condition::string_equals("$.status.state", "pending"),
        wait_start,
    )?;
    def.otherwise(running, broken)?;

    let failed = def.add(Fail::new("JobFailed").error("JobFailed"))?;
    let done = def.add(Succeed::new("JobDone"))?;
    def.add_catch(each, Catch::all(failed).result_path("$.error"))?;
    def.chain(each).next(done)?;
    Ok(def)
}

#[test]
fn instance_stop_start_job_net() {
    let mut app = App::new();
    let stack = app.stack("Ops").unwrap();
    let def = instance_cycle().unwrap();
    let props = StateMachineProps {
        timeout: Some(Duration::from_secs(2 * 3600)),
        ..StateMachineProps::new(def)
    };
    let machine = StateMachine::new(&mut app, stack, "InstanceCycle", props).unwrap();
    assert!(machine.log_group().is_some());
    let asm = synth(app);
    let t = template(&asm, "Ops");
    let sm = only(&asm, "Ops", "AWS::StepFunctions::StateMachine");
    let a = asl(&t, sm);

    assert_eq!(a["Comment"], "Stop and start instances, two at a time");
    assert_eq!(a["StartAt"], "ForEachInstance");
    assert_eq!(a["TimeoutSeconds"], 7200);
    assert_eq!(
        a["States"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["ForEachInstance", "JobFailed", "JobDone"]
    );
    let map = &a["States"]["ForEachInstance"];
    assert_eq!(map["Type"], "Map");
    assert_eq!(map["ItemsPath"], "$.instanceIds");
    assert_eq!(map["MaxConcurrency"], 2);
    assert_eq!(
        map["ItemSelector"],
        json!({ "instanceId.$": "$$.Map.Item.Value" })
    );
    assert_eq!(map["ResultPath"], "$.results");
    assert_eq!(map["Next"], "JobDone");
    assert_eq!(
        map["Catch"],
        json!([{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "JobFailed" }])
    );
    let proc = &map["ItemProcessor"];
    assert_eq!(proc["ProcessorConfig"], json!({ "Mode": "INLINE" }));
    assert_eq!(proc["StartAt"], "StopInstance");
    let states = &proc["States"];
    assert_eq!(states.as_object().unwrap().len(), 10);
    assert_eq!(
        states["StopInstance"],
        json!({
            "Type": "Task",
            "Resource": "${AwsSdkEc2StopInstances}",
            "Parameters": { "InstanceIds.$": "States.Array($.instanceId)" },
            "ResultPath": null,
            "Retry": [{ "ErrorEquals": ["Ec2.RequestLimitExceeded"], "IntervalSeconds": 5, "MaxAttempts": 4,
                        "BackoffRate": 2, "MaxDelaySeconds": 60, "JitterStrategy": "FULL" }],
            "Next": "WaitForStop"
        })
    );
    // The integration's ARN is in the stack's partition, through a substitution.
    let subs = &t["Resources"][sm]["Properties"]["DefinitionSubstitutions"];
    assert_eq!(
        subs["AwsSdkEc2StopInstances"],
        states_arn("aws-sdk:ec2:stopInstances")
    );
    assert_eq!(
        states["WaitForStop"],
        json!({ "Type": "Wait", "Seconds": 30, "Next": "DescribeStopping" })
    );
    assert_eq!(
        states["DescribeStopping"]["ResultSelector"],
        json!({ "state.$": "$.Reservations[0].Instances[0].State.Name" })
    );
    assert_eq!(
        states["Stopped?"],
        json!({
            "Type": "Choice",
            "Comment": "poll until stopped",
            "Choices": [
                { "Variable": "$.status.state", "StringEquals": "stopped", "Next": "StartInstance" },
                { "Or": [
                    { "Variable": "$.status.state", "StringEquals": "stopping" },
                    { "Variable": "$.status.state", "StringEquals": "running" }
                  ], "Next": "WaitForStop" }
            ],
            "Default": "InstanceFailed"
        })
    );
    assert_eq!(states["Running?"]["Choices"][1]["Next"], "WaitForStart");
    assert_eq!(states["InstanceCycled"], json!({ "Type": "Succeed" }));
    assert_eq!(
        states["InstanceFailed"],
        json!({ "Type": "Fail", "Error": "UnexpectedInstanceState", "Cause": "the instance left the stop/start cycle" })
    );
    assert_eq!(
        a["States"]["JobFailed"],
        json!({ "Type": "Fail", "Error": "JobFailed" })
    );
    // No references but the integrations' ARNs: one substitution each.
    assert_eq!(
        subs,
        &json!({
            "AwsSdkEc2StopInstances": states_arn("aws-sdk:ec2:stopInstances"),
            "AwsSdkEc2DescribeInstances": states_arn("aws-sdk:ec2:describeInstances"),
            "AwsSdkEc2StartInstances": states_arn("aws-sdk:ec2:startInstances")
        })
    );

    // The role: exactly what the tasks and the logging need, deduplicated.
    let policy = only(&asm, "Ops", "AWS::IAM::Policy");
    let instances =
        json!({ "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*" });
    assert_eq!(
        statements(&t, policy),
        json!([
            { "Effect": "Allow", "Action": "ec2:StopInstances", "Resource": instances },
            { "Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*" },
            { "Effect": "Allow", "Action": "ec2:StartInstances", "Resource": instances },
            logs_statement()
        ])
    );
    let role = only(&asm, "Ops", "AWS::IAM::Role");
    assert_eq!(
        t["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        json!({ "Service": "states.amazonaws.com" })
    );
    let props = &t["Resources"][sm]["Properties"];
    assert_eq!(props["RoleArn"], json!({ "Fn::GetAtt": [role, "Arn"] }));
    // The role is referenced by RoleArn: only its policy is a DependsOn (cfn-lint W3005).
    assert_eq!(t["Resources"][sm]["DependsOn"], json!([policy]));

    // Logging by default: ERROR, without execution data, to a created, encrypted group.
    let group = only(&asm, "Ops", "AWS::Logs::LogGroup");
    assert_eq!(
        props["LoggingConfiguration"],
        json!({
            "Destinations": [{ "CloudWatchLogsLogGroup": { "LogGroupArn": { "Fn::GetAtt": [group, "Arn"] } } }],
            "IncludeExecutionData": false,
            "Level": "ERROR"
        })
    );
    let g = &t["Resources"][group];
    assert_eq!(
        g["Properties"]["KmsKeyId"],
        json!({ "Fn::GetAtt": ["LogGroupEncryptionKey", "Arn"] })
    );
    assert_eq!(g["Properties"]["RetentionInDays"], 731);
    assert_eq!(g["DeletionPolicy"], "Retain");
    assert_eq!(
        g["Properties"]["LogGroupName"]["Fn::Join"][1][0],
        "/aws/vendedlogs/states/"
    );
    assert!(props.get("TracingConfiguration").is_none());
    assert!(props.get("StateMachineType").is_none());

    validate_all("instance-cycle", &asm);
    cfn_lint("instance-cycle", &asm);
}

/// A Lambda in another stack prepares the batch; SSM runs the patch and calls back with
/// the task token; retries and catches around both.
fn patch_flow(app: &mut App) -> Definition {
    let producer = app.stack("Functions").unwrap();
    let prepare_fn = Function::new(
        app,
        producer,
        "Prepare",
        FunctionProps::new(
            Runtime::Python3_13,
            "index.handler",
            Code::inline("def handler(e, c):\n    return e\n"),
        ),
    )
    .unwrap();

    let mut def = Definition::new();
    let prepare = def
        .add(
            Task::invoke("PrepareBatch", &prepare_fn)
                .payload(
                    Params::new()
                        .path("instanceIds", "$.instanceIds")
                        .set("dryRun", false),
                )
                .result_selector(Params::new().path("instanceIds", "$.Payload.instanceIds"))
                .result_path("$.prepared")
                .retry(Retry::on(["Lambda.TooManyRequestsException"]).max_attempts(3)),
        )
        .unwrap();
    let command = SendCommand::new("AWS-RunShellScript", Instances::path("$.prepared.instanceIds"))
        .parameters(Params::new().path(
            "commands",
            "States.Array(States.Format('/opt/patch.sh --token {}', $$.Task.Token))",
        ))
        .comment("monthly patch");
    let patch = def
        .add(
            Task::ssm_send_command("RunPatch", command)
                .wait_for_task_token()
                .timeout_seconds(3600)
                .heartbeat_seconds(900)
                .result_path("$.patch")
                .retry(Retry::on([errors::TIMEOUT]).interval_seconds(60).max_attempts(1)),
        )
        .unwrap();
    let failed = def
        .add(
            Fail::new("PatchFailed")
                .error("PatchFailed")
                .cause("the patch run failed or timed out"),
        )
        .unwrap();
    let done = def.add(Succeed::new("Patched")).unwrap();
    def.add_catch(prepare, Catch::all(failed).result_path("$.error"))
        .unwrap();
    def.add_catch(
        patch,
        Catch::on([errors::TIMEOUT, errors::HEARTBEAT_TIMEOUT], failed).result_path("$.timeout"),
    )
    .unwrap();
    def.add_catch(patch, Catch::all(failed).result_path("$.error"))
        .unwrap();
    def.chain(prepare).next(patch).unwrap().next(done).unwrap();
    def
}

#[test]
fn lambda_then_ssm_callback_flow() {
    let mut app = App::new();
    let def = patch_flow(&mut app);
    let consumer = app.stack("Patching").unwrap();
    let machine = StateMachine::new(&mut app, consumer, "Patch", StateMachineProps::new(def)).unwrap();
    // The instance agent returns the token.
    let agent = Role::new(
        &mut app,
        consumer,
        "AgentRole",
        RoleProps::new(Principal::service("ec2.amazonaws.com")),
    )
    .unwrap();
    machine.grant_task_response(&mut app, &agent).unwrap();

    let asm = synth(app);
    let t = template(&asm, "Patching");
    let sm = only(&asm, "Patching", "AWS::StepFunctions::StateMachine");
    let a = asl(&t, sm);
    assert_eq!(a["StartAt"], "PrepareBatch");
    assert_eq!(
        a["States"]["PrepareBatch"],
        json!({
            "Type": "Task",
            "Resource": "${LambdaInvoke}",
            "Parameters": {
                "FunctionName": "${PrepareArn}",
                "Payload": { "instanceIds.$": "$.instanceIds", "dryRun": false }
            },
            "ResultSelector": { "instanceIds.$": "$.Payload.instanceIds" },
            "ResultPath": "$.prepared",
            "Retry": [
                { "ErrorEquals": ["Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException",
                                  "Lambda.AWSLambdaException", "Lambda.SdkClientException"],
                  "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2 },
                { "ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 3 }
            ],
            "Catch": [{ "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "PatchFailed" }],
            "Next": "RunPatch"
        })
    );
    assert_eq!(
        a["States"]["RunPatch"],
        json!({
            "Type": "Task",
            "Resource": "${AwsSdkSsmSendCommandWaitForTaskToken}",
            "Parameters": {
                "DocumentName": "AWS-RunShellScript",
                "InstanceIds.$": "$.prepared.instanceIds",
                "Parameters": { "commands.$": "States.Array(States.Format('/opt/patch.sh --token {}', $$.Task.Token))" },
                "Comment": "monthly patch"
            },
            "ResultPath": "$.patch",
            "TimeoutSeconds": 3600,
            "HeartbeatSeconds": 900,
            "Retry": [{ "ErrorEquals": ["States.Timeout"], "IntervalSeconds": 60, "MaxAttempts": 1 }],
            "Catch": [
                { "ErrorEquals": ["States.Timeout", "States.HeartbeatTimeout"], "ResultPath": "$.timeout", "Next": "PatchFailed" },
                { "ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "PatchFailed" }
            ],
            "Next": "Patched"
        })
    );
    // The function ARN crosses stacks through the substitution.
    let props = &t["Resources"][sm]["Properties"];
    let import = &props["DefinitionSubstitutions"]["PrepareArn"];
    assert!(import.get("Fn::ImportValue").is_some(), "{import}");
    assert_eq!(
        props["DefinitionSubstitutions"],
        json!({
            "LambdaInvoke": states_arn("lambda:invoke"),
            "PrepareArn": import,
            "AwsSdkSsmSendCommandWaitForTaskToken": states_arn("aws-sdk:ssm:sendCommand.waitForTaskToken")
        })
    );

    // Exactly the permissions of the graph (and logging) on exactly its resources.
    let role = machine_role_policy(&asm, &t);
    assert_eq!(
        statements(&t, &role),
        json!([
            { "Effect": "Allow", "Action": "lambda:InvokeFunction",
              "Resource": [import, { "Fn::Join": ["", [import, ":*"]] }] },
            { "Effect": "Allow", "Action": "ssm:SendCommand",
              "Resource": [
                  { "Fn::Sub": ["arn:${AWS::Partition}:ssm:${AWS::Region}::document/${Name}", { "Name": "AWS-RunShellScript" }] },
                  { "Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*" }
              ] },
            logs_statement()
        ])
    );
    // The agent may return the token to this state machine only.
    let agent_policy = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(id, r)| r["Type"] == "AWS::IAM::Policy" && id.starts_with("AgentRole"))
        .map(|(id, _)| id.clone())
        .expect("agent policy");
    assert_eq!(
        statements(&t, &agent_policy),
        json!([{ "Effect": "Allow",
                 "Action": ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                 "Resource": { "Ref": sm } }])
    );

    validate_all("patch-flow", &asm);
    cfn_lint("patch-flow", &asm);
}

/// The default policy of the state machine's own role.
fn machine_role_policy(asm: &CloudAssembly, t: &Json) -> String {
    let stack = asm.stacks().iter().find(|s| &s.template == t).expect("stack");
    stack
        .resources_of_type("AWS::IAM::Policy")
        .into_iter()
        .find(|id| id.contains("RoleDefault") && !id.starts_with("AgentRole"))
        .expect("state machine policy")
        .to_string()
}

/// Every state type, every condition kind, every Wait form, a Parallel with two branches.
#[test]
fn every_state_and_condition_renders_valid_asl() {
    let mut def = Definition::new();
    let shape = def
        .add(
            Pass::new("Shape")
                .parameters(Params::new().path("order", "$.detail").set("source", "cairn"))
                .result_path("$.shaped")
                .comment("reshape"),
        )
        .unwrap();
    let both = def
        .add(
            Parallel::new("Both")
                .result_selector(Params::new().path("left", "$[0]").path("right", "$[1]"))
                .result_path("$.both")
                .retry(Retry::all().max_attempts(2)),
        )
        .unwrap();
    let left = def.branch(both).unwrap();
    let l1 = def
        .add_in(left, Wait::timestamp("UntilNewYear", "2030-01-01T00:00:00Z"))
        .unwrap();
    let l2 = def
        .add_in(
            left,
            Pass::new("LeftDone").result(Value::map([("ok", Value::Bool(true))])),
        )
        .unwrap();
    def.chain(l1).next(l2).unwrap().end().unwrap();
    let right = def.branch(both).unwrap();
    let r1 = def
        .add_in(right, Wait::seconds_path("WaitSome", "$.delay"))
        .unwrap();
    let r2 = def
        .add_in(
            right,
            Wait::timestamp_path("WaitUntil", "$.until").input_path("$"),
        )
        .unwrap();
    let r3 = def
        .add_in(
            right,
            Pass::new("RightDone").discard_result().output_path("$.order"),
        )
        .unwrap();
    def.chain(r1).next(r2).unwrap().next(r3).unwrap().end().unwrap();

    let route = def.add(Choice::new("Route")).unwrap();
    let done = def.add(Succeed::new("Done").output_path("$.both")).unwrap();
    let odd = def.add(Fail::new("Odd")).unwrap();
    let legacy = def
        .add(
            Map::new("Legacy")
                .items_path("$.lines")
                .parameters(
                    Params::new()
                        .path("line", "$$.Map.Item.Value")
                        .path("order", "$.order"),
                )
                .discard_result(),
        )
        .unwrap();
    let each = def.item_processor(legacy).unwrap();
    let line = def.add_in(each, Pass::new("Line")).unwrap();
    def.end(line).unwrap();
    def.add_catch(
        both,
        Catch::on([errors::BRANCH_FAILED], odd).result_path("$.error"),
    )
    .unwrap();
    def.chain(shape)
        .next(both)
        .unwrap()
        .next(legacy)
        .unwrap()
        .next(route)
        .unwrap();
    let conditions = [
        Condition::string_equals("$.a", "x"),
        Condition::string_equals_path("$.a", "$.b"),
        Condition::string_less_than("$.a", "m"),
        Condition::string_less_than_equals("$.a", "m"),
        Condition::string_greater_than("$.a", "m"),
        Condition::string_greater_than_equals_path("$.a", "$.b"),
        Condition::string_matches("$.file", "log-*.txt"),
        Condition::numeric_equals("$.n", 3),
        Condition::numeric_less_than("$.n", 2.5),
        Condition::numeric_greater_than_equals_path("$.n", "$.min"),
        Condition::boolean_equals("$.flag", true),
        Condition::timestamp_greater_than("$.t", "2024-02-29T12:00:00.5+01:00"),
        Condition::timestamp_less_than_equals_path("$.t", "$.deadline"),
        Condition::is_present("$.x"),
        Condition::is_not_null("$.x"),
        Condition::is_numeric("$.n"),
        Condition::is_timestamp("$.t"),
        Condition::and([
            Condition::is_string("$.a"),
            Condition::not(Condition::is_boolean("$.a")),
        ]),
    ];
    for c in conditions {
        def.when(route, c, done).unwrap();
    }
    def.otherwise(route, odd).unwrap();

    let value = def.to_value().unwrap();
    assert!(matches!(value, Value::Map(_)));
    let (text, subs) = def.to_definition_string().unwrap();
    assert!(subs.is_empty());
    let a: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(a["States"]["Both"]["Branches"][0]["StartAt"], "UntilNewYear");
    assert_eq!(
        a["States"]["Both"]["Branches"][1]["States"]["RightDone"]["ResultPath"],
        Json::Null
    );
    assert_eq!(
        a["States"]["Both"]["Branches"][0]["States"]["LeftDone"]["End"],
        true
    );
    assert_eq!(
        a["States"]["Both"]["Retry"],
        json!([{ "ErrorEquals": ["States.ALL"], "MaxAttempts": 2 }])
    );
    let choices = &a["States"]["Route"]["Choices"];
    assert_eq!(choices.as_array().unwrap().len(), 18);
    assert_eq!(
        choices[7],
        json!({ "Variable": "$.n", "NumericEquals": 3, "Next": "Done" })
    );
    assert_eq!(choices[8]["NumericLessThan"], 2.5);
    assert_eq!(choices[9]["NumericGreaterThanEqualsPath"], "$.min");
    assert_eq!(
        choices[17],
        json!({ "And": [
            { "Variable": "$.a", "IsString": true },
            { "Not": { "Variable": "$.a", "IsBoolean": true } }
        ], "Next": "Done" })
    );
    assert_eq!(
        a["States"]["Shape"]["Parameters"],
        json!({ "order.$": "$.detail", "source": "cairn" })
    );
    asl_validator("every-state", &a);
}

// ------------------------------------------------------------ permissions ----

#[test]
fn sync_and_service_integrations_grant_their_extra_permissions() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let child = "arn:aws:states:us-east-1:123456789012:stateMachine:child";
    let project = "arn:aws:codebuild:us-east-1:123456789012:project/build";
    let topic = "arn:aws:sns:us-east-1:123456789012:done";
    let mut def = Definition::new();
    let run = def.add(Task::start_execution("RunChild", child).sync()).unwrap();
    let build = def
        .add(
            Task::service("Build", "codebuild", "startBuild", [project])
                .parameters(Params::new().set("ProjectName", "build"))
                .sync(),
        )
        .unwrap();
    let notify = def
        .add(
            Task::service("Notify", "sns", "publish", [topic])
                .parameters(Params::new().set("TopicArn", topic).path("Message", "$.summary")),
        )
        .unwrap();
    let list = def
        .add(
            Task::aws_sdk("ListReports", "s3", "listObjectsV2", ["arn:aws:s3:::reports"])
                .iam_action("s3:ListBucket")
                .parameters(Params::new().set("Bucket", "reports"))
                .add_policy_statement(
                    PolicyStatement::allow()
                        .actions(["s3:GetObject"])
                        .resource("arn:aws:s3:::reports/*"),
                ),
        )
        .unwrap();
    def.chain(run)
        .next(build)
        .unwrap()
        .next(notify)
        .unwrap()
        .next(list)
        .unwrap()
        .end()
        .unwrap();
    let props = StateMachineProps {
        logs: None,
        tracing: true,
        ..StateMachineProps::new(def)
    };
    StateMachine::new(&mut app, stack, "Pipeline", props).unwrap();
    let asm = synth(app);
    let t = template(&asm, "S");
    let sm = only(&asm, "S", "AWS::StepFunctions::StateMachine");
    let a = rendered(&t, sm);
    assert_eq!(
        a["States"]["RunChild"]["Resource"],
        "arn:aws:states:::states:startExecution.sync:2"
    );
    assert_eq!(
        a["States"]["RunChild"]["Parameters"],
        json!({ "StateMachineArn": child, "Input.$": "$" })
    );
    assert_eq!(
        a["States"]["Build"]["Resource"],
        "arn:aws:states:::codebuild:startBuild.sync"
    );
    assert_eq!(a["States"]["Notify"]["Resource"], "arn:aws:states:::sns:publish");
    assert_eq!(
        a["States"]["ListReports"]["Resource"],
        "arn:aws:states:::aws-sdk:s3:listObjectsV2"
    );
    let rule = |name: &str| {
        json!({ "Effect": "Allow", "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                "Resource": { "Fn::Sub": ["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${Rule}", { "Rule": name }] } })
    };
    let policy = only(&asm, "S", "AWS::IAM::Policy");
    assert_eq!(
        statements(&t, policy),
        json!([
            { "Effect": "Allow", "Action": "states:StartExecution", "Resource": child },
            { "Effect": "Allow", "Action": ["states:DescribeExecution", "states:StopExecution"],
              "Resource": "arn:aws:states:us-east-1:123456789012:execution:child:*" },
            rule("StepFunctionsGetEventsForStepFunctionsExecutionRule"),
            { "Effect": "Allow", "Action": "codebuild:StartBuild", "Resource": project },
            { "Effect": "Allow", "Action": ["codebuild:StopBuild", "codebuild:BatchGetBuilds", "codebuild:BatchGetReports"],
              "Resource": project },
            rule("StepFunctionsGetEventsForCodeBuildStartBuildRule"),
            { "Effect": "Allow", "Action": "sns:Publish", "Resource": topic },
            { "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::reports" },
            { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*" },
            { "Effect": "Allow",
              "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
              "Resource": "*" }
        ])
    );
    let props = &t["Resources"][sm]["Properties"];
    assert_eq!(props["TracingConfiguration"], json!({ "Enabled": true }));
    assert!(props.get("LoggingConfiguration").is_none());
    assert!(asm
        .stack("S")
        .unwrap()
        .resources_of_type("AWS::Logs::LogGroup")
        .is_empty());
    validate_all("pipeline", &asm);
    cfn_lint("pipeline", &asm);
}

#[test]
fn lambda_functions_by_name_by_arn_and_plain_resource() {
    let mut def = Definition::new();
    let by_name = def
        .add(Task::lambda_invoke("ByName", "resize").retry_on_service_exceptions(false))
        .unwrap();
    let by_arn = def
        .add(Task::lambda_function(
            "ByArn",
            "arn:aws:lambda:us-east-1:123456789012:function:thumb",
        ))
        .unwrap();
    let chosen = def
        .add(
            Task::lambda_invoke("Chosen", "arn:aws:lambda:us-east-1:123456789012:function:any")
                .parameters(Params::new().path("FunctionName", "$.fn"))
                .payload_path("$.args")
                .iam_resources(["arn:aws:lambda:us-east-1:123456789012:function:plugin-*"]),
        )
        .unwrap();
    def.chain(by_name)
        .next(by_arn)
        .unwrap()
        .next(chosen)
        .unwrap()
        .end()
        .unwrap();
    let (text, _) = def.to_definition_string().unwrap();
    let a: Json = serde_json::from_str(&text).unwrap();
    assert!(a["States"]["ByName"].get("Retry").is_none());
    assert_eq!(
        a["States"]["ByArn"],
        json!({ "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:thumb", "Next": "Chosen" })
    );
    // The user's `FunctionName.$` replaces the fixed `FunctionName`.
    assert_eq!(
        a["States"]["Chosen"]["Parameters"],
        json!({ "Payload.$": "$.args", "FunctionName.$": "$.fn" })
    );
    let p: Vec<Value> = def
        .policy_statements()
        .iter()
        .map(PolicyStatement::to_value)
        .collect();
    assert_eq!(p.len(), 3);
    let resources = |v: &Value| v.as_map().unwrap()["Resource"].clone();
    assert_eq!(
        resources(&p[0]),
        Value::list([
            Value::sub_with(
                "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Name}",
                [("Name", Value::from("resize"))]
            ),
            Value::sub_with(
                "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Name}:*",
                [("Name", Value::from("resize"))]
            ),
        ])
    );
    assert_eq!(
        resources(&p[1]),
        Value::list([
            Value::from("arn:aws:lambda:us-east-1:123456789012:function:thumb"),
            Value::from("arn:aws:lambda:us-east-1:123456789012:function:thumb:*"),
        ])
    );
    assert_eq!(
        resources(&p[2]),
        Value::from("arn:aws:lambda:us-east-1:123456789012:function:plugin-*")
    );
    asl_validator("lambda-forms", &a);
}

/// No integration ARN is written for one partition: each task's `Resource` is a
/// placeholder for `arn:${AWS::Partition}:states:::...`, so the definition deploys in the
/// China and GovCloud partitions too.
#[test]
fn task_resources_take_the_partition_from_the_stack() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let mut def = Definition::new();
    let tasks = [
        (Task::lambda_invoke("Invoke", "resize"), "lambda:invoke"),
        (
            Task::aws_sdk("Sdk", "ec2", "describeInstances", ["*"]),
            "aws-sdk:ec2:describeInstances",
        ),
        (
            Task::ssm_send_command(
                "Command",
                SendCommand::new("AWS-RunShellScript", Instances::ids(["i-0123456789abcdef0"])),
            ),
            "aws-sdk:ssm:sendCommand",
        ),
        (
            Task::service("Publish", "sns", "publish", ["*"])
                .parameters(Params::new().task_token("token"))
                .wait_for_task_token(),
            "sns:publish.waitForTaskToken",
        ),
        (
            Task::start_execution(
                "Child",
                Value::sub(
                    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:child",
                ),
            )
            .sync(),
            "states:startExecution.sync:2",
        ),
    ];
    let mut expected = Vec::new();
    let mut last: Option<StateRef<Task>> = None;
    for (task, integration) in tasks {
        expected.push((task.name().to_string(), integration));
        let t = def.add(task).unwrap();
        if let Some(prev) = last {
            def.next(prev, t).unwrap();
        }
        last = Some(t);
    }
    def.end(last.unwrap()).unwrap();
    StateMachine::new(&mut app, stack, "M", StateMachineProps::new(def)).unwrap();
    let asm = synth(app);
    let t = template(&asm, "S");
    let sm = only(&asm, "S", "AWS::StepFunctions::StateMachine");
    let text = t["Resources"][sm]["Properties"]["DefinitionString"]
        .as_str()
        .unwrap();
    assert!(!text.contains("arn:aws"), "a partition written by hand: {text}");
    let a = asl(&t, sm);
    let subs = &t["Resources"][sm]["Properties"]["DefinitionSubstitutions"];
    for (name, integration) in expected {
        let placeholder = a["States"][&name]["Resource"].as_str().unwrap();
        let key = placeholder.trim_start_matches("${").trim_end_matches('}');
        assert_eq!(subs[key], states_arn(integration), "{name}");
    }
    validate_all("partition", &asm);
    cfn_lint("partition", &asm);
}

// ------------------------------------------------ a user-defined integration ----

/// An integration the module does not ship: Bedrock `InvokeModel` of one foundation model,
/// with the request body as its payload.
#[derive(Debug)]
struct InvokeModel {
    model: String,
}

impl TaskIntegration for InvokeModel {
    fn name(&self) -> String {
        "bedrock:invokeModel".into()
    }

    fn payload_parameter(&self) -> Option<&str> {
        Some("Body")
    }

    fn bind(&self, task: &TaskContext<'_>) -> Result<IntegrationConfig, DefinitionError> {
        if self.model.is_empty() {
            return Err(task.invalid("ModelId", "", "name a foundation model"));
        }
        let model = cairn_core::Arn::new("bedrock", format!("foundation-model/{}", self.model))
            .no_account()
            .format();
        Ok(IntegrationConfig::new(task.resource("bedrock:invokeModel"))
            .parameters(
                Params::new()
                    .set("ModelId", self.model.as_str())
                    .path("Body", "$"),
            )
            .policy_statement(
                PolicyStatement::allow()
                    .actions([task.iam_action("bedrock:InvokeModel")])
                    .resources(task.iam_resources(vec![model])),
            )
            .retry(Retry::on(["Bedrock.ThrottlingException"]).max_attempts(4)))
    }
}

#[test]
fn a_user_defined_integration_binds_like_the_built_in_ones() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let mut def = Definition::new();
    let summarize = def
        .add(
            Task::new(
                "Summarize",
                InvokeModel {
                    model: "anthropic.claude-v2".into(),
                },
            )
            .payload_path("$.request")
            .parameters(Params::new().set("Accept", "application/json"))
            .result_selector(Params::new().path("summary", "$.Body.completion"))
            .retry(Retry::on([errors::TIMEOUT]).max_attempts(1)),
        )
        .unwrap();
    def.end(summarize).unwrap();

    // Checked when added: the pattern (request-response only by default), and what the
    // integration's own bind refuses, naming the state.
    let mut other = Definition::new();
    let msg = other
        .add(Task::new("S1", InvokeModel { model: "m".into() }).sync())
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "state 'S1': bedrock:invokeModel does not support the .sync (run a job) integration pattern"
    );
    let msg = other
        .add(Task::new("S2", InvokeModel { model: String::new() }))
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "state 'S2': ModelId \"\" is invalid: name a foundation model"
    );
    let msg = other
        .add(Task::new("S3", InvokeModel { model: "m".into() }).iam_resources(Vec::<Value>::new()))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("bedrock:invokeModel needs the IAM resources"),
        "{msg}"
    );

    StateMachine::new(&mut app, stack, "Summaries", StateMachineProps::new(def)).unwrap();
    let asm = synth(app);
    let t = template(&asm, "S");
    let sm = only(&asm, "S", "AWS::StepFunctions::StateMachine");
    let a = rendered(&t, sm);
    assert_eq!(
        a["States"]["Summarize"],
        json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::bedrock:invokeModel",
            // The integration's parameters, the payload over its `Body.$`, then the task's.
            "Parameters": { "ModelId": "anthropic.claude-v2", "Body.$": "$.request", "Accept": "application/json" },
            "ResultSelector": { "summary.$": "$.Body.completion" },
            // The integration's retriers first, then the task's.
            "Retry": [
                { "ErrorEquals": ["Bedrock.ThrottlingException"], "MaxAttempts": 4 },
                { "ErrorEquals": ["States.Timeout"], "MaxAttempts": 1 }
            ],
            "End": true
        })
    );
    // The role gets exactly the statement the integration asked for (and logging's).
    let role = machine_role_policy(&asm, &t);
    assert_eq!(
        statements(&t, &role),
        json!([
            { "Effect": "Allow", "Action": "bedrock:InvokeModel",
              "Resource": { "Fn::Join": ["", [
                  "arn:", { "Ref": "AWS::Partition" }, ":bedrock:", { "Ref": "AWS::Region" },
                  "::foundation-model/anthropic.claude-v2"
              ]] } },
            logs_statement()
        ])
    );
    validate_all("user-integration", &asm);
    cfn_lint("user-integration", &asm);
}

#[test]
fn grants_name_the_state_machine_and_its_executions() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let mut def = Definition::new();
    let p = def.add(Pass::new("P")).unwrap();
    def.end(p).unwrap();
    let machine = StateMachine::new(&mut app, stack, "M", StateMachineProps::new(def)).unwrap();
    let caller = Role::new(
        &mut app,
        stack,
        "Caller",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    machine.grant_start_execution(&mut app, &caller).unwrap();
    machine.grant_read(&mut app, &caller).unwrap();
    let asm = synth(app);
    let t = template(&asm, "S");
    let sm = only(&asm, "S", "AWS::StepFunctions::StateMachine");
    let policy = asm
        .stack("S")
        .unwrap()
        .resources_of_type("AWS::IAM::Policy")
        .into_iter()
        .find(|id| id.starts_with("Caller"))
        .unwrap();
    let executions = json!({ "Fn::Sub": [
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Name}:*",
        { "Name": { "Fn::GetAtt": [sm, "Name"] } }
    ] });
    assert_eq!(
        statements(&t, policy),
        json!([
            { "Effect": "Allow", "Action": "states:StartExecution", "Resource": { "Ref": sm } },
            { "Effect": "Allow", "Action": ["states:ListExecutions", "states:DescribeStateMachine"], "Resource": { "Ref": sm } },
            { "Effect": "Allow", "Action": ["states:DescribeExecution", "states:DescribeStateMachineForExecution", "states:GetExecutionHistory"],
              "Resource": executions },
            { "Effect": "Allow", "Action": ["states:ListStateMachines", "states:ListActivities"], "Resource": "*" }
        ])
    );
    // A Pass-only machine still gets a role policy: the logging permissions.
    let own = asm
        .stack("S")
        .unwrap()
        .resources_of_type("AWS::IAM::Policy")
        .into_iter()
        .find(|id| id.starts_with('M'))
        .unwrap();
    assert_eq!(statements(&t, own), json!([logs_statement()]));
    cfn_lint("grants", &asm);
}

#[test]
fn express_machines_logs_elsewhere_and_a_given_role() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let group = LogGroup::new(&mut app, stack, "Audit", LogGroupProps::default()).unwrap();
    let role = Role::new(
        &mut app,
        stack,
        "Shared",
        RoleProps::new(Principal::service("states.amazonaws.com")),
    )
    .unwrap();
    let mut def = Definition::new();
    let call = def
        .add(Task::lambda_invoke(
            "Call",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
        ))
        .unwrap();
    def.end(call).unwrap();
    let props = StateMachineProps {
        state_machine_type: StateMachineType::Express,
        logs: Some(LogOptions {
            include_execution_data: true,
            ..LogOptions::to(&group, LogLevel::All)
        }),
        role: Some(role),
        state_machine_name: Some("fast".into()),
        ..StateMachineProps::new(def)
    };
    let machine = StateMachine::new(&mut app, stack, "Fast", props).unwrap();
    assert!(machine.log_group().is_none());
    let asm = synth(app);
    let t = template(&asm, "S");
    let sm = only(&asm, "S", "AWS::StepFunctions::StateMachine");
    let props = &t["Resources"][sm]["Properties"];
    assert_eq!(props["StateMachineType"], "EXPRESS");
    assert_eq!(props["StateMachineName"], "fast");
    assert_eq!(props["LoggingConfiguration"]["Level"], "ALL");
    assert_eq!(props["LoggingConfiguration"]["IncludeExecutionData"], true);
    let group_id = only(&asm, "S", "AWS::Logs::LogGroup");
    assert_eq!(
        props["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"],
        json!({ "Fn::GetAtt": [group_id, "Arn"] })
    );
    // The given role got the permissions; only its policy is waited for.
    let policy = only(&asm, "S", "AWS::IAM::Policy");
    assert!(policy.starts_with("Shared"), "{policy}");
    assert_eq!(t["Resources"][sm]["DependsOn"], json!([policy]));
    assert_eq!(statements(&t, policy)[0]["Action"], "lambda:InvokeFunction");
    validate_all("express", &asm);
    cfn_lint("express", &asm);
}

#[test]
fn logging_off_needs_no_log_group_or_permissions() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let mut def = Definition::new();
    let p = def.add(Pass::new("P")).unwrap();
    def.end(p).unwrap();
    let props = StateMachineProps {
        logs: Some(LogOptions {
            level: LogLevel::Off,
            ..LogOptions::default()
        }),
        ..StateMachineProps::new(def)
    };
    StateMachine::new(&mut app, stack, "Quiet", props).unwrap();
    let asm = synth(app);
    let t = template(&asm, "S");
    let sm = only(&asm, "S", "AWS::StepFunctions::StateMachine");
    assert_eq!(
        t["Resources"][sm]["Properties"]["LoggingConfiguration"],
        json!({ "Level": "OFF" })
    );
    assert!(asm
        .stack("S")
        .unwrap()
        .resources_of_type("AWS::IAM::Policy")
        .is_empty());
    assert!(asm
        .stack("S")
        .unwrap()
        .resources_of_type("AWS::Logs::LogGroup")
        .is_empty());
    cfn_lint("quiet", &asm);
}

/// The state machine depends on its role construct, expanded at synthesis: a policy that
/// only a later grant creates is waited for too, with a created role or a given one.
#[test]
fn a_grant_added_after_the_state_machine_is_waited_for() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let quiet = || {
        let mut def = Definition::new();
        let p = def.add(Pass::new("P")).unwrap();
        def.end(p).unwrap();
        StateMachineProps {
            logs: Some(LogOptions {
                level: LogLevel::Off,
                ..LogOptions::default()
            }),
            ..StateMachineProps::new(def)
        }
    };
    // Neither role has a policy when its state machine is created.
    let own = StateMachine::new(&mut app, stack, "Own", quiet()).unwrap();
    let given_role = Role::new(
        &mut app,
        stack,
        "Given",
        RoleProps::new(Principal::service("states.amazonaws.com")),
    )
    .unwrap();
    let given = StateMachine::new(
        &mut app,
        stack,
        "WithRole",
        StateMachineProps {
            role: Some(given_role),
            ..quiet()
        },
    )
    .unwrap();
    assert!(own.role().default_policy(&app).is_none());
    assert!(given_role.default_policy(&app).is_none());
    // Grants after the fact create the default policies.
    let reports = cairn_constructs::s3::Bucket::new(
        &mut app,
        stack,
        "Reports",
        cairn_constructs::s3::BucketProps::default(),
    )
    .unwrap();
    reports.grant_read(&mut app, &own).unwrap();
    given
        .add_to_role_policy(
            &mut app,
            PolicyStatement::allow()
                .actions(["sqs:SendMessage"])
                .resource("arn:aws:sqs:us-east-1:123456789012:jobs"),
        )
        .unwrap();

    let asm = synth(app);
    let t = template(&asm, "S");
    let machines = asm
        .stack("S")
        .unwrap()
        .resources_of_type("AWS::StepFunctions::StateMachine");
    assert_eq!(machines.len(), 2);
    for sm in machines {
        let role_id = t["Resources"][sm]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
            .as_str()
            .expect("RoleArn is the role's Arn")
            .to_string();
        let policies: Vec<&String> = t["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| {
                r["Type"] == "AWS::IAM::Policy" && r["Properties"]["Roles"] == json!([{ "Ref": role_id }])
            })
            .map(|(id, _)| id)
            .collect();
        assert_eq!(policies.len(), 1, "{sm}: {policies:?}");
        // Only the policy: the role itself is referenced by RoleArn.
        assert_eq!(t["Resources"][sm]["DependsOn"], json!([policies[0]]), "{sm}");
    }
    cfn_lint("late-grants", &asm);
}

#[test]
fn substitution_keys_avoid_literal_placeholder_text() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let target = app
        .add(
            stack,
            "Process",
            CfnResource::new("AWS::SNS::Topic").with("KmsMasterKeyId", "alias/aws/sns"),
        )
        .unwrap();
    let mut def = Definition::new();
    let pass = def
        .add(Pass::new("Literal").result(Value::map([("text", Value::from("${Process} stays"))])))
        .unwrap();
    let publish = def
        .add(
            Task::service("Publish", "sns", "publish", [target.ref_()]).parameters(
                Params::new()
                    .set("TopicArn", target.ref_())
                    .path("Message", "$.text"),
            ),
        )
        .unwrap();
    def.chain(pass).next(publish).unwrap().end().unwrap();
    StateMachine::new(&mut app, stack, "M", StateMachineProps::new(def)).unwrap();
    let asm = synth(app);
    let t = template(&asm, "S");
    let sm = only(&asm, "S", "AWS::StepFunctions::StateMachine");
    let a = asl(&t, sm);
    assert_eq!(a["States"]["Literal"]["Result"]["text"], "${Process} stays");
    assert_eq!(a["States"]["Publish"]["Parameters"]["TopicArn"], "${Process1}");
    assert_eq!(
        t["Resources"][sm]["Properties"]["DefinitionSubstitutions"],
        json!({ "SnsPublish": states_arn("sns:publish"), "Process1": { "Ref": "Process" } })
    );
}

// ----------------------------------------------------------------- errors ----

fn end_pass(def: &mut Definition, name: &str) -> StateRef<Pass> {
    let p = def.add(Pass::new(name)).unwrap();
    def.end(p).unwrap();
    p
}

#[test]
fn duplicate_names_say_where_both_are() {
    let mut def = Definition::new();
    let each = def.add(Map::new("Each")).unwrap();
    let body = def.item_processor(each).unwrap();
    def.add_in(body, Pass::new("Work")).unwrap();
    let err = def.add(Pass::new("Work")).unwrap_err();
    assert_eq!(
        err,
        DefinitionError::DuplicateStateName {
            name: "Work".into(),
            first: "the item processor of Map 'Each'".into(),
            second: "the top level".into(),
        }
    );
    assert!(
        err.to_string().contains("unique in the whole state machine"),
        "{err}"
    );
    let err = def.add(Pass::new(&"x".repeat(81))).unwrap_err();
    assert!(matches!(err, DefinitionError::InvalidStateName { .. }), "{err}");
    assert!(matches!(
        def.add(Pass::new("")).unwrap_err(),
        DefinitionError::InvalidStateName { .. }
    ));
}

#[test]
fn graph_errors() {
    // Empty.
    assert_eq!(Definition::new().validate(), Err(DefinitionError::Empty));

    // Unreachable.
    let mut def = Definition::new();
    end_pass(&mut def, "Start");
    end_pass(&mut def, "Island");
    let err = def.validate().unwrap_err();
    assert_eq!(
        err.to_string(),
        "state 'Island' in the top level is unreachable from the start state 'Start'; connect it with next, when, otherwise or a catch, or remove it"
    );

    // Missing transition, inside a branch.
    let mut def = Definition::new();
    let par = def.add(Parallel::new("Fan")).unwrap();
    def.end(par).unwrap();
    let b = def.branch(par).unwrap();
    def.add_in(b, Pass::new("Dangling")).unwrap();
    assert_eq!(
        def.validate().unwrap_err(),
        DefinitionError::MissingTransition {
            name: "Dangling".into(),
            scope: "branch 1 of Parallel 'Fan'".into()
        }
    );

    // A Choice without branches.
    let mut def = Definition::new();
    let c = def.add(Choice::new("Decide")).unwrap();
    let done = def.add(Succeed::new("Done")).unwrap();
    def.otherwise(c, done).unwrap();
    assert_eq!(
        def.validate().unwrap_err(),
        DefinitionError::ChoiceWithoutBranch {
            name: "Decide".into()
        }
    );

    // Parallel without branches, Map without processor, empty branch.
    let mut def = Definition::new();
    let p = def.add(Parallel::new("P")).unwrap();
    def.end(p).unwrap();
    assert_eq!(
        def.validate().unwrap_err(),
        DefinitionError::ParallelWithoutBranch { name: "P".into() }
    );
    def.branch(p).unwrap();
    assert_eq!(
        def.validate().unwrap_err(),
        DefinitionError::EmptyScope {
            scope: "branch 1 of Parallel 'P'".into()
        }
    );
    let mut def = Definition::new();
    let m = def.add(Map::new("M")).unwrap();
    def.end(m).unwrap();
    assert_eq!(
        def.validate().unwrap_err(),
        DefinitionError::MapWithoutProcessor { name: "M".into() }
    );

    // A loop that never ends.
    let mut def = Definition::new();
    let a = def.add(Wait::seconds("A", 1)).unwrap();
    let b = def.add(Wait::seconds("B", 1)).unwrap();
    def.chain(a).next(b).unwrap().next(a).unwrap();
    assert_eq!(
        def.validate().unwrap_err(),
        DefinitionError::NoTerminalState {
            scope: "the top level".into()
        }
    );
    // StateMachine::new reports it as invalid props of the state machine, its path once.
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let err = StateMachine::new(&mut app, stack, "Loop", StateMachineProps::new(def)).unwrap_err();
    assert!(
        matches!(&err, cairn_core::Error::InvalidProps { path, .. } if path == "S/Loop"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "'S/Loop': invalid definition: the top level has no terminal state (Succeed, Fail, or a state ended with .end()): its executions could never finish"
    );
}

#[test]
fn transition_errors() {
    let mut def = Definition::new();
    let a = def.add(Pass::new("A")).unwrap();
    let b = def.add(Pass::new("B")).unwrap();
    let c = def.add(Pass::new("C")).unwrap();
    def.next(a, b).unwrap();
    def.next(a, b).unwrap(); // the same again is fine
    let err = def.next(a, c).unwrap_err();
    assert_eq!(
        err.to_string(),
        "state 'A' already goes to 'B'; it cannot also go to 'C'"
    );
    assert!(matches!(
        def.end(a),
        Err(DefinitionError::TransitionAlreadySet { .. })
    ));
    def.end(c).unwrap();
    assert!(matches!(
        def.next(c, a),
        Err(DefinitionError::TransitionAlreadySet { .. })
    ));

    // Into a branch from outside.
    let p = def.add(Parallel::new("P")).unwrap();
    let branch = def.branch(p).unwrap();
    let inner = def.add_in(branch, Pass::new("Inner")).unwrap();
    let err = def.next(b, inner).unwrap_err();
    assert_eq!(
        err,
        DefinitionError::CrossScopeTransition {
            from: "B".into(),
            from_scope: "the top level".into(),
            to: "Inner".into(),
            to_scope: "branch 1 of Parallel 'P'".into()
        }
    );
    // A catch that leaves its branch.
    let t = def
        .add_in(
            branch,
            Task::lambda_invoke("T", "arn:aws:lambda:us-east-1:123456789012:function:f"),
        )
        .unwrap();
    let err = def.add_catch(t, Catch::all(c)).unwrap_err();
    assert!(
        err.to_string().contains("transitions stay within one branch"),
        "{err}"
    );

    // Handles of another definition.
    let mut other = Definition::new();
    let foreign = other.add(Pass::new("Foreign")).unwrap();
    assert_eq!(
        def.next(b, foreign).unwrap_err(),
        DefinitionError::ForeignHandle { what: "a state" }
    );
    assert!(matches!(
        def.add_in(other.top(), Pass::new("Z")),
        Err(DefinitionError::ForeignHandle { what: "a scope" })
    ));
    // Choice default set twice.
    let choice = def.add(Choice::new("Ch")).unwrap();
    def.otherwise(choice, a).unwrap();
    assert!(matches!(
        def.otherwise(choice, b),
        Err(DefinitionError::TransitionAlreadySet { .. })
    ));
}

#[test]
fn state_field_errors() {
    let f = "arn:aws:lambda:us-east-1:123456789012:function:f";
    let mut def = Definition::new();
    let err = |r: Result<StateRef<Task>, DefinitionError>| r.unwrap_err().to_string();

    // Retriers and catchers: States.ALL last and alone, sane numbers.
    let msg = err(def.add(
        Task::lambda_invoke("R1", f)
            .retry(Retry::all())
            .retry(Retry::on(["X"])),
    ));
    assert_eq!(
        msg,
        "state 'R1', retrier 2: the one with States.ALL must be the last"
    );
    let msg = err(def.add(Task::lambda_invoke("R2", f).retry(Retry::on(["States.ALL", "X"]))));
    assert!(msg.contains("States.ALL must be the only error"), "{msg}");
    let msg = err(def.add(Task::lambda_invoke("R3", f).retry(Retry::on(["X"]).backoff_rate(0.5))));
    assert!(
        msg.contains("BackoffRate 0.5 must be a number of at least 1.0"),
        "{msg}"
    );
    let msg = err(def.add(Task::lambda_invoke("R4", f).retry(Retry::default())));
    assert!(msg.contains("ErrorEquals is empty"), "{msg}");
    let msg = err(def.add(Task::lambda_invoke("R5", f).retry(Retry::on(["X"]).interval_seconds(0))));
    assert!(msg.contains("IntervalSeconds must be at least 1"), "{msg}");
    let fail = def.add(Fail::new("F")).unwrap();
    let t = def.add(Task::lambda_invoke("C1", f)).unwrap();
    def.add_catch(t, Catch::all(fail)).unwrap();
    let msg = def.add_catch(t, Catch::on(["X"], fail)).unwrap_err().to_string();
    assert_eq!(
        msg,
        "state 'C1', catcher 1: the one with States.ALL must be the last"
    );

    // Task tokens, patterns, timeouts.
    let msg = err(def.add(Task::lambda_invoke("W1", f).wait_for_task_token()));
    assert!(
        msg.starts_with("state 'W1' waits for a task token but never passes it on"),
        "{msg}"
    );
    def.add(
        Task::lambda_invoke("W2", f)
            .payload(Params::new().task_token("token"))
            .wait_for_task_token(),
    )
    .unwrap();
    let msg = err(def.add(Task::lambda_invoke("S1", f).sync()));
    assert_eq!(
        msg,
        "state 'S1': lambda:invoke does not support the .sync (run a job) integration pattern"
    );
    let msg = err(def.add(Task::lambda_function("S2", f).wait_for_task_token()));
    assert!(msg.contains("a Lambda function ARN does not support"), "{msg}");
    let msg = err(def.add(Task::service("S3", "sns", "publish", ["*"]).sync()));
    assert!(msg.contains("sns:publish does not support"), "{msg}");
    let msg = err(def.add(
        Task::lambda_invoke("H1", f)
            .timeout_seconds(60)
            .heartbeat_seconds(60),
    ));
    assert_eq!(
        msg,
        "state 'H1': HeartbeatSeconds \"60\" is invalid: it must be smaller than TimeoutSeconds (60)"
    );
    let msg = err(def.add(Task::aws_sdk(
        "I1",
        "ec2",
        "describeInstances",
        Vec::<Value>::new(),
    )));
    assert!(msg.contains("needs the IAM resources it acts on"), "{msg}");
    let msg = err(def.add(Task::aws_sdk("I2", "ec2", "DescribeInstances", ["*"])));
    assert!(msg.contains("camelCase"), "{msg}");

    // Paths and payload templates.
    let msg = err(def.add(Task::lambda_invoke("P1", f).result_path("status")));
    assert_eq!(
        msg,
        "state 'P1': ResultPath \"status\" is invalid: paths start with '$' (e.g. \"$.status\")"
    );
    let msg = err(def.add(Task::lambda_invoke("P2", f).payload(Value::map([("id.$", Value::from("id"))]))));
    assert!(
        msg.contains("Parameters.Payload.id.$") || msg.contains("Parameters.id.$"),
        "{msg}"
    );
    let msg = err(def.add(Task::lambda_invoke("P3", f).result_selector(Value::from("x"))));
    assert!(msg.contains("a payload template is an object"), "{msg}");
    let msg = def
        .add(Wait::timestamp("T1", "tomorrow"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("RFC 3339"), "{msg}");
    let msg = def
        .add(
            Map::new("M1")
                .item_selector(Params::new())
                .parameters(Params::new()),
        )
        .unwrap_err()
        .to_string();
    assert!(msg.contains("set only one"), "{msg}");

    // Conditions are checked when added.
    let choice = def.add(Choice::new("Ch")).unwrap();
    let msg = def
        .when(choice, Condition::string_equals("status", "x"), fail)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("Variable \"status\" is invalid"), "{msg}");
    let msg = def
        .when(choice, Condition::timestamp_equals("$.t", "2024-13"), fail)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("TimestampEquals"), "{msg}");
    assert!(def.when(choice, Condition::and([]), fail).is_err());
    assert!(def
        .when(choice, Condition::numeric_equals("$.n", f64::NAN), fail)
        .is_err());
}

#[test]
fn express_machines_refuse_waiting_tasks() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let mut def = Definition::new();
    let t = def
        .add(Task::start_execution("Child", "arn:aws:states:us-east-1:123456789012:stateMachine:c").sync())
        .unwrap();
    def.end(t).unwrap();
    let props = StateMachineProps {
        state_machine_type: StateMachineType::Express,
        ..StateMachineProps::new(def.clone())
    };
    let err = StateMachine::new(&mut app, stack, "Fast", props).unwrap_err();
    assert_eq!(
        err.to_string(),
        "'S/Fast': the state machine is EXPRESS, but state 'Child' uses the .sync (run a job) integration pattern, which only STANDARD state machines support; make it STANDARD or the task request-response"
    );
    let props = StateMachineProps {
        timeout: Some(Duration::from_millis(10)),
        ..StateMachineProps::new(def)
    };
    let err = StateMachine::new(&mut app, stack, "Short", props).unwrap_err();
    assert_eq!(
        err.to_string(),
        "'S/Short': the timeout must be at least one second"
    );
}
