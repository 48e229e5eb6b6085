//! Lake Formation: the account's data lake settings (administrators, no IAM-only default
//! permissions), registered S3 locations and typed permission grants to principals on
//! databases, tables and data locations.
//!
//! ```
//! use cairn_constructs::glue::{Database, DatabaseProps};
//! use cairn_constructs::iam::{Principal, Role, RoleProps};
//! use cairn_constructs::lakeformation::{
//!     DataLakeSettings, DataLakeSettingsProps, LfResource, Permission, Permissions, PermissionsProps,
//! };
//! use cairn_core::{App, Value};
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Lake")?;
//! let db = Database::new(&mut app, stack, "Db", DatabaseProps::new("sales"))?;
//! let analyst = Role::new(&mut app, stack, "Analyst", RoleProps::new(Principal::account("123456789012")))?;
//! let settings = DataLakeSettings::new(&mut app, stack, "Settings", DataLakeSettingsProps::new(
//!     vec![Value::from("arn:aws:iam::123456789012:role/lake-admin")]))?;
//! let grant = Permissions::new(&mut app, stack, "AnalystSelect", PermissionsProps::new(analyst.arn(),
//!     LfResource::all_tables(&db), [Permission::Select, Permission::Describe]))?;
//! grant.depends_on_settings(&mut app, &settings)?;
//! let asm = app.synth()?;
//! let s = asm.stack("Lake").unwrap();
//! let id = s.resources_of_type("AWS::LakeFormation::Permissions")[0];
//! let props = &s.template["Resources"][id]["Properties"];
//! assert_eq!(props["Permissions"], serde_json::json!(["SELECT", "DESCRIBE"]));
//! assert_eq!(props["Resource"]["TableResource"]["TableWildcard"], serde_json::json!({}));
//! # Ok(())
//! # }
//! ```

use cairn_core::{App, NodeId, Pseudo, Res, Result, Val, Value};

use crate::glue::Database;
use crate::iam::{grant, Grantable};
use crate::s3::Bucket;

pub use cairn_cfn::lakeformation::*;

/// A Lake Formation permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `ALL` (super user on the resource).
    All,
    /// `SELECT` (tables).
    Select,
    /// `ALTER` (databases, tables).
    Alter,
    /// `DROP` (databases, tables).
    Drop,
    /// `DELETE` (tables).
    Delete,
    /// `INSERT` (tables).
    Insert,
    /// `DESCRIBE` (databases, tables).
    Describe,
    /// `CREATE_TABLE` (databases).
    CreateTable,
    /// `DATA_LOCATION_ACCESS` (data locations).
    DataLocationAccess,
}

impl Permission {
    /// The CloudFormation value.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::All => "ALL",
            Permission::Select => "SELECT",
            Permission::Alter => "ALTER",
            Permission::Drop => "DROP",
            Permission::Delete => "DELETE",
            Permission::Insert => "INSERT",
            Permission::Describe => "DESCRIBE",
            Permission::CreateTable => "CREATE_TABLE",
            Permission::DataLocationAccess => "DATA_LOCATION_ACCESS",
        }
    }
}

/// What a [`Permissions`] grant is on.
#[derive(Debug, Clone, PartialEq)]
pub enum LfResource {
    /// A database (by name).
    Database {
        /// The database name.
        name: Value,
    },
    /// Every table of a database (`TableWildcard`).
    AllTables {
        /// The database name.
        database: Value,
    },
    /// One table.
    Table {
        /// The database name.
        database: Value,
        /// The table name.
        name: Value,
    },
    /// A registered S3 location (by ARN).
    DataLocation {
        /// The bucket or prefix ARN.
        arn: Value,
    },
}

impl LfResource {
    /// A Glue database.
    pub fn database(db: &Database) -> Self {
        LfResource::Database {
            name: db.database_name(),
        }
    }

    /// Every table of a Glue database, present and future.
    pub fn all_tables(db: &Database) -> Self {
        LfResource::AllTables {
            database: db.database_name(),
        }
    }

    /// A bucket as a data location.
    pub fn bucket(bucket: &Bucket) -> Self {
        LfResource::DataLocation { arn: bucket.arn() }
    }

