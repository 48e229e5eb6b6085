//! The resolve step: one stack's template as one value tree (a [`Value`] with no
//! intrinsic left: each is replaced by its CloudFormation JSON form, which [`Value`]
//! serializes). References become logical IDs (`Ref`, `Fn::GetAtt`), or `Fn::ImportValue`
//! of the export the validate step recorded when they cross stacks; `Null` map entries are
//! left out; each resource's properties are resolved in place and moved into the tree.

use indexmap::IndexMap;

use crate::error::{Error, Result};
use crate::id::{NodeId, Stack};
use crate::resource::ResourceEntry;
use crate::template::{Output, Parameter};
use crate::tree::{App, NodeKind};
use crate::value::{Intrinsic, Target, Value};

use super::check::{export_of, local_reference, Links};

type Map = IndexMap<String, Value>;
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

fn object1(key: &str, value: Value) -> Value {
    let mut m = Map::with_capacity(1);
    m.insert(key.to_string(), value);
    Value::Map(m)
}

fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Value::Int(v as i64)
    } else {
        Value::Float(v)
    }
}

impl Resolver<'_> {
    /// The stack's template and its section counts.
    pub(super) fn template(&self) -> Result<(Value, Counts)> {
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
                        out.insert(k.clone(), Value::Map(self.resolve_map(inner.clone())?));
                    }
                    mappings.insert(lid, Value::Map(out));
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
            let export = Value::map([
                ("Value", Value::from_json(value)),
                ("Export", Value::map([("Name", string(name.as_str()))])),
            ]);
            outputs.insert(lid.clone(), export);
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
            t.insert("Description".into(), string(d.as_str()));
        }
        match props.transforms.as_slice() {
            [] => {}
            [one] => {
                t.insert("Transform".into(), string(one.as_str()));
            }
            many => {
                t.insert(
                    "Transform".into(),
                    Value::List(many.iter().map(|m| string(m.as_str())).collect()),
                );
            }
        }
        if !props.metadata.is_empty() {
            let metadata = self.resolve_map(props.metadata.clone())?;
            t.insert("Metadata".into(), Value::Map(metadata));
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
                t.insert(name.into(), Value::Map(section));
            }
        }
        Ok((Value::Map(t), counts))
    }

    /// `{ "Type", "Properties", "DependsOn", "Condition", policies, "Metadata" }`.
    fn resource(&self, n: NodeId, entry: &ResourceEntry) -> Result<Value> {
        let app = self.app;
        let mut r = Map::new();
        r.insert("Type".into(), string(entry.resource.resource_type()));
        let props = entry.final_properties();
        // What the properties reference is ordered by CloudFormation already: a
        // `DependsOn` on it would be redundant (cfn-lint W3005).
        let mut referenced = Vec::new();
        props.values().for_each(|v| v.referenced_nodes(&mut referenced));
        if props.values().any(|v| !matches!(v, Value::Null)) {
            r.insert("Properties".into(), Value::Map(self.resolve_map(props)?));
        }
        let o = &entry.options;
        let mut depends_on = Vec::new();
        for d in &o.depends_on {
            self.depends_on(n, *d, &referenced, &mut depends_on)?;
        }
        if !depends_on.is_empty() {
            depends_on.sort();
            depends_on.dedup();
            r.insert(
                "DependsOn".into(),
                Value::List(depends_on.into_iter().map(Value::String).collect()),
            );
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
                r.insert(name.into(), string(p.as_str()));
            }
        }
        let mut metadata = self.resolve_map(o.metadata.clone())?;
        metadata.insert("aws:cdk:path".into(), Value::String(app.path(n)));
        r.insert("Metadata".into(), Value::Map(metadata));
        Ok(Value::Map(r))
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

    fn parameter(&self, p: &Parameter) -> Result<Value> {
        let mut m = Map::new();
        m.insert("Type".into(), Value::String(p.parameter_type.type_name()));
        if let Some(d) = &p.default {
            m.insert("Default".into(), self.resolve(d.clone())?);
        }
        if !p.allowed_values.is_empty() {
            let values = p
                .allowed_values
                .iter()
                .map(|v| self.resolve(v.clone()))
                .collect::<Result<_>>()?;
            m.insert("AllowedValues".into(), Value::List(values));
        }
        if let Some(v) = &p.allowed_pattern {
            m.insert("AllowedPattern".into(), string(v.as_str()));
        }
        if let Some(v) = &p.constraint_description {
            m.insert("ConstraintDescription".into(), string(v.as_str()));
        }
        if let Some(v) = &p.description {
            m.insert("Description".into(), string(v.as_str()));
        }
        if let Some(v) = p.max_length {
            m.insert("MaxLength".into(), Value::Int(v));
        }
        if let Some(v) = p.max_value {
            m.insert("MaxValue".into(), number(v));
        }
        if let Some(v) = p.min_length {
            m.insert("MinLength".into(), Value::Int(v));
        }
        if let Some(v) = p.min_value {
            m.insert("MinValue".into(), number(v));
        }
        if p.no_echo {
            m.insert("NoEcho".into(), Value::Bool(true));
        }
        Ok(Value::Map(m))
    }

    fn output(&self, o: &Output) -> Result<Value> {
        let mut m = Map::new();
        if let Some(d) = &o.description {
            m.insert("Description".into(), string(d.as_str()));
        }
        m.insert("Value".into(), self.resolve(o.value.clone())?);
        if let Some(e) = &o.export_name {
            m.insert("Export".into(), object1("Name", self.resolve(e.clone())?));
        }
        if let Some(c) = o.condition {
            m.insert("Condition".into(), self.local_name(&Target::Node(c.node()))?);
        }
        Ok(Value::Map(m))
    }

    /// Resolves a value in place: literals stay where they are, intrinsics are replaced.
    fn resolve(&self, v: Value) -> Result<Value> {
        Ok(match v {
            Value::List(mut items) => {
                for item in &mut items {
                    *item = self.resolve(std::mem::take(item))?;
                }
                Value::List(items)
            }
            Value::Map(m) => Value::Map(self.resolve_map(m)?),
            Value::Intrinsic(i) => self.intrinsic(*i)?,
            literal => literal,
        })
    }

    /// Resolves a map in place, leaving out its `Null` entries.
    fn resolve_map(&self, mut m: Map) -> Result<Map> {
        if m.values().any(|v| matches!(v, Value::Null)) {
            m.retain(|_, v| !matches!(v, Value::Null));
        }
        for v in m.values_mut() {
            if !v.is_literal_scalar() {
                *v = self.resolve(std::mem::take(v))?;
            }
        }
        Ok(m)
    }

    fn resolve_all(&self, vs: Vec<Value>) -> Result<Value> {
        self.resolve(Value::List(vs))
    }

    /// `Ref`/`Fn::GetAtt` of a node: local, or the import of the producer's export.
    fn reference(&self, target: NodeId, attribute: Option<&str>) -> Result<Value> {
        let app = self.app;
        app.try_node(target)?;
        let (Some(s), Some(lid)) = (self.plan.owner(target), self.plan.logical_id(target)) else {
            return Err(Error::UnknownNode(target.index()));
        };
        let local = local_reference(lid, attribute);
        if s == self.stack {
            return Ok(Value::from_json(&local));
        }
        let (_, export_name) = export_of(&self.plan.stacks[s].stack_name, &local);
        Ok(object1("Fn::ImportValue", Value::String(export_name)))
    }

    /// A condition or mapping of this stack by logical ID.
    fn local_name(&self, target: &Target) -> Result<Value> {
        match target {
            Target::LogicalId(l) => Ok(string(l.as_str())),
            Target::Node(n) => {
                self.app.try_node(*n)?;
                Ok(string(self.plan.lid(*n)))
            }
        }
    }

    fn intrinsic(&self, i: Intrinsic) -> Result<Value> {
        let args = Value::List;
        let (name, args) = match i {
            Intrinsic::Ref(Target::Node(t)) => return self.reference(t, None),
            Intrinsic::Ref(Target::LogicalId(l)) => ("Ref", string(l)),
            Intrinsic::Pseudo(p) => ("Ref", string(p.name())),
            Intrinsic::GetAtt(Target::Node(t), a) => return self.reference(t, Some(&a)),
            Intrinsic::GetAtt(Target::LogicalId(l), a) => ("Fn::GetAtt", args(vec![string(l), string(a)])),
            Intrinsic::Sub(s, vars) if vars.is_empty() => ("Fn::Sub", string(s)),
            Intrinsic::Sub(s, vars) => (
                "Fn::Sub",
                args(vec![string(s), Value::Map(self.resolve_map(vars)?)]),
            ),
            Intrinsic::Join(d, items) => ("Fn::Join", args(vec![string(d), self.resolve(items)?])),
            Intrinsic::Select(i, items) => ("Fn::Select", args(vec![self.resolve(i)?, self.resolve(items)?])),
            Intrinsic::Split(d, s) => ("Fn::Split", args(vec![string(d), self.resolve(s)?])),
            Intrinsic::If(c, a, b) => (
                "Fn::If",
                args(vec![self.local_name(&c)?, self.resolve(a)?, self.resolve(b)?]),
            ),
            Intrinsic::Equals(a, b) => ("Fn::Equals", args(vec![self.resolve(a)?, self.resolve(b)?])),
            Intrinsic::And(vs) => ("Fn::And", self.resolve_all(vs)?),
            Intrinsic::Or(vs) => ("Fn::Or", self.resolve_all(vs)?),
            Intrinsic::Not(v) => ("Fn::Not", args(vec![self.resolve(v)?])),
            Intrinsic::Condition(c) => ("Condition", self.local_name(&c)?),
            Intrinsic::ImportValue(v) => ("Fn::ImportValue", self.resolve(v)?),
            Intrinsic::FindInMap(m, a, b) => (
                "Fn::FindInMap",
                args(vec![self.local_name(&m)?, self.resolve(a)?, self.resolve(b)?]),
            ),
            Intrinsic::Base64(v) => ("Fn::Base64", self.resolve(v)?),
            Intrinsic::Cidr(a, b, c) => (
                "Fn::Cidr",
                args(vec![self.resolve(a)?, self.resolve(b)?, self.resolve(c)?]),
            ),
            Intrinsic::GetAzs(v) => ("Fn::GetAZs", self.resolve(v)?),
        };
        Ok(object1(name, args))
    }
}
