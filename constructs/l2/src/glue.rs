//! Glue: catalog databases, security configurations (S3, CloudWatch Logs and job bookmarks
//! encrypted with a customer managed key), Data Catalog encryption, network connections,
//! crawlers and Spark ETL jobs with their roles and grants, and the Step Functions task
//! that runs a job and waits for it (`glue:startJobRun.sync`).
//!
//! ```
//! use cairn_constructs::glue::{
//!     Database, DatabaseProps, Job, JobProps, JobScript, SecurityConfiguration,
//!     SecurityConfigurationProps,
//! };
//! use cairn_constructs::kms::{Key, KeyProps};
//! use cairn_constructs::s3::{Bucket, BucketEncryption, BucketProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Etl")?;
//! let key = Key::new(&mut app, stack, "Key", KeyProps::default())?;
//! let code = Bucket::new(&mut app, stack, "Code", BucketProps {
//!     encryption: BucketEncryption::Kms(key),
//!     ..BucketProps::default()
//! })?;
//! let db = Database::new(&mut app, stack, "Db", DatabaseProps::new("sales"))?;
//! let security = SecurityConfiguration::new(&mut app, stack, "Security",
//!     SecurityConfigurationProps::new(key))?;
//! let job = Job::new(&mut app, stack, "ToParquet", JobProps {
//!     security_configuration: Some(security),
//!     ..JobProps::new(JobScript::s3(&code, "scripts/to_parquet.py"))
//! })?;
//! let asm = app.synth()?;
//! let s = asm.stack("Etl").unwrap();
//! let id = s.resources_of_type("AWS::Glue::Job")[0];
//! let props = &s.template["Resources"][id]["Properties"];
//! assert_eq!(props["Command"]["Name"], "glueetl");
//! assert_eq!(props["GlueVersion"], "5.0");
//! assert_eq!(props["SecurityConfiguration"]["Ref"], s.resources_of_type("AWS::Glue::SecurityConfiguration")[0]);
//! # let _ = (db, job);
//! # Ok(())
//! # }
//! ```

use std::path::PathBuf;

use indexmap::IndexMap;

use cairn_core::{
    format_arn, make_unique_id, App, Arn, AssetSource, FileAsset, NodeId, Pseudo, Res, Result, Val, Value,
};

use crate::ec2::{Peer, Port, SecurityGroup, SecurityGroupProps, Subnet, Vpc};
use crate::iam::{grant, Grantable, PolicyStatement, Principal, Role, RoleProps};
use crate::kms::{push_statement, Key};
use crate::s3::Bucket;
use crate::stepfunctions::{Params, Task};

pub use cairn_cfn::glue::*;

/// The managed policy every Glue service role gets (catalog access, its own logs and
/// metrics, the ENIs of a network connection), as the CDK's Glue constructs attach it.
pub const SERVICE_ROLE_POLICY: &str = "service-role/AWSGlueServiceRole";

/// The actions of [`Job::grant_start`]: start a run and read its state.
pub const START_JOB_ACTIONS: &[&str] = &["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns"];

/// The actions of [`Crawler::grant_start`].
pub const START_CRAWLER_ACTIONS: &[&str] = &["glue:StartCrawler", "glue:GetCrawler"];

/// `arn:<partition>:glue:<region>:<account>:<kind>/<name><rest>`.
fn glue_arn(kind: &str, name: Value, rest: &str) -> Value {
    format_arn(
        "glue",
        Value::join("", [Value::from(format!("{kind}/")), name, Value::from(rest)]),
    )
}

/// A physical name from the construct path (what the CDK's `Names.uniqueId` gives), for
/// Glue resources whose name CloudFormation requires.
fn unique_name(app: &App, node: NodeId) -> String {
    make_unique_id(&app.path_from(app.root(), node))
}

/// Handles compare by construct node.
macro_rules! node_eq {
    ($($t:ty),*) => {$(
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.node == other.node
            }
        }
        impl Eq for $t {}
    )*};
}
node_eq!(
    Database,
    SecurityConfiguration,
    DataCatalogEncryption,
    Connection,
    Job,
    Crawler
);

// ------------------------------------------------------------------ database ----

