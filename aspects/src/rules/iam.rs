//! IAM rules: no full admin statements, no anonymous resource policies.

use std::cell::RefCell;
use std::rc::Rc;

use cairn_cfn::policy::{FindingKind, PolicyChecker, PolicyFinding, Severity, POLICY_RESOURCE_TYPES};
use cairn_core::{NodeId, Value};

use crate::rule::{Context, Rule, RuleInfo, Violation};

/// The policy documents of a resource, with a label for messages.
fn documents(cx: &Context) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for key in ["PolicyDocument", "KeyPolicy"] {
        if let Some(d) = cx.get(key) {
            out.push((key.to_string(), d));
        }
    }
    if let Some(Value::List(policies)) = cx.get("Policies") {
        for (i, mut p) in policies.into_iter().enumerate() {
            if let Some(d) = p.as_map_mut().and_then(|m| m.shift_remove("PolicyDocument")) {
                out.push((format!("Policies[{i}]"), d));
            }
        }
    }
    out
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.as_map().and_then(|d| d.get("Statement")) {
        Some(Value::List(l)) => l.iter().collect(),
        Some(one @ Value::Map(_)) => vec![one],
        _ => Vec::new(),
    }
}

fn is_allow(s: &Value) -> bool {
    s.as_map().and_then(|m| m.get("Effect")).and_then(Value::as_str) == Some("Allow")
}

/// True when the field is `"*"` or a list containing `"*"`.
fn has_star(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => s == "*",
        Some(Value::List(l)) => l.iter().any(|x| x.as_str() == Some("*")),
        _ => false,
    }
}

const IDENTITY_POLICY_TYPES: &[&str] = &[
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::KMS::Key",
];

/// No statement allows every action on every resource.
#[derive(Debug, Clone, Copy, Default)]
pub struct IamNoAdmin;

impl Rule for IamNoAdmin {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            checkov: &["CKV_AWS_62", "CKV_AWS_63"],
            cfn_nag: &["F4", "F5"],
            ..RuleInfo::new(
                "CAIRN-IAM-NO-ADMIN",
                "No policy statement allows Action \"*\" on Resource \"*\"",
                IDENTITY_POLICY_TYPES,
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        let mut out = Vec::new();
        for (label, doc) in documents(cx) {
            for (i, s) in statements(&doc).into_iter().enumerate() {
                let Some(m) = s.as_map() else { continue };
                if is_allow(s) && has_star(m.get("Action")) && has_star(m.get("Resource")) {
                    out.push(Violation::new(format!(
                        "{label} statement {i} allows every action on every resource; grant the actions and resources the workload needs"
                    )));
                }
            }
        }
        out
    }
}

/// Resource policies do not allow anyone (`Principal: "*"`) without a condition.
#[derive(Debug, Clone, Copy, Default)]
pub struct IamNoWildcardPrincipal;

impl Rule for IamNoWildcardPrincipal {
    fn info(&self) -> RuleInfo {
        RuleInfo {
            cfn_nag: &["F16", "F18", "F20", "F21"],
            ..RuleInfo::new(
                "CAIRN-IAM-NO-WILDCARD-PRINCIPAL",
                "Resource policies allow no wildcard principal without a condition",
                &[
                    "AWS::S3::BucketPolicy",
                    "AWS::SQS::QueuePolicy",
                    "AWS::SNS::TopicPolicy",
                    "AWS::KMS::Key",
                    "AWS::Lambda::Permission",
                ],
            )
        }
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        if cx.resource_type == "AWS::Lambda::Permission" {
            let anyone = cx.get("Principal").as_ref().and_then(Value::as_str) == Some("*");
            let scoped = cx.get("SourceArn").is_some() || cx.get("SourceAccount").is_some();
            if anyone && !scoped {
                return vec![Violation::new(
                    "the permission lets anyone invoke the function; set SourceArn or SourceAccount, or a specific principal",
                )];
            }
            return vec![];
        }
        let mut out = Vec::new();
        for (label, doc) in documents(cx) {
            for (i, s) in statements(&doc).into_iter().enumerate() {
                let Some(m) = s.as_map() else { continue };
                let principal = m.get("Principal");
                let wildcard = has_star(principal)
                    || has_star(principal.and_then(Value::as_map).and_then(|p| p.get("AWS")));
                if is_allow(s) && wildcard && m.get("Condition").is_none() {
                    out.push(Violation::new(format!(
                        "{label} statement {i} allows any principal without a condition; name the principals or add a condition"
                    )));
                }
            }
        }
        out
    }
}

