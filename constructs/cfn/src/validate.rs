//! Schema checks at synthesis: [`SchemaValidator`] interprets each known type's resource
//! provider schema (JSON Schema draft-07 plus the CloudFormation and cfn-lint keywords
//! `requiredXor`, `requiredOr`, `dependentExcluded`, `dependentRequired`, `uniqueKeys`,
//! `prefixItems`, `enumCaseInsensitive`) against the literal property values of every
//! resource. Hand-written.
//!
//! Intrinsic functions are opaque: a value that is an intrinsic is not checked, and
//! neither is the item count of a list holding an `Fn::If` (it may drop items). Type
//! checks follow CloudFormation's scalar conversions, as cfn-lint does: a number or a
//! boolean is accepted where a string is expected, and `"5"` / `"true"` where an integer
//! or a boolean is.
//!
//! The validator owns what it works from: no cache outside it, nothing leaked. The first
//! time it meets a type it reads the type's embedded schema text straight into its arena
//! (no JSON tree is built): one entry per schema object, holding what the checks read
//! (keywords as numbers and names, enum values as the text they are compared with,
//! properties sorted), subschemas as arena indexes. A `$ref` is an index too: the pointers
//! the schema's `$ref`s name are found in its text first, so the object each points to is
//! compiled once as it is read, and the `$ref`s before it get its index. Patterns are kept
//! once per validator by their text and compiled the first time a value is matched
//! against them: one that is a single character class over the whole text is checked
//! against the class's ranges, others by the `regex` crate, and those it cannot compile
//! (lookaround, backreferences) are skipped. Each app registers its own validator; the
//! arena goes with it.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use cairn_core::{PropertyError, Validator, Value};
use indexmap::IndexMap;
use regex::Regex;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::Value as J;

/// Validates the properties of resources whose type belongs to an enabled service against
/// its schema. Register it with `app.add_validator_once(SchemaValidator::new())`.
/// Unknown types (`Custom::*`, disabled services) pass unchecked.
///
/// ```
/// # #[cfg(feature = "sqs")] {
/// use cairn_cfn::{IndexMap, SchemaValidator, Value};
///
/// let validator = SchemaValidator::new();
/// let mut props = IndexMap::new();
/// props.insert("DelaySeconds".to_string(), Value::Int(1000));
/// let errors = validator.check("AWS::SQS::Queue", &props);
/// assert_eq!(errors[0].path, "Properties.DelaySeconds");
/// assert_eq!(errors[0].message, "1000 is greater than the maximum of 900");
/// # }
/// ```
#[derive(Default)]
pub struct SchemaValidator {
    /// The compiled schemas of the types met so far (filled in as types are met; the
    /// validator is checked from one thread, the app's).
    schemas: RefCell<Schemas>,
}

impl std::fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("SchemaValidator");
        if let Ok(s) = self.schemas.try_borrow() {
            d.field("types", &s.types.len())
                .field("schema_objects", &s.nodes.len())
                .field("patterns", &s.patterns.len());
        }
        d.finish_non_exhaustive()
    }
}

impl SchemaValidator {
    /// A validator with no schema compiled yet: each type's schema is compiled the first
    /// time a resource of that type is checked, and kept for the validator's life.
    pub fn new() -> Self {
        SchemaValidator::default()
    }

    /// Checks one resource's properties; the same as [`Validator::validate`].
    pub fn check(&self, resource_type: &str, properties: &IndexMap<String, Value>) -> Vec<PropertyError> {
        self.check_with(resource_type, properties, None)
    }

    /// [`SchemaValidator::check`], with the map also as a value when the caller has it
    /// (the schema's top-level combinators need it as one).
    fn check_with(
        &self,
        resource_type: &str,
        properties: &IndexMap<String, Value>,
        as_value: Option<&Value>,
    ) -> Vec<PropertyError> {
        let mut schemas = self.schemas.borrow_mut();
        match schemas.root_of(resource_type) {
            Some(root) => schemas.check(root, properties, as_value),
            None => Vec::new(),
        }
    }
}

impl Validator for SchemaValidator {
    fn validate(&self, resource_type: &str, properties: &IndexMap<String, Value>) -> Vec<PropertyError> {
        self.check(resource_type, properties)
    }

    fn validate_value(&self, resource_type: &str, properties: &Value) -> Vec<PropertyError> {
        match properties {
            Value::Map(m) => self.check_with(resource_type, m, Some(properties)),
            _ => Vec::new(),
        }
    }
}

/// The index of a compiled schema object in [`Schemas::nodes`].
type Id = u32;

/// The index of a pattern in [`Schemas::patterns`].
type PatternId = u32;

/// Everything a [`SchemaValidator`] has compiled: an arena of schema objects, shared by
/// the types met so far (each type's objects, and the definitions its `$ref`s reach,
/// compiled together on its first check), and the patterns they use.
#[derive(Default)]
struct Schemas {
    /// Type name -> its root object (`None`: no schema, the type is not checked).
    types: HashMap<Box<str>, Option<Id>>,
    nodes: Vec<Node>,
    patterns: Vec<LazyPattern>,
    /// Pattern text -> its index in `patterns` (a pattern used by many types, such as
    /// the tag key's, is compiled once).
    pattern_ids: HashMap<Box<str>, PatternId>,
}

