//! s3::Bucket: secure defaults, policies, grants, logs, lifecycle, notifications.

mod common;
use common::{checked_app, kms_bucket};

use cairn_constructs::assertions::{Match, Template};
use cairn_constructs::iam::PolicyStatement;
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_constructs::s3::{
    Bucket, BucketEncryption, BucketProps, EventType, LifecycleRule, NotificationKeyFilter, StorageClass,
};
use cairn_constructs::sns::{Topic, TopicProps};
use cairn_constructs::sqs::{Queue, QueueEncryption, QueueProps};
use cairn_core::{App, Level, Stack};
use serde_json::json;

fn role(app: &mut App, stack: Stack) -> Role {
    Role::new(
        app,
        stack,
        "Worker",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap()
}

#[test]
fn defaults_are_secure_and_pass_the_recommended_rules() {
    let (mut app, stack, findings) = checked_app();
    Bucket::new(&mut app, stack, "Data", BucketProps::default()).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    t.assert_resource_count_is("AWS::S3::Bucket", 1);
    t.assert_has_resource(
        "AWS::S3::Bucket",
        json!({
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketEncryption": { "ServerSideEncryptionConfiguration": [
                    { "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" } }
                ] },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": true, "BlockPublicPolicy": true,
                    "IgnorePublicAcls": true, "RestrictPublicBuckets": true
                },
                "VersioningConfiguration": { "Status": "Enabled" }
            }
        }),
    );
    // The CDK's logical ids: Data/Resource and Data/Policy/Resource.
    let bucket_id = t.find_resources("AWS::S3::Bucket", json!({}))[0].0.clone();
    assert!(
        bucket_id.starts_with("Data") && bucket_id.len() == 12,
        "{bucket_id}"
    );
    t.assert_has_resource_properties(
        "AWS::S3::BucketPolicy",
        json!({
            "Bucket": { "Ref": bucket_id },
            "PolicyDocument": { "Statement": [{
                "Effect": "Deny",
                "Principal": { "AWS": "*" },
                "Action": "s3:*",
                "Condition": { "Bool": { "aws:SecureTransport": "false" } },
                "Resource": [
                    { "Fn::GetAtt": [bucket_id, "Arn"] },
                    { "Fn::Join": ["", [{ "Fn::GetAtt": [bucket_id, "Arn"] }, "/*"]] }
                ]
            }] }
        }),
    );
    let policy_id = t.find_resources("AWS::S3::BucketPolicy", json!({}))[0].0.clone();
    assert!(policy_id.starts_with("DataPolicy"), "{policy_id}");
}

#[test]
fn kms_bucket_grants_include_the_key() {
    let (mut app, stack, findings) = checked_app();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let bucket = kms_bucket(&mut app, stack, "Data", key);
    let r = role(&mut app, stack);
    bucket.grant_read(&mut app, &r).unwrap();
    bucket.grant_put(&mut app, &r).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let key_id = t.find_resources("AWS::KMS::Key", json!({}))[0].0.clone();
    t.assert_has_resource_properties(
        "AWS::S3::Bucket",
        json!({ "BucketEncryption": { "ServerSideEncryptionConfiguration": [{
            "BucketKeyEnabled": true,
            "ServerSideEncryptionByDefault": { "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": { "Fn::GetAtt": [key_id, "Arn"] } }
        }] } }),
    );
    let statements = Match::array_with([
        json!({ "Action": ["s3:GetObject*", "s3:GetBucket*", "s3:List*"], "Effect": "Allow" }),
        json!({ "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": { "Fn::GetAtt": [key_id, "Arn"] } }),
        json!({ "Action": ["s3:PutObject", "s3:PutObjectLegalHold", "s3:PutObjectRetention",
                           "s3:PutObjectTagging", "s3:PutObjectVersionTagging", "s3:Abort*"] }),
        json!({ "Action": ["kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Decrypt"] }),
    ]);
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        Match::object_like(json!({})).with(
            "PolicyDocument",
            Match::object_like(json!({})).with("Statement", statements),
        ),
    );
}

