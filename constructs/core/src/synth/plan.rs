//! The plan of a synthesis: which stacks there are, which stack owns each node, and each
//! template element's logical ID. Computed once from the tree; every later step reads it.

use std::collections::HashMap;

use crate::error::Error;
use crate::id::{NodeId, Stack};
use crate::template::Environment;
use crate::tree::{App, NodeKind};

/// A stack being synthesized.
pub(super) struct StackInfo {
    pub(super) node: NodeId,
    pub(super) artifact_id: String,
    pub(super) stack_name: String,
    pub(super) env: Environment,
    /// The stage whose nested assembly holds the stack; `None` at the app root.
    pub(super) stage: Option<NodeId>,
}

/// Stacks, owners and logical IDs.
pub(super) struct Plan {
    pub(super) stacks: Vec<StackInfo>,
    /// Index into `stacks` of the stack owning each node (by arena index).
    owner: Vec<Option<usize>>,
    logical_ids: Vec<Option<String>>,
}

impl Plan {
    /// The plan, and the first logical ID collision or empty computed logical ID (reported
    /// after the validation findings, so it is not an error yet).
    pub(super) fn new(app: &App) -> (Plan, Option<Error>) {
        let order = app.descendants(app.root());
        let mut owner = vec![None; app.len()];
        let mut stacks = Vec::new();
        for &n in &order {
            let node = app.node(n);
            if let NodeKind::Stack(_) = node.kind() {
                let stack = Stack::from_node(n);
                stacks.push(StackInfo {
                    node: n,
                    artifact_id: app.artifact_id(stack),
                    stack_name: app.stack_name(stack),
                    env: app.environment_of(stack),
                    stage: app.stage_of(n).map(|s| s.node()),
                });
                owner[n.index()] = Some(stacks.len() - 1);
            } else if let Some(p) = node.parent() {
                owner[n.index()] = owner[p.index()];
            }
        }
        let mut logical_ids = vec![None; app.len()];
        let mut seen: Vec<HashMap<String, NodeId>> = vec![HashMap::new(); stacks.len()];
        let mut collision = None;
        for &n in &order {
            let node = app.node(n);
            if !node.kind().is_template_element() {
                continue;
            }
            let Some(s) = owner[n.index()] else { continue };
            let lid = match node.logical_id_override() {
                Some(l) => l.to_string(),
                None => crate::logical_id::make_unique_id(&app.path_from(stacks[s].node, n)),
            };
            if lid.is_empty() {
                collision.get_or_insert_with(|| Error::InvalidLogicalId {
                    path: app.path(n),
                    logical_id: lid.clone(),
                });
            } else if let Some(first) = seen[s].insert(lid.clone(), n) {
                collision.get_or_insert_with(|| Error::LogicalIdCollision {
                    stack: app.path(stacks[s].node),
                    logical_id: lid.clone(),
                    first: app.path(first),
                    second: app.path(n),
                });
            }
            logical_ids[n.index()] = Some(lid);
        }
        (
            Plan {
                stacks,
                owner,
                logical_ids,
            },
            collision,
        )
    }

    /// The stack owning a node of this app.
    pub(super) fn owner(&self, n: NodeId) -> Option<usize> {
        self.owner.get(n.index()).copied().flatten()
    }

    /// The logical ID of a template element ("" for other nodes).
    pub(super) fn lid(&self, n: NodeId) -> &str {
        self.logical_ids
            .get(n.index())
            .and_then(Option::as_deref)
            .unwrap_or_default()
    }

    /// The logical ID of a node if it has one.
    pub(super) fn logical_id(&self, n: NodeId) -> Option<&str> {
        self.logical_ids.get(n.index()).and_then(Option::as_deref)
    }
}
