//! SNS: topics encrypted with KMS by default, subscriptions (SQS with its queue policy,
//! Lambda, email, HTTPS), resource policies and grants.
//!
//! ```
//! use cairn_constructs::kms::{Key, KeyProps};
//! use cairn_constructs::sns::{Subscriber, SubscriptionProps, Topic, TopicProps};
//! use cairn_constructs::sqs::{Queue, QueueEncryption, QueueProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let topic = Topic::new(&mut app, stack, "Orders", TopicProps::default())?;
//! let key = Key::new(&mut app, stack, "QueueKey", KeyProps::default())?;
//! let queue = Queue::new(&mut app, stack, "Billing", QueueProps {
//!     encryption: QueueEncryption::Kms(key),
//!     ..QueueProps::default()
//! })?;
//! topic.add_subscription(&mut app, Subscriber::Sqs(queue), SubscriptionProps::default())?;
//! topic.add_subscription(&mut app, Subscriber::Email("ops@example.com".into()), SubscriptionProps::default())?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! assert_eq!(s.resources_of_type("AWS::SNS::Subscription").len(), 2);
//! assert_eq!(s.resources_of_type("AWS::SQS::QueuePolicy").len(), 1);
//! # Ok(())
//! # }
//! ```

use cairn_core::{make_unique_id, App, Construct, Level, NodeId, Pseudo, Res, Result, Value};

use crate::iam::{grant, Grantable, PolicyDocument, PolicyStatement, Principal};
use crate::imported::{import_node, parse_arn, ArnFormat};
use crate::kms::{push_statement, Key};
use crate::sqs::{AnyQueue, Queue, QueueEncryption, QueueRef};

pub use cairn_cfn::sns::*;

/// The actions of [`Topic::grant_publish`].
pub const PUBLISH_ACTIONS: &[&str] = &["sns:Publish"];
/// The key actions a publisher needs on the topic's customer managed key (the CDK's list).
pub const KEY_PUBLISH_ACTIONS: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey*"];

/// Settings of a [`Topic`].
///
/// ```
/// use cairn_constructs::sns::TopicProps;
/// let props = TopicProps { display_name: Some("Orders".into()), ..TopicProps::default() };
/// # let _ = props;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicProps {
    /// A physical name (FIFO names end with `.fifo`); generated when `None`.
    pub topic_name: Option<Value>,
    /// `DisplayName` (used as the sender of SMS and email).
    pub display_name: Option<String>,
    /// A customer managed key; the AWS managed `alias/aws/sns` when `None`.
    pub master_key: Option<Key>,
    /// A FIFO topic.
    pub fifo: bool,
    /// FIFO only: deduplicate by content.
    pub content_based_deduplication: bool,
}

/// Who receives a topic's messages.
#[derive(Debug, Clone, PartialEq)]
pub enum Subscriber {
    /// An SQS queue; its queue policy gets a statement letting the topic send.
    Sqs(Queue),
    /// A Lambda function ARN. The function also needs a `lambda:InvokeFunction`
    /// permission for `sns.amazonaws.com` (the lambda module's typed helper adds it).
    Lambda(Value),
    /// An email address (`email` protocol; the recipient confirms).
    Email(String),
    /// An HTTPS URL (the endpoint confirms).
    Https(String),
    /// Any protocol and endpoint (`sms`, `application`, `firehose`, `email-json` ...).
    Other {
        /// `Protocol`
        protocol: String,
        /// `Endpoint`
        endpoint: Value,
    },
}

/// Options of a subscription.
///
/// ```
/// use cairn_constructs::sns::SubscriptionProps;
/// use cairn_core::Value;
/// let props = SubscriptionProps {
///     raw_message_delivery: true,
///     filter_policy: Some(Value::map([("kind", Value::list([Value::from("order")]))])),
///     ..SubscriptionProps::default()
/// };
/// # let _ = props;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionProps {
    /// `FilterPolicy` on message attributes.
    pub filter_policy: Option<Value>,
    /// Deliver the raw message, without the SNS envelope (SQS and HTTPS only).
    pub raw_message_delivery: bool,
    /// Undeliverable messages go to this queue (its policy lets the topic send).
    pub dead_letter_queue: Option<AnyQueue>,
}

/// An SNS topic (`AWS::SNS::Topic`), its L1 the child `Resource`, its topic policy
/// `Policy/Resource`.
///
/// ```
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_constructs::sns::{Topic, TopicProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let topic = Topic::new(&mut app, stack, "Alerts", TopicProps::default())?;
/// let role = Role::new(&mut app, stack, "Publisher", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
/// topic.grant_publish(&mut app, &role)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Topic {
    node: NodeId,
    resource: Res<CfnTopic>,
    key: Option<Key>,
}

