//! lambda::Function: defaults, code from assets, props, validation, grants, permissions
//! and every event source, with the schema validator and the recommended rules.

mod common;
use common::{cfn_lint, checked_app, of_type, synth};

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn_constructs::dynamodb::{Attribute, StreamViewType, Table, TableProps};
use cairn_constructs::events::Schedule;
use cairn_constructs::iam::{Principal, Role, RoleImportOptions, RoleProps};
use cairn_constructs::lambda::{
    Architecture, Code, DynamoDbEventSource, EventSource, Function, FunctionProps, Runtime, S3EventSource,
    SnsEventSource, SqsEventSource, StartingPosition,
};
use cairn_constructs::logs::RetentionDays;
use cairn_constructs::s3::{Bucket, BucketProps, EventType, NotificationKeyFilter};
use cairn_constructs::sns::{Topic, TopicProps};
use cairn_constructs::sqs::{Queue, QueueProps};
use cairn_core::{App, CloudAssembly, Error, TemplateFormat, Value};
use serde_json::{json, Value as Json};

fn inline() -> FunctionProps {
    FunctionProps::new(
        Runtime::Python3_12,
        "index.handler",
        Code::inline("def handler(event, context):\n    return event\n"),
    )
}

fn template(asm: &CloudAssembly) -> Json {
    asm.stack("S").unwrap().template.json().clone()
}

/// The single resource of a type: (logical id, resource).
fn one<'a>(t: &'a Json, ty: &str) -> (&'a str, &'a Json) {
    let all = of_type(t, ty);
    assert_eq!(all.len(), 1, "one {ty} expected, found {}", all.len());
    (all[0].0.as_str(), all[0].1)
}

/// The statements of the function role's default policy.
fn role_statements(t: &Json) -> Vec<Json> {
    let (_, p) = one(t, "AWS::IAM::Policy");
    p["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .clone()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-l2-lambda-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn defaults_create_a_role_a_retained_encrypted_log_group_and_pass_the_rules() {
    let (mut app, stack, findings) = checked_app();
    let f = Function::new(&mut app, stack, "Handler", inline()).unwrap();
    let asm = synth(&mut app, &findings);
    let t = template(&asm);

    let (fid, function) = one(&t, "AWS::Lambda::Function");
    assert!(fid.starts_with("Handler"), "{fid}");
    let (rid, role) = one(&t, "AWS::IAM::Role");
    assert!(rid.starts_with("HandlerServiceRole"), "{rid}");
    assert_eq!(
        function["Properties"],
        json!({
            "Code": { "ZipFile": "def handler(event, context):\n    return event\n" },
            "Handler": "index.handler",
            "Role": { "Fn::GetAtt": [rid, "Arn"] },
            "Runtime": "python3.12"
        })
    );
    // The role is referenced (GetAtt), so it is not repeated in DependsOn (cfn-lint W3005).
    assert_eq!(function.get("DependsOn"), None);
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"],
        json!([{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }])
    );
    assert_eq!(
        role["Properties"]["ManagedPolicyArns"],
        json!([{ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]] }])
    );

    let (_, group) = one(&t, "AWS::Logs::LogGroup");
    assert_eq!(group["DeletionPolicy"], "Retain");
    assert_eq!(group["UpdateReplacePolicy"], "Retain");
    assert_eq!(
        group["Properties"],
        json!({
            "KmsKeyId": { "Fn::GetAtt": ["LogGroupEncryptionKey", "Arn"] },
            "LogGroupName": { "Fn::Join": ["", ["/aws/lambda/", { "Ref": fid }]] },
            "RetentionInDays": 731
        })
    );
    let (kid, key) = one(&t, "AWS::KMS::Key");
    assert_eq!(kid, "LogGroupEncryptionKey");
    assert_eq!(key["Properties"]["EnableKeyRotation"], true);
    assert_eq!(
        f.log_group(&app).map(|n| app.path(n)),
        Some("S/Handler/LogGroup".to_string())
    );
    assert_eq!(f.function_arn(), Value::get_att(f.resource().node(), "Arn"));
    assert_eq!(f.function_name(), Value::reference(f.resource().node()));
}

