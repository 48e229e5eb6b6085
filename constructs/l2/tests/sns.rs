//! sns::Topic: encryption, subscriptions, policies and grants.

mod common;
use common::checked_app;

use cairn_constructs::assertions::{Match, Template};
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_constructs::sns::{Subscriber, SubscriptionProps, Topic, TopicProps};
use cairn_constructs::sqs::{Queue, QueueEncryption, QueueProps};
use cairn_core::{App, Level, Value};
use serde_json::json;

#[test]
fn sqs_subscription_with_queue_policy_and_key_statement() {
    let (mut app, stack, findings) = checked_app();
    let topic = Topic::new(&mut app, stack, "Orders", TopicProps::default()).unwrap();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let queue = Queue::new(
        &mut app,
        stack,
        "Billing",
        QueueProps {
            encryption: QueueEncryption::Kms(key),
            ..QueueProps::default()
        },
    )
    .unwrap();
    let dlq = Queue::new(
        &mut app,
        stack,
        "Dlq",
        QueueProps {
            encryption: QueueEncryption::Kms(key),
            ..QueueProps::default()
        },
    )
    .unwrap();
    topic
        .add_subscription(
            &mut app,
            Subscriber::Sqs(queue),
            SubscriptionProps {
                raw_message_delivery: true,
                filter_policy: Some(Value::map([("kind", Value::list([Value::from("order")]))])),
                dead_letter_queue: Some(dlq.into()),
            },
        )
        .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let topic_id = t.find_resources("AWS::SNS::Topic", json!({}))[0].0.clone();
    t.assert_has_resource_properties("AWS::SNS::Topic", json!({ "KmsMasterKeyId": "alias/aws/sns" }));
    // In the queue's scope with the topic's unique id, as the CDK does.
    let subs = t.find_resources("AWS::SNS::Subscription", json!({}));
    assert_eq!(subs.len(), 1);
    assert!(subs[0].0.starts_with("BillingSOrders"), "{}", subs[0].0);
    t.assert_has_resource_properties(
        "AWS::SNS::Subscription",
        Match::object_like(json!({
            "Protocol": "sqs", "TopicArn": { "Ref": topic_id }, "RawMessageDelivery": true,
            "FilterPolicy": { "kind": ["order"] }
        }))
        .with(
            "RedrivePolicy",
            Match::object_like(json!({})).with("deadLetterTargetArn", Match::any_value()),
        ),
    );
    assert_eq!(subs[0].1["DependsOn"].as_array().unwrap().len(), 2);
    t.assert_resource_count_is("AWS::SQS::QueuePolicy", 2);
    t.assert_has_resource_properties(
        "AWS::SQS::QueuePolicy",
        json!({ "PolicyDocument": { "Statement": [{
            "Effect": "Allow", "Action": "sqs:SendMessage",
            "Principal": { "Service": "sns.amazonaws.com" },
            "Condition": { "ArnEquals": { "aws:SourceArn": { "Ref": topic_id } } }
        }] } }),
    );
    t.assert_has_resource_properties(
        "AWS::KMS::Key",
        Match::object_like(json!({})).with(
            "KeyPolicy",
            Match::object_like(json!({})).with(
                "Statement",
                Match::array_with([json!({ "Principal": { "Service": "sns.amazonaws.com" }, "Action": ["kms:Decrypt", "kms:GenerateDataKey"] })]),
            ),
        ),
    );
}

#[test]
fn email_https_lambda_subscriptions_and_grant() {
    let (mut app, stack, findings) = checked_app();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let topic = Topic::new(
        &mut app,
        stack,
        "Alerts",
        TopicProps {
            master_key: Some(key),
            ..TopicProps::default()
        },
    )
    .unwrap();
    topic
        .add_subscription(
            &mut app,
            Subscriber::Email("ops@example.com".into()),
            SubscriptionProps::default(),
        )
        .unwrap();
    topic
        .add_subscription(
            &mut app,
            Subscriber::Https("https://hooks.example.com/a".into()),
            SubscriptionProps::default(),
        )
        .unwrap();
    topic
        .add_subscription(
            &mut app,
            Subscriber::Lambda(Value::from("arn:aws:lambda:us-east-1:123456789012:function:f")),
            SubscriptionProps::default(),
        )
        .unwrap();
    let r = Role::new(
        &mut app,
        stack,
        "R",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    topic.grant_publish(&mut app, &r).unwrap();
    app.output(stack, "Name", cairn_core::Output::new(topic.topic_name()))
        .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let topic_id = t.find_resources("AWS::SNS::Topic", json!({}))[0].0.clone();
    let key_id = t.find_resources("AWS::KMS::Key", json!({}))[0].0.clone();
    t.assert_has_resource_properties(
        "AWS::SNS::Topic",
        json!({ "KmsMasterKeyId": { "Fn::GetAtt": [key_id, "Arn"] } }),
    );
    t.assert_has_resource_properties(
        "AWS::SNS::Subscription",
        json!({ "Protocol": "email", "Endpoint": "ops@example.com" }),
    );
    t.assert_has_resource_properties(
        "AWS::SNS::Subscription",
        json!({ "Protocol": "https", "Endpoint": "https://hooks.example.com/a" }),
    );
    t.assert_has_resource_properties("AWS::SNS::Subscription", json!({ "Protocol": "lambda" }));
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [
            { "Action": "sns:Publish", "Resource": { "Ref": topic_id } },
            { "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": { "Fn::GetAtt": [key_id, "Arn"] } }
        ] } }),
    );
    t.assert_has_output(
        "Name",
        json!({ "Value": { "Fn::Select": [5, { "Fn::Split": [":", { "Ref": topic_id }] }] } }),
    );
}

#[test]
fn aws_managed_queue_key_warns_and_raw_email_is_an_error() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let topic = Topic::new(&mut app, stack, "T", TopicProps::default()).unwrap();
    let queue = Queue::new(&mut app, stack, "Q", QueueProps::default()).unwrap();
    topic
        .add_subscription(&mut app, Subscriber::Sqs(queue), SubscriptionProps::default())
        .unwrap();
    assert!(app
        .diagnostics()
        .iter()
        .any(|d| d.level == Level::Warning && d.path == "S/Q" && d.message.contains("alias/aws/sqs")));
    let err = topic
        .add_subscription(
            &mut app,
            Subscriber::Email("a@example.com".into()),
            SubscriptionProps {
                raw_message_delivery: true,
                ..SubscriptionProps::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("'S/T/a@example.com': ") && err.contains("raw message delivery"),
        "{err}"
    );
}

#[test]
fn fifo_topic_name_is_checked() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let err = Topic::new(
        &mut app,
        stack,
        "T",
        TopicProps {
            topic_name: Some("events".into()),
            fifo: true,
            ..TopicProps::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("'S/T': ") && err.contains(".fifo"), "{err}");
}
