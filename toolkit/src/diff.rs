//! The diff engine: compares two templates (the deployed one and the synthesized one)
//! resource by resource and property by property, decides which changes replace a
//! resource (from the create-only properties in [`ResourceFacts`]), which ones lose data,
//! and which ones change security (IAM statements, managed policies, security group rules).
//!
//! Pure: no AWS calls. [`TemplateDiff::render`] gives the coloured text `cairn diff`
//! prints; the structure serializes for `--json`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::facts::{is_create_only, ResourceFacts};
use crate::style::Style;

/// What happened to a resource or a template entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Only in the new template.
    Added,
    /// Only in the old template.
    Removed,
    /// In both, different.
    Modified,
}

impl ChangeKind {
    fn symbol(self) -> &'static str {
        match self {
            ChangeKind::Added => "[+]",
            ChangeKind::Removed => "[-]",
            ChangeKind::Modified => "[~]",
        }
    }
}

/// Whether an update replaces the resource (a new physical resource, the old one deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Replacement {
    /// Updated in place.
    Never,
    /// CloudFormation decides at deploy time (the change set said `Conditional`).
    Conditional,
    /// Replaced.
    Always,
}

/// One changed property (or resource attribute such as `DeletionPolicy`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyChange {
    /// Path from the resource: `["Properties", "BucketName"]`, `["DeletionPolicy"]`.
    pub path: Vec<String>,
    /// The deployed value (absent when added).
    pub old: Option<Json>,
    /// The new value (absent when removed).
    pub new: Option<Json>,
    /// Whether this change alone replaces the resource (a create-only property).
    pub replaces: bool,
}

/// One changed resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceDiff {
    /// The logical ID.
    pub logical_id: String,
    /// The CloudFormation type (the new one when the type changed).
    pub resource_type: String,
    /// Added, removed or modified.
    pub kind: ChangeKind,
    /// Property and attribute changes (modified resources only).
    pub changes: Vec<PropertyChange>,
    /// Whether the update replaces the resource (modified resources only).
    pub replacement: Replacement,
    /// Whether the resource type holds data.
    pub holds_data: bool,
    /// The deployed resource's `DeletionPolicy` (what a deletion does).
    pub deletion_policy: Option<String>,
    /// The deployed resource's `UpdateReplacePolicy` (what a replacement does to the old one).
    pub update_replace_policy: Option<String>,
}

fn keeps(policy: Option<&str>) -> bool {
    matches!(policy, Some("Retain" | "Snapshot" | "RetainExceptOnCreate"))
}

impl ResourceDiff {
    /// Whether deploying this change loses data: a data-holding resource deleted without a
    /// `Retain`/`Snapshot` `DeletionPolicy`, or replaced without such an `UpdateReplacePolicy`.
    pub fn loses_data(&self) -> bool {
        if !self.holds_data {
            return false;
        }
        match self.kind {
            ChangeKind::Removed => !keeps(self.deletion_policy.as_deref()),
            ChangeKind::Modified => {
                self.replacement != Replacement::Never && !keeps(self.update_replace_policy.as_deref())
            }
            ChangeKind::Added => false,
        }
    }

    /// Whether the old resource is deleted (removed or replaced) but kept by its policy.
    pub fn retained(&self) -> bool {
        match self.kind {
            ChangeKind::Removed => keeps(self.deletion_policy.as_deref()),
            ChangeKind::Modified => {
                self.replacement != Replacement::Never && keeps(self.update_replace_policy.as_deref())
            }
            ChangeKind::Added => false,
        }
    }
}

/// A change to another template section (`Parameters`, `Outputs`, `Conditions` ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionChange {
    /// The section name.
    pub section: String,
    /// The entry key (empty for scalar sections such as `Description`).
    pub key: String,
    /// What happened.
    pub kind: ChangeKind,
}

/// What a security change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityCategory {
    /// A statement of an IAM policy document (identity, resource or trust policy).
    IamStatement,
    /// A managed policy attached to a role, user or group.
    ManagedPolicy,
    /// An inbound security group rule.
    IngressRule,
    /// An outbound security group rule.
    EgressRule,
}

