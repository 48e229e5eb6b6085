//! From a resource provider schema to the types the generator writes.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as J};

use crate::names;

/// The Rust shape of a property.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    /// `Val<String>`
    Str,
    /// `Val<i64>`
    Int,
    /// `Val<f64>`
    Float,
    /// `Val<bool>`
    Bool,
    /// `Value`: untyped JSON, or a property of several types.
    Json,
    /// `Val<Vec<elem>>`
    List(Box<Ty>),
    /// `Val<IndexMap<String, elem>>`
    Map(Box<Ty>),
    /// A generated struct, by index into [`ResourceModel::structs`].
    Struct(usize),
    /// A generated enum, by index into [`ResourceModel::enums`].
    Enum(usize),
}

/// A struct field.
#[derive(Debug, Clone)]
pub struct Field {
    /// The CloudFormation property name.
    pub cfn: String,
    /// The Rust field name.
    pub rust: String,
    /// Its type.
    pub ty: Ty,
    /// Required by the schema (not an `Option`).
    pub required: bool,
    /// Boxed to break a type cycle (only for a direct struct field).
    pub boxed: bool,
    /// Listed in `deprecatedProperties`.
    pub deprecated: bool,
    /// Sanitized doc lines.
    pub doc: Vec<String>,
}

/// A generated property type.
#[derive(Debug, Clone)]
pub struct StructDef {
    /// Rust name.
    pub name: String,
    /// The schema definition it comes from, if any.
    pub definition: Option<String>,
    /// Sanitized doc lines.
    pub doc: Vec<String>,
    /// Fields in schema order.
    pub fields: Vec<Field>,
}

/// A generated string enum.
#[derive(Debug, Clone)]
pub struct EnumDef {
    /// Rust name.
    pub name: String,
    /// Sanitized doc lines.
    pub doc: Vec<String>,
    /// `(variant, schema value)` pairs.
    pub variants: Vec<(String, String)>,
}

/// A `Fn::GetAtt` getter.
#[derive(Debug, Clone)]
pub struct Attr {
    /// Rust method name, e.g. `attr_endpoint_address`.
    pub method: String,
    /// Attribute name, e.g. `Endpoint.Address`.
    pub name: String,
    /// Sanitized doc lines.
    pub doc: Vec<String>,
}

/// Everything generated for one resource type.
#[derive(Debug, Clone)]
pub struct ResourceModel {
    /// `AWS::S3::Bucket`
    pub type_name: String,
    /// `s3`
    pub service: String,
    /// `bucket`: the submodule of its property types.
    pub module: String,
    /// `CfnBucket`
    pub struct_name: String,
    /// Sanitized doc lines.
    pub doc: Vec<String>,
    /// The CloudFormation user guide page.
    pub doc_url: String,
    /// Top-level properties.
    pub fields: Vec<Field>,
    /// Property types (submodule).
    pub structs: Vec<StructDef>,
    /// Enums (submodule).
    pub enums: Vec<EnumDef>,
    /// Attribute getters.
    pub attrs: Vec<Attr>,
    /// Schema facts, as JSON pointers.
    pub primary_identifier: Vec<String>,
    /// `createOnlyProperties`
    pub create_only: Vec<String>,
    /// `readOnlyProperties`
    pub read_only: Vec<String>,
    /// `writeOnlyProperties`
    pub write_only: Vec<String>,
    /// `deprecatedProperties`
    pub deprecated: Vec<String>,
    /// Top-level `required`.
    pub required: Vec<String>,
    /// The schema for run-time validation: minified, documentation removed, `$ref` kept.
    pub validation_schema: String,
}

