//! Step Functions: the permissions each integration grants, task resources in the stack's
//! partition, user-defined integrations, grants on a machine, logging and roles, and every
//! definition error (the realistic graphs rendered to ASL are in `stepfunctions.rs`).

use std::time::Duration;

use cairn_constructs::iam::{PolicyStatement, Principal, Role, RoleProps};
use cairn_constructs::logs::{LogGroup, LogGroupProps};
use cairn_constructs::stepfunctions::*;
use cairn_core::{App, CfnResource, Value};
use serde_json::{json, Value as Json};

mod sfn_common;
use sfn_common::*;

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