impl PartialEq for Topic {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// A construct id for an endpoint string: `/` is not allowed in ids.
fn endpoint_id(endpoint: &str) -> String {
    endpoint.replace('/', "--")
}

impl Topic {
    /// Creates the topic as construct `id` under `scope`.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: TopicProps) -> Result<Topic> {
        let node = app.construct(scope, id)?;
        let mut t = CfnTopic {
            topic_name: props.topic_name.clone().map(Into::into),
            display_name: props.display_name.as_deref().map(Into::into),
            kms_master_key_id: Some(match props.master_key {
                Some(k) => k.key_arn().into(),
                None => "alias/aws/sns".into(),
            }),
            ..CfnTopic::default()
        };
        if props.fifo {
            t.fifo_topic = Some(true.into());
            if let Some(n) = props.topic_name.as_ref().and_then(Value::as_str) {
                if !n.ends_with(".fifo") {
                    return Err(
                        app.invalid_props(node, format!("the FIFO topic name {n:?} must end with \".fifo\""))
                    );
                }
            }
        }
        if props.content_based_deduplication {
            if !props.fifo {
                return Err(app.invalid_props(
                    node,
                    "content_based_deduplication needs a FIFO topic (fifo: true)",
                ));
            }
            t.content_based_deduplication = Some(true.into());
        }
        let resource = app.add(node, "Resource", t)?;
        Ok(Topic {
            node,
            resource,
            key: props.master_key,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnTopic> {
        self.resource
    }

    /// The customer managed key, when the topic has one.
    pub fn encryption_key(&self) -> Option<Key> {
        self.key
    }

    /// The topic's ARN (`Ref`).
    pub fn topic_arn(&self) -> Value {
        self.resource.ref_()
    }

    /// The topic's name (the last part of its ARN).
    pub fn topic_name(&self) -> Value {
        TopicRef::topic_name(self)
    }

    /// The CDK's unique id of the topic (e.g. `OrdersEB2C3A4F`), used as the id of
    /// subscriptions created in the subscriber's scope.
    pub fn unique_id(&self, app: &App) -> String {
        TopicRef::unique_id(self, app)
    }

    /// The topic policy's L1 node, once it exists.
    pub fn policy(&self, app: &App) -> Option<NodeId> {
        app.node(self.node)
            .child("Policy")
            .and_then(|p| app.node(p).child("Resource"))
    }

    /// Adds a statement to the topic policy (`<Topic>/Policy/Resource`), creating it on
    /// first use; returns the policy's L1 node.
    pub fn add_to_resource_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<NodeId> {
        let policy = match self.policy(app) {
            Some(p) => p,
            None => {
                let holder = app.construct(self.node, "Policy")?;
                let p = CfnTopicPolicy::new(
                    PolicyDocument::default().to_value(),
                    vec![self.topic_arn().into()],
                );
                app.add(holder, "Resource", p)?.node()
            }
        };
        if let Some(p) = app.node_mut(policy).resource_mut::<CfnTopicPolicy>() {
            push_statement(&mut p.policy_document, statement.to_value());
        }
        Ok(policy)
    }

    /// Adds a subscription: an SQS queue's in the queue's scope with the topic's unique id
    /// as id (as the CDK does), the others under the topic with the endpoint as id
    /// (`Lambda<n>` for functions).
    pub fn add_subscription(
        &self,
        app: &mut App,
        subscriber: Subscriber,
        props: SubscriptionProps,
    ) -> Result<Res<CfnSubscription>> {
        TopicRef::add_subscription(self, app, subscriber, props)
    }

    /// The building block of subscriptions (see [`TopicRef::subscribe`]).
    pub fn subscribe(
        &self,
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        protocol: &str,
        endpoint: Value,
        props: SubscriptionProps,
    ) -> Result<Res<CfnSubscription>> {
        TopicRef::subscribe(self, app, scope, id, protocol, endpoint, props)
    }

    /// Grants `sns:Publish` (and `kms:Decrypt`, `kms:GenerateDataKey*` on a customer
    /// managed key).
    pub fn grant_publish(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        TopicRef::grant_publish(self, app, grantee)
    }
}

impl From<Topic> for NodeId {
    fn from(t: Topic) -> NodeId {
        t.node
    }
}

construct!(Topic);

/// A topic, created by this app ([`Topic`]) or existing ([`ImportedTopic`]): subscriptions
/// and grants work on either (an existing topic's policy is not the app's, so only the
/// subscriber's side changes).
pub trait TopicRef: Construct {
    /// The topic's ARN.
    fn topic_arn(&self) -> Value;

    /// The ARN of the topic's customer managed key, if any.
    fn encryption_key_arn(&self) -> Option<Value>;

    /// The topic's name (the last part of its ARN).
    fn topic_name(&self) -> Value {
        Value::select(5, Value::split(":", self.topic_arn()))
    }

    /// The region subscriptions of queues and functions name (`Region`): none for a
    /// topic of the stack, the literal ARN's for an existing one (as aws-cdk-lib's
    /// subscriptions write it).
    fn subscription_region(&self) -> Option<Value> {
        None
    }

    /// The CDK's unique id of the topic (e.g. `OrdersEB2C3A4F`), used as the id of
    /// subscriptions created in the subscriber's scope.
    fn unique_id(&self, app: &App) -> String {
        make_unique_id(&app.path_from(app.root(), self.node()))
    }

    /// Lets this topic send to `queue`: a queue policy statement (and a key policy
    /// statement when the queue has a customer managed key). Returns the queue policy.
    fn allow_to_queue(&self, app: &mut App, queue: &Queue) -> Result<NodeId>
    where
        Self: Sized,
    {
        let policy = queue.add_to_resource_policy(
            app,
            PolicyStatement::allow()
                .principal(Principal::service("sns.amazonaws.com"))
                .actions(["sqs:SendMessage"])
                .resource(queue.queue_arn())
                .condition("ArnEquals", "aws:SourceArn", self.topic_arn()),
        )?;
        match queue.encryption() {
            QueueEncryption::Kms(key) => {
                let statement = PolicyStatement::allow()
                    .principal(Principal::service("sns.amazonaws.com"))
                    .actions(["kms:Decrypt", "kms:GenerateDataKey"])
                    .resource("*");
                // Scoped to this topic, unless the topic is encrypted with the same key:
                // the key policy naming the topic would then be a dependency cycle.
                let statement = if self.encryption_key_arn() == Some(key.key_arn()) {
                    statement.condition("StringEquals", "aws:SourceAccount", Value::pseudo(Pseudo::AccountId))
                } else {
                    statement.condition("ArnEquals", "aws:SourceArn", self.topic_arn())
                };
                key.add_to_resource_policy(app, statement)?
            }
            QueueEncryption::KmsManaged => app.annotate(
                queue.node(),
                Level::Warning,
                "SNS cannot deliver to a queue encrypted with the AWS managed key alias/aws/sqs; give the queue a customer managed kms::Key",
            ),
            QueueEncryption::SqsManaged => {}
        }
        Ok(policy)
    }

    /// Adds a subscription: an SQS queue's in the queue's scope with the topic's unique id
    /// as id (as the CDK does), the others under the topic with the endpoint as id
    /// (`Lambda<n>` for functions).
    fn add_subscription(
        &self,
        app: &mut App,
        subscriber: Subscriber,
        props: SubscriptionProps,
    ) -> Result<Res<CfnSubscription>>
    where
        Self: Sized,
    {
        match subscriber {
            Subscriber::Sqs(queue) => {
                let policy = self.allow_to_queue(app, &queue)?;
                let id = self.unique_id(app);
                let sub = self.subscribe(app, queue.node(), &id, "sqs", queue.queue_arn(), props)?;
                app.resource_options_mut(sub.node())?.depends_on.push(policy);
                Ok(sub)
            }
            Subscriber::Lambda(arn) => {
                let n = (1..)
                    .find(|i| app.node(self.node()).child(&format!("Lambda{i}")).is_none())
                    .unwrap_or(1);
                self.subscribe(app, self.node(), &format!("Lambda{n}"), "lambda", arn, props)
            }
            Subscriber::Email(address) => self.subscribe(
                app,
                self.node(),
                &address,
                "email",
                Value::from(address.as_str()),
                props,
            ),
            Subscriber::Https(url) => self.subscribe(
                app,
                self.node(),
                &endpoint_id(&url),
                "https",
                Value::from(url.as_str()),
                props,
            ),
            Subscriber::Other { protocol, endpoint } => {
                let id = match endpoint.as_str() {
                    Some(s) => endpoint_id(s),
                    None => format!("{protocol}Subscription"),
                };
                self.subscribe(app, self.node(), &id, &protocol, endpoint, props)
            }
        }
    }

    /// The building block of subscriptions: construct `id` under `scope` with an
    /// `AWS::SNS::Subscription` as its child `Resource` (for other modules' typed
    /// helpers, e.g. a Lambda function subscribing in its own scope).
    fn subscribe(
        &self,
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        protocol: &str,
        endpoint: Value,
        props: SubscriptionProps,
    ) -> Result<Res<CfnSubscription>>
    where
        Self: Sized,
    {
        let holder = app.construct(scope, id)?;
        let mut s = CfnSubscription::new(protocol, self.topic_arn());
        s.endpoint = Some(endpoint.into());
        if matches!(protocol, "sqs" | "lambda") {
            s.region = self.subscription_region().map(Into::into);
        }
        s.filter_policy = props.filter_policy.clone();
        if props.raw_message_delivery {
            if !matches!(protocol, "sqs" | "http" | "https" | "firehose") {
                return Err(app.invalid_props(
                    holder,
                    format!("raw message delivery is only for sqs, http(s) and firehose subscriptions, not {protocol}"),
                ));
            }
            s.raw_message_delivery = Some(true.into());
        }
        let mut dlq_policy = None;
        if let Some(dlq) = &props.dead_letter_queue {
            s.redrive_policy = Some(Value::map([("deadLetterTargetArn", dlq.queue_arn())]));
            match dlq {
                AnyQueue::Created(q) => dlq_policy = Some(self.allow_to_queue(app, q)?),
                // An existing queue's policy is not the app's (as in aws-cdk-lib).
                AnyQueue::Imported(_) => app.annotate(
                    holder,
                    Level::Warning,
                    "the dead-letter queue exists outside the app, so its policy was not changed: it must let sns.amazonaws.com send messages (sqs:SendMessage) on behalf of this topic",
                ),
            }
        }
        let sub = app.add(holder, "Resource", s)?;
        if let Some(p) = dlq_policy {
            app.resource_options_mut(sub.node())?.depends_on.push(p);
        }
        Ok(sub)
    }

    /// Grants `sns:Publish` (and `kms:Decrypt`, `kms:GenerateDataKey*` on a customer
    /// managed key).
    fn grant_publish(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        grant(app, grantee, PUBLISH_ACTIONS.iter().copied(), [self.topic_arn()])?;
        if let Some(key) = self.encryption_key_arn() {
            grant(app, grantee, KEY_PUBLISH_ACTIONS.iter().copied(), [key])?;
        }
        Ok(())
    }
}

impl TopicRef for Topic {
    fn topic_arn(&self) -> Value {
        self.resource.ref_()
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.key.map(|k| k.key_arn())
    }
}

/// A topic that exists outside the app ([`Topic::from_topic_arn`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTopic {
    node: NodeId,
    arn: Value,
    key_arn: Option<Value>,
}

impl Topic {
    /// A topic that exists, by ARN (`arn:aws:sns:<region>:<account>:<name>`). An ARN of
    /// another service is an [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::sns::{Topic, TopicRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let alerts = Topic::from_topic_arn(&mut app, stack, "Alerts", "arn:aws:sns:eu-west-1:123456789012:alerts")?;
    /// assert_eq!(alerts.topic_name(), "alerts".into());
    /// assert!(Topic::from_topic_arn(&mut app, stack, "Bad", "arn:aws:sqs:eu-west-1:123456789012:alerts").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_topic_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
    ) -> Result<ImportedTopic> {
        let node = import_node(app, scope, id)?;
        let arn = arn.into();
        let example = "arn:aws:sns:us-east-1:123456789012:my-topic";
        parse_arn(app, node, &arn, "sns", None, ArnFormat::NoResourceName, example)?;
        Ok(ImportedTopic {
            node,
            arn,
            key_arn: None,
        })
    }
}

impl ImportedTopic {
    /// The topic's KMS key (publishers are then granted its actions too).
    pub fn with_encryption_key_arn(mut self, key_arn: impl Into<Value>) -> Self {
        self.key_arn = Some(key_arn.into());
        self
    }
}

impl TopicRef for ImportedTopic {
    fn topic_arn(&self) -> Value {
        self.arn.clone()
    }

    fn topic_name(&self) -> Value {
        match self.arn.as_str() {
            Some(arn) => Value::from(arn.rsplit(':').next().unwrap_or(arn)),
            None => Value::select(5, Value::split(":", self.arn.clone())),
        }
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.key_arn.clone()
    }

    fn subscription_region(&self) -> Option<Value> {
        let region = self.arn.as_str()?.split(':').nth(3)?;
        Some(Value::from(region))
    }
}

imported_handle!(ImportedTopic);
