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
//! or a boolean is. Each schema is parsed once, on first use, and each of its objects is
//! compiled once into what the checks read (keywords, `$ref` target, sorted properties,
//! patterns). Patterns are compiled once each: one that is a single character class over
//! the whole text is checked against the class's ranges, others by the `regex` crate, and
//! those it cannot compile (lookaround, backreferences) are skipped.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use cairn_core::{PropertyError, Validator, Value};
use indexmap::IndexMap;
use regex::Regex;
use serde_json::Value as J;

/// Validates the properties of resources whose type belongs to an enabled service against
/// its schema. Register it with `app.add_validator(Box::new(SchemaValidator::new()))`.
/// Unknown types (`Custom::*`, disabled services) pass unchecked.
#[derive(Debug, Default, Clone, Copy)]
pub struct SchemaValidator;

impl SchemaValidator {
    /// The validator. All schema and regex caches are process-wide, so any number of
    /// validators share them.
    pub fn new() -> Self {
        SchemaValidator
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
        let Some(schema) = schema_of(resource_type) else {
            return Vec::new();
        };
        let mut cx = Cx {
            root: schema,
            errors: Vec::new(),
        };
        let mut path = String::from("Properties");
        cx.object(schema, properties, as_value, &mut path);
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

/// The parsed schema of a type: parsed on first use and kept for the life of the
/// process (as the compiled forms of its parts are, see [`compiled`]).
fn schema_of(resource_type: &str) -> Option<&'static J> {
    let facts = crate::schema::facts(resource_type)?;
    static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static J>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = cache.get(facts.type_name) {
        return Some(s);
    }
    let parsed: J = serde_json::from_str(facts.schema_json).ok()?;
    let parsed: &'static J = Box::leak(Box::new(parsed));
    cache.insert(facts.type_name, parsed);
    Some(parsed)
}

/// Hashes the address of a schema object (the key of the compiled-schema caches).
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        let h = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }
}

type ByAddress<V> = HashMap<usize, V, BuildHasherDefault<AddressHasher>>;

