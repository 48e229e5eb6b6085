//! SQS: queues encrypted with KMS by default, dead-letter queues, FIFO, resource policies
//! and grants.
//!
//! ```
//! use std::time::Duration;
//! use cairn_constructs::sqs::{DeadLetterQueue, Queue, QueueProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let dlq = Queue::new(&mut app, stack, "Dlq", QueueProps::default())?;
//! let jobs = Queue::new(&mut app, stack, "Jobs", QueueProps {
//!     visibility_timeout: Some(Duration::from_secs(120)),
//!     dead_letter_queue: Some(DeadLetterQueue { queue: dlq.into(), max_receive_count: 3 }),
//!     ..QueueProps::default()
//! })?;
//! let asm = app.synth()?;
//! let t = &asm.stack("S").unwrap().template["Resources"];
//! let jobs_id = asm.stack("S").unwrap().resources_of_type("AWS::SQS::Queue")[1];
//! assert_eq!(t[jobs_id]["Properties"]["KmsMasterKeyId"], "alias/aws/sqs");
//! assert_eq!(t[jobs_id]["Properties"]["RedrivePolicy"]["maxReceiveCount"], 3);
//! # let _ = jobs;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use cairn_core::{App, Construct, NodeId, Pseudo, RemovalPolicy, Res, Result, Value};

use crate::iam::{grant, Grantable, PolicyDocument, PolicyStatement};
use crate::imported::{concat, import_node, parse_arn, ArnFormat};
use crate::kms::{push_statement, Key, DECRYPT_ACTIONS, ENCRYPT_DECRYPT_ACTIONS};

pub use cairn_cfn::sqs::*;

/// The actions of [`Queue::grant_send_messages`] (the CDK's list).
pub const SEND_ACTIONS: &[&str] = &["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"];
/// The actions of [`Queue::grant_consume_messages`] (the CDK's list).
pub const CONSUME_ACTIONS: &[&str] = &[
    "sqs:ReceiveMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];
/// The actions of [`Queue::grant_purge`] (the CDK's list).
pub const PURGE_ACTIONS: &[&str] = &["sqs:PurgeQueue", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"];

/// How messages are encrypted at rest.
///
/// ```
/// use cairn_constructs::sqs::QueueEncryption;
/// assert_eq!(QueueEncryption::default(), QueueEncryption::KmsManaged);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueueEncryption {
    /// SSE-KMS with the AWS managed key `alias/aws/sqs` (the default; what the
    /// recommended rules require). AWS services that send to the queue (SNS, S3,
    /// EventBridge) cannot use this key: give such queues a [`Key`].
    #[default]
    KmsManaged,
    /// SSE-KMS with a customer managed key; grants include the key's actions.
    Kms(Key),
    /// SSE-SQS (SQS owned keys). Not a KMS key: the recommended rules report it.
    SqsManaged,
}

/// A dead-letter queue and how often a message is received before it moves there.
///
/// ```
/// # use cairn_constructs::sqs::{DeadLetterQueue, Queue, QueueProps};
/// # let mut app = cairn_core::App::new();
/// # let stack = app.stack("S").unwrap();
/// let dlq = Queue::new(&mut app, stack, "Dlq", QueueProps::default()).unwrap();
/// let dl = DeadLetterQueue { queue: dlq.into(), max_receive_count: 5 };
/// # let _ = dl;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterQueue {
    /// The dead-letter queue, of this app or existing (`queue.into()`).
    pub queue: AnyQueue,
    /// Receives before a message moves to the dead-letter queue.
    pub max_receive_count: i64,
}

/// Settings of a [`Queue`].
///
/// ```
/// use cairn_constructs::sqs::QueueProps;
/// let props = QueueProps { fifo: true, content_based_deduplication: true, ..QueueProps::default() };
/// # let _ = props;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct QueueProps {
    /// A physical name (FIFO names end with `.fifo`); generated when `None`.
    pub queue_name: Option<Value>,
    /// Encryption at rest (default: `alias/aws/sqs`).
    pub encryption: QueueEncryption,
    /// Where messages go after `max_receive_count` receives.
    pub dead_letter_queue: Option<DeadLetterQueue>,
    /// `VisibilityTimeout` (0 to 12 hours; SQS's default is 30 seconds).
    pub visibility_timeout: Option<Duration>,
    /// `MessageRetentionPeriod` (1 minute to 14 days; SQS's default is 4 days).
    pub retention_period: Option<Duration>,
    /// `DelaySeconds` (0 to 15 minutes).
    pub delivery_delay: Option<Duration>,
    /// `ReceiveMessageWaitTimeSeconds`: long polling (0 to 20 seconds).
    pub receive_message_wait_time: Option<Duration>,
    /// A FIFO queue.
    pub fifo: bool,
    /// FIFO only: deduplicate by content.
    pub content_based_deduplication: bool,
    /// What happens to the queue when it leaves the stack (default: `Delete`, as in the
    /// CDK: queues hold messages in transit, not records).
    pub removal_policy: RemovalPolicy,
}

