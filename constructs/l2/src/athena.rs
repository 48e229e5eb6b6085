//! Athena: workgroups that enforce their configuration on every query: results written
//! to one bucket, encrypted (SSE-KMS with a customer managed key, or SSE-S3), CloudWatch
//! metrics on, an optional per-query scan limit, and query grants.
//!
//! ```
//! use cairn_constructs::athena::{WorkGroup, WorkGroupProps};
//! use cairn_constructs::kms::{Key, KeyProps};
//! use cairn_constructs::s3::{Bucket, BucketEncryption, BucketProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Analytics")?;
//! let key = Key::new(&mut app, stack, "Key", KeyProps::default())?;
//! let results = Bucket::new(&mut app, stack, "Results", BucketProps {
//!     encryption: BucketEncryption::Kms(key),
//!     ..BucketProps::default()
//! })?;
//! let wg = WorkGroup::new(&mut app, stack, "Analysts", WorkGroupProps {
//!     key: Some(key),
//!     ..WorkGroupProps::new("analysts", &results)
//! })?;
//! let asm = app.synth()?;
//! let s = asm.stack("Analytics").unwrap();
//! let id = s.resources_of_type("AWS::Athena::WorkGroup")[0];
//! let config = &s.template["Resources"][id]["Properties"]["WorkGroupConfiguration"];
//! assert_eq!(config["EnforceWorkGroupConfiguration"], true);
//! assert_eq!(config["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"], "SSE_KMS");
//! # let _ = wg;
//! # Ok(())
//! # }
//! ```

use cairn_core::{format_arn, App, NodeId, Pseudo, Res, Result, Value};

use crate::iam::{grant, Grantable};
use crate::kms::Key;
use crate::s3::Bucket;

pub use cairn_cfn::athena::*;

/// The actions of [`WorkGroup::grant_query`] on the workgroup.
pub const QUERY_ACTIONS: &[&str] = &[
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetQueryResultsStream",
    "athena:ListQueryExecutions",
    "athena:GetWorkGroup",
    "athena:BatchGetQueryExecution",
];

/// Settings of a [`WorkGroup`]. Start from [`WorkGroupProps::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct WorkGroupProps {
    /// The workgroup name (1 to 128 of `a-zA-Z0-9._-`).
    pub name: String,
    /// `Description`.
    pub description: Option<String>,
    /// Where query results go.
    pub results_bucket: Bucket,
    /// The key prefix of the results (default `athena-results/`).
    pub results_prefix: String,
    /// Results encrypted with SSE-KMS under this key; SSE-S3 when `None`.
    pub key: Option<Key>,
    /// Clients cannot override the configuration (default: on).
    pub enforce_configuration: bool,
    /// Queries scanning more than this many bytes are cancelled (at least 10 MB).
    pub bytes_scanned_cutoff_per_query: Option<i64>,
}

impl WorkGroupProps {
    /// An enforced workgroup writing results to `results_bucket`.
    pub fn new(name: &str, results_bucket: &Bucket) -> Self {
        WorkGroupProps {
            name: name.to_string(),
            description: None,
            results_bucket: *results_bucket,
            results_prefix: "athena-results/".into(),
            key: None,
            enforce_configuration: true,
            bytes_scanned_cutoff_per_query: None,
        }
    }
}

/// An Athena workgroup (`AWS::Athena::WorkGroup`).
#[derive(Debug, Clone)]
pub struct WorkGroup {
    node: NodeId,
    resource: Res<CfnWorkGroup>,
    results_bucket: Bucket,
    results_prefix: String,
    key: Option<Key>,
}

