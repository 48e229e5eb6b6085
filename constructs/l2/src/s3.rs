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

use cairn_core::{App, NodeId, Pseudo, RemovalPolicy, Res, Result, Val, Value};

use crate::iam::{Grantable, PolicyDocument, PolicyStatement, Principal};
use crate::kms::{push_statement, Key};

mod existing;
mod notifications;

use crate::sns::Topic;
use crate::sqs::Queue;
pub use existing::{BucketAttributes, BucketRef, ImportedBucket};
pub use notifications::{NOTIFICATIONS_HANDLER_ID, NOTIFICATIONS_RESOURCE_TYPE};

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
    /// Send events to EventBridge (`EventBridgeConfiguration` in the bucket's notifications
    /// resource, `<id>/Notifications`, as aws-cdk-lib writes it).
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
        let mut b = CfnBucket {
            bucket_name: props.bucket_name.clone().map(Into::into),
            ..Default::default()
        };
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
        let resource = app.add(node, "Resource", b)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        let this = Bucket {
            node,
            resource,
            encryption: props.encryption,
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
        if props.event_bridge_enabled {
            notifications::enable_event_bridge(app, &this)?;
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
                let policy = app.add(holder, "Resource", p)?.node();
                // The notifications are put once the bucket policy is there (aws-cdk-lib).
                if let Some(n) = self.notifications(app) {
                    notifications::depend_on(app, n, &[policy])?;
                }
                policy
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

    /// Adds an event notification entry to the bucket's notifications
    /// (`<Bucket>/Notifications/Resource`, a `Custom::S3BucketNotifications` as aws-cdk-lib
    /// writes it: see [`NOTIFICATIONS_HANDLER_ID`]) for a destination whose permission the
    /// caller arranges.
    ///
    /// S3 checks, when the configuration is put, that it may deliver to the destination:
    /// pass the permission's node(s) in `depends_on` (the notifications resource gets
    /// `DependsOn` on them). `Bucket::add_function_notification` (in
    /// [`lambda`](crate::lambda)),
    /// [`Bucket::add_queue_notification`] and [`Bucket::add_topic_notification`] add the
    /// permission themselves.
    pub fn add_event_notification(
        &self,
        app: &mut App,
        event: EventType,
        destination: NotificationDestination,
        filter: NotificationKeyFilter,
        depends_on: &[NodeId],
    ) -> Result<()> {
        notifications::add(app, self, event, destination, filter, depends_on)
    }

    /// Sends events to a queue (aws-cdk-lib's `SqsDestination`): the queue policy
    /// statement letting S3 send messages on behalf of this bucket and the notification
    /// entry (the notifications wait for the queue and its policy).
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
        notifications::to_queue(app, self, event, queue, filter)
    }

    /// Sends events to a topic (aws-cdk-lib's `SnsDestination`): the topic policy
    /// statement letting S3 publish on behalf of this bucket and the notification entry
    /// (the notifications wait for the topic and its policy). A topic with the AWS managed
    /// key `alias/aws/sns` gets a warning (S3 cannot use that key); give it a [`Key`].
    pub fn add_topic_notification(
        &self,
        app: &mut App,
        event: EventType,
        topic: &Topic,
        filter: NotificationKeyFilter,
    ) -> Result<()> {
        notifications::to_topic(app, self, event, topic, filter)
    }

    /// The bucket's notifications resource (`<Bucket>/Notifications/Resource`), once it
    /// has one.
    pub fn notifications(&self, app: &App) -> Option<NodeId> {
        notifications::existing(app, self.node)
    }
}

impl From<Bucket> for NodeId {
    fn from(b: Bucket) -> NodeId {
        b.node
    }
}

construct!(Bucket);