impl Schemas {
    /// The root object of `resource_type`'s schema, compiled on the first call for the
    /// type; `None` for a type without a schema.
    fn root_of(&mut self, resource_type: &str) -> Option<Id> {
        if let Some(root) = self.types.get(resource_type) {
            return *root;
        }
        let root =
            crate::schema::facts(resource_type).and_then(|facts| Compiler::compile(self, facts.schema_json));
        self.types.insert(resource_type.into(), root);
        root
    }

    /// The errors of a properties map against the schema whose root object is `root`.
    fn check(
        &self,
        root: Id,
        properties: &IndexMap<String, Value>,
        as_value: Option<&Value>,
    ) -> Vec<PropertyError> {
        let mut cx = Cx {
            schemas: self,
            errors: Vec::new(),
        };
        let mut path = String::from("Properties");
        cx.object(root, properties, as_value, &mut path);
        let mut seen = HashSet::new();
        cx.errors
            .into_iter()
            .filter(|e| seen.insert((e.path.clone(), e.message.clone())))
            .map(|e| PropertyError {
                path: e.path,
                message: e.message,
            })
            .collect()
    }

    fn node(&self, id: Id) -> &Node {
        &self.nodes[id as usize]
    }

    /// The compiled pattern (compiling it on first use); `None` when `regex` cannot
    /// compile it.
    fn pattern(&self, id: PatternId) -> Option<&Pattern> {
        let p = &self.patterns[id as usize];
        p.compiled.get_or_init(|| Pattern::new(&p.text)).as_ref()
    }

    fn pattern_text(&self, id: PatternId) -> &str {
        &self.patterns[id as usize].text
    }
}

/// A pattern's text, and its compiled form once a value has been matched against it.
struct LazyPattern {
    text: Box<str>,
    compiled: OnceCell<Option<Pattern>>,
}

/// One compiled schema (a JSON object, or `true`/`false`).
enum Node {
    /// `false`: no value is allowed.
    Never,
    /// Anything that is not an object or `false` (`true`): every value passes.
    Any,
    Object(Box<Schema>),
}

/// A schema object, with what the checks need from it worked out once: keywords as
/// numbers and names, enum values as the text they are compared with, properties sorted,
/// subschemas (and the `$ref` target) as arena indexes, patterns as indexes into the
/// validator's patterns.
#[derive(Default)]
struct Schema {
    /// Where `$ref` points.
    target: Option<Id>,
    /// The names in `type`.
    types: Vec<Type>,
    /// Is there a `type` keyword other than `"string"`? (A string that reads as a number
    /// gets the numeric checks only then.)
    numeric_strings: bool,
    /// `enum`, each value as it is shown and compared (`show_json`).
    enumeration: Option<Vec<String>>,
    /// `const`: (as compared, as shown in the message).
    constant: Option<(String, String)>,
    /// `enumCaseInsensitive`: (as shown, lowercase) for each value.
    enum_case_insensitive: Option<Vec<(String, String)>>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<PatternId>,
    minimum: Option<Limit>,
    maximum: Option<Limit>,
    exclusive_minimum: Option<Limit>,
    exclusive_maximum: Option<Limit>,
    multiple_of: Option<Limit>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    unique_keys: Option<Vec<Box<str>>>,
    prefix_items: Option<Vec<Id>>,
    items: Items,
    /// `properties`, sorted by name.
    properties: Vec<(Box<str>, Id)>,
    /// `patternProperties` (an uncompilable pattern matches every name: no false alarms).
    pattern_properties: Vec<(PatternId, Id)>,
    additional_properties: Additional,
    /// The names in `required`.
    required: Vec<Box<str>>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    /// `dependencies`, then `dependentRequired`.
    dependencies: Vec<(Box<str>, Dependency)>,
    dependent_excluded: Vec<(Box<str>, Vec<Box<str>>)>,
    required_xor: Option<Vec<Box<str>>>,
    required_or: Option<Vec<Box<str>>>,
    all_of: Vec<Id>,
    any_of: Option<Vec<Id>>,
    one_of: Option<Vec<Id>>,
    not: Option<Id>,
    when: Option<Id>,
    then: Option<Id>,
    otherwise: Option<Id>,
    /// The names in `required` when the object is only `{"required": [...]}` (and maybe
    /// `type`): a mutual-exclusion branch, reported by the names it requires.
    required_only: Option<Vec<Box<str>>>,
}

impl Schema {
    /// The schema of property `name` under `properties`.
    fn property(&self, name: &str) -> Option<Id> {
        self.properties
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| self.properties[i].1)
    }

    fn has_combinators(&self) -> bool {
        !self.all_of.is_empty()
            || self.any_of.is_some()
            || self.one_of.is_some()
            || self.not.is_some()
            || self.when.is_some()
    }
}

/// A numeric bound: its value, and its JSON text for messages.
struct Limit {
    value: f64,
    shown: Box<str>,
}

/// The JSON types `type` names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Type {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    Null,
    /// A name JSON Schema does not define: every value passes.
    Other(Box<str>),
}

