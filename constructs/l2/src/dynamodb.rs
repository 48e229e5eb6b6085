//! DynamoDB: tables with typed keys, on-demand billing, point-in-time recovery, KMS
//! encryption and retention by default, streams, TTL, global secondary indexes and grants.
//!
//! ```
//! use cairn_constructs::dynamodb::{Attribute, StreamViewType, Table, TableProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let table = Table::new(&mut app, stack, "Orders", TableProps {
//!     sort_key: Some(Attribute::number("createdAt")),
//!     time_to_live_attribute: Some("expiresAt".into()),
//!     stream: Some(StreamViewType::NewAndOldImages),
//!     ..TableProps::new(Attribute::string("pk"))
//! })?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let p = &s.template["Resources"][s.resources_of_type("AWS::DynamoDB::Table")[0]]["Properties"];
//! assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
//! assert_eq!(p["SSESpecification"]["KMSMasterKeyId"], "alias/aws/dynamodb");
//! assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
//! # let _ = table;
//! # Ok(())
//! # }
//! ```

use cairn_core::{format_arn, App, Construct, Error, NodeId, RemovalPolicy, Res, Result, Val, Value};

use crate::iam::{grant, Grantable};
use crate::imported::{check_name, import_node, parse_arn, ArnFormat};
use crate::kms::{Key, DECRYPT_ACTIONS};

pub use cairn_cfn::dynamodb::*;

/// Item read actions of [`Table::grant_read_data`] (the CDK's list, `DescribeTable` included).
pub const READ_DATA_ACTIONS: &[&str] = &[
    "dynamodb:BatchGetItem",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:Query",
    "dynamodb:GetItem",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
];
/// Item write actions of [`Table::grant_write_data`] (the CDK's list, `DescribeTable` included).
pub const WRITE_DATA_ACTIONS: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
];
/// Stream actions of [`Table::grant_stream_read`] on the stream ARN (the CDK's list).
pub const STREAM_READ_ACTIONS: &[&str] = &[
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
];
/// Key actions for readers of a table with a customer managed key.
pub const KEY_READ_ACTIONS: &[&str] = &["kms:Decrypt", "kms:DescribeKey"];
/// Key actions for writers of a table with a customer managed key.
pub const KEY_WRITE_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
];

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeType {
    /// `S`
    String,
    /// `N`
    Number,
    /// `B`
    Binary,
}

impl AttributeType {
    fn l1(self) -> table::AttributeType {
        match self {
            AttributeType::String => table::AttributeType::S,
            AttributeType::Number => table::AttributeType::N,
            AttributeType::Binary => table::AttributeType::B,
        }
    }
}

/// A key attribute: name and type.
///
/// ```
/// use cairn_constructs::dynamodb::{Attribute, AttributeType};
/// assert_eq!(Attribute::string("pk").attribute_type, AttributeType::String);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// The attribute name.
    pub name: String,
    /// Its type.
    pub attribute_type: AttributeType,
}

impl Attribute {
    /// A string attribute.
    pub fn string(name: &str) -> Self {
        Attribute {
            name: name.into(),
            attribute_type: AttributeType::String,
        }
    }
    /// A number attribute.
    pub fn number(name: &str) -> Self {
        Attribute {
            name: name.into(),
            attribute_type: AttributeType::Number,
        }
    }
    /// A binary attribute.
    pub fn binary(name: &str) -> Self {
        Attribute {
            name: name.into(),
            attribute_type: AttributeType::Binary,
        }
    }
}

/// How reads and writes are paid for.
///
/// ```
/// use cairn_constructs::dynamodb::Billing;
/// let b = Billing::Provisioned { read_capacity: 5, write_capacity: 5 };
/// assert_ne!(b, Billing::default());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Billing {
    /// On demand (`PAY_PER_REQUEST`), the default.
    #[default]
    PayPerRequest,
    /// Provisioned capacity units.
    Provisioned {
        /// Read capacity units.
        read_capacity: i64,
        /// Write capacity units.
        write_capacity: i64,
    },
}

