//! Bucket notifications as aws-cdk-lib writes them: not on the bucket, but in a custom
//! resource `Custom::S3BucketNotifications` (`<Bucket>/Notifications/Resource`, allowed to
//! put the bucket's notification configuration by `<Bucket>/Notifications/HandlerPolicy`)
//! served by one function per stack, `BucketNotificationsHandler050a0587b7544547bf325f094a3db834`
//! (its role `Role`, its L1 `Resource`). So a ported bucket keeps the CDK's logical IDs and
//! its notifications stay where they are.
//!
//! The handler is cairn's own (`notifications_handler.py`, inline): on Create and Update it
//! puts the resource's entries and keeps those of the bucket it did not make (by hand, by
//! another stack), on Delete it takes off only its own, and answers CloudFormation.

use cairn_core::{App, CfnResource, Level, NodeId, Result, Stack, Value};

use super::{BucketRef, CfnBucket, EventType, NotificationDestination, NotificationKeyFilter};
use crate::iam::{Policy, PolicyProps, PolicyStatement, Principal, Role, RoleProps};
use crate::sns::Topic;
use crate::sqs::{Queue, QueueEncryption};
use cairn_cfn::lambda::{function, CfnFunction};

/// The id, under the stack, of the one function serving every bucket's
/// `Custom::S3BucketNotifications` (aws-cdk-lib's singleton id, so it keeps its logical ID).
pub const NOTIFICATIONS_HANDLER_ID: &str = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834";

/// The resource type of a bucket's notifications.
pub const NOTIFICATIONS_RESOURCE_TYPE: &str = "Custom::S3BucketNotifications";

/// cairn's handler (inline: under the 4,096 characters of `ZipFile`).
pub(crate) const HANDLER_CODE: &str = include_str!("notifications_handler.py");

/// The handler's description (aws-cdk-lib's).
const HANDLER_DESCRIPTION: &str =
    "AWS CloudFormation handler for \"Custom::S3BucketNotifications\" resources (@aws-cdk/aws-s3)";

/// The actions of the handler's policy on a bucket: it reads the configuration to keep the
/// entries it did not make.
const HANDLER_ACTIONS: &[&str] = &["s3:PutBucketNotification", "s3:GetBucketNotification"];

/// The keys of `NotificationConfiguration`, in the order aws-cdk-lib writes them.
const ORDER: &[&str] = &[
    "EventBridgeConfiguration",
    "LambdaFunctionConfigurations",
    "QueueConfigurations",
    "TopicConfigurations",
];

/// Where a configuration entry goes: its list and the key of its destination's ARN.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Lambda,
    Queue,
    Topic,
}

impl Kind {
    fn list(self) -> &'static str {
        match self {
            Kind::Lambda => "LambdaFunctionConfigurations",
            Kind::Queue => "QueueConfigurations",
            Kind::Topic => "TopicConfigurations",
        }
    }

    fn arn_key(self) -> &'static str {
        match self {
            Kind::Lambda => "LambdaFunctionArn",
            Kind::Queue => "QueueArn",
            Kind::Topic => "TopicArn",
        }
    }
}

/// The handler function of the bucket's stack, created on first use: its ARN and its
/// role's name.
fn handler(app: &mut App, stack: Stack) -> Result<(Value, Value)> {
    if let Some(existing) = app.node(stack.node()).child(NOTIFICATIONS_HANDLER_ID) {
        let function = app.node(existing).child("Resource");
        let role = app
            .node(existing)
            .child("Role")
            .and_then(|r| app.node(r).child("Resource"));
        return match (function, role) {
            (Some(function), Some(role)) => Ok((Value::get_att(function, "Arn"), Value::reference(role))),
            _ => Err(app.invalid_props(
                existing,
                format!("the id {NOTIFICATIONS_HANDLER_ID} under the stack is reserved for the bucket notifications handler"),
            )),
        };
    }
    let holder = app.construct(stack, NOTIFICATIONS_HANDLER_ID)?;
    let role = Role::new(
        app,
        holder,
        "Role",
        RoleProps {
            managed_policies: vec![Role::aws_managed_policy(
                "service-role/AWSLambdaBasicExecutionRole",
            )],
            ..RoleProps::new(Principal::service("lambda.amazonaws.com"))
        },
    )?;
    let code = function::Code {
        zip_file: Some(HANDLER_CODE.into()),
        ..Default::default()
    };
    let mut f = CfnFunction::new(code, role.arn());
    f.description = Some(HANDLER_DESCRIPTION.into());
    f.handler = Some("index.handler".into());
    f.runtime = Some(function::Runtime::Python313.into());
    f.timeout = Some(300.into());
    let function = app.add(holder, "Resource", f)?;
    app.resource_options_mut(function)?
        .depends_on
        .push(role.resource().node());
    Ok((function.attr_arn(), role.name()))
}

/// Whether the app created the bucket (`Managed: true`), rather than imported it.
fn managed(app: &App, bucket: NodeId) -> bool {
    app.node(bucket)
        .child("Resource")
        .is_some_and(|r| app.node(r).resource::<CfnBucket>().is_some())
}