/// Settings of a [`Database`].
///
/// ```
/// use cairn_constructs::glue::DatabaseProps;
/// let props = DatabaseProps { description: Some("curated sales".into()), ..DatabaseProps::new("sales") };
/// # let _ = props;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseProps {
    /// The database name: lowercase letters, digits and `_`, at most 255 characters.
    pub database_name: String,
    /// `Description`.
    pub description: Option<String>,
    /// Where the database's tables live by default, e.g. `s3://bucket/prefix/`.
    pub location_uri: Option<Value>,
}

impl DatabaseProps {
    /// A database named `database_name`.
    pub fn new(database_name: &str) -> Self {
        DatabaseProps {
            database_name: database_name.to_string(),
            description: None,
            location_uri: None,
        }
    }
}

/// A Glue Data Catalog database (`AWS::Glue::Database`) in the stack's account catalog.
#[derive(Debug, Clone, Copy)]
pub struct Database {
    node: NodeId,
    resource: Res<CfnDatabase>,
}

impl Database {
    /// Creates the database as construct `id` under `scope`. A name Glue would reject
    /// (empty, uppercase, other characters than `[a-z0-9_]`, over 255) is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: DatabaseProps) -> Result<Database> {
        let node = app.construct(scope, id)?;
        let name = &props.database_name;
        if name.is_empty()
            || name.len() > 255
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(app.invalid_props(
                node,
                format!("database_name {name:?} must be 1 to 255 characters of a-z, 0-9 and _ (Athena and Lake Formation need lowercase names)"),
            ));
        }
        let input = database::DatabaseInput {
            name: Some(name.as_str().into()),
            description: props.description.as_deref().map(Into::into),
            location_uri: props.location_uri.clone().map(Into::into),
            ..Default::default()
        };
        let resource = app.add(
            node,
            "Resource",
            CfnDatabase::new(Value::pseudo(Pseudo::AccountId), input),
        )?;
        Ok(Database { node, resource })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnDatabase> {
        self.resource
    }

    /// The database name (`Ref`, which waits for the database).
    pub fn database_name(&self) -> Value {
        self.resource.ref_()
    }

    /// `arn:...:glue:<region>:<account>:database/<name>`.
    pub fn database_arn(&self) -> Value {
        glue_arn("database", self.database_name(), "")
    }

    /// The ARN of the account's Data Catalog the database is in.
    pub fn catalog_arn(&self) -> Value {
        format_arn("glue", "catalog")
    }

    /// The ARN of the tables of the database matching `pattern` (e.g. `*`).
    pub fn table_arn(&self, pattern: &str) -> Value {
        glue_arn("table", self.database_name(), &format!("/{pattern}"))
    }

    /// Grants reading the catalog entries of the database and its tables
    /// (`glue:GetDatabase*`, `glue:GetTable*`, `glue:GetPartition*`).
    pub fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        grant(
            app,
            grantee,
            [
                "glue:GetDatabase",
                "glue:GetDatabases",
                "glue:GetTable",
                "glue:GetTables",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:BatchGetPartition",
            ],
            [self.catalog_arn(), self.database_arn(), self.table_arn("*")],
        )
    }
}

impl From<Database> for NodeId {
    fn from(d: Database) -> NodeId {
        d.node
    }
}

// ---------------------------------------------------------- security config ----

/// Settings of a [`SecurityConfiguration`]: one key for S3 (SSE-KMS), CloudWatch Logs
/// (SSE-KMS) and job bookmarks (CSE-KMS), as the recommended rules want.
///
/// ```
/// # let mut app = cairn_core::App::new();
/// # let stack = app.stack("S").unwrap();
/// use cairn_constructs::glue::SecurityConfigurationProps;
/// use cairn_constructs::kms::{Key, KeyProps};
/// let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
/// let props = SecurityConfigurationProps { name: Some("etl".into()), ..SecurityConfigurationProps::new(key) };
/// # let _ = props;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityConfigurationProps {
    /// The name; derived from the construct path when `None`.
    pub name: Option<String>,
    /// The key that encrypts everything the jobs and crawlers write.
    pub key: Key,
}

impl SecurityConfigurationProps {
    /// A configuration encrypting with `key`.
    pub fn new(key: Key) -> Self {
        SecurityConfigurationProps { name: None, key }
    }
}