/// An added or removed security item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityChange {
    /// Added or removed.
    pub kind: ChangeKind,
    /// What it is.
    pub category: SecurityCategory,
    /// The logical ID of the resource that holds it.
    pub resource: String,
    /// Where in the resource (`AssumeRolePolicyDocument`, `Policies/0/PolicyDocument` ...).
    pub location: String,
    /// The item (a statement, an ARN, a rule).
    pub item: Json,
}

impl SecurityChange {
    /// Whether the change grants more: an added `Allow` statement, managed policy or rule.
    pub fn broadens(&self) -> bool {
        self.kind == ChangeKind::Added
            && !(self.category == SecurityCategory::IamStatement
                && self.item.get("Effect").and_then(Json::as_str) == Some("Deny"))
    }
}

/// The difference between two templates.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TemplateDiff {
    /// Changed resources, in template order (removed ones after the others).
    pub resources: Vec<ResourceDiff>,
    /// Changes to the other sections.
    pub sections: Vec<SectionChange>,
    /// Security changes.
    pub security: Vec<SecurityChange>,
}

fn object<'a>(template: &'a Json, section: &str) -> Option<&'a Map<String, Json>> {
    template.get(section).and_then(Json::as_object)
}

static EMPTY: std::sync::LazyLock<Map<String, Json>> = std::sync::LazyLock::new(Map::new);

/// Compares the deployed template `old` (`Json::Null` or `{}` when the stack does not
/// exist) with the new one.
pub fn diff_templates(old: &Json, new: &Json, facts: &dyn ResourceFacts) -> TemplateDiff {
    let mut out = TemplateDiff::default();
    let old_res = object(old, "Resources").unwrap_or(&EMPTY);
    let new_res = object(new, "Resources").unwrap_or(&EMPTY);
    for (id, n) in new_res {
        let new_type = resource_type(n);
        match old_res.get(id) {
            None => out.resources.push(ResourceDiff {
                logical_id: id.clone(),
                resource_type: new_type.to_string(),
                kind: ChangeKind::Added,
                changes: vec![],
                replacement: Replacement::Never,
                holds_data: facts.holds_data(new_type),
                deletion_policy: None,
                update_replace_policy: None,
            }),
            Some(o) if o == n => {}
            Some(o) => out.resources.push(modified(id, o, n, facts)),
        }
    }
    for (id, o) in old_res {
        if !new_res.contains_key(id) {
            let t = resource_type(o);
            out.resources.push(ResourceDiff {
                logical_id: id.clone(),
                resource_type: t.to_string(),
                kind: ChangeKind::Removed,
                changes: vec![],
                replacement: Replacement::Never,
                holds_data: facts.holds_data(t),
                deletion_policy: str_attr(o, "DeletionPolicy"),
                update_replace_policy: str_attr(o, "UpdateReplacePolicy"),
            });
        }
    }
    for section in [
        "Parameters",
        "Conditions",
        "Mappings",
        "Rules",
        "Outputs",
        "Metadata",
    ] {
        let o = object(old, section).unwrap_or(&EMPTY);
        let n = object(new, section).unwrap_or(&EMPTY);
        for (k, v) in n {
            match o.get(k) {
                None => out.sections.push(section_change(section, k, ChangeKind::Added)),
                Some(ov) if ov != v => out
                    .sections
                    .push(section_change(section, k, ChangeKind::Modified)),
                Some(_) => {}
            }
        }
        for k in o.keys() {
            if !n.contains_key(k) {
                out.sections.push(section_change(section, k, ChangeKind::Removed));
            }
        }
    }
    for section in ["Description", "Transform", "AWSTemplateFormatVersion"] {
        let (o, n) = (old.get(section), new.get(section));
        if o != n {
            let kind = match (o, n) {
                (None, Some(_)) => ChangeKind::Added,
                (Some(_), None) => ChangeKind::Removed,
                _ => ChangeKind::Modified,
            };
            out.sections.push(section_change(section, "", kind));
        }
    }
    out.security = security_changes(old_res, new_res);
    out
}

