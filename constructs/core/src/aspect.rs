//! Aspects: visitors applied to every node below the scope they were added to, during the
//! prepare phase, before validation and synthesis. Mutating aspects (fixes, tags) run
//! before read-only ones (checks), as the CDK's aspect priorities order them.
//!
//! ```
//! use cairn_core::{App, Aspect, Aspects, CfnResource, Level, NodeId};
//!
//! struct NoTopics;
//! impl Aspect for NoTopics {
//!     fn visit(&self, app: &mut App, node: NodeId) {
//!         if app.node(node).resource_type() == Some("AWS::SNS::Topic") {
//!             app.annotate(node, Level::Error, "topics are not allowed here; use a queue");
//!         }
//!     }
//! }
//!
//! let mut app = App::new();
//! let stack = app.stack("S").unwrap();
//! app.add(stack, "T", CfnResource::new("AWS::SNS::Topic")).unwrap();
//! Aspects::of(&mut app, stack).add(NoTopics);
//! let err = app.synth().unwrap_err();
//! assert!(err.to_string().contains("S/T: topics are not allowed here"));
//! ```

use std::rc::Rc;

use crate::annotations::Level;
use crate::error::{Error, Result};
use crate::id::NodeId;
use crate::tree::App;
pub use crate::tree::{Aspect, AspectApplication};

/// Run before everything else.
pub const PRIORITY_MUTATING: i32 = 200;
/// The default priority.
pub const PRIORITY_DEFAULT: i32 = 500;
/// Run after every mutating aspect: checks that must see the final tree.
pub const PRIORITY_READONLY: i32 = 1000;

/// How many times the tree is walked while aspects keep adding aspects or nodes.
const MAX_PASSES: usize = 100;

/// The aspects of a scope: `Aspects::of(&mut app, scope).add(aspect)`.
pub struct Aspects<'a> {
    app: &'a mut App,
    scope: NodeId,
}

impl<'a> Aspects<'a> {
    /// The aspects of `scope` (the app root, a stage, a stack or any construct).
    pub fn of(app: &'a mut App, scope: impl Into<NodeId>) -> Self {
        Aspects {
            app,
            scope: scope.into(),
        }
    }

    /// Adds an aspect with the default priority.
    pub fn add(&mut self, aspect: impl Aspect + 'static) -> &mut Self {
        self.add_with_priority(aspect, PRIORITY_DEFAULT)
    }

    /// Adds an aspect with a priority (lower runs first; see [`PRIORITY_MUTATING`] and
    /// [`PRIORITY_READONLY`]).
    pub fn add_with_priority(&mut self, aspect: impl Aspect + 'static, priority: i32) -> &mut Self {
        self.add_shared(Rc::new(aspect), priority)
    }

    /// Adds an aspect that is shared (the same instance may be added to several scopes;
    /// it is still applied at most once per node).
    pub fn add_shared(&mut self, aspect: Rc<dyn Aspect>, priority: i32) -> &mut Self {
        let seq = self.app.next_aspect_seq();
        self.app.node_mut(self.scope).aspects.push(AspectApplication {
            aspect,
            priority,
            seq,
        });
        self
    }

    /// The names and priorities of the aspects added directly to this scope.
    pub fn list(&self) -> Vec<(String, i32)> {
        self.app
            .node(self.scope)
            .aspects
            .iter()
            .map(|a| (a.aspect.name(), a.priority))
            .collect()
    }
}

/// Annotations of a node: `Annotations::of(&mut app, node).add_error(..)`.
pub struct Annotations<'a> {
    app: &'a mut App,
    node: NodeId,
}

impl<'a> Annotations<'a> {
    /// The annotations of a node.
    pub fn of(app: &'a mut App, node: impl Into<NodeId>) -> Self {
        Annotations {
            app,
            node: node.into(),
        }
    }

    /// An informational message.
    pub fn add_info(self, message: impl Into<String>) -> Self {
        self.app.annotate(self.node, Level::Info, message);
        self
    }

    /// A warning: fails synthesis in strict mode.
    pub fn add_warning(self, message: impl Into<String>) -> Self {
        self.app.annotate(self.node, Level::Warning, message);
        self
    }

    /// An error: fails synthesis.
    pub fn add_error(self, message: impl Into<String>) -> Self {
        self.app.annotate(self.node, Level::Error, message);
        self
    }
}

impl App {
    fn next_aspect_seq(&mut self) -> u64 {
        let s = self.aspect_state.next_seq;
        self.aspect_state.next_seq += 1;
        s
    }

    /// The prepare phase: applies every aspect to every node below its scope, top-down,
    /// each at most once per node, in priority order; repeats while aspects add aspects
    /// or nodes. Called by synthesis; calling it again applies only what is new.
    pub fn prepare(&mut self) -> Result<()> {
        for _ in 0..MAX_PASSES {
            if !self.prepare_pass()? {
                return Ok(());
            }
        }
        Err(Error::InvalidScope {
            path: "<app>".into(),
            problem: format!(
                "aspects kept changing the tree after {MAX_PASSES} passes; an aspect probably adds an aspect or a node on every visit"
            ),
        })
    }

