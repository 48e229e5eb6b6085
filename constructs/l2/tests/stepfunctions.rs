//! Step Functions: realistic graphs rendered to ASL (checked field by field and by
//! asl-validator), the role's exact policy, the synthesized templates against the schemas,
//! cfn-lint and the recommended rules, and every definition error.

use std::time::Duration;

use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
use cairn_constructs::stepfunctions::*;
use cairn_core::{App, Value};
use serde_json::{json, Value as Json};

mod sfn_common;
use sfn_common::*;

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
    // Trusted for this account's state machines only, as aws-cdk-lib writes it.
    let condition =
        &t["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"];
    assert_eq!(
        condition["StringEquals"]["aws:SourceAccount"],
        json!({ "Ref": "AWS::AccountId" })
    );
    assert_eq!(
        condition["ArnLike"]["aws:SourceArn"]["Fn::Join"][1][6],
        ":stateMachine:*"
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