    /// The permissions that apply to this kind of resource.
    pub fn allowed(&self) -> &'static [Permission] {
        use Permission::*;
        match self {
            LfResource::Database { .. } => &[All, Alter, Drop, Describe, CreateTable],
            LfResource::AllTables { .. } | LfResource::Table { .. } => {
                &[All, Select, Alter, Drop, Delete, Insert, Describe]
            }
            LfResource::DataLocation { .. } => &[DataLocationAccess],
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            LfResource::Database { .. } => "a database",
            LfResource::AllTables { .. } | LfResource::Table { .. } => "tables",
            LfResource::DataLocation { .. } => "a data location",
        }
    }

    fn to_l1(&self) -> permissions::ResourceProperty {
        let catalog = || Some(Val::from(Value::pseudo(Pseudo::AccountId)));
        match self {
            LfResource::Database { name } => permissions::ResourceProperty {
                database_resource: Some(
                    permissions::DatabaseResource {
                        catalog_id: catalog(),
                        name: Some(name.clone().into()),
                    }
                    .into(),
                ),
                ..Default::default()
            },
            LfResource::AllTables { database } => permissions::ResourceProperty {
                table_resource: Some(
                    permissions::TableResource {
                        catalog_id: catalog(),
                        database_name: Some(database.clone().into()),
                        table_wildcard: Some(Value::map::<&str>([])),
                        ..Default::default()
                    }
                    .into(),
                ),
                ..Default::default()
            },
            LfResource::Table { database, name } => permissions::ResourceProperty {
                table_resource: Some(
                    permissions::TableResource {
                        catalog_id: catalog(),
                        database_name: Some(database.clone().into()),
                        name: Some(name.clone().into()),
                        ..Default::default()
                    }
                    .into(),
                ),
                ..Default::default()
            },
            LfResource::DataLocation { arn } => permissions::ResourceProperty {
                data_location_resource: Some(
                    permissions::DataLocationResource {
                        catalog_id: catalog(),
                        s3_resource: Some(arn.clone().into()),
                    }
                    .into(),
                ),
                ..Default::default()
            },
        }
    }
}

// ------------------------------------------------------------------ settings ----

/// Settings of [`DataLakeSettings`].
#[derive(Debug, Clone, PartialEq)]
pub struct DataLakeSettingsProps {
    /// The data lake administrators (IAM role or user ARNs). They replace the account's
    /// current administrators: include the principal that deploys the permissions.
    pub admins: Vec<Value>,
    /// Keep the `IAM_ALLOWED_PRINCIPALS` default permissions on new databases and tables
    /// (default: off, so Lake Formation permissions alone decide access).
    pub iam_allowed_principals_default: bool,
}

impl DataLakeSettingsProps {
    /// Settings with these administrators and Lake Formation-only access control.
    pub fn new(admins: Vec<Value>) -> Self {
        DataLakeSettingsProps {
            admins,
            iam_allowed_principals_default: false,
        }
    }
}

/// The account's Lake Formation settings (`AWS::LakeFormation::DataLakeSettings`): the
/// administrators and, by default, no `IAM_ALLOWED_PRINCIPALS` permissions on new
/// databases and tables. One per account and region.
#[derive(Debug, Clone, Copy)]
pub struct DataLakeSettings {
    node: NodeId,
    resource: Res<CfnDataLakeSettings>,
}

impl DataLakeSettings {
    /// Creates the settings as construct `id` under `scope`. No administrator is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps) (nobody could grant permissions).
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: DataLakeSettingsProps,
    ) -> Result<DataLakeSettings> {
        let node = app.construct(scope, id)?;
        if props.admins.is_empty() {
            return Err(app.invalid_props(
                node,
                "a data lake needs at least one administrator (admins): without one nobody can grant Lake Formation permissions",
            ));
        }
        let mut s = CfnDataLakeSettings {
            admins: Some(
                props
                    .admins
                    .iter()
                    .map(|a| data_lake_settings::DataLakePrincipal::new(a.clone()).into())
                    .collect::<Vec<_>>()
                    .into(),
            ),
            ..CfnDataLakeSettings::default()
        };
        if props.iam_allowed_principals_default {
            let everyone = || {
                vec![data_lake_settings::PrincipalPermissions::new(
                    vec![Val::from("ALL")],
                    data_lake_settings::DataLakePrincipal::new("IAM_ALLOWED_PRINCIPALS"),
                )
                .into()]
            };
            s.create_database_default_permissions = Some(everyone().into());
            s.create_table_default_permissions = Some(everyone().into());
        } else {
            s.create_database_default_permissions = Some(Vec::new().into());
            s.create_table_default_permissions = Some(Vec::new().into());
        }
        let resource = app.add(node, "Resource", s)?;
        Ok(DataLakeSettings { node, resource })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnDataLakeSettings> {
        self.resource
    }
}

// ------------------------------------------------------------------ location ----

/// A registered data location (`AWS::LakeFormation::Resource`): Lake Formation vends
/// credentials for the bucket through its service-linked role. The bucket's key must let
/// that role use it (grant `kms:Decrypt`/`Encrypt`/`GenerateDataKey` to it, or register
/// with a role of your own that has them).
#[derive(Debug, Clone, Copy)]
pub struct DataLakeLocation {
    node: NodeId,
    resource: Res<CfnResourceProperty>,
}

/// Settings of a [`DataLakeLocation`].
#[derive(Debug, Clone)]
pub struct DataLakeLocationProps {
    /// The bucket to register.
    pub bucket: Bucket,
    /// A role Lake Formation uses instead of its service-linked role.
    pub role_arn: Option<Value>,
}