impl Default for QueueProps {
    fn default() -> Self {
        QueueProps {
            queue_name: None,
            encryption: QueueEncryption::KmsManaged,
            dead_letter_queue: None,
            visibility_timeout: None,
            retention_period: None,
            delivery_delay: None,
            receive_message_wait_time: None,
            fifo: false,
            content_based_deduplication: false,
            removal_policy: RemovalPolicy::Delete,
        }
    }
}

/// An SQS queue (`AWS::SQS::Queue`), its L1 the child `Resource`, its queue policy
/// `Policy/Resource` (created by the first resource-policy statement).
///
/// ```
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_constructs::sqs::{Queue, QueueProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let queue = Queue::new(&mut app, stack, "Jobs", QueueProps::default())?;
/// let role = Role::new(&mut app, stack, "Worker", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
/// queue.grant_consume_messages(&mut app, &role)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Queue {
    node: NodeId,
    resource: Res<CfnQueue>,
    encryption: QueueEncryption,
    fifo: bool,
}

impl PartialEq for Queue {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}
impl Eq for Queue {}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Queue {
    /// Creates the queue as construct `id` under `scope`. Out-of-range durations and a
    /// FIFO name without `.fifo` are one [`Error::InvalidProps`](cairn_core::Error::InvalidProps) listing every problem.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: QueueProps) -> Result<Queue> {
        let node = app.construct(scope, id)?;
        let mut q = CfnQueue::default();
        let literal_name = props
            .queue_name
            .as_ref()
            .and_then(Value::as_str)
            .map(str::to_string);
        let fifo = props.fifo || literal_name.as_deref().is_some_and(|n| n.ends_with(".fifo"));
        q.queue_name = props.queue_name.clone().map(Into::into);
        match props.encryption {
            QueueEncryption::KmsManaged => q.kms_master_key_id = Some("alias/aws/sqs".into()),
            QueueEncryption::Kms(key) => q.kms_master_key_id = Some(key.key_arn().into()),
            QueueEncryption::SqsManaged => q.sqs_managed_sse_enabled = Some(true.into()),
        }
        let mut problems = Vec::new();
        let mut range = |name: &str, d: Option<Duration>, lo: u64, hi: u64| -> Option<i64> {
            let d = d?;
            if d.as_secs() < lo || d.as_secs() > hi {
                problems.push(format!(
                    "{name} must be {lo} to {hi} seconds, got {}",
                    d.as_secs()
                ));
            }
            Some(secs(d))
        };
        q.visibility_timeout =
            range("visibility_timeout", props.visibility_timeout, 0, 43_200).map(Into::into);
        q.message_retention_period =
            range("retention_period", props.retention_period, 60, 1_209_600).map(Into::into);
        q.delay_seconds = range("delivery_delay", props.delivery_delay, 0, 900).map(Into::into);
        q.receive_message_wait_time_seconds = range(
            "receive_message_wait_time",
            props.receive_message_wait_time,
            0,
            20,
        )
        .map(Into::into);
        if fifo {
            q.fifo_queue = Some(true.into());
            if let Some(n) = &literal_name {
                if !n.ends_with(".fifo") {
                    problems.push(format!("the FIFO queue name {n:?} must end with \".fifo\""));
                }
            }
        }
        if props.content_based_deduplication {
            if !fifo {
                problems.push("content_based_deduplication needs a FIFO queue (fifo: true)".into());
            }
            q.content_based_deduplication = Some(true.into());
        }
        if let Some(dlq) = &props.dead_letter_queue {
            if dlq.queue.is_fifo() != fifo {
                problems.push(
                    "the dead-letter queue of a FIFO queue must be FIFO, and of a standard queue standard"
                        .into(),
                );
            }
            q.redrive_policy = Some(Value::map([
                ("deadLetterTargetArn", dlq.queue.queue_arn()),
                ("maxReceiveCount", Value::from(dlq.max_receive_count)),
            ]));
        }
        crate::check_props(app, node, problems)?;
        let resource = app.add(node, "Resource", q)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        Ok(Queue {
            node,
            resource,
            encryption: props.encryption,
            fifo,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnQueue> {
        self.resource
    }

    /// The encryption the queue was created with.
    pub fn encryption(&self) -> QueueEncryption {
        self.encryption
    }

    /// The customer managed key, when the queue has one.
    pub fn encryption_key(&self) -> Option<Key> {
        match self.encryption {
            QueueEncryption::Kms(k) => Some(k),
            _ => None,
        }
    }

    /// True for a FIFO queue.
    pub fn is_fifo(&self) -> bool {
        self.fifo
    }

    /// The queue's URL (`Ref`).
    pub fn queue_url(&self) -> Value {
        self.resource.ref_()
    }

    /// The queue's ARN.
    pub fn queue_arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The queue's name (the last part of its ARN).
    pub fn queue_name(&self) -> Value {
        Value::select(5, Value::split(":", self.queue_arn()))
    }

    /// The queue policy's L1 node, once it exists.
    pub fn policy(&self, app: &App) -> Option<NodeId> {
        app.node(self.node)
            .child("Policy")
            .and_then(|p| app.node(p).child("Resource"))
    }

    /// Adds a statement to the queue policy (`<Queue>/Policy/Resource`), creating it on
    /// first use; returns the policy's L1 node.
    pub fn add_to_resource_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<NodeId> {
        let policy = match self.policy(app) {
            Some(p) => p,
            None => {
                let holder = app.construct(self.node, "Policy")?;
                let p = CfnQueuePolicy::new(
                    PolicyDocument::default().to_value(),
                    vec![self.queue_url().into()],
                );
                app.add(holder, "Resource", p)?.node()
            }
        };
        if let Some(p) = app.node_mut(policy).resource_mut::<CfnQueuePolicy>() {
            push_statement(&mut p.policy_document, statement.to_value());
        }
        Ok(policy)
    }

    /// Grants `actions` on this queue.
    pub fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        QueueRef::grant(self, app, grantee, actions)
    }

    /// Grants sending messages (and encrypt/decrypt on a customer managed key).
    pub fn grant_send_messages(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        QueueRef::grant_send_messages(self, app, grantee)
    }

    /// Grants receiving, changing visibility of and deleting messages (and decrypt on a
    /// customer managed key).
    pub fn grant_consume_messages(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        QueueRef::grant_consume_messages(self, app, grantee)
    }

    /// Grants purging the queue.
    pub fn grant_purge(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        QueueRef::grant_purge(self, app, grantee)
    }
}

/// A queue, created by this app ([`Queue`]) or existing ([`ImportedQueue`]). Grants go to
/// the grantee's identity policy (and the key's actions to a customer managed key).
pub trait QueueRef: Construct {
    /// The queue's ARN.
    fn queue_arn(&self) -> Value;
    /// The queue's URL.
    fn queue_url(&self) -> Value;
    /// The queue's name.
    fn queue_name(&self) -> Value;
    /// The ARN of the queue's customer managed key, if any.
    fn encryption_key_arn(&self) -> Option<Value>;
    /// True for a FIFO queue.
    fn is_fifo(&self) -> bool;

