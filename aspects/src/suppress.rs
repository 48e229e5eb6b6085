//! Suppressions: a rule switched off for a construct and everything below it, only with a
//! written reason. Recorded in the report, and in each covered resource's `Metadata` in
//! the forms cairn, checkov, cfn_nag and cfn-lint read, so one reasoned suppression is
//! honoured by every scanner a team already runs.
//!
//! A suppression names either a cairn rule (its ids in the other scanners are written for
//! it) or one of the checkov checks no cairn rule covers ([`EXTERNAL_CHECKOV_CHECKS`]):
//! those are written as checkov's `skip` on the resources of the types the check reads, so
//! a check cairn leaves to the user is answered in the template with the user's reason.

use indexmap::IndexMap;

use cairn_core::{App, NodeId, Value};

use crate::rule::RuleInfo;

const KEY: &str = "cairn:suppressions";

/// Why a suppression was refused.
#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    /// The reason is empty or too short to mean anything.
    #[error("suppressing {rule} on '{path}' needs a reason of at least 10 characters saying why the rule does not apply")]
    MissingReason {
        /// The rule.
        rule: String,
        /// The construct path.
        path: String,
    },
    /// A checkov id that is neither covered by a cairn rule nor in [`EXTERNAL_CHECKOV_CHECKS`].
    #[error("suppressing {rule} on '{path}': cairn does not know which resources checkov's {rule} reads; suppress the cairn rule that covers it, or add it to EXTERNAL_CHECKOV_CHECKS")]
    UnknownCheck {
        /// The checkov id.
        rule: String,
        /// The construct path.
        path: String,
    },
}

/// The function types checkov's Lambda checks read.
const LAMBDA: &[&str] = &["AWS::Lambda::Function", "AWS::Serverless::Function"];

/// The checkov checks (CloudFormation framework) that cairn's recommended rules do not
/// cover and that its examples answer, with the resource types each one reads. A
/// suppression of one of these ids writes checkov's `skip` on every resource of those
/// types at or below the suppressed construct.
pub const EXTERNAL_CHECKOV_CHECKS: &[(&str, &[&str])] = &[
    ("CKV_AWS_2", &["AWS::ElasticLoadBalancingV2::Listener"]),
    ("CKV_AWS_18", &["AWS::S3::Bucket"]),
    ("CKV_AWS_33", &["AWS::KMS::Key"]),
    ("CKV_AWS_68", &["AWS::CloudFront::Distribution"]),
    ("CKV_AWS_86", &["AWS::CloudFront::Distribution"]),
    ("CKV_AWS_103", &["AWS::ElasticLoadBalancingV2::Listener"]),
    ("CKV_AWS_115", LAMBDA),
    ("CKV_AWS_116", LAMBDA),
    ("CKV_AWS_117", LAMBDA),
    ("CKV_AWS_118", &["AWS::RDS::DBInstance"]),
    ("CKV_AWS_149", &["AWS::SecretsManager::Secret"]),
    ("CKV_AWS_162", &["AWS::RDS::DBCluster"]),
    ("CKV_AWS_173", LAMBDA),
    ("CKV_AWS_174", &["AWS::CloudFront::Distribution"]),
];

/// A refused suppression as the app's error, for `?` in an app's build function: the
/// construct's path once, then what to do.
impl From<SuppressionError> for cairn_core::Error {
    fn from(e: SuppressionError) -> Self {
        let (path, problem) = match e {
            SuppressionError::MissingReason { rule, path } => (
                path,
                format!("suppressing {rule} needs a reason of at least 10 characters saying why the rule does not apply"),
            ),
            SuppressionError::UnknownCheck { rule, path } => (
                path,
                format!(
                    "suppressing {rule}: cairn does not know which resources checkov's {rule} reads; suppress the cairn rule that covers it, or add it to EXTERNAL_CHECKOV_CHECKS"
                ),
            ),
        };
        cairn_core::Error::InvalidProps { path, problem }
    }
}

/// The resource types an external checkov check reads, if cairn knows the check.
fn external_check_types(id: &str) -> Option<&'static [&'static str]> {
    EXTERNAL_CHECKOV_CHECKS
        .iter()
        .find(|(c, _)| *c == id)
        .map(|(_, types)| *types)
}

/// The suppressions of a construct: `Suppressions::of(&mut app, node).add(rule, reason)`.
pub struct Suppressions<'a> {
    app: &'a mut App,
    node: NodeId,
}

impl<'a> Suppressions<'a> {
    /// The suppressions of `node` (they apply to it and every node below it).
    pub fn of(app: &'a mut App, node: impl Into<NodeId>) -> Self {
        Suppressions {
            app,
            node: node.into(),
        }
    }

