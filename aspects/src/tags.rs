//! Tags, applied as an aspect to every taggable resource below a scope, in the shape the
//! resource's schema states: a list of `{Key, Value}` (with `PropagateAtLaunch` where
//! the type requires it), or a map of key to value.
//!
//! ```
//! use cairn_aspects::Tags;
//! use cairn_core::{App, CfnResource};
//!
//! let mut app = App::new();
//! let stack = app.stack("S").unwrap();
//! app.add(stack, "Queue", CfnResource::new("AWS::SQS::Queue")).unwrap();
//! app.add(stack, "Param", CfnResource::new("AWS::SSM::Parameter")
//!     .with("Type", "String").with("Value", "v")).unwrap();
//! Tags::of(&mut app, stack).add("team", "platform");
//! let asm = app.synth().unwrap();
//! let r = &asm.stack("S").unwrap().template["Resources"];
//! assert_eq!(r["Queue"]["Properties"]["Tags"][0]["Key"], "team");   // list of Key/Value
//! assert_eq!(r["Param"]["Properties"]["Tags"]["team"], "platform"); // map
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use indexmap::IndexMap;
use serde_json::Value as Json;

use cairn_core::{App, Aspect, Aspects, NodeId, Value, PRIORITY_MUTATING};

/// How a resource type holds its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagShape {
    /// A list of `{Key, Value}` objects under `property`.
    KeyValueList {
        /// The property, usually `Tags`.
        property: String,
        /// The items also need `PropagateAtLaunch` (Auto Scaling groups).
        propagate_at_launch: bool,
    },
    /// A map of key to value under `property`.
    Map {
        /// The property, usually `Tags`.
        property: String,
    },
}

/// The tag shape of a resource type, read from its registry schema (`None`: not taggable).
/// Each type's schema is read once per process.
pub fn tag_shape(resource_type: &str) -> Option<TagShape> {
    type Cache = Mutex<HashMap<&'static str, Option<TagShape>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let facts = cairn_cfn::schema::facts(resource_type)?;
    let cache = CACHE.get_or_init(Default::default);
    if let Some(shape) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(facts.type_name)
    {
        return shape.clone();
    }
    let shape = read_tag_shape(facts);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(facts.type_name, shape.clone());
    shape
}

fn read_tag_shape(facts: &cairn_cfn::schema::ResourceFacts) -> Option<TagShape> {
    let schema: Json = serde_json::from_str(facts.schema_json).ok()?;
    let property = "Tags";
    let prop = resolve(&schema, schema.get("properties")?.get(property)?)?;
    match prop.get("type").and_then(Json::as_str) {
        Some("array") => {
            let item = resolve(&schema, prop.get("items")?)?;
            let props = item.get("properties")?;
            props.get("Key")?;
            let propagate = item
                .get("required")
                .and_then(Json::as_array)
                .is_some_and(|r| r.iter().any(|x| x.as_str() == Some("PropagateAtLaunch")));
            Some(TagShape::KeyValueList {
                property: property.into(),
                propagate_at_launch: propagate,
            })
        }
        Some("object") | None if prop.get("items").is_none() => Some(TagShape::Map {
            property: property.into(),
        }),
        _ => None,
    }
}

/// Follows a local `$ref` (`#/definitions/X`).
fn resolve<'a>(schema: &'a Json, v: &'a Json) -> Option<&'a Json> {
    match v.get("$ref").and_then(Json::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/definitions/")?;
            schema.get("definitions")?.get(name)
        }
        None => Some(v),
    }
}

/// Which resources a tag applies to, and how strongly.
#[derive(Debug, Clone)]
pub struct TagOptions {
    /// Only these CloudFormation types (all taggable ones when empty).
    pub include_resource_types: Vec<String>,
    /// Never these types.
    pub exclude_resource_types: Vec<String>,
    /// A tag with a higher priority wins over a lower one for the same key; at equal
    /// priority the one added lower in the tree wins. Default 100, as in the CDK.
    pub priority: i32,
}

impl Default for TagOptions {
    fn default() -> Self {
        TagOptions {
            include_resource_types: Vec::new(),
            exclude_resource_types: Vec::new(),
            priority: 100,
        }
    }
}

/// The tags of a scope: `Tags::of(&mut app, scope).add(key, value)`.
pub struct Tags<'a> {
    app: &'a mut App,
    scope: NodeId,
}

impl<'a> Tags<'a> {
    /// The tags of everything below `scope`.
    pub fn of(app: &'a mut App, scope: impl Into<NodeId>) -> Self {
        Tags {
            app,
            scope: scope.into(),
        }
    }

    /// Adds a tag to every taggable resource below the scope.
    pub fn add(self, key: &str, value: &str) -> Self {
        self.add_with(key, value, TagOptions::default())
    }