    /// Grants `actions` on this queue.
    fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()>
    where
        Self: Sized,
    {
        grant(app, grantee, actions, [self.queue_arn()])
    }

    /// Grants sending messages (and encrypt/decrypt on a customer managed key).
    fn grant_send_messages(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        self.grant(app, grantee, SEND_ACTIONS.iter().copied())?;
        if let Some(key) = self.encryption_key_arn() {
            grant(app, grantee, ENCRYPT_DECRYPT_ACTIONS.iter().copied(), [key])?;
        }
        Ok(())
    }

    /// Grants receiving, changing visibility of and deleting messages (and decrypt on a
    /// customer managed key).
    fn grant_consume_messages(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        self.grant(app, grantee, CONSUME_ACTIONS.iter().copied())?;
        if let Some(key) = self.encryption_key_arn() {
            grant(app, grantee, DECRYPT_ACTIONS.iter().copied(), [key])?;
        }
        Ok(())
    }

    /// Grants purging the queue.
    fn grant_purge(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        self.grant(app, grantee, PURGE_ACTIONS.iter().copied())
    }
}

impl QueueRef for Queue {
    fn queue_arn(&self) -> Value {
        Queue::queue_arn(self)
    }

    fn queue_url(&self) -> Value {
        Queue::queue_url(self)
    }

    fn queue_name(&self) -> Value {
        Queue::queue_name(self)
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.encryption_key().map(|k| k.key_arn())
    }

    fn is_fifo(&self) -> bool {
        self.fifo
    }
}

/// A queue that exists outside the app ([`Queue::from_queue_arn`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedQueue {
    node: NodeId,
    arn: Value,
    url: Value,
    name: Value,
    key_arn: Option<Value>,
}