/// One schema object with what the checks need from it worked out once: its keywords,
/// its `$ref` resolved, its patterns compiled, its properties sorted for lookup.
struct Compiled {
    kw: Kw<'static>,
    /// Where `$ref` points, in the same schema.
    target: Option<&'static J>,
    /// The names in `type`.
    types: Vec<&'static str>,
    /// `pattern`, compiled (`None` inside: `regex` cannot compile it, so it is skipped).
    pattern: Option<(&'static str, Option<Arc<Pattern>>)>,
    /// `properties`, sorted by name.
    properties: Vec<(&'static str, &'static J)>,
    /// `patternProperties`, compiled (`None`: matches every name, no false alarms).
    pattern_properties: Vec<(Option<Arc<Pattern>>, &'static J)>,
    /// The names in `required`.
    required: Vec<&'static str>,
}

impl Compiled {
    fn new(s: &'static serde_json::Map<String, J>, root: &'static J) -> Compiled {
        let kw = Kw::of(s);
        let target = kw.reference.and_then(J::as_str).and_then(|r| resolve(root, r));
        let types = match kw.types {
            Some(J::String(t)) => vec![t.as_str()],
            Some(J::Array(ts)) => names(ts),
            _ => Vec::new(),
        };
        let pattern = kw.pattern.and_then(J::as_str).map(|p| (p, regex(p)));
        let mut properties: Vec<(&'static str, &'static J)> = kw
            .properties
            .and_then(J::as_object)
            .map(|p| p.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        properties.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let pattern_properties = kw
            .pattern_properties
            .and_then(J::as_object)
            .map(|pp| pp.iter().map(|(k, v)| (regex(k), v)).collect())
            .unwrap_or_default();
        let required = kw
            .required
            .and_then(J::as_array)
            .map(|r| names(r))
            .unwrap_or_default();
        Compiled {
            kw,
            target,
            types,
            pattern,
            properties,
            pattern_properties,
            required,
        }
    }

    /// The schema of property `name` under `properties`.
    fn property(&self, name: &str) -> Option<&'static J> {
        self.properties
            .binary_search_by(|(k, _)| (*k).cmp(name))
            .ok()
            .map(|i| self.properties[i].1)
    }
}

/// The compiled form of a schema object of `root`'s schema: made once per process, and
/// found through a per-thread map of addresses (no lock on the hot path).
fn compiled(s: &'static serde_json::Map<String, J>, root: &'static J) -> &'static Compiled {
    thread_local! {
        static LOCAL: RefCell<ByAddress<&'static Compiled>> = RefCell::default();
    }
    static GLOBAL: OnceLock<Mutex<ByAddress<&'static Compiled>>> = OnceLock::new();
    let key = s as *const serde_json::Map<String, J> as usize;
    if let Some(c) = LOCAL.with(|l| l.borrow().get(&key).copied()) {
        return c;
    }
    let c = {
        let mut global = GLOBAL
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *global
            .entry(key)
            .or_insert_with(|| Box::leak(Box::new(Compiled::new(s, root))))
    };
    LOCAL.with(|l| l.borrow_mut().insert(key, c));
    c
}

/// Where a `$ref` of `root`'s schema points.
fn resolve(root: &'static J, r: &str) -> Option<&'static J> {
    let pointer = r.strip_prefix('#')?;
    // The common form, `#/definitions/Name`, without the general pointer's
    // unescaping (which allocates for every part).
    if let Some(name) = pointer.strip_prefix("/definitions/") {
        if !name.contains(['/', '~']) {
            return root.get("definitions")?.get(name);
        }
    }
    root.pointer(pointer)
}

/// A compiled pattern, cached per pattern text; `None` when `regex` cannot compile it.
fn regex(pattern: &str) -> Option<Arc<Pattern>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Pattern>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = cache.get(pattern) {
        return r.clone();
    }
    let compiled = Pattern::new(pattern).map(Arc::new);
    cache.insert(pattern.to_string(), compiled.clone());
    compiled
}

/// A schema `pattern`, ready to match.
#[derive(Debug)]
enum Pattern {
    /// The whole text is `min..=max` characters of one class (`^[...]*$`, `^([...]+)$`,
    /// `^[...]{1,64}$`: most patterns of names and tags): checked a character at a time
    /// against the class's ranges, without building an automaton (which for a class
    /// like `\p{L}` costs a few milliseconds, more than every check of a large app).
    Class {
        ranges: Vec<(char, char)>,
        min: u32,
        max: Option<u32>,
    },
    /// Any other pattern.
    Regex(Regex),
}

impl Pattern {
    fn new(pattern: &str) -> Option<Pattern> {
        Pattern::whole_class(pattern).or_else(|| Regex::new(pattern).ok().map(Pattern::Regex))
    }

    /// The [`Pattern::Class`] form of `pattern`, when it has that shape (parsed as the
    /// `regex` crate parses it, so the two match the same texts).
    fn whole_class(pattern: &str) -> Option<Pattern> {
        use regex_syntax::hir::{Class, Hir, HirKind, Look};
        fn ungroup(mut h: &Hir) -> &Hir {
            while let HirKind::Capture(c) = h.kind() {
                h = &c.sub;
            }
            h
        }
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        let HirKind::Concat(parts) = hir.kind() else {
            return None;
        };
        let [start, body, end] = parts.as_slice() else {
            return None;
        };
        if start.kind() != &HirKind::Look(Look::Start) || end.kind() != &HirKind::Look(Look::End) {
            return None;
        }
        let (min, max, class) = match ungroup(body).kind() {
            HirKind::Repetition(r) => match ungroup(&r.sub).kind() {
                HirKind::Class(Class::Unicode(c)) => (r.min, r.max, c),
                _ => return None,
            },
            HirKind::Class(Class::Unicode(c)) => (1, Some(1), c),
            _ => return None,
        };
        Some(Pattern::Class {
            ranges: class.ranges().iter().map(|r| (r.start(), r.end())).collect(),
            min,
            max,
        })
    }

