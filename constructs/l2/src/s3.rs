//! S3: buckets that are encrypted, versioned, private, TLS-only and retained by default,
//! with lifecycle rules, server access logs, event notifications and grants.
//!
//! ```
//! use cairn_constructs::iam::{Principal, Role, RoleProps};
//! use cairn_constructs::s3::{Bucket, BucketProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let bucket = Bucket::new(&mut app, stack, "Uploads", BucketProps::default())?;
//! let role = Role::new(&mut app, stack, "Worker", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
//! bucket.grant_read(&mut app, &role)?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let id = s.resources_of_type("AWS::S3::Bucket")[0];
//! assert_eq!(s.template["Resources"][id]["Properties"]["VersioningConfiguration"]["Status"], "Enabled");
//! assert_eq!(s.template["Resources"][id]["DeletionPolicy"], "Retain");
//! assert_eq!(s.resources_of_type("AWS::S3::BucketPolicy").len(), 1);
//! # Ok(())
//! # }
//! ```

use cairn_core::{App, Arn, Level, NodeId, Pseudo, RemovalPolicy, Res, Result, Val, Value};

use crate::iam::{Grantable, PolicyDocument, PolicyStatement, Principal};
use crate::kms::{push_statement, Key};

mod existing;

use crate::sns::Topic;
use crate::sqs::{Queue, QueueEncryption};
pub use existing::{BucketAttributes, BucketRef, ImportedBucket};

/// Storage classes of lifecycle transitions (the L1 enum).
pub use cairn_cfn::s3::bucket::StorageClass;
pub use cairn_cfn::s3::*;

/// The object read actions of [`Bucket::grant_read`] (the CDK's list).
pub const READ_ACTIONS: &[&str] = &["s3:GetObject*", "s3:GetBucket*", "s3:List*"];
/// The object put actions of [`Bucket::grant_put`] (the CDK's list, without ACL changes).
pub const PUT_ACTIONS: &[&str] = &[
    "s3:PutObject",
    "s3:PutObjectLegalHold",
    "s3:PutObjectRetention",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:Abort*",
];
/// The delete actions of [`Bucket::grant_delete`] (the CDK's list).
pub const DELETE_ACTIONS: &[&str] = &["s3:DeleteObject*"];
/// The key actions a reader needs on the bucket's KMS key (the CDK's list).
pub const KEY_READ_ACTIONS: &[&str] = &["kms:Decrypt", "kms:DescribeKey"];
/// The key actions a writer needs on the bucket's KMS key (the CDK's list).
pub const KEY_WRITE_ACTIONS: &[&str] = &[
    "kms:Encrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Decrypt",
];

/// How objects are encrypted at rest.
///
/// ```
/// use cairn_constructs::s3::BucketEncryption;
/// assert_eq!(BucketEncryption::default(), BucketEncryption::S3Managed);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BucketEncryption {
    /// SSE-S3 (`AES256`), the default: no key to manage, grants need no KMS permissions.
    #[default]
    S3Managed,
    /// SSE-KMS with the AWS managed key `alias/aws/s3`.
    KmsManaged,
    /// SSE-KMS with a customer managed key; grants include the key's actions.
    Kms(Key),
}

/// One lifecycle rule (`LifecycleConfiguration.Rules[]`).
///
/// ```
/// use cairn_constructs::s3::{LifecycleRule, StorageClass};
/// let rule = LifecycleRule {
///     prefix: Some("tmp/".into()),
///     expiration_days: Some(30),
///     transitions: vec![(StorageClass::Glacier, 7)],
///     ..LifecycleRule::default()
/// };
/// # let _ = rule;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleRule {
    /// `Id`.
    pub id: Option<String>,
    /// Applies to keys with this prefix only.
    pub prefix: Option<String>,
    /// Current versions expire after this many days.
    pub expiration_days: Option<i64>,
    /// Noncurrent versions are deleted after this many days.
    pub noncurrent_version_expiration_days: Option<i64>,
    /// Incomplete multipart uploads are aborted after this many days.
    pub abort_incomplete_multipart_upload_days: Option<i64>,
    /// Transitions of current versions: (storage class, after days).
    pub transitions: Vec<(StorageClass, i64)>,
    /// `Status` Enabled (default) or Disabled.
    pub enabled: bool,
}