#[test]
fn write_and_delete_grants_use_the_cdk_action_lists() {
    let (mut app, stack, _) = checked_app();
    let bucket = Bucket::new(&mut app, stack, "Data", BucketProps::default()).unwrap();
    let r = role(&mut app, stack);
    bucket.grant_write(&mut app, &r).unwrap();
    bucket.grant_delete(&mut app, &r).unwrap();
    bucket.grant_read_write(&mut app, &r).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    let policy = &t.find_resources("AWS::IAM::Policy", json!({}))[0].1;
    let st = &policy["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(st[0]["Action"][0], "s3:DeleteObject*");
    assert_eq!(st[0]["Action"][1], "s3:PutObject");
    assert_eq!(st[1]["Action"], "s3:DeleteObject*");
    assert_eq!(st[1]["Resource"]["Fn::Join"][1][1], "/*");
    assert_eq!(st[2]["Action"].as_array().unwrap().len(), 3 + 1 + 6);
    // SSE-S3: no key statements.
    assert_eq!(st.as_array().unwrap().len(), 3);
}

#[test]
fn access_logs_lifecycle_and_resource_policy() {
    let (mut app, stack, findings) = checked_app();
    let logs = Bucket::new(&mut app, stack, "AccessLogs", BucketProps::default()).unwrap();
    let data = Bucket::new(
        &mut app,
        stack,
        "Data",
        BucketProps {
            server_access_logs_bucket: Some(logs),
            server_access_logs_prefix: Some("data/".into()),
            lifecycle_rules: vec![LifecycleRule {
                prefix: Some("tmp/".into()),
                expiration_days: Some(30),
                noncurrent_version_expiration_days: Some(7),
                abort_incomplete_multipart_upload_days: Some(1),
                transitions: vec![(StorageClass::GlacierIr, 10)],
                ..LifecycleRule::default()
            }],
            ..BucketProps::default()
        },
    )
    .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let logs_id = t.find_resources("AWS::S3::Bucket", json!({}))[0].0.clone();
    t.assert_has_resource_properties(
        "AWS::S3::Bucket",
        json!({
            "LoggingConfiguration": { "DestinationBucketName": { "Ref": logs_id }, "LogFilePrefix": "data/" },
            "LifecycleConfiguration": { "Rules": [{
                "Status": "Enabled", "Prefix": "tmp/", "ExpirationInDays": 30,
                "NoncurrentVersionExpiration": { "NoncurrentDays": 7 },
                "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 },
                "Transitions": [{ "StorageClass": "GLACIER_IR", "TransitionInDays": 10 }]
            }] }
        }),
    );
    // The log bucket's policy: TLS deny plus the logging service statement.
    t.assert_has_resource_properties(
        "AWS::S3::BucketPolicy",
        Match::object_like(json!({ "Bucket": { "Ref": logs_id } })).with(
            "PolicyDocument",
            Match::object_like(json!({})).with(
                "Statement",
                Match::array_with([json!({
                    "Effect": "Allow",
                    "Principal": { "Service": "logging.s3.amazonaws.com" },
                    "Action": "s3:PutObject",
                    "Resource": { "Fn::Join": ["", [{ "Fn::GetAtt": [logs_id, "Arn"] }, "/data/*"]] }
                })]),
            ),
        ),
    );
    let _ = data;
}

#[test]
fn a_kms_access_log_target_is_an_error() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let logs = Bucket::new(
        &mut app,
        stack,
        "Logs",
        BucketProps {
            encryption: BucketEncryption::KmsManaged,
            ..BucketProps::default()
        },
    )
    .unwrap();
    let err = Bucket::new(
        &mut app,
        stack,
        "Data",
        BucketProps {
            server_access_logs_bucket: Some(logs),
            ..BucketProps::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("'S/Data': ") && err.contains("SSE-KMS"), "{err}");
}

#[test]
fn queue_notifications_add_policy_and_dependency() {
    let (mut app, stack, findings) = checked_app();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let queue = Queue::new(
        &mut app,
        stack,
        "Events",
        QueueProps {
            encryption: QueueEncryption::Kms(key),
            ..QueueProps::default()
        },
    )
    .unwrap();
    let bucket = Bucket::new(&mut app, stack, "Data", BucketProps::default()).unwrap();
    bucket
        .add_queue_notification(
            &mut app,
            EventType::ObjectCreated,
            &queue,
            NotificationKeyFilter {
                suffix: Some(".csv".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let queue_id = t.find_resources("AWS::SQS::Queue", json!({}))[0].0.clone();
    let policy_id = t.find_resources("AWS::SQS::QueuePolicy", json!({}))[0].0.clone();
    let bucket_id = t.find_resources("AWS::S3::Bucket", json!({}))[0].0.clone();
    let bucket_policy_id = t.find_resources("AWS::S3::BucketPolicy", json!({}))[0].0.clone();
    let handler_policy_id = t.find_resources("AWS::IAM::Policy", json!({}))[0].0.clone();
    // Not on the bucket: in aws-cdk-lib's custom resource, after the queue's policy, the
    // handler's policy and the bucket policy.
    assert!(t.find_resources("AWS::S3::Bucket", json!({}))[0].1["Properties"]
        .get("NotificationConfiguration")
        .is_none());
    t.assert_has_resource(
        "Custom::S3BucketNotifications",
        json!({
            "DependsOn": [handler_policy_id, bucket_policy_id, policy_id],
            "Properties": {
                "BucketName": { "Ref": bucket_id },
                "Managed": true,
                "SkipDestinationValidation": false,
                "NotificationConfiguration": { "QueueConfigurations": [{
                    "Events": ["s3:ObjectCreated:*"],
                    "QueueArn": { "Fn::GetAtt": [queue_id, "Arn"] },
                    "Filter": { "Key": { "FilterRules": [{ "Name": "suffix", "Value": ".csv" }] } }
                }] }
            }
        }),
    );
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [{
            "Action": ["s3:PutBucketNotification", "s3:GetBucketNotification"],
            "Resource": { "Fn::GetAtt": [bucket_id, "Arn"] }
        }] } }),
    );
    t.assert_has_resource_properties(
        "AWS::SQS::QueuePolicy",
        json!({ "PolicyDocument": { "Statement": [{
            "Principal": { "Service": "s3.amazonaws.com" },
            "Condition": { "ArnLike": { "aws:SourceArn": { "Fn::GetAtt": [bucket_id, "Arn"] } } }
        }] } }),
    );
    // the key lets S3 use it
    t.assert_has_resource_properties(
        "AWS::KMS::Key",
        Match::object_like(json!({})).with(
            "KeyPolicy",
            Match::object_like(json!({})).with(
                "Statement",
                Match::array_with([json!({ "Principal": { "Service": "s3.amazonaws.com" } })]),
            ),
        ),
    );
}