#[test]
fn props_reach_the_template() {
    let (mut app, stack, findings) = checked_app();
    let mut env = indexmap::IndexMap::new();
    env.insert("TABLE".to_string(), Value::from("orders"));
    let dlq = Queue::new(&mut app, stack, "Dlq", QueueProps::default()).unwrap();
    let f = Function::new(
        &mut app,
        stack,
        "Worker",
        FunctionProps {
            environment: env,
            timeout: Some(Duration::from_secs(60)),
            memory_size: Some(1024),
            description: Some("does work".into()),
            function_name: Some("worker".into()),
            reserved_concurrency: Some(5),
            architecture: Architecture::Arm64,
            log_retention: Some(RetentionDays::OneWeek),
            dead_letter_queue: Some(dlq.into()),
            ..FunctionProps::new(
                Runtime::Nodejs22x,
                "index.handler",
                Code::inline("exports.handler = async () => 1;"),
            )
        },
    )
    .unwrap();
    f.add_environment(&mut app, "STAGE", Value::from("prod")).unwrap();
    f.add_environment(&mut app, "TABLE", Value::from("orders-v2"))
        .unwrap();
    let asm = synth(&mut app, &findings);
    let t = template(&asm);
    let (_, function) = one(&t, "AWS::Lambda::Function");
    let p = &function["Properties"];
    assert_eq!(p["Runtime"], "nodejs22.x");
    assert_eq!(p["Timeout"], 60);
    assert_eq!(p["MemorySize"], 1024);
    assert_eq!(p["Description"], "does work");
    assert_eq!(p["FunctionName"], "worker");
    assert_eq!(p["ReservedConcurrentExecutions"], 5);
    assert_eq!(p["Architectures"], json!(["arm64"]));
    assert_eq!(
        p["Environment"],
        json!({ "Variables": { "TABLE": "orders-v2", "STAGE": "prod" } })
    );
    let (dlq_id, _) = one(&t, "AWS::SQS::Queue");
    assert_eq!(
        p["DeadLetterConfig"],
        json!({ "TargetArn": { "Fn::GetAtt": [dlq_id, "Arn"] } })
    );
    let (_, group) = one(&t, "AWS::Logs::LogGroup");
    assert_eq!(group["Properties"]["LogGroupName"], "/aws/lambda/worker");
    assert_eq!(group["Properties"]["RetentionInDays"], 7);
    let statements = role_statements(&t);
    assert!(
        statements.iter().any(|s| s["Action"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("sqs:SendMessage")))
            && s["Resource"] == json!({ "Fn::GetAtt": [dlq_id, "Arn"] })),
        "{statements:?}"
    );
    // The function waits for the policy granting the DLQ.
    let deps = function["DependsOn"].as_array().unwrap();
    let (pid, _) = one(&t, "AWS::IAM::Policy");
    assert!(deps.contains(&json!(pid)), "{deps:?}");
}

#[test]
fn invalid_props_are_errors_naming_the_function() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let cases: Vec<(&str, FunctionProps, &str)> = vec![
        (
            "T0",
            FunctionProps {
                timeout: Some(Duration::ZERO),
                ..inline()
            },
            "timeout",
        ),
        (
            "T1",
            FunctionProps {
                timeout: Some(Duration::from_secs(901)),
                ..inline()
            },
            "900 s",
        ),
        (
            "T2",
            FunctionProps {
                timeout: Some(Duration::from_millis(1500)),
                ..inline()
            },
            "whole seconds",
        ),
        (
            "M",
            FunctionProps {
                memory_size: Some(64),
                ..inline()
            },
            "memory_size",
        ),
        (
            "J",
            FunctionProps::new(Runtime::Java21, "a.B::handle", Code::inline("class B {}")),
            "inline code",
        ),
        (
            "H",
            FunctionProps {
                handler: String::new(),
                ..inline()
            },
            "handler",
        ),
    ];
    for (id, props, needle) in cases {
        let err = Function::new(&mut app, stack, id, props).unwrap_err();
        assert!(matches!(err, Error::InvalidProps { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("'S/{id}'")) && msg.contains(needle),
            "{msg}"
        );
    }
    let missing = std::env::temp_dir().join("cairn-no-such-function-code");
    let err = Function::new(
        &mut app,
        stack,
        "Missing",
        FunctionProps::new(Runtime::Python3_13, "index.handler", Code::from_asset(&missing)),
    )
    .unwrap_err();
    assert!(matches!(err, Error::AssetNotFound { .. }), "{err}");
    assert!(
        err.to_string().contains("'S/Missing'") && err.to_string().contains(&missing.display().to_string())
    );
}

