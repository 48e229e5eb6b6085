//! The validate step of synthesis: everything that can be known before a template is
//! written, checked once, in tree order.
//!
//! - every annotation (errors, and warnings when strict, fail);
//! - every registered [`Validator`](crate::Validator) over each resource's final properties;
//! - every reference: the target is a node of this app, of a kind the intrinsic can name,
//!   inside a stack; across stacks only within one environment and stage, never from an
//!   output. A reference to another stack becomes an export of the producer (named the
//!   CDK's way) and a dependency of the consumer, recorded in [`Links`];
//! - explicit dependencies and dependency cycles.
//!
//! Validation findings are reported first, all of them; otherwise the first structural
//! error (a wrong reference, a logical ID collision, a cycle) is.

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::annotations::{Diagnostic, Level};
use crate::error::{Error, Result};
use crate::id::NodeId;
use crate::tree::{App, NodeKind};
use crate::value::{Reference, Target, Value};

use super::plan::Plan;
use super::SynthOptions;

/// What the validate step learned about references between stacks.
pub(super) struct Links {
    /// Per producer stack: the exports other stacks import, by output logical ID, with
    /// the local reference they export and the export name.
    pub(super) exports: Vec<IndexMap<String, (Json, String)>>,
    /// Per stack: the stacks it deploys after, in discovery order.
    pub(super) deps: Vec<Vec<usize>>,
}

/// The outcome of the validate step: the links, and the diagnostics that did not fail
/// (warnings, infos) to carry into the assembly.
pub(super) struct Checked {
    pub(super) links: Links,
    pub(super) diagnostics: Vec<Diagnostic>,
}

/// How a reference is used, which decides what it may name.
#[derive(Clone, Copy)]
pub(super) struct Site {
    pub(super) stack: usize,
    pub(super) node: NodeId,
    pub(super) in_output: bool,
}

/// The local form of a reference (`{"Ref": lid}`, `{"Fn::GetAtt": [lid, attr]}`) and, when
/// it crosses stacks, the producer's export: (output logical ID, export name).
pub(super) fn export_of(producer_stack_name: &str, local: &Json) -> (String, String) {
    let output_id = format!("Output{local}");
    let output_lid = crate::logical_id::make_unique_id(&["Exports", &output_id]);
    let export_name = format!("{producer_stack_name}:{output_lid}");
    (output_lid, export_name)
}

/// `{"Ref": lid}` or `{"Fn::GetAtt": [lid, attribute]}`.
pub(super) fn local_reference(lid: &str, attribute: Option<&str>) -> Json {
    let mut m = serde_json::Map::with_capacity(1);
    match attribute {
        None => m.insert("Ref".into(), Json::String(lid.to_string())),
        Some(a) => m.insert(
            "Fn::GetAtt".into(),
            Json::Array(vec![Json::String(lid.to_string()), Json::String(a.to_string())]),
        ),
    };
    Json::Object(m)
}

struct Checker<'a> {
    app: &'a App,
    plan: &'a Plan,
    links: Links,
    /// The first structural error, reported when validation found nothing.
    error: Option<Error>,
}

/// Runs the validate step.
pub(super) fn check(
    app: &App,
    plan: &Plan,
    collision: Option<Error>,
    options: &SynthOptions,
) -> Result<Checked> {
    let n = plan.stacks.len();
    let mut checker = Checker {
        app,
        plan,
        links: Links {
            exports: vec![IndexMap::new(); n],
            deps: vec![Vec::new(); n],
        },
        error: None,
    };
    checker.explicit_dependencies();
    let mut diagnostics = Vec::new();
    // Stack metadata is resolved after the stack's elements: checked when the walk leaves
    // the stack, so references are met in the order synthesis meets them.
    let mut current: Option<usize> = None;
    for node in app.descendants(app.root()) {
        let owner = checker.plan.owner(node);
        if owner != current {
            if let Some(s) = current {
                checker.stack_metadata(s);
            }
            current = owner;
        }
        checker.node(node, &mut diagnostics);
    }
    if let Some(s) = current {
        checker.stack_metadata(s);
    }
    let fails = |d: &Diagnostic| d.level == Level::Error || (options.strict && d.level == Level::Warning);
    if diagnostics.iter().any(fails) {
        return Err(Error::Validation {
            errors: diagnostics.into_iter().filter(fails).collect(),
        });
    }
    if let Some(e) = collision {
        return Err(e);
    }
    if let Some(e) = checker.error.take() {
        return Err(e);
    }
    checker.check_cycles()?;
    Ok(Checked {
        links: checker.links,
        diagnostics,
    })
}

