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

use cairn_core::{App, CfnResource, NodeId, Result, Stack, Value};

use super::{Bucket, EventType, NotificationKeyFilter};
use crate::iam::{Policy, PolicyProps, PolicyStatement, Principal, Role, RoleProps};
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
pub(super) enum Kind {
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

/// The bucket's `Custom::S3BucketNotifications` L1, created on first use (with the
/// handler's policy on the bucket, which it depends on, and on the bucket policy).
pub(super) fn resource(app: &mut App, bucket: &Bucket) -> Result<NodeId> {
    if let Some(r) = existing(app, bucket) {
        return Ok(r);
    }
    let Some(stack) = app.stack_of(bucket.node) else {
        return Err(app.invalid_props(bucket.node, "a bucket with notifications must be in a stack"));
    };
    let (service_token, role_name) = handler(app, stack)?;
    let holder = app.construct(bucket.node, "Notifications")?;
    let policy = Policy::new(
        app,
        holder,
        "HandlerPolicy",
        PolicyProps {
            statements: vec![PolicyStatement::allow()
                .actions(HANDLER_ACTIONS.iter().copied())
                .resource(bucket.arn())],
            ..PolicyProps::default()
        },
    )?;
    policy.attach_to_role_named(app, role_name)?;
    let l1 = CfnResource::new(NOTIFICATIONS_RESOURCE_TYPE)
        .with("ServiceToken", service_token)
        .with("BucketName", bucket.bucket_name())
        .with("NotificationConfiguration", Value::Map(Default::default()))
        .with("Managed", true)
        .with("SkipDestinationValidation", false);
    let resource = app.add(holder, "Resource", l1)?.node();
    let mut after = vec![policy.resource()];
    after.extend(bucket.policy(app));
    depend_on(app, resource, &after)?;
    Ok(resource)
}

/// The bucket's notifications L1, once it exists.
pub(super) fn existing(app: &App, bucket: &Bucket) -> Option<NodeId> {
    app.node(bucket.node)
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
pub(super) fn enable_event_bridge(app: &mut App, bucket: &Bucket) -> Result<()> {
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
pub(super) fn add_entry(
    app: &mut App,
    bucket: &Bucket,
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