impl Type {
    fn of(name: &str) -> Type {
        match name {
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            "array" => Type::Array,
            "object" => Type::Object,
            "null" => Type::Null,
            other => Type::Other(other.into()),
        }
    }

    fn name(&self) -> &str {
        match self {
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Boolean => "boolean",
            Type::Array => "array",
            Type::Object => "object",
            Type::Null => "null",
            Type::Other(n) => n,
        }
    }
}

/// `items`.
#[derive(Default)]
enum Items {
    #[default]
    None,
    /// One schema per position.
    Tuple(Vec<Id>),
    /// One schema for every item.
    Each(Id),
}

/// `additionalProperties`.
#[derive(Default)]
enum Additional {
    /// Absent or `true`: names outside `properties` pass.
    #[default]
    Allowed,
    /// `false`: a name outside `properties` is an error.
    Forbidden,
    /// A schema the values of other names are checked against.
    Schema(Id),
}

/// One entry of `dependencies` / `dependentRequired`.
enum Dependency {
    /// The names that must be set with the key.
    Names(Vec<Box<str>>),
    /// A schema the whole map must satisfy when the key is set.
    Schema(Id),
}

/// Compiles one type's schema, read from its JSON text, into a [`Schemas`] arena: each
/// schema object becomes a [`Node`] as it is read (no JSON tree is built), and each
/// `$ref` the index of the node its target is read into.
struct Compiler<'s> {
    schemas: &'s mut Schemas,
    /// The places the schema's `$ref`s point to (found in its text before reading it).
    targets: Targets,
    /// Where the value being read is in `targets`; `None` when no target is at or below
    /// it (most of a schema).
    at: Option<u32>,
}

