//! S3 versioning, public access and transport; RDS public access; data safety.

use cairn_core::{NodeId, RemovalPolicy, Value};
use indexmap::IndexMap;

use crate::rule::{refers_to, Context, Fix, Rule, RuleInfo, Violation};

/// S3 buckets keep object versions.
#[derive(Debug, Clone, Copy, Default)]
pub struct S3Versioning;

impl Rule for S3Versioning {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_21"],
            ..RuleInfo::new(
                "CAIRN-S3-VERSIONING",
                "S3 buckets have versioning enabled",
                &["AWS::S3::Bucket"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if matches!(cx.get("VersioningConfiguration.Status"), Some(Value::String(s)) if s == "Enabled") {
            return vec![];
        }
        vec![Violation::fixable(
            "versioning is not enabled",
            Fix::set(
                "enabled versioning",
                "VersioningConfiguration",
                Value::map([("Status", Value::from("Enabled"))]),
            ),
        )]
    }
}

const BLOCK_FLAGS: [&str; 4] = [
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
];

/// S3 buckets block public access with all four flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct S3PublicAccessBlock;

impl Rule for S3PublicAccessBlock {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"],
            ..RuleInfo::new(
                "CAIRN-S3-PUBLIC-ACCESS-BLOCK",
                "S3 buckets block public access (all four flags)",
                &["AWS::S3::Bucket"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let missing: Vec<&str> = BLOCK_FLAGS
            .iter()
            .copied()
            .filter(|f| !cx.is_true(&format!("PublicAccessBlockConfiguration.{f}")))
            .collect();
        if missing.is_empty() {
            return vec![];
        }
        vec![Violation::fixable(
            format!("public access is not blocked: {} not set", missing.join(", ")),
            Fix::set(
                "blocked all public access",
                "PublicAccessBlockConfiguration",
                Value::map(BLOCK_FLAGS.iter().map(|f| (*f, Value::from(true)))),
            ),
        )]
    }
}

/// S3 buckets have no public canned ACL.
#[derive(Debug, Clone, Copy, Default)]
pub struct S3NoPublicAcl;

impl Rule for S3NoPublicAcl {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_20", "CKV_AWS_57"],
            cfn_nag: &["W31", "F14"],
            ..RuleInfo::new(
                "CAIRN-S3-PUBLIC-ACL",
                "S3 buckets grant no public read or write through ACLs",
                &["AWS::S3::Bucket"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        match cx.get("AccessControl") {
            Some(Value::String(acl))
                if matches!(
                    acl.as_str(),
                    "PublicRead" | "PublicReadWrite" | "AuthenticatedRead"
                ) =>
            {
                let acl = acl.clone();
                vec![Violation::fixable(
                    format!("the bucket ACL {acl} makes objects public"),
                    Fix::new(format!("removed the {acl} ACL"), |app, node| {
                        app.add_property_deletion_override(node, "AccessControl")
                    }),
                )]
            }
            _ => vec![],
        }
    }
}

/// S3 bucket policies deny requests that do not use TLS.
#[derive(Debug, Clone, Copy, Default)]
pub struct S3TlsOnly;

fn is_tls_deny(statement: &Value) -> bool {
    let Some(m) = statement.as_map() else { return false };
    let deny = m.get("Effect").and_then(Value::as_str) == Some("Deny");
    let cond = m
        .get("Condition")
        .and_then(Value::as_map)
        .and_then(|c| c.get("Bool"))
        .and_then(Value::as_map)
        .and_then(|b| b.get("aws:SecureTransport"));
    deny && cond.is_some_and(|c| matches!(c, Value::Bool(false)) || c.as_str() == Some("false"))
}

fn tls_statement(bucket: NodeId) -> Value {
    let arn = Value::get_att(bucket, "Arn");
    Value::map([
        ("Sid", Value::from("DenyInsecureTransport")),
        ("Effect", Value::from("Deny")),
        ("Principal", Value::map([("AWS", Value::from("*"))])),
        ("Action", Value::from("s3:*")),
        (
            "Resource",
            Value::list([arn.clone(), Value::join("", [arn, Value::from("/*")])]),
        ),
        (
            "Condition",
            Value::map([(
                "Bool",
                Value::map([("aws:SecureTransport", Value::from("false"))]),
            )]),
        ),
    ])
}

/// The `AWS::S3::BucketPolicy` under `root` whose `Bucket` refers to `bucket`, with its
/// properties.
fn find_bucket_policy(
    cx: &Context,
    root: NodeId,
    bucket: NodeId,
) -> Option<(NodeId, IndexMap<String, Value>)> {
    for n in cx.app.descendants(root) {
        let node = cx.app.node(n);
        if node.resource_type() != Some("AWS::S3::BucketPolicy") {
            continue;
        }
        if let Some(props) = cx.app.final_properties(n) {
            if props.get("Bucket").is_some_and(|b| refers_to(b, bucket)) {
                return Some((n, props));
            }
        }
    }
    None
}

impl Rule for S3TlsOnly {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &[],
            ..RuleInfo::new(
                "CAIRN-S3-TLS-ONLY",
                "S3 bucket policies deny requests without TLS (aws:SecureTransport false)",
                &["AWS::S3::Bucket"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let bucket = cx.node;
        let Some(stack) = cx.app.stack_of(bucket) else {
            return vec![];
        };
        // The bucket policy is usually beside the bucket (an L2 keeps it in its own
        // subtree): look there first, then in the whole stack.
        let near = cx.app.node(bucket).parent().unwrap_or(stack.node());
        let policy =
            find_bucket_policy(cx, near, bucket).or_else(|| find_bucket_policy(cx, stack.node(), bucket));
        match policy {
            Some((policy_node, props)) => {
                let doc = props.get("PolicyDocument").and_then(Value::as_map);
                let statements: &[Value] = match doc.and_then(|d| d.get("Statement")) {
                    Some(Value::List(l)) => l,
                    Some(one @ Value::Map(_)) => std::slice::from_ref(one),
                    _ => &[],
                };
                if statements.iter().any(is_tls_deny) {
                    return vec![];
                }
                let mut new = statements.to_vec();
                new.push(tls_statement(bucket));
                vec![Violation::fixable(
                    "the bucket policy allows requests without TLS",
                    Fix::new(
                        "added a statement denying non-TLS requests to the bucket policy",
                        move |app, _| {
                            app.add_property_override(
                                policy_node,
                                "PolicyDocument.Statement",
                                Value::List(new),
                            )
                        },
                    ),
                )]
            }
            None => vec![Violation::fixable(
                "the bucket has no policy denying requests without TLS",
                Fix::new(
                    "added a bucket policy denying non-TLS requests",
                    move |app, node| {
                        let parent = app.node(node).parent().unwrap_or(node);
                        let id = format!("{}Policy", app.node(node).id());
                        let policy = cairn_core::CfnResource::new("AWS::S3::BucketPolicy")
                            .with("Bucket", Value::reference(node))
                            .with(
                                "PolicyDocument",
                                Value::map([
                                    ("Version", Value::from("2012-10-17")),
                                    ("Statement", Value::list([tls_statement(node)])),
                                ]),
                            );
                        app.add_boxed(parent, &id, Box::new(policy)).map(|_| ())
                    },
                ),
            )],
        }
    }
}

/// RDS instances are not publicly accessible.
#[derive(Debug, Clone, Copy, Default)]
pub struct RdsNotPublic;

impl Rule for RdsNotPublic {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_17"],
            cfn_nag: &["F22"],
            ..RuleInfo::new(
                "CAIRN-RDS-PUBLIC",
                "RDS instances are not publicly accessible",
                &["AWS::RDS::DBInstance"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if !cx.is_true("PubliclyAccessible") {
            return vec![];
        }
        vec![Violation::fixable(
            "the instance is publicly accessible",
            Fix::set(
                "set PubliclyAccessible to false",
                "PubliclyAccessible",
                Value::from(false),
            ),
        )]
    }
}

/// RDS instances and Aurora clusters have deletion protection.
#[derive(Debug, Clone, Copy, Default)]
pub struct RdsDeletionProtection;

impl Rule for RdsDeletionProtection {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            ..RuleInfo::new(
                "CAIRN-RDS-DELETION-PROTECTION",
                "RDS instances and Aurora clusters have deletion protection",
                &["AWS::RDS::DBInstance", "AWS::RDS::DBCluster"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        // Instances of an Aurora cluster are protected through the cluster.
        if cx.get("DBClusterIdentifier").is_some() || cx.is_true("DeletionProtection") {
            return vec![];
        }
        vec![Violation::fixable(
            "deletion protection is off",
            Fix::set(
                "enabled deletion protection",
                "DeletionProtection",
                Value::from(true),
            ),
        )]
    }
}

/// DynamoDB tables have point-in-time recovery.
#[derive(Debug, Clone, Copy, Default)]
pub struct DynamoDbPitr;

impl Rule for DynamoDbPitr {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_28"],
            cfn_nag: &["W78"],
            ..RuleInfo::new(
                "CAIRN-DYNAMODB-PITR",
                "DynamoDB tables have point-in-time recovery enabled",
                &["AWS::DynamoDB::Table"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.is_true("PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled") {
            return vec![];
        }
        vec![Violation::fixable(
            "point-in-time recovery is off",
            Fix::set(
                "enabled point-in-time recovery",
                "PointInTimeRecoverySpecification",
                Value::map([("PointInTimeRecoveryEnabled", Value::from(true))]),
            ),
        )]
    }
}

/// Log groups have a retention period.
#[derive(Debug, Clone, Copy)]
pub struct LogRetention {
    /// Days set when fixing (a value CloudWatch accepts).
    pub days: i64,
}

impl Default for LogRetention {
    fn default() -> Self {
        LogRetention { days: 731 }
    }
}

impl Rule for LogRetention {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_66"],
            cfn_nag: &["W86"],
            ..RuleInfo::new(
                "CAIRN-LOGS-RETENTION",
                "Log groups have a retention period",
                &["AWS::Logs::LogGroup"],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.get("RetentionInDays").is_some() {
            return vec![];
        }
        vec![Violation::fixable(
            "the log group keeps logs forever",
            Fix::set(
                format!("set RetentionInDays to {}", self.days),
                "RetentionInDays",
                Value::from(self.days),
            ),
        )]
    }
}

/// Resource types that hold data: removed or replaced, the data is gone.
pub const STATEFUL_TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::Logs::LogGroup",
    "AWS::EFS::FileSystem",
    "AWS::Kinesis::Stream",
    "AWS::ECR::Repository",
    "AWS::KMS::Key",
    "AWS::EC2::Volume",
    "AWS::Cognito::UserPool",
    "AWS::Backup::BackupVault",
    "AWS::SecretsManager::Secret",
];

/// Stateful resources are retained when removed from the stack or replaced, unless the
/// user opted out by setting a deletion policy explicitly.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetainStateful;

impl Rule for RetainStateful {
    fn info(&self) -> RuleInfo {
        RuleInfo::new(
            "CAIRN-RETAIN-STATEFUL",
            "Stateful resources have DeletionPolicy and UpdateReplacePolicy Retain (or Snapshot), unless set explicitly",
            STATEFUL_TYPES,
        )
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let o = &cx.entry.options;
        if o.deletion_policy.is_some() && o.update_replace_policy.is_some() {
            return vec![];
        }
        let snapshot = matches!(
            cx.resource_type,
            "AWS::RDS::DBInstance" | "AWS::RDS::DBCluster" | "AWS::EC2::Volume"
        );
        let policy = if snapshot {
            RemovalPolicy::Snapshot
        } else {
            RemovalPolicy::Retain
        };
        vec![Violation::fixable(
            "the resource holds data but has no deletion policy: deleting the stack would delete the data",
            Fix::new(
                format!("set DeletionPolicy/UpdateReplacePolicy {}", policy.as_str()),
                move |app, node| {
                    let o = app.resource_options_mut(node)?;
                    o.deletion_policy.get_or_insert(policy);
                    o.update_replace_policy.get_or_insert(policy);
                    Ok(())
                },
            ),
        )]
    }
}