fn str_list(schema: &J, key: &str) -> Vec<String> {
    schema[key]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn doc_of(node: &J) -> Vec<String> {
    node.get("description")
        .and_then(J::as_str)
        .map(crate::docs::lines)
        .unwrap_or_default()
}

/// Builds the model of one resource type.
pub fn resource(type_name: &str, schema: &J) -> ResourceModel {
    let parts: Vec<&str> = type_name.split("::").collect();
    let resource_name = parts.last().copied().unwrap_or(type_name);
    let service = names::service_module(type_name);
    let read_only = str_list(schema, "readOnlyProperties");
    let required = str_list(schema, "required");
    let deprecated = str_list(schema, "deprecatedProperties");
    let struct_name = format!("Cfn{}", names::type_name(resource_name));

    let mut b = Builder::new(schema);
    let mut fields = Vec::new();
    let mut taken = HashSet::new();
    if let Some(props) = schema["properties"].as_object() {
        for (name, prop) in props {
            let pointer = format!("/properties/{name}");
            let is_required = required.contains(name);
            if read_only.contains(&pointer) && !is_required {
                continue;
            }
            let ty = b.resolve(prop, name, resource_name, false);
            fields.push(Field {
                cfn: name.clone(),
                rust: names::unique(&names::snake(name), &mut taken),
                ty,
                required: is_required,
                boxed: false,
                deprecated: deprecated.contains(&pointer),
                doc: doc_of(prop),
            });
        }
    }
    // Nested deprecated properties are flagged in their structs' docs.
    for d in &deprecated {
        let segs: Vec<&str> = d.trim_start_matches("/properties/").split('/').collect();
        if segs.len() >= 2 {
            b.mark_nested_deprecated(&fields, &segs);
        }
    }
    b.box_cycles();

    let attrs = attributes(schema, &read_only);
    let docs_service = parts.get(1).unwrap_or(&"").to_ascii_lowercase();
    let doc_url = format!(
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-{}-{}.html",
        docs_service,
        resource_name.to_ascii_lowercase()
    );
    ResourceModel {
        type_name: type_name.to_string(),
        service,
        module: names::snake(resource_name),
        struct_name,
        doc: doc_of(schema),
        doc_url,
        fields,
        structs: b.structs,
        enums: b.enums,
        attrs,
        primary_identifier: str_list(schema, "primaryIdentifier"),
        create_only: str_list(schema, "createOnlyProperties"),
        read_only,
        write_only: str_list(schema, "writeOnlyProperties"),
        deprecated,
        required,
        validation_schema: serde_json::to_string(&strip(schema, false)).unwrap_or_default(),
    }
}

fn attributes(schema: &J, read_only: &[String]) -> Vec<Attr> {
    let mut taken = HashSet::new();
    let mut out = Vec::new();
    for p in read_only {
        let Some(rest) = p.strip_prefix("/properties/") else {
            continue;
        };
        if rest.split('/').any(|s| s == "*" || s.is_empty()) {
            continue;
        }
        let segs: Vec<&str> = rest.split('/').collect();
        let snake: Vec<String> = segs
            .iter()
            .map(|s| names::snake(s).trim_end_matches('_').to_string())
            .collect();
        let method = names::unique(&format!("attr_{}", snake.join("_")), &mut taken);
        let name = segs.join(".");
        let mut doc = lookup(schema, &segs).map(doc_of).unwrap_or_default();
        if doc.is_empty() {
            doc = vec![format!("The `{name}` attribute.")];
        }
        out.push(Attr { method, name, doc });
    }
    out
}

/// The schema of a property path, following `$ref`s.
fn lookup<'a>(schema: &'a J, segs: &[&str]) -> Option<&'a J> {
    let mut node = schema.get("properties")?.get(segs[0])?;
    for s in &segs[1..] {
        node = deref(schema, node);
        node = node.get("properties")?.get(*s)?;
    }
    Some(deref(schema, node))
}

fn deref<'a>(root: &'a J, node: &'a J) -> &'a J {
    let mut node = node;
    for _ in 0..8 {
        match node
            .get("$ref")
            .and_then(J::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(ptr) => match root.pointer(ptr) {
                Some(n) => node = n,
                None => break,
            },
            None => break,
        }
    }
    node
}

