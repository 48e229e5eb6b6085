//! RDS: Aurora MySQL clusters that are encrypted, deletion-protected, snapshotted on
//! removal, private, and log to CloudWatch by default.
//!
//! ```
//! use cairn_constructs::ec2::{Port, SecurityGroup, SecurityGroupProps, Vpc, VpcProps};
//! use cairn_constructs::rds::{DatabaseCluster, DatabaseClusterProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Data")?;
//! let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
//! let db = DatabaseCluster::new(&mut app, stack, "Db", DatabaseClusterProps::new(&vpc))?;
//! let api = SecurityGroup::new(&mut app, stack, "Api", SecurityGroupProps::new(&vpc, "api"))?;
//! db.allow_from(&mut app, &api)?;                      // 3306 from the api group
//! let asm = app.synth()?;
//! let s = asm.stack("Data").unwrap();
//! let id = s.resources_of_type("AWS::RDS::DBCluster")[0];
//! assert_eq!(s.template["Resources"][id]["Properties"]["StorageEncrypted"], true);
//! assert_eq!(s.template["Resources"][id]["DeletionPolicy"], "Snapshot");
//! # Ok(())
//! # }
//! ```

use cairn_core::{App, NodeId, RemovalPolicy, Res, Result, Val, Value};

use crate::ec2::{Peer, Port, SecurityGroup, SecurityGroupProps, SubnetType, Vpc};
use crate::secretsmanager::{Secret, SecretProps, SecretStringGenerator};

pub use cairn_cfn::rds::*;

/// The master user's credentials.
#[derive(Debug, Clone, PartialEq)]
pub enum Credentials {
    /// A Secrets Manager secret generated in the stack (`<Cluster>/Secret`, JSON
    /// `{"username", "password"}`, attached to the cluster so it gains host and port), as
    /// the CDK's `Credentials.fromGeneratedSecret`. The default, with user `admin`.
    GeneratedSecret {
        /// The master user name.
        username: String,
    },
    /// RDS manages the password in Secrets Manager (`ManageMasterUserPassword`), rotating it;
    /// optionally encrypted with a KMS key ARN.
    Managed {
        /// The master user name.
        username: String,
        /// The key of the managed secret.
        kms_key: Option<Value>,
    },
    /// An existing secret of this app with `username` and `password` fields.
    FromSecret(Secret),
}

/// A CloudWatch Logs export of Aurora MySQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogExport {
    /// The audit log (`server_audit_logging` is switched on in the parameter group).
    Audit,
    /// The error log.
    Error,
    /// The general query log (`general_log`).
    General,
    /// The slow query log (`slow_query_log`).
    SlowQuery,
}

impl LogExport {
    /// The `EnableCloudwatchLogsExports` name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogExport::Audit => "audit",
            LogExport::Error => "error",
            LogExport::General => "general",
            LogExport::SlowQuery => "slowquery",
        }
    }
}

/// Settings of a [`DatabaseCluster`].
#[derive(Debug, Clone)]
pub struct DatabaseClusterProps {
    /// The VPC.
    pub vpc: Vpc,
    /// The subnets (default: isolated ones when the VPC has them, else private-with-egress).
    pub subnet_type: Option<SubnetType>,
    /// The Aurora MySQL version, e.g. `8.0.mysql_aurora.3.08.0`.
    pub engine_version: String,
    /// The instance class of the writer and the readers, e.g. `db.r6g.large`.
    pub instance_class: String,
    /// How many readers besides the writer (default 1).
    pub readers: u32,
    /// The master credentials.
    pub credentials: Credentials,
    /// A database created at launch.
    pub default_database_name: Option<String>,
    /// The port (default 3306).
    pub port: u16,
    /// KMS key ARN for storage encryption; the AWS managed `aws/rds` key when `None`.
    pub storage_kms_key: Option<Value>,
    /// Encrypt the storage (default true). `StorageEncrypted` is create-only: a cluster
    /// ported from the CDK without `storageEncrypted` is unencrypted, and keeping it so
    /// (`false`) avoids its replacement. `false` with a `storage_kms_key` is refused.
    pub storage_encrypted: bool,
    /// The instances' construct ids, the writer first: `Instance1`, `Instance2` ... (as
    /// aws-cdk-lib names them) when empty. Given, it must name `readers + 1` instances.
    pub instance_ids: Vec<String>,
    /// Deletion protection (default true).
    pub deletion_protection: bool,
    /// Days of automated backups (default 7).
    pub backup_retention_days: i64,
    /// Logs exported to CloudWatch (default: all four).
    pub log_exports: Vec<LogExport>,
    /// Extra cluster parameters (the log exports add the ones they need).
    pub parameters: Vec<(String, String)>,
    /// Security groups; one is created when empty.
    pub security_groups: Vec<SecurityGroup>,
    /// What happens on removal (default `Snapshot`; instances are deleted unless `Retain`).
    pub removal_policy: RemovalPolicy,
    /// IAM database authentication.
    pub iam_authentication: bool,
}