/// A Glue security configuration (`AWS::Glue::SecurityConfiguration`): S3 data SSE-KMS,
/// CloudWatch Logs SSE-KMS and job bookmarks CSE-KMS, all with one customer managed key.
///
/// Creating it adds the statement the key needs for CloudWatch Logs
/// (`logs.<region>.amazonaws.com` may use the key for log groups under `/aws-glue/`);
/// jobs and crawlers using it get the key and `logs:AssociateKmsKey` on those log groups.
#[derive(Debug, Clone, Copy)]
pub struct SecurityConfiguration {
    node: NodeId,
    resource: Res<CfnSecurityConfiguration>,
    key: Key,
}

impl SecurityConfiguration {
    /// Creates the configuration as construct `id` under `scope`.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: SecurityConfigurationProps,
    ) -> Result<SecurityConfiguration> {
        let node = app.construct(scope, id)?;
        let name = props.name.clone().unwrap_or_else(|| unique_name(app, node));
        let key_arn = props.key.key_arn();
        let config = security_configuration::EncryptionConfiguration {
            s3_encryptions: Some(
                vec![security_configuration::S3Encryption {
                    kms_key_arn: Some(key_arn.clone().into()),
                    s3_encryption_mode: Some("SSE-KMS".into()),
                }
                .into()]
                .into(),
            ),
            cloud_watch_encryption: Some(
                security_configuration::CloudWatchEncryption {
                    cloud_watch_encryption_mode: Some(
                        security_configuration::CloudWatchEncryptionMode::SseKms.into(),
                    ),
                    kms_key_arn: Some(key_arn.clone().into()),
                }
                .into(),
            ),
            job_bookmarks_encryption: Some(
                security_configuration::JobBookmarksEncryption {
                    job_bookmarks_encryption_mode: Some(
                        security_configuration::JobBookmarksEncryptionMode::CseKms.into(),
                    ),
                    kms_key_arn: Some(key_arn.into()),
                }
                .into(),
            ),
        };
        let resource = app.add(
            node,
            "Resource",
            CfnSecurityConfiguration::new(config, name.as_str()),
        )?;
        // CloudWatch Logs uses the key for the `/aws-glue/` log groups; its principal is
        // regional (`logs.<region>.amazonaws.com`), so the statement is written directly.
        let mut statement = PolicyStatement::allow()
            .actions([
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ])
            .resource("*")
            .condition(
                "ArnLike",
                "kms:EncryptionContext:aws:logs:arn",
                format_arn("logs", "log-group:/aws-glue/*"),
            )
            .to_value();
        if let Some(m) = statement.as_map_mut() {
            let principal = Value::map([("Service", Value::sub("logs.${AWS::Region}.amazonaws.com"))]);
            let mut ordered = IndexMap::new();
            for (k, v) in std::mem::take(m) {
                if k == "Action" {
                    ordered.insert("Principal".to_string(), principal.clone());
                }
                ordered.insert(k, v);
            }
            *m = ordered;
        }
        if let Some(k) = app
            .node_mut(props.key.resource().node())
            .resource_mut::<cairn_cfn::kms::CfnKey>()
        {
            if let Some(doc) = k.key_policy.as_mut() {
                push_statement(doc, statement);
            }
        }
        Ok(SecurityConfiguration {
            node,
            resource,
            key: props.key,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnSecurityConfiguration> {
        self.resource
    }

    /// The configuration's name (`Ref`).
    pub fn name(&self) -> Value {
        self.resource.ref_()
    }

    /// The key.
    pub fn key(&self) -> Key {
        self.key
    }

    /// Grants what a job or crawler running with this configuration needs: the key's
    /// encrypt/decrypt actions and `logs:AssociateKmsKey` on the `/aws-glue/` log groups.
    pub fn grant_use(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        self.key.grant_encrypt_decrypt(app, grantee)?;
        grant(
            app,
            grantee,
            ["logs:AssociateKmsKey"],
            [format_arn("logs", "log-group:/aws-glue/*")],
        )
    }
}

impl From<SecurityConfiguration> for NodeId {
    fn from(s: SecurityConfiguration) -> NodeId {
        s.node
    }
}

// ------------------------------------------------------- catalog encryption ----

/// The account's Data Catalog encryption settings (`AWS::Glue::DataCatalogEncryptionSettings`):
/// metadata encrypted at rest with SSE-KMS and connection passwords encrypted, both with
/// `key`. One per account and region: create it in one stack only.
///
/// ```
/// use cairn_constructs::glue::{DataCatalogEncryption, DataCatalogEncryptionProps};
/// use cairn_constructs::kms::{Key, KeyProps};
/// # let mut app = cairn_core::App::new();
/// # let stack = app.stack("S").unwrap();
/// let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
/// let enc = DataCatalogEncryption::new(&mut app, stack, "CatalogEncryption",
///     DataCatalogEncryptionProps::new(key)).unwrap();
/// # let _ = enc;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DataCatalogEncryption {
    node: NodeId,
    resource: Res<CfnDataCatalogEncryptionSettings>,
    key: Key,
}

/// Settings of a [`DataCatalogEncryption`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataCatalogEncryptionProps {
    /// The key of the catalog's metadata and connection passwords.
    pub key: Key,
}

