//! s3::Bucket: secure defaults, policies, grants, logs, lifecycle, notifications.

mod common;
use common::{checked_app, kms_bucket};

use cairn_constructs::assertions::{Match, Template};
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_constructs::s3::{
    Bucket, BucketEncryption, BucketProps, EventType, LifecycleRule, NotificationKeyFilter, StorageClass,
};
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
    t.assert_has_resource(
        "AWS::S3::Bucket",
        json!({
            "DependsOn": [policy_id],
            "Properties": { "NotificationConfiguration": { "QueueConfigurations": [{
                "Event": "s3:ObjectCreated:*",
                "Queue": { "Fn::GetAtt": [queue_id, "Arn"] },
                "Filter": { "S3Key": { "Rules": [{ "Name": "suffix", "Value": ".csv" }] } }
            }] } }
        }),
    );
    t.assert_has_resource_properties(
        "AWS::SQS::QueuePolicy",
        json!({ "PolicyDocument": { "Statement": [{
            "Principal": { "Service": "s3.amazonaws.com" },
            "Condition": { "StringEquals": { "aws:SourceAccount": { "Ref": "AWS::AccountId" } } }
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