/// What a stream record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamViewType {
    /// The item after the change.
    NewImage,
    /// The item before the change.
    OldImage,
    /// Both.
    NewAndOldImages,
    /// Only the key attributes.
    KeysOnly,
}

impl StreamViewType {
    fn l1(self) -> table::StreamViewType {
        match self {
            StreamViewType::NewImage => table::StreamViewType::NewImage,
            StreamViewType::OldImage => table::StreamViewType::OldImage,
            StreamViewType::NewAndOldImages => table::StreamViewType::NewAndOldImages,
            StreamViewType::KeysOnly => table::StreamViewType::KeysOnly,
        }
    }
}

/// Which attributes an index holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Projection {
    /// Every attribute (the default).
    #[default]
    All,
    /// Only the keys.
    KeysOnly,
    /// The keys and these attributes.
    Include(Vec<String>),
}

/// How the table is encrypted at rest (always KMS: the recommended rules require a key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TableEncryption {
    /// The AWS managed key `alias/aws/dynamodb` (the default).
    #[default]
    AwsManaged,
    /// A customer managed key; grants include the key's actions.
    CustomerManaged(Key),
}

/// A global secondary index.
///
/// ```
/// use cairn_constructs::dynamodb::{Attribute, GlobalSecondaryIndexProps};
/// let gsi = GlobalSecondaryIndexProps::new("byCustomer", Attribute::string("customerId"));
/// # let _ = gsi;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSecondaryIndexProps {
    /// `IndexName`.
    pub index_name: String,
    /// The index's partition key.
    pub partition_key: Attribute,
    /// The index's sort key.
    pub sort_key: Option<Attribute>,
    /// The projected attributes (default: all).
    pub projection: Projection,
    /// Provisioned capacity (read, write); only for provisioned tables, where it is required.
    pub capacity: Option<(i64, i64)>,
}

impl GlobalSecondaryIndexProps {
    /// An index projecting every attribute.
    pub fn new(index_name: &str, partition_key: Attribute) -> Self {
        GlobalSecondaryIndexProps {
            index_name: index_name.into(),
            partition_key,
            sort_key: None,
            projection: Projection::All,
            capacity: None,
        }
    }
}

/// Settings of a [`Table`]; `TableProps::new(partition_key)` has the secure defaults.
///
/// ```
/// use cairn_constructs::dynamodb::{Attribute, Billing, TableProps};
/// let props = TableProps {
///     billing: Billing::Provisioned { read_capacity: 5, write_capacity: 5 },
///     ..TableProps::new(Attribute::string("id"))
/// };
/// assert!(props.point_in_time_recovery);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TableProps {
    /// A physical name; generated when `None` (recommended).
    pub table_name: Option<Value>,
    /// The partition (hash) key.
    pub partition_key: Attribute,
    /// The sort (range) key.
    pub sort_key: Option<Attribute>,
    /// On demand (default) or provisioned.
    pub billing: Billing,
    /// The attribute holding each item's expiry time (epoch seconds).
    pub time_to_live_attribute: Option<String>,
    /// A stream of item changes.
    pub stream: Option<StreamViewType>,
    /// Point-in-time recovery (default: on).
    pub point_in_time_recovery: bool,
    /// KMS encryption (default: `alias/aws/dynamodb`).
    pub encryption: TableEncryption,
    /// `DeletionProtectionEnabled` (default: off; the removal policy retains the table).
    pub deletion_protection: bool,
    /// What happens to the table when it leaves the stack (default: `Retain`).
    pub removal_policy: RemovalPolicy,
    /// Global secondary indexes.
    pub global_secondary_indexes: Vec<GlobalSecondaryIndexProps>,
}

impl TableProps {
    /// A table keyed by `partition_key` with the defaults.
    pub fn new(partition_key: Attribute) -> Self {
        TableProps {
            table_name: None,
            partition_key,
            sort_key: None,
            billing: Billing::PayPerRequest,
            time_to_live_attribute: None,
            stream: None,
            point_in_time_recovery: true,
            encryption: TableEncryption::AwsManaged,
            deletion_protection: false,
            removal_policy: RemovalPolicy::Retain,
            global_secondary_indexes: Vec::new(),
        }
    }
}

