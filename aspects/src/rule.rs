//! The rule trait, what a rule sees, and what it reports.

use indexmap::IndexMap;

use cairn_core::{App, NodeId, ResourceEntry, Target, Value};

/// What the user wants done with a rule's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Fix what the rule can fix; what it cannot fix is an error.
    Fix,
    /// Report an error: synthesis fails.
    Error,
    /// Report a warning: synthesis fails only with `--strict`.
    Warn,
    /// Do not run the rule.
    Off,
}

/// A rule's identity and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id, e.g. `CAIRN-S3-ENCRYPTION`; what suppressions name.
    pub id: &'static str,
    /// One sentence: what a compliant resource looks like.
    pub description: &'static str,
    /// The CloudFormation types the rule checks (`"*"`: every type).
    pub resource_types: &'static [&'static str],
    /// The checkov check ids covering the same property (for suppression metadata).
    pub checkov: &'static [&'static str],
    /// The cfn_nag rule ids covering the same property.
    pub cfn_nag: &'static [&'static str],
    /// The cfn-lint rule ids covering the same property.
    pub cfn_lint: &'static [&'static str],
}

impl RuleInfo {
    /// A rule with no mapping to other scanners.
    pub const fn new(
        id: &'static str,
        description: &'static str,
        resource_types: &'static [&'static str],
    ) -> Self {
        RuleInfo {
            id,
            description,
            resource_types,
            checkov: &[],
            cfn_nag: &[],
            cfn_lint: &[],
        }
    }
}

/// The change a fix makes, run once on the app and the resource's node.
pub(crate) type ApplyFix = Box<dyn FnOnce(&mut App, NodeId) -> cairn_core::Result<()>>;

/// How to fix a violation: a description and the change to make.
pub struct Fix {
    /// What the fix does, for the report ("enabled versioning").
    pub description: String,
    pub(crate) apply: ApplyFix,
}

impl std::fmt::Debug for Fix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fix")
            .field("description", &self.description)
            .finish()
    }
}

impl Fix {
    /// A fix that runs arbitrary code on the app (add a node, change resource options ...).
    pub fn new(
        description: impl Into<String>,
        apply: impl FnOnce(&mut App, NodeId) -> cairn_core::Result<()> + 'static,
    ) -> Self {
        Fix {
            description: description.into(),
            apply: Box::new(apply),
        }
    }

    /// A fix that sets a property (dot path under `Properties`).
    pub fn set(description: impl Into<String>, path: &str, value: Value) -> Self {
        let path = path.to_string();
        Fix::new(description, move |app, node| {
            app.add_property_override(node, &path, value)
        })
    }
}

/// One problem found by a rule.
#[derive(Debug)]
pub struct Violation {
    /// What is wrong and how to make it right.
    pub message: String,
    /// The automatic fix, when one is safe.
    pub fix: Option<Fix>,
}

impl Violation {
    /// A violation with no automatic fix.
    pub fn new(message: impl Into<String>) -> Self {
        Violation {
            message: message.into(),
            fix: None,
        }
    }

    /// A violation with a fix.
    pub fn fixable(message: impl Into<String>, fix: Fix) -> Self {
        Violation {
            message: message.into(),
            fix: Some(fix),
        }
    }
}

/// What a rule sees of one resource. Properties are read as the rule asks for them,
/// each computed from the typed resource and its overrides, so a rule that reads one
/// property pays for that one.
pub struct Context<'a> {
    /// The whole app, read-only (to look at related resources).
    pub app: &'a App,
    /// The resource's node.
    pub node: NodeId,
    /// The resource's CloudFormation type.
    pub resource_type: &'a str,
    /// The resource entry (options such as DeletionPolicy).
    pub entry: &'a ResourceEntry,
}

impl Context<'_> {
    /// The property at a dot path (`A.B.C`) after overrides (intrinsics unresolved), if
    /// present.
    pub fn get(&self, path: &str) -> Option<Value> {
        let mut parts = path.split('.');
        let mut cur = self.entry.final_property(parts.next()?)?;
        for p in parts {
            cur = cur.as_map_mut()?.shift_remove(p)?;
        }
        Some(cur)
    }

    /// True when the property at `path` is the boolean literal `true`.
    pub fn is_true(&self, path: &str) -> bool {
        match self.get(path) {
            Some(Value::Bool(b)) => b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    /// Every property after overrides (intrinsics unresolved).
    pub fn properties(&self) -> IndexMap<String, Value> {
        self.entry.final_properties()
    }

    /// The construct path of the resource.
    pub fn path(&self) -> String {
        self.app.path(self.node)
    }
}

/// The value at a dot path inside a property map.
pub fn get_path<'v>(props: &'v IndexMap<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut cur = props.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_map()?.get(p)?;
    }
    Some(cur)
}

/// True when `v` is a `Ref` to node `n`, or a `Fn::GetAtt` of it.
pub fn refers_to(v: &Value, n: NodeId) -> bool {
    match v {
        Value::Intrinsic(i) => matches!(
            &**i,
            cairn_core::Intrinsic::Ref(Target::Node(t)) | cairn_core::Intrinsic::GetAtt(Target::Node(t), _) if *t == n
        ),
        _ => false,
    }
}

/// A compliance rule: checks one resource, and says how to fix what it finds.
///
/// ```
/// use cairn_aspects::{Context, Fix, Rule, RuleInfo, Violation};
///
/// /// Topics get their names from the platform, not from templates.
/// struct NoTopicNames;
/// impl Rule for NoTopicNames {
///     fn info(&self) -> RuleInfo {
///         RuleInfo::new("ACME-SNS-NAME", "Topics are not named in templates", &["AWS::SNS::Topic"])
///     }
///     fn check(&self, cx: &Context) -> Vec<Violation> {
///         match cx.get("TopicName") {
///             Some(_) => vec![Violation::fixable(
///                 "TopicName is set; remove it so names stay unique",
///                 Fix::new("removed TopicName", |app, node| app.add_property_deletion_override(node, "TopicName")),
///             )],
///             None => vec![],
///         }
///     }
/// }
/// ```
pub trait Rule {
    /// Id, description and covered types.
    fn info(&self) -> RuleInfo;
    /// The violations of one resource of a covered type.
    fn check(&self, cx: &Context) -> Vec<Violation>;
}