impl DataCatalogEncryptionProps {
    /// Encryption with `key`.
    pub fn new(key: Key) -> Self {
        DataCatalogEncryptionProps { key }
    }
}

impl DataCatalogEncryption {
    /// Creates the settings as construct `id` under `scope`.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: DataCatalogEncryptionProps,
    ) -> Result<DataCatalogEncryption> {
        let node = app.construct(scope, id)?;
        let key = props.key;
        let settings = data_catalog_encryption_settings::DataCatalogEncryptionSettings {
            encryption_at_rest: Some(
                data_catalog_encryption_settings::EncryptionAtRest {
                    catalog_encryption_mode: Some(
                        data_catalog_encryption_settings::CatalogEncryptionMode::SseKms.into(),
                    ),
                    sse_aws_kms_key_id: Some(key.key_arn().into()),
                    ..Default::default()
                }
                .into(),
            ),
            connection_password_encryption: Some(
                data_catalog_encryption_settings::ConnectionPasswordEncryption {
                    kms_key_id: Some(key.key_arn().into()),
                    return_connection_password_encrypted: Some(true.into()),
                }
                .into(),
            ),
        };
        let resource = app.add(
            node,
            "Resource",
            CfnDataCatalogEncryptionSettings::new(Value::pseudo(Pseudo::AccountId), settings),
        )?;
        Ok(DataCatalogEncryption { node, resource, key })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnDataCatalogEncryptionSettings> {
        self.resource
    }

    /// Grants reading the encrypted catalog (`kms:Decrypt`, `kms:DescribeKey` on the key)
    /// and, with `write`, changing it (`kms:Encrypt`, `kms:GenerateDataKey*` too).
    pub fn grant_key(&self, app: &mut App, grantee: &impl Grantable, write: bool) -> Result<()> {
        if write {
            self.key.grant(
                app,
                grantee,
                [
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:Encrypt",
                    "kms:GenerateDataKey*",
                ],
            )
        } else {
            self.key.grant(app, grantee, ["kms:Decrypt", "kms:DescribeKey"])
        }
    }
}

// --------------------------------------------------------------- connection ----

/// A `NETWORK` Glue connection (`AWS::Glue::Connection`): jobs that use it run their
/// workers in one subnet of a VPC, behind a security group that lets the workers talk to
/// each other (all TCP from itself, as Glue requires). Without NAT the VPC needs
/// endpoints for S3, Glue, KMS and Logs ([`Vpc::add_gateway_endpoint`],
/// [`Vpc::add_interface_endpoint`]).
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    node: NodeId,
    resource: Res<CfnConnection>,
    security_group: SecurityGroup,
}

