//! What the generated modules import (`use crate::support::*`): the core value types,
//! the property-map helpers and the small macros that keep generated code short.
//! Hand-written.

pub use std::any::Any;

pub use cairn_core::{NodeId, Resource, ToValue, TypedResource, Val, Value};
pub use indexmap::IndexMap;

pub use crate::schema::ResourceFacts;

/// Inserts an optional property when it is set.
#[inline]
pub fn put<T: ToValue>(m: &mut IndexMap<String, Value>, name: &str, v: &Option<T>) {
    if let Some(v) = v {
        m.insert(name.to_string(), v.to_value());
    }
}

/// Inserts a required property.
#[inline]
pub fn req<T: ToValue>(m: &mut IndexMap<String, Value>, name: &str, v: &T) {
    m.insert(name.to_string(), v.to_value());
}

/// `Resource` and `TypedResource` for a generated resource struct with a `props()`
/// method, and `From<NodeId>` for its attributes struct.
macro_rules! resource {
    ($t:ident, $attrs:ident, $type_name:literal) => {
        impl Resource for $t {
            fn resource_type(&self) -> &str {
                $type_name
            }
            fn properties(&self) -> IndexMap<String, Value> {
                self.props()
            }
            fn as_any(&self) -> &dyn Any {
                self
            }
            fn as_any_mut(&mut self) -> &mut dyn Any {
                self
            }
        }
        impl TypedResource for $t {
            const TYPE: &'static str = $type_name;
            type Attributes = $attrs;
        }
        impl From<NodeId> for $attrs {
            fn from(node: NodeId) -> Self {
                $attrs(node)
            }
        }
        impl $attrs {
            /// The resource's node in the construct tree.
            pub fn node(&self) -> NodeId {
                self.0
            }
        }
    };
}
pub(crate) use resource;

/// `From<T> for Val<T>` (and `Val<Box<T>>` when boxed) for a generated property type,
/// so `Some(Struct { .. }.into())` works.
macro_rules! lit {
    ($t:ident) => {
        impl From<$t> for Val<$t> {
            fn from(v: $t) -> Self {
                Val::Lit(v)
            }
        }
    };
    ($t:ident, boxed) => {
        lit!($t);
        impl From<$t> for Val<Box<$t>> {
            fn from(v: $t) -> Self {
                Val::Lit(Box::new(v))
            }
        }
    };
}
pub(crate) use lit;

/// `ToValue` and `From<T> for Val<T>` for a generated string enum with `as_str()`.
macro_rules! str_enum {
    ($t:ident) => {
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::String(self.as_str().to_string())
            }
        }
        lit!($t);
    };
}
pub(crate) use str_enum;