fn section_change(section: &str, key: &str, kind: ChangeKind) -> SectionChange {
    SectionChange {
        section: section.into(),
        key: key.into(),
        kind,
    }
}

fn resource_type(r: &Json) -> &str {
    r.get("Type").and_then(Json::as_str).unwrap_or("?")
}

fn str_attr(r: &Json, attr: &str) -> Option<String> {
    r.get(attr).and_then(Json::as_str).map(String::from)
}

fn modified(id: &str, o: &Json, n: &Json, facts: &dyn ResourceFacts) -> ResourceDiff {
    let (old_type, new_type) = (resource_type(o), resource_type(n));
    let mut changes = Vec::new();
    let mut replacement = Replacement::Never;
    if old_type != new_type {
        changes.push(PropertyChange {
            path: vec!["Type".into()],
            old: Some(Json::from(old_type)),
            new: Some(Json::from(new_type)),
            replaces: true,
        });
        replacement = Replacement::Always;
    } else {
        let empty = Json::Object(Map::new());
        let op = o.get("Properties").unwrap_or(&empty);
        let np = n.get("Properties").unwrap_or(&empty);
        let mut props = Vec::new();
        diff_values(&mut vec!["Properties".into()], Some(op), Some(np), &mut props);
        let create_only = facts.create_only(new_type).unwrap_or_default();
        for mut c in props {
            c.replaces = is_create_only(&create_only, &c.path[1..]);
            if c.replaces {
                replacement = Replacement::Always;
            }
            changes.push(c);
        }
        let keys: BTreeSet<&String> = o
            .as_object()
            .into_iter()
            .chain(n.as_object())
            .flat_map(|m| m.keys())
            .filter(|k| !matches!(k.as_str(), "Properties" | "Type"))
            .collect();
        for k in keys {
            let (ov, nv) = (o.get(k.as_str()), n.get(k.as_str()));
            if ov != nv {
                changes.push(PropertyChange {
                    path: vec![k.clone()],
                    old: ov.cloned(),
                    new: nv.cloned(),
                    replaces: false,
                });
            }
        }
    }
    ResourceDiff {
        logical_id: id.to_string(),
        resource_type: new_type.to_string(),
        kind: ChangeKind::Modified,
        changes,
        replacement,
        holds_data: facts.holds_data(old_type),
        deletion_policy: str_attr(o, "DeletionPolicy"),
        update_replace_policy: str_attr(o, "UpdateReplacePolicy"),
    }
}

/// Objects are compared key by key; anything else (arrays, scalars, intrinsics with one
/// key are objects too) is one change when different.
fn diff_values(path: &mut Vec<String>, o: Option<&Json>, n: Option<&Json>, out: &mut Vec<PropertyChange>) {
    match (o, n) {
        (Some(Json::Object(a)), Some(Json::Object(b))) if !is_intrinsic(a) && !is_intrinsic(b) => {
            let keys: Vec<&String> = b.keys().chain(a.keys().filter(|k| !b.contains_key(*k))).collect();
            for k in keys {
                path.push(k.clone());
                diff_values(path, a.get(k), b.get(k), out);
                path.pop();
            }
        }
        (a, b) if a != b => out.push(PropertyChange {
            path: path.clone(),
            old: a.cloned(),
            new: b.cloned(),
            replaces: false,
        }),
        _ => {}
    }
}

fn is_intrinsic(m: &Map<String, Json>) -> bool {
    m.len() == 1
        && m.keys()
            .next()
            .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
}

// ------------------------------------------------------------------ security ----

type SecurityItem = (SecurityCategory, String, String, Json);

