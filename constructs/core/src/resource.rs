//! The resource trait every L1 struct implements, typed handles, the generic resource,
//! and the CloudFormation resource attributes (DependsOn, DeletionPolicy ...).

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use indexmap::IndexMap;

use crate::id::{ConditionRef, NodeId};
use crate::value::{ToValue, Value};

/// A CloudFormation resource: its type and its properties.
///
/// Generated L1 structs implement it; so does [`CfnResource`], the generic escape hatch.
/// The tree stores resources as `Box<dyn Resource>`; an aspect downcasts them with
/// [`Resource::as_any_mut`] (or `Node::resource_mut::<T>()`) to read and change fields.
pub trait Resource: Any + fmt::Debug {
    /// The CloudFormation type, e.g. `AWS::S3::Bucket`.
    fn resource_type(&self) -> &str;
    /// The `Properties` of the resource, before reference resolution.
    fn properties(&self) -> IndexMap<String, Value>;
    /// One property by name, before reference resolution (generated resources convert
    /// only that field).
    fn property(&self, name: &str) -> Option<Value> {
        self.properties().shift_remove(name)
    }
    /// For downcasting to the concrete struct.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting to the concrete struct, mutably.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// A resource type known at compile time, whose handle carries typed attribute getters.
pub trait TypedResource: Resource + Sized {
    /// The CloudFormation type name.
    const TYPE: &'static str;
    /// The attribute accessor that [`Res`] dereferences to (e.g. `attr_arn()`).
    type Attributes: From<NodeId> + Copy + fmt::Debug;
}

/// A typed handle to a resource in the tree: `Copy`, cheap, and dereferences to the
/// resource type's attribute getters.
pub struct Res<T: TypedResource> {
    node: NodeId,
    attrs: T::Attributes,
    _t: PhantomData<fn() -> T>,
}

impl<T: TypedResource> Res<T> {
    /// Wraps a node that holds a `T`. Only the tree creates these.
    pub(crate) fn new(node: NodeId) -> Self {
        Res {
            node,
            attrs: T::Attributes::from(node),
            _t: PhantomData,
        }
    }

    /// The tree node of this resource.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// `Ref` to this resource.
    pub fn ref_(&self) -> Value {
        Value::reference(self.node)
    }

    /// `Fn::GetAtt` of any attribute by name.
    pub fn get_att(&self, attribute: &str) -> Value {
        Value::get_att(self.node, attribute)
    }
}

impl<T: TypedResource> Clone for Res<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: TypedResource> Copy for Res<T> {}

impl<T: TypedResource> fmt::Debug for Res<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Res<{}>({:?})", T::TYPE, self.node)
    }
}

impl<T: TypedResource> Deref for Res<T> {
    type Target = T::Attributes;
    fn deref(&self) -> &T::Attributes {
        &self.attrs
    }
}

impl<T: TypedResource> From<Res<T>> for NodeId {
    fn from(r: Res<T>) -> NodeId {
        r.node
    }
}

/// A resource of any type with a free-form property map: for `Custom::*` resources and
/// types cairn does not model. Its properties are still schema-checked when the type is
/// known to a registered validator.
///
/// ```
/// use cairn_core::{App, CfnResource, Value};
/// let mut app = App::new();
/// let stack = app.stack("Demo").unwrap();
/// let custom = CfnResource::new("Custom::Seeder").with("Table", Value::from("t1"));
/// app.add(stack, "Seeder", custom).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CfnResource {
    /// The CloudFormation type.
    pub resource_type: String,
    /// The properties, in insertion order.
    pub properties: IndexMap<String, Value>,
}

impl CfnResource {
    /// A resource of `resource_type` with no properties.
    pub fn new(resource_type: &str) -> Self {
        CfnResource {
            resource_type: resource_type.to_string(),
            properties: IndexMap::new(),
        }
    }

    /// Sets a property and returns the resource.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.properties.insert(name.to_string(), value.into());
        self
    }
}

impl Resource for CfnResource {
    fn resource_type(&self) -> &str {
        &self.resource_type
    }
    fn properties(&self) -> IndexMap<String, Value> {
        self.properties.clone()
    }
    fn property(&self, name: &str) -> Option<Value> {
        self.properties.get(name).cloned()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Attribute accessor of a [`CfnResource`]: any attribute by name.
#[derive(Debug, Clone, Copy)]
pub struct CfnResourceAttributes {
    node: NodeId,
}

impl From<NodeId> for CfnResourceAttributes {
    fn from(node: NodeId) -> Self {
        CfnResourceAttributes { node }
    }
}

impl CfnResourceAttributes {
    /// `Fn::GetAtt` of an attribute by name.
    pub fn attr(&self, name: &str) -> Value {
        Value::get_att(self.node, name)
    }
}

impl TypedResource for CfnResource {
    const TYPE: &'static str = "*";
    type Attributes = CfnResourceAttributes;
}

/// What CloudFormation does with a resource when it is removed from the stack or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalPolicy {
    /// Delete the physical resource.
    Delete,
    /// Keep the physical resource (the default for stateful resources in cairn's L2).
    Retain,
    /// Take a snapshot, then delete (for types that support snapshots).
    Snapshot,
    /// Retain unless the stack is being created and fails (CloudFormation `RetainExceptOnCreate`).
    RetainExceptOnCreate,
}

impl RemovalPolicy {
    /// The CloudFormation spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalPolicy::Delete => "Delete",
            RemovalPolicy::Retain => "Retain",
            RemovalPolicy::Snapshot => "Snapshot",
            RemovalPolicy::RetainExceptOnCreate => "RetainExceptOnCreate",
        }
    }
}

