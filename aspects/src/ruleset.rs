//! A set of rules with a mode each, applied to a scope as two aspects: the fixing rules
//! (mutating priority) and the checking rules (read-only priority).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use cairn_core::{App, Aspect, Aspects, Level, NodeId, PRIORITY_MUTATING, PRIORITY_READONLY};

use crate::report::{Finding, FindingsReporter, Status};
use crate::rule::{Context, Mode, Rule, RuleInfo};
use crate::suppress::{suppression_for, write_suppression_metadata};

/// The findings of every rule set applied to an app, shared with its reporter.
pub type Findings = Rc<RefCell<Vec<Finding>>>;

/// Rules and their modes.
///
/// ```
/// use cairn_aspects::{Mode, RuleSet};
/// use cairn_core::{App, CfnResource};
///
/// let mut app = App::new();
/// let stack = app.stack("S").unwrap();
/// app.add(stack, "Bucket", CfnResource::new("AWS::S3::Bucket")).unwrap();
/// let root = app.root();
/// RuleSet::recommended()
///     .mode("CAIRN-S3-VERSIONING", Mode::Warn)
///     .apply(&mut app, root);
/// let asm = app.synth().unwrap();
/// let bucket = &asm.stack("S").unwrap().template["Resources"]["Bucket"];
/// assert_eq!(bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
///     ["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256");
/// ```
pub struct RuleSet {
    rules: Vec<(Rc<dyn Rule>, Mode)>,
}

impl Default for RuleSet {
    fn default() -> Self {
        Self::recommended()
    }
}

impl RuleSet {
    /// No rules.
    pub fn empty() -> Self {
        RuleSet { rules: Vec::new() }
    }

    /// Every built-in rule that needs no configuration, fixing what can be fixed and
    /// reporting the rest as errors; and the IAM policy check's warnings
    /// ([`rules::recommended_warnings`](crate::rules::recommended_warnings)) as warnings.
    pub fn recommended() -> Self {
        let mut set = RuleSet::empty();
        for r in crate::rules::recommended() {
            set = set.rule_boxed(r, Mode::Fix);
        }
        for r in crate::rules::recommended_warnings() {
            set = set.rule_boxed(r, Mode::Warn);
        }
        set
    }

    /// Adds a rule with a mode (replacing a rule with the same id).
    pub fn rule(self, rule: impl Rule + 'static, mode: Mode) -> Self {
        self.rule_boxed(Rc::new(rule), mode)
    }

    /// Adds a shared rule with a mode (replacing a rule with the same id).
    pub fn rule_boxed(mut self, rule: Rc<dyn Rule>, mode: Mode) -> Self {
        let id = rule.info().id;
        self.rules.retain(|(r, _)| r.info().id != id);
        self.rules.push((rule, mode));
        self
    }

    /// Changes the mode of a rule by id (no effect when the set has no such rule).
    pub fn mode(mut self, id: &str, mode: Mode) -> Self {
        for (r, m) in &mut self.rules {
            if r.info().id == id {
                *m = mode;
            }
        }
        self
    }

    /// The rules and their modes.
    pub fn rules(&self) -> Vec<(RuleInfo, Mode)> {
        self.rules.iter().map(|(r, m)| (r.info(), *m)).collect()
    }

    /// Adds the rules to `scope` as aspects and registers the findings report (JSON and
    /// SARIF in the assembly, a summary on the terminal).
    pub fn apply(self, app: &mut App, scope: impl Into<NodeId>) -> Findings {
        let scope = scope.into();
        // One report per app: rule sets applied to several scopes share it.
        let (findings, new_reporter) = match app.reporter::<FindingsReporter>() {
            Some(r) => (r.findings(), false),
            None => (Rc::new(RefCell::new(Vec::new())), true),
        };
        let (fixers, checkers): (Vec<_>, Vec<_>) = self
            .rules
            .into_iter()
            .filter(|(_, m)| *m != Mode::Off)
            .partition(|(_, m)| *m == Mode::Fix);
        let all_infos: Vec<RuleInfo> = fixers.iter().chain(&checkers).map(|(r, _)| r.info()).collect();
        let mut aspects = Aspects::of(app, scope);
        if !fixers.is_empty() {
            aspects.add_with_priority(
                RuleAspect::new(fixers, findings.clone(), Vec::new()),
                PRIORITY_MUTATING,
            );
        }
        // The checker also writes suppression metadata for every rule in the set.
        aspects.add_with_priority(
            RuleAspect::new(checkers, findings.clone(), all_infos),
            PRIORITY_READONLY,
        );
        if new_reporter {
            app.add_reporter(Box::new(FindingsReporter::new(findings.clone())));
        }
        findings
    }
}