impl DatabaseClusterProps {
    /// An Aurora MySQL 3 cluster with a writer and one reader, all defaults secure.
    pub fn new(vpc: &Vpc) -> Self {
        DatabaseClusterProps {
            vpc: vpc.clone(),
            subnet_type: None,
            engine_version: "8.0.mysql_aurora.3.08.0".into(),
            instance_class: "db.r6g.large".into(),
            readers: 1,
            credentials: Credentials::GeneratedSecret {
                username: "admin".into(),
            },
            default_database_name: None,
            port: 3306,
            storage_kms_key: None,
            storage_encrypted: true,
            instance_ids: Vec::new(),
            deletion_protection: true,
            backup_retention_days: 7,
            log_exports: vec![
                LogExport::Audit,
                LogExport::Error,
                LogExport::General,
                LogExport::SlowQuery,
            ],
            parameters: Vec::new(),
            security_groups: Vec::new(),
            removal_policy: RemovalPolicy::Snapshot,
            iam_authentication: false,
        }
    }
}

/// The parameter group family of an Aurora MySQL version (`8.0.mysql_aurora.3.x` ->
/// `aurora-mysql8.0`, `5.7.mysql_aurora.2.x` -> `aurora-mysql5.7`).
fn family(version: &str) -> Option<String> {
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    match (major, minor) {
        ("8", "0") | ("5", "7") => Some(format!("aurora-mysql{major}.{minor}")),
        _ => None,
    }
}

/// An Aurora MySQL cluster (`AWS::RDS::DBCluster`) with its instances, subnet group,
/// security group, credentials and parameter group.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseCluster {
    node: NodeId,
    resource: Res<CfnDBCluster>,
    security_group: SecurityGroup,
    secret: Option<Secret>,
    port: u16,
}