#[test]
fn notifications_share_one_handler_per_stack_with_aws_cdk_libs_ids() {
    let (mut app, stack, findings) = checked_app();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let topic = Topic::new(
        &mut app,
        stack,
        "Done",
        TopicProps {
            master_key: Some(key),
            ..TopicProps::default()
        },
    )
    .unwrap();
    let a = Bucket::new(&mut app, stack, "A", BucketProps::default()).unwrap();
    let b = Bucket::new(
        &mut app,
        stack,
        "B",
        BucketProps {
            event_bridge_enabled: true,
            enforce_ssl: false,
            ..BucketProps::default()
        },
    )
    .unwrap();
    a.add_topic_notification(
        &mut app,
        EventType::ObjectRemoved,
        &topic,
        NotificationKeyFilter::default(),
    )
    .unwrap();
    // A bucket policy made after the notifications still comes first.
    b.add_to_resource_policy(
        &mut app,
        PolicyStatement::deny()
            .principal(Principal::Any)
            .actions(["s3:*"])
            .resources([b.arn(), b.arn_for_objects("*")])
            .condition("Bool", "aws:SecureTransport", "false"),
    )
    .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let json = t.to_json();
    let resources = json["Resources"].as_object().unwrap();
    for prefix in ["ANotificationsHandlerPolicy", "BNotificationsHandlerPolicy"] {
        assert!(
            resources.keys().any(|k| k.starts_with(prefix)),
            "{prefix} in {:?}",
            resources.keys()
        );
    }
    assert!(resources.contains_key("BucketNotificationsHandler050a0587b7544547bf325f094a3db8347ECC3691"));
    assert!(resources.contains_key("BucketNotificationsHandler050a0587b7544547bf325f094a3db834RoleB6FB88EC"));
    assert_eq!(t.find_resources("AWS::Lambda::Function", json!({})).len(), 1);
    let handler =
        &resources["BucketNotificationsHandler050a0587b7544547bf325f094a3db8347ECC3691"]["Properties"];
    assert_eq!(handler["Timeout"], 300);
    assert_eq!(handler["Runtime"], "python3.13");
    assert!(handler["Code"]["ZipFile"]
        .as_str()
        .unwrap()
        .contains("put_bucket_notification_configuration"));
    let b_id = t
        .find_resources("AWS::S3::Bucket", json!({}))
        .into_iter()
        .find(|(k, _)| k.starts_with('B'))
        .unwrap()
        .0;
    let (_, b_notifications) = t
        .find_resources(
            "Custom::S3BucketNotifications",
            json!({ "Properties": { "BucketName": { "Ref": b_id } } }),
        )
        .remove(0);
    assert_eq!(
        b_notifications["Properties"]["NotificationConfiguration"],
        json!({ "EventBridgeConfiguration": {} })
    );
    let b_policy = t
        .find_resources("AWS::S3::BucketPolicy", json!({}))
        .into_iter()
        .find(|(k, _)| k.starts_with('B'))
        .unwrap()
        .0;
    assert!(b_notifications["DependsOn"]
        .as_array()
        .unwrap()
        .contains(&json!(b_policy)));
    t.assert_has_resource_properties(
        "AWS::SNS::TopicPolicy",
        json!({ "PolicyDocument": { "Statement": [{
            "Action": "sns:Publish",
            "Principal": { "Service": "s3.amazonaws.com" },
            "Condition": { "ArnLike": { "aws:SourceArn": { "Fn::GetAtt": [
                t.find_resources("AWS::S3::Bucket", json!({})).into_iter().find(|(k, _)| k.starts_with('A')).unwrap().0,
                "Arn"
            ] } } }
        }] } }),
    );
}

