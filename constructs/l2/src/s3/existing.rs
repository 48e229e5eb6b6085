//! Buckets of the app and buckets that exist already: the [`BucketRef`] trait, its
//! grants, and `Bucket::from_bucket_name` / `from_bucket_arn` / `from_bucket_attributes`.

use cairn_core::{App, Arn, Construct, NodeId, Result, Value};

use super::{
    notifications, Bucket, EventType, NotificationDestination, NotificationKeyFilter, DELETE_ACTIONS,
    KEY_READ_ACTIONS, KEY_WRITE_ACTIONS, PUT_ACTIONS, READ_ACTIONS,
};
use crate::iam::{grant, Grantable};
use crate::imported::{check_name, concat, import_node, parse_arn, ArnFormat};
use crate::sns::Topic;
use crate::sqs::Queue;

/// A bucket, created by this app ([`Bucket`]) or existing ([`ImportedBucket`]). Its grants
/// go to the grantee's identity policy (and the key's actions to a customer managed key).
pub trait BucketRef: Construct {
    /// The bucket's name.
    fn bucket_name(&self) -> Value;
    /// The bucket's ARN.
    fn bucket_arn(&self) -> Value;
    /// The ARN of the customer managed key objects are encrypted with, if any.
    fn encryption_key_arn(&self) -> Option<Value>;

    /// The ARN of the objects matching a key pattern, e.g. `*` or `logs/*`.
    fn arn_for_objects(&self, pattern: &str) -> Value {
        concat([self.bucket_arn(), Value::from(format!("/{pattern}"))])
    }

    /// Grants reading objects and listing the bucket (`s3:GetObject*`, `s3:GetBucket*`,
    /// `s3:List*`; `kms:Decrypt`, `kms:DescribeKey` on a customer managed key).
    fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        let resources = vec![self.bucket_arn(), self.arn_for_objects("*")];
        grant_bucket(self, app, grantee, READ_ACTIONS, KEY_READ_ACTIONS, resources)
    }

    /// Grants writing and deleting objects (the delete and put actions; the key's write
    /// actions).
    fn grant_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        let actions: Vec<&str> = DELETE_ACTIONS.iter().chain(PUT_ACTIONS).copied().collect();
        let resources = vec![self.bucket_arn(), self.arn_for_objects("*")];
        grant_bucket(self, app, grantee, &actions, KEY_WRITE_ACTIONS, resources)
    }

    /// Grants reading and writing (read, delete and put actions; the key's read and write
    /// actions).
    fn grant_read_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        let actions: Vec<&str> = READ_ACTIONS
            .iter()
            .chain(DELETE_ACTIONS)
            .chain(PUT_ACTIONS)
            .copied()
            .collect();
        let mut key_actions: Vec<&str> = KEY_READ_ACTIONS.to_vec();
        key_actions.extend(KEY_WRITE_ACTIONS.iter().filter(|a| !KEY_READ_ACTIONS.contains(a)));
        let resources = vec![self.bucket_arn(), self.arn_for_objects("*")];
        grant_bucket(self, app, grantee, &actions, &key_actions, resources)
    }

    /// Grants putting objects (the put actions on `arn/*`; the key's write actions).
    fn grant_put(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        let resources = vec![self.arn_for_objects("*")];
        grant_bucket(self, app, grantee, PUT_ACTIONS, KEY_WRITE_ACTIONS, resources)
    }

    /// Grants deleting objects (`s3:DeleteObject*` on `arn/*`).
    fn grant_delete(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        let resources = vec![self.arn_for_objects("*")];
        grant_bucket(self, app, grantee, DELETE_ACTIONS, &[], resources)
    }
}

/// `actions` on `resources`, and `key_actions` on the bucket's customer managed key.
fn grant_bucket(
    bucket: &impl BucketRef,
    app: &mut App,
    grantee: &impl Grantable,
    actions: &[&str],
    key_actions: &[&str],
    resources: Vec<Value>,
) -> Result<()> {
    grant(app, grantee, actions.iter().copied(), resources)?;
    if let (Some(key), false) = (bucket.encryption_key_arn(), key_actions.is_empty()) {
        grant(app, grantee, key_actions.iter().copied(), [key])?;
    }
    Ok(())
}

impl BucketRef for Bucket {
    fn bucket_name(&self) -> Value {
        Bucket::bucket_name(self)
    }

    fn bucket_arn(&self) -> Value {
        self.arn()
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.encryption_key().map(|k| k.key_arn())
    }
}

