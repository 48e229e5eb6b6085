//! IAM policy validation at synthesis, offline: every policy document a template holds
//! (identity policies, trust policies, resource and key policies) checked against the IAM
//! service reference (every service's actions, resource types with ARN formats, condition
//! keys), with findings graded like IAM Access Analyzer's policy validation.
//!
//! - [`Severity::Error`]: an unknown service prefix or action (with a "did you mean"), a
//!   wildcard action that matches no action, `Resource` in a trust policy, a malformed
//!   statement (no or a wrong `Effect`, both or neither of `Action`/`NotAction`, a
//!   `Principal` in an identity policy or none in a resource policy, an unknown element or
//!   condition operator). [`PolicyValidator`] reports these at synthesis: they stop it.
//! - [`Severity::SecurityWarning`]: `iam:PassRole` on `*` without an `iam:PassedToService`
//!   condition; a wildcard principal without a condition on an `Allow`.
//! - [`Severity::Warning`]: a service condition key that applies to none of the
//!   statement's actions; a resource ARN of a type none of the actions take (when its
//!   service part is literal: a string, or a `Fn::Join`/`Fn::Sub` around references);
//!   `NotAction` or `NotResource` with `Allow`.
//!
//! Warnings are reported by the `CAIRN-IAM-*` rules of `cairn-aspects` (so they can be
//! suppressed with a reason and reach `cairn-report.json`); see `docs/architecture.md`.
//!
//! ```
//! use cairn_cfn::policy::{PolicyChecker, PolicyKind, Severity};
//! use cairn_core::Value;
//!
//! let doc = Value::map([
//!     ("Version", Value::from("2012-10-17")),
//!     ("Statement", Value::list([Value::map([
//!         ("Effect", Value::from("Allow")),
//!         ("Action", Value::from("sqs:ReceiveMessages")),
//!         ("Resource", Value::from("*")),
//!     ])])),
//! ]);
//! let findings = PolicyChecker::new().check_document(&doc, PolicyKind::Identity);
//! assert_eq!(findings[0].severity, Severity::Error);
//! assert!(findings[0].message.contains("did you mean sqs:ReceiveMessage?"));
//! ```

mod reference;

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use cairn_core::{Intrinsic, PropertyError, Validator, Value};
use indexmap::IndexMap;

pub use reference::AccessLevel;
use reference::Reference;

/// How serious a finding is, as IAM Access Analyzer grades them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The policy is wrong: AWS refuses it or it does not do what it says.
    Error,
    /// The policy grants more than is likely meant.
    SecurityWarning,
    /// The policy has a part that has no effect or is easy to misread.
    Warning,
}

/// What a finding is about; the `CAIRN-IAM-*` rules report one kind each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// The service prefix of an action is unknown.
    UnknownService,
    /// The action is not one of its service's.
    UnknownAction,
    /// A wildcard action matches no action.
    WildcardMatchesNothing,
    /// A trust policy statement has `Resource` or `NotResource`.
    TrustPolicyResource,
    /// The statement or document does not have the shape IAM accepts.
    Malformed,
    /// `iam:PassRole` on every role to any service.
    PassRoleToAnyService,
    /// An `Allow` to any principal without a condition.
    WildcardPrincipal,
    /// A condition key that applies to none of the statement's actions.
    ConditionKeyNotApplicable,
    /// A resource ARN of a type none of the statement's actions take.
    ResourceTypeMismatch,
    /// `NotAction` or `NotResource` with `Allow`.
    NotWithAllow,
}

impl FindingKind {
    /// The severity of this kind of finding.
    pub fn severity(self) -> Severity {
        match self {
            FindingKind::UnknownService
            | FindingKind::UnknownAction
            | FindingKind::WildcardMatchesNothing
            | FindingKind::TrustPolicyResource
            | FindingKind::Malformed => Severity::Error,
            FindingKind::PassRoleToAnyService | FindingKind::WildcardPrincipal => Severity::SecurityWarning,
            FindingKind::ConditionKeyNotApplicable
            | FindingKind::ResourceTypeMismatch
            | FindingKind::NotWithAllow => Severity::Warning,
        }
    }
}

/// Which kind of policy a document is: it decides which elements a statement must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a principal: no `Principal`, a `Resource` or `NotResource`.
    Identity,
    /// Attached to a resource (bucket, queue, topic, key ...): a `Principal`.
    Resource,
    /// A role's `AssumeRolePolicyDocument`: a `Principal`, no `Resource`.
    Trust,
}