fn security_items(resources: &Map<String, Json>) -> Vec<SecurityItem> {
    let mut items = Vec::new();
    for (id, r) in resources {
        let t = resource_type(r);
        let Some(props) = r.get("Properties").and_then(Json::as_object) else {
            continue;
        };
        for (key, value) in props {
            match key.as_str() {
                "PolicyDocument" | "AssumeRolePolicyDocument" | "KeyPolicy" => {
                    statements(value, id, key, &mut items)
                }
                "Policies" => {
                    for (i, p) in value.as_array().into_iter().flatten().enumerate() {
                        if let Some(doc) = p.get("PolicyDocument") {
                            statements(doc, id, &format!("Policies/{i}/PolicyDocument"), &mut items);
                        }
                    }
                }
                "ManagedPolicyArns" => {
                    for arn in value.as_array().into_iter().flatten() {
                        items.push((
                            SecurityCategory::ManagedPolicy,
                            id.clone(),
                            key.clone(),
                            arn.clone(),
                        ));
                    }
                }
                "SecurityGroupIngress" | "SecurityGroupEgress" if t == "AWS::EC2::SecurityGroup" => {
                    let cat = if key == "SecurityGroupIngress" {
                        SecurityCategory::IngressRule
                    } else {
                        SecurityCategory::EgressRule
                    };
                    for rule in value.as_array().into_iter().flatten() {
                        items.push((cat, id.clone(), key.clone(), rule.clone()));
                    }
                }
                _ => {}
            }
        }
        match t {
            "AWS::EC2::SecurityGroupIngress" | "AWS::EC2::SecurityGroupEgress" => {
                let cat = if t.ends_with("Ingress") {
                    SecurityCategory::IngressRule
                } else {
                    SecurityCategory::EgressRule
                };
                items.push((cat, id.clone(), String::new(), Json::Object(props.clone())));
            }
            "AWS::Lambda::Permission" => {
                let mut s = Map::new();
                s.insert("Effect".into(), "Allow".into());
                for (from, to) in [
                    ("Action", "Action"),
                    ("Principal", "Principal"),
                    ("FunctionName", "Resource"),
                    ("SourceArn", "SourceArn"),
                    ("SourceAccount", "SourceAccount"),
                ] {
                    if let Some(v) = props.get(from) {
                        s.insert(to.into(), v.clone());
                    }
                }
                items.push((
                    SecurityCategory::IamStatement,
                    id.clone(),
                    String::new(),
                    Json::Object(s),
                ));
            }
            _ => {}
        }
    }
    items
}

fn statements(doc: &Json, id: &str, location: &str, items: &mut Vec<SecurityItem>) {
    let list: Vec<&Json> = match doc.get("Statement") {
        Some(Json::Array(a)) => a.iter().collect(),
        Some(s @ Json::Object(_)) => vec![s],
        _ => vec![],
    };
    for s in list {
        items.push((
            SecurityCategory::IamStatement,
            id.to_string(),
            location.to_string(),
            s.clone(),
        ));
    }
}

fn security_changes(old: &Map<String, Json>, new: &Map<String, Json>) -> Vec<SecurityChange> {
    let (o, n) = (security_items(old), security_items(new));
    let mut out = Vec::new();
    for (items, others, kind) in [(&n, &o, ChangeKind::Added), (&o, &n, ChangeKind::Removed)] {
        for it in items {
            if !others.contains(it) {
                out.push(SecurityChange {
                    kind,
                    category: it.0,
                    resource: it.1.clone(),
                    location: it.2.clone(),
                    item: it.3.clone(),
                });
            }
        }
    }
    out
}

// ----------------------------------------------------------------- rendering ----