    fn is_match(&self, text: &str) -> bool {
        match self {
            Pattern::Class { ranges, min, max } => {
                let mut count: u32 = 0;
                for ch in text.chars() {
                    // The ranges are sorted and disjoint.
                    let i = ranges.partition_point(|&(_, hi)| hi < ch);
                    if ranges.get(i).is_none_or(|&(lo, _)| ch < lo) {
                        return false;
                    }
                    count = count.saturating_add(1);
                }
                count >= *min && max.is_none_or(|m| count <= m)
            }
            Pattern::Regex(re) => re.is_match(text),
        }
    }
}

#[derive(Debug, Clone)]
struct Error {
    path: String,
    message: String,
    /// A type mismatch of the value the schema node was applied to (used to pick the
    /// branch of a failed `oneOf`/`anyOf` that the author most likely meant).
    type_mismatch: bool,
}

struct Cx {
    root: &'static J,
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

fn show_json(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Is `show_json(c) == x`? (Without rendering a string schema value.)
// Comparing the rendering is the point: `J`'s own `== str` only matches JSON strings.
#[allow(clippy::cmp_owned)]
fn shows_as(c: &J, x: &str) -> bool {
    match c {
        J::String(s) => s == x,
        other => other.to_string() == x,
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

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "string" => matches!(
            v,
            Value::String(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_)
        ),
        "integer" => match v {
            Value::Int(_) => true,
            Value::Float(f) => f.fract() == 0.0,
            Value::String(s) => s.trim().parse::<i64>().is_ok(),
            _ => false,
        },
        "number" => number(v).is_some(),
        "boolean" => match v {
            Value::Bool(_) => true,
            Value::String(s) => matches!(s.as_str(), "true" | "false" | "True" | "False"),
            _ => false,
        },
        "array" => matches!(v, Value::List(_)),
        "object" => matches!(v, Value::Map(_)),
        "null" => matches!(v, Value::Null),
        _ => true,
    }
}

fn names(list: &[J]) -> Vec<&str> {
    list.iter().filter_map(J::as_str).collect()
}

/// Is the schema only `{"required": [...]}` (a mutual-exclusion branch)?
fn required_only(s: &J) -> Option<Vec<&str>> {
    let m = s.as_object()?;
    let req = m.get("required")?.as_array()?;
    if m.keys().all(|k| k == "required" || k == "type") {
        Some(names(req))
    } else {
        None
    }
}

fn quoted(list: &[&str]) -> String {
    list.iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn join_path(path: &mut String, key: &str) -> usize {
    let len = path.len();
    path.push('.');
    path.push_str(key);
    len
}

/// The keywords of one schema object, gathered in one pass over its keys (instead of a
/// hashed lookup per keyword the checks might use).
#[derive(Default)]
struct Kw<'s> {
    reference: Option<&'s J>,
    types: Option<&'s J>,
    enumeration: Option<&'s J>,
    constant: Option<&'s J>,
    enum_case_insensitive: Option<&'s J>,
    min_length: Option<&'s J>,
    max_length: Option<&'s J>,
    pattern: Option<&'s J>,
    minimum: Option<&'s J>,
    maximum: Option<&'s J>,
    exclusive_minimum: Option<&'s J>,
    exclusive_maximum: Option<&'s J>,
    multiple_of: Option<&'s J>,
    min_items: Option<&'s J>,
    max_items: Option<&'s J>,
    unique_items: Option<&'s J>,
    unique_keys: Option<&'s J>,
    prefix_items: Option<&'s J>,
    items: Option<&'s J>,
    properties: Option<&'s J>,
    pattern_properties: Option<&'s J>,
    additional_properties: Option<&'s J>,
    required: Option<&'s J>,
    min_properties: Option<&'s J>,
    max_properties: Option<&'s J>,
    dependencies: Option<&'s J>,
    dependent_required: Option<&'s J>,
    dependent_excluded: Option<&'s J>,
    required_xor: Option<&'s J>,
    required_or: Option<&'s J>,
    all_of: Option<&'s J>,
    any_of: Option<&'s J>,
    one_of: Option<&'s J>,
    not: Option<&'s J>,
    when: Option<&'s J>,
    then: Option<&'s J>,
    otherwise: Option<&'s J>,
}

impl<'s> Kw<'s> {
    fn of(s: &'s serde_json::Map<String, J>) -> Self {
        let mut k = Kw::default();
        for (name, v) in s {
            let slot = match name.as_str() {
                "$ref" => &mut k.reference,
                "type" => &mut k.types,
                "enum" => &mut k.enumeration,
                "const" => &mut k.constant,
                "enumCaseInsensitive" => &mut k.enum_case_insensitive,
                "minLength" => &mut k.min_length,
                "maxLength" => &mut k.max_length,
                "pattern" => &mut k.pattern,
                "minimum" => &mut k.minimum,
                "maximum" => &mut k.maximum,
                "exclusiveMinimum" => &mut k.exclusive_minimum,
                "exclusiveMaximum" => &mut k.exclusive_maximum,
                "multipleOf" => &mut k.multiple_of,
                "minItems" => &mut k.min_items,
                "maxItems" => &mut k.max_items,
                "uniqueItems" => &mut k.unique_items,
                "uniqueKeys" => &mut k.unique_keys,
                "prefixItems" => &mut k.prefix_items,
                "items" => &mut k.items,
                "properties" => &mut k.properties,
                "patternProperties" => &mut k.pattern_properties,
                "additionalProperties" => &mut k.additional_properties,
                "required" => &mut k.required,
                "minProperties" => &mut k.min_properties,
                "maxProperties" => &mut k.max_properties,
                "dependencies" => &mut k.dependencies,
                "dependentRequired" => &mut k.dependent_required,
                "dependentExcluded" => &mut k.dependent_excluded,
                "requiredXor" => &mut k.required_xor,
                "requiredOr" => &mut k.required_or,
                "allOf" => &mut k.all_of,
                "anyOf" => &mut k.any_of,
                "oneOf" => &mut k.one_of,
                "not" => &mut k.not,
                "if" => &mut k.when,
                "then" => &mut k.then,
                "else" => &mut k.otherwise,
                _ => continue,
            };
            *slot = Some(v);
        }
        k
    }

    fn has_combinators(&self) -> bool {
        self.all_of.is_some()
            || self.any_of.is_some()
            || self.one_of.is_some()
            || self.not.is_some()
            || self.when.is_some()
    }
}

impl Cx {
    fn err(&mut self, path: &str, message: String) {
        self.errors.push(Error {
            path: path.to_string(),
            message,
            type_mismatch: false,
        });
    }

    /// Runs `schema` on `v` into a fresh error list.
    fn trial(&mut self, schema: &'static J, v: &Value, path: &mut String) -> Vec<Error> {
        let saved = std::mem::take(&mut self.errors);
        self.value(schema, v, path);
        std::mem::replace(&mut self.errors, saved)
    }

    /// The top level: the properties map against the whole resource schema.
    fn object(
        &mut self,
        schema: &'static J,
        props: &IndexMap<String, Value>,
        as_value: Option<&Value>,
        path: &mut String,
    ) {
        let Some(s) = schema.as_object() else { return };
        let c = compiled(s, self.root);
        self.map_keywords(c, props, path);
        // The combinators need the map as a value: copied only when there are any and
        // the caller does not have it as one.
        if c.kw.has_combinators() {
            match as_value {
                Some(v) => self.combinators(&c.kw, v, path),
                None => self.combinators(&c.kw, &Value::Map(props.clone()), path),
            }
        }
    }

    fn value(&mut self, schema: &'static J, v: &Value, path: &mut String) {
        if is_intrinsic(v) {
            return;
        }
        let s = match schema {
            J::Bool(false) => {
                self.err(path, "no value is allowed here".to_string());
                return;
            }
            J::Object(s) => s,
            _ => return,
        };
        let c = compiled(s, self.root);
        let k = &c.kw;
        if let Some(target) = c.target {
            self.value(target, v, path);
        }
        if !c.types.is_empty() && !c.types.iter().any(|t| type_ok(t, v)) {
            self.errors.push(Error {
                path: path.clone(),
                message: format!("{} is not of type {}", show(v), c.types.join(", ")),
                type_mismatch: true,
            });
            return;
        }
        if let Some(e) = k.enumeration.and_then(J::as_array) {
            if let Some(x) = scalar_str(v) {
                if !e.iter().any(|c| shows_as(c, &x)) {
                    let allowed: Vec<String> = e.iter().map(show_json).collect();
                    self.err(path, format!("{} is not one of {}", show(v), allowed.join(", ")));
                }
            }
        }
        if let Some(c) = k.constant {
            if let Some(x) = scalar_str(v) {
                if !shows_as(c, &x) {
                    self.err(path, format!("{} is not {c}", show(v)));
                }
            }
        }
        if let Some(e) = k.enum_case_insensitive.and_then(J::as_array) {
            if let Some(x) = scalar_str(v) {
                let lower = x.to_lowercase();
                if !e.iter().any(|c| show_json(c).to_lowercase() == lower) {
                    let allowed: Vec<String> = e.iter().map(show_json).collect();
                    self.err(
                        path,
                        format!("{} is not one of {} (any case)", show(v), allowed.join(", ")),
                    );
                }
            }
        }
        match v {
            Value::String(text) => self.string(c, text, v, path),
            Value::Int(_) | Value::Float(_) => {}
            Value::List(items) => self.list(k, items, path),
            Value::Map(m) => self.map_keywords(c, m, path),
            _ => {}
        }
        if let Some(n) = number(v) {
            if !matches!(v, Value::String(_)) || k.types.is_some_and(|t| t.as_str() != Some("string")) {
                self.numeric(k, n, v, path);
            }
        }
        self.combinators(k, v, path);
    }

    fn string(&mut self, c: &Compiled, text: &str, v: &Value, path: &str) {
        let s = &c.kw;
        let len = text.chars().count() as u64;
        if let Some(min) = s.min_length.and_then(J::as_u64) {
            if len < min {
                self.err(path, format!("{} is shorter than {min} characters", show(v)));
            }
        }
        if let Some(max) = s.max_length.and_then(J::as_u64) {
            if len > max {
                self.err(path, format!("{} is longer than {max} characters", show(v)));
            }
        }
        if let Some((p, Some(re))) = &c.pattern {
            if !re.is_match(text) {
                self.err(path, format!("{} does not match pattern {p}", show(v)));
            }
        }
    }

    fn numeric(&mut self, s: &Kw<'static>, n: f64, v: &Value, path: &str) {
        if let (Some(min), Some(shown)) = (s.minimum.and_then(J::as_f64), s.minimum) {
            if n < min {
                self.err(path, format!("{} is less than the minimum of {shown}", show(v)));
            }
        }
        if let (Some(max), Some(shown)) = (s.maximum.and_then(J::as_f64), s.maximum) {
            if n > max {
                self.err(
                    path,
                    format!("{} is greater than the maximum of {shown}", show(v)),
                );
            }
        }
        if let (Some(min), Some(shown)) = (s.exclusive_minimum.and_then(J::as_f64), s.exclusive_minimum) {
            if n <= min {
                self.err(
                    path,
                    format!(
                        "{} is less than or equal to the exclusive minimum of {}",
                        show(v),
                        shown
                    ),
                );
            }
        }
        if let (Some(max), Some(shown)) = (s.exclusive_maximum.and_then(J::as_f64), s.exclusive_maximum) {
            if n >= max {
                self.err(
                    path,
                    format!(
                        "{} is greater than or equal to the exclusive maximum of {}",
                        show(v),
                        shown
                    ),
                );
            }
        }
        if let (Some(m), Some(shown)) = (s.multiple_of.and_then(J::as_f64), s.multiple_of) {
            if m > 0.0 {
                let q = n / m;
                if (q - q.round()).abs() > 1e-9 {
                    self.err(path, format!("{} is not a multiple of {shown}", show(v)));
                }
            }
        }
    }

    fn list(&mut self, s: &Kw<'static>, items: &[Value], path: &mut String) {
        let n = items.len() as u64;
        let may_shrink = items.iter().any(is_if);
        if let Some(min) = s.min_items.and_then(J::as_u64) {
            if n < min && !may_shrink {
                self.err(path, format!("has {n} items, fewer than the minimum of {min}"));
            }
        }
        if let Some(max) = s.max_items.and_then(J::as_u64) {
            if n > max {
                self.err(path, format!("has {n} items, more than the maximum of {max}"));
            }
        }
        if s.unique_items == Some(&J::Bool(true)) {
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
        if let Some(keys) = s.unique_keys.and_then(J::as_array) {
            let keys = names(keys);
            let mut seen = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                let Value::Map(m) = item else { continue };
                let tuple: Option<Vec<String>> = keys
                    .iter()
                    .map(|k| m.get(*k).filter(|x| x.is_literal()).map(show_full))
                    .collect();
                if let Some(t) = tuple {
                    if !seen.insert(t.clone()) {
                        let at = format!("{path}[{i}]");
                        self.err(&at, format!("duplicate {} {}", keys.join(", "), t.join(", ")));
                    }
                }
            }
        }
        let prefix = s.prefix_items.and_then(J::as_array);
        let items_schema = s.items;
        for (i, item) in items.iter().enumerate() {
            let len = path.len();
            let _ = write!(path, "[{i}]");
            if let Some(p) = prefix.and_then(|p| p.get(i)) {
                self.value(p, item, path);
            }
            match items_schema {
                Some(J::Array(tuple)) => {
                    if let Some(t) = tuple.get(i) {
                        self.value(t, item, path);
                    }
                }
                Some(one) => self.value(one, item, path),
                None => {}
            }
            path.truncate(len);
        }
    }

    fn map_keywords(&mut self, c: &Compiled, m: &IndexMap<String, Value>, path: &mut String) {
        let s = &c.kw;
        let additional = s.additional_properties;
        for (k, v) in m {
            let len = join_path(path, k);
            let mut known = false;
            if let Some(p) = c.property(k) {
                known = true;
                self.value(p, v, path);
            }
            for (re, ps) in &c.pattern_properties {
                // An uncompilable pattern matches everything (no false alarms).
                if re.as_ref().is_none_or(|re| re.is_match(k)) {
                    known = true;
                    self.value(ps, v, path);
                }
            }
            if !known {
                match additional {
                    Some(J::Bool(false)) => {
                        let p = path.clone();
                        self.err(&p, format!("\"{k}\" is not a property of this type (additional properties are not allowed)"));
                    }
                    Some(a @ J::Object(_)) => self.value(a, v, path),
                    _ => {}
                }
            }
            path.truncate(len);
        }
        for r in &c.required {
            if !m.contains_key(*r) {
                self.err(path, format!("required property \"{r}\" is missing"));
            }
        }
        if let Some(min) = s.min_properties.and_then(J::as_u64) {
            if (m.len() as u64) < min {
                self.err(
                    path,
                    format!("has {} properties, fewer than the minimum of {min}", m.len()),
                );
            }
        }
        if let Some(max) = s.max_properties.and_then(J::as_u64) {
            if (m.len() as u64) > max {
                self.err(
                    path,
                    format!("has {} properties, more than the maximum of {max}", m.len()),
                );
            }
        }
        for deps in [s.dependencies, s.dependent_required] {
            if let Some(deps) = deps.and_then(J::as_object) {
                for (k, d) in deps {
                    if !m.contains_key(k) {
                        continue;
                    }
                    match d {
                        J::Array(needed) => {
                            for n in names(needed) {
                                if !m.contains_key(n) {
                                    self.err(path, format!("\"{k}\" requires \"{n}\" to be set"));
                                }
                            }
                        }
                        J::Object(_) => self.value(d, &Value::Map(m.clone()), path),
                        _ => {}
                    }
                }
            }
        }
        if let Some(deps) = s.dependent_excluded.and_then(J::as_object) {
            for (k, d) in deps {
                if !m.contains_key(k) {
                    continue;
                }
                for n in d.as_array().map(|a| names(a)).unwrap_or_default() {
                    if m.contains_key(n) {
                        self.err(path, format!("\"{k}\" and \"{n}\" cannot be set together"));
                    }
                }
            }
        }
        if let Some(x) = s.required_xor.and_then(J::as_array) {
            let list = names(x);
            let set: Vec<&str> = list.iter().copied().filter(|k| m.contains_key(*k)).collect();
            if set.len() != 1 {
                let found = if set.is_empty() {
                    "none".to_string()
                } else {
                    quoted(&set)
                };
                self.err(
                    path,
                    format!("exactly one of {} must be set, found {found}", quoted(&list)),
                );
            }
        }
        if let Some(x) = s.required_or.and_then(J::as_array) {
            let list = names(x);
            if !list.iter().any(|k| m.contains_key(*k)) {
                self.err(path, format!("at least one of {} must be set", quoted(&list)));
            }
        }
    }

    fn combinators(&mut self, s: &Kw<'static>, v: &Value, path: &mut String) {
        if let Some(all) = s.all_of.and_then(J::as_array) {
            for b in all {
                self.value(b, v, path);
            }
        }
        if let Some(any) = s.any_of.and_then(J::as_array) {
            let mut failures = Vec::new();
            let mut ok = false;
            for b in any {
                let errs = self.trial(b, v, path);
                if errs.is_empty() {
                    ok = true;
                    break;
                }
                failures.push((b, errs));
            }
            if !ok {
                let req: Option<Vec<Vec<&str>>> = any.iter().map(required_only).collect();
                match req {
                    Some(r) => {
                        let all: Vec<&str> = r.concat();
                        self.err(path, format!("at least one of {} must be set", quoted(&all)));
                    }
                    None => self.best_failure(failures, v, path),
                }
            }
        }
        if let Some(one) = s.one_of.and_then(J::as_array) {
            let mut failures = Vec::new();
            let mut valid = 0;
            for b in one {
                let errs = self.trial(b, v, path);
                if errs.is_empty() {
                    valid += 1;
                } else {
                    failures.push((b, errs));
                }
            }
            let req: Option<Vec<Vec<&str>>> = one.iter().map(required_only).collect();
            if valid == 0 {
                match req {
                    Some(r) => {
                        let all: Vec<&str> = r.concat();
                        self.err(
                            path,
                            format!("exactly one of {} must be set, found none", quoted(&all)),
                        );
                    }
                    None => self.best_failure(failures, v, path),
                }
            } else if valid > 1 {
                match (req, v) {
                    (Some(r), Value::Map(m)) => {
                        let all: Vec<&str> = r.concat();
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
                match required_only(not) {
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
    fn best_failure(&mut self, failures: Vec<(&'static J, Vec<Error>)>, v: &Value, path: &str) {
        let best = failures
            .into_iter()
            .filter(|(_, errs)| !errs.iter().any(|e| e.type_mismatch && e.path == path))
            .min_by_key(|(_, errs)| errs.len());
        match best {
            Some((_, errs)) => self.errors.extend(errs),
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
mod tests {
    use super::*;

    /// The character-class form of a pattern accepts exactly what the `regex` crate does.
    #[test]
    fn class_patterns_match_as_regex_does() {
        let patterns = [
            r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
            r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$",
            r"^[\u0009\u000A\u000D\u0020-\u00FF]+$",
            r"^[\w+=,.@-]+$",
            r"^[a-z]{3,5}$",
            r"^[^/]*$",
            r"^(?:[0-9])+$",
        ];
        let texts = [
            "",
            "a",
            "abc",
            "abcdef",
            "ABC",
            "tag-key_1",
            "with space",
            "ünïcödé",
            "日本語",
            "a/b",
            "a\nb",
            "tab\there",
            "12345",
            "x@y.z",
            "€",
            "\u{00FF}",
            "\u{0100}",
            "a$",
        ];
        for p in patterns {
            let class = Pattern::whole_class(p).unwrap_or_else(|| panic!("{p} is a class pattern"));
            let re = Regex::new(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            for t in texts {
                assert_eq!(class.is_match(t), re.is_match(t), "{p} on {t:?}");
            }
        }
    }

    #[test]
    fn other_patterns_stay_regexes() {
        for p in [
            r"^([a-z0-9][a-z0-9.-]*[a-z0-9])?$",
            r"[0-9]+",
            r"^abc$",
            r"^[a-z]+|[0-9]+$",
        ] {
            assert!(
                matches!(Pattern::new(p), Some(Pattern::Regex(_))),
                "{p} is not one class"
            );
        }
    }
}