impl PolicyKind {
    /// The kind's name: `Identity`, `Resource` or `Trust`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Identity => "Identity",
            PolicyKind::Resource => "Resource",
            PolicyKind::Trust => "Trust",
        }
    }
}

/// One finding on one statement (or on the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFinding {
    /// What it is about.
    pub kind: FindingKind,
    /// [`FindingKind::severity`] of `kind`.
    pub severity: Severity,
    /// Where: the statement's path inside the document, e.g. `Statement[2]`.
    pub path: String,
    /// The statement as a reader finds it: `statement "ReadQueue"` (its Sid) or
    /// `statement #2` (its index).
    pub statement: String,
    /// What is wrong and the fix.
    pub message: String,
}

/// Where the policy documents of a resource type are, and which kind each is. Documents
/// in a list (a role's inline `Policies`) are named `Policies[*].PolicyDocument`.
pub const POLICY_DOCUMENTS: &[(&str, &str, PolicyKind)] = &[
    ("AWS::IAM::Role", "AssumeRolePolicyDocument", PolicyKind::Trust),
    (
        "AWS::IAM::Role",
        "Policies[*].PolicyDocument",
        PolicyKind::Identity,
    ),
    (
        "AWS::IAM::User",
        "Policies[*].PolicyDocument",
        PolicyKind::Identity,
    ),
    (
        "AWS::IAM::Group",
        "Policies[*].PolicyDocument",
        PolicyKind::Identity,
    ),
    ("AWS::IAM::Policy", "PolicyDocument", PolicyKind::Identity),
    ("AWS::IAM::ManagedPolicy", "PolicyDocument", PolicyKind::Identity),
    ("AWS::IAM::RolePolicy", "PolicyDocument", PolicyKind::Identity),
    ("AWS::IAM::UserPolicy", "PolicyDocument", PolicyKind::Identity),
    ("AWS::IAM::GroupPolicy", "PolicyDocument", PolicyKind::Identity),
    ("AWS::S3::BucketPolicy", "PolicyDocument", PolicyKind::Resource),
    ("AWS::S3::AccessPoint", "Policy", PolicyKind::Resource),
    ("AWS::SQS::QueuePolicy", "PolicyDocument", PolicyKind::Resource),
    (
        "AWS::SQS::QueueInlinePolicy",
        "PolicyDocument",
        PolicyKind::Resource,
    ),
    ("AWS::SNS::TopicPolicy", "PolicyDocument", PolicyKind::Resource),
    (
        "AWS::SNS::TopicInlinePolicy",
        "PolicyDocument",
        PolicyKind::Resource,
    ),
    ("AWS::KMS::Key", "KeyPolicy", PolicyKind::Resource),
    ("AWS::KMS::ReplicaKey", "KeyPolicy", PolicyKind::Resource),
    (
        "AWS::SecretsManager::ResourcePolicy",
        "ResourcePolicy",
        PolicyKind::Resource,
    ),
    (
        "AWS::ECR::Repository",
        "RepositoryPolicyText",
        PolicyKind::Resource,
    ),
    (
        "AWS::Logs::ResourcePolicy",
        "PolicyDocument",
        PolicyKind::Resource,
    ),
    ("AWS::EFS::FileSystem", "FileSystemPolicy", PolicyKind::Resource),
    ("AWS::Backup::BackupVault", "AccessPolicy", PolicyKind::Resource),
    ("AWS::EC2::VPCEndpoint", "PolicyDocument", PolicyKind::Resource),
    ("AWS::ApiGateway::RestApi", "Policy", PolicyKind::Resource),
    (
        "AWS::OpenSearchService::Domain",
        "AccessPolicies",
        PolicyKind::Resource,
    ),
    (
        "AWS::Elasticsearch::Domain",
        "AccessPolicies",
        PolicyKind::Resource,
    ),
    ("AWS::Events::EventBus", "Policy", PolicyKind::Resource),
    (
        "AWS::Kinesis::ResourcePolicy",
        "ResourcePolicy",
        PolicyKind::Resource,
    ),
];

/// The resource types [`POLICY_DOCUMENTS`] names, once each.
pub const POLICY_RESOURCE_TYPES: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::S3::AccessPoint",
    "AWS::SQS::QueuePolicy",
    "AWS::SQS::QueueInlinePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::TopicInlinePolicy",
    "AWS::KMS::Key",
    "AWS::KMS::ReplicaKey",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::ECR::Repository",
    "AWS::Logs::ResourcePolicy",
    "AWS::EFS::FileSystem",
    "AWS::Backup::BackupVault",
    "AWS::EC2::VPCEndpoint",
    "AWS::ApiGateway::RestApi",
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
    "AWS::Events::EventBus",
    "AWS::Kinesis::ResourcePolicy",
];

