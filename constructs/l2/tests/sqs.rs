//! sqs::Queue: encryption, DLQ, FIFO, validation, policies and grants.

mod common;
use common::checked_app;

use std::time::Duration;

use cairn_constructs::assertions::{Match, Template};
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_constructs::sqs::{DeadLetterQueue, Queue, QueueEncryption, QueueProps};
use cairn_core::App;
use serde_json::json;

#[test]
fn defaults_pass_the_recommended_rules() {
    let (mut app, stack, findings) = checked_app();
    let dlq = Queue::new(&mut app, stack, "Dlq", QueueProps::default()).unwrap();
    let q = Queue::new(
        &mut app,
        stack,
        "Jobs",
        QueueProps {
            visibility_timeout: Some(Duration::from_secs(300)),
            retention_period: Some(Duration::from_secs(14 * 24 * 3600)),
            dead_letter_queue: Some(DeadLetterQueue {
                queue: dlq.into(),
                max_receive_count: 3,
            }),
            ..QueueProps::default()
        },
    )
    .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let dlq_id = t.find_resources("AWS::SQS::Queue", json!({}))[0].0.clone();
    t.assert_has_resource(
        "AWS::SQS::Queue",
        json!({
            "DeletionPolicy": "Delete",
            "Properties": {
                "KmsMasterKeyId": "alias/aws/sqs",
                "VisibilityTimeout": 300,
                "MessageRetentionPeriod": 1209600,
                "RedrivePolicy": { "deadLetterTargetArn": { "Fn::GetAtt": [dlq_id, "Arn"] }, "maxReceiveCount": 3 }
            }
        }),
    );
    t.assert_has_resource_properties(
        "AWS::SQS::Queue",
        Match::object_like(json!({})).with("SqsManagedSseEnabled", Match::absent()),
    );
    assert!(!q.is_fifo());
}

#[test]
fn sqs_managed_encryption_is_reported_by_the_rules() {
    let (mut app, stack, _findings) = checked_app();
    Queue::new(
        &mut app,
        stack,
        "Q",
        QueueProps {
            encryption: QueueEncryption::SqsManaged,
            ..QueueProps::default()
        },
    )
    .unwrap();
    let err = app.synth().unwrap_err().to_string();
    assert!(
        err.contains("CAIRN-SQS-ENCRYPTION") || err.contains("KMS"),
        "{err}"
    );
}

#[test]
fn fifo_and_validation() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let q = Queue::new(
        &mut app,
        stack,
        "Orders",
        QueueProps {
            queue_name: Some("orders.fifo".into()),
            content_based_deduplication: true,
            ..QueueProps::default()
        },
    )
    .unwrap();
    assert!(q.is_fifo());
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_has_resource_properties(
        "AWS::SQS::Queue",
        json!({ "FifoQueue": true, "ContentBasedDeduplication": true, "QueueName": "orders.fifo" }),
    );

    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let standard = Queue::new(&mut app, stack, "Dlq", QueueProps::default()).unwrap();
    let err = Queue::new(
        &mut app,
        stack,
        "Bad",
        QueueProps {
            queue_name: Some("orders".into()),
            fifo: true,
            visibility_timeout: Some(Duration::from_secs(50_000)),
            dead_letter_queue: Some(DeadLetterQueue {
                queue: standard.into(),
                max_receive_count: 1,
            }),
            ..QueueProps::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("'S/Bad': 3 problems:"), "{err}");
    assert!(
        err.contains("visibility_timeout must be 0 to 43200 seconds, got 50000"),
        "{err}"
    );
    assert!(err.contains("must end with \".fifo\""), "{err}");
    assert!(
        err.contains("dead-letter queue of a FIFO queue must be FIFO"),
        "{err}"
    );
}

