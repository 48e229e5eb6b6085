//! The resolve step: one stack's template as one JSON value tree. References become
//! logical IDs (`Ref`, `Fn::GetAtt`), or `Fn::ImportValue` of the export the validate
//! step recorded when they cross stacks; `Null` map entries are left out; each resource's
//! properties are moved into the tree, not copied.

use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use crate::error::{Error, Result};
use crate::id::{NodeId, Stack};
use crate::resource::ResourceEntry;
use crate::template::{Output, Parameter};
use crate::tree::{App, NodeKind};
use crate::value::{Intrinsic, Target, Value};

use super::check::{export_of, local_reference, Links};
use super::plan::Plan;

/// Resolves the template of one stack.
pub(super) struct Resolver<'a> {
    pub(super) app: &'a App,
    pub(super) plan: &'a Plan,
    pub(super) links: &'a Links,
    pub(super) stack: usize,
}

/// The counts CloudFormation's quotas apply to, by section.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counts {
    pub(super) resources: usize,
    pub(super) parameters: usize,
    pub(super) outputs: usize,
    pub(super) mappings: usize,
}

fn object1(key: &str, value: Json) -> Json {
    let mut m = Map::with_capacity(1);
    m.insert(key.to_string(), value);
    Json::Object(m)
}

fn number(v: f64) -> Json {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

impl Resolver<'_> {
    /// The stack's template and its section counts.
    pub(super) fn template(&self) -> Result<(Json, Counts)> {
        let app = self.app;
        let stack_node = self.plan.stacks[self.stack].node;
        let mut parameters = Map::new();
        let mut conditions = Map::new();
        let mut mappings = Map::new();
        let mut resources = Map::new();
        let mut outputs = Map::new();
        let mut rules = Map::new();
        for n in app.descendants(stack_node) {
            let node = app.node(n);
            if !node.kind().is_template_element() || self.plan.owner(n) != Some(self.stack) {
                continue;
            }
            let lid = self.plan.lid(n).to_string();
            match node.kind() {
                NodeKind::Resource(entry) => {
                    resources.insert(lid, self.resource(n, entry)?);
                }
                NodeKind::Parameter(p) => {
                    parameters.insert(lid, self.parameter(p)?);
                }
                NodeKind::Condition(expr) => {
                    conditions.insert(lid, self.resolve(expr.clone())?);
                }
                NodeKind::Mapping(m) => {
                    let mut out = Map::new();
                    for (k, inner) in m {
                        out.insert(k.clone(), Json::Object(self.resolve_map(inner.clone())?));
                    }
                    mappings.insert(lid, Json::Object(out));
                }
                NodeKind::Output(o) => {
                    outputs.insert(lid, self.output(o)?);
                }
                NodeKind::Rule(r) => {
                    rules.insert(lid, self.resolve(r.clone())?);
                }
                _ => {}
            }
        }
        for (lid, (value, name)) in &self.links.exports[self.stack] {
            outputs.insert(lid.clone(), json!({ "Value": value, "Export": { "Name": name } }));
        }
        let counts = Counts {
            resources: resources.len(),
            parameters: parameters.len(),
            outputs: outputs.len(),
            mappings: mappings.len(),
        };
        let props = app.stack_props(Stack::from_node(stack_node));
        let mut t = Map::new();
        if let Some(d) = &props.description {
            t.insert("Description".into(), Json::String(d.clone()));
        }
        match props.transforms.as_slice() {
            [] => {}
            [one] => {
                t.insert("Transform".into(), Json::String(one.clone()));
            }
            many => {
                t.insert("Transform".into(), json!(many));
            }
        }
        if !props.metadata.is_empty() {
            let metadata = self.resolve_map(props.metadata.clone())?;
            t.insert("Metadata".into(), Json::Object(metadata));
        }
        for (name, section) in [
            ("Parameters", parameters),
            ("Mappings", mappings),
            ("Conditions", conditions),
            ("Resources", resources),
            ("Outputs", outputs),
            ("Rules", rules),
        ] {
            if !section.is_empty() {
                t.insert(name.into(), Json::Object(section));
            }
        }
        Ok((Json::Object(t), counts))
    }

    /// `{ "Type", "Properties", "DependsOn", "Condition", policies, "Metadata" }`.
    fn resource(&self, n: NodeId, entry: &ResourceEntry) -> Result<Json> {
        let app = self.app;
        let mut r = Map::new();
        r.insert(
            "Type".into(),
            Json::String(entry.resource.resource_type().to_string()),
        );
        let props = entry.final_properties();
        // What the properties reference is ordered by CloudFormation already: a
        // `DependsOn` on it would be redundant (cfn-lint W3005).
        let mut referenced = Vec::new();
        props.values().for_each(|v| v.referenced_nodes(&mut referenced));
        if props.values().any(|v| !matches!(v, Value::Null)) {
            r.insert("Properties".into(), Json::Object(self.resolve_map(props)?));
        }
        let o = &entry.options;
        let mut depends_on = Vec::new();
        for d in &o.depends_on {
            self.depends_on(n, *d, &referenced, &mut depends_on)?;
        }
        if !depends_on.is_empty() {
            depends_on.sort();
            depends_on.dedup();
            r.insert("DependsOn".into(), json!(depends_on));
        }
        if let Some(c) = o.condition {
            r.insert("Condition".into(), self.local_name(&Target::Node(c.node()))?);
        }
        for (name, value) in [
            ("UpdatePolicy", &o.update_policy),
            ("CreationPolicy", &o.creation_policy),
        ] {
            if let Some(v) = value {
                r.insert(name.into(), self.resolve(v.clone())?);
            }
        }
        for (name, value) in [
            ("UpdateReplacePolicy", o.update_replace_policy),
            ("DeletionPolicy", o.deletion_policy),
        ] {
            if let Some(p) = value {
                r.insert(name.into(), Json::String(p.as_str().to_string()));
            }
        }
        let mut metadata = self.resolve_map(o.metadata.clone())?;
        metadata.insert("aws:cdk:path".into(), Json::String(app.path(n)));
        r.insert("Metadata".into(), Json::Object(metadata));
        Ok(Json::Object(r))
    }

    /// Expands a `DependsOn` target (a resource or a construct) to the logical IDs of the
    /// resources under it in this stack, leaving out the dependent itself and what it
    /// already references; a target in another stack orders the stacks instead (the
    /// validate step recorded that).
    fn depends_on(
        &self,
        n: NodeId,
        target: NodeId,
        referenced: &[NodeId],
        out: &mut Vec<String>,
    ) -> Result<()> {
        self.app.try_node(target)?;
        if self.plan.owner(target) != Some(self.stack) {
            return Ok(());
        }
        for d in self.app.descendants(target) {
            if matches!(self.app.node(d).kind(), NodeKind::Resource(_)) && d != n && !referenced.contains(&d)
            {
                out.push(self.plan.lid(d).to_string());
            }
        }
        Ok(())
    }

    fn parameter(&self, p: &Parameter) -> Result<Json> {
        let mut m = Map::new();
        m.insert("Type".into(), Json::String(p.parameter_type.type_name()));
        if let Some(d) = &p.default {
            m.insert("Default".into(), self.resolve(d.clone())?);
        }
        if !p.allowed_values.is_empty() {
            let values = p
                .allowed_values
                .iter()
                .map(|v| self.resolve(v.clone()))
                .collect::<Result<_>>()?;
            m.insert("AllowedValues".into(), Json::Array(values));
        }
        if let Some(v) = &p.allowed_pattern {
            m.insert("AllowedPattern".into(), json!(v));
        }
        if let Some(v) = &p.constraint_description {
            m.insert("ConstraintDescription".into(), json!(v));
        }
        if let Some(v) = &p.description {
            m.insert("Description".into(), json!(v));
        }
        if let Some(v) = p.max_length {
            m.insert("MaxLength".into(), json!(v));
        }
        if let Some(v) = p.max_value {
            m.insert("MaxValue".into(), number(v));
        }
        if let Some(v) = p.min_length {
            m.insert("MinLength".into(), json!(v));
        }
        if let Some(v) = p.min_value {
            m.insert("MinValue".into(), number(v));
        }
        if p.no_echo {
            m.insert("NoEcho".into(), json!(true));
        }
        Ok(Json::Object(m))
    }

    fn output(&self, o: &Output) -> Result<Json> {
        let mut m = Map::new();
        if let Some(d) = &o.description {
            m.insert("Description".into(), json!(d));
        }
        m.insert("Value".into(), self.resolve(o.value.clone())?);
        if let Some(e) = &o.export_name {
            m.insert("Export".into(), json!({ "Name": self.resolve(e.clone())? }));
        }
        if let Some(c) = o.condition {
            m.insert("Condition".into(), self.local_name(&Target::Node(c.node()))?);
        }
        Ok(Json::Object(m))
    }

    /// Resolves a value, moving its strings into the JSON.
    fn resolve(&self, v: Value) -> Result<Json> {
        Ok(match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Int(i) => Json::from(i),
            Value::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s),
            Value::List(items) => Json::Array(
                items
                    .into_iter()
                    .map(|i| self.resolve(i))
                    .collect::<Result<_>>()?,
            ),
            Value::Map(m) => Json::Object(self.resolve_map(m)?),
            Value::Intrinsic(i) => self.intrinsic(*i)?,
        })
    }

    fn resolve_map(&self, m: IndexMap<String, Value>) -> Result<Map<String, Json>> {
        let mut out = Map::with_capacity(m.len());
        for (k, v) in m {
            if !matches!(v, Value::Null) {
                out.insert(k, self.resolve(v)?);
            }
        }
        Ok(out)
    }

    fn resolve_all(&self, vs: Vec<Value>) -> Result<Json> {
        Ok(Json::Array(
            vs.into_iter().map(|v| self.resolve(v)).collect::<Result<_>>()?,
        ))
    }

    /// `Ref`/`Fn::GetAtt` of a node: local, or the import of the producer's export.
    fn reference(&self, target: NodeId, attribute: Option<&str>) -> Result<Json> {
        let app = self.app;
        app.try_node(target)?;
        let (Some(s), Some(lid)) = (self.plan.owner(target), self.plan.logical_id(target)) else {
            return Err(Error::UnknownNode(target.index()));
        };
        let local = local_reference(lid, attribute);
        if s == self.stack {
            return Ok(local);
        }
        let (_, export_name) = export_of(&self.plan.stacks[s].stack_name, &local);
        Ok(object1("Fn::ImportValue", Json::String(export_name)))
    }

    /// A condition or mapping of this stack by logical ID.
    fn local_name(&self, target: &Target) -> Result<Json> {
        match target {
            Target::LogicalId(l) => Ok(Json::String(l.clone())),
            Target::Node(n) => {
                self.app.try_node(*n)?;
                Ok(Json::String(self.plan.lid(*n).to_string()))
            }
        }
    }

    fn intrinsic(&self, i: Intrinsic) -> Result<Json> {
        let string = Json::String;
        let (name, args) = match i {
            Intrinsic::Ref(Target::Node(t)) => return self.reference(t, None),
            Intrinsic::Ref(Target::LogicalId(l)) => ("Ref", string(l)),
            Intrinsic::Pseudo(p) => ("Ref", string(p.name().to_string())),
            Intrinsic::GetAtt(Target::Node(t), a) => return self.reference(t, Some(&a)),
            Intrinsic::GetAtt(Target::LogicalId(l), a) => {
                ("Fn::GetAtt", Json::Array(vec![string(l), string(a)]))
            }
            Intrinsic::Sub(s, vars) if vars.is_empty() => ("Fn::Sub", string(s)),
            Intrinsic::Sub(s, vars) => (
                "Fn::Sub",
                Json::Array(vec![string(s), Json::Object(self.resolve_map(vars)?)]),
            ),
            Intrinsic::Join(d, list) => ("Fn::Join", Json::Array(vec![string(d), self.resolve(list)?])),
            Intrinsic::Select(i, list) => (
                "Fn::Select",
                Json::Array(vec![self.resolve(i)?, self.resolve(list)?]),
            ),
            Intrinsic::Split(d, s) => ("Fn::Split", Json::Array(vec![string(d), self.resolve(s)?])),
            Intrinsic::If(c, a, b) => (
                "Fn::If",
                Json::Array(vec![self.local_name(&c)?, self.resolve(a)?, self.resolve(b)?]),
            ),
            Intrinsic::Equals(a, b) => (
                "Fn::Equals",
                Json::Array(vec![self.resolve(a)?, self.resolve(b)?]),
            ),
            Intrinsic::And(vs) => ("Fn::And", self.resolve_all(vs)?),
            Intrinsic::Or(vs) => ("Fn::Or", self.resolve_all(vs)?),
            Intrinsic::Not(v) => ("Fn::Not", Json::Array(vec![self.resolve(v)?])),
            Intrinsic::Condition(c) => ("Condition", self.local_name(&c)?),
            Intrinsic::ImportValue(v) => ("Fn::ImportValue", self.resolve(v)?),
            Intrinsic::FindInMap(m, a, b) => (
                "Fn::FindInMap",
                Json::Array(vec![self.local_name(&m)?, self.resolve(a)?, self.resolve(b)?]),
            ),
            Intrinsic::Base64(v) => ("Fn::Base64", self.resolve(v)?),
            Intrinsic::Cidr(a, b, c) => (
                "Fn::Cidr",
                Json::Array(vec![self.resolve(a)?, self.resolve(b)?, self.resolve(c)?]),
            ),
            Intrinsic::GetAzs(v) => ("Fn::GetAZs", self.resolve(v)?),
        };
        Ok(object1(name, args))
    }
}
