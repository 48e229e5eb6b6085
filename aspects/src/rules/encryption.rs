//! Encryption at rest.

use cairn_core::{format_arn, App, Arn, CfnResource, NodeId, RemovalPolicy, Value};

use crate::rule::{Context, Fix, Rule, RuleInfo, Violation};

/// S3 buckets are encrypted: SSE-S3 by default, SSE-KMS when a key is given.
#[derive(Debug, Clone, Default)]
pub struct S3Encryption {
    /// The KMS key (ARN, alias or reference) to use when fixing; SSE-S3 when `None`.
    pub kms_key: Option<Value>,
}

impl Rule for S3Encryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_19"],
            cfn_nag: &["W41"],
            ..RuleInfo::new(
                "CAIRN-S3-ENCRYPTION",
                "S3 buckets encrypt objects at rest (SSE-S3, or SSE-KMS with a given key)",
                &["AWS::S3::Bucket"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let has = cx
            .get("BucketEncryption.ServerSideEncryptionConfiguration")
            .is_some_and(|v| !matches!(v, Value::List(l) if l.is_empty()));
        if has {
            return vec![];
        }
        let by_default = match &self.kms_key {
            Some(key) => Value::map([
                ("SSEAlgorithm", Value::from("aws:kms")),
                ("KMSMasterKeyID", key.clone()),
            ]),
            None => Value::map([("SSEAlgorithm", Value::from("AES256"))]),
        };
        let mut rule = vec![("ServerSideEncryptionByDefault", by_default)];
        if self.kms_key.is_some() {
            rule.push(("BucketKeyEnabled", Value::from(true)));
        }
        let what = if self.kms_key.is_some() {
            "SSE-KMS"
        } else {
            "SSE-S3 (AES256)"
        };
        vec![Violation::fixable(
            "the bucket has no default encryption",
            Fix::set(
                format!("enabled {what} default encryption"),
                "BucketEncryption",
                Value::map([(
                    "ServerSideEncryptionConfiguration",
                    Value::list([Value::map(rule)]),
                )]),
            ),
        )]
    }
}

/// SQS queues are encrypted with a KMS key (`alias/aws/sqs` unless one is given).
#[derive(Debug, Clone, Default)]
pub struct SqsEncryption {
    /// The key used when fixing; the AWS managed `alias/aws/sqs` when `None`.
    pub kms_key: Option<Value>,
}

impl Rule for SqsEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_27"],
            cfn_nag: &["W48"],
            ..RuleInfo::new(
                "CAIRN-SQS-ENCRYPTION",
                "SQS queues encrypt messages at rest with a KMS key",
                &["AWS::SQS::Queue"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.get("KmsMasterKeyId").is_some() {
            return vec![];
        }
        let key = self
            .kms_key
            .clone()
            .unwrap_or_else(|| Value::from("alias/aws/sqs"));
        let fix = Fix::new("set KmsMasterKeyId", move |app, node| {
            app.add_property_deletion_override(node, "SqsManagedSseEnabled")?;
            app.add_property_override(node, "KmsMasterKeyId", key)
        });
        vec![Violation::fixable(
            "the queue is not encrypted with a KMS key",
            fix,
        )]
    }
}

/// SNS topics are encrypted with a KMS key.
#[derive(Debug, Clone, Default)]
pub struct SnsEncryption {
    /// The key used when fixing; `alias/aws/sns` when `None`.
    pub kms_key: Option<Value>,
}

impl Rule for SnsEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_26"],
            cfn_nag: &["W47"],
            ..RuleInfo::new(
                "CAIRN-SNS-ENCRYPTION",
                "SNS topics encrypt messages at rest with a KMS key",
                &["AWS::SNS::Topic"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.get("KmsMasterKeyId").is_some() {
            return vec![];
        }
        let key = self
            .kms_key
            .clone()
            .unwrap_or_else(|| Value::from("alias/aws/sns"));
        vec![Violation::fixable(
            "the topic is not encrypted",
            Fix::set("set KmsMasterKeyId", "KmsMasterKeyId", key),
        )]
    }
}

/// DynamoDB tables use KMS encryption (an AWS managed key by default, or a given key).
#[derive(Debug, Clone, Default)]
pub struct DynamoDbEncryption {
    /// The key used when fixing; the AWS managed key when `None`.
    pub kms_key: Option<Value>,
}