#[test]
fn code_from_a_directory_is_an_asset_in_the_written_assembly() {
    let base = scratch("asset");
    let src = base.join("src");
    fs::create_dir_all(src.join("pkg")).unwrap();
    fs::write(
        src.join("index.py"),
        "from pkg import answer\n\ndef handler(e, c):\n    return answer()\n",
    )
    .unwrap();
    fs::write(src.join("pkg/__init__.py"), "def answer():\n    return 42\n").unwrap();

    let build = |out: &Path| -> (String, CloudAssembly) {
        let (mut app, stack, findings) = checked_app();
        Function::new(
            &mut app,
            stack,
            "Api",
            FunctionProps::new(Runtime::Python3_13, "index.handler", Code::from_asset(&src)),
        )
        .unwrap();
        let asm = synth(&mut app, &findings);
        asm.write(out, TemplateFormat::Json).unwrap();
        let hash = asm.stack("S").unwrap().assets[0].hash.clone();
        (hash, asm)
    };
    let (out_a, out_b) = (base.join("a"), base.join("b"));
    let (hash, asm) = build(&out_a);
    let (hash_b, _) = build(&out_b);
    assert_eq!(hash, hash_b, "the hash is stable");

    let t = template(&asm);
    let (_, function) = one(&t, "AWS::Lambda::Function");
    assert_eq!(
        function["Properties"]["Code"],
        json!({
            "S3Bucket": { "Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}" },
            "S3Key": format!("{hash}.zip")
        })
    );
    let zip = fs::read(out_a.join(format!("asset.{hash}.zip"))).unwrap();
    assert_eq!(cairn_core::asset::sha256_hex(&zip), hash);
    let manifest: Json =
        serde_json::from_str(&fs::read_to_string(out_a.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["artifacts"]["S.assets"]["properties"]["file"],
        "S.assets.json"
    );
    assert_eq!(manifest["artifacts"]["S"]["dependencies"], json!(["S.assets"]));
    let assets: Json =
        serde_json::from_str(&fs::read_to_string(out_a.join("S.assets.json")).unwrap()).unwrap();
    assert_eq!(
        assets["files"][&hash]["destinations"]["current_account-current_region"]["objectKey"],
        format!("{hash}.zip")
    );
    for name in [
        "manifest.json",
        "S.assets.json",
        "S.template.json",
        &format!("asset.{hash}.zip"),
    ] {
        assert_eq!(
            fs::read(out_a.join(name)).unwrap(),
            fs::read(out_b.join(name)).unwrap(),
            "{name} is byte-identical across runs"
        );
    }
    cfn_lint(&[out_a.join("S.template.json")]);

    // A pre-built zip file is uploaded as it is.
    let prebuilt = base.join("fn.zip");
    fs::write(&prebuilt, &zip).unwrap();
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    Function::new(
        &mut app,
        stack,
        "Prebuilt",
        FunctionProps::new(Runtime::Python3_13, "index.handler", Code::from_asset(&prebuilt)),
    )
    .unwrap();
    let asm = app.synth().unwrap();
    assert_eq!(asm.stack("S").unwrap().assets[0].hash, hash);
    fs::remove_dir_all(&base).ok();
}

#[test]
fn an_existing_role_runs_the_function_and_takes_its_grants() {
    let (mut app, stack, findings) = checked_app();
    let existing = Role::from_role_arn(
        &mut app,
        stack,
        "Existing",
        "arn:aws:iam::123456789012:role/service-role/lambda-runner",
        RoleImportOptions::default(),
    )
    .unwrap();
    let dlq = Queue::new(&mut app, stack, "Failures", QueueProps::default()).unwrap();
    let f = Function::new(
        &mut app,
        stack,
        "F",
        FunctionProps {
            role: Some((&existing).into()),
            dead_letter_queue: Some(dlq.into()),
            ..inline()
        },
    )
    .unwrap();
    assert_eq!(f.role().node(), cairn_core::Construct::node(&existing));
    assert!(f.role().created().is_none());
    let bucket = Bucket::new(&mut app, stack, "Data", BucketProps::default()).unwrap();
    bucket.grant_read(&mut app, &f).unwrap();
    let asm = synth(&mut app, &findings);
    let t = template(&asm);
    // No role made: the function runs with the existing role's ARN.
    assert!(of_type(&t, "AWS::IAM::Role").is_empty());
    let (_, function) = one(&t, "AWS::Lambda::Function");
    assert_eq!(
        function["Properties"]["Role"],
        "arn:aws:iam::123456789012:role/service-role/lambda-runner"
    );
    // Grants (the dead-letter queue's, the bucket's) go to the role's inline policy, which
    // the function waits for.
    let (policy_id, policy) = one(&t, "AWS::IAM::Policy");
    assert_eq!(policy["Properties"]["Roles"], json!(["lambda-runner"]));
    let actions = policy["Properties"]["PolicyDocument"]["Statement"].to_string();
    assert!(
        actions.contains("sqs:SendMessage") && actions.contains("s3:GetObject*"),
        "{actions}"
    );
    assert!(function["DependsOn"]
        .as_array()
        .unwrap()
        .contains(&json!(policy_id)));
    assert_eq!(
        f.role().default_policy(&app),
        existing.policy(&app).map(|p| p.resource())
    );
}

#[test]
fn an_immutable_existing_role_takes_no_grant() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let existing = Role::from_role_arn(
        &mut app,
        stack,
        "Existing",
        "arn:aws:iam::123456789012:role/locked",
        RoleImportOptions { mutable: false },
    )
    .unwrap();
    let f = Function::new(
        &mut app,
        stack,
        "F",
        FunctionProps {
            role: Some(existing.into()),
            ..inline()
        },
    )
    .unwrap();
    let bucket = Bucket::new(&mut app, stack, "Data", BucketProps::default()).unwrap();
    bucket.grant_read(&mut app, &f).unwrap();
    let asm = app.synth().unwrap();
    let t = template(&asm);
    assert!(of_type(&t, "AWS::IAM::Policy").is_empty());
    assert!(of_type(&t, "AWS::IAM::Role").is_empty());
    assert!(app
        .diagnostics()
        .iter()
        .any(|d| d.message.contains("immutable") && d.message.contains("s3:GetObject*")));
    // A node that is no role is refused, naming it.
    let not_a_role = app.construct(stack, "NotARole").unwrap();
    let err = Function::new(
        &mut app,
        stack,
        "G",
        FunctionProps {
            role: Some(cairn_constructs::iam::AnyRole::Imported(not_a_role)),
            ..inline()
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("S/NotARole") && err.to_string().contains("from_role_arn"),
        "{err}"
    );
}

#[test]
fn code_from_a_bucket_and_a_given_role() {
    let (mut app, stack, findings) = checked_app();
    let role = Role::new(
        &mut app,
        stack,
        "Shared",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    let f = Function::new(
        &mut app,
        stack,
        "F",
        FunctionProps {
            role: Some(role.into()),
            log_retention: None,
            ..FunctionProps::new(
                Runtime::ProvidedAl2023,
                "bootstrap",
                Code::from_bucket("artifacts", "fn/v1.zip"),
            )
        },
    )
    .unwrap();
    assert_eq!(f.role().node(), role.node());
    let asm = synth(&mut app, &findings);
    let t = template(&asm);
    let (_, function) = one(&t, "AWS::Lambda::Function");
    assert_eq!(
        function["Properties"]["Code"],
        json!({ "S3Bucket": "artifacts", "S3Key": "fn/v1.zip" })
    );
    assert_eq!(function["Properties"]["Runtime"], "provided.al2023");
    assert_eq!(of_type(&t, "AWS::IAM::Role").len(), 1);
    assert!(of_type(&t, "AWS::Logs::LogGroup").is_empty());
    assert!(asm.stack("S").unwrap().assets.is_empty());
}

#[test]
fn grant_invoke_and_add_permission() {
    let (mut app, stack, findings) = checked_app();
    let f = Function::new(&mut app, stack, "F", inline()).unwrap();
    let caller = Role::new(
        &mut app,
        stack,
        "Caller",
        RoleProps::new(Principal::service("ecs-tasks.amazonaws.com")),
    )
    .unwrap();
    f.grant_invoke(&mut app, &caller).unwrap();
    f.add_permission(
        &mut app,
        "FromApi",
        Principal::service("apigateway.amazonaws.com"),
        Some(Value::from("arn:aws:execute-api:us-east-1:123456789012:abc/*")),
    )
    .unwrap();
    f.add_permission(&mut app, "FromPartner", Principal::account("210987654321"), None)
        .unwrap();
    f.add_permission(
        &mut app,
        "FromAnyService",
        Principal::service("iot.amazonaws.com"),
        None,
    )
    .unwrap();
    let asm = synth(&mut app, &findings);
    let t = template(&asm);
    let (fid, _) = one(&t, "AWS::Lambda::Function");
    let arn = json!({ "Fn::GetAtt": [fid, "Arn"] });
    assert_eq!(
        role_statements(&t),
        vec![json!({
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": [arn, { "Fn::Join": ["", [arn, ":*"]] }]
        })]
    );
    let perms = of_type(&t, "AWS::Lambda::Permission");
    assert_eq!(perms.len(), 3);
    assert_eq!(
        perms[0].1["Properties"],
        json!({
            "Action": "lambda:InvokeFunction",
            "FunctionName": arn,
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": "arn:aws:execute-api:us-east-1:123456789012:abc/*"
        })
    );
    assert_eq!(perms[1].1["Properties"]["Principal"], "210987654321");
    assert!(perms[1].1["Properties"].get("SourceAccount").is_none());
    assert_eq!(
        perms[2].1["Properties"]["SourceAccount"],
        json!({ "Ref": "AWS::AccountId" })
    );
}

#[test]
fn schedule_and_sns_sources() {
    let (mut app, stack, findings) = checked_app();
    let f = Function::new(&mut app, stack, "F", inline()).unwrap();
    let topic = Topic::new(&mut app, stack, "Topic", TopicProps::default()).unwrap();
    f.add_event_source(&mut app, Schedule::hours(1)).unwrap();
    f.add_event_source(&mut app, SnsEventSource::new(topic)).unwrap();
    f.add_event_source(
        &mut app,
        SnsEventSource::from_arn(Value::from("arn:aws:sns:us-east-1:123456789012:elsewhere")),
    )
    .unwrap();
    let asm = synth(&mut app, &findings);
    let t = template(&asm);
    let (fid, _) = one(&t, "AWS::Lambda::Function");
    let arn = json!({ "Fn::GetAtt": [fid, "Arn"] });

    let (rule_id, rule) = one(&t, "AWS::Events::Rule");
    assert!(rule_id.starts_with("FScheduleEvent"), "{rule_id}");
    assert_eq!(rule["Properties"]["ScheduleExpression"], "rate(1 hour)");
    assert_eq!(rule["Properties"]["State"], "ENABLED");
    assert_eq!(
        rule["Properties"]["Targets"],
        json!([{ "Arn": arn, "Id": "Target0" }])
    );

    let perms = of_type(&t, "AWS::Lambda::Permission");
    assert_eq!(perms.len(), 3);
    let by_principal = |p: &str| -> Vec<&Json> {
        perms
            .iter()
            .filter(|(_, r)| r["Properties"]["Principal"] == p)
            .map(|(_, r)| &r["Properties"])
            .collect()
    };
    assert_eq!(
        by_principal("events.amazonaws.com")[0]["SourceArn"],
        json!({ "Fn::GetAtt": [rule_id, "Arn"] })
    );
    let sns = by_principal("sns.amazonaws.com");
    let (topic_id, _) = one(&t, "AWS::SNS::Topic");
    assert_eq!(sns[0]["SourceArn"], json!({ "Ref": topic_id }));
    assert_eq!(
        sns[1]["SourceArn"],
        "arn:aws:sns:us-east-1:123456789012:elsewhere"
    );
    let subs = of_type(&t, "AWS::SNS::Subscription");
    assert_eq!(subs.len(), 2);
    assert_eq!(
        subs[0].1["Properties"],
        json!({ "Endpoint": arn, "Protocol": "lambda", "TopicArn": { "Ref": topic_id } })
    );
    assert_eq!(
        subs[1].1["Properties"]["TopicArn"],
        "arn:aws:sns:us-east-1:123456789012:elsewhere"
    );
    assert!(app.find("S/F/SnsEvent/Permission").is_some() && app.find("S/F/SnsEvent2/Resource").is_some());
}

#[test]
fn s3_notifications_configure_the_bucket_after_the_permission() {
    let (mut app, stack, findings) = checked_app();
    let f = Function::new(&mut app, stack, "F", inline()).unwrap();
    let bucket = Bucket::new(&mut app, stack, "Uploads", BucketProps::default()).unwrap();
    f.add_event_source(
        &mut app,
        S3EventSource {
            bucket,
            events: vec![EventType::ObjectCreated, EventType::ObjectRemoved],
            filter: NotificationKeyFilter {
                prefix: Some("in/".into()),
                suffix: Some(".csv".into()),
            },
        },
    )
    .unwrap();
    let named = Bucket::new(
        &mut app,
        stack,
        "Named",
        BucketProps {
            bucket_name: Some(Value::from("acme-named-uploads")),
            ..BucketProps::default()
        },
    )
    .unwrap();
    f.add_event_source(&mut app, S3EventSource::object_created(named))
        .unwrap();
    let err = f
        .add_event_source(
            &mut app,
            S3EventSource {
                bucket,
                events: vec![],
                filter: NotificationKeyFilter::default(),
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("at least one event"), "{err}");

    let asm = synth(&mut app, &findings);
    let t = template(&asm);
    let lid = |app: &App, node: cairn_core::NodeId| -> Option<String> {
        let stack = app.stack_of(node)?.node();
        Some(cairn_core::make_unique_id(&app.path_from(stack, node)))
    };
    let fid = lid(&app, f.resource().node()).unwrap();
    let arn = json!({ "Fn::GetAtt": [fid, "Arn"] });
    // aws-cdk-lib's ids: the permission under the bucket, named after the function.
    let perm_name = format!(
        "AllowBucketNotificationsTo{}",
        cairn_core::make_unique_id(&app.path_from(app.root(), f.node()))
    );
    assert!(
        perm_name.starts_with("AllowBucketNotificationsToSF"),
        "{perm_name}"
    );
    let perm_node = app
        .find(&format!("S/Uploads/{perm_name}"))
        .expect("the permission");
    let perm_id = lid(&app, perm_node).unwrap();
    let perm = &t["Resources"][&perm_id]["Properties"];
    assert_eq!(perm["Principal"], "s3.amazonaws.com");
    assert_eq!(perm["SourceAccount"], json!({ "Ref": "AWS::AccountId" }));
    let uploads_id = lid(&app, bucket.resource().node()).unwrap();
    assert_eq!(perm["SourceArn"], json!({ "Fn::GetAtt": [uploads_id, "Arn"] }));
    assert!(t["Resources"][&uploads_id]["Properties"]
        .get("NotificationConfiguration")
        .is_none());

    let notifications_id = lid(&app, bucket.notifications(&app).unwrap()).unwrap();
    let n = &t["Resources"][&notifications_id];
    assert_eq!(n["Type"], "Custom::S3BucketNotifications");
    assert_eq!(n["Properties"]["BucketName"], json!({ "Ref": uploads_id }));
    assert_eq!(n["Properties"]["Managed"], json!(true));
    let filter = json!({ "Key": { "FilterRules": [{ "Name": "suffix", "Value": ".csv" }, { "Name": "prefix", "Value": "in/" }] } });
    assert_eq!(
        n["Properties"]["NotificationConfiguration"],
        json!({ "LambdaFunctionConfigurations": [
            { "Events": ["s3:ObjectCreated:*"], "Filter": filter, "LambdaFunctionArn": arn },
            { "Events": ["s3:ObjectRemoved:*"], "Filter": filter, "LambdaFunctionArn": arn }
        ] })
    );
    assert!(n["DependsOn"].as_array().unwrap().contains(&json!(perm_id)));
    // One permission per bucket and function, however many events.
    assert_eq!(of_type(&t, "AWS::Lambda::Permission").len(), 2);

    let named_perm = app
        .find(&format!("S/Named/{perm_name}"))
        .expect("the named bucket's permission");
    let named_id = lid(&app, named.resource().node()).unwrap();
    assert_eq!(
        t["Resources"][lid(&app, named_perm).unwrap()]["Properties"]["SourceArn"],
        json!({ "Fn::GetAtt": [named_id, "Arn"] })
    );
}

#[test]
fn dynamodb_stream_source_grants_exactly_the_stream_actions() {
    let (mut app, stack, findings) = checked_app();
    let f = Function::new(&mut app, stack, "F", inline()).unwrap();
    let table = Table::new(
        &mut app,
        stack,
        "Orders",
        TableProps {
            stream: Some(StreamViewType::NewAndOldImages),
            ..TableProps::new(Attribute::string("pk"))
        },
    )
    .unwrap();
    f.add_event_source(
        &mut app,
        DynamoDbEventSource::new(table)
            .starting_position(StartingPosition::TrimHorizon)
            .batch_size(50),
    )
    .unwrap();
    let no_stream = Table::new(&mut app, stack, "Plain", TableProps::new(Attribute::string("pk"))).unwrap();
    let err = f
        .add_event_source(&mut app, DynamoDbEventSource::new(no_stream))
        .unwrap_err();
    assert!(err.to_string().contains("has no stream"), "{err}");

    let asm = synth(&mut app, &findings);
    let t = template(&asm);
    let (fid, _) = one(&t, "AWS::Lambda::Function");
    let table_id = t["Resources"]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.starts_with("Orders"))
        .unwrap()
        .clone();
    let stream = json!({ "Fn::GetAtt": [table_id, "StreamArn"] });
    assert_eq!(
        role_statements(&t),
        vec![
            json!({ "Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": "*" }),
            json!({
                "Effect": "Allow",
                "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                "Resource": stream
            }),
        ]
    );
    let (_, m) = one(&t, "AWS::Lambda::EventSourceMapping");
    assert_eq!(
        m["Properties"],
        json!({ "BatchSize": 50, "EventSourceArn": stream, "FunctionName": { "Ref": fid }, "StartingPosition": "TRIM_HORIZON" })
    );
    let (pid, _) = one(&t, "AWS::IAM::Policy");
    assert!(
        m["DependsOn"].as_array().unwrap().contains(&json!(pid)),
        "the mapping waits for the policy"
    );
}

#[test]
fn sqs_sources_by_construct_and_by_arn() {
    let (mut app, stack, findings) = checked_app();
    let f = Function::new(&mut app, stack, "F", inline()).unwrap();
    let queue = Queue::new(&mut app, stack, "Jobs", QueueProps::default()).unwrap();
    f.add_event_source(&mut app, SqsEventSource::new(queue).batch_size(5))
        .unwrap();
    f.add_event_source(
        &mut app,
        SqsEventSource::from_arn(Value::from("arn:aws:sqs:us-east-1:123456789012:other")),
    )
    .unwrap();
    f.add_event_source(
        &mut app,
        DynamoDbEventSource::from_stream_arn(Value::from(
            "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024",
        )),
    )
    .unwrap();
    let asm = synth(&mut app, &findings);
    let t = template(&asm);
    let (qid, _) = one(&t, "AWS::SQS::Queue");
    let consume = json!([
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes"
    ]);
    let statements = role_statements(&t);
    assert_eq!(
        statements[0],
        json!({ "Effect": "Allow", "Action": consume, "Resource": { "Fn::GetAtt": [qid, "Arn"] } })
    );
    assert_eq!(
        statements[1],
        json!({ "Effect": "Allow", "Action": consume, "Resource": "arn:aws:sqs:us-east-1:123456789012:other" })
    );
    assert_eq!(
        statements[3]["Resource"],
        "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024"
    );
    let maps = of_type(&t, "AWS::Lambda::EventSourceMapping");
    assert_eq!(maps.len(), 3);
    assert_eq!(maps[0].1["Properties"]["BatchSize"], 5);
    assert_eq!(
        maps[0].1["Properties"]["EventSourceArn"],
        json!({ "Fn::GetAtt": [qid, "Arn"] })
    );
    assert!(maps[1].1["Properties"].get("StartingPosition").is_none());
    assert_eq!(maps[2].1["Properties"]["StartingPosition"], "LATEST");
    // A queue of the app: aws-cdk-lib's id (`SqsEventSource:<queue's unique id>`, the L1 its
    // `Resource`); by ARN: `SqsEvent`.
    let by_queue = app
        .node(f.node())
        .children()
        .map(|c| app.node(c).id().to_string())
        .find(|id| id.starts_with("SqsEventSource:S"))
        .unwrap();
    assert!(
        app.find(&format!("S/F/{by_queue}/Resource")).is_some(),
        "{by_queue}"
    );
    assert!(app.find("S/F/SqsEvent/Resource").is_some());
}

#[test]
fn a_full_app_passes_cfn_lint() {
    let base = scratch("lint");
    let src = base.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("index.py"), "def handler(e, c):\n    return e\n").unwrap();
    let (mut app, stack, findings) = checked_app();
    let f = Function::new(
        &mut app,
        stack,
        "F",
        FunctionProps {
            timeout: Some(Duration::from_secs(30)),
            ..FunctionProps::new(Runtime::Python3_13, "index.handler", Code::from_asset(&src))
        },
    )
    .unwrap();
    let queue = Queue::new(&mut app, stack, "Jobs", QueueProps::default()).unwrap();
    let topic = Topic::new(&mut app, stack, "Topic", TopicProps::default()).unwrap();
    let bucket = Bucket::new(&mut app, stack, "Uploads", BucketProps::default()).unwrap();
    let table = Table::new(
        &mut app,
        stack,
        "Orders",
        TableProps {
            stream: Some(StreamViewType::NewImage),
            ..TableProps::new(Attribute::string("pk"))
        },
    )
    .unwrap();
    let sources: [Box<dyn EventSource>; 5] = [
        Box::new(Schedule::days(1)),
        Box::new(SnsEventSource::new(topic)),
        Box::new(S3EventSource::object_created(bucket)),
        Box::new(DynamoDbEventSource::new(table)),
        Box::new(SqsEventSource::new(queue)),
    ];
    for source in sources {
        f.add_event_source(&mut app, source).unwrap();
    }
    let asm = synth(&mut app, &findings);
    let out = base.join("cdk.out");
    asm.write(&out, TemplateFormat::Json).unwrap();
    cfn_lint(&[out.join("S.template.json")]);
    fs::remove_dir_all(&base).ok();
}

/// An event source written outside the crate: a Kinesis stream read through an event
/// source mapping that waits for the grant the source makes.
struct KinesisSource {
    stream_arn: Value,
}

impl EventSource for KinesisSource {
    fn bind(&self, app: &mut App, function: &Function) -> cairn_core::Result<()> {
        cairn_constructs::iam::grant(
            app,
            function,
            ["kinesis:GetRecords", "kinesis:GetShardIterator"],
            [self.stream_arn.clone()],
        )?;
        let mut m = cairn_constructs::lambda::CfnEventSourceMapping::new(function.function_name());
        m.event_source_arn = Some(self.stream_arn.clone().into());
        m.starting_position = Some("LATEST".into());
        let id = function.child_id(app, "KinesisEvent");
        function.add_event_source_mapping(app, &id, m)?;
        Ok(())
    }
}

#[test]
fn a_user_defined_event_source_is_bound_like_the_built_in_ones() {
    let (mut app, stack, findings) = checked_app();
    let f = Function::new(&mut app, stack, "F", inline()).unwrap();
    let first = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks";
    let second = "arn:aws:kinesis:us-east-1:123456789012:stream/views";
    for arn in [first, second] {
        f.add_event_source(
            &mut app,
            KinesisSource {
                stream_arn: Value::from(arn),
            },
        )
        .unwrap();
    }
    assert!(app.find("S/F/KinesisEvent").is_some() && app.find("S/F/KinesisEvent2").is_some());
    let asm = synth(&mut app, &findings);
    let t = template(&asm);
    let (pid, policy) = one(&t, "AWS::IAM::Policy");
    assert_eq!(
        policy["Properties"]["PolicyDocument"]["Statement"],
        json!([first, second]
            .iter()
            .map(|arn| json!({
                "Effect": "Allow",
                "Action": ["kinesis:GetRecords", "kinesis:GetShardIterator"],
                "Resource": arn
            }))
            .collect::<Vec<_>>())
    );
    let mappings = of_type(&t, "AWS::Lambda::EventSourceMapping");
    assert_eq!(mappings.len(), 2);
    for (_, m) in mappings {
        assert!(
            m["DependsOn"].as_array().unwrap().contains(&json!(pid)),
            "each mapping waits for the role's policy: {m}"
        );
    }
}

#[test]
fn a_rule_targeting_a_function_holds_the_invoke_permission_as_aws_cdk_lib_places_it() {
    use cairn_constructs::events::{Rule, RuleProps};
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let f = Function::new(&mut app, stack, "Worker", inline()).unwrap();
    let rule = Rule::new(
        &mut app,
        stack,
        "Nightly",
        RuleProps::schedule(Schedule::Rate(Duration::from_secs(3600))),
    )
    .unwrap();
    rule.add_target(&mut app, f).unwrap();
    rule.add_target(&mut app, f).unwrap();
    let asm = app.synth().unwrap();
    let t = template(&asm);
    let permissions = of_type(&t, "AWS::Lambda::Permission");
    assert_eq!(permissions.len(), 1);
    // `S/Nightly/AllowEventRuleSWorker<hash>`: the rule's child, named after the function.
    assert!(
        permissions[0].0.starts_with("NightlyAllowEventRuleSWorker"),
        "{}",
        permissions[0].0
    );
    let rule_id = of_type(&t, "AWS::Events::Rule")[0].0.clone();
    assert_eq!(
        permissions[0].1["Properties"]["SourceArn"]["Fn::GetAtt"][0],
        json!(rule_id)
    );
}