/// Keys whose values are maps of names (property names, definition names), not schemas'
/// keywords.
const NAME_MAPS: &[&str] = &["properties", "patternProperties", "definitions", "dependencies"];
/// Keywords that only document, or drive the resource provider, never validation.
const DROPPED: &[&str] = &[
    "description",
    "handlers",
    "tagging",
    "propertyTransform",
    "sourceUrl",
    "documentationUrl",
    "examples",
    "title",
    "$comment",
    "default",
    "insertionOrder",
    "relationshipRef",
    "typeConfiguration",
    "replacementStrategy",
    "lifecycle",
    "$schema",
    "resourceLink",
    "taggable",
    "format",
    "arrayType",
    "additionalIdentifiers",
    "conditionalCreateOnlyProperties",
    "writeOnlyProperties",
    "createOnlyProperties",
    "primaryIdentifier",
    "readOnlyProperties",
    "deprecatedProperties",
    "propertyPath",
    "typeName",
];

/// The schema without documentation (keeps `$ref`s and every validation keyword).
fn strip(node: &J, names: bool) -> J {
    match node {
        J::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if names {
                    out.insert(k.clone(), strip(v, false));
                } else if !DROPPED.contains(&k.as_str()) {
                    out.insert(k.clone(), strip(v, NAME_MAPS.contains(&k.as_str())));
                }
            }
            J::Object(out)
        }
        J::Array(a) => J::Array(a.iter().map(|v| strip(v, false)).collect()),
        v => v.clone(),
    }
}

/// Resolves schema nodes to [`Ty`]s, creating structs and enums on the way.
struct Builder<'a> {
    root: &'a J,
    structs: Vec<StructDef>,
    enums: Vec<EnumDef>,
    defs: HashMap<String, Ty>,
    in_progress: HashSet<String>,
    taken: HashSet<String>,
    reserved: HashSet<String>,
    enum_keys: HashMap<(String, Vec<String>), usize>,
    inline_structs: HashMap<String, usize>,
}

/// Does this schema node name a type by itself (not just constrain one)?
fn is_typed(n: &J) -> bool {
    ["$ref", "type", "properties", "items", "enum", "patternProperties"]
        .iter()
        .any(|k| n.get(k).is_some())
}

impl<'a> Builder<'a> {
    fn new(root: &'a J) -> Self {
        let mut reserved = HashSet::new();
        if let Some(defs) = root["definitions"].as_object() {
            for (name, d) in defs {
                let ty = d.get("type").and_then(J::as_str);
                let object = matches!(ty, None | Some("object"))
                    && d.get("properties")
                        .and_then(J::as_object)
                        .is_some_and(|p| !p.is_empty());
                let enumeration = matches!(ty, None | Some("string")) && d.get("enum").is_some();
                if object || enumeration {
                    reserved.insert(names::type_name(name));
                }
            }
        }
        Builder {
            root,
            structs: Vec::new(),
            enums: Vec::new(),
            defs: HashMap::new(),
            in_progress: HashSet::new(),
            taken: HashSet::new(),
            reserved,
            enum_keys: HashMap::new(),
            inline_structs: HashMap::new(),
        }
    }

    /// A free name for an inline type named after property `hint` of `parent`.
    fn inline_name(&mut self, hint: &str, parent: &str) -> String {
        let base = names::type_name(hint);
        let mut candidates = vec![base.clone()];
        if !parent.is_empty() {
            candidates.push(format!("{}{}", names::type_name(parent), base));
        }
        for candidate in candidates {
            if !self.reserved.contains(&candidate) && self.taken.insert(candidate.clone()) {
                return candidate;
            }
        }
        let mut taken = std::mem::take(&mut self.taken);
        taken.extend(self.reserved.iter().cloned());
        let name = names::unique(&base, &mut taken);
        for r in &self.reserved {
            taken.remove(r);
        }
        taken.insert(name.clone());
        self.taken = taken;
        name
    }