impl<'s> Compiler<'s> {
    /// Compiles the schema in `text`; its root object's index, `None` if it is not JSON.
    fn compile(schemas: &'s mut Schemas, text: &str) -> Option<Id> {
        let mut c = Compiler {
            schemas,
            targets: Targets::of(text),
            at: Some(0),
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let root = SchemaSeed(&mut c).deserialize(&mut de).ok()?;
        de.end().ok()?;
        Some(root)
    }

    fn push(&mut self, node: Node) -> Id {
        let id = Id::try_from(self.schemas.nodes.len()).unwrap_or(Id::MAX);
        self.schemas.nodes.push(node);
        id
    }

    /// Adds the node of the value being read to the arena (into the placeholder a `$ref`
    /// to it got, if there is one).
    fn place(&mut self, node: Node) -> Id {
        if let Some(at) = self.at {
            let target = &self.targets.nodes[at as usize];
            if target.is_target {
                if let Some(id) = target.id {
                    self.schemas.nodes[id as usize] = node;
                    return id;
                }
                let id = self.push(node);
                self.targets.nodes[at as usize].id = Some(id);
                return id;
            }
        }
        self.push(node)
    }

    /// The node of the schema a `$ref` points to (a placeholder until the target is
    /// read; it stays one, passing every value, if the target is not a schema of this
    /// document).
    fn reference(&mut self, r: &str) -> Option<Id> {
        let at = self.targets.find(r)?;
        if let Some(id) = self.targets.nodes[at as usize].id {
            return Some(id);
        }
        let id = self.push(Node::Any);
        self.targets.nodes[at as usize].id = Some(id);
        Some(id)
    }

    /// Steps into member `key` of the value being read; [`Compiler::leave`] steps out.
    fn enter(&mut self, key: &str) -> Mark {
        let mark = Mark(self.at);
        self.at = self.at.and_then(|at| self.targets.child(at, key));
        mark
    }

    /// Steps into item `i` of the list being read.
    fn enter_index(&mut self, i: usize) -> Mark {
        let mark = Mark(self.at);
        self.at = self
            .at
            .filter(|at| !self.targets.nodes[*at as usize].children.is_empty())
            .and_then(|at| self.targets.child(at, &i.to_string()));
        mark
    }

    fn leave(&mut self, mark: Mark) {
        self.at = mark.0;
    }

    fn pattern(&mut self, text: &str) -> PatternId {
        if let Some(id) = self.schemas.pattern_ids.get(text) {
            return *id;
        }
        let id = PatternId::try_from(self.schemas.patterns.len()).unwrap_or(PatternId::MAX);
        self.schemas.patterns.push(LazyPattern {
            text: text.into(),
            compiled: OnceCell::new(),
        });
        self.schemas.pattern_ids.insert(text.into(), id);
        id
    }

    /// Reads a schema object's keywords.
    fn object<'de, A: MapAccess<'de>>(&mut self, mut map: A) -> Result<Box<Schema>, A::Error> {
        // Filled in its box (a schema is a few hundred bytes: not moved once built).
        let mut s = Box::<Schema>::default();
        let mut dependencies = Vec::new();
        let mut dependent_required = Vec::new();
        // For `required_only`: the `required` list, and whether any other keyword but
        // `type` is present.
        let mut required = None;
        let mut other_keywords = false;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let mark = self.enter(&key);
            other_keywords |= !matches!(&*key, "required" | "type");
            match &*key {
                "$ref" => {
                    let r: J = map.next_value()?;
                    s.target = r.as_str().and_then(|r| self.reference(r));
                }
                "type" => {
                    let v: J = map.next_value()?;
                    s.types = match &v {
                        J::String(t) => vec![Type::of(t)],
                        J::Array(ts) => ts.iter().filter_map(J::as_str).map(Type::of).collect(),
                        _ => Vec::new(),
                    };
                    s.numeric_strings = v.as_str() != Some("string");
                }
                "enum" => {
                    if let J::Array(e) = map.next_value()? {
                        s.enumeration = Some(e.into_iter().map(shown).collect());
                    }
                }
                "const" => {
                    let v: J = map.next_value()?;
                    let display = v.to_string();
                    s.constant = Some((shown(v), display));
                }
                "enumCaseInsensitive" => {
                    if let J::Array(e) = map.next_value()? {
                        let values = e.into_iter().map(|c| {
                            let shown = shown(c);
                            let lower = shown.to_lowercase();
                            (shown, lower)
                        });
                        s.enum_case_insensitive = Some(values.collect());
                    }
                }
                "minLength" => s.min_length = map.next_value::<J>()?.as_u64(),
                "maxLength" => s.max_length = map.next_value::<J>()?.as_u64(),
                "pattern" => {
                    if let J::String(p) = map.next_value()? {
                        s.pattern = Some(self.pattern(&p));
                    }
                }
                "minimum" => s.minimum = bound(&map.next_value()?),
                "maximum" => s.maximum = bound(&map.next_value()?),
                "exclusiveMinimum" => s.exclusive_minimum = bound(&map.next_value()?),
                "exclusiveMaximum" => s.exclusive_maximum = bound(&map.next_value()?),
                "multipleOf" => s.multiple_of = bound(&map.next_value()?),
                "minItems" => s.min_items = map.next_value::<J>()?.as_u64(),
                "maxItems" => s.max_items = map.next_value::<J>()?.as_u64(),
                "uniqueItems" => s.unique_items = map.next_value::<J>()? == J::Bool(true),
                "uniqueKeys" => s.unique_keys = names(map.next_value()?),
                "prefixItems" => s.prefix_items = map.next_value_seed(SchemaListSeed(self))?,
                "items" => s.items = map.next_value_seed(ItemsSeed(self))?,
                "properties" => {
                    s.properties = map.next_value_seed(PropertiesSeed(self))?;
                    s.properties.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                }
                "patternProperties" => {
                    let properties = map.next_value_seed(PropertiesSeed(self))?;
                    s.pattern_properties = properties
                        .into_iter()
                        .map(|(p, id)| (self.pattern(&p), id))
                        .collect();
                }
                "additionalProperties" => {
                    s.additional_properties = match map.next_value_seed(NodeSeed(self))? {
                        Node::Never => Additional::Forbidden,
                        node @ Node::Object(_) => Additional::Schema(self.place(node)),
                        Node::Any => Additional::Allowed,
                    };
                }
                "required" => {
                    let list = names(map.next_value()?);
                    s.required = list.clone().unwrap_or_default();
                    required = list;
                }
                "minProperties" => s.min_properties = map.next_value::<J>()?.as_u64(),
                "maxProperties" => s.max_properties = map.next_value::<J>()?.as_u64(),
                "dependencies" => dependencies = map.next_value_seed(DependenciesSeed(self))?,
                "dependentRequired" => {
                    dependent_required = map.next_value_seed(DependenciesSeed(self))?;
                }
                "dependentExcluded" => {
                    if let J::Object(deps) = map.next_value()? {
                        s.dependent_excluded = deps
                            .into_iter()
                            .map(|(k, d)| (k.into(), names(d).unwrap_or_default()))
                            .collect();
                    }
                }
                "requiredXor" => s.required_xor = names(map.next_value()?),
                "requiredOr" => s.required_or = names(map.next_value()?),
                "allOf" => s.all_of = map.next_value_seed(SchemaListSeed(self))?.unwrap_or_default(),
                "anyOf" => s.any_of = map.next_value_seed(SchemaListSeed(self))?,
                "oneOf" => s.one_of = map.next_value_seed(SchemaListSeed(self))?,
                "not" => s.not = Some(map.next_value_seed(SchemaSeed(self))?),
                "if" => s.when = Some(map.next_value_seed(SchemaSeed(self))?),
                "then" => s.then = Some(map.next_value_seed(SchemaSeed(self))?),
                "else" => s.otherwise = Some(map.next_value_seed(SchemaSeed(self))?),
                // Not a keyword the checks read (`definitions`, `format`, ...): read only
                // for the `$ref` targets in it.
                _ => map.next_value_seed(TargetsSeed(self))?,
            }
            self.leave(mark);
        }
        dependencies.append(&mut dependent_required);
        s.dependencies = dependencies;
        if !other_keywords {
            s.required_only = required;
        }
        Ok(s)
    }
}

/// Where [`Compiler::leave`] returns to.
struct Mark(Option<u32>);

/// The JSON pointers a schema's `$ref`s name, as a tree of their parts (the root is
/// node 0), each target with the node it is compiled to once one is given out: to the
/// first `$ref` read (a placeholder, filled in when the target is read) or to the target.
struct Targets {
    nodes: Vec<TargetNode>,
}