/// A value as the diff shows it: strings bare, the rest as compact JSON.
pub fn show_value(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl TemplateDiff {
    /// Whether the templates are the same.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.sections.is_empty() && self.security.is_empty()
    }

    /// The changes that lose data (see [`ResourceDiff::loses_data`]).
    pub fn data_loss(&self) -> Vec<&ResourceDiff> {
        self.resources.iter().filter(|r| r.loses_data()).collect()
    }

    /// Whether a security change grants more.
    pub fn broadens_security(&self) -> bool {
        self.security.iter().any(SecurityChange::broadens)
    }

    /// Raises the replacement of `logical_id` to what CloudFormation's change set says
    /// (it knows more, e.g. about values only resolved at deploy time).
    pub fn raise_replacement(&mut self, logical_id: &str, replacement: Replacement) {
        if let Some(r) = self
            .resources
            .iter_mut()
            .find(|r| r.logical_id == logical_id && r.kind == ChangeKind::Modified)
        {
            r.replacement = r.replacement.max(replacement);
        }
    }

    /// The security changes as text (empty when there are none).
    pub fn render_security(&self, style: Style) -> String {
        let mut s = String::new();
        if self.security.is_empty() {
            return s;
        }
        let _ = writeln!(s, "{}", style.bold("Security changes:"));
        let mut sorted: Vec<&SecurityChange> = self.security.iter().collect();
        sorted.sort_by_key(|c| c.category);
        let mut last = None;
        for c in sorted {
            if last != Some(c.category) {
                let title = match c.category {
                    SecurityCategory::IamStatement => "IAM statements",
                    SecurityCategory::ManagedPolicy => "IAM managed policies",
                    SecurityCategory::IngressRule => "Security group ingress rules",
                    SecurityCategory::EgressRule => "Security group egress rules",
                };
                let _ = writeln!(s, "  {title}");
                last = Some(c.category);
            }
            let sign = if c.kind == ChangeKind::Added { "+" } else { "-" };
            let where_ = if c.location.is_empty() {
                c.resource.clone()
            } else {
                format!("{}.{}", c.resource, c.location)
            };
            let line = format!("    {sign} {where_}: {}", describe_item(c));
            let line = if c.broadens() {
                style.yellow(&line)
            } else if c.kind == ChangeKind::Added {
                style.green(&line)
            } else {
                style.red(&line)
            };
            let _ = writeln!(s, "{line}");
        }
        if self.broadens_security() {
            let _ = writeln!(
                s,
                "  {}",
                style.yellow("(these changes widen permissions or network access)")
            );
        }
        s
    }

    /// The whole diff as text, as `cairn diff` prints it under the stack name.
    pub fn render(&self, style: Style) -> String {
        if self.is_empty() {
            return "There were no differences\n".into();
        }
        let mut s = self.render_security(style);
        if !s.is_empty() {
            s.push('\n');
        }
        let mut sections: Vec<&SectionChange> = self.sections.iter().collect();
        sections.sort_by(|a, b| a.section.cmp(&b.section));
        let mut last = "";
        for c in sections {
            if c.key.is_empty() {
                let line = format!("{} {}", c.kind.symbol(), c.section);
                let _ = writeln!(s, "{}", colour_kind(style, c.kind, &line));
                continue;
            }
            if c.section != last {
                let _ = writeln!(s, "{}", style.bold(&c.section));
                last = &c.section;
            }
            let line = format!("{} {}", c.kind.symbol(), c.key);
            let _ = writeln!(s, "{}", colour_kind(style, c.kind, &line));
        }
        if !self.resources.is_empty() {
            let _ = writeln!(s, "{}", style.bold("Resources"));
        }
        for r in &self.resources {
            render_resource(&mut s, r, style);
        }
        s
    }
}

fn colour_kind(style: Style, kind: ChangeKind, text: &str) -> String {
    match kind {
        ChangeKind::Added => style.green(text),
        ChangeKind::Removed => style.red(text),
        ChangeKind::Modified => style.yellow(text),
    }
}

fn describe_item(c: &SecurityChange) -> String {
    match c.category {
        SecurityCategory::IamStatement => {
            let get = |k: &str| c.item.get(k).map(show_value).unwrap_or_default();
            let mut text = format!("{} {}", get("Effect"), get("Action"));
            for k in [
                "NotAction",
                "Principal",
                "NotPrincipal",
                "Resource",
                "NotResource",
                "Condition",
            ] {
                if let Some(v) = c.item.get(k) {
                    let _ = write!(text, " {k}={}", show_value(v));
                }
            }
            text
        }
        _ => show_value(&c.item),
    }
}