/// The findings of one kind of the offline IAM policy check
/// ([`cairn_cfn::policy::PolicyChecker`]) on every policy document of a resource: the
/// warnings and security warnings, which [`RuleSet::recommended`](crate::RuleSet::recommended)
/// reports in [`Mode::Warn`](crate::Mode::Warn) so they can be suppressed with a reason.
/// (The errors stop synthesis through [`cairn_cfn::policy::PolicyValidator`]; the wildcard
/// principal is [`IamNoWildcardPrincipal`]'s.)
///
/// ```
/// use cairn_aspects::rules::IamPolicyCheck;
/// use cairn_aspects::Rule;
///
/// let rules = IamPolicyCheck::all();
/// assert!(rules.iter().any(|r| r.info().id == "CAIRN-IAM-CONDITION-KEY"));
/// ```
#[derive(Debug, Clone)]
pub struct IamPolicyCheck {
    kind: FindingKind,
    /// This rule's place among the rules [`IamPolicyCheck::all`] made.
    position: usize,
    shared: Rc<Shared>,
}

/// What the rules of one [`IamPolicyCheck::all`] share: one checker (the IAM reference is
/// read once, resolved actions are remembered), and the findings of the resource being
/// visited, so a resource's policies are read and checked once for all four rules.
#[derive(Debug, Default)]
struct Shared {
    checker: PolicyChecker,
    /// The resource last checked.
    last: RefCell<Option<LastChecked>>,
}

/// A resource checked for the whole group.
#[derive(Debug)]
struct LastChecked {
    node: NodeId,
    /// The position of the rule that checked it.
    by: usize,
    /// Its findings of every kind of the group.
    findings: Rc<Vec<PolicyFinding>>,
}

const KINDS: [FindingKind; 4] = [
    FindingKind::PassRoleToAnyService,
    FindingKind::ConditionKeyNotApplicable,
    FindingKind::ResourceTypeMismatch,
    FindingKind::NotWithAllow,
];

impl IamPolicyCheck {
    /// One rule per reported kind, sharing one checker and one check per resource.
    pub fn all() -> Vec<IamPolicyCheck> {
        let shared = Rc::new(Shared::default());
        KINDS
            .into_iter()
            .enumerate()
            .map(|(position, kind)| IamPolicyCheck {
                kind,
                position,
                shared: shared.clone(),
            })
            .collect()
    }

    /// The findings of every kind of the group on the visited resource. The rules of a
    /// rule set run in order on each resource, so the findings a rule placed before this
    /// one computed on the same resource are this visit's: they are reused. Otherwise
    /// (a new visit, or rules registered in another order) the resource is checked again.
    fn findings(&self, cx: &Context) -> Rc<Vec<PolicyFinding>> {
        if let Some(last) = &*self.shared.last.borrow() {
            if last.node == cx.node && last.by < self.position {
                return last.findings.clone();
            }
        }
        let props = cx.properties();
        let findings = Rc::new(
            self.shared
                .checker
                .check_resource_where(cx.resource_type, &props, &|k| KINDS.contains(&k)),
        );
        *self.shared.last.borrow_mut() = Some(LastChecked {
            node: cx.node,
            by: self.position,
            findings: findings.clone(),
        });
        findings
    }
}

impl Rule for IamPolicyCheck {
    fn info(&self) -> RuleInfo {
        let (id, description) = match self.kind {
            FindingKind::PassRoleToAnyService => (
                "CAIRN-IAM-PASSROLE",
                "iam:PassRole on every role (\"*\") is limited by an iam:PassedToService condition",
            ),
            FindingKind::ConditionKeyNotApplicable => (
                "CAIRN-IAM-CONDITION-KEY",
                "Every service condition key applies to at least one of its statement's actions",
            ),
            FindingKind::ResourceTypeMismatch => (
                "CAIRN-IAM-RESOURCE-TYPE",
                "Every resource ARN is of a type one of its statement's actions takes",
            ),
            _ => (
                "CAIRN-IAM-NOT-ACTION",
                "Allow statements list their actions and resources (no NotAction or NotResource)",
            ),
        };
        RuleInfo::new(id, description, POLICY_RESOURCE_TYPES)
    }

    fn check(&self, cx: &Context) -> Vec<Violation> {
        self.findings(cx)
            .iter()
            .filter(|f| f.kind == self.kind)
            .map(|f| {
                let grade = match f.severity {
                    Severity::Error => "ERROR",
                    Severity::SecurityWarning => "SECURITY_WARNING",
                    Severity::Warning => "WARNING",
                };
                Violation::new(format!("{grade} {}: {}", f.path, f.message))
            })
            .collect()
    }
}