/// A DynamoDB table (`AWS::DynamoDB::Table`), its L1 the child `Resource`.
///
/// ```
/// use cairn_constructs::dynamodb::{Attribute, Table, TableProps};
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let table = Table::new(&mut app, stack, "Users", TableProps::new(Attribute::string("id")))?;
/// let role = Role::new(&mut app, stack, "Api", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
/// table.grant_read_write_data(&mut app, &role)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Table {
    node: NodeId,
    resource: Res<CfnTable>,
    encryption: TableEncryption,
    has_stream: bool,
    provisioned: bool,
}

impl PartialEq for Table {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

fn key_schema(pk: &Attribute, sk: Option<&Attribute>) -> Vec<Val<table::KeySchemaItem>> {
    let mut v = vec![Val::from(table::KeySchemaItem::new(pk.name.as_str(), "HASH"))];
    if let Some(sk) = sk {
        v.push(table::KeySchemaItem::new(sk.name.as_str(), "RANGE").into());
    }
    v
}

impl Table {
    /// Creates the table as construct `id` under `scope`. An attribute used with two
    /// different types is an [`Error::InvalidProps`].
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: TableProps) -> Result<Table> {
        let node = app.construct(scope, id)?;
        let mut t = CfnTable::new(key_schema(&props.partition_key, props.sort_key.as_ref()));
        t.table_name = props.table_name.clone().map(Into::into);
        let provisioned = matches!(props.billing, Billing::Provisioned { .. });
        match props.billing {
            Billing::PayPerRequest => t.billing_mode = Some(table::BillingMode::PayPerRequest.into()),
            Billing::Provisioned {
                read_capacity,
                write_capacity,
            } => {
                t.billing_mode = Some(table::BillingMode::Provisioned.into());
                t.provisioned_throughput =
                    Some(table::ProvisionedThroughput::new(read_capacity, write_capacity).into());
            }
        }
        if let Some(attr) = &props.time_to_live_attribute {
            let mut ttl = table::TimeToLiveSpecification::new(true);
            ttl.attribute_name = Some(attr.as_str().into());
            t.time_to_live_specification = Some(ttl.into());
        }
        if let Some(view) = props.stream {
            t.stream_specification = Some(table::StreamSpecification::new(view.l1()).into());
        }
        t.point_in_time_recovery_specification = Some(
            table::PointInTimeRecoverySpecification {
                point_in_time_recovery_enabled: Some(props.point_in_time_recovery.into()),
                ..Default::default()
            }
            .into(),
        );
        let mut sse = table::SSESpecification::new(true);
        sse.sse_type = Some(table::SSEType::Kms.into());
        sse.kms_master_key_id = Some(match props.encryption {
            TableEncryption::AwsManaged => "alias/aws/dynamodb".into(),
            TableEncryption::CustomerManaged(k) => k.key_arn().into(),
        });
        t.sse_specification = Some(sse.into());
        if props.deletion_protection {
            t.deletion_protection_enabled = Some(true.into());
        }
        t.attribute_definitions = Some(Val::Lit(Vec::new()));
        let resource = app.add(node, "Resource", t)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        let table = Table {
            node,
            resource,
            encryption: props.encryption,
            has_stream: props.stream.is_some(),
            provisioned,
        };
        table.define(app, &props.partition_key)?;
        if let Some(sk) = &props.sort_key {
            table.define(app, sk)?;
        }
        for gsi in &props.global_secondary_indexes {
            table.add_global_secondary_index(app, gsi.clone())?;
        }
        Ok(table)
    }