#[test]
fn notifications_to_an_aws_managed_key_queue_warn() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let queue = Queue::new(&mut app, stack, "Events", QueueProps::default()).unwrap();
    let bucket = Bucket::new(&mut app, stack, "Data", BucketProps::default()).unwrap();
    bucket
        .add_queue_notification(
            &mut app,
            EventType::ObjectRemoved,
            &queue,
            NotificationKeyFilter::default(),
        )
        .unwrap();
    assert!(app
        .diagnostics()
        .iter()
        .any(|d| d.level == Level::Warning && d.message.contains("alias/aws/sqs")));
}

#[test]
fn arn_for_objects_and_names() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let bucket = Bucket::new(
        &mut app,
        stack,
        "Data",
        BucketProps {
            bucket_name: Some("my-data".into()),
            enforce_ssl: false,
            ..BucketProps::default()
        },
    )
    .unwrap();
    let out = cairn_core::Output::new(bucket.arn_for_objects("reports/*"));
    app.output(stack, "Objects", out).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_resource_count_is("AWS::S3::BucketPolicy", 0);
    t.assert_has_resource_properties("AWS::S3::Bucket", json!({ "BucketName": "my-data" }));
    t.assert_has_output(
        "Objects",
        Match::object_like(json!({})).with("Value", Match::any_value()),
    );
    assert!(t.has_output("Missing", json!({})).is_err());
    let objects = &t.to_json()["Outputs"]["Objects"]["Value"]["Fn::Join"][1][1];
    assert_eq!(objects, "/reports/*");
}

/// The notifications handler's own tests (Python's unittest; a fake S3 client and a
/// recorded ResponseURL): it keeps the entries it did not make, takes off only its own.
#[test]
fn the_notifications_handler_passes_its_own_tests() {
    let python = std::env::var("CAIRN_PYTHON")
        .ok()
        .filter(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| "python3".to_string());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3_notifications");
    let out = std::process::Command::new(python)
        .args(["-m", "unittest", "test_handler", "-v"])
        .current_dir(&dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs (the notifications handler's tests need it)");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Ran 7 tests"), "{log}");
}

/// An existing bucket takes notifications as aws-cdk-lib's imported bucket does: its
/// `<id>/Notifications` resource is `Managed: false`, the handler may read and put the
/// bucket's configuration, the function's permission is scoped to the bucket's ARN.
#[test]
fn an_existing_bucket_takes_notifications_unmanaged() {
    use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
    let (mut app, stack, findings) = checked_app();
    let bucket = Bucket::from_bucket_name(&mut app, stack, "Uploads", "acme-uploads").unwrap();
    let queue = Queue::new(&mut app, stack, "Jobs", QueueProps::default()).unwrap();
    let f = Function::new(
        &mut app,
        stack,
        "F",
        FunctionProps::new(
            Runtime::Python3_12,
            "index.handler",
            Code::inline("def handler(e, c):\n    return e\n"),
        ),
    )
    .unwrap();
    bucket
        .add_queue_notification(
            &mut app,
            EventType::ObjectRemoved,
            &queue,
            NotificationKeyFilter::default(),
        )
        .unwrap();
    bucket
        .add_function_notification(
            &mut app,
            EventType::ObjectCreated,
            &f,
            NotificationKeyFilter::default(),
        )
        .unwrap();
    assert!(bucket.notifications(&app).is_some());
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let arn = json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":s3:::acme-uploads"]] });
    let (_, n) = t
        .find_resources("Custom::S3BucketNotifications", json!({}))
        .remove(0);
    assert_eq!(n["Properties"]["BucketName"], "acme-uploads");
    assert_eq!(n["Properties"]["Managed"], json!(false));
    let config = &n["Properties"]["NotificationConfiguration"];
    assert_eq!(
        config["QueueConfigurations"][0]["Events"],
        json!(["s3:ObjectRemoved:*"])
    );
    assert_eq!(
        config["LambdaFunctionConfigurations"][0]["Events"],
        json!(["s3:ObjectCreated:*"])
    );
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [{
            "Action": ["s3:PutBucketNotification", "s3:GetBucketNotification"],
            "Resource": arn
        }] } }),
    );
    t.assert_has_resource_properties(
        "AWS::Lambda::Permission",
        json!({ "Principal": "s3.amazonaws.com", "SourceArn": arn }),
    );
    assert!(app.find("S/Uploads/Notifications/Resource").is_some());
}