impl DataLakeLocationProps {
    /// `bucket`, through Lake Formation's service-linked role.
    pub fn new(bucket: &Bucket) -> Self {
        DataLakeLocationProps {
            bucket: *bucket,
            role_arn: None,
        }
    }
}

impl DataLakeLocation {
    /// Registers `props.bucket` as construct `id` under `scope`; with `role_arn` Lake
    /// Formation uses that role instead of its service-linked role.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: DataLakeLocationProps,
    ) -> Result<DataLakeLocation> {
        let node = app.construct(scope, id)?;
        let mut r = CfnResourceProperty::new(props.bucket.arn(), props.role_arn.is_none());
        r.role_arn = props.role_arn.map(Into::into);
        let resource = app.add(node, "Resource", r)?;
        Ok(DataLakeLocation { node, resource })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnResourceProperty> {
        self.resource
    }
}

// --------------------------------------------------------------- permissions ----

/// A Lake Formation grant (`AWS::LakeFormation::Permissions`) of permissions on one
/// resource to one principal.
#[derive(Debug, Clone, Copy)]
pub struct Permissions {
    node: NodeId,
    resource: Res<CfnPermissions>,
}

/// Settings of a [`Permissions`] grant.
#[derive(Debug, Clone)]
pub struct PermissionsProps {
    /// Who is granted: an IAM role or user ARN.
    pub principal_arn: Value,
    /// On what.
    pub resource: LfResource,
    /// What (duplicates are dropped).
    pub permissions: Vec<Permission>,
}

impl PermissionsProps {
    /// `permissions` on `resource` to `principal_arn`.
    pub fn new(
        principal_arn: impl Into<Value>,
        resource: LfResource,
        permissions: impl IntoIterator<Item = Permission>,
    ) -> Self {
        PermissionsProps {
            principal_arn: principal_arn.into(),
            resource,
            permissions: permissions.into_iter().collect(),
        }
    }
}

impl Permissions {
    /// Grants `props.permissions` on `props.resource` to `props.principal_arn`, as
    /// construct `id` under `scope`. No permission, or one that does not apply to the
    /// resource (`SELECT` on a database ...), is an [`Error::InvalidProps`](cairn_core::Error::InvalidProps)
    /// naming the permissions that do apply.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: PermissionsProps,
    ) -> Result<Permissions> {
        let node = app.construct(scope, id)?;
        let PermissionsProps {
            principal_arn,
            resource,
            permissions,
        } = props;
        let mut perms: Vec<Permission> = Vec::new();
        for p in permissions {
            if !perms.contains(&p) {
                perms.push(p);
            }
        }
        if perms.is_empty() {
            return Err(app.invalid_props(node, "a Lake Formation grant needs at least one permission"));
        }
        let allowed = resource.allowed();
        let wrong: Vec<&str> = perms
            .iter()
            .filter(|p| !allowed.contains(p))
            .map(|p| p.as_str())
            .collect();
        if !wrong.is_empty() {
            let ok: Vec<&str> = allowed.iter().map(|p| p.as_str()).collect();
            return Err(app.invalid_props(
                node,
                format!(
                    "{} cannot be granted on {}; use {}",
                    wrong.join(", "),
                    resource.kind(),
                    ok.join(", ")
                ),
            ));
        }
        let mut p = CfnPermissions::new(
            permissions::DataLakePrincipal {
                data_lake_principal_identifier: Some(principal_arn.into()),
            },
            resource.to_l1(),
        );
        p.permissions = Some(
            perms
                .iter()
                .map(|x| Val::from(x.as_str()))
                .collect::<Vec<_>>()
                .into(),
        );
        let resource = app.add(node, "Resource", p)?;
        Ok(Permissions { node, resource })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnPermissions> {
        self.resource
    }

    /// Makes the grant wait for the settings (whose administrators may grant).
    pub fn depends_on_settings(&self, app: &mut App, settings: &DataLakeSettings) -> Result<()> {
        let o = app.resource_options_mut(self.resource)?;
        let d = settings.resource.node();
        if !o.depends_on.contains(&d) {
            o.depends_on.push(d);
        }
        Ok(())
    }

    /// Makes the grant wait for any other resource (the database or table it names by
    /// literal, a registered location).
    pub fn depends_on(&self, app: &mut App, node: NodeId) -> Result<()> {
        let o = app.resource_options_mut(self.resource)?;
        if !o.depends_on.contains(&node) {
            o.depends_on.push(node);
        }
        Ok(())
    }
}

/// Grants `lakeformation:GetDataAccess`: what a principal needs in IAM, besides its Lake
/// Formation permissions, to read data Lake Formation governs (the action takes only `*`).
pub fn grant_data_access(app: &mut App, grantee: &impl Grantable) -> Result<()> {
    grant(app, grantee, ["lakeformation:GetDataAccess"], [Value::from("*")])
}

construct!(DataLakeSettings, DataLakeLocation, Permissions);
node_from!(DataLakeSettings, DataLakeLocation, Permissions);