/// The bucket policy's L1, when the app made one.
fn bucket_policy(app: &App, bucket: NodeId) -> Option<NodeId> {
    app.node(bucket)
        .child("Policy")
        .and_then(|p| app.node(p).child("Resource"))
}

/// The bucket's `Custom::S3BucketNotifications` L1, created on first use (with the
/// handler's policy on the bucket, which it depends on, and on the bucket policy).
/// `Managed` is true for a bucket of the app, false for an existing one (aws-cdk-lib's
/// distinction; cairn's handler keeps the entries it did not make either way).
pub(super) fn resource(app: &mut App, bucket: &impl BucketRef) -> Result<NodeId> {
    let node = bucket.node();
    if let Some(r) = existing(app, node) {
        return Ok(r);
    }
    let Some(stack) = app.stack_of(node) else {
        return Err(app.invalid_props(node, "a bucket with notifications must be in a stack"));
    };
    let (service_token, role_name) = handler(app, stack)?;
    let managed = managed(app, node);
    let holder = app.construct(node, "Notifications")?;
    let policy = Policy::new(
        app,
        holder,
        "HandlerPolicy",
        PolicyProps {
            statements: vec![PolicyStatement::allow()
                .actions(HANDLER_ACTIONS.iter().copied())
                .resource(bucket.bucket_arn())],
            ..PolicyProps::default()
        },
    )?;
    policy.attach_to_role_named(app, role_name)?;
    let l1 = CfnResource::new(NOTIFICATIONS_RESOURCE_TYPE)
        .with("ServiceToken", service_token)
        .with("BucketName", bucket.bucket_name())
        .with("NotificationConfiguration", Value::Map(Default::default()))
        .with("Managed", managed)
        .with("SkipDestinationValidation", false);
    let resource = app.add(holder, "Resource", l1)?.node();
    let mut after = vec![policy.resource()];
    after.extend(bucket_policy(app, node));
    depend_on(app, resource, &after)?;
    Ok(resource)
}

/// The bucket's notifications L1, once it exists.
pub(super) fn existing(app: &App, bucket: NodeId) -> Option<NodeId> {
    app.node(bucket)
        .child("Notifications")
        .and_then(|n| app.node(n).child("Resource"))
}

/// Adds `DependsOn` entries to the notifications L1 (each once).
pub(super) fn depend_on(app: &mut App, resource: NodeId, nodes: &[NodeId]) -> Result<()> {
    let o = app.resource_options_mut(resource)?;
    for d in nodes {
        if !o.depends_on.contains(d) {
            o.depends_on.push(*d);
        }
    }
    Ok(())
}