impl Checker<'_> {
    fn fail(&mut self, e: Error) {
        self.error.get_or_insert(e);
    }

    fn add_dep(&mut self, from: usize, on: usize) {
        if from != on && !self.links.deps[from].contains(&on) {
            self.links.deps[from].push(on);
        }
    }

    fn explicit_dependencies(&mut self) {
        for i in 0..self.plan.stacks.len() {
            if let NodeKind::Stack(data) = self.app.node(self.plan.stacks[i].node).kind() {
                for d in &data.dependencies {
                    if let Some(j) = self.plan.owner(*d) {
                        if !self.links.deps[i].contains(&j) {
                            self.links.deps[i].push(j);
                        }
                    }
                }
            }
        }
    }

    /// Annotations, validator findings and references of one node.
    fn node(&mut self, n: NodeId, diagnostics: &mut Vec<Diagnostic>) {
        let app = self.app;
        let node = app.node(n);
        let mut path: Option<String> = None;
        if !node.annotations().is_empty() {
            let p = path.insert(app.display_path(n));
            app.push_annotations(n, p, diagnostics);
        }
        if !node.kind().is_template_element() {
            return;
        }
        let Some(s) = self.plan.owner(n) else { return };
        let site = Site {
            stack: s,
            node: n,
            in_output: false,
        };
        match node.kind() {
            NodeKind::Resource(entry) => {
                let props = Value::Map(entry.final_properties());
                let ty = entry.resource.resource_type();
                for v in app.validators() {
                    for e in v.validate_value(ty, &props) {
                        let path = path.get_or_insert_with(|| app.display_path(n));
                        diagnostics.push(Diagnostic {
                            level: Level::Error,
                            path: path.clone(),
                            message: format!("{}: {}", e.path, e.message),
                        });
                    }
                }
                self.value(site, &props);
                let o = &entry.options;
                for d in &o.depends_on {
                    self.depends_on(site, *d);
                }
                if let Some(c) = o.condition {
                    self.local(site, &Target::Node(c.node()), "condition");
                }
                for v in [&o.update_policy, &o.creation_policy].into_iter().flatten() {
                    self.value(site, v);
                }
                for v in o.metadata.values() {
                    if !matches!(v, Value::Null) {
                        self.value(site, v);
                    }
                }
            }
            NodeKind::Parameter(p) => {
                if let Some(d) = &p.default {
                    self.value(site, d);
                }
                p.allowed_values.iter().for_each(|v| self.value(site, v));
            }
            NodeKind::Condition(expr) | NodeKind::Rule(expr) => self.value(site, expr),
            NodeKind::Mapping(m) => m
                .values()
                .flat_map(|inner| inner.values())
                .filter(|v| !matches!(v, Value::Null))
                .for_each(|v| self.value(site, v)),
            NodeKind::Output(o) => {
                let site = Site {
                    in_output: true,
                    ..site
                };
                self.value(site, &o.value);
                if let Some(e) = &o.export_name {
                    self.value(site, e);
                }
                if let Some(c) = o.condition {
                    self.local(site, &Target::Node(c.node()), "condition");
                }
            }
            _ => {}
        }
    }

    fn stack_metadata(&mut self, s: usize) {
        let node = self.plan.stacks[s].node;
        let site = Site {
            stack: s,
            node,
            in_output: false,
        };
        let props = self.app.stack_props(crate::id::Stack::from_node(node));
        for v in props.metadata.values() {
            if !matches!(v, Value::Null) {
                self.value(site, v);
            }
        }
    }

    fn value(&mut self, site: Site, v: &Value) {
        v.visit_references(&mut |r| match r {
            Reference::Ref(Target::Node(t)) => self.reference(site, *t, None),
            Reference::GetAtt(Target::Node(t), a) => self.reference(site, *t, Some(a)),
            Reference::Condition(t) => self.local(site, t, "condition"),
            Reference::Mapping(t) => self.local(site, t, "mapping"),
            Reference::Ref(Target::LogicalId(_)) | Reference::GetAtt(Target::LogicalId(_), _) => {}
        });
    }

    /// The stack of a node that an intrinsic needing a node of one of `expected` kinds
    /// names, or the error that it cannot.
    fn target_stack(&self, site: Site, target: NodeId, expected: &[&'static str]) -> Result<usize> {
        let node = self.app.try_node(target)?;
        let kind = node.kind().describe();
        if !expected.contains(&kind) {
            return Err(Error::WrongKind {
                path: self.app.path(target),
                expected: expected.first().copied().unwrap_or("resource"),
                actual: kind,
            });
        }
        self.plan.owner(target).ok_or_else(|| Error::InvalidReference {
            consumer: self.app.path(site.node),
            target: self.app.path(target),
            reason: "it is not inside a stack",
        })
    }

    /// A `Ref` or `Fn::GetAtt` of a node.
    fn reference(&mut self, site: Site, target: NodeId, attribute: Option<&str>) {
        let expected: &[&'static str] = if attribute.is_some() {
            &["resource"]
        } else {
            &["resource", "parameter"]
        };
        let s = match self.target_stack(site, target, expected) {
            Ok(s) => s,
            Err(e) => return self.fail(e),
        };
        if s == site.stack {
            return;
        }
        let app = self.app;
        let (consumer, producer) = (&self.plan.stacks[site.stack], &self.plan.stacks[s]);
        let problem = if consumer.env != producer.env {
            Some(Error::CrossEnvironmentReference {
                consumer: app.path(site.node),
                producer: app.path(target),
                consumer_env: consumer.env.uri(),
                producer_env: producer.env.uri(),
            })
        } else if consumer.stage != producer.stage {
            Some(Error::InvalidReference {
                consumer: app.path(site.node),
                target: app.path(target),
                reason: "its stack is in another stage, and stages deploy independently; pass the value as a parameter or through an SSM parameter",
            })
        } else if site.in_output {
            Some(Error::InvalidReference {
                consumer: app.path(site.node),
                target: app.path(target),
                reason: "an output can only refer to its own stack; put the output in the producing stack",
            })
        } else {
            None
        };
        if let Some(e) = problem {
            return self.fail(e);
        }
        let local = local_reference(self.plan.lid(target), attribute);
        let (output_lid, export_name) = export_of(&producer.stack_name, &local);
        self.links.exports[s]
            .entry(output_lid)
            .or_insert((local, export_name));
        self.add_dep(site.stack, s);
    }

    /// A condition or mapping, which only its own stack can name.
    fn local(&mut self, site: Site, target: &Target, kind: &'static str) {
        let Target::Node(n) = target else { return };
        match self.target_stack(site, *n, &[kind]) {
            Ok(s) if s == site.stack => {}
            Ok(_) => self.fail(Error::InvalidReference {
                consumer: self.app.path(site.node),
                target: self.app.path(*n),
                reason: "conditions and mappings can only be used in their own stack",
            }),
            Err(e) => self.fail(e),
        }
    }

    /// A `DependsOn` on a node of another stack orders the stacks.
    fn depends_on(&mut self, site: Site, target: NodeId) {
        if let Err(e) = self.app.try_node(target) {
            return self.fail(e);
        }
        match self.plan.owner(target) {
            Some(s) => self.add_dep(site.stack, s),
            None => self.fail(Error::InvalidReference {
                consumer: self.app.path(site.node),
                target: self.app.path(target),
                reason: "a resource can only depend on resources and constructs inside stacks",
            }),
        }
    }

    fn check_cycles(&self) -> Result<()> {
        // 0 = unvisited, 1 = on the current path, 2 = done.
        let mut state = vec![0u8; self.plan.stacks.len()];
        let mut path = Vec::new();
        for start in 0..self.plan.stacks.len() {
            if let Some(cycle) = self.dfs(start, &mut state, &mut path) {
                return Err(Error::DependencyCycle {
                    cycle: cycle
                        .into_iter()
                        .map(|i| self.app.path(self.plan.stacks[i].node))
                        .collect(),
                });
            }
        }
        Ok(())
    }

    fn dfs(&self, s: usize, state: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        match state[s] {
            2 => return None,
            1 => {
                let from = path.iter().position(|&p| p == s).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(s);
                return Some(cycle);
            }
            _ => {}
        }
        state[s] = 1;
        path.push(s);
        for &d in &self.links.deps[s] {
            if let Some(c) = self.dfs(d, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state[s] = 2;
        None
    }
}