/// The resource attributes beside `Properties`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceOptions {
    /// Explicit `DependsOn` (references already imply ordering; use this for the rest).
    pub depends_on: Vec<NodeId>,
    /// `Condition`: a condition node under which the resource is created.
    pub condition: Option<ConditionRef>,
    /// `DeletionPolicy`.
    pub deletion_policy: Option<RemovalPolicy>,
    /// `UpdateReplacePolicy`.
    pub update_replace_policy: Option<RemovalPolicy>,
    /// `UpdatePolicy`, as written in the CloudFormation docs.
    pub update_policy: Option<Value>,
    /// `CreationPolicy`, as written in the CloudFormation docs.
    pub creation_policy: Option<Value>,
    /// `Metadata` entries (cairn adds `aws:cdk:path`).
    pub metadata: IndexMap<String, Value>,
}

/// A `add_property_override` / `add_property_deletion_override` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyOverride {
    /// Dot-separated path under `Properties`, e.g. `VersioningConfiguration.Status`.
    pub path: String,
    /// The value to set, or `None` to delete.
    pub value: Option<Value>,
}

/// A resource stored in the tree with its attributes and overrides.
#[derive(Debug)]
pub struct ResourceEntry {
    /// The resource itself.
    pub resource: Box<dyn Resource>,
    /// DependsOn, DeletionPolicy and friends (boxed: most resources set few of them,
    /// and every node of the tree is as large as its largest kind).
    pub options: Box<ResourceOptions>,
    /// Raw overrides applied to the synthesized properties, in order.
    pub overrides: Vec<PropertyOverride>,
}

impl ResourceEntry {
    /// The properties after overrides, before reference resolution.
    pub fn final_properties(&self) -> IndexMap<String, Value> {
        let mut props = self.resource.properties();
        for o in &self.overrides {
            apply_override(&mut props, &o.path, o.value.clone());
        }
        props
    }
}

impl ResourceEntry {
    /// One top-level property after overrides (only that property is computed).
    pub fn final_property(&self, name: &str) -> Option<Value> {
        let mut one = IndexMap::with_capacity(1);
        if let Some(v) = self.resource.property(name) {
            one.insert(name.to_string(), v);
        }
        for o in &self.overrides {
            if split_override_path(&o.path).first().map(String::as_str) == Some(name) {
                apply_override(&mut one, &o.path, o.value.clone());
            }
        }
        one.shift_remove(name)
    }
}

/// Applies one override at a dot path. A path part may be escaped as `a\.b` to contain a dot.
pub(crate) fn apply_override(props: &mut IndexMap<String, Value>, path: &str, value: Option<Value>) {
    let parts = split_override_path(path);
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut cur = props;
    for p in parents {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| Value::Map(IndexMap::new()));
        if !matches!(entry, Value::Map(_)) {
            if value.is_none() {
                return;
            }
            *entry = Value::Map(IndexMap::new());
        }
        cur = match entry.as_map_mut() {
            Some(m) => m,
            None => return,
        };
    }
    match value {
        Some(v) => {
            cur.insert(last.clone(), v);
        }
        None => {
            cur.shift_remove(last);
        }
    }
}

fn split_override_path(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                if let (Some(last), Some(dot)) = (parts.last_mut(), chars.next()) {
                    last.push(dot);
                }
            }
            '.' => parts.push(String::new()),
            c => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    parts
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_create_nested_maps_and_delete() {
        let mut props = IndexMap::new();
        props.insert("A".to_string(), Value::map([("B", Value::from(1))]));
        apply_override(&mut props, "A.C.D", Some(Value::from("x")));
        apply_override(&mut props, "A.B", None);
        apply_override(&mut props, "Tags\\.Key", Some(Value::from(true)));
        assert_eq!(
            props.get("A"),
            Some(&Value::map([("C", Value::map([("D", Value::from("x"))]))]))
        );
        assert_eq!(props.get("Tags.Key"), Some(&Value::Bool(true)));
    }
}
