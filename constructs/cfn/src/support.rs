//! What the generated modules import (`use crate::support::*`): the core value types,
//! the property-map helpers and the small macros that keep generated code short.
//! Hand-written.

pub use std::any::Any;

pub use cairn_core::{NodeId, Resource, ToValue, TypedResource, Val, Value};
pub use indexmap::IndexMap;

pub use crate::schema::ResourceFacts;

/// Where a generated struct writes its properties: a whole map, or one property that is
/// asked for (so reading one property converts only that field).
pub trait Sink {
    /// Whether the property `name` is wanted (its value is only computed if so).
    fn wants(&self, name: &str) -> bool;
    /// Receives a wanted property.
    fn insert(&mut self, name: &str, value: Value);
}

impl Sink for IndexMap<String, Value> {
    fn wants(&self, _name: &str) -> bool {
        true
    }
    fn insert(&mut self, name: &str, value: Value) {
        IndexMap::insert(self, name.to_string(), value);
    }
}

/// One property by name.
pub struct OneProperty<'a> {
    name: &'a str,
    value: Option<Value>,
}

impl<'a> OneProperty<'a> {
    /// Asks for `name`.
    pub fn new(name: &'a str) -> Self {
        OneProperty { name, value: None }
    }

    /// The property's value, if it is set.
    pub fn into_value(self) -> Option<Value> {
        self.value
    }
}

impl Sink for OneProperty<'_> {
    fn wants(&self, name: &str) -> bool {
        name == self.name
    }
    fn insert(&mut self, _name: &str, value: Value) {
        self.value = Some(value);
    }
}

/// Inserts an optional property when it is set (and wanted).
#[inline]
pub fn put<T: ToValue>(m: &mut dyn Sink, name: &str, v: &Option<T>) {
    if let Some(v) = v {
        if m.wants(name) {
            m.insert(name, v.to_value());
        }
    }
}

/// Inserts a required property (when wanted).
#[inline]
pub fn req<T: ToValue>(m: &mut dyn Sink, name: &str, v: &T) {
    if m.wants(name) {
        m.insert(name, v.to_value());
    }
}

/// `Resource` and `TypedResource` for a generated resource struct with a `props_into()`
/// method, and `From<NodeId>` for its attributes struct.
macro_rules! resource {
    ($t:ident, $attrs:ident, $type_name:literal) => {
        impl Resource for $t {
            fn resource_type(&self) -> &str {
                $type_name
            }
            fn properties(&self) -> IndexMap<String, Value> {
                let mut m = IndexMap::new();
                self.props_into(&mut m);
                m
            }
            fn property(&self, name: &str) -> Option<Value> {
                let mut one = OneProperty::new(name);
                self.props_into(&mut one);
                one.into_value()
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
