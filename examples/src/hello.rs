//! `hello`: the smallest app with two stacks and a cross-stack reference.
//!
//! - `HelloProducer`: an encrypted, versioned, private bucket (retained on delete) and
//!   an encrypted queue.
//! - `HelloConsumer`: a topic whose name is a stack parameter, subscribed to the
//!   producer's queue. The queue's ARN crosses stacks: synthesis exports it from the
//!   producer and imports it in the consumer, and the consumer depends on the producer.
//!
//! The recommended compliance rules run over the whole app in fix mode.

use cairn::{App, CfnResource, Output, Parameter, RemovalPolicy, Result, Value};
use cairn_aspects::RuleSet;

/// Builds the `hello` app.
pub fn build() -> Result<App> {
    let mut app = App::new();

    let producer = app.stack("HelloProducer")?;
    let bucket = app.add(
        producer,
        "Bucket",
        CfnResource::new("AWS::S3::Bucket")
            .with(
                "BucketEncryption",
                Value::map([(
                    "ServerSideEncryptionConfiguration",
                    Value::list([Value::map([(
                        "ServerSideEncryptionByDefault",
                        Value::map([("SSEAlgorithm", Value::from("AES256"))]),
                    )])]),
                )]),
            )
            .with(
                "PublicAccessBlockConfiguration",
                Value::map([
                    ("BlockPublicAcls", Value::from(true)),
                    ("BlockPublicPolicy", Value::from(true)),
                    ("IgnorePublicAcls", Value::from(true)),
                    ("RestrictPublicBuckets", Value::from(true)),
                ]),
            )
            .with(
                "VersioningConfiguration",
                Value::map([("Status", Value::from("Enabled"))]),
            ),
    )?;
    let options = app.resource_options_mut(bucket)?;
    options.deletion_policy = Some(RemovalPolicy::Retain);
    options.update_replace_policy = Some(RemovalPolicy::Retain);

    let queue = app.add(
        producer,
        "Queue",
        CfnResource::new("AWS::SQS::Queue")
            .with("SqsManagedSseEnabled", true)
            .with("MessageRetentionPeriod", 1_209_600),
    )?;
    app.output(
        producer,
        "BucketName",
        Output::new(bucket.ref_()).description("The producer's bucket"),
    )?;

    let consumer = app.stack("HelloConsumer")?;
    let topic_name = app.parameter(
        consumer,
        "TopicName",
        Parameter::string()
            .default_value("hello-events")
            .description("Name of the topic")
            .allowed_pattern("^[A-Za-z0-9_-]{1,256}$")
            .constraint_description("letters, digits, '-' and '_' only"),
    )?;
    let topic = app.add(
        consumer,
        "Topic",
        CfnResource::new("AWS::SNS::Topic")
            .with("TopicName", topic_name.value())
            .with("KmsMasterKeyId", "alias/aws/sns"),
    )?;
    app.add(
        consumer,
        "QueueSubscription",
        CfnResource::new("AWS::SNS::Subscription")
            .with("Protocol", "sqs")
            .with("TopicArn", topic.ref_())
            .with("Endpoint", queue.attr("Arn"))
            .with("RawMessageDelivery", true),
    )?;
    app.output(
        consumer,
        "TopicArn",
        Output::new(topic.ref_()).description("Where to publish events"),
    )?;

    // The recommended rules, fixing what they can: e.g. the bucket gets a TLS-only policy.
    let root = app.root();
    RuleSet::recommended().apply(&mut app, root);
    Ok(app)
}