/// What is known of an existing bucket ([`Bucket::from_bucket_attributes`]): its ARN or
/// its name (one is needed), and the customer managed key its objects are encrypted with.
///
/// ```
/// use cairn_constructs::s3::BucketAttributes;
/// let attrs = BucketAttributes { bucket_name: Some("logs".into()), ..BucketAttributes::default() };
/// assert!(attrs.bucket_arn.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BucketAttributes {
    /// The bucket's ARN (`arn:aws:s3:::name`).
    pub bucket_arn: Option<Value>,
    /// The bucket's name.
    pub bucket_name: Option<Value>,
    /// The ARN of the bucket's KMS key (grants then include the key's actions).
    pub encryption_key_arn: Option<Value>,
}

/// A bucket that exists outside the app: a construct with no resource, whose grants only
/// change the grantee's identity policy (the bucket policy is not the app's).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedBucket {
    node: NodeId,
    arn: Value,
    name: Value,
    key_arn: Option<Value>,
}

impl Bucket {
    /// A bucket that exists, by name (its ARN `arn:<partition>:s3:::<name>`).
    ///
    /// ```
    /// use cairn_constructs::iam::{Principal, Role, RoleProps};
    /// use cairn_constructs::s3::{Bucket, BucketRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let logs = Bucket::from_bucket_name(&mut app, stack, "Logs", "central-logs")?;
    /// let role = Role::new(&mut app, stack, "Reader", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
    /// logs.grant_read(&mut app, &role)?;
    /// let asm = app.synth()?;
    /// let s = asm.stack("S").unwrap();
    /// assert!(s.resources_of_type("AWS::S3::Bucket").is_empty());
    /// assert!(s.resources_of_type("AWS::S3::BucketPolicy").is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_bucket_name(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        name: impl Into<Value>,
    ) -> Result<ImportedBucket> {
        let attrs = BucketAttributes {
            bucket_name: Some(name.into()),
            ..BucketAttributes::default()
        };
        Bucket::from_bucket_attributes(app, scope, id, attrs)
    }

    /// A bucket that exists, by ARN. An ARN of another service is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn from_bucket_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
    ) -> Result<ImportedBucket> {
        let attrs = BucketAttributes {
            bucket_arn: Some(arn.into()),
            ..BucketAttributes::default()
        };
        Bucket::from_bucket_attributes(app, scope, id, attrs)
    }

    /// A bucket that exists, by its attributes: the name is read from the ARN and the
    /// ARN built from the name when only one is given; neither is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn from_bucket_attributes(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        attrs: BucketAttributes,
    ) -> Result<ImportedBucket> {
        let node = import_node(app, scope, id)?;
        let (arn, name) = match (attrs.bucket_arn, attrs.bucket_name) {
            (None, None) => {
                return Err(app.invalid_props(
                    node,
                    "an imported bucket needs its ARN or its name; set bucket_arn or bucket_name",
                ))
            }
            (Some(arn), name) => {
                let example = "arn:aws:s3:::my-bucket";
                let parts = parse_arn(app, node, &arn, "s3", None, ArnFormat::NoResourceName, example)?;
                let name = name.unwrap_or(parts.resource_name);
                check_name(app, node, "bucket name", &name)?;
                (arn, name)
            }
            (None, Some(name)) => {
                check_name(app, node, "bucket name", &name)?;
                let arn = Arn::new("s3", name.clone()).no_region().no_account().format();
                (arn, name)
            }
        };
        Ok(ImportedBucket {
            node,
            arn,
            name,
            key_arn: attrs.encryption_key_arn,
        })
    }
}

impl ImportedBucket {
    /// Adds an event notification entry to the bucket's notifications, as
    /// [`Bucket::add_event_notification`] does for a bucket of the app: the existing
    /// bucket's `<id>/Notifications` resource is `Managed: false` (aws-cdk-lib's), and its
    /// handler keeps the notifications the bucket already has.
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

    /// Sends events to a queue of the app ([`Bucket::add_queue_notification`]).
    pub fn add_queue_notification(
        &self,
        app: &mut App,
        event: EventType,
        queue: &Queue,
        filter: NotificationKeyFilter,
    ) -> Result<()> {
        notifications::to_queue(app, self, event, queue, filter)
    }

    /// Sends events to a topic of the app ([`Bucket::add_topic_notification`]).
    pub fn add_topic_notification(
        &self,
        app: &mut App,
        event: EventType,
        topic: &Topic,
        filter: NotificationKeyFilter,
    ) -> Result<()> {
        notifications::to_topic(app, self, event, topic, filter)
    }

    /// The bucket's notifications resource (`<id>/Notifications/Resource`), once it has one.
    pub fn notifications(&self, app: &App) -> Option<NodeId> {
        notifications::existing(app, self.node)
    }
}

impl BucketRef for ImportedBucket {
    fn bucket_name(&self) -> Value {
        self.name.clone()
    }

    fn bucket_arn(&self) -> Value {
        self.arn.clone()
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.key_arn.clone()
    }
}

imported_handle!(ImportedBucket);