impl Default for LifecycleRule {
    fn default() -> Self {
        LifecycleRule {
            id: None,
            prefix: None,
            expiration_days: None,
            noncurrent_version_expiration_days: None,
            abort_incomplete_multipart_upload_days: None,
            transitions: Vec::new(),
            enabled: true,
        }
    }
}

impl LifecycleRule {
    fn to_l1(&self) -> bucket::Rule {
        let mut r = bucket::Rule::new(if self.enabled {
            bucket::RuleStatus::Enabled
        } else {
            bucket::RuleStatus::Disabled
        });
        r.id = self.id.as_deref().map(Into::into);
        r.prefix = self.prefix.as_deref().map(Into::into);
        r.expiration_in_days = self.expiration_days.map(Into::into);
        r.noncurrent_version_expiration = self
            .noncurrent_version_expiration_days
            .map(|d| bucket::NoncurrentVersionExpiration::new(d).into());
        r.abort_incomplete_multipart_upload = self
            .abort_incomplete_multipart_upload_days
            .map(|d| bucket::AbortIncompleteMultipartUpload::new(d).into());
        if !self.transitions.is_empty() {
            r.transitions = Some(
                self.transitions
                    .iter()
                    .map(|(class, days)| {
                        let mut t = bucket::Transition::new(class.clone());
                        t.transition_in_days = Some((*days).into());
                        t.into()
                    })
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        r
    }
}

/// Settings of a [`Bucket`]; `BucketProps::default()` is the secure default.
///
/// ```
/// use cairn_constructs::s3::{BucketProps, LifecycleRule};
/// let props = BucketProps {
///     lifecycle_rules: vec![LifecycleRule { expiration_days: Some(90), ..LifecycleRule::default() }],
///     ..BucketProps::default()
/// };
/// assert!(props.versioned && props.enforce_ssl && props.block_public_access);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BucketProps {
    /// A physical name; generated by CloudFormation when `None` (recommended).
    pub bucket_name: Option<Value>,
    /// Encryption at rest (default: SSE-S3).
    pub encryption: BucketEncryption,
    /// Keep object versions (default: on).
    pub versioned: bool,
    /// All four public access block flags (default: on).
    pub block_public_access: bool,
    /// A bucket policy denying requests without TLS (default: on).
    pub enforce_ssl: bool,
    /// What happens to the bucket when it leaves the stack (default: `Retain`).
    pub removal_policy: RemovalPolicy,
    /// Lifecycle rules.
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// Server access logs go to this bucket (which must use SSE-S3).
    pub server_access_logs_bucket: Option<Bucket>,
    /// Key prefix of the access logs.
    pub server_access_logs_prefix: Option<String>,
    /// Send events to EventBridge.
    pub event_bridge_enabled: bool,
}

impl Default for BucketProps {
    fn default() -> Self {
        BucketProps {
            bucket_name: None,
            encryption: BucketEncryption::S3Managed,
            versioned: true,
            block_public_access: true,
            enforce_ssl: true,
            removal_policy: RemovalPolicy::Retain,
            lifecycle_rules: Vec::new(),
            server_access_logs_bucket: None,
            server_access_logs_prefix: None,
            event_bridge_enabled: false,
        }
    }
}

/// S3 event types for notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventType {
    /// `s3:ObjectCreated:*`
    ObjectCreated,
    /// `s3:ObjectCreated:Put`
    ObjectCreatedPut,
    /// `s3:ObjectCreated:Post`
    ObjectCreatedPost,
    /// `s3:ObjectCreated:Copy`
    ObjectCreatedCopy,
    /// `s3:ObjectCreated:CompleteMultipartUpload`
    ObjectCreatedCompleteMultipartUpload,
    /// `s3:ObjectRemoved:*`
    ObjectRemoved,
    /// `s3:ObjectRemoved:Delete`
    ObjectRemovedDelete,
    /// `s3:ObjectRemoved:DeleteMarkerCreated`
    ObjectRemovedDeleteMarkerCreated,
    /// `s3:ObjectRestore:*`
    ObjectRestore,
    /// `s3:ObjectTagging:*`
    ObjectTagging,
    /// Any other event name, e.g. `s3:Replication:*`.
    Other(String),
}