/// Rules of one phase, indexed by resource type.
struct RuleAspect {
    rules: Vec<(Rc<dyn Rule>, Mode)>,
    by_type: HashMap<&'static str, Vec<usize>>,
    findings: Findings,
    /// When non-empty, suppression metadata for these rules is written on each resource.
    suppression_infos: Vec<RuleInfo>,
}

impl RuleAspect {
    fn new(rules: Vec<(Rc<dyn Rule>, Mode)>, findings: Findings, suppression_infos: Vec<RuleInfo>) -> Self {
        let mut by_type: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (i, (r, _)) in rules.iter().enumerate() {
            for t in r.info().resource_types {
                by_type.entry(t).or_default().push(i);
            }
        }
        RuleAspect {
            rules,
            by_type,
            findings,
            suppression_infos,
        }
    }
}

impl Aspect for RuleAspect {
    fn name(&self) -> String {
        "RuleSet".into()
    }

    fn visit(&self, app: &mut App, node: NodeId) {
        let Some(ty) = app.node(node).resource_type().map(str::to_string) else {
            return;
        };
        if !self.suppression_infos.is_empty() {
            write_suppression_metadata(app, node, &ty, &self.suppression_infos);
        }
        let typed = self
            .by_type
            .get(ty.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let any = self.by_type.get("*").map(Vec::as_slice).unwrap_or_default();
        for &i in typed.iter().chain(any) {
            let (rule, mode) = &self.rules[i];
            let info = rule.info();
            let violations = {
                let Some(entry) = app.node(node).resource_entry() else {
                    return;
                };
                let cx = Context {
                    app,
                    node,
                    resource_type: &ty,
                    entry,
                };
                rule.check(&cx)
            };
            for v in violations {
                let path = app.path(node);
                let mut finding = Finding {
                    rule: info.id.to_string(),
                    path: path.clone(),
                    resource_type: ty.clone(),
                    message: v.message.clone(),
                    status: Status::Open(Level::Error),
                };
                if let Some(reason) = suppression_for(app, node, info.id) {
                    finding.status = Status::Suppressed(reason);
                    self.findings.borrow_mut().push(finding);
                    continue;
                }
                match (mode, v.fix) {
                    (Mode::Fix, Some(fix)) => {
                        let description = fix.description.clone();
                        match (fix.apply)(app, node) {
                            Ok(()) => {
                                app.annotate(
                                    node,
                                    Level::Info,
                                    format!("[{}] fixed: {description}", info.id),
                                );
                                finding.status = Status::Fixed(description);
                            }
                            Err(e) => {
                                app.annotate(
                                    node,
                                    Level::Error,
                                    format!("[{}] {} (the automatic fix failed: {e})", info.id, v.message),
                                );
                            }
                        }
                    }
                    (Mode::Warn, _) => {
                        app.annotate(node, Level::Warning, annotation(&info, &v.message));
                        finding.status = Status::Open(Level::Warning);
                    }
                    _ => app.annotate(node, Level::Error, annotation(&info, &v.message)),
                }
                self.findings.borrow_mut().push(finding);
            }
        }
    }
}

fn annotation(info: &RuleInfo, message: &str) -> String {
    format!(
        "[{}] {message} (or suppress with Suppressions::of(app, node).add(\"{}\", reason))",
        info.id, info.id
    )
}