    /// Adds a tag with include/exclude filters and a priority.
    pub fn add_with(self, key: &str, value: &str, options: TagOptions) -> Self {
        self.push(key, Some(value), options)
    }

    /// Removes a tag (set higher up, or by the resource itself) below the scope.
    pub fn remove(self, key: &str) -> Self {
        self.push(key, None, TagOptions::default())
    }

    /// Removes a tag with filters and a priority.
    pub fn remove_with(self, key: &str, options: TagOptions) -> Self {
        self.push(key, None, options)
    }

    fn push(self, key: &str, value: Option<&str>, options: TagOptions) -> Self {
        Aspects::of(self.app, self.scope).add_with_priority(
            TagAspect {
                key: key.to_string(),
                value: value.map(str::to_string),
                options,
                shapes: RefCell::new(HashMap::new()),
            },
            PRIORITY_MUTATING,
        );
        self
    }
}

struct TagAspect {
    key: String,
    value: Option<String>,
    options: TagOptions,
    /// Tag shapes by resource type, read from the schemas once.
    shapes: RefCell<HashMap<String, Option<TagShape>>>,
}

const PRIORITY_KEY: &str = "cairn:tag-priorities";

impl Aspect for TagAspect {
    fn name(&self) -> String {
        format!("Tag({})", self.key)
    }

    fn visit(&self, app: &mut App, node: NodeId) {
        let Some(ty) = app.node(node).resource_type().map(str::to_string) else {
            return;
        };
        let o = &self.options;
        if (!o.include_resource_types.is_empty() && !o.include_resource_types.contains(&ty))
            || o.exclude_resource_types.contains(&ty)
        {
            return;
        }
        let shape = self
            .shapes
            .borrow_mut()
            .entry(ty.clone())
            .or_insert_with(|| tag_shape(&ty))
            .clone();
        let Some(shape) = shape else {
            if cairn_cfn::schema::facts(&ty).is_none() && !ty.starts_with("Custom::") {
                app.annotate(
                    node,
                    cairn_core::Level::Warning,
                    format!(
                        "tag {} not applied: the schema of {ty} is not compiled in; enable its service's cargo feature of cairn-cfn",
                        self.key
                    ),
                );
            }
            return;
        };
        // A lower priority never overrides a higher one already applied to this key.
        let meta = app.metadata_mut(node);
        let mut priorities = match meta.get(PRIORITY_KEY) {
            Some(Value::Map(m)) => m.clone(),
            _ => IndexMap::new(),
        };
        if let Some(Value::Int(p)) = priorities.get(&self.key) {
            if *p > i64::from(o.priority) {
                return;
            }
        }
        priorities.insert(self.key.clone(), Value::Int(i64::from(o.priority)));
        meta.insert(PRIORITY_KEY.into(), Value::Map(priorities));

        let property_name = match &shape {
            TagShape::KeyValueList { property, .. } | TagShape::Map { property } => property.as_str(),
        };
        let current = app.final_property(node, property_name);
        let (property, new) = match &shape {
            TagShape::KeyValueList {
                property,
                propagate_at_launch,
            } => {
                let mut list = match current {
                    Some(Value::List(l)) => l,
                    Some(_) => return, // an intrinsic: the tags are computed, leave them
                    None => Vec::new(),
                };
                list.retain(|t| {
                    t.as_map().and_then(|m| m.get("Key")).and_then(Value::as_str) != Some(&self.key)
                });
                if let Some(v) = &self.value {
                    let mut tag = vec![
                        ("Key", Value::from(self.key.as_str())),
                        ("Value", Value::from(v.as_str())),
                    ];
                    if *propagate_at_launch {
                        tag.push(("PropagateAtLaunch", Value::from(true)));
                    }
                    list.push(Value::map(tag));
                }
                (property, Value::List(list))
            }
            TagShape::Map { property } => {
                let mut map = match current {
                    Some(Value::Map(m)) => m,
                    Some(_) => return,
                    None => IndexMap::new(),
                };
                match &self.value {
                    Some(v) => {
                        map.insert(self.key.clone(), Value::from(v.as_str()));
                    }
                    None => {
                        map.shift_remove(&self.key);
                    }
                }
                (property, Value::Map(map))
            }
        };
        let empty =
            matches!(&new, Value::List(l) if l.is_empty()) || matches!(&new, Value::Map(m) if m.is_empty());
        let result = if empty {
            app.add_property_deletion_override(node, property)
        } else {
            app.add_property_override(node, property, new)
        };
        if let Err(e) = result {
            app.annotate(
                node,
                cairn_core::Level::Error,
                format!("cannot apply tag {}: {e}", self.key),
            );
        }
    }
}