impl Connection {
    /// Creates the connection in `subnet` of `vpc` as construct `id` under `scope`, with
    /// its security group as child `SecurityGroup`.
    pub fn network(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        vpc: &Vpc,
        subnet: &Subnet,
    ) -> Result<Connection> {
        let node = app.construct(scope, id)?;
        let sg = SecurityGroup::new(
            app,
            node,
            "SecurityGroup",
            SecurityGroupProps::new(vpc, "Glue workers of a network connection"),
        )?;
        sg.add_ingress_rule(
            app,
            Peer::security_group(&sg),
            Port::all_tcp(),
            "Glue workers talk to each other",
        )?;
        let name = unique_name(app, node);
        let input = connection::ConnectionInput {
            name: Some(name.as_str().into()),
            description: Some("Glue jobs run in the VPC".into()),
            physical_connection_requirements: Some(
                connection::PhysicalConnectionRequirements {
                    availability_zone: Some(subnet.availability_zone.clone().into()),
                    subnet_id: Some(subnet.subnet_id().into()),
                    security_group_id_list: Some(vec![sg.security_group_id().into()].into()),
                }
                .into(),
            ),
            ..connection::ConnectionInput::new(connection::ConnectionType::Network)
        };
        let resource = app.add(
            node,
            "Resource",
            CfnConnection::new(Value::pseudo(Pseudo::AccountId), input),
        )?;
        Ok(Connection {
            node,
            resource,
            security_group: sg,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnConnection> {
        self.resource
    }

    /// The connection's name (`Ref`).
    pub fn connection_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The workers' security group.
    pub fn security_group(&self) -> SecurityGroup {
        self.security_group
    }
}

// ---------------------------------------------------------------------- job ----

/// Where a job's script is.
#[derive(Debug, Clone, PartialEq)]
pub enum JobScript {
    /// A local `.py` file, uploaded as a file asset (the job's role may read that object).
    Asset(PathBuf),
    /// An object of a bucket of the app (the job's role may read it, and decrypt it).
    Bucket {
        /// The bucket.
        bucket: Bucket,
        /// The object key.
        key: String,
    },
}

impl JobScript {
    /// A local script file.
    pub fn from_asset(path: impl Into<PathBuf>) -> Self {
        JobScript::Asset(path.into())
    }

    /// An object in a bucket of the app.
    pub fn s3(bucket: &Bucket, key: &str) -> Self {
        JobScript::Bucket {
            bucket: *bucket,
            key: key.to_string(),
        }
    }
}

/// Glue worker types (`WorkerType`).
pub use cairn_cfn::glue::job::WorkerType;

/// Settings of a Spark ETL [`Job`]. Start from [`JobProps::new`].
#[derive(Debug, Clone)]
pub struct JobProps {
    /// The PySpark script.
    pub script: JobScript,
    /// A physical name; derived by CloudFormation when `None`.
    pub job_name: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// The Glue version (default `5.0`: Spark 3.5, Python 3.11).
    pub glue_version: String,
    /// The worker type (default `G.1X`).
    pub worker_type: WorkerType,
    /// Workers (default 2, the least Glue allows for Spark jobs).
    pub number_of_workers: i64,
    /// Minutes before a run is stopped (default 60; Glue's own default is 48 hours).
    pub timeout_minutes: i64,
    /// Retries of a failed run (default 0: the orchestration decides).
    pub max_retries: i64,
    /// Concurrent runs (default 1).
    pub max_concurrent_runs: i64,
    /// The security configuration; the recommended rules want one. Its key and log
    /// permissions are granted to the role.
    pub security_configuration: Option<SecurityConfiguration>,
    /// Network connections the job runs in.
    pub connections: Vec<Connection>,
    /// Extra `DefaultArguments` (`--name` -> value); they override the defaults below.
    pub default_arguments: IndexMap<String, Value>,
    /// Job bookmarks (`--job-bookmark-option`, default off: each run names its input).
    pub job_bookmarks: bool,
    /// Continuous CloudWatch logging and Spark metrics (default on).
    pub continuous_logging: bool,
    /// The role; by default one is created, assumed by `glue.amazonaws.com` with
    /// [`SERVICE_ROLE_POLICY`].
    pub role: Option<Role>,
}

impl JobProps {
    /// A Spark ETL job of `script` with the defaults above.
    pub fn new(script: JobScript) -> Self {
        JobProps {
            script,
            job_name: None,
            description: None,
            glue_version: "5.0".into(),
            worker_type: WorkerType::G1X,
            number_of_workers: 2,
            timeout_minutes: 60,
            max_retries: 0,
            max_concurrent_runs: 1,
            security_configuration: None,
            connections: Vec::new(),
            default_arguments: IndexMap::new(),
            job_bookmarks: false,
            continuous_logging: true,
            role: None,
        }
    }
}

/// A Glue Spark ETL job (`AWS::Glue::Job`, command `glueetl`, Python 3) with its role.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    node: NodeId,
    resource: Res<CfnJob>,
    role: Role,
}

impl Job {
    /// Creates the job as construct `id` under `scope` (`<id>/Resource`, `<id>/ServiceRole`
    /// unless a role is given). Out-of-range workers, timeout or retries, or a missing
    /// script file, are an [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: JobProps) -> Result<Job> {
        let node = app.construct(scope, id)?;
        let mut problems = Vec::new();
        if props.number_of_workers < 2 {
            problems.push(format!(
                "number_of_workers {} must be at least 2 for a Spark job",
                props.number_of_workers
            ));
        }
        if !(1..=10_080).contains(&props.timeout_minutes) {
            problems.push(format!(
                "timeout_minutes {} must be 1 to 10080 (7 days)",
                props.timeout_minutes
            ));
        }
        if !(0..=10).contains(&props.max_retries) {
            problems.push(format!("max_retries {} must be 0 to 10", props.max_retries));
        }
        if props.max_concurrent_runs < 1 {
            problems.push(format!(
                "max_concurrent_runs {} must be at least 1",
                props.max_concurrent_runs
            ));
        }
        for k in props.default_arguments.keys() {
            if !k.starts_with("--") {
                problems.push(format!("default argument {k:?} must start with --"));
            }
        }
        crate::check_props(app, node, problems)?;
        let role = match props.role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "ServiceRole",
                RoleProps {
                    managed_policies: vec![Role::aws_managed_policy(SERVICE_ROLE_POLICY)],
                    ..RoleProps::new(Principal::service("glue.amazonaws.com"))
                },
            )?,
        };
        let script_location = match &props.script {
            JobScript::Asset(path) => {
                let loc = app.add_file_asset(
                    node,
                    FileAsset {
                        source: AssetSource::File(path.clone()),
                        asset_hash: None,
                    },
                )?;
                let object_arn = Arn::new(
                    "s3",
                    Value::join("", [loc.bucket.clone(), Value::from("/"), loc.key.clone()]),
                )
                .no_region()
                .no_account()
                .format();
                grant(app, &role, ["s3:GetObject"], [object_arn])?;
                Value::join("", [Value::from("s3://"), loc.bucket, Value::from("/"), loc.key])
            }
            JobScript::Bucket { bucket, key } => {
                grant(app, &role, ["s3:GetObject"], [bucket.arn_for_objects(key)])?;
                if let Some(k) = bucket.encryption_key() {
                    k.grant_decrypt(app, &role)?;
                }
                Value::join(
                    "",
                    [
                        Value::from("s3://"),
                        bucket.bucket_name(),
                        Value::from(format!("/{key}")),
                    ],
                )
            }
        };
        let command = job::JobCommand {
            name: Some("glueetl".into()),
            python_version: Some("3".into()),
            script_location: Some(script_location.into()),
            ..Default::default()
        };
        let mut args: IndexMap<String, Value> = IndexMap::new();
        args.insert("--job-language".into(), "python".into());
        args.insert(
            "--job-bookmark-option".into(),
            if props.job_bookmarks {
                "job-bookmark-enable"
            } else {
                "job-bookmark-disable"
            }
            .into(),
        );
        if props.continuous_logging {
            args.insert("--enable-continuous-cloudwatch-log".into(), "true".into());
            args.insert("--enable-metrics".into(), "true".into());
        }
        for (k, v) in &props.default_arguments {
            args.insert(k.clone(), v.clone());
        }
        let mut j = CfnJob::new(command, role.arn());
        j.name = props.job_name.as_deref().map(Into::into);
        j.description = props.description.as_deref().map(Into::into);
        j.glue_version = Some(props.glue_version.as_str().into());
        j.worker_type = Some(props.worker_type.clone().into());
        j.number_of_workers = Some(props.number_of_workers.into());
        j.timeout = Some(props.timeout_minutes.into());
        j.max_retries = Some((props.max_retries as f64).into());
        j.execution_property = Some(
            job::ExecutionProperty {
                max_concurrent_runs: Some((props.max_concurrent_runs as f64).into()),
            }
            .into(),
        );
        j.default_arguments = Some(Value::Map(args));
        j.security_configuration = props.security_configuration.map(|s| s.name().into());
        if !props.connections.is_empty() {
            j.connections = Some(
                job::ConnectionsList {
                    connections: Some(
                        props
                            .connections
                            .iter()
                            .map(|c| c.connection_name().into())
                            .collect::<Vec<_>>()
                            .into(),
                    ),
                }
                .into(),
            );
        }
        // No DependsOn on the role's policy: Glue needs it only when a run starts, and
        // a dependency would make a cycle whenever the policy names a bucket whose
        // notifications lead back to something that starts the job.
        let resource = app.add(node, "Resource", j)?;
        if let Some(sc) = props.security_configuration {
            sc.grant_use(app, &role)?;
        }
        Ok(Job { node, resource, role })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnJob> {
        self.resource
    }