impl EventType {
    /// The S3 event name.
    pub fn as_str(&self) -> &str {
        match self {
            EventType::ObjectCreated => "s3:ObjectCreated:*",
            EventType::ObjectCreatedPut => "s3:ObjectCreated:Put",
            EventType::ObjectCreatedPost => "s3:ObjectCreated:Post",
            EventType::ObjectCreatedCopy => "s3:ObjectCreated:Copy",
            EventType::ObjectCreatedCompleteMultipartUpload => "s3:ObjectCreated:CompleteMultipartUpload",
            EventType::ObjectRemoved => "s3:ObjectRemoved:*",
            EventType::ObjectRemovedDelete => "s3:ObjectRemoved:Delete",
            EventType::ObjectRemovedDeleteMarkerCreated => "s3:ObjectRemoved:DeleteMarkerCreated",
            EventType::ObjectRestore => "s3:ObjectRestore:*",
            EventType::ObjectTagging => "s3:ObjectTagging:*",
            EventType::Other(s) => s,
        }
    }
}

/// A key filter of a notification: prefix and/or suffix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationKeyFilter {
    /// Keys starting with this.
    pub prefix: Option<String>,
    /// Keys ending with this.
    pub suffix: Option<String>,
}

impl NotificationKeyFilter {
    fn to_l1(&self) -> Option<bucket::NotificationFilter> {
        let mut rules: Vec<Val<bucket::FilterRule>> = Vec::new();
        if let Some(p) = &self.prefix {
            rules.push(bucket::FilterRule::new("prefix", p.as_str()).into());
        }
        if let Some(s) = &self.suffix {
            rules.push(bucket::FilterRule::new("suffix", s.as_str()).into());
        }
        if rules.is_empty() {
            return None;
        }
        Some(bucket::NotificationFilter::new(bucket::S3KeyFilter::new(rules)))
    }
}

/// Where a notification goes: the ARN of a function, queue or topic.
#[derive(Debug, Clone, PartialEq)]
pub enum NotificationDestination {
    /// A Lambda function ARN (its resource policy must let `s3.amazonaws.com` invoke it).
    Lambda(Value),
    /// An SQS queue ARN (its policy must let `s3.amazonaws.com` send messages).
    Queue(Value),
    /// An SNS topic ARN (its policy must let `s3.amazonaws.com` publish).
    Topic(Value),
}

/// An S3 bucket (`AWS::S3::Bucket`) with the CDK's construct shape: the L1 is the child
/// `Resource`, the bucket policy `Policy/Resource`.
///
/// Secure defaults: SSE-S3 encryption, versioning, all public access blocked, a TLS-only
/// bucket policy, `DeletionPolicy`/`UpdateReplacePolicy` `Retain`.
///
/// ```
/// use cairn_constructs::kms::{Key, KeyProps};
/// use cairn_constructs::s3::{Bucket, BucketEncryption, BucketProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let key = Key::new(&mut app, stack, "Key", KeyProps::default())?;
/// let bucket = Bucket::new(&mut app, stack, "Data", BucketProps {
///     encryption: BucketEncryption::Kms(key),
///     ..BucketProps::default()
/// })?;
/// let objects = bucket.arn_for_objects("reports/*");
/// # let _ = objects;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    node: NodeId,
    resource: Res<CfnBucket>,
    encryption: BucketEncryption,
    literal_name: bool,
}