    /// `def`: the name is a definition's, so it may use a reserved name.
    fn resolve(&mut self, node: &J, hint: &str, parent: &str, def: bool) -> Ty {
        let Some(obj) = node.as_object() else {
            return Ty::Json;
        };
        if let Some(r) = obj.get("$ref").and_then(J::as_str) {
            return self.resolve_ref(r);
        }
        if let Some(all) = obj.get("allOf").and_then(J::as_array) {
            if let Some(b) = all.iter().find(|b| b.get("$ref").is_some()) {
                return self.resolve(b, hint, parent, def);
            }
        }
        let own = ["type", "properties", "items", "enum", "patternProperties"]
            .iter()
            .any(|k| obj.contains_key(*k));
        if !own {
            for key in ["oneOf", "anyOf"] {
                if let Some(branches) = obj.get(key).and_then(J::as_array) {
                    let mut tys: Vec<Ty> = Vec::new();
                    for b in branches.iter().filter(|b| is_typed(b)) {
                        let t = self.resolve(b, hint, parent, def);
                        if t != Ty::Json && !tys.contains(&t) {
                            tys.push(t);
                        }
                    }
                    if tys.len() == 1 {
                        return tys.remove(0);
                    }
                    if !tys.is_empty() {
                        return Ty::Json;
                    }
                }
            }
            return Ty::Json;
        }
        let ty = match obj.get("type") {
            Some(J::String(t)) => t.as_str(),
            Some(J::Array(ts)) if ts.len() == 1 => ts[0].as_str().unwrap_or(""),
            Some(_) => return Ty::Json,
            None if obj.contains_key("properties") || obj.contains_key("patternProperties") => "object",
            None if obj.contains_key("items") => "array",
            None if obj.contains_key("enum") => "string",
            None => return Ty::Json,
        };
        match ty {
            "string" => match obj.get("enum").and_then(J::as_array) {
                Some(values) if !values.is_empty() && values.iter().all(J::is_string) => {
                    let values: Vec<String> = values
                        .iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect();
                    self.make_enum(values, node, hint, parent, def)
                }
                Some(values) if !values.iter().all(J::is_string) => Ty::Json,
                _ => Ty::Str,
            },
            "integer" => Ty::Int,
            "number" => Ty::Float,
            "boolean" => Ty::Bool,
            "array" => match obj.get("items") {
                Some(items @ J::Object(_)) => {
                    let item_hint = if def {
                        hint.to_string()
                    } else {
                        format!("{hint}Item")
                    };
                    Ty::List(Box::new(self.resolve(items, &item_hint, parent, false)))
                }
                _ => Ty::List(Box::new(Ty::Json)),
            },
            "object" => {
                let props = obj
                    .get("properties")
                    .and_then(J::as_object)
                    .filter(|p| !p.is_empty());
                if let Some(props) = props {
                    if def {
                        return Ty::Struct(self.make_struct(props, node, hint, parent, def));
                    }
                    // Identical inline objects (cfn-lint inlines some definitions) share one struct.
                    let key = node.to_string();
                    if let Some(&i) = self.inline_structs.get(&key) {
                        return Ty::Struct(i);
                    }
                    let i = self.make_struct(props, node, hint, parent, def);
                    self.inline_structs.insert(key, i);
                    return Ty::Struct(i);
                }
                if let Some(pp) = obj
                    .get("patternProperties")
                    .and_then(J::as_object)
                    .filter(|p| !p.is_empty())
                {
                    let mut tys = Vec::new();
                    for v in pp.values() {
                        let t = self.resolve(v, hint, parent, false);
                        if !tys.contains(&t) {
                            tys.push(t);
                        }
                    }
                    let t = if tys.len() == 1 { tys.remove(0) } else { Ty::Json };
                    return Ty::Map(Box::new(t));
                }
                match obj.get("additionalProperties") {
                    Some(ap @ J::Object(m)) if !m.is_empty() => {
                        Ty::Map(Box::new(self.resolve(ap, &format!("{hint}Value"), parent, false)))
                    }
                    _ => Ty::Json,
                }
            }
            _ => Ty::Json,
        }
    }

    fn resolve_ref(&mut self, r: &str) -> Ty {
        let Some(ptr) = r.strip_prefix('#') else {
            return Ty::Json;
        };
        if let Some(t) = self.defs.get(ptr) {
            return t.clone();
        }
        let Some(target) = self.root.pointer(ptr) else {
            return Ty::Json;
        };
        if !self.in_progress.insert(ptr.to_string()) {
            return Ty::Json;
        }
        let name = ptr.rsplit('/').next().unwrap_or("Type").to_string();
        let is_def = ptr
            .strip_prefix("/definitions/")
            .is_some_and(|n| !n.contains('/'));
        let ty = self.resolve(target, &name, "", is_def);
        self.in_progress.remove(ptr);
        self.defs.insert(ptr.to_string(), ty.clone());
        ty
    }