impl Rule for DynamoDbEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_119"],
            cfn_nag: &["W74"],
            ..RuleInfo::new(
                "CAIRN-DYNAMODB-ENCRYPTION",
                "DynamoDB tables are encrypted with KMS",
                &["AWS::DynamoDB::Table"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.is_true("SSESpecification.SSEEnabled") && cx.get("SSESpecification.KMSMasterKeyId").is_some() {
            return vec![];
        }
        let key = self
            .kms_key
            .clone()
            .unwrap_or_else(|| Value::from("alias/aws/dynamodb"));
        let spec = vec![
            ("SSEEnabled", Value::from(true)),
            ("SSEType", Value::from("KMS")),
            ("KMSMasterKeyId", key),
        ];
        vec![Violation::fixable(
            "the table does not use KMS encryption",
            Fix::set("enabled KMS encryption", "SSESpecification", Value::map(spec)),
        )]
    }
}

/// RDS instances and Aurora clusters encrypt their storage.
#[derive(Debug, Clone, Copy, Default)]
pub struct RdsEncryption;

impl Rule for RdsEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_16", "CKV_AWS_96"],
            cfn_nag: &["F26", "F27"],
            ..RuleInfo::new(
                "CAIRN-RDS-ENCRYPTION",
                "RDS instances and Aurora clusters encrypt their storage",
                &["AWS::RDS::DBInstance", "AWS::RDS::DBCluster"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        // An instance of an Aurora cluster inherits the cluster's encryption.
        if cx.get("DBClusterIdentifier").is_some() || cx.is_true("StorageEncrypted") {
            return vec![];
        }
        // Restored from a snapshot: encryption follows the snapshot.
        if cx.get("DBSnapshotIdentifier").is_some() || cx.get("SnapshotIdentifier").is_some() {
            return vec![];
        }
        vec![Violation::fixable(
            "storage is not encrypted",
            Fix::set("set StorageEncrypted", "StorageEncrypted", Value::from(true)),
        )]
    }
}

/// EBS volumes, and the volumes of instances and launch templates, are encrypted.
#[derive(Debug, Clone, Copy, Default)]
pub struct EbsEncryption;

impl Rule for EbsEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_3", "CKV_AWS_8"],
            cfn_nag: &["F1"],
            ..RuleInfo::new(
                "CAIRN-EBS-ENCRYPTION",
                "EBS volumes are encrypted (standalone, on instances, in launch templates and configurations)",
                &[
                    "AWS::EC2::Volume",
                    "AWS::EC2::LaunchTemplate",
                    "AWS::EC2::Instance",
                    "AWS::AutoScaling::LaunchConfiguration",
                ],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let mappings_path = match cx.resource_type {
            "AWS::EC2::Volume" => {
                if cx.is_true("Encrypted") {
                    return vec![];
                }
                return vec![Violation::fixable(
                    "the volume is not encrypted",
                    Fix::set("set Encrypted", "Encrypted", Value::from(true)),
                )];
            }
            "AWS::EC2::LaunchTemplate" => "LaunchTemplateData.BlockDeviceMappings",
            _ => "BlockDeviceMappings",
        };
        let Some(Value::List(mappings)) = cx.get(mappings_path) else {
            return vec![];
        };
        let mut fixed = mappings.clone();
        let mut bad = Vec::new();
        for (i, m) in fixed.iter_mut().enumerate() {
            let Some(ebs) = m
                .as_map_mut()
                .and_then(|m| m.get_mut("Ebs"))
                .and_then(Value::as_map_mut)
            else {
                continue;
            };
            if !matches!(ebs.get("Encrypted"), Some(Value::Bool(true))) {
                ebs.insert("Encrypted".into(), Value::from(true));
                bad.push(i);
            }
        }
        if bad.is_empty() {
            return vec![];
        }
        vec![Violation::fixable(
            format!("block device mapping(s) {bad:?} are not encrypted"),
            Fix::set(
                "encrypted the block device mappings",
                mappings_path,
                Value::List(fixed),
            ),
        )]
    }
}

/// EFS file systems are encrypted.
#[derive(Debug, Clone, Copy, Default)]
pub struct EfsEncryption;

