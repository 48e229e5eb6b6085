//! Encryption at rest.

use cairn_core::Value;

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

/// SQS queues are encrypted (SSE-SQS, or a KMS key).
#[derive(Debug, Clone, Copy, Default)]
pub struct SqsEncryption;

impl Rule for SqsEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_27"],
            cfn_nag: &["W48"],
            ..RuleInfo::new(
                "CAIRN-SQS-ENCRYPTION",
                "SQS queues encrypt messages at rest (SSE-SQS or a KMS key)",
                &["AWS::SQS::Queue"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.get("KmsMasterKeyId").is_some() || cx.is_true("SqsManagedSseEnabled") {
            return vec![];
        }
        vec![Violation::fixable(
            "the queue is not encrypted",
            Fix::set("enabled SSE-SQS", "SqsManagedSseEnabled", Value::from(true)),
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
        if cx.is_true("SSESpecification.SSEEnabled") {
            return vec![];
        }
        let mut spec = vec![("SSEEnabled", Value::from(true)), ("SSEType", Value::from("KMS"))];
        if let Some(k) = &self.kms_key {
            spec.push(("KMSMasterKeyId", k.clone()));
        }
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
                "EBS volumes are encrypted (standalone, on instances, in launch templates)",
                &[
                    "AWS::EC2::Volume",
                    "AWS::EC2::LaunchTemplate",
                    "AWS::EC2::Instance",
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

/// CloudWatch log groups are encrypted with the configured KMS key (only checked when a
/// key is configured: log groups are always encrypted by CloudWatch itself).
#[derive(Debug, Clone, Default)]
pub struct LogGroupEncryption {
    /// The key log groups must use.
    pub kms_key: Option<Value>,
}

impl Rule for LogGroupEncryption {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_158"],
            cfn_nag: &["W84"],
            ..RuleInfo::new(
                "CAIRN-LOGS-ENCRYPTION",
                "Log groups use the organisation's KMS key when one is configured",
                &["AWS::Logs::LogGroup"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let Some(key) = &self.kms_key else { return vec![] };
        if cx.get("KmsKeyId").is_some() {
            return vec![];
        }
        vec![Violation::fixable(
            "the log group does not use the configured KMS key",
            Fix::set("set KmsKeyId", "KmsKeyId", key.clone()),
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