impl Queue {
    /// A queue that exists, by ARN (`arn:aws:sqs:<region>:<account>:<name>`); its URL is
    /// `https://sqs.<region>.<URL suffix>/<account>/<name>`, as aws-cdk-lib builds it. An
    /// ARN of another service is an [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::sqs::{Queue, QueueRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let jobs = Queue::from_queue_arn(&mut app, stack, "Jobs", "arn:aws:sqs:eu-west-1:123456789012:jobs.fifo")?;
    /// assert_eq!(jobs.queue_name(), "jobs.fifo".into());
    /// assert!(jobs.is_fifo());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_queue_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
    ) -> Result<ImportedQueue> {
        let node = import_node(app, scope, id)?;
        let arn = arn.into();
        let example = "arn:aws:sqs:us-east-1:123456789012:my-queue";
        let parts = parse_arn(app, node, &arn, "sqs", None, ArnFormat::NoResourceName, example)?;
        let region = match arn.as_str() {
            Some(text) => Value::from(text.split(':').nth(3).unwrap_or_default()),
            None => Value::select(3, Value::split(":", arn.clone())),
        };
        let url = concat([
            Value::from("https://sqs."),
            region,
            Value::from("."),
            Value::pseudo(Pseudo::UrlSuffix),
            Value::from("/"),
            parts.account,
            Value::from("/"),
            parts.resource_name.clone(),
        ]);
        Ok(ImportedQueue {
            node,
            arn,
            url,
            name: parts.resource_name,
            key_arn: None,
        })
    }
}

impl ImportedQueue {
    /// The queue's KMS key (grants then include the key's actions).
    pub fn with_encryption_key_arn(mut self, key_arn: impl Into<Value>) -> Self {
        self.key_arn = Some(key_arn.into());
        self
    }
}

impl QueueRef for ImportedQueue {
    fn queue_arn(&self) -> Value {
        self.arn.clone()
    }

    fn queue_url(&self) -> Value {
        self.url.clone()
    }

    fn queue_name(&self) -> Value {
        self.name.clone()
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.key_arn.clone()
    }

    fn is_fifo(&self) -> bool {
        self.name.as_str().is_some_and(|n| n.ends_with(".fifo"))
    }
}

imported_handle!(ImportedQueue);

impl From<Queue> for NodeId {
    fn from(q: Queue) -> NodeId {
        q.node
    }
}

construct!(Queue);

/// A queue of this app or an existing one: what props that take the CDK's `IQueue` take
/// (dead-letter queues of functions, subscriptions and queues). `Some(queue.into())`.
///
/// ```
/// use cairn_constructs::sqs::{AnyQueue, Queue, QueueProps, QueueRef};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let existing = Queue::from_queue_arn(&mut app, stack, "Dlq", "arn:aws:sqs:eu-west-1:123456789012:dlq")?;
/// let created = Queue::new(&mut app, stack, "Jobs", QueueProps::default())?;
/// let either: [AnyQueue; 2] = [existing.into(), created.into()];
/// assert_eq!(either[0].queue_name(), "dlq".into());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum AnyQueue {
    /// A queue of this app.
    Created(Queue),
    /// An existing queue ([`Queue::from_queue_arn`]).
    Imported(Box<ImportedQueue>),
}

impl From<Queue> for AnyQueue {
    fn from(q: Queue) -> Self {
        AnyQueue::Created(q)
    }
}

impl From<ImportedQueue> for AnyQueue {
    fn from(q: ImportedQueue) -> Self {
        AnyQueue::Imported(Box::new(q))
    }
}

impl From<&ImportedQueue> for AnyQueue {
    fn from(q: &ImportedQueue) -> Self {
        AnyQueue::Imported(Box::new(q.clone()))
    }
}

/// Calls `$method` on the queue, created or existing.
macro_rules! either_queue {
    ($q:expr, $method:ident) => {
        match $q {
            AnyQueue::Created(q) => q.$method(),
            AnyQueue::Imported(q) => q.$method(),
        }
    };
}

impl Construct for AnyQueue {
    fn node(&self) -> NodeId {
        match self {
            AnyQueue::Created(q) => q.node,
            AnyQueue::Imported(q) => q.node,
        }
    }
}

impl QueueRef for AnyQueue {
    fn queue_arn(&self) -> Value {
        either_queue!(self, queue_arn)
    }

    fn queue_url(&self) -> Value {
        either_queue!(self, queue_url)
    }

    fn queue_name(&self) -> Value {
        either_queue!(self, queue_name)
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        either_queue!(self, encryption_key_arn)
    }

    fn is_fifo(&self) -> bool {
        either_queue!(self, is_fifo)
    }
}