impl Rule for EfsEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_42"],
            cfn_nag: &["F32"],
            ..RuleInfo::new(
                "CAIRN-EFS-ENCRYPTION",
                "EFS file systems are encrypted",
                &["AWS::EFS::FileSystem"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.is_true("Encrypted") {
            return vec![];
        }
        vec![Violation::fixable(
            "the file system is not encrypted",
            Fix::set("set Encrypted", "Encrypted", Value::from(true)),
        )]
    }
}

/// Kinesis data streams are encrypted with KMS.
#[derive(Debug, Clone, Copy, Default)]
pub struct KinesisEncryption;

impl Rule for KinesisEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_43"],
            cfn_nag: &["W49"],
            ..RuleInfo::new(
                "CAIRN-KINESIS-ENCRYPTION",
                "Kinesis data streams are encrypted with KMS",
                &["AWS::Kinesis::Stream"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.get("StreamEncryption").is_some() {
            return vec![];
        }
        vec![Violation::fixable(
            "the stream is not encrypted",
            Fix::set(
                "enabled KMS encryption with alias/aws/kinesis",
                "StreamEncryption",
                Value::map([
                    ("EncryptionType", Value::from("KMS")),
                    ("KeyId", Value::from("alias/aws/kinesis")),
                ]),
            ),
        )]
    }
}

/// ECR repositories encrypt images with KMS.
#[derive(Debug, Clone, Copy, Default)]
pub struct EcrEncryption;

impl Rule for EcrEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_136"],
            ..RuleInfo::new(
                "CAIRN-ECR-ENCRYPTION",
                "ECR repositories encrypt images with KMS",
                &["AWS::ECR::Repository"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if matches!(cx.get("EncryptionConfiguration.EncryptionType"), Some(Value::String(s)) if s.starts_with("KMS"))
        {
            return vec![];
        }
        vec![Violation::fixable(
            "the repository does not use KMS encryption",
            Fix::set(
                "enabled KMS encryption",
                "EncryptionConfiguration",
                Value::map([("EncryptionType", Value::from("KMS"))]),
            ),
        )]
    }
}

/// CloudWatch log groups are encrypted with a KMS key: the configured one, or else one
/// key per stack created for log groups (rotation on, retained, usable only by
/// CloudWatch Logs in the stack's account and region).
#[derive(Debug, Clone, Default)]
pub struct LogGroupEncryption {
    /// The key log groups must use; a per-stack key is created when `None`.
    pub kms_key: Option<Value>,
}

/// The id of the per-stack key created for log groups.
pub const LOG_GROUP_KEY_ID: &str = "LogGroupEncryptionKey";

fn log_group_key(app: &mut App, node: NodeId) -> cairn_core::Result<Value> {
    let Some(stack) = app.stack_of(node) else {
        return Ok(Value::Null);
    };
    if let Some(existing) = app.node(stack.node()).child(LOG_GROUP_KEY_ID) {
        return Ok(Value::get_att(existing, "Arn"));
    }
    let root = Arn::new("iam", "root").no_region().format();
    let policy = Value::map([
        ("Version", Value::from("2012-10-17")),
        (
            "Statement",
            Value::list([
                Value::map([
                    ("Sid", Value::from("AccountAdministers")),
                    ("Effect", Value::from("Allow")),
                    ("Principal", Value::map([("AWS", root)])),
                    ("Action", Value::from("kms:*")),
                    ("Resource", Value::from("*")),
                ]),
                Value::map([
                    ("Sid", Value::from("CloudWatchLogsUse")),
                    ("Effect", Value::from("Allow")),
                    (
                        "Principal",
                        Value::map([("Service", Value::sub("logs.${AWS::Region}.amazonaws.com"))]),
                    ),
                    (
                        "Action",
                        Value::list(
                            [
                                "kms:Encrypt*",
                                "kms:Decrypt*",
                                "kms:ReEncrypt*",
                                "kms:GenerateDataKey*",
                                "kms:Describe*",
                            ]
                            .map(Value::from),
                        ),
                    ),
                    ("Resource", Value::from("*")),
                    (
                        "Condition",
                        Value::map([(
                            "ArnLike",
                            Value::map([("kms:EncryptionContext:aws:logs:arn", format_arn("logs", "*"))]),
                        )]),
                    ),
                ]),
            ]),
        ),
    ]);
    let key = CfnResource::new("AWS::KMS::Key")
        .with("Description", "Encrypts the CloudWatch log groups of this stack")
        .with("EnableKeyRotation", true)
        .with("KeyPolicy", policy);
    let key = app.add_boxed(stack, LOG_GROUP_KEY_ID, Box::new(key))?;
    let o = app.resource_options_mut(key)?;
    o.deletion_policy = Some(RemovalPolicy::Retain);
    o.update_replace_policy = Some(RemovalPolicy::Retain);
    Ok(Value::get_att(key, "Arn"))
}