    /// Adds an attribute definition, once; a second type for the same name is an error.
    fn define(&self, app: &mut App, attr: &Attribute) -> Result<()> {
        let path = app.path(self.node);
        let Some(t) = app.node_mut(self.resource.node()).resource_mut::<CfnTable>() else {
            return Ok(());
        };
        let defs = match t
            .attribute_definitions
            .get_or_insert_with(|| Val::Lit(Vec::new()))
        {
            Val::Lit(d) => d,
            Val::Expr(_) => return Ok(()),
        };
        for d in defs.iter() {
            if let Val::Lit(d) = d {
                if d.attribute_name == Val::from(attr.name.as_str()) {
                    if d.attribute_type != Val::Lit(attr.attribute_type.l1()) {
                        return Err(Error::InvalidProps {
                            path,
                            problem: format!(
                                "attribute {:?} is used with two types; give each key attribute one type",
                                attr.name
                            ),
                        });
                    }
                    return Ok(());
                }
            }
        }
        defs.push(table::AttributeDefinition::new(attr.name.as_str(), attr.attribute_type.l1()).into());
        Ok(())
    }

    /// Adds a global secondary index. On a provisioned table the index needs `capacity`.
    pub fn add_global_secondary_index(&self, app: &mut App, gsi: GlobalSecondaryIndexProps) -> Result<()> {
        self.define(app, &gsi.partition_key)?;
        if let Some(sk) = &gsi.sort_key {
            self.define(app, sk)?;
        }
        let path = app.path(self.node);
        let projection = match &gsi.projection {
            Projection::All => table::Projection {
                projection_type: Some(table::ProjectionType::All.into()),
                ..Default::default()
            },
            Projection::KeysOnly => table::Projection {
                projection_type: Some(table::ProjectionType::KeysOnly.into()),
                ..Default::default()
            },
            Projection::Include(attrs) => table::Projection {
                projection_type: Some(table::ProjectionType::Include.into()),
                non_key_attributes: Some(
                    attrs
                        .iter()
                        .map(|a| Val::from(a.as_str()))
                        .collect::<Vec<_>>()
                        .into(),
                ),
            },
        };
        let mut index = table::GlobalSecondaryIndex::new(
            gsi.index_name.as_str(),
            key_schema(&gsi.partition_key, gsi.sort_key.as_ref()),
            projection,
        );
        match (self.provisioned, gsi.capacity) {
            (true, Some((r, w))) => {
                index.provisioned_throughput = Some(table::ProvisionedThroughput::new(r, w).into())
            }
            (true, None) => {
                return Err(Error::InvalidProps {
                    path,
                    problem: format!("index {:?} of a provisioned table needs capacity", gsi.index_name),
                })
            }
            (false, Some(_)) => {
                return Err(Error::InvalidProps {
                    path,
                    problem: format!(
                        "index {:?} has capacity, but the table bills per request; remove it",
                        gsi.index_name
                    ),
                })
            }
            (false, None) => {}
        }
        if let Some(t) = app.node_mut(self.resource.node()).resource_mut::<CfnTable>() {
            let mut list = match t.global_secondary_indexes.take() {
                Some(Val::Lit(l)) => l,
                _ => Vec::new(),
            };
            list.push(index.into());
            t.global_secondary_indexes = Some(list.into());
        }
        Ok(())
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnTable> {
        self.resource
    }

    /// The customer managed key, when the table has one.
    pub fn encryption_key(&self) -> Option<Key> {
        match self.encryption {
            TableEncryption::CustomerManaged(k) => Some(k),
            TableEncryption::AwsManaged => None,
        }
    }

    /// The table's name (`Ref`).
    pub fn table_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The table's ARN.
    pub fn table_arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The stream's ARN, when the table has a stream.
    pub fn table_stream_arn(&self) -> Option<Value> {
        self.has_stream.then(|| self.resource.attr_stream_arn())
    }

    /// Grants reading items (on the table and `arn/index/*`).
    pub fn grant_read_data(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        TableRef::grant_read_data(self, app, grantee)
    }

    /// Grants writing items (on the table and `arn/index/*`).
    pub fn grant_write_data(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        TableRef::grant_write_data(self, app, grantee)
    }

    /// Grants reading and writing items (one statement with both lists).
    pub fn grant_read_write_data(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        TableRef::grant_read_write_data(self, app, grantee)
    }

    /// Grants reading the stream: `dynamodb:ListStreams` on `*` and the stream actions on
    /// the stream ARN (and decrypt on a customer managed key). A table without a stream is
    /// an [`Error::InvalidProps`].
    pub fn grant_stream_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        TableRef::grant_stream_read(self, app, grantee)
    }
}