#[derive(Default)]
struct TargetNode {
    /// Part (unescaped) -> node, sorted.
    children: Vec<(Box<str>, u32)>,
    /// Does a `$ref` point here?
    is_target: bool,
    id: Option<Id>,
}

impl Targets {
    /// The targets of the `$ref`s in a schema's text. A `"$ref":` outside a string can
    /// only be a `$ref` key: a quote inside a string is escaped.
    fn of(text: &str) -> Targets {
        const KEY: &str = "\"$ref\":";
        let mut targets = Targets {
            nodes: vec![TargetNode::default()],
        };
        for (at, _) in text.match_indices(KEY) {
            let rest = text[at + KEY.len()..].trim_start();
            let Some(body) = rest.strip_prefix('"') else {
                continue;
            };
            let mut escaped = false;
            let end = body.char_indices().find_map(|(i, ch)| {
                let end = !escaped && ch == '"';
                escaped = !escaped && ch == '\\';
                end.then_some(i)
            });
            let Some(end) = end else { continue };
            let literal = &body[..end];
            let r = if literal.contains('\\') {
                // The literal with its quotes, unescaped by the JSON reader.
                match serde_json::from_str::<String>(&rest[..end + 2]) {
                    Ok(r) => Cow::Owned(r),
                    Err(_) => continue,
                }
            } else {
                Cow::Borrowed(literal)
            };
            targets.insert(&r);
        }
        targets
    }

    /// The parts of a `$ref` (`#/definitions/a~1b` -> `definitions`, `a/b`); `None`
    /// for one that is not a pointer into this document.
    fn parts(r: &str) -> Option<impl Iterator<Item = Cow<'_, str>>> {
        let pointer = r.strip_prefix('#')?;
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return None;
        }
        Some(pointer.split('/').skip(1).map(|p| {
            if p.contains('~') {
                Cow::Owned(p.replace("~1", "/").replace("~0", "~"))
            } else {
                Cow::Borrowed(p)
            }
        }))
    }

    fn insert(&mut self, r: &str) {
        let Some(parts) = Targets::parts(r) else {
            return;
        };
        let mut at = 0;
        for part in parts {
            let children = &self.nodes[at].children;
            at = match children.binary_search_by(|(k, _)| (**k).cmp(&part)) {
                Ok(i) => children[i].1 as usize,
                Err(i) => {
                    let new = self.nodes.len();
                    self.nodes.push(TargetNode::default());
                    let id = u32::try_from(new).unwrap_or(u32::MAX);
                    self.nodes[at].children.insert(i, (part.into(), id));
                    new
                }
            };
        }
        self.nodes[at].is_target = true;
    }

    /// The target node of a `$ref`.
    fn find(&self, r: &str) -> Option<u32> {
        let mut at = 0;
        for part in Targets::parts(r)? {
            at = self.child(at, &part)?;
        }
        self.nodes[at as usize].is_target.then_some(at)
    }

    fn child(&self, at: u32, part: &str) -> Option<u32> {
        let children = &self.nodes[at as usize].children;
        children
            .binary_search_by(|(k, _)| (**k).cmp(part))
            .ok()
            .map(|i| children[i].1)
    }
}

/// A numeric keyword's value (`None` when it is not a number: the check is skipped).
fn bound(v: &J) -> Option<Limit> {
    Some(Limit {
        value: v.as_f64()?,
        shown: v.to_string().into(),
    })
}

/// A JSON value as messages show it and enums compare it: a string's text, anything
/// else as JSON.
fn shown(v: J) -> String {
    match v {
        J::String(s) => s,
        other => other.to_string(),
    }
}

/// The strings of a JSON list (others left out); `None` if `v` is not a list.
fn names(v: J) -> Option<Vec<Box<str>>> {
    match v {
        J::Array(list) => Some(
            list.into_iter()
                .filter_map(|x| match x {
                    J::String(s) => Some(s.into_boxed_str()),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Visitor methods for the JSON shapes a keyword does not expect: the value is read and
/// left out, as an interpreter of the parsed JSON leaves out a keyword of the wrong shape.
macro_rules! other_shapes {
    ($default:expr; $($kind:ident),*) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($default)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($default)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($default)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($default)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($default)
        }
        $(other_shapes!(@$kind $default);)*
    };
    (@bool $default:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($default)
        }
    };
    (@seq $default:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($default)
        }
    };
    (@map $default:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($default)
        }
    };
}

mod seeds;
use seeds::*;

mod pattern;
use pattern::Pattern;

#[derive(Debug, Clone)]
struct Error {
    path: String,
    message: String,
    /// A type mismatch of the value the schema node was applied to (used to pick the
    /// branch of a failed `oneOf`/`anyOf` that the author most likely meant).
    type_mismatch: bool,
}

/// One check of one resource: the compiled schemas it reads, the errors it found.
struct Cx<'s> {
    schemas: &'s Schemas,
    errors: Vec<Error>,
}

/// Is this value opaque to the checks: an intrinsic function, or a raw-JSON one?
fn is_intrinsic(v: &Value) -> bool {
    match v {
        Value::Intrinsic(_) => true,
        Value::Map(m) if m.len() == 1 => m
            .keys()
            .next()
            .is_some_and(|k| k == "Ref" || k.starts_with("Fn::")),
        _ => false,
    }
}

