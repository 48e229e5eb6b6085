//! `hello`: the smallest app with two stacks and a cross-stack reference, built from the
//! typed L1 resources.
//!
//! - `HelloProducer`: an encrypted, versioned, private bucket (retained on delete) and
//!   an encrypted queue.
//! - `HelloConsumer`: a topic whose name is a stack parameter, subscribed to the
//!   producer's queue. The queue's ARN crosses stacks: synthesis exports it from the
//!   producer and imports it in the consumer, and the consumer depends on the producer.
//!
//! The recommended compliance rules run over the whole app in fix mode, and every
//! property is checked against its CloudFormation schema at synthesis.
//!
//! This app is its own crate (`examples/hello`, with its `cdk.json`), as a user's app is,
//! so an edit rebuilds it alone; the `examples` library includes this file as
//! `examples::hello` for the tests.

use cairn::{App, Output, Parameter, RemovalPolicy, Result};
use cairn_aspects::RuleSet;
use cairn_cfn::s3::{bucket, CfnBucket};
use cairn_cfn::sns::{CfnSubscription, CfnTopic};
use cairn_cfn::sqs::CfnQueue;

/// Builds the `hello` app.
pub fn build() -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn_cfn::SchemaValidator::new());
    app.add_validator_once(cairn_cfn::policy::PolicyValidator::new());

    let producer = app.stack("HelloProducer")?;
    let encryption = bucket::ServerSideEncryptionRule {
        server_side_encryption_by_default: Some(
            bucket::ServerSideEncryptionByDefault::new(bucket::SSEAlgorithm::Aes256).into(),
        ),
        ..Default::default()
    };
    let bucket = app.add(
        producer,
        "Bucket",
        CfnBucket {
            bucket_encryption: Some(bucket::BucketEncryption::new(vec![encryption.into()]).into()),
            public_access_block_configuration: Some(
                bucket::PublicAccessBlockConfiguration {
                    block_public_acls: Some(true.into()),
                    block_public_policy: Some(true.into()),
                    ignore_public_acls: Some(true.into()),
                    restrict_public_buckets: Some(true.into()),
                }
                .into(),
            ),
            versioning_configuration: Some(
                bucket::VersioningConfiguration::new(bucket::VersioningConfigurationStatus::Enabled).into(),
            ),
            ..Default::default()
        },
    )?;
    let options = app.resource_options_mut(bucket)?;
    options.deletion_policy = Some(RemovalPolicy::Retain);
    options.update_replace_policy = Some(RemovalPolicy::Retain);
    // checkov's CKV_AWS_18 (server access logging), answered with the reason.
    cairn_aspects::Suppressions::of(&mut app, bucket.node()).add(
        "CKV_AWS_18",
        "The example's bucket holds no objects: it exists to be referenced across stacks; a bucket that holds data sets server access logging to a log bucket",
    )?;

    let queue = app.add(
        producer,
        "Queue",
        CfnQueue {
            message_retention_period: Some(1_209_600.into()),
            ..Default::default()
        },
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
        CfnTopic {
            topic_name: Some(topic_name.value().into()),
            kms_master_key_id: Some("alias/aws/sns".into()),
            ..Default::default()
        },
    )?;
    app.add(
        consumer,
        "QueueSubscription",
        CfnSubscription {
            endpoint: Some(queue.attr_arn().into()),
            raw_message_delivery: Some(true.into()),
            ..CfnSubscription::new("sqs", topic.ref_())
        },
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