/// The policy documents among a resource's properties: (path under `Properties`, the
/// document, its kind). A document written as JSON text is read from it; a map is
/// borrowed.
pub fn policy_documents<'p>(
    resource_type: &str,
    properties: &'p IndexMap<String, Value>,
) -> Vec<(String, Cow<'p, Value>, PolicyKind)> {
    let mut out = Vec::new();
    for (ty, path, kind) in POLICY_DOCUMENTS {
        if *ty != resource_type {
            continue;
        }
        match path.split_once("[*].") {
            Some((list, field)) => {
                if let Some(Value::List(items)) = properties.get(list) {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(doc) = item.as_map().and_then(|m| m.get(field)) {
                            push_document(&mut out, format!("{list}[{i}].{field}"), doc, *kind);
                        }
                    }
                }
            }
            None => {
                if let Some(doc) = properties.get(*path) {
                    push_document(&mut out, (*path).to_string(), doc, *kind);
                }
            }
        }
    }
    out
}

fn push_document<'p>(
    out: &mut Vec<(String, Cow<'p, Value>, PolicyKind)>,
    path: String,
    doc: &'p Value,
    kind: PolicyKind,
) {
    match doc {
        Value::Map(_) => out.push((path, Cow::Borrowed(doc), kind)),
        Value::String(text) => {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
                out.push((path, Cow::Owned(Value::from_json(&json)), kind));
            }
        }
        _ => {}
    }
}

/// Checks policy documents against the IAM service reference embedded in this crate
/// (parliament's copy of the Service Authorization Reference, see `codegen/iam/`). The
/// reference is read on the first check and kept for the checker's life.
///
/// The checker remembers what it worked out for the lifetime of the checker (one app's
/// synthesis): the services it read, each distinct action list it resolved, which resource
/// patterns fit those actions and which condition keys apply to them. Apps repeat the same
/// statements with different references, so most statements cost a few lookups.
#[derive(Default)]
pub struct PolicyChecker {
    reference: OnceCell<Reference>,
    /// Resolved action lists, by the list's text.
    resolved: RefCell<HashMap<ActionList, Rc<Resolved>>>,
}

/// A statement's action list as written: its strings, and whether some item was not one.
#[derive(Clone, PartialEq, Eq, Hash)]
struct ActionList {
    written: Vec<String>,
    other: bool,
}

impl std::fmt::Debug for PolicyChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyChecker")
            .field("loaded", &self.reference.get().is_some())
            .finish()
    }
}

const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::List(l) => l.iter().collect(),
        other => vec![other],
    }
}

/// Case-insensitive glob match with `*` and `?`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p].eq_ignore_ascii_case(&text[t])) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

/// Levenshtein distance, case-insensitive.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<u8> = a.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.len() / 3).clamp(2, 4);
    candidates
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// One token of an ARN pattern: a literal byte, a part that matches any text within one
/// ARN segment (no `/` or `:`), or any text at all.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Tok {
    Lit(u8),
    Seg,
    Any,
}