impl PartialEq for Bucket {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl Bucket {
    /// Creates the bucket as construct `id` under `scope`.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: BucketProps) -> Result<Bucket> {
        let node = app.construct(scope, id)?;
        let mut b = CfnBucket::default();
        let literal_name = matches!(&props.bucket_name, Some(Value::String(_)));
        b.bucket_name = props.bucket_name.clone().map(Into::into);
        let by_default = match props.encryption {
            BucketEncryption::S3Managed => {
                bucket::ServerSideEncryptionByDefault::new(bucket::SSEAlgorithm::Aes256)
            }
            BucketEncryption::KmsManaged => {
                let mut d = bucket::ServerSideEncryptionByDefault::new(bucket::SSEAlgorithm::AwsKms);
                d.kms_master_key_id = Some("alias/aws/s3".into());
                d
            }
            BucketEncryption::Kms(key) => {
                let mut d = bucket::ServerSideEncryptionByDefault::new(bucket::SSEAlgorithm::AwsKms);
                d.kms_master_key_id = Some(key.key_arn().into());
                d
            }
        };
        let rule = bucket::ServerSideEncryptionRule {
            server_side_encryption_by_default: Some(by_default.into()),
            bucket_key_enabled: (!matches!(props.encryption, BucketEncryption::S3Managed))
                .then(|| true.into()),
            ..Default::default()
        };
        b.bucket_encryption = Some(bucket::BucketEncryption::new(vec![Val::from(rule)]).into());
        if props.block_public_access {
            b.public_access_block_configuration = Some(
                bucket::PublicAccessBlockConfiguration {
                    block_public_acls: Some(true.into()),
                    block_public_policy: Some(true.into()),
                    ignore_public_acls: Some(true.into()),
                    restrict_public_buckets: Some(true.into()),
                }
                .into(),
            );
        }
        if props.versioned {
            b.versioning_configuration = Some(
                bucket::VersioningConfiguration::new(bucket::VersioningConfigurationStatus::Enabled).into(),
            );
        }
        if !props.lifecycle_rules.is_empty() {
            let rules: Vec<Val<bucket::Rule>> =
                props.lifecycle_rules.iter().map(|r| r.to_l1().into()).collect();
            b.lifecycle_configuration = Some(bucket::LifecycleConfiguration::new(rules).into());
        }
        if let Some(target) = &props.server_access_logs_bucket {
            b.logging_configuration = Some(
                bucket::LoggingConfiguration {
                    destination_bucket_name: Some(target.bucket_name().into()),
                    log_file_prefix: props.server_access_logs_prefix.as_deref().map(Into::into),
                    ..Default::default()
                }
                .into(),
            );
        }
        if props.event_bridge_enabled {
            b.notification_configuration = Some(
                bucket::NotificationConfiguration {
                    event_bridge_configuration: Some(bucket::EventBridgeConfiguration::new(true).into()),
                    ..Default::default()
                }
                .into(),
            );
        }
        let resource = app.add(node, "Resource", b)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        let this = Bucket {
            node,
            resource,
            encryption: props.encryption,
            literal_name,
        };
        if props.enforce_ssl {
            let arn = this.arn();
            this.add_to_resource_policy(
                app,
                PolicyStatement::deny()
                    .principal(Principal::Any)
                    .actions(["s3:*"])
                    .resources([arn, this.arn_for_objects("*")])
                    .condition("Bool", "aws:SecureTransport", "false"),
            )?;
        }
        if let Some(target) = props.server_access_logs_bucket {
            if matches!(
                target.encryption,
                BucketEncryption::Kms(_) | BucketEncryption::KmsManaged
            ) {
                return Err(app.invalid_props(
                    node,
                    "the server access logs bucket uses SSE-KMS, which S3 server access logging does not support; give it BucketEncryption::S3Managed",
                ));
            }
            let prefix = props.server_access_logs_prefix.clone().unwrap_or_default();
            target.add_to_resource_policy(
                app,
                PolicyStatement::allow()
                    .principal(Principal::service("logging.s3.amazonaws.com"))
                    .actions(["s3:PutObject"])
                    .resource(target.arn_for_objects(&format!("{prefix}*")))
                    .condition("ArnLike", "aws:SourceArn", this.arn())
                    .condition(
                        "StringEquals",
                        "aws:SourceAccount",
                        Value::pseudo(Pseudo::AccountId),
                    ),
            )?;
        }
        Ok(this)
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnBucket> {
        self.resource
    }

    /// The encryption the bucket was created with.
    pub fn encryption(&self) -> BucketEncryption {
        self.encryption
    }

    /// The customer managed key, when the bucket has one.
    pub fn encryption_key(&self) -> Option<Key> {
        match self.encryption {
            BucketEncryption::Kms(k) => Some(k),
            _ => None,
        }
    }

    /// The bucket's name (`Ref`).
    pub fn bucket_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The bucket's ARN.
    pub fn arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The ARN of the objects matching a key pattern, e.g. `*` or `logs/*`.
    pub fn arn_for_objects(&self, pattern: &str) -> Value {
        BucketRef::arn_for_objects(self, pattern)
    }