    /// The job's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The job name (`Ref`).
    pub fn job_name(&self) -> Value {
        self.resource.ref_()
    }

    /// `arn:...:glue:<region>:<account>:job/<name>`.
    pub fn job_arn(&self) -> Value {
        glue_arn("job", self.job_name(), "")
    }

    /// Grants starting runs of the job and reading their state.
    pub fn grant_start(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        grant(app, grantee, START_JOB_ACTIONS.iter().copied(), [self.job_arn()])
    }

    /// A Step Functions task that starts a run of this job and waits for it to finish
    /// (`arn:<partition>:states:::glue:startJobRun.sync`); the state machine's role gets
    /// `glue:StartJobRun`, `GetJobRun`, `GetJobRuns` and `BatchStopJobRun` on this job.
    /// `arguments` become the run's `Arguments` (`Params::path` entries are read from the state's input).
    ///
    /// ```
    /// use cairn_constructs::glue::{Job, JobProps, JobScript};
    /// use cairn_constructs::s3::{Bucket, BucketProps};
    /// use cairn_constructs::stepfunctions::Params;
    /// # let mut app = cairn_core::App::new();
    /// # let stack = app.stack("S").unwrap();
    /// let code = Bucket::new(&mut app, stack, "Code", BucketProps::default()).unwrap();
    /// let job = Job::new(&mut app, stack, "Job", JobProps::new(JobScript::s3(&code, "job.py"))).unwrap();
    /// let task = job.start_job_run_task("RunJob", Params::new().path("--input", "$.key"))
    ///     .result_path("$.job");
    /// # let _ = task;
    /// ```
    pub fn start_job_run_task(&self, state_name: &str, arguments: Params) -> Task {
        let arn = self.job_arn();
        let mut parameters = Params::new().set("JobName", self.job_name());
        let args = Value::from(arguments);
        if args.as_map().is_some_and(|m| !m.is_empty()) {
            parameters = parameters.set("Arguments", args);
        }
        Task::service(state_name, "glue", "startJobRun", [arn])
            .sync()
            .parameters(parameters)
    }
}

