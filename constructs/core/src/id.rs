//! Node ids and the typed handles built on them.
//!
//! Every node of an app's tree is addressed by a [`NodeId`]: the app that made it and an
//! index into that app's arena. Handles are small `Copy` values ([`Stack`], [`Stage`],
//! [`ParameterRef`], [`ConditionRef`], [`MappingRef`], [`OutputRef`], an L2 construct) that
//! implement [`Construct`]. An app refuses a handle made by another app with
//! [`Error::ForeignNode`](crate::Error::ForeignNode) instead of reading a wrong node.

use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// Identifies one [`App`](crate::App) among the apps of a process, so a handle from one
/// app is refused by another. Drawn from std's per-process hash keys (no state of our
/// own); it never reaches synthesized output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppId(u32);

impl AppId {
    /// A fresh id: distinct from every other app's with overwhelming probability.
    pub(crate) fn fresh() -> AppId {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u8(0);
        let x = h.finish();
        AppId((x ^ (x >> 32)) as u32)
    }
}

/// The address of a node: its app and its index in the app's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    app: AppId,
    index: u32,
}

impl NodeId {
    pub(crate) fn new(app: AppId, index: usize) -> NodeId {
        NodeId {
            app,
            index: u32::try_from(index).unwrap_or(u32::MAX),
        }
    }

    /// The arena index (meaningful only in the app that made the id).
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// The app that made the id.
    pub fn app(self) -> AppId {
        self.app
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.index)
    }
}

/// A construct: anything that is a node of the tree. Every L2 handle implements it, so
/// code can take any construct (`scope: impl Into<NodeId>` for scopes, `&impl Construct`
/// where a construct is read).
///
/// ```
/// use cairn_core::{App, Construct};
/// let mut app = App::new();
/// let stack = app.stack("S").unwrap();
/// assert_eq!(app.path(stack.node()), "S");
/// ```
pub trait Construct {
    /// The construct's node.
    fn node(&self) -> NodeId;
}

impl Construct for NodeId {
    fn node(&self) -> NodeId {
        *self
    }
}

impl<C: Construct + ?Sized> Construct for &C {
    fn node(&self) -> NodeId {
        (**self).node()
    }
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(NodeId);

        impl $name {
            pub(crate) fn from_node(node: NodeId) -> $name {
                $name(node)
            }

            /// The node.
            pub fn node(self) -> NodeId {
                self.0
            }
        }

        impl Construct for $name {
            fn node(&self) -> NodeId {
                self.0
            }
        }

        impl From<$name> for NodeId {
            fn from(h: $name) -> NodeId {
                h.0
            }
        }
    };
}

handle!(
    /// A handle to a stack.
    Stack
);
handle!(
    /// A handle to a stage: a group of stacks deployed together to one environment.
    Stage
);
handle!(
    /// A handle to a template parameter; [`ParameterRef::value`] is its `Ref`.
    ParameterRef
);
handle!(
    /// A handle to a template condition: use it in `Value::if_`, `Value::condition`, or as
    /// a resource's or output's condition.
    ConditionRef
);
handle!(
    /// A handle to a template mapping: read it with `Value::find_in_map`.
    MappingRef
);
handle!(
    /// A handle to a template output.
    OutputRef
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_differ() {
        let ids: std::collections::HashSet<AppId> = (0..64).map(|_| AppId::fresh()).collect();
        assert_eq!(ids.len(), 64);
    }
}