#[test]
fn grants_use_the_cdk_action_lists_and_the_key() {
    let (mut app, stack, findings) = checked_app();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let q = Queue::new(
        &mut app,
        stack,
        "Q",
        QueueProps {
            encryption: QueueEncryption::Kms(key),
            ..QueueProps::default()
        },
    )
    .unwrap();
    let r = Role::new(
        &mut app,
        stack,
        "R",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    q.grant_send_messages(&mut app, &r).unwrap();
    q.grant_consume_messages(&mut app, &r).unwrap();
    q.grant_purge(&mut app, &r).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let qid = t.find_resources("AWS::SQS::Queue", json!({}))[0].0.clone();
    let kid = t.find_resources("AWS::KMS::Key", json!({}))[0].0.clone();
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [
            { "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], "Resource": { "Fn::GetAtt": [qid, "Arn"] } },
            { "Action": ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], "Resource": { "Fn::GetAtt": [kid, "Arn"] } },
            { "Action": ["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"] },
            { "Action": "kms:Decrypt" },
            { "Action": ["sqs:PurgeQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"] }
        ] } }),
    );
}

#[test]
fn names_urls_and_policy() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let q = Queue::new(&mut app, stack, "Q", QueueProps::default()).unwrap();
    app.output(stack, "Name", cairn_core::Output::new(q.queue_name()))
        .unwrap();
    app.output(stack, "Url", cairn_core::Output::new(q.queue_url()))
        .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    let qid = t.find_resources("AWS::SQS::Queue", json!({}))[0].0.clone();
    t.assert_has_output(
        "Name",
        json!({ "Value": { "Fn::Select": [5, { "Fn::Split": [":", { "Fn::GetAtt": [qid, "Arn"] }] }] } }),
    );
    t.assert_has_output("Url", json!({ "Value": { "Ref": qid } }));
}

/// Dead-letter queues take an existing queue wherever they take one of the app's (the
/// CDK's `IQueue`): a queue's redrive policy, a function's dead-letter config (granted on
/// the role's side), a subscription's redrive policy (the existing queue's policy is left
/// as it is, with a warning).
#[test]
fn existing_queues_are_dead_letter_queues() {
    use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
    use cairn_constructs::sns::{Subscriber, SubscriptionProps, Topic, TopicProps};
    let (mut app, stack, findings) = checked_app();
    let arn = "arn:aws:sqs:us-east-1:123456789012:shared-dlq";
    let dlq = Queue::from_queue_arn(&mut app, stack, "SharedDlq", arn).unwrap();
    Queue::new(
        &mut app,
        stack,
        "Jobs",
        QueueProps {
            dead_letter_queue: Some(DeadLetterQueue {
                queue: (&dlq).into(),
                max_receive_count: 4,
            }),
            ..QueueProps::default()
        },
    )
    .unwrap();
    Function::new(
        &mut app,
        stack,
        "F",
        FunctionProps {
            dead_letter_queue: Some((&dlq).into()),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "index.handler",
                Code::inline("def handler(e, c):\n    return e\n"),
            )
        },
    )
    .unwrap();
    let topic = Topic::new(&mut app, stack, "Events", TopicProps::default()).unwrap();
    let target = Queue::new(&mut app, stack, "Target", QueueProps::default()).unwrap();
    topic
        .add_subscription(
            &mut app,
            Subscriber::Sqs(target),
            SubscriptionProps {
                dead_letter_queue: Some(dlq.into()),
                ..SubscriptionProps::default()
            },
        )
        .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    t.assert_has_resource_properties(
        "AWS::SQS::Queue",
        json!({ "RedrivePolicy": { "deadLetterTargetArn": arn, "maxReceiveCount": 4 } }),
    );
    t.assert_has_resource_properties(
        "AWS::Lambda::Function",
        json!({ "DeadLetterConfig": { "TargetArn": arn } }),
    );
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [{ "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"], "Resource": arn }] } }),
    );
    t.assert_has_resource_properties(
        "AWS::SNS::Subscription",
        json!({ "RedrivePolicy": { "deadLetterTargetArn": arn } }),
    );
    // The only queue policy is the subscribed queue's: the existing queue's is not the app's.
    assert_eq!(t.find_resources("AWS::SQS::QueuePolicy", json!({})).len(), 1);
    assert!(app
        .diagnostics()
        .iter()
        .any(|d| d.message.contains("dead-letter queue exists outside the app")));
}