    fn prepare_pass(&mut self) -> Result<bool> {
        let mut did_something = false;
        // (node, aspects inherited from its ancestors), parents before children.
        let mut work: Vec<(NodeId, Rc<Vec<AspectApplication>>)> = vec![(self.root(), Rc::new(Vec::new()))];
        while let Some((node, inherited)) = work.pop() {
            let local = &self.node(node).aspects;
            let here: Rc<Vec<AspectApplication>> = if local.is_empty() {
                inherited
            } else {
                let mut all: Vec<AspectApplication> = inherited.iter().cloned().collect();
                all.extend(local.iter().cloned());
                // Stable: inherited before local at equal priority.
                all.sort_by_key(|a| a.priority);
                Rc::new(all)
            };
            for a in here.iter() {
                if self.aspect_state.applied.len() <= node.index() {
                    self.aspect_state.applied.resize(self.len(), Vec::new());
                    self.aspect_state.last_priority.resize(self.len(), None);
                }
                let applied = &mut self.aspect_state.applied[node.index()];
                if applied.contains(&a.seq) {
                    continue;
                }
                applied.push(a.seq);
                if let Some(last) = self.aspect_state.last_priority[node.index()] {
                    if last > a.priority {
                        return Err(Error::InvalidScope {
                            path: self.path(node),
                            problem: format!(
                                "cannot apply aspect {} with priority {} after an aspect with priority {last} already ran here; add it with a priority of at least {last}, or add it before synthesis starts",
                                a.aspect.name(),
                                a.priority
                            ),
                        });
                    }
                }
                self.aspect_state.last_priority[node.index()] = Some(a.priority);
                a.aspect.visit(self, node);
                did_something = true;
            }
            let children: Vec<NodeId> = self.node(node).children().collect();
            for c in children.into_iter().rev() {
                work.push((c, Rc::clone(&here)));
            }
        }
        Ok(did_something)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::resource::CfnResource;

    struct Recorder(Rc<RefCell<Vec<String>>>, &'static str);
    impl Aspect for Recorder {
        fn visit(&self, app: &mut App, node: NodeId) {
            self.0.borrow_mut().push(format!("{}:{}", self.1, app.path(node)));
        }
    }

    #[test]
    fn top_down_inherited_priority_ordered_once_per_node() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut app = App::new();
        let s = app.stack("S").unwrap();
        app.add(s, "T", CfnResource::new("AWS::SNS::Topic")).unwrap();
        let root = app.root();
        Aspects::of(&mut app, root).add_with_priority(Recorder(log.clone(), "check"), PRIORITY_READONLY);
        Aspects::of(&mut app, s).add_with_priority(Recorder(log.clone(), "fix"), PRIORITY_MUTATING);
        app.prepare().unwrap();
        app.prepare().unwrap();
        assert_eq!(
            *log.borrow(),
            ["check:", "fix:S", "check:S", "fix:S/T", "check:S/T"]
        );
    }

    struct AddsAspect(Rc<RefCell<Vec<String>>>);
    impl Aspect for AddsAspect {
        fn visit(&self, app: &mut App, node: NodeId) {
            if app.node(node).resource_type().is_some() {
                Aspects::of(app, node).add_with_priority(Recorder(self.0.clone(), "late"), PRIORITY_READONLY);
            }
        }
    }

    #[test]
    fn aspects_added_while_visiting_are_applied() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut app = App::new();
        let s = app.stack("S").unwrap();
        app.add(s, "T", CfnResource::new("AWS::SNS::Topic")).unwrap();
        Aspects::of(&mut app, s).add(AddsAspect(log.clone()));
        app.prepare().unwrap();
        assert_eq!(*log.borrow(), ["late:S/T"]);
    }

    #[test]
    fn a_lower_priority_after_a_higher_one_is_an_error() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut app = App::new();
        let s = app.stack("S").unwrap();
        Aspects::of(&mut app, s).add_with_priority(Recorder(log.clone(), "check"), PRIORITY_READONLY);
        app.prepare().unwrap();
        Aspects::of(&mut app, s).add_with_priority(Recorder(log, "fix"), PRIORITY_MUTATING);
        let err = app.prepare().unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot apply aspect Recorder with priority 200"),
            "{err}"
        );
    }

    #[test]
    fn annotations_of() {
        let mut app = App::new();
        let s = app.stack("S").unwrap();
        Annotations::of(&mut app, s).add_info("i").add_warning("w");
        let levels: Vec<Level> = app.diagnostics().iter().map(|d| d.level).collect();
        assert_eq!(levels, [Level::Info, Level::Warning]);
    }
}