/// A table, created by this app ([`Table`]) or existing ([`ImportedTable`]). Grants go
/// to the grantee's identity policy (and the key's actions to a customer managed key).
pub trait TableRef: Construct {
    /// The table's name.
    fn table_name(&self) -> Value;
    /// The table's ARN.
    fn table_arn(&self) -> Value;
    /// The stream's ARN, when the table has a stream.
    fn table_stream_arn(&self) -> Option<Value>;
    /// The ARN of the table's customer managed key, if any.
    fn encryption_key_arn(&self) -> Option<Value>;
    /// Whether grants include the table's indexes (`arn/index/*`).
    fn has_index(&self) -> bool;

    /// Grants reading items (on the table and, with indexes, `arn/index/*`).
    fn grant_read_data(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        grant_data(self, app, grantee, READ_DATA_ACTIONS, KEY_READ_ACTIONS)
    }

    /// Grants writing items (on the table and, with indexes, `arn/index/*`).
    fn grant_write_data(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        grant_data(self, app, grantee, WRITE_DATA_ACTIONS, KEY_WRITE_ACTIONS)
    }

    /// Grants reading and writing items (one statement with both lists).
    fn grant_read_write_data(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        let mut actions: Vec<&str> = READ_DATA_ACTIONS.to_vec();
        actions.extend(
            WRITE_DATA_ACTIONS
                .iter()
                .filter(|a| !READ_DATA_ACTIONS.contains(a)),
        );
        grant_data(self, app, grantee, &actions, KEY_WRITE_ACTIONS)
    }

    /// Grants reading the stream: `dynamodb:ListStreams` on `*` and the stream actions on
    /// the stream ARN (and decrypt on a customer managed key). A table without a stream is
    /// an [`Error::InvalidProps`].
    fn grant_stream_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        let Some(stream) = self.table_stream_arn() else {
            return Err(app.invalid_props(
                self.node(),
                "the table has no stream; set TableProps.stream (or TableAttributes.table_stream_arn) to read it",
            ));
        };
        grant_stream(app, grantee, stream, self.encryption_key_arn())
    }
}

/// Reading a table's stream: `dynamodb:ListStreams` on `*`, the stream actions on
/// `stream`, and decrypt on the table's customer managed key (`key`), if any.
pub(crate) fn grant_stream(
    app: &mut App,
    grantee: &impl Grantable,
    stream: Value,
    key: Option<Value>,
) -> Result<()> {
    grant(app, grantee, ["dynamodb:ListStreams"], [Value::from("*")])?;
    grant(app, grantee, STREAM_READ_ACTIONS.iter().copied(), [stream])?;
    if let Some(k) = key {
        grant(app, grantee, DECRYPT_ACTIONS.iter().copied(), [k])?;
    }
    Ok(())
}

/// `actions` on the table (and its indexes), `key` on its customer managed key.
fn grant_data(
    table: &impl TableRef,
    app: &mut App,
    grantee: &impl Grantable,
    actions: &[&str],
    key: &[&str],
) -> Result<()> {
    let mut resources = vec![table.table_arn()];
    if table.has_index() {
        resources.push(Value::join("", [table.table_arn(), Value::from("/index/*")]));
    }
    grant(app, grantee, actions.iter().copied(), resources)?;
    if let Some(k) = table.encryption_key_arn() {
        grant(app, grantee, key.iter().copied(), [k])?;
    }
    Ok(())
}

impl TableRef for Table {
    fn table_name(&self) -> Value {
        Table::table_name(self)
    }

    fn table_arn(&self) -> Value {
        Table::table_arn(self)
    }

    fn table_stream_arn(&self) -> Option<Value> {
        Table::table_stream_arn(self)
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.encryption_key().map(|k| k.key_arn())
    }

    /// Always: grants made before an index is added still cover it.
    fn has_index(&self) -> bool {
        true
    }
}