fn is_if(v: &Value) -> bool {
    match v {
        Value::Intrinsic(i) => matches!(**i, cairn_core::Intrinsic::If(..)),
        Value::Map(m) => m.len() == 1 && m.contains_key("Fn::If"),
        _ => false,
    }
}

/// A short rendering of a literal for messages: JSON-like, strings quoted.
fn show(v: &Value) -> String {
    let mut s = String::new();
    render(v, &mut s);
    if s.chars().count() > 80 {
        s = s.chars().take(77).collect::<String>() + "...";
    }
    s
}

fn render(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::String(s) => {
            let _ = write!(out, "{s:?}");
        }
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render(x, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{k:?}: ");
                render(x, out);
            }
            out.push('}');
        }
        Value::Intrinsic(_) => out.push_str("(intrinsic)"),
    }
}

/// The scalar as a string (CloudFormation converts scalars to strings).
fn scalar_str(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Int(i) => Some(Cow::Owned(i.to_string())),
        Value::Float(f) => Some(Cow::Owned(f.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

fn type_ok(t: &Type, v: &Value) -> bool {
    match t {
        Type::String => matches!(
            v,
            Value::String(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_)
        ),
        Type::Integer => match v {
            Value::Int(_) => true,
            Value::Float(f) => f.fract() == 0.0,
            Value::String(s) => s.trim().parse::<i64>().is_ok(),
            _ => false,
        },
        Type::Number => number(v).is_some(),
        Type::Boolean => match v {
            Value::Bool(_) => true,
            Value::String(s) => matches!(s.as_str(), "true" | "false" | "True" | "False"),
            _ => false,
        },
        Type::Array => matches!(v, Value::List(_)),
        Type::Object => matches!(v, Value::Map(_)),
        Type::Null => matches!(v, Value::Null),
        Type::Other(_) => true,
    }
}

fn quoted<S: AsRef<str>>(list: &[S]) -> String {
    list.iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn join_path(path: &mut String, key: &str) -> usize {
    let len = path.len();
    path.push('.');
    path.push_str(key);
    len
}

impl<'s> Cx<'s> {
    fn err(&mut self, path: &str, message: String) {
        self.errors.push(Error {
            path: path.to_string(),
            message,
            type_mismatch: false,
        });
    }

    /// Runs schema `id` on `v` into a fresh error list.
    fn trial(&mut self, id: Id, v: &Value, path: &mut String) -> Vec<Error> {
        let saved = std::mem::take(&mut self.errors);
        self.value(id, v, path);
        std::mem::replace(&mut self.errors, saved)
    }

    /// The top level: the properties map against the whole resource schema.
    fn object(
        &mut self,
        root: Id,
        props: &IndexMap<String, Value>,
        as_value: Option<&Value>,
        path: &mut String,
    ) {
        let Node::Object(s) = self.schemas.node(root) else {
            return;
        };
        self.map_keywords(s, props, path);
        // The combinators need the map as a value: copied only when there are any and
        // the caller does not have it as one.
        if s.has_combinators() {
            match as_value {
                Some(v) => self.combinators(s, v, path),
                None => self.combinators(s, &Value::Map(props.clone()), path),
            }
        }
    }

    fn value(&mut self, id: Id, v: &Value, path: &mut String) {
        if is_intrinsic(v) {
            return;
        }
        let s = match self.schemas.node(id) {
            Node::Never => {
                self.err(path, "no value is allowed here".to_string());
                return;
            }
            Node::Object(s) => s,
            Node::Any => return,
        };
        if let Some(target) = s.target {
            self.value(target, v, path);
        }
        if !s.types.is_empty() && !s.types.iter().any(|t| type_ok(t, v)) {
            let names: Vec<&str> = s.types.iter().map(Type::name).collect();
            self.errors.push(Error {
                path: path.clone(),
                message: format!("{} is not of type {}", show(v), names.join(", ")),
                type_mismatch: true,
            });
            return;
        }
        if let Some(e) = &s.enumeration {
            if let Some(x) = scalar_str(v) {
                if !e.iter().any(|c| *c == x) {
                    self.err(path, format!("{} is not one of {}", show(v), e.join(", ")));
                }
            }
        }
        if let Some((c, shown)) = &s.constant {
            if let Some(x) = scalar_str(v) {
                if *c != x {
                    self.err(path, format!("{} is not {shown}", show(v)));
                }
            }
        }
        if let Some(e) = &s.enum_case_insensitive {
            if let Some(x) = scalar_str(v) {
                let lower = x.to_lowercase();
                if !e.iter().any(|(_, c)| *c == lower) {
                    let allowed: Vec<&str> = e.iter().map(|(shown, _)| shown.as_str()).collect();
                    self.err(
                        path,
                        format!("{} is not one of {} (any case)", show(v), allowed.join(", ")),
                    );
                }
            }
        }
        match v {
            Value::String(text) => self.string(s, text, v, path),
            Value::Int(_) | Value::Float(_) => {}
            Value::List(items) => self.list(s, items, path),
            Value::Map(m) => self.map_keywords(s, m, path),
            _ => {}
        }
        if let Some(n) = number(v) {
            if !matches!(v, Value::String(_)) || s.numeric_strings {
                self.numeric(s, n, v, path);
            }
        }
        self.combinators(s, v, path);
    }

    fn string(&mut self, s: &Schema, text: &str, v: &Value, path: &str) {
        let len = text.chars().count() as u64;
        if let Some(min) = s.min_length {
            if len < min {
                self.err(path, format!("{} is shorter than {min} characters", show(v)));
            }
        }
        if let Some(max) = s.max_length {
            if len > max {
                self.err(path, format!("{} is longer than {max} characters", show(v)));
            }
        }
        if let Some(p) = s.pattern {
            if self.schemas.pattern(p).is_some_and(|re| !re.is_match(text)) {
                let p = self.schemas.pattern_text(p);
                self.err(path, format!("{} does not match pattern {p}", show(v)));
            }
        }
    }

    fn numeric(&mut self, s: &Schema, n: f64, v: &Value, path: &str) {
        if let Some(min) = &s.minimum {
            if n < min.value {
                self.err(
                    path,
                    format!("{} is less than the minimum of {}", show(v), min.shown),
                );
            }
        }
        if let Some(max) = &s.maximum {
            if n > max.value {
                self.err(
                    path,
                    format!("{} is greater than the maximum of {}", show(v), max.shown),
                );
            }
        }
        if let Some(min) = &s.exclusive_minimum {
            if n <= min.value {
                self.err(
                    path,
                    format!(
                        "{} is less than or equal to the exclusive minimum of {}",
                        show(v),
                        min.shown
                    ),
                );
            }
        }
        if let Some(max) = &s.exclusive_maximum {
            if n >= max.value {
                self.err(
                    path,
                    format!(
                        "{} is greater than or equal to the exclusive maximum of {}",
                        show(v),
                        max.shown
                    ),
                );
            }
        }
        if let Some(m) = &s.multiple_of {
            if m.value > 0.0 {
                let q = n / m.value;
                if (q - q.round()).abs() > 1e-9 {
                    self.err(path, format!("{} is not a multiple of {}", show(v), m.shown));
                }
            }
        }
    }

    fn list(&mut self, s: &Schema, items: &[Value], path: &mut String) {
        let n = items.len() as u64;
        let may_shrink = items.iter().any(is_if);
        if let Some(min) = s.min_items {
            if n < min && !may_shrink {
                self.err(path, format!("has {n} items, fewer than the minimum of {min}"));
            }
        }
        if let Some(max) = s.max_items {
            if n > max {
                self.err(path, format!("has {n} items, more than the maximum of {max}"));
            }
        }
        if s.unique_items {
            let mut seen = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                if item.is_literal() && !seen.insert(show_full(item)) {
                    let at = format!("{path}[{i}]");
                    self.err(
                        &at,
                        format!("{} is a duplicate; items must be unique", show(item)),
                    );
                }
            }
        }
        if let Some(keys) = &s.unique_keys {
            let mut seen = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                let Value::Map(m) = item else { continue };
                let tuple: Option<Vec<String>> = keys
                    .iter()
                    .map(|k| m.get(&**k).filter(|x| x.is_literal()).map(show_full))
                    .collect();
                if let Some(t) = tuple {
                    if !seen.insert(t.clone()) {
                        let at = format!("{path}[{i}]");
                        self.err(&at, format!("duplicate {} {}", keys.join(", "), t.join(", ")));
                    }
                }
            }
        }
        for (i, item) in items.iter().enumerate() {
            let len = path.len();
            let _ = write!(path, "[{i}]");
            if let Some(p) = s.prefix_items.as_ref().and_then(|p| p.get(i)) {
                self.value(*p, item, path);
            }
            match &s.items {
                Items::Tuple(tuple) => {
                    if let Some(t) = tuple.get(i) {
                        self.value(*t, item, path);
                    }
                }
                Items::Each(one) => self.value(*one, item, path),
                Items::None => {}
            }
            path.truncate(len);
        }
    }

    fn map_keywords(&mut self, s: &Schema, m: &IndexMap<String, Value>, path: &mut String) {
        for (k, v) in m {
            let len = join_path(path, k);
            let mut known = false;
            if let Some(p) = s.property(k) {
                known = true;
                self.value(p, v, path);
            }
            for &(re, ps) in &s.pattern_properties {
                // An uncompilable pattern matches everything (no false alarms).
                if self.schemas.pattern(re).is_none_or(|re| re.is_match(k)) {
                    known = true;
                    self.value(ps, v, path);
                }
            }
            if !known {
                match s.additional_properties {
                    Additional::Forbidden => {
                        let p = path.clone();
                        self.err(&p, format!("\"{k}\" is not a property of this type (additional properties are not allowed)"));
                    }
                    Additional::Schema(a) => self.value(a, v, path),
                    Additional::Allowed => {}
                }
            }
            path.truncate(len);
        }
        for r in &s.required {
            if !m.contains_key(&**r) {
                self.err(path, format!("required property \"{r}\" is missing"));
            }
        }
        if let Some(min) = s.min_properties {
            if (m.len() as u64) < min {
                self.err(
                    path,
                    format!("has {} properties, fewer than the minimum of {min}", m.len()),
                );
            }
        }
        if let Some(max) = s.max_properties {
            if (m.len() as u64) > max {
                self.err(
                    path,
                    format!("has {} properties, more than the maximum of {max}", m.len()),
                );
            }
        }
        for (k, d) in &s.dependencies {
            if !m.contains_key(&**k) {
                continue;
            }
            match d {
                Dependency::Names(needed) => {
                    for n in needed {
                        if !m.contains_key(&**n) {
                            self.err(path, format!("\"{k}\" requires \"{n}\" to be set"));
                        }
                    }
                }
                Dependency::Schema(d) => self.value(*d, &Value::Map(m.clone()), path),
            }
        }
        for (k, d) in &s.dependent_excluded {
            if !m.contains_key(&**k) {
                continue;
            }
            for n in d {
                if m.contains_key(&**n) {
                    self.err(path, format!("\"{k}\" and \"{n}\" cannot be set together"));
                }
            }
        }
        if let Some(list) = &s.required_xor {
            let set: Vec<&str> = list.iter().map(|k| &**k).filter(|k| m.contains_key(*k)).collect();
            if set.len() != 1 {
                let found = if set.is_empty() {
                    "none".to_string()
                } else {
                    quoted(&set)
                };
                self.err(
                    path,
                    format!("exactly one of {} must be set, found {found}", quoted(list)),
                );
            }
        }
        if let Some(list) = &s.required_or {
            if !list.iter().any(|k| m.contains_key(&**k)) {
                self.err(path, format!("at least one of {} must be set", quoted(list)));
            }
        }
    }

    /// The names each branch requires, when every branch is only `{"required": [...]}`.
    fn required_only(&self, branches: &[Id]) -> Option<Vec<&'s str>> {
        let schemas = self.schemas;
        let mut all = Vec::new();
        for &b in branches {
            let Node::Object(s) = schemas.node(b) else {
                return None;
            };
            all.extend(s.required_only.as_ref()?.iter().map(|n| &**n));
        }
        Some(all)
    }

    fn combinators(&mut self, s: &Schema, v: &Value, path: &mut String) {
        for &b in &s.all_of {
            self.value(b, v, path);
        }
        if let Some(any) = &s.any_of {
            let mut failures = Vec::new();
            let mut ok = false;
            for &b in any {
                let errs = self.trial(b, v, path);
                if errs.is_empty() {
                    ok = true;
                    break;
                }
                failures.push(errs);
            }
            if !ok {
                match self.required_only(any) {
                    Some(all) => {
                        self.err(path, format!("at least one of {} must be set", quoted(&all)));
                    }
                    None => self.best_failure(failures, v, path),
                }
            }
        }
        if let Some(one) = &s.one_of {
            let mut failures = Vec::new();
            let mut valid = 0;
            for &b in one {
                let errs = self.trial(b, v, path);
                if errs.is_empty() {
                    valid += 1;
                } else {
                    failures.push(errs);
                }
            }
            let req = self.required_only(one);
            if valid == 0 {
                match req {
                    Some(all) => {
                        self.err(
                            path,
                            format!("exactly one of {} must be set, found none", quoted(&all)),
                        );
                    }
                    None => self.best_failure(failures, v, path),
                }
            } else if valid > 1 {
                match (req, v) {
                    (Some(all), Value::Map(m)) => {
                        let set: Vec<&str> = all.iter().copied().filter(|k| m.contains_key(*k)).collect();
                        self.err(
                            path,
                            format!("only one of {} may be set, found {}", quoted(&all), quoted(&set)),
                        );
                    }
                    _ => self.err(
                        path,
                        format!("{} is valid under more than one of the allowed schemas", show(v)),
                    ),
                }
            }
        }
        if let Some(not) = s.not {
            if self.trial(not, v, path).is_empty() {
                match self.required_only(&[not]) {
                    Some(r) => self.err(path, format!("{} must not be set here", quoted(&r))),
                    None => self.err(path, format!("{} is not allowed here", show(v))),
                }
            }
        }
        if let Some(cond) = s.when {
            let holds = self.trial(cond, v, path).is_empty();
            let branch = if holds { s.then } else { s.otherwise };
            if let Some(b) = branch {
                self.value(b, v, path);
            }
        }
    }

    /// Reports a failed `anyOf`/`oneOf` through the branch the value most likely meant:
    /// one whose type matched, with the fewest errors.
    fn best_failure(&mut self, failures: Vec<Vec<Error>>, v: &Value, path: &str) {
        let best = failures
            .into_iter()
            .filter(|errs| !errs.iter().any(|e| e.type_mismatch && e.path == path))
            .min_by_key(|errs| errs.len());
        match best {
            Some(errs) => self.errors.extend(errs),
            None => self.errors.push(Error {
                path: path.to_string(),
                message: format!("{} is not valid under any of the allowed schemas", show(v)),
                type_mismatch: true,
            }),
        }
    }
}

/// The full rendering, for uniqueness checks.
fn show_full(v: &Value) -> String {
    let mut s = String::new();
    render(v, &mut s);
    s
}

#[cfg(test)]
mod tests;