grantable_by_role!(Job);

impl From<Job> for NodeId {
    fn from(j: Job) -> NodeId {
        j.node
    }
}

// ------------------------------------------------------------------ crawler ----

/// One S3 path a [`Crawler`] crawls.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Target {
    /// The bucket (the crawler's role may read it).
    pub bucket: Bucket,
    /// The key prefix (empty for the whole bucket).
    pub prefix: String,
}

impl S3Target {
    /// Crawl `bucket` under `prefix`.
    pub fn new(bucket: &Bucket, prefix: &str) -> Self {
        S3Target {
            bucket: *bucket,
            prefix: prefix.to_string(),
        }
    }
}

/// Settings of a [`Crawler`]. Start from [`CrawlerProps::new`].
#[derive(Debug, Clone)]
pub struct CrawlerProps {
    /// The database the tables are written to.
    pub database: Database,
    /// The S3 paths.
    pub s3_targets: Vec<S3Target>,
    /// A prefix of the table names.
    pub table_prefix: Option<String>,
    /// A cron schedule, e.g. `cron(0 3 * * ? *)`; on demand when `None`.
    pub schedule: Option<String>,
    /// The security configuration (its key and log permissions are granted).
    pub security_configuration: Option<SecurityConfiguration>,
    /// Recrawl only new folders (default: on; schema changes are then logged).
    pub crawl_new_folders_only: bool,
    /// The role; by default one is created, assumed by `glue.amazonaws.com` with
    /// [`SERVICE_ROLE_POLICY`] and read access to the targets.
    pub role: Option<Role>,
}