/// What is known of an existing table ([`Table::from_table_attributes`]): its ARN or name
/// (one is needed), its stream, key and index names.
///
/// ```
/// use cairn_constructs::dynamodb::TableAttributes;
/// let attrs = TableAttributes { table_name: Some("orders".into()), ..TableAttributes::default() };
/// assert!(attrs.global_indexes.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableAttributes {
    /// The table's ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>`).
    pub table_arn: Option<Value>,
    /// The table's name (its ARN in the stack's partition, region and account).
    pub table_name: Option<Value>,
    /// The table's stream ARN (for [`TableRef::grant_stream_read`] and event sources).
    pub table_stream_arn: Option<Value>,
    /// The ARN of the table's KMS key.
    pub encryption_key_arn: Option<Value>,
    /// Names of global secondary indexes (grants then include `arn/index/*`).
    pub global_indexes: Vec<String>,
    /// Names of local secondary indexes (likewise).
    pub local_indexes: Vec<String>,
}

/// A table that exists outside the app: a construct with no resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedTable {
    node: NodeId,
    arn: Value,
    name: Value,
    stream_arn: Option<Value>,
    key_arn: Option<Value>,
    has_index: bool,
}

impl Table {
    /// A table of the stack's account and region that exists, by name.
    ///
    /// ```
    /// use cairn_constructs::dynamodb::{Table, TableRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let orders = Table::from_table_name(&mut app, stack, "Orders", "orders")?;
    /// assert_eq!(orders.table_name(), "orders".into());
    /// assert!(Table::from_table_name(&mut app, stack, "Empty", "").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_table_name(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        name: impl Into<Value>,
    ) -> Result<ImportedTable> {
        let attrs = TableAttributes {
            table_name: Some(name.into()),
            ..TableAttributes::default()
        };
        Table::from_table_attributes(app, scope, id, attrs)
    }

    /// A table that exists, by ARN. An ARN of another service, or of no table, is an
    /// [`Error::InvalidProps`].
    pub fn from_table_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
    ) -> Result<ImportedTable> {
        let attrs = TableAttributes {
            table_arn: Some(arn.into()),
            ..TableAttributes::default()
        };
        Table::from_table_attributes(app, scope, id, attrs)
    }

    /// A table that exists, by its attributes; neither ARN nor name is an
    /// [`Error::InvalidProps`].
    pub fn from_table_attributes(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        attrs: TableAttributes,
    ) -> Result<ImportedTable> {
        let node = import_node(app, scope, id)?;
        let (arn, name) = match (attrs.table_arn, attrs.table_name) {
            (None, None) => {
                return Err(app.invalid_props(
                    node,
                    "an imported table needs its ARN or its name; set table_arn or table_name",
                ))
            }
            (Some(arn), _) => {
                let example = "arn:aws:dynamodb:us-east-1:123456789012:table/my-table";
                let parts = parse_arn(
                    app,
                    node,
                    &arn,
                    "dynamodb",
                    Some("table"),
                    ArnFormat::Slash,
                    example,
                )?;
                (arn, parts.resource_name)
            }
            (None, Some(name)) => {
                check_name(app, node, "table name", &name)?;
                let arn = format_arn("dynamodb", Value::join("", [Value::from("table/"), name.clone()]));
                (arn, name)
            }
        };
        Ok(ImportedTable {
            node,
            arn,
            name,
            stream_arn: attrs.table_stream_arn,
            key_arn: attrs.encryption_key_arn,
            has_index: !attrs.global_indexes.is_empty() || !attrs.local_indexes.is_empty(),
        })
    }
}

impl TableRef for ImportedTable {
    fn table_name(&self) -> Value {
        self.name.clone()
    }

    fn table_arn(&self) -> Value {
        self.arn.clone()
    }

    fn table_stream_arn(&self) -> Option<Value> {
        self.stream_arn.clone()
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.key_arn.clone()
    }

    fn has_index(&self) -> bool {
        self.has_index
    }
}

imported_handle!(ImportedTable);

impl From<Table> for NodeId {
    fn from(t: Table) -> NodeId {
        t.node
    }
}

construct!(Table);