    fn make_enum(&mut self, values: Vec<String>, node: &J, hint: &str, parent: &str, def: bool) -> Ty {
        let mut unique_values: Vec<String> = Vec::new();
        for v in values {
            if !unique_values.contains(&v) {
                unique_values.push(v);
            }
        }
        let key = (names::type_name(hint), unique_values.clone());
        if let Some(&i) = self.enum_keys.get(&key) {
            return Ty::Enum(i);
        }
        let name = if def {
            names::unique(&names::type_name(hint), &mut self.taken)
        } else {
            self.inline_name(hint, parent)
        };
        let mut taken = HashSet::new();
        let variants = unique_values
            .iter()
            .map(|v| (names::unique(&names::variant(v), &mut taken), v.clone()))
            .collect();
        self.enums.push(EnumDef {
            name,
            doc: doc_of(node),
            variants,
        });
        self.enum_keys.insert(key, self.enums.len() - 1);
        Ty::Enum(self.enums.len() - 1)
    }

    fn make_struct(
        &mut self,
        props: &Map<String, J>,
        node: &J,
        hint: &str,
        parent: &str,
        def: bool,
    ) -> usize {
        let name = if def {
            names::unique(&names::type_name(hint), &mut self.taken)
        } else {
            self.inline_name(hint, parent)
        };
        let index = self.structs.len();
        self.structs.push(StructDef {
            name: name.clone(),
            definition: if def { Some(hint.to_string()) } else { None },
            doc: doc_of(node),
            fields: Vec::new(),
        });
        if def {
            self.defs
                .insert(format!("/definitions/{hint}"), Ty::Struct(index));
        }
        let required = str_list(node, "required");
        let mut taken = HashSet::new();
        let mut fields = Vec::new();
        for (pname, prop) in props {
            let ty = self.resolve(prop, pname, &name, false);
            fields.push(Field {
                cfn: pname.clone(),
                rust: names::unique(&names::snake(pname), &mut taken),
                ty,
                required: required.contains(pname),
                boxed: false,
                deprecated: false,
                doc: doc_of(prop),
            });
        }
        self.structs[index].fields = fields;
        index
    }

    fn mark_nested_deprecated(&mut self, top: &[Field], segs: &[&str]) {
        let mut ty = match top.iter().find(|f| f.cfn == segs[0]) {
            Some(f) => f.ty.clone(),
            None => return,
        };
        for (i, seg) in segs[1..].iter().enumerate() {
            while let Ty::List(t) | Ty::Map(t) = ty {
                ty = *t;
            }
            let Ty::Struct(s) = ty else { return };
            let Some(f) = self.structs[s].fields.iter_mut().find(|f| f.cfn == *seg) else {
                return;
            };
            if i == segs.len() - 2 {
                f.deprecated = true;
                return;
            }
            ty = f.ty.clone();
        }
    }