/// An ARN as a pattern: `*`/`?` match anything, references (a `Ref`, a pseudo parameter,
/// a `${Var}` of a `Fn::Sub`) match one segment, or anything when they end it. `None` when
/// the value is not a string, a `Fn::Join` or a `Fn::Sub`.
fn arn_pattern(v: &Value) -> Option<Vec<Tok>> {
    fn text(s: &str, out: &mut Vec<Tok>) {
        for c in s.bytes() {
            out.push(match c {
                b'*' | b'?' => Tok::Any,
                c => Tok::Lit(c),
            });
        }
    }
    fn walk(v: &Value, out: &mut Vec<Tok>) {
        match v {
            Value::String(s) => text(s, out),
            Value::Intrinsic(i) => match &**i {
                Intrinsic::Join(delim, Value::List(items)) => {
                    for (n, item) in items.iter().enumerate() {
                        if n > 0 {
                            text(delim, out);
                        }
                        walk(item, out);
                    }
                }
                Intrinsic::Sub(template, _) => {
                    let mut rest = template.as_str();
                    while let Some(at) = rest.find("${") {
                        text(&rest[..at], out);
                        let after = &rest[at + 2..];
                        match after.find('}') {
                            Some(end) if after.starts_with('!') => {
                                text(&format!("${{{}}}", &after[1..end]), out);
                                rest = &after[end + 1..];
                            }
                            Some(end) => {
                                out.push(Tok::Seg);
                                rest = &after[end + 1..];
                            }
                            None => {
                                text(&rest[at..], out);
                                rest = "";
                            }
                        }
                    }
                    text(rest, out);
                }
                _ => out.push(Tok::Seg),
            },
            _ => out.push(Tok::Seg),
        }
    }
    match v {
        Value::String(_) => {}
        Value::Intrinsic(i) if matches!(&**i, Intrinsic::Join(_, Value::List(_)) | Intrinsic::Sub(..)) => {}
        _ => return None,
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    if out.last() == Some(&Tok::Seg) {
        if let Some(last) = out.last_mut() {
            *last = Tok::Any;
        }
    }
    Some(out)
}

/// An ARN format of the reference (`arn:${Partition}:sqs:${Region}:${Account}:${QueueName}`)
/// as a pattern: each `${Var}` one segment, the last one anything.
fn format_pattern(format: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = format;
    while let Some(at) = rest.find("${") {
        out.extend(rest[..at].bytes().map(Tok::Lit));
        match rest[at..].find('}') {
            Some(end) => {
                out.push(Tok::Seg);
                rest = &rest[at + end + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.extend(rest.bytes().map(Tok::Lit));
    if out.last() == Some(&Tok::Seg) {
        if let Some(last) = out.last_mut() {
            *last = Tok::Any;
        }
    }
    out
}

/// True when some text matches both patterns.
fn intersects(a: &[Tok], b: &[Tok]) -> bool {
    let (n, m) = (a.len() + 1, b.len() + 1);
    let mut seen = vec![false; n * m];
    let mut stack = vec![(0usize, 0usize)];
    let in_seg = |c: u8| c != b'/' && c != b':';
    while let Some((i, j)) = stack.pop() {
        if seen[i * m + j] {
            continue;
        }
        seen[i * m + j] = true;
        if i == a.len() && j == b.len() {
            return true;
        }
        let ta = a.get(i).copied();
        let tb = b.get(j).copied();
        // A wildcard may match nothing.
        if matches!(ta, Some(Tok::Seg | Tok::Any)) {
            stack.push((i + 1, j));
        }
        if matches!(tb, Some(Tok::Seg | Tok::Any)) {
            stack.push((i, j + 1));
        }
        match (ta, tb) {
            (Some(Tok::Lit(x)), Some(Tok::Lit(y))) if x == y => stack.push((i + 1, j + 1)),
            (Some(Tok::Lit(_)), Some(Tok::Any)) => stack.push((i + 1, j)),
            (Some(Tok::Lit(x)), Some(Tok::Seg)) if in_seg(x) => stack.push((i + 1, j)),
            (Some(Tok::Any), Some(Tok::Lit(_))) => stack.push((i, j + 1)),
            (Some(Tok::Seg), Some(Tok::Lit(y))) if in_seg(y) => stack.push((i, j + 1)),
            _ => {}
        }
    }
    false
}

/// The literal service of an ARN pattern (`arn:<partition>:<service>:`), when the pattern
/// starts with `arn:` and its service part has no wildcard or reference.
fn arn_service(p: &[Tok]) -> Option<String> {
    let lit: Vec<u8> = p
        .iter()
        .map_while(|t| match t {
            Tok::Lit(c) => Some(*c),
            _ => None,
        })
        .collect();
    if !lit.starts_with(b"arn:") {
        return None;
    }
    // The partition may be a reference: find the service between the 2nd and 3rd colon.
    let mut colons = 0;
    let mut service = Vec::new();
    for t in p.iter().skip(4) {
        match (colons, t) {
            (0, Tok::Lit(b':')) => colons = 1,
            (0, _) => {}
            (1, Tok::Lit(b':')) => return String::from_utf8(service).ok().filter(|s| !s.is_empty()),
            (1, Tok::Lit(c)) => service.push(*c),
            _ => return None,
        }
    }
    None
}

/// What an action list resolves to, worked out once per distinct list.
struct Resolved {
    /// Every action matched (service slot in the reference, action index).
    matched: Vec<(usize, usize)>,
    /// Some action is `*`, a `*` service wildcard or not a literal: the statement's other
    /// checks cannot know the full set.
    open: bool,
    /// The list's literal action strings.
    written: Vec<String>,
    /// The findings of resolving: unknown services and actions, empty wildcards.
    findings: Vec<(FindingKind, String)>,
    /// The ARN formats of the resource types the actions take, `None` when one of them
    /// has no known format (then nothing can be said about resources); computed on first
    /// use.
    formats: OnceCell<Option<Vec<(&'static str, Vec<Tok>)>>>,
    /// Whether a resource pattern fits one of `formats`.
    fits: RefCell<HashMap<Vec<Tok>, bool>>,
    /// Whether a condition key (lower case) applies to one of the actions.
    applies: RefCell<HashMap<String, bool>>,
}

impl PolicyChecker {
    /// A checker; the reference is read on first use.
    pub fn new() -> Self {
        PolicyChecker::default()
    }

    fn reference(&self) -> &Reference {
        self.reference.get_or_init(Reference::load)
    }

    /// The access level of an action (`"sqs:ReceiveMessage"`), if the reference knows it.
    pub fn access_level(&self, action: &str) -> Option<AccessLevel> {
        let (prefix, name) = action.split_once(':')?;
        let service = self.reference().service(prefix)?;
        service.action(name).map(|a| a.level)
    }

    /// Every finding on the policy documents of one resource's properties, paths under
    /// `Properties`.
    pub fn check_resource(
        &self,
        resource_type: &str,
        properties: &IndexMap<String, Value>,
    ) -> Vec<PolicyFinding> {
        self.check_resource_where(resource_type, properties, &|_| true)
    }

    /// The findings of the kinds `wanted` accepts on one resource's policy documents; the
    /// checks no wanted kind needs are not run (the `CAIRN-IAM-*` rules ask for one kind
    /// each, the validator for the errors).
    pub fn check_resource_where(
        &self,
        resource_type: &str,
        properties: &IndexMap<String, Value>,
        wanted: &dyn Fn(FindingKind) -> bool,
    ) -> Vec<PolicyFinding> {
        let mut out = Vec::new();
        for (path, doc, kind) in policy_documents(resource_type, properties) {
            for mut f in self.check_document_where(&doc, kind, wanted) {
                f.path = format!("{path}.{}", f.path);
                out.push(f);
            }
        }
        out
    }

    /// Every finding on one policy document.
    pub fn check_document(&self, doc: &Value, kind: PolicyKind) -> Vec<PolicyFinding> {
        self.check_document_where(doc, kind, &|_| true)
    }

    /// The findings of the kinds `wanted` accepts on one policy document.
    pub fn check_document_where(
        &self,
        doc: &Value,
        kind: PolicyKind,
        wanted: &dyn Fn(FindingKind) -> bool,
    ) -> Vec<PolicyFinding> {
        let mut out = Vec::new();
        let Some(map) = doc.as_map() else {
            return out;
        };
        let doc_finding = |message: String| PolicyFinding {
            kind: FindingKind::Malformed,
            severity: Severity::Error,
            path: "Version".into(),
            statement: "the document".into(),
            message,
        };
        if let Some(Value::String(v)) = map.get("Version") {
            if v != "2012-10-17" && v != "2008-10-17" {
                out.push(doc_finding(format!(
                    "Version \"{v}\" is not a policy language version; use \"2012-10-17\""
                )));
            }
        }
        for k in map.keys() {
            if !["Version", "Statement", "Id"].contains(&k.as_str()) {
                let mut f = doc_finding(format!(
                    "unknown policy element \"{k}\"; a document has Version, Id and Statement"
                ));
                f.path = k.clone();
                out.push(f);
            }
        }
        let statements: Vec<&Value> = match map.get("Statement") {
            Some(Value::List(l)) => l.iter().collect(),
            Some(one @ Value::Map(_)) => vec![one],
            Some(_) => Vec::new(),
            None => {
                let mut f = doc_finding("the document has no Statement; add at least one statement".into());
                f.path = "Statement".into();
                out.push(f);
                Vec::new()
            }
        };
        for (i, s) in statements.into_iter().enumerate() {
            if let Some(m) = s.as_map() {
                self.statement(i, m, kind, wanted, &mut out);
            }
        }
        out.retain(|f| wanted(f.kind));
        out
    }

    fn statement(
        &self,
        index: usize,
        s: &IndexMap<String, Value>,
        kind: PolicyKind,
        wanted: &dyn Fn(FindingKind) -> bool,
        out: &mut Vec<PolicyFinding>,
    ) {
        // One pass over the statement's elements (most statements have four or five).
        let mut field: [Option<&Value>; STATEMENT_KEYS.len()] = [None; STATEMENT_KEYS.len()];
        let mut unknown = Vec::new();
        for (k, v) in s {
            match STATEMENT_KEYS.iter().position(|known| known == k) {
                Some(at) => field[at] = Some(v),
                None => unknown.push(k),
            }
        }
        let [sid, effect, principal, not_principal, action, not_action, resource, not_resource, condition] =
            field;
        let sid = sid.and_then(Value::as_str).filter(|sid| !sid.is_empty());
        let mut push = |k: FindingKind, message: String| {
            // The label is written only for a finding.
            let label = match sid {
                Some(sid) => format!("statement \"{sid}\""),
                None => format!("statement #{index}"),
            };
            out.push(PolicyFinding {
                kind: k,
                severity: k.severity(),
                path: format!("Statement[{index}]"),
                message: format!("{label}: {message}"),
                statement: label,
            })
        };
        for k in unknown {
            push(
                FindingKind::Malformed,
                format!(
                    "unknown statement element \"{k}\"; a statement has {}",
                    STATEMENT_KEYS.join(", ")
                ),
            );
        }
        let allow = match effect {
            Some(Value::String(e)) if e == "Allow" => true,
            Some(Value::String(e)) if e == "Deny" => false,
            Some(Value::String(e)) => {
                push(
                    FindingKind::Malformed,
                    format!("Effect \"{e}\" must be \"Allow\" or \"Deny\""),
                );
                return;
            }
            None => {
                push(
                    FindingKind::Malformed,
                    "no Effect; add \"Effect\": \"Allow\" or \"Deny\"".into(),
                );
                return;
            }
            Some(_) => return,
        };
        match (action, not_action) {
            (Some(_), Some(_)) => push(
                FindingKind::Malformed,
                "has both Action and NotAction; keep one".into(),
            ),
            (None, None) => push(
                FindingKind::Malformed,
                "has neither Action nor NotAction; name the actions".into(),
            ),
            _ => {}
        }
        let resources_written = resource.is_some() || not_resource.is_some();
        let principal_written = principal.is_some() || not_principal.is_some();
        match kind {
            PolicyKind::Identity => {
                if principal_written {
                    push(
                        FindingKind::Malformed,
                        "has a Principal, which an identity policy cannot have (the principal is whoever the policy is attached to); remove it".into(),
                    );
                }
                if !resources_written {
                    push(
                        FindingKind::Malformed,
                        "has no Resource; name the resources (or \"*\") the actions apply to".into(),
                    );
                }
            }
            PolicyKind::Resource | PolicyKind::Trust => {
                if !principal_written {
                    push(
                        FindingKind::Malformed,
                        "has no Principal, which a resource or trust policy needs; name who the statement applies to".into(),
                    );
                }
            }
        }
        if kind == PolicyKind::Trust && resources_written {
            push(
                FindingKind::TrustPolicyResource,
                "a trust policy statement has Resource or NotResource; remove it (the resource is the role itself)".into(),
            );
        }
        if allow {
            for (k, what, written) in [
                ("NotAction", "every action but these", not_action.is_some()),
                ("NotResource", "every resource but these", not_resource.is_some()),
            ] {
                if written {
                    push(
                        FindingKind::NotWithAllow,
                        format!("{k} with Allow allows {what}, including ones added to AWS later; list what is allowed with {}", &k[3..]),
                    );
                }
            }
        }
        // Conditions: operators.
        let condition = condition.and_then(Value::as_map);
        if let Some(c) = condition {
            for op in c.keys() {
                let base = op
                    .strip_prefix("ForAllValues:")
                    .or_else(|| op.strip_prefix("ForAnyValue:"))
                    .unwrap_or(op);
                let base = base.strip_suffix("IfExists").unwrap_or(base);
                if !OPERATORS.contains(&base) {
                    let hint = closest(base, OPERATORS.iter().copied())
                        .map(|c| format!("; did you mean {c}?"))
                        .unwrap_or_default();
                    push(
                        FindingKind::Malformed,
                        format!("unknown condition operator \"{op}\"{hint}"),
                    );
                }
            }
        }
        let Some(action) = action.or(not_action) else {
            return;
        };
        let actions = self.resolve(action);
        for (k, message) in &actions.findings {
            push(*k, message.clone());
        }
        if not_action.is_some() {
            return;
        }
        let resources: Vec<&Value> = resource.map(as_list).unwrap_or_default();
        let any_resource = resources.iter().any(|r| r.as_str() == Some("*"));
        // Security warnings.
        if allow {
            let passes_role = actions
                .written
                .iter()
                .any(|a| a == "*" || glob(a.as_bytes(), b"iam:PassRole"));
            let scoped = condition.is_some_and(|c| {
                c.values()
                    .filter_map(Value::as_map)
                    .any(|keys| keys.keys().any(|k| k.eq_ignore_ascii_case("iam:PassedToService")))
            });
            if passes_role && any_resource && !scoped {
                push(
                    FindingKind::PassRoleToAnyService,
                    "allows iam:PassRole on every role (\"*\") to any service; name the roles in Resource, or add an iam:PassedToService condition".into(),
                );
            }
            if kind != PolicyKind::Identity && condition.is_none() {
                if let Some(p) = principal {
                    let star = |v: &Value| as_list(v).iter().any(|x| x.as_str() == Some("*"));
                    let wildcard = star(p) || p.as_map().and_then(|m| m.get("AWS")).is_some_and(star);
                    if wildcard {
                        push(
                            FindingKind::WildcardPrincipal,
                            "allows any principal (\"*\") without a condition; name the principals, or add a condition (aws:SourceAccount, aws:PrincipalOrgID ...)".into(),
                        );
                    }
                }
            }
        }
        if actions.open || actions.matched.is_empty() {
            return;
        }
        // Condition keys that apply to none of the actions.
        if let Some(c) = condition.filter(|_| wanted(FindingKind::ConditionKeyNotApplicable)) {
            let mut reported = BTreeSet::new();
            for keys in c.values().filter_map(Value::as_map) {
                for key in keys.keys() {
                    let Some((prefix, _)) = key.split_once(':') else {
                        continue;
                    };
                    if prefix.eq_ignore_ascii_case("aws") || self.reference().slot(prefix).is_none() {
                        continue;
                    }
                    if !actions.key_applies(self.reference(), key)
                        && reported.insert(key.to_ascii_lowercase())
                    {
                        push(
                            FindingKind::ConditionKeyNotApplicable,
                            format!(
                                "condition key {key} applies to none of the actions ({}); move it to a statement with actions it applies to, or remove it",
                                actions.written.join(", ")
                            ),
                        );
                    }
                }
            }
        }
        // Resource ARNs of a type none of the actions take.
        if any_resource || !wanted(FindingKind::ResourceTypeMismatch) {
            return;
        }
        let Some(formats) = actions.formats(self.reference()) else {
            return; // A type without a known format: nothing can be said.
        };
        for (n, r) in resources.iter().enumerate() {
            let Some(p) = arn_pattern(r) else { continue };
            if arn_service(&p).is_none() {
                continue;
            }
            if !actions.fits(&p) {
                let shown = match r {
                    Value::String(s) => s.clone(),
                    _ => p
                        .iter()
                        .map(|t| match t {
                            Tok::Lit(c) => char::from(*c).to_string(),
                            Tok::Seg | Tok::Any => "…".to_string(),
                        })
                        .collect(),
                };
                let takes = if formats.is_empty() {
                    "they take no resource ARN (use \"*\")".to_string()
                } else {
                    format!(
                        "they take {}",
                        formats.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
                    )
                };
                push(
                    FindingKind::ResourceTypeMismatch,
                    format!(
                        "Resource[{n}] {shown} is of a type none of the actions ({}) take: {takes}; move the actions or the resource to a statement where they match",
                        actions.written.join(", ")
                    ),
                );
            }
        }
    }

    /// Resolves an action list, once per distinct list for the checker's life.
    fn resolve(&self, v: &Value) -> Rc<Resolved> {
        let mut key = ActionList {
            written: Vec::new(),
            other: false,
        };
        for item in as_list(v) {
            match item.as_str() {
                Some(a) => key.written.push(a.to_string()),
                None => key.other = true,
            }
        }
        if let Some(r) = self.resolved.borrow().get(&key) {
            return r.clone();
        }
        let r = Rc::new(self.resolve_list(&key));
        self.resolved.borrow_mut().insert(key, r.clone());
        r
    }

    /// Resolves the actions of a list, finding unknown services and actions and wildcards
    /// that match nothing.
    fn resolve_list(&self, list: &ActionList) -> Resolved {
        let reference = self.reference();
        let mut out = Resolved {
            matched: Vec::new(),
            open: list.other,
            written: list.written.clone(),
            findings: Vec::new(),
            formats: OnceCell::new(),
            fits: RefCell::default(),
            applies: RefCell::default(),
        };
        for a in &list.written {
            if a == "*" {
                out.open = true;
                continue;
            }
            let Some((prefix, name)) = a.split_once(':') else {
                out.findings.push((
                    FindingKind::Malformed,
                    format!("action \"{a}\" is not of the form service:Action (e.g. sqs:ReceiveMessage)"),
                ));
                out.open = true;
                continue;
            };
            let Some(slot) = reference.slot(prefix) else {
                let hint = closest(prefix, reference.prefixes())
                    .map(|c| format!("; did you mean {c}?"))
                    .unwrap_or_else(|| {
                        "; check the service prefix in the Service Authorization Reference".into()
                    });
                out.findings.push((
                    FindingKind::UnknownService,
                    format!("unknown service prefix \"{prefix}\" in action {a}{hint}"),
                ));
                out.open = true;
                continue;
            };
            let service = reference.at(slot);
            if name.contains(['*', '?']) {
                if name == "*" {
                    out.open = true;
                    continue;
                }
                let before = out.matched.len();
                for (i, act) in service.actions.iter().enumerate() {
                    if glob(name.as_bytes(), act.name.as_bytes()) {
                        out.matched.push((slot, i));
                    }
                }
                if out.matched.len() == before {
                    out.findings.push((
                        FindingKind::WildcardMatchesNothing,
                        format!(
                            "action {a} matches no {} action; correct the pattern",
                            service.prefix
                        ),
                    ));
                }
                continue;
            }
            match service.by_name.get(&name.to_ascii_lowercase()) {
                Some(i) => out.matched.push((slot, *i)),
                None => {
                    let hint = closest(name, service.actions.iter().map(|x| x.name))
                        .map(|c| format!("; did you mean {}:{c}?", service.prefix))
                        .unwrap_or_else(|| {
                            format!(
                                "; see the {} actions in the Service Authorization Reference",
                                service.prefix
                            )
                        });
                    out.findings
                        .push((FindingKind::UnknownAction, format!("unknown action {a}{hint}")));
                }
            }
        }
        out
    }
}

impl Resolved {
    /// True when condition key `key` applies to one of the matched actions.
    fn key_applies(&self, reference: &Reference, key: &str) -> bool {
        let lower = key.to_ascii_lowercase();
        if let Some(known) = self.applies.borrow().get(&lower) {
            return *known;
        }
        let applies = self.matched.iter().any(|(slot, a)| {
            let svc = reference.at(*slot);
            svc.key_applies(&svc.actions[*a], key)
        });
        self.applies.borrow_mut().insert(lower, applies);
        applies
    }

    /// The ARN formats of the resource types the matched actions take (each once), or
    /// `None` when one of those types has no known format.
    fn formats(&self, reference: &Reference) -> Option<&[(&'static str, Vec<Tok>)]> {
        self.formats
            .get_or_init(|| {
                let mut formats: Vec<(&'static str, Vec<Tok>)> = Vec::new();
                for (slot, a) in &self.matched {
                    let svc = reference.at(*slot);
                    for (t, _) in &svc.actions[*a].types {
                        let rt = &svc.resources[*t as usize];
                        if rt.arn.is_empty() {
                            return None;
                        }
                        if !formats.iter().any(|(f, _)| *f == rt.arn) {
                            formats.push((rt.arn, rt.pattern.clone()));
                        }
                    }
                }
                Some(formats)
            })
            .as_deref()
    }

    /// True when a resource pattern fits one of the formats (call after
    /// [`Resolved::formats`] returned `Some`).
    fn fits(&self, pattern: &[Tok]) -> bool {
        if let Some(known) = self.fits.borrow().get(pattern) {
            return *known;
        }
        let formats = self.formats.get().and_then(Option::as_deref).unwrap_or_default();
        let fits = formats.iter().any(|(_, f)| intersects(pattern, f));
        self.fits.borrow_mut().insert(pattern.to_vec(), fits);
        fits
    }
}

/// The [`Validator`] that stops synthesis on policy errors ([`Severity::Error`]): unknown
/// services and actions, wildcards that match nothing, `Resource` in trust policies,
/// malformed statements. Registered by the app CLI next to the
/// [`SchemaValidator`](crate::SchemaValidator). Warnings are the aspects' rules'.
#[derive(Debug, Default)]
pub struct PolicyValidator {
    checker: PolicyChecker,
}

impl PolicyValidator {
    /// A validator; the IAM reference is read on the first policy it checks.
    pub fn new() -> Self {
        PolicyValidator::default()
    }
}

impl Validator for PolicyValidator {
    fn validate(&self, resource_type: &str, properties: &IndexMap<String, Value>) -> Vec<PropertyError> {
        if !POLICY_DOCUMENTS.iter().any(|(t, _, _)| *t == resource_type) {
            return Vec::new();
        }
        self.checker
            .check_resource_where(resource_type, properties, &|k| k.severity() == Severity::Error)
            .into_iter()
            .map(|f| PropertyError {
                path: format!("Properties.{}", f.path),
                message: f.message,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