    /// Suppresses `rule` with a reason: a cairn rule id, or a checkov id of
    /// [`EXTERNAL_CHECKOV_CHECKS`] (a check no cairn rule covers). The metadata is written
    /// by the recommended rule set's checker, so a [`RuleSet`](crate::RuleSet) must be
    /// applied to a scope containing `node`.
    pub fn add(self, rule: &str, reason: &str) -> Result<Self, SuppressionError> {
        if reason.trim().len() < 10 {
            return Err(SuppressionError::MissingReason {
                rule: rule.to_string(),
                path: self.app.path(self.node),
            });
        }
        if rule.starts_with("CKV") && external_check_types(rule).is_none() {
            return Err(SuppressionError::UnknownCheck {
                rule: rule.to_string(),
                path: self.app.path(self.node),
            });
        }
        let entry = Value::map([
            ("rule", Value::from(rule)),
            ("reason", Value::from(reason.trim())),
        ]);
        let meta = self.app.node_mut(self.node).metadata_mut();
        match meta.get_mut(KEY) {
            Some(Value::List(list)) => list.push(entry),
            _ => {
                meta.insert(KEY.to_string(), Value::List(vec![entry]));
            }
        }
        Ok(self)
    }
}

/// Every (rule, reason) suppressed at `node` or above it, nearest first.
fn suppressions(app: &App, node: NodeId) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur = Some(node);
    while let Some(n) = cur {
        let node = app.node(n);
        if let Some(Value::List(list)) = node.metadata().get(KEY) {
            for e in list {
                if let Some(m) = e.as_map() {
                    let rule = m.get("rule").and_then(Value::as_str).unwrap_or_default();
                    let reason = m.get("reason").and_then(Value::as_str).unwrap_or_default();
                    out.push((rule.to_string(), reason.to_string()));
                }
            }
        }
        cur = node.parent();
    }
    out
}

/// The reason `rule` is suppressed at `node`, if it is.
pub(crate) fn suppression_for(app: &App, node: NodeId, rule: &str) -> Option<String> {
    suppressions(app, node)
        .into_iter()
        .find(|(r, _)| r == rule)
        .map(|(_, reason)| reason)
}

/// Writes the suppressions that cover this resource into its `Metadata`, for cairn and
/// for the other scanners, mapped through each rule's ids.
pub(crate) fn write_suppression_metadata(
    app: &mut App,
    node: NodeId,
    resource_type: &str,
    infos: &[RuleInfo],
) {
    let found = suppressions(app, node);
    if found.is_empty() {
        return;
    }
    let mut cairn = Vec::new();
    let mut checkov = Vec::new();
    let mut cfn_nag = Vec::new();
    let mut cfn_lint = Vec::new();
    for (rule, reason) in &found {
        if let Some(types) = external_check_types(rule) {
            if types.contains(&resource_type)
                && !checkov.iter().any(|e: &Value| {
                    e.as_map().and_then(|m| m.get("id")).and_then(Value::as_str) == Some(rule.as_str())
                })
            {
                cairn.push(Value::map([
                    ("rule", Value::from(rule)),
                    ("reason", Value::from(reason)),
                ]));
                checkov.push(Value::map([
                    ("id", Value::from(rule)),
                    ("comment", Value::from(reason)),
                ]));
            }
            continue;
        }
        let Some(info) = infos.iter().find(|i| i.id == rule) else {
            continue;
        };
        if !info
            .resource_types
            .iter()
            .any(|t| *t == resource_type || *t == "*")
        {
            continue;
        }
        cairn.push(Value::map([
            ("rule", Value::from(rule)),
            ("reason", Value::from(reason)),
        ]));
        for id in info.checkov {
            checkov.push(Value::map([
                ("id", Value::from(*id)),
                ("comment", Value::from(reason)),
            ]));
        }
        for id in info.cfn_nag {
            cfn_nag.push(Value::map([
                ("id", Value::from(*id)),
                ("reason", Value::from(reason)),
            ]));
        }
        for id in info.cfn_lint {
            cfn_lint.push(Value::from(*id));
        }
    }
    if cairn.is_empty() {
        return;
    }
    let Ok(options) = app.resource_options_mut(node) else {
        return;
    };
    let md: &mut IndexMap<String, Value> = &mut options.metadata;
    md.insert("cairn".into(), Value::map([("suppressions", Value::List(cairn))]));
    if !checkov.is_empty() {
        // Keep skips written by hand (`checkov: {skip: [...]}`) and add ours after them.
        match md.get_mut("checkov").and_then(Value::as_map_mut) {
            Some(existing) => match existing.get_mut("skip") {
                Some(Value::List(list)) => list.extend(checkov),
                _ => {
                    existing.insert("skip".into(), Value::List(checkov));
                }
            },
            None => {
                md.insert("checkov".into(), Value::map([("skip", Value::List(checkov))]));
            }
        }
    }
    if !cfn_nag.is_empty() {
        md.insert(
            "cfn_nag".into(),
            Value::map([("rules_to_suppress", Value::List(cfn_nag))]),
        );
    }
    if !cfn_lint.is_empty() {
        md.insert(
            "cfn-lint".into(),
            Value::map([("config", Value::map([("ignore_checks", Value::List(cfn_lint))]))]),
        );
    }
}