/// Changes the notifications L1's `NotificationConfiguration`, keeping aws-cdk-lib's key
/// order.
fn edit_configuration(
    app: &mut App,
    resource: NodeId,
    edit: impl FnOnce(&mut indexmap::IndexMap<String, Value>),
) -> Result<()> {
    let problem = app.invalid_props(
        resource,
        "the bucket's Notifications/Resource is not a custom resource",
    );
    let l1 = app
        .try_node_mut(resource)?
        .resource_mut::<CfnResource>()
        .ok_or(problem)?;
    let mut config = match l1.properties.shift_remove("NotificationConfiguration") {
        Some(Value::Map(m)) => m,
        _ => Default::default(),
    };
    edit(&mut config);
    config.sort_by_key(|k, _| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    // Back in its place: after BucketName.
    let at = l1
        .properties
        .get_index_of("BucketName")
        .map_or(l1.properties.len(), |i| i + 1);
    l1.properties
        .shift_insert(at, "NotificationConfiguration".to_string(), Value::Map(config));
    Ok(())
}

/// Turns on EventBridge delivery (`EventBridgeConfiguration: {}`).
pub(super) fn enable_event_bridge(app: &mut App, bucket: &impl BucketRef) -> Result<()> {
    let resource = resource(app, bucket)?;
    edit_configuration(app, resource, |config| {
        config.insert("EventBridgeConfiguration".into(), Value::Map(Default::default()));
    })
}

/// aws-cdk-lib's rendering of a key filter: suffix first, then prefix; `None` when empty.
fn filter_value(filter: &NotificationKeyFilter) -> Option<Value> {
    let rule =
        |name: &str, value: &str| Value::map([("Name", Value::from(name)), ("Value", Value::from(value))]);
    let mut rules = Vec::new();
    if let Some(s) = &filter.suffix {
        rules.push(rule("suffix", s));
    }
    if let Some(p) = &filter.prefix {
        rules.push(rule("prefix", p));
    }
    (!rules.is_empty()).then(|| Value::map([("Key", Value::map([("FilterRules", Value::List(rules))]))]))
}

/// Adds one configuration entry; the notifications resource depends on `depends_on`.
fn add_entry(
    app: &mut App,
    bucket: &impl BucketRef,
    kind: Kind,
    event: &EventType,
    arn: Value,
    filter: &NotificationKeyFilter,
    depends_on: &[NodeId],
) -> Result<()> {
    let resource = resource(app, bucket)?;
    let mut entry = indexmap::IndexMap::new();
    entry.insert(
        "Events".to_string(),
        Value::List(vec![Value::from(event.as_str())]),
    );
    if let Some(f) = filter_value(filter) {
        entry.insert("Filter".to_string(), f);
    }
    entry.insert(kind.arn_key().to_string(), arn);
    edit_configuration(app, resource, |config| {
        let list = config
            .entry(kind.list().to_string())
            .or_insert_with(|| Value::List(Vec::new()));
        if let Value::List(items) = list {
            items.push(Value::Map(entry));
        }
    })?;
    depend_on(app, resource, depends_on)
}

/// An entry for a destination whose permission the caller arranged (`depends_on`).
pub(super) fn add(
    app: &mut App,
    bucket: &impl BucketRef,
    event: EventType,
    destination: NotificationDestination,
    filter: NotificationKeyFilter,
    depends_on: &[NodeId],
) -> Result<()> {
    let (kind, arn) = match destination {
        NotificationDestination::Lambda(arn) => (Kind::Lambda, arn),
        NotificationDestination::Queue(arn) => (Kind::Queue, arn),
        NotificationDestination::Topic(arn) => (Kind::Topic, arn),
    };
    add_entry(app, bucket, kind, &event, arn, &filter, depends_on)
}

/// The statement letting S3 deliver the bucket's notifications (`aws:SourceArn` the
/// bucket's ARN, as aws-cdk-lib scopes it).
fn delivery(bucket: &impl BucketRef, actions: &[&str], resource: Value) -> PolicyStatement {
    PolicyStatement::allow()
        .principal(Principal::service("s3.amazonaws.com"))
        .actions(actions.iter().copied())
        .resource(resource)
        .condition("ArnLike", "aws:SourceArn", bucket.bucket_arn())
}

/// The statement letting S3 use a destination's customer managed key.
fn key_use() -> PolicyStatement {
    PolicyStatement::allow()
        .principal(Principal::service("s3.amazonaws.com"))
        .actions(["kms:GenerateDataKey*", "kms:Decrypt"])
        .resource("*")
}

/// aws-cdk-lib's `SqsDestination`: the queue policy statement, the key's (or a warning
/// for the AWS managed key), the entry after the queue and its policy.
pub(super) fn to_queue(
    app: &mut App,
    bucket: &impl BucketRef,
    event: EventType,
    queue: &Queue,
    filter: NotificationKeyFilter,
) -> Result<()> {
    let stmt = delivery(
        bucket,
        &["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
        queue.queue_arn(),
    );
    let policy = queue.add_to_resource_policy(app, stmt)?;
    match queue.encryption() {
        QueueEncryption::Kms(key) => key.add_to_resource_policy(app, key_use())?,
        QueueEncryption::KmsManaged => app.annotate(
            bucket.node(),
            Level::Warning,
            "S3 cannot send notifications to a queue encrypted with the AWS managed key alias/aws/sqs; give the queue a customer managed kms::Key",
        ),
        QueueEncryption::SqsManaged => {}
    }
    add(
        app,
        bucket,
        event,
        NotificationDestination::Queue(queue.queue_arn()),
        filter,
        &[policy, queue.resource().node()],
    )
}

/// aws-cdk-lib's `SnsDestination`: the topic policy statement, the key's (or a warning
/// for the AWS managed key), the entry after the topic and its policy.
pub(super) fn to_topic(
    app: &mut App,
    bucket: &impl BucketRef,
    event: EventType,
    topic: &Topic,
    filter: NotificationKeyFilter,
) -> Result<()> {
    let stmt = delivery(bucket, &["sns:Publish"], topic.topic_arn());
    let policy = topic.add_to_resource_policy(app, stmt)?;
    match topic.encryption_key() {
        Some(key) => key.add_to_resource_policy(app, key_use())?,
        None => app.annotate(
            bucket.node(),
            Level::Warning,
            "S3 cannot publish to a topic encrypted with the AWS managed key alias/aws/sns; give the topic a customer managed kms::Key",
        ),
    }
    add(
        app,
        bucket,
        event,
        NotificationDestination::Topic(topic.topic_arn()),
        filter,
        &[policy, topic.resource().node()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handler_fits_inline() {
        assert!(HANDLER_CODE.len() < 4096, "{} characters", HANDLER_CODE.len());
    }

    #[test]
    fn filters_render_suffix_first() {
        let both = NotificationKeyFilter {
            prefix: Some("in/".into()),
            suffix: Some(".csv".into()),
        };
        let rules = filter_value(&both).unwrap();
        let Value::Map(m) = &rules else {
            panic!("{rules:?}")
        };
        let Some(Value::Map(key)) = m.get("Key") else {
            panic!("{rules:?}")
        };
        let Some(Value::List(items)) = key.get("FilterRules") else {
            panic!("{rules:?}")
        };
        let names: Vec<_> = items
            .iter()
            .map(|r| match r {
                Value::Map(r) => r["Name"].clone(),
                _ => Value::Null,
            })
            .collect();
        assert_eq!(names, vec![Value::from("suffix"), Value::from("prefix")]);
        assert!(filter_value(&NotificationKeyFilter::default()).is_none());
    }
}