    /// The bucket's regional domain name.
    pub fn regional_domain_name(&self) -> Value {
        self.resource.attr_regional_domain_name()
    }

    /// The bucket policy's L1 node, once it exists.
    pub fn policy(&self, app: &App) -> Option<NodeId> {
        app.node(self.node)
            .child("Policy")
            .and_then(|p| app.node(p).child("Resource"))
    }

    /// Adds a statement to the bucket policy (`<Bucket>/Policy/Resource`), creating it on
    /// first use; returns the policy's L1 node.
    pub fn add_to_resource_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<NodeId> {
        let policy = match self.policy(app) {
            Some(p) => p,
            None => {
                let holder = app.construct(self.node, "Policy")?;
                let p = CfnBucketPolicy::new(self.bucket_name(), PolicyDocument::default().to_value());
                app.add(holder, "Resource", p)?.node()
            }
        };
        if let Some(p) = app.node_mut(policy).resource_mut::<CfnBucketPolicy>() {
            push_statement(&mut p.policy_document, statement.to_value());
        }
        Ok(policy)
    }

    /// Grants reading objects and listing the bucket (`s3:GetObject*`, `s3:GetBucket*`,
    /// `s3:List*`; `kms:Decrypt`, `kms:DescribeKey` on a customer managed key).
    pub fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        BucketRef::grant_read(self, app, grantee)
    }