    /// Boxes struct fields that hold a struct directly (not through a list or map) when
    /// that makes a cycle.
    fn box_cycles(&mut self) {
        let edges: Vec<Vec<usize>> = self
            .structs
            .iter()
            .map(|s| {
                s.fields
                    .iter()
                    .filter_map(|f| if let Ty::Struct(t) = f.ty { Some(t) } else { None })
                    .collect()
            })
            .collect();
        let reaches = |from: usize, to: usize| -> bool {
            let mut seen = vec![false; edges.len()];
            let mut stack = vec![from];
            while let Some(n) = stack.pop() {
                if n == to {
                    return true;
                }
                if !std::mem::replace(&mut seen[n], true) {
                    stack.extend(edges[n].iter().copied());
                }
            }
            false
        };
        let mut to_box = Vec::new();
        for (i, s) in self.structs.iter().enumerate() {
            for (j, f) in s.fields.iter().enumerate() {
                if let Ty::Struct(t) = f.ty {
                    if reaches(t, i) {
                        to_box.push((i, j));
                    }
                }
            }
        }
        for (i, j) in to_box {
            self.structs[i].fields[j].boxed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn model(schema: J) -> ResourceModel {
        resource("AWS::Test::Thing", &schema)
    }

    #[test]
    fn maps_scalar_list_map_enum_and_struct_properties() {
        let m = model(json!({
            "typeName": "AWS::Test::Thing",
            "description": "A thing.",
            "properties": {
                "Name": {"type": "string"},
                "Count": {"type": "integer"},
                "Ratio": {"type": "number"},
                "On": {"type": "boolean"},
                "Names": {"type": "array", "items": {"type": "string"}},
                "Labels": {"type": "object", "patternProperties": {".*": {"type": "string"}}},
                "Mode": {"type": "string", "enum": ["A_B", "c"]},
                "Policy": {"type": ["object", "string"]},
                "Config": {"$ref": "#/definitions/Config"},
                "Arn": {"type": "string"}
            },
            "definitions": {
                "Config": {"type": "object", "properties": {"Key": {"type": "string"}}, "required": ["Key"]}
            },
            "required": ["Name"],
            "readOnlyProperties": ["/properties/Arn", "/properties/Endpoint/Address"]
        }));
        let tys: Vec<(&str, &Ty, bool)> = m
            .fields
            .iter()
            .map(|f| (f.rust.as_str(), &f.ty, f.required))
            .collect();
        assert_eq!(
            tys,
            vec![
                ("name", &Ty::Str, true),
                ("count", &Ty::Int, false),
                ("ratio", &Ty::Float, false),
                ("on", &Ty::Bool, false),
                ("names", &Ty::List(Box::new(Ty::Str)), false),
                ("labels", &Ty::Map(Box::new(Ty::Str)), false),
                ("mode", &Ty::Enum(0), false),
                ("policy", &Ty::Json, false),
                ("config", &Ty::Struct(0), false),
            ]
        );
        assert_eq!(m.enums[0].name, "Mode");
        assert_eq!(
            m.enums[0].variants,
            vec![("AB".to_string(), "A_B".to_string()), ("C".into(), "c".into())]
        );
        assert_eq!(m.structs[0].name, "Config");
        assert!(m.structs[0].fields[0].required);
        assert_eq!(
            m.attrs.iter().map(|a| a.method.as_str()).collect::<Vec<_>>(),
            ["attr_arn", "attr_endpoint_address"]
        );
        assert_eq!(m.attrs[1].name, "Endpoint.Address");
        assert_eq!(m.struct_name, "CfnThing");
        assert_eq!(
            m.doc_url,
            "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-test-thing.html"
        );
        assert!(!m.validation_schema.contains("description"));
    }

    #[test]
    fn one_of_with_a_json_escape_takes_the_typed_branch() {
        let m = model(json!({
            "properties": {"Keys": {"oneOf": [
                {"$ref": "#/definitions/Keys", "maxItems": 2},
                {"format": "json", "type": ["object", "string"]}
            ]}},
            "definitions": {"Keys": {"type": "array", "items": {"type": "object", "properties": {"A": {"type": "string"}}}}}
        }));
        assert_eq!(m.fields[0].ty, Ty::List(Box::new(Ty::Struct(0))));
        assert_eq!(m.structs[0].name, "Keys");
    }

    #[test]
    fn recursive_definitions_are_boxed_only_when_direct() {
        let m = model(json!({
            "properties": {"Expr": {"$ref": "#/definitions/Expr"}},
            "definitions": {"Expr": {"type": "object", "properties": {
                "Not": {"$ref": "#/definitions/Expr"},
                "And": {"type": "array", "items": {"$ref": "#/definitions/Expr"}}
            }}}
        }));
        let f = &m.structs[0].fields;
        assert!(f[0].boxed && f[0].ty == Ty::Struct(0));
        assert!(!f[1].boxed);
    }

    #[test]
    fn inline_names_avoid_definition_names() {
        let m = model(json!({
            "properties": {
                "Rule": {"type": "object", "properties": {"X": {"type": "string"}}},
                "Other": {"$ref": "#/definitions/Rule"}
            },
            "definitions": {"Rule": {"type": "object", "properties": {"Y": {"type": "string"}}}}
        }));
        let names: Vec<&str> = m.structs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["ThingRule", "Rule"]);
    }
}