impl DatabaseCluster {
    /// Creates the cluster as construct `id` under `scope`: the subnet group `Subnets`,
    /// a `SecurityGroup` unless given, the `ClusterParameterGroup` the log exports need,
    /// the credentials' `Secret`, the cluster `Resource` and its `Instance1` (writer),
    /// `Instance2` ... instances, and the secret's `Attachment`.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: DatabaseClusterProps,
    ) -> Result<DatabaseCluster> {
        let node = app.construct(scope, id)?;
        let (subnets, family) = Self::check(app, node, &props)?;
        let group_node = app.construct(node, "Subnets")?;
        let group = app.add(
            group_node,
            "Default",
            CfnDBSubnetGroup::new(format!("Subnets for {id} database"), Val::Lit(subnets)),
        )?;
        let mut groups = props.security_groups.clone();
        if groups.is_empty() {
            groups.push(SecurityGroup::new(
                app,
                node,
                "SecurityGroup",
                SecurityGroupProps::new(&props.vpc, "RDS security group"),
            )?);
        }
        let parameter_group = Self::parameter_group(app, node, &props, &family)?;
        let mut cluster = CfnDBCluster {
            engine: Some("aurora-mysql".into()),
            engine_version: Some(props.engine_version.as_str().into()),
            db_subnet_group_name: Some(group.ref_().into()),
            vpc_security_group_ids: Some(Val::Lit(
                groups.iter().map(|g| Val::from(g.security_group_id())).collect(),
            )),
            port: Some(i64::from(props.port).into()),
            // Left out when false, as aws-cdk-lib does (an unencrypted cluster's template
            // has no `StorageEncrypted`).
            storage_encrypted: props.storage_encrypted.then(|| true.into()),
            kms_key_id: props.storage_kms_key.clone().map(Into::into),
            deletion_protection: Some(props.deletion_protection.into()),
            backup_retention_period: Some(props.backup_retention_days.into()),
            copy_tags_to_snapshot: Some(true.into()),
            database_name: props.default_database_name.as_deref().map(Into::into),
            db_cluster_parameter_group_name: parameter_group.map(|p| p.ref_().into()),
            enable_iam_database_authentication: props.iam_authentication.then(|| true.into()),
            ..Default::default()
        };
        if !props.log_exports.is_empty() {
            cluster.enable_cloudwatch_logs_exports = Some(Val::Lit(
                props.log_exports.iter().map(|e| Val::from(e.as_str())).collect(),
            ));
        }
        let secret = Self::credentials(app, node, &props, &mut cluster)?;
        let resource = app.add(node, "Resource", cluster)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        // The secret gains the cluster's host and port, as aws-cdk-lib attaches it.
        // Its construct is `<Secret>/Attachment` with the L1 as `Resource`, as in the CDK.
        if let Some(s) = secret {
            let attachment = app.construct(s.node(), "Attachment")?;
            app.add(
                attachment,
                "Resource",
                cairn_cfn::secretsmanager::CfnSecretTargetAttachment::new(
                    s.secret_arn(),
                    resource.ref_(),
                    "AWS::RDS::DBCluster",
                ),
            )?;
        }
        Self::instances(app, node, &props, resource)?;
        Ok(DatabaseCluster {
            node,
            resource,
            security_group: groups[0],
            secret,
            port: props.port,
        })
    }

    /// Checks the placement and the engine version: the subnets of the subnet group and
    /// the parameter group family.
    fn check(app: &App, node: NodeId, props: &DatabaseClusterProps) -> Result<(Vec<Val<String>>, String)> {
        let invalid = |problem: String| app.invalid_props(node, problem);
        let subnet_type = props.subnet_type.unwrap_or(
            if props
                .vpc
                .subnets()
                .iter()
                .any(|s| s.subnet_type == SubnetType::PrivateIsolated)
            {
                SubnetType::PrivateIsolated
            } else {
                SubnetType::PrivateWithEgress
            },
        );
        if subnet_type == SubnetType::Public {
            return Err(invalid(
                "a database cluster in public subnets is reachable from the internet; use private subnets"
                    .into(),
            ));
        }
        let subnets: Vec<Val<String>> = props
            .vpc
            .require_subnets(app, node, subnet_type)?
            .iter()
            .map(|s| Val::from(s.subnet_id()))
            .collect();
        if subnets.len() < 2 {
            return Err(invalid(format!(
                "a DB subnet group needs subnets in at least two AZs; the VPC has {} {subnet_type} subnet(s)",
                subnets.len()
            )));
        }
        if !props.storage_encrypted && props.storage_kms_key.is_some() {
            return Err(invalid(
                "storage_kms_key is set but storage_encrypted is false; drop the key or encrypt the storage"
                    .into(),
            ));
        }
        if !props.instance_ids.is_empty() && props.instance_ids.len() != props.readers as usize + 1 {
            return Err(invalid(format!(
                "instance_ids names {} instance(s) but the cluster has {} (the writer and {} reader(s)); name each or leave it empty",
                props.instance_ids.len(),
                props.readers + 1,
                props.readers
            )));
        }
        let family = family(&props.engine_version).ok_or_else(|| {
            invalid(format!(
                "engine version {:?} is not an Aurora MySQL 5.7 or 8.0 version (like 8.0.mysql_aurora.3.08.0)",
                props.engine_version
            ))
        })?;
        Ok((subnets, family))
    }

    /// The cluster parameter group: the parameters the log exports need to produce
    /// anything, then the given ones; none when both are empty.
    fn parameter_group(
        app: &mut App,
        node: NodeId,
        props: &DatabaseClusterProps,
        family: &str,
    ) -> Result<Option<Res<CfnDBClusterParameterGroup>>> {
        let mut parameters: Vec<(String, String)> = Vec::new();
        for e in &props.log_exports {
            let needed: &[(&str, &str)] = match e {
                LogExport::Audit => &[
                    ("server_audit_logging", "1"),
                    ("server_audit_events", "CONNECT,QUERY_DCL,QUERY_DDL"),
                ],
                LogExport::General => &[("general_log", "1"), ("log_output", "FILE")],
                LogExport::SlowQuery => &[("slow_query_log", "1"), ("log_output", "FILE")],
                LogExport::Error => &[],
            };
            for (k, v) in needed {
                if !parameters.iter().any(|(pk, _)| pk == k) {
                    parameters.push((k.to_string(), v.to_string()));
                }
            }
        }
        for (k, v) in &props.parameters {
            parameters.retain(|(pk, _)| pk != k);
            parameters.push((k.clone(), v.clone()));
        }
        if parameters.is_empty() {
            return Ok(None);
        }
        let pg = app.add(
            node,
            "ClusterParameterGroup",
            CfnDBClusterParameterGroup::new(
                format!("Cluster parameter group for {family}"),
                family,
                Value::map(
                    parameters
                        .iter()
                        .map(|(k, v)| (k.as_str(), Value::from(v.as_str()))),
                ),
            ),
        )?;
        Ok(Some(pg))
    }

    /// The master user: a generated secret (`Secret`), a given one, or one RDS manages;
    /// returns the secret the cluster reads.
    fn credentials(
        app: &mut App,
        node: NodeId,
        props: &DatabaseClusterProps,
        cluster: &mut CfnDBCluster,
    ) -> Result<Option<Secret>> {
        Ok(match &props.credentials {
            Credentials::GeneratedSecret { username } => {
                let description = format!("Generated by cairn for {}", app.path(node));
                let s = Secret::new(
                    app,
                    node,
                    "Secret",
                    SecretProps {
                        description: Some(description),
                        generate_secret_string: Some(SecretStringGenerator {
                            secret_string_template: Some(
                                serde_json::json!({ "username": username }).to_string(),
                            ),
                            generate_string_key: Some("password".into()),
                            password_length: Some(30),
                            exclude_characters: Some(" %+~`#$&*()|[]{}:;<>?!'/@\"\\".into()),
                            ..SecretStringGenerator::default()
                        }),
                        removal_policy: match props.removal_policy {
                            RemovalPolicy::Delete => RemovalPolicy::Delete,
                            _ => RemovalPolicy::Retain,
                        },
                        ..SecretProps::default()
                    },
                )?;
                cluster.master_username = Some(s.secret_value_from_json("username").into());
                cluster.master_user_password = Some(s.secret_value_from_json("password").into());
                Some(s)
            }
            Credentials::FromSecret(s) => {
                cluster.master_username = Some(s.secret_value_from_json("username").into());
                cluster.master_user_password = Some(s.secret_value_from_json("password").into());
                Some(*s)
            }
            Credentials::Managed { username, kms_key } => {
                cluster.master_username = Some(username.as_str().into());
                cluster.manage_master_user_password = Some(true.into());
                if let Some(k) = kms_key {
                    cluster.master_user_secret = Some(
                        db_cluster::MasterUserSecret {
                            kms_key_id: Some(k.clone().into()),
                            ..Default::default()
                        }
                        .into(),
                    );
                }
                None
            }
        })
    }

    /// The instances (`Instance1` the writer, `Instance2` ... the readers, unless named);
    /// they go with the cluster (its snapshot holds the data), and readers come after the
    /// writer, so it is the first instance. They take the cluster's subnet group (as in
    /// aws-cdk-lib, which does not repeat it: `DBSubnetGroupName` is create-only).
    fn instances(
        app: &mut App,
        node: NodeId,
        props: &DatabaseClusterProps,
        cluster: Res<CfnDBCluster>,
    ) -> Result<()> {
        let instance_policy = if props.removal_policy == RemovalPolicy::Retain {
            RemovalPolicy::Retain
        } else {
            RemovalPolicy::Delete
        };
        let names: Vec<String> = if props.instance_ids.is_empty() {
            (1..=props.readers + 1).map(|i| format!("Instance{i}")).collect()
        } else {
            props.instance_ids.clone()
        };
        for (i, name) in names.iter().enumerate() {
            let inst = CfnDBInstance {
                engine: Some("aurora-mysql".into()),
                db_cluster_identifier: Some(cluster.ref_().into()),
                db_instance_class: Some(props.instance_class.as_str().into()),
                publicly_accessible: Some(false.into()),
                promotion_tier: Some(i64::from(i > 0).into()),
                auto_minor_version_upgrade: Some(true.into()),
                ..Default::default()
            };
            // Each instance is a construct with its L1 as `Resource` (aws-cdk-lib's
            // `ClusterInstance`), so the logical IDs are the CDK's.
            let inst_node = app.construct(node, name)?;
            let inst = app.add(inst_node, "Resource", inst)?;
            app.apply_removal_policy(inst, instance_policy)?;
            if i > 0 {
                let writer = app.node(node).child(&names[0]);
                app.resource_options_mut(inst)?.depends_on.extend(writer);
            }
        }
        Ok(())
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The `AWS::RDS::DBCluster`.
    pub fn resource(&self) -> Res<CfnDBCluster> {
        self.resource
    }

    /// The cluster identifier (`Ref`).
    pub fn cluster_identifier(&self) -> Value {
        self.resource.ref_()
    }

    /// The writer endpoint's address.
    pub fn cluster_endpoint(&self) -> Value {
        self.resource.get_att("Endpoint.Address")
    }

    /// The reader endpoint's address.
    pub fn cluster_read_endpoint(&self) -> Value {
        self.resource.get_att("ReadEndpoint.Address")
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The credentials secret, when it is a Secrets Manager secret of this app.
    pub fn secret(&self) -> Option<Secret> {
        self.secret
    }

    /// The cluster's (first) security group.
    pub fn security_group(&self) -> SecurityGroup {
        self.security_group
    }

    /// Lets `other` connect on the cluster's port.
    pub fn allow_from(&self, app: &mut App, other: &SecurityGroup) -> Result<()> {
        self.security_group
            .allow_from(app, other, Port::tcp(self.port), "Database clients")
    }

    /// Lets a CIDR block connect on the cluster's port.
    pub fn allow_from_cidr(&self, app: &mut App, cidr: &str) -> Result<()> {
        self.security_group
            .add_ingress_rule(app, Peer::ipv4(cidr), Port::tcp(self.port), "Database clients")
    }
}

impl From<DatabaseCluster> for NodeId {
    fn from(c: DatabaseCluster) -> NodeId {
        c.node
    }
}

construct!(DatabaseCluster);