impl Rule for LogGroupEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_158"],
            cfn_nag: &["W84"],
            ..RuleInfo::new(
                "CAIRN-LOGS-ENCRYPTION",
                "Log groups are encrypted with a KMS key (the configured one, or a per-stack key)",
                &["AWS::Logs::LogGroup"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.get("KmsKeyId").is_some() {
            return vec![];
        }
        let configured = self.kms_key.clone();
        let what = if configured.is_some() {
            "set KmsKeyId to the configured key"
        } else {
            "set KmsKeyId to the stack's log group key"
        };
        vec![Violation::fixable(
            "the log group is not encrypted with a KMS key",
            Fix::new(what, move |app, node| {
                let key = match configured {
                    Some(k) => k,
                    None => log_group_key(app, node)?,
                };
                app.add_property_override(node, "KmsKeyId", key)
            }),
        )]
    }
}

/// EKS clusters encrypt Kubernetes secrets with KMS.
#[derive(Debug, Clone, Default)]
pub struct EksSecretsEncryption {
    /// The key used when fixing; without one the rule can only report.
    pub kms_key: Option<Value>,
}

impl Rule for EksSecretsEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_58"],
            ..RuleInfo::new(
                "CAIRN-EKS-SECRETS-ENCRYPTION",
                "EKS clusters encrypt Kubernetes secrets with a KMS key",
                &["AWS::EKS::Cluster"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let covers_secrets = match cx.get("EncryptionConfig") {
            Some(Value::List(configs)) => configs.iter().any(|c| {
                matches!(c.as_map().and_then(|m| m.get("Resources")), Some(Value::List(r)) if r.iter().any(|x| x.as_str() == Some("secrets")))
            }),
            _ => false,
        };
        if covers_secrets {
            return vec![];
        }
        let message = "Kubernetes secrets are not encrypted with a KMS key";
        match &self.kms_key {
            Some(key) => vec![Violation::fixable(
                message,
                Fix::set(
                    "added secrets encryption",
                    "EncryptionConfig",
                    Value::list([Value::map([
                        ("Provider", Value::map([("KeyArn", key.clone())])),
                        ("Resources", Value::list([Value::from("secrets")])),
                    ])]),
                ),
            )],
            None => vec![Violation::new(format!(
                "{message}; set EncryptionConfig with a key"
            ))],
        }
    }
}

/// The Glue Data Catalog is encrypted with KMS.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlueCatalogEncryption;

impl Rule for GlueCatalogEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_94"],
            ..RuleInfo::new(
                "CAIRN-GLUE-CATALOG-ENCRYPTION",
                "The Glue Data Catalog encrypts metadata and connection passwords",
                &["AWS::Glue::DataCatalogEncryptionSettings"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let base = "DataCatalogEncryptionSettings";
        let at_rest = matches!(
            cx.get(&format!("{base}.EncryptionAtRest.CatalogEncryptionMode")),
            Some(Value::String(m)) if m != "DISABLED"
        );
        let passwords = cx.is_true(&format!(
            "{base}.ConnectionPasswordEncryption.ReturnConnectionPasswordEncrypted"
        ));
        let mut out = Vec::new();
        if !at_rest {
            out.push(Violation::new(
                "the catalog is not encrypted at rest; set EncryptionAtRest.CatalogEncryptionMode to SSE-KMS",
            ));
        }
        if !passwords {
            out.push(Violation::new(
                "connection passwords are returned unencrypted; set ConnectionPasswordEncryption.ReturnConnectionPasswordEncrypted",
            ));
        }
        out
    }
}