impl CrawlerProps {
    /// A crawler writing to `database`, with the defaults above.
    pub fn new(database: Database, s3_targets: Vec<S3Target>) -> Self {
        CrawlerProps {
            database,
            s3_targets,
            table_prefix: None,
            schedule: None,
            security_configuration: None,
            crawl_new_folders_only: true,
            role: None,
        }
    }
}

/// A Glue crawler (`AWS::Glue::Crawler`) over S3 paths, with its role.
#[derive(Debug, Clone, Copy)]
pub struct Crawler {
    node: NodeId,
    resource: Res<CfnCrawler>,
    role: Role,
}

impl Crawler {
    /// Creates the crawler as construct `id` under `scope`. No target is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: CrawlerProps) -> Result<Crawler> {
        let node = app.construct(scope, id)?;
        if props.s3_targets.is_empty() {
            return Err(app.invalid_props(node, "a crawler needs at least one S3 target (s3_targets)"));
        }
        let role = match props.role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "ServiceRole",
                RoleProps {
                    managed_policies: vec![Role::aws_managed_policy(SERVICE_ROLE_POLICY)],
                    ..RoleProps::new(Principal::service("glue.amazonaws.com"))
                },
            )?,
        };
        let mut paths = Vec::new();
        for t in &props.s3_targets {
            let prefix = t.prefix.trim_start_matches('/');
            grant(
                app,
                &role,
                ["s3:GetObject"],
                [t.bucket.arn_for_objects(&format!("{prefix}*"))],
            )?;
            grant(app, &role, ["s3:ListBucket"], [t.bucket.arn()])?;
            if let Some(k) = t.bucket.encryption_key() {
                k.grant_decrypt(app, &role)?;
            }
            paths.push(Val::from(crawler::S3Target {
                path: Some(
                    Value::join(
                        "",
                        [
                            Value::from("s3://"),
                            t.bucket.bucket_name(),
                            Value::from(format!("/{prefix}")),
                        ],
                    )
                    .into(),
                ),
                ..Default::default()
            }));
        }
        let targets = crawler::Targets {
            s3_targets: Some(paths.into()),
            ..Default::default()
        };
        let mut c = CfnCrawler::new(role.arn(), targets);
        c.database_name = Some(props.database.database_name().into());
        c.table_prefix = props.table_prefix.as_deref().map(Into::into);
        c.schedule = props.schedule.as_deref().map(|s| {
            crawler::Schedule {
                schedule_expression: Some(s.into()),
            }
            .into()
        });
        c.crawler_security_configuration = props.security_configuration.map(|s| s.name().into());
        if props.crawl_new_folders_only {
            c.recrawl_policy = Some(
                crawler::RecrawlPolicy {
                    recrawl_behavior: Some(crawler::RecrawlBehavior::CrawlNewFoldersOnly.into()),
                }
                .into(),
            );
            // Glue requires LOG for both behaviors when only new folders are crawled.
            c.schema_change_policy = Some(
                crawler::SchemaChangePolicy {
                    update_behavior: Some(crawler::UpdateBehavior::Log.into()),
                    delete_behavior: Some(crawler::DeleteBehavior::Log.into()),
                }
                .into(),
            );
        }
        let resource = app.add(node, "Resource", c)?;
        if let Some(sc) = props.security_configuration {
            sc.grant_use(app, &role)?;
        }
        Ok(Crawler { node, resource, role })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnCrawler> {
        self.resource
    }

    /// The crawler's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The crawler name (`Ref`).
    pub fn crawler_name(&self) -> Value {
        self.resource.ref_()
    }

    /// `arn:...:glue:<region>:<account>:crawler/<name>`.
    pub fn crawler_arn(&self) -> Value {
        glue_arn("crawler", self.crawler_name(), "")
    }

    /// Grants starting the crawler and reading its state.
    pub fn grant_start(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        grant(
            app,
            grantee,
            START_CRAWLER_ACTIONS.iter().copied(),
            [self.crawler_arn()],
        )
    }
}

grantable_by_role!(Crawler);

impl From<Crawler> for NodeId {
    fn from(c: Crawler) -> NodeId {
        c.node
    }
}

construct!(
    Database,
    SecurityConfiguration,
    DataCatalogEncryption,
    Connection,
    Job,
    Crawler
);
node_from!(DataCatalogEncryption, Connection);