    /// Grants writing and deleting objects (the delete and put actions; the key's write
    /// actions).
    pub fn grant_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        BucketRef::grant_write(self, app, grantee)
    }

    /// Grants reading and writing (read, delete and put actions; the key's read and write
    /// actions).
    pub fn grant_read_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        BucketRef::grant_read_write(self, app, grantee)
    }

    /// Grants putting objects (the put actions on `arn/*`; the key's write actions).
    pub fn grant_put(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        BucketRef::grant_put(self, app, grantee)
    }

    /// Grants deleting objects (`s3:DeleteObject*` on `arn/*`).
    pub fn grant_delete(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        BucketRef::grant_delete(self, app, grantee)
    }

    /// Adds an event notification entry (`NotificationConfiguration.{Lambda,Queue,Topic}Configurations`).
    ///
    /// S3 checks at deploy time that it may deliver to the destination, so the
    /// destination's permission must exist first: pass its node(s) in `depends_on` (the
    /// bucket gets `DependsOn` on them). A permission that names the bucket by
    /// `Fn::GetAtt` would make a cycle; scope it by `aws:SourceAccount` or by the
    /// literal bucket ARN instead (as [`Bucket::add_queue_notification`] does).
    pub fn add_event_notification(
        &self,
        app: &mut App,
        event: EventType,
        destination: NotificationDestination,
        filter: NotificationKeyFilter,
        depends_on: &[NodeId],
    ) -> Result<()> {
        let event_name = event.as_str().to_string();
        let filter = filter.to_l1().map(Val::from);
        if let Some(b) = app.node_mut(self.resource.node()).resource_mut::<CfnBucket>() {
            let mut config = match b.notification_configuration.take() {
                Some(Val::Lit(c)) => c,
                _ => bucket::NotificationConfiguration::default(),
            };
            fn push<T>(list: &mut Option<Val<Vec<Val<T>>>>, item: T) {
                let mut items = match list.take() {
                    Some(Val::Lit(l)) => l,
                    _ => Vec::new(),
                };
                items.push(Val::Lit(item));
                *list = Some(Val::Lit(items));
            }
            match destination {
                NotificationDestination::Lambda(arn) => {
                    let mut c = bucket::LambdaConfiguration::new(event_name, arn);
                    c.filter = filter;
                    push(&mut config.lambda_configurations, c);
                }
                NotificationDestination::Queue(arn) => {
                    let mut c = bucket::QueueConfiguration::new(event_name, arn);
                    c.filter = filter;
                    push(&mut config.queue_configurations, c);
                }
                NotificationDestination::Topic(arn) => {
                    let mut c = bucket::TopicConfiguration::new(event_name, arn);
                    c.filter = filter;
                    push(&mut config.topic_configurations, c);
                }
            }
            b.notification_configuration = Some(config.into());
        }
        let o = app.resource_options_mut(self.resource.node())?;
        for d in depends_on {
            if !o.depends_on.contains(d) {
                o.depends_on.push(*d);
            }
        }
        Ok(())
    }

    /// The `aws:SourceArn`/`aws:SourceAccount` condition S3 notifications are scoped by
    /// without a reference back to the bucket (which would be a cycle).
    fn notification_source(&self, app: &App, statement: PolicyStatement) -> PolicyStatement {
        let name = app
            .node(self.resource.node())
            .resource::<CfnBucket>()
            .and_then(|b| b.bucket_name.as_ref())
            .and_then(|n| n.literal().cloned());
        match (self.literal_name, name) {
            (true, Some(name)) => statement.condition(
                "ArnLike",
                "aws:SourceArn",
                Arn::new("s3", name).no_region().no_account().format(),
            ),
            _ => statement.condition(
                "StringEquals",
                "aws:SourceAccount",
                Value::pseudo(Pseudo::AccountId),
            ),
        }
    }

    /// Sends events to a queue: adds the queue policy statement letting S3 send messages
    /// (scoped to the bucket's literal ARN when it has a literal name, else to the
    /// account) and the notification entry.
    ///
    /// S3 cannot use the AWS managed key `alias/aws/sqs`: for such a queue this adds a
    /// warning; give the queue a [`Key`] (whose policy then lets S3 use it).
    pub fn add_queue_notification(
        &self,
        app: &mut App,
        event: EventType,
        queue: &Queue,
        filter: NotificationKeyFilter,
    ) -> Result<()> {
        let stmt = PolicyStatement::allow()
            .principal(Principal::service("s3.amazonaws.com"))
            .actions(["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"])
            .resource(queue.queue_arn());
        let stmt = self.notification_source(app, stmt);
        let policy = queue.add_to_resource_policy(app, stmt)?;
        match queue.encryption() {
            QueueEncryption::Kms(key) => key.add_to_resource_policy(
                app,
                PolicyStatement::allow()
                    .principal(Principal::service("s3.amazonaws.com"))
                    .actions(["kms:GenerateDataKey*", "kms:Decrypt"])
                    .resource("*"),
            )?,
            QueueEncryption::KmsManaged => app.annotate(
                self.node,
                Level::Warning,
                "S3 cannot send notifications to a queue encrypted with the AWS managed key alias/aws/sqs; give the queue a customer managed kms::Key",
            ),
            QueueEncryption::SqsManaged => {}
        }
        self.add_event_notification(
            app,
            event,
            NotificationDestination::Queue(queue.queue_arn()),
            filter,
            &[policy],
        )
    }

    /// Sends events to a topic: adds the topic policy statement letting S3 publish and the
    /// notification entry. A topic with the AWS managed key `alias/aws/sns` gets a warning
    /// (S3 cannot use that key); give it a [`Key`].
    pub fn add_topic_notification(
        &self,
        app: &mut App,
        event: EventType,
        topic: &Topic,
        filter: NotificationKeyFilter,
    ) -> Result<()> {
        let stmt = PolicyStatement::allow()
            .principal(Principal::service("s3.amazonaws.com"))
            .actions(["sns:Publish"])
            .resource(topic.topic_arn());
        let stmt = self.notification_source(app, stmt);
        let policy = topic.add_to_resource_policy(app, stmt)?;
        match topic.encryption_key() {
            Some(key) => key.add_to_resource_policy(
                app,
                PolicyStatement::allow()
                    .principal(Principal::service("s3.amazonaws.com"))
                    .actions(["kms:GenerateDataKey*", "kms:Decrypt"])
                    .resource("*"),
            )?,
            None => app.annotate(
                self.node,
                Level::Warning,
                "S3 cannot publish to a topic encrypted with the AWS managed key alias/aws/sns; give the topic a customer managed kms::Key",
            ),
        }
        self.add_event_notification(
            app,
            event,
            NotificationDestination::Topic(topic.topic_arn()),
            filter,
            &[policy],
        )
    }
}

impl From<Bucket> for NodeId {
    fn from(b: Bucket) -> NodeId {
        b.node
    }
}

construct!(Bucket);