impl WorkGroup {
    /// Creates the workgroup as construct `id` under `scope`. A name Athena rejects, a
    /// scan limit under 10 MB, or `enforce_configuration: false` (clients could then
    /// write unencrypted results) are an [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: WorkGroupProps,
    ) -> Result<WorkGroup> {
        let node = app.construct(scope, id)?;
        let n = &props.name;
        if n.is_empty()
            || n.len() > 128
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(app.invalid_props(
                node,
                format!(
                    "workgroup name {n:?} must be 1 to 128 characters of a-z, A-Z, 0-9, '.', '_' and '-'"
                ),
            ));
        }
        if let Some(c) = props.bytes_scanned_cutoff_per_query {
            if c < 10_000_000 {
                return Err(app.invalid_props(
                    node,
                    format!("bytes_scanned_cutoff_per_query {c} must be at least 10000000 (10 MB)"),
                ));
            }
        }
        if !props.enforce_configuration {
            return Err(app.invalid_props(
                node,
                "enforce_configuration is off: clients could write query results unencrypted or elsewhere; keep it on",
            ));
        }
        let mut encryption = match props.key {
            Some(_) => work_group::EncryptionConfiguration::new(work_group::EncryptionOption::SseKms),
            None => work_group::EncryptionConfiguration::new(work_group::EncryptionOption::SseS3),
        };
        encryption.kms_key = props.key.map(|k| k.key_arn().into());
        let prefix = props.results_prefix.trim_start_matches('/');
        let output = Value::join(
            "",
            [
                Value::from("s3://"),
                props.results_bucket.bucket_name(),
                Value::from(format!("/{prefix}")),
            ],
        );
        let config = work_group::WorkGroupConfiguration {
            enforce_work_group_configuration: Some(props.enforce_configuration.into()),
            publish_cloud_watch_metrics_enabled: Some(true.into()),
            bytes_scanned_cutoff_per_query: props.bytes_scanned_cutoff_per_query.map(Into::into),
            engine_version: Some(
                work_group::EngineVersion {
                    selected_engine_version: Some("Athena engine version 3".into()),
                    ..Default::default()
                }
                .into(),
            ),
            result_configuration: Some(
                work_group::ResultConfiguration {
                    encryption_configuration: Some(encryption.into()),
                    output_location: Some(output.into()),
                    expected_bucket_owner: Some(Value::pseudo(Pseudo::AccountId).into()),
                    ..Default::default()
                }
                .into(),
            ),
            ..Default::default()
        };
        let mut wg = CfnWorkGroup::new(n.as_str());
        wg.description = props.description.as_deref().map(Into::into);
        wg.work_group_configuration = Some(config.into());
        // Deleting the stack deletes the saved queries and history with the workgroup.
        wg.recursive_delete_option = Some(true.into());
        let resource = app.add(node, "Resource", wg)?;
        Ok(WorkGroup {
            node,
            resource,
            results_bucket: props.results_bucket,
            results_prefix: prefix.to_string(),
            key: props.key,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnWorkGroup> {
        self.resource
    }

    /// The workgroup name (`Ref`).
    pub fn work_group_name(&self) -> Value {
        self.resource.ref_()
    }

    /// `arn:...:athena:<region>:<account>:workgroup/<name>`.
    pub fn work_group_arn(&self) -> Value {
        format_arn(
            "athena",
            Value::join("", [Value::from("workgroup/"), self.work_group_name()]),
        )
    }

    /// The results bucket.
    pub fn results_bucket(&self) -> Bucket {
        self.results_bucket
    }

    /// Grants running queries in this workgroup: [`QUERY_ACTIONS`] on the workgroup;
    /// listing the results bucket and reading and writing objects under the results
    /// prefix; decrypt and encrypt with the workgroup's key and the bucket's key. The
    /// catalog and data permissions (Glue, Lake Formation) are granted separately.
    pub fn grant_query(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        grant(
            app,
            grantee,
            QUERY_ACTIONS.iter().copied(),
            [self.work_group_arn()],
        )?;
        let bucket = self.results_bucket;
        grant(
            app,
            grantee,
            [
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
            ],
            [bucket.arn()],
        )?;
        grant(
            app,
            grantee,
            [
                "s3:GetObject",
                "s3:PutObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            [bucket.arn_for_objects(&format!("{}*", self.results_prefix))],
        )?;
        let mut keys: Vec<Key> = self.key.into_iter().collect();
        if let Some(k) = bucket.encryption_key() {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for k in keys {
            k.grant(
                app,
                grantee,
                ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
            )?;
        }
        Ok(())
    }
}

impl From<WorkGroup> for NodeId {
    fn from(w: WorkGroup) -> NodeId {
        w.node
    }
}

construct!(WorkGroup);