fn render_resource(s: &mut String, r: &ResourceDiff, style: Style) {
    let mut head = format!("{} {} {}", r.kind.symbol(), r.resource_type, r.logical_id);
    let mut warn = String::new();
    match r.kind {
        ChangeKind::Modified => match r.replacement {
            Replacement::Always => head.push_str(" replace"),
            Replacement::Conditional => head.push_str(" may be replaced"),
            Replacement::Never => {}
        },
        ChangeKind::Removed => head.push_str(" destroy"),
        ChangeKind::Added => {}
    }
    if r.loses_data() {
        warn = match r.kind {
            ChangeKind::Removed => format!(
                "  !! deleting this {} destroys its data (DeletionPolicy is {})",
                r.resource_type,
                r.deletion_policy.as_deref().unwrap_or("Delete")
            ),
            _ => format!(
                "  !! replacing this {} destroys its data (UpdateReplacePolicy is {})",
                r.resource_type,
                r.update_replace_policy.as_deref().unwrap_or("Delete")
            ),
        };
    } else if r.retained() {
        warn = "  (the old resource is retained by its policy)".into();
    }
    let head = if r.loses_data() {
        style.red_bold(&head)
    } else if r.kind == ChangeKind::Modified && r.replacement != Replacement::Never {
        style.red(&head)
    } else {
        colour_kind(style, r.kind, &head)
    };
    let _ = writeln!(s, "{head}");
    if !warn.is_empty() {
        let _ = writeln!(
            s,
            "{}",
            if r.loses_data() {
                style.red_bold(&warn)
            } else {
                warn
            }
        );
    }
    let n = r.changes.len();
    for (i, c) in r.changes.iter().enumerate() {
        let last = i + 1 == n;
        let (branch, pad) = if last {
            (" └─", "    ")
        } else {
            (" ├─", " │  ")
        };
        let path = if c.path.first().map(String::as_str) == Some("Properties") {
            c.path[1..].join(".")
        } else {
            c.path.join(".")
        };
        let kind = match (&c.old, &c.new) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Removed,
            _ => ChangeKind::Modified,
        };
        let mut line = format!("{branch} {} {path}", kind.symbol());
        if c.replaces {
            line.push_str(" (requires replacement)");
        }
        let _ = writeln!(s, "{}", if c.replaces { style.red(&line) } else { line });
        match (&c.old, &c.new) {
            (Some(o), Some(nw)) => {
                let _ = writeln!(s, "{pad} ├─ {}", style.red(&format!("[-] {}", show_value(o))));
                let _ = writeln!(s, "{pad} └─ {}", style.green(&format!("[+] {}", show_value(nw))));
            }
            (Some(o), None) => {
                let _ = writeln!(s, "{pad} └─ {}", style.red(&format!("[-] {}", show_value(o))));
            }
            (None, Some(nw)) => {
                let _ = writeln!(s, "{pad} └─ {}", style.green(&format!("[+] {}", show_value(nw))));
            }
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::BuiltinFacts;
    use serde_json::json;

    fn d(old: Json, new: Json) -> TemplateDiff {
        diff_templates(&old, &new, &BuiltinFacts)
    }

    #[test]
    fn identical_templates_have_no_diff() {
        let t = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}});
        let diff = d(t.clone(), t);
        assert!(diff.is_empty());
        assert_eq!(diff.render(Style::plain()), "There were no differences\n");
    }

    #[test]
    fn new_stack_lists_every_resource_as_added() {
        let diff = d(
            Json::Null,
            json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}, "T": {"Type": "AWS::SNS::Topic"}}}),
        );
        assert_eq!(diff.resources.len(), 2);
        assert!(diff.resources.iter().all(|r| r.kind == ChangeKind::Added));
        assert!(diff.data_loss().is_empty());
    }

    #[test]
    fn property_change_in_place_and_nested_paths() {
        let old = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 60, "RedrivePolicy": {"maxReceiveCount": 3}}}}});
        let new = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 120, "RedrivePolicy": {"maxReceiveCount": 5}}}}});
        let diff = d(old, new);
        let r = &diff.resources[0];
        assert_eq!(r.kind, ChangeKind::Modified);
        assert_eq!(r.replacement, Replacement::Never);
        let paths: Vec<String> = r.changes.iter().map(|c| c.path.join("/")).collect();
        assert_eq!(
            paths,
            [
                "Properties/MessageRetentionPeriod",
                "Properties/RedrivePolicy/maxReceiveCount"
            ]
        );
        let text = diff.render(Style::plain());
        assert!(text.contains("[~] AWS::SQS::Queue Q\n"), "{text}");
        assert!(
            text.contains(" ├─ [~] MessageRetentionPeriod\n │   ├─ [-] 60\n │   └─ [+] 120\n"),
            "{text}"
        );
        assert!(text.contains(" └─ [~] RedrivePolicy.maxReceiveCount\n"), "{text}");
    }

    #[test]
    fn create_only_change_replaces_and_flags_data_loss() {
        let old = json!({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "a"}}}});
        let new = json!({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "b"}}}});
        let diff = d(old, new);
        let r = &diff.resources[0];
        assert_eq!(r.replacement, Replacement::Always);
        assert!(r.changes[0].replaces);
        assert!(r.loses_data());
        let text = diff.render(Style::plain());
        assert!(text.contains("[~] AWS::S3::Bucket B replace"), "{text}");
        assert!(text.contains("BucketName (requires replacement)"), "{text}");
        assert!(
            text.contains("replacing this AWS::S3::Bucket destroys its data"),
            "{text}"
        );
    }

    #[test]
    fn retain_policies_keep_data() {
        let old = json!({"Resources": {
            "B": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {"BucketName": "a"}},
            "T": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Snapshot"},
            "L": {"Type": "AWS::Logs::LogGroup"}
        }});
        let new = json!({"Resources": {"B": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {"BucketName": "b"}}}});
        let diff = d(old, new);
        let lost: Vec<&str> = diff.data_loss().iter().map(|r| r.logical_id.as_str()).collect();
        assert_eq!(lost, ["L"]);
        assert!(diff
            .resources
            .iter()
            .find(|r| r.logical_id == "B")
            .is_some_and(ResourceDiff::retained));
        let text = diff.render(Style::plain());
        assert!(text.contains("[-] AWS::Logs::LogGroup L destroy\n  !! deleting this AWS::Logs::LogGroup destroys its data (DeletionPolicy is Delete)"), "{text}");
    }

    #[test]
    fn stateless_replacement_is_not_data_loss_and_type_change_replaces() {
        let old = json!({"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "a"}}, "X": {"Type": "AWS::SNS::Topic"}}});
        let new = json!({"Resources": {"T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "b"}}, "X": {"Type": "AWS::SQS::Queue"}}});
        let diff = d(old, new);
        assert!(diff
            .resources
            .iter()
            .all(|r| r.replacement == Replacement::Always));
        assert!(diff.data_loss().is_empty());
    }

    #[test]
    fn intrinsics_compare_whole_and_attributes_are_listed() {
        let old = json!({"Resources": {"S": {"Type": "AWS::SNS::Subscription", "Properties": {"TopicArn": {"Ref": "A"}}}}});
        let new = json!({"Resources": {"S": {"Type": "AWS::SNS::Subscription", "DependsOn": ["X"], "Properties": {"TopicArn": {"Ref": "B"}}}}});
        let diff = d(old, new);
        let r = &diff.resources[0];
        assert_eq!(r.changes[0].path, ["Properties", "TopicArn"]);
        assert_eq!(r.changes[0].new, Some(json!({"Ref": "B"})));
        assert!(r.changes[0].replaces, "TopicArn is create-only for subscriptions");
        assert_eq!(r.changes[1].path, ["DependsOn"]);
    }

    #[test]
    fn sections_are_diffed() {
        let old = json!({"Parameters": {"A": {"Type": "String"}}, "Outputs": {"O": {"Value": "1"}}, "Resources": {}});
        let new = json!({"Parameters": {"B": {"Type": "String"}}, "Outputs": {"O": {"Value": "2"}}, "Resources": {}, "Description": "d"});
        let diff = d(old, new);
        let got: Vec<(String, String, ChangeKind)> = diff
            .sections
            .iter()
            .map(|c| (c.section.clone(), c.key.clone(), c.kind))
            .collect();
        assert!(got.contains(&("Parameters".into(), "B".into(), ChangeKind::Added)));
        assert!(got.contains(&("Parameters".into(), "A".into(), ChangeKind::Removed)));
        assert!(got.contains(&("Outputs".into(), "O".into(), ChangeKind::Modified)));
        assert!(got.contains(&("Description".into(), "".into(), ChangeKind::Added)));
        assert!(diff.render(Style::plain()).contains("[+] Description\n"));
    }

    #[test]
    fn security_diff_covers_statements_trust_managed_policies_and_rules() {
        let old = json!({"Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]},
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}},
            "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/8"}]}}
        }});
        let new = json!({"Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}]},
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}}}]}},
            "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]}},
            "Perm": {"Type": "AWS::Lambda::Permission", "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "s3.amazonaws.com"}}
        }});
        let diff = d(old, new);
        let cats: Vec<(ChangeKind, SecurityCategory)> =
            diff.security.iter().map(|c| (c.kind, c.category)).collect();
        assert!(cats.contains(&(ChangeKind::Added, SecurityCategory::ManagedPolicy)));
        assert!(cats.contains(&(ChangeKind::Removed, SecurityCategory::ManagedPolicy)));
        assert!(cats.contains(&(ChangeKind::Added, SecurityCategory::IngressRule)));
        assert!(cats.contains(&(ChangeKind::Removed, SecurityCategory::IngressRule)));
        // the Deny statement is added but does not broaden; the permission does
        let deny = diff
            .security
            .iter()
            .find(|c| c.location.starts_with("Policies/0"))
            .map(SecurityChange::broadens);
        assert_eq!(deny, Some(false));
        assert!(diff.security.iter().any(|c| c.resource == "Perm" && c.broadens()));
        assert!(diff.broadens_security());
        // the unchanged trust statement is not listed
        assert!(!diff
            .security
            .iter()
            .any(|c| c.location == "AssumeRolePolicyDocument"));
        let text = diff.render(Style::plain());
        assert!(text.contains("Security changes:\n  IAM statements\n"), "{text}");
        assert!(
            text.contains("    + Perm: Allow lambda:InvokeFunction Principal=s3.amazonaws.com Resource=f"),
            "{text}"
        );
        assert!(
            text.contains("    + Sg.SecurityGroupIngress: {\"IpProtocol\":\"tcp\",\"FromPort\":22"),
            "{text}"
        );
        assert!(text.contains("widen permissions"), "{text}");
    }

    #[test]
    fn removing_permissions_does_not_broaden() {
        let old = json!({"Resources": {"P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}}}});
        let new = json!({"Resources": {"P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": []}}}}});
        let diff = d(old, new);
        assert_eq!(diff.security.len(), 1);
        assert!(!diff.broadens_security());
    }

    #[test]
    fn change_set_can_raise_replacement() {
        let old = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 1}}}});
        let new = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"DelaySeconds": 2}}}});
        let mut diff = d(old, new);
        assert!(diff.data_loss().is_empty());
        diff.raise_replacement("Q", Replacement::Conditional);
        assert_eq!(diff.resources[0].replacement, Replacement::Conditional);
        assert_eq!(diff.data_loss().len(), 1, "an SQS queue holds messages");
        assert!(diff
            .render(Style::plain())
            .contains("[~] AWS::SQS::Queue Q may be replaced"));
    }

    #[test]
    fn colours_only_when_asked() {
        let diff = d(
            Json::Null,
            json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}),
        );
        assert!(!diff.render(Style::plain()).contains('\u{1b}'));
        assert!(diff
            .render(Style::coloured())
            .contains("\u{1b}[32m[+] AWS::SQS::Queue Q\u{1b}[0m"));
    }
}
