//! Synthesis: validate, allocate logical IDs, resolve references (with automatic
//! cross-stack exports), order stacks, enforce CloudFormation's limits, and produce the
//! in-memory [`CloudAssembly`].

use std::collections::HashMap;
use std::rc::Rc;

use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use crate::annotations::{Diagnostic, Level};
use crate::assembly::{CloudAssembly, MetadataEntry, StackArtifact};
use crate::error::{Error, Result};
use crate::id::{NodeId, Stack};
use crate::logical_id::make_unique_id;
use crate::template::{Environment, Output, Parameter};
use crate::tree::{App, NodeKind};
use crate::value::{Intrinsic, Target, Value};

/// CloudFormation's quotas enforced at synthesis.
pub mod limits {
    /// Resources per template.
    pub const MAX_RESOURCES: usize = 500;
    /// Parameters per template.
    pub const MAX_PARAMETERS: usize = 200;
    /// Outputs per template.
    pub const MAX_OUTPUTS: usize = 200;
    /// Mappings per template.
    pub const MAX_MAPPINGS: usize = 200;
    /// Largest template that can be passed inline to the API; larger ones go through S3.
    pub const INLINE_TEMPLATE_BYTES: usize = 51_200;
    /// Largest template CloudFormation accepts from S3.
    pub const MAX_TEMPLATE_BYTES: usize = 1_048_576;
}

/// How to synthesize.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthOptions {
    /// Fail on warnings too, not only on errors.
    pub strict: bool,
    /// Keep only each template's text ([`StackArtifact::template_body`]); the parsed
    /// [`StackArtifact::template`] is left `Null`. Each resource is then written as soon
    /// as it is resolved and dropped, so a large app never holds its templates as JSON
    /// trees: what the app command line's `synth` does when it writes JSON.
    pub text_only: bool,
}

/// A stack's template while it is built: the small sections as JSON, the `Resources`
/// section already written as text (serde_json's one-space pretty layout, in place at
/// depth 1), so only one resource is a JSON tree at a time.
struct TemplateParts {
    /// The sections in canonical order; `Resources`, when present, holds `Null` (its
    /// text is `resources`).
    sections: Map<String, Json>,
    /// `{ ... }` of the `Resources` section.
    resources: Vec<u8>,
    resource_count: usize,
}

impl TemplateParts {
    fn new() -> Self {
        TemplateParts {
            sections: Map::new(),
            resources: Vec::new(),
            resource_count: 0,
        }
    }

    /// Starts the next entry of `Resources` (`"LogicalId": `); the caller writes the
    /// resource into the returned buffer.
    fn begin_resource(&mut self, lid: &str) -> &mut Vec<u8> {
        let out = &mut self.resources;
        out.extend_from_slice(if self.resource_count == 0 {
            b"{\n  "
        } else {
            b",\n  "
        });
        crate::assembly::write_json_string(out, lid);
        out.extend_from_slice(b": ");
        self.resource_count += 1;
        out
    }

    fn finish_resources(&mut self) {
        if self.resource_count > 0 {
            self.resources.extend_from_slice(b"\n }");
        }
    }

    fn count(&self, section: &str) -> usize {
        if section == "Resources" {
            return self.resource_count;
        }
        self.sections
            .get(section)
            .and_then(Json::as_object)
            .map_or(0, Map::len)
    }

    /// The whole template as text, byte for byte what serde_json's pretty printer
    /// (one-space indent) writes for the full JSON.
    fn body(&self) -> String {
        let mut out = Vec::with_capacity(self.resources.len() + 1024);
        out.push(b'{');
        for (i, (k, v)) in self.sections.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\n " } else { b",\n " });
            crate::assembly::write_json_string(&mut out, k);
            out.extend_from_slice(b": ");
            if k == "Resources" && v.is_null() {
                out.extend_from_slice(&self.resources);
            } else {
                crate::assembly::write_pretty_at(&mut out, v, 1);
            }
        }
        if !self.sections.is_empty() {
            out.push(b'\n');
        }
        out.push(b'}');
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

struct StackInfo {
    node: NodeId,
    artifact_id: String,
    stack_name: String,
    env: Environment,
    /// The stage whose nested assembly holds the stack; `None` at the app root.
    stage: Option<NodeId>,
}

/// Per-synthesis state: which stack owns each node and each node's logical ID.
struct Resolver<'a> {
    app: &'a App,
    /// Keep each template as JSON besides its text.
    retain: bool,
    /// A validator found a resource's properties wrong.
    invalid: bool,
    stacks: Vec<StackInfo>,
    /// Index into `stacks` for every node inside a stack.
    owner: Vec<Option<usize>>,
    logical_ids: Vec<Option<String>>,
    /// Exports each producer stack must add, keyed by output logical ID.
    exports: Vec<IndexMap<String, (Json, String)>>,
    /// Dependencies between stacks (indices), in discovery order.
    deps: Vec<Vec<usize>>,
}

impl App {
    /// Synthesizes every stack with default options.
    pub fn synth(&mut self) -> Result<CloudAssembly> {
        self.synth_with(&SynthOptions::default())
    }

    /// Prepares (applies aspects), validates, and synthesizes every stack: logical IDs,
    /// references, limits.
    ///
    /// Any error annotation or validator error stops here with
    /// [`Error::Validation`] listing all of them; with `strict`, warnings do too.
    pub fn synth_with(&mut self, options: &SynthOptions) -> Result<CloudAssembly> {
        self.prepare()?;
        let app: &App = self;
        app.synthesize_prepared(options)
    }

    fn synthesize_prepared(&self, options: &SynthOptions) -> Result<CloudAssembly> {
        // Annotations first; the validators run on each resource as synthesis reads its
        // properties (one computation of them, not two). Any failure reports the full
        // list from `validate_all`, in tree order, before any synthesis error.
        let diagnostics = self.annotations_all();
        let fails = |d: &Diagnostic| d.level == Level::Error || (options.strict && d.level == Level::Warning);
        if diagnostics.iter().any(fails) {
            return Err(self.validation_failure(options, None));
        }
        let mut resolver = match Resolver::new(self) {
            Ok(r) => r,
            Err(e) => return Err(self.validation_failure(options, Some(e))),
        };
        resolver.retain = !options.text_only;
        let mut templates = Vec::with_capacity(resolver.stacks.len());
        for i in 0..resolver.stacks.len() {
            match resolver.stack_template(i) {
                Ok(t) => templates.push(t),
                Err(e) => return Err(self.validation_failure(options, Some(e))),
            }
        }
        if resolver.invalid || resolver.unowned_resources_invalid() {
            return Err(self.validation_failure(options, None));
        }
        resolver.add_exports(&mut templates);
        resolver.check_cycles()?;
        let mut warnings: Vec<Diagnostic> = diagnostics;
        let mut bodies = Vec::with_capacity(templates.len());
        for (i, template) in templates.iter_mut().enumerate() {
            bodies.push(resolver.check_limits(i, template, &mut warnings)?);
            // The text is all that is left of a template synthesized text only.
            template.resources = Vec::new();
        }
        let by_stack = resolver.diagnostics_by_stack(&warnings);
        let mut artifacts = Vec::with_capacity(templates.len());
        for (i, (template, body)) in templates.into_iter().zip(bodies).enumerate() {
            // The JSON, when kept, is read back from the text: the two cannot differ.
            let json = if resolver.retain {
                serde_json::from_str(&body).map_err(|e| Error::Serialize {
                    stack: self.path(resolver.stacks[i].node),
                    message: e.to_string(),
                })?
            } else {
                Json::Null
            };
            drop(template);
            artifacts.push(resolver.artifact(i, json, body, &by_stack[i]));
        }
        let stage_names = resolver.stage_directories();
        Ok(CloudAssembly::new(artifacts, stage_names, warnings))
    }

    /// The annotations of every node, in tree order.
    fn annotations_all(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for n in self.descendants(self.root()) {
            if !self.node(n).annotations().is_empty() {
                self.push_annotations(n, &self.display_path(n), &mut out);
            }
        }
        out
    }

    /// The error for an app that failed validation or synthesis: every error
    /// annotation and validator finding (warnings too when strict), else `otherwise`.
    fn validation_failure(&self, options: &SynthOptions, otherwise: Option<Error>) -> Error {
        let errors: Vec<Diagnostic> = self
            .validate_all()
            .into_iter()
            .filter(|d| d.level == Level::Error || (options.strict && d.level == Level::Warning))
            .collect();
        match otherwise {
            Some(e) if errors.is_empty() => e,
            _ => Error::Validation { errors },
        }
    }

    /// True when a validator finds something wrong with a resource's properties.
    fn invalid_properties(&self, n: NodeId, props: &IndexMap<String, Value>) -> bool {
        let Some(entry) = self.node(n).resource_entry() else {
            return false;
        };
        let ty = entry.resource.resource_type();
        self.validators()
            .iter()
            .any(|v| !v.validate(ty, props).is_empty())
    }

    /// Annotations plus validator findings, in tree order.
    fn validate_all(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for n in self.descendants(self.root()) {
            let node = self.node(n);
            // Paths are built only for the nodes that have something to say.
            let mut path: Option<String> = None;
            if !node.annotations().is_empty() {
                let p = path.insert(self.display_path(n));
                self.push_annotations(n, p, &mut out);
            }
            if self.validators().is_empty() {
                continue;
            }
            let Some(entry) = node.resource_entry() else {
                continue;
            };
            let Some(props) = self.final_properties(n) else {
                continue;
            };
            let ty = entry.resource.resource_type();
            for v in self.validators() {
                for e in v.validate(ty, &props) {
                    let path = path.get_or_insert_with(|| self.display_path(n));
                    out.push(Diagnostic {
                        level: Level::Error,
                        path: path.clone(),
                        message: format!("{}: {}", e.path, e.message),
                    });
                }
            }
        }
        out
    }
}

impl<'a> Resolver<'a> {
    fn new(app: &'a App) -> Result<Self> {
        let order = app.descendants(app.root());
        let mut owner = vec![None; app.len()];
        let mut stacks = Vec::new();
        for &n in &order {
            let node = app.node(n);
            if let NodeKind::Stack(_) = node.kind() {
                let stack = app.stack_of(n).map(Stack::node);
                debug_assert_eq!(stack, Some(n));
                let artifact_id = app.artifact_id(Stack::from_node(n));
                let stack_name = app.stack_name(Stack::from_node(n));
                stacks.push(StackInfo {
                    node: n,
                    artifact_id,
                    stack_name,
                    env: app.environment_of(Stack::from_node(n)),
                    stage: app.stage_of(n).map(|s| s.node()),
                });
                owner[n.index()] = Some(stacks.len() - 1);
            } else if let Some(p) = node.parent() {
                owner[n.index()] = owner[p.index()];
            }
        }
        let mut logical_ids = vec![None; app.len()];
        let mut seen: Vec<HashMap<String, NodeId>> = vec![HashMap::new(); stacks.len()];
        for &n in &order {
            let node = app.node(n);
            if !node.kind().is_template_element() {
                continue;
            }
            let Some(s) = owner[n.index()] else { continue };
            let lid = match node.logical_id_override() {
                Some(l) => l.to_string(),
                None => make_unique_id(&app.path_from(stacks[s].node, n)),
            };
            if let Some(first) = seen[s].insert(lid.clone(), n) {
                return Err(Error::LogicalIdCollision {
                    stack: app.path(stacks[s].node),
                    logical_id: lid,
                    first: app.path(first),
                    second: app.path(n),
                });
            }
            logical_ids[n.index()] = Some(lid);
        }
        let mut deps = vec![Vec::new(); stacks.len()];
        for (i, s) in stacks.iter().enumerate() {
            if let NodeKind::Stack(data) = &app.node(s.node).kind() {
                for d in &data.dependencies {
                    if let Some(j) = owner[d.index()] {
                        if !deps[i].contains(&j) {
                            deps[i].push(j);
                        }
                    }
                }
            }
        }
        let n = stacks.len();
        Ok(Resolver {
            app,
            retain: true,
            invalid: false,
            stacks,
            owner,
            logical_ids,
            exports: vec![IndexMap::new(); n],
            deps,
        })
    }

    /// Validates the resources outside every stack (synthesis does not read them).
    fn unowned_resources_invalid(&self) -> bool {
        let app = self.app;
        app.node_ids().zip(&self.owner).any(|(n, owner)| {
            owner.is_none()
                && app.node(n).resource_entry().is_some()
                && app
                    .final_properties(n)
                    .is_some_and(|p| app.invalid_properties(n, &p))
        })
    }

    fn lid(&self, n: NodeId) -> &str {
        self.logical_ids[n.index()].as_deref().unwrap_or_default()
    }

    fn add_dep(&mut self, from: usize, on: usize) {
        if from != on && !self.deps[from].contains(&on) {
            self.deps[from].push(on);
        }
    }

    /// Checks that `target` can be referenced from `consumer` with an intrinsic that needs
    /// a node of kind `expected`; returns the owning stack index.
    fn target_stack(&self, consumer: NodeId, target: NodeId, expected: &[&'static str]) -> Result<usize> {
        let node = self.app.try_node(target)?;
        let kind = node.kind().describe();
        if !expected.contains(&kind) {
            return Err(Error::WrongKind {
                path: self.app.path(target),
                expected: expected.first().copied().unwrap_or("resource"),
                actual: kind,
            });
        }
        self.owner[target.index()].ok_or_else(|| Error::InvalidReference {
            consumer: self.app.path(consumer),
            target: self.app.path(target),
            reason: "it is not inside a stack",
        })
    }

    /// Resolves a reference-like intrinsic: local, or through an export when it crosses stacks.
    fn resolve_ref(&mut self, ctx: Ctx, target: NodeId, attribute: Option<&str>) -> Result<Json> {
        let expected: &[&'static str] = if attribute.is_some() {
            &["resource"]
        } else {
            &["resource", "parameter"]
        };
        let s = self.target_stack(ctx.node, target, expected)?;
        let lid = self.lid(target).to_string();
        let local = match attribute {
            None => object1("Ref", Json::String(lid)),
            Some(a) => object1("Fn::GetAtt", Json::Array(vec![Json::String(lid), string(a)])),
        };
        if s == ctx.stack {
            return Ok(local);
        }
        let (consumer, producer) = (&self.stacks[ctx.stack], &self.stacks[s]);
        if consumer.env != producer.env {
            return Err(Error::CrossEnvironmentReference {
                consumer: self.app.path(ctx.node),
                producer: self.app.path(target),
                consumer_env: consumer.env.uri(),
                producer_env: producer.env.uri(),
            });
        }
        if consumer.stage != producer.stage {
            return Err(Error::InvalidReference {
                consumer: self.app.path(ctx.node),
                target: self.app.path(target),
                reason: "its stack is in another stage, and stages deploy independently; pass the value as a parameter or through an SSM parameter",
            });
        }
        if ctx.in_output {
            return Err(Error::InvalidReference {
                consumer: self.app.path(ctx.node),
                target: self.app.path(target),
                reason: "an output can only refer to its own stack; put the output in the producing stack",
            });
        }
        // The CDK's scheme: output `Exports/Output{json}` -> logical ID and export name.
        let output_id = format!("Output{local}");
        let output_lid = make_unique_id(&["Exports", &output_id]);
        let export_name = format!("{}:{}", producer.stack_name, output_lid);
        self.exports[s]
            .entry(output_lid)
            .or_insert_with(|| (local, export_name.clone()));
        self.add_dep(ctx.stack, s);
        Ok(object1("Fn::ImportValue", Json::String(export_name)))
    }

    /// A same-stack reference to a condition or mapping by logical ID.
    fn local_name(&self, ctx: Ctx, target: &Target, kind: &'static str) -> Result<Json> {
        match target {
            Target::LogicalId(l) => Ok(Json::String(l.clone())),
            Target::Node(n) => {
                let s = self.target_stack(ctx.node, *n, &[kind])?;
                if s != ctx.stack {
                    return Err(Error::InvalidReference {
                        consumer: self.app.path(ctx.node),
                        target: self.app.path(*n),
                        reason: "conditions and mappings can only be used in their own stack",
                    });
                }
                Ok(Json::String(self.lid(*n).to_string()))
            }
        }
    }

    fn resolve(&mut self, ctx: Ctx, v: &Value) -> Result<Json> {
        Ok(match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s.clone()),
            Value::List(items) => Json::Array(
                items
                    .iter()
                    .map(|i| self.resolve(ctx, i))
                    .collect::<Result<_>>()?,
            ),
            Value::Map(m) => Json::Object(self.resolve_map(ctx, m)?),
            Value::Intrinsic(i) => self.resolve_intrinsic(ctx, i)?,
        })
    }

    fn resolve_map(&mut self, ctx: Ctx, m: &IndexMap<String, Value>) -> Result<Map<String, Json>> {
        self.resolve_map_reserving(ctx, m, 0)
    }

    /// Resolves a map into one with room for `extra` more entries.
    fn resolve_map_reserving(
        &mut self,
        ctx: Ctx,
        m: &IndexMap<String, Value>,
        extra: usize,
    ) -> Result<Map<String, Json>> {
        let mut out = Map::with_capacity(m.len() + extra);
        for (k, v) in m {
            if matches!(v, Value::Null) {
                continue;
            }
            out.insert(k.clone(), self.resolve(ctx, v)?);
        }
        Ok(out)
    }

    fn resolve_intrinsic(&mut self, ctx: Ctx, i: &Intrinsic) -> Result<Json> {
        let (name, args) = match i {
            Intrinsic::Ref(Target::Node(n)) => return self.resolve_ref(ctx, *n, None),
            Intrinsic::Ref(Target::LogicalId(l)) => ("Ref", string(l)),
            Intrinsic::Pseudo(p) => ("Ref", string(p.name())),
            Intrinsic::GetAtt(Target::Node(n), a) => return self.resolve_ref(ctx, *n, Some(a)),
            Intrinsic::GetAtt(Target::LogicalId(l), a) => {
                ("Fn::GetAtt", Json::Array(vec![string(l), string(a)]))
            }
            Intrinsic::Sub(s, vars) if vars.is_empty() => ("Fn::Sub", string(s)),
            Intrinsic::Sub(s, vars) => (
                "Fn::Sub",
                Json::Array(vec![string(s), Json::Object(self.resolve_map(ctx, vars)?)]),
            ),
            Intrinsic::Join(d, list) => ("Fn::Join", Json::Array(vec![string(d), self.resolve(ctx, list)?])),
            Intrinsic::Select(i, list) => (
                "Fn::Select",
                Json::Array(vec![self.resolve(ctx, i)?, self.resolve(ctx, list)?]),
            ),
            Intrinsic::Split(d, s) => ("Fn::Split", Json::Array(vec![string(d), self.resolve(ctx, s)?])),
            Intrinsic::If(c, a, b) => (
                "Fn::If",
                Json::Array(vec![
                    self.local_name(ctx, c, "condition")?,
                    self.resolve(ctx, a)?,
                    self.resolve(ctx, b)?,
                ]),
            ),
            Intrinsic::Equals(a, b) => (
                "Fn::Equals",
                Json::Array(vec![self.resolve(ctx, a)?, self.resolve(ctx, b)?]),
            ),
            Intrinsic::And(vs) => ("Fn::And", self.resolve_all(ctx, vs)?),
            Intrinsic::Or(vs) => ("Fn::Or", self.resolve_all(ctx, vs)?),
            Intrinsic::Not(v) => ("Fn::Not", Json::Array(vec![self.resolve(ctx, v)?])),
            Intrinsic::Condition(c) => ("Condition", self.local_name(ctx, c, "condition")?),
            Intrinsic::ImportValue(v) => ("Fn::ImportValue", self.resolve(ctx, v)?),
            Intrinsic::FindInMap(m, a, b) => (
                "Fn::FindInMap",
                Json::Array(vec![
                    self.local_name(ctx, m, "mapping")?,
                    self.resolve(ctx, a)?,
                    self.resolve(ctx, b)?,
                ]),
            ),
            Intrinsic::Base64(v) => ("Fn::Base64", self.resolve(ctx, v)?),
            Intrinsic::Cidr(a, b, c) => (
                "Fn::Cidr",
                Json::Array(vec![
                    self.resolve(ctx, a)?,
                    self.resolve(ctx, b)?,
                    self.resolve(ctx, c)?,
                ]),
            ),
            Intrinsic::GetAzs(v) => ("Fn::GetAZs", self.resolve(ctx, v)?),
        };
        Ok(object1(name, args))
    }

    /// Writes one resource (`{ "Type": ..., "Properties": ..., ... }`) as it appears in
    /// the template's `Resources` section, validating its properties on the way: the
    /// properties are written straight from their values, never built as JSON.
    fn write_resource(&mut self, out: &mut Vec<u8>, ctx: Ctx, entry: &crate::ResourceEntry) -> Result<()> {
        const DEPTH: usize = 3;
        let app = self.app;
        let n = ctx.node;
        out.push(b'{');
        field(out, true, DEPTH, "Type");
        crate::assembly::write_json_string(out, entry.resource.resource_type());
        // What the properties reference is ordered by CloudFormation already: a
        // `DependsOn` on it would be redundant (cfn-lint W3005).
        let mut referenced = Vec::new();
        if let Some(props) = app.take_final_properties(n) {
            props.values().for_each(|v| v.referenced_nodes(&mut referenced));
            if props.values().any(|v| !matches!(v, Value::Null)) {
                field(out, false, DEPTH, "Properties");
                self.write_map(out, DEPTH, ctx, &props)?;
            }
            if !self.invalid {
                // Synthesis holds the only reference: the map moves into a value.
                let props = Value::Map(Rc::try_unwrap(props).unwrap_or_else(|shared| (*shared).clone()));
                let ty = entry.resource.resource_type();
                self.invalid = app
                    .validators()
                    .iter()
                    .any(|v| !v.validate_value(ty, &props).is_empty());
            }
        }
        let o = &entry.options;
        let mut depends_on = Vec::new();
        for d in &o.depends_on {
            self.depends_on(ctx, *d, &referenced, &mut depends_on)?;
        }
        if !depends_on.is_empty() {
            depends_on.sort();
            depends_on.dedup();
            field(out, false, DEPTH, "DependsOn");
            crate::assembly::write_pretty_at(out, &json!(depends_on), DEPTH);
        }
        if let Some(c) = o.condition {
            field(out, false, DEPTH, "Condition");
            let name = self.local_name(ctx, &Target::Node(c.node()), "condition")?;
            crate::assembly::write_pretty_at(out, &name, DEPTH);
        }
        for (name, value) in [
            ("UpdatePolicy", &o.update_policy),
            ("CreationPolicy", &o.creation_policy),
        ] {
            if let Some(v) = value {
                field(out, false, DEPTH, name);
                self.write_value(out, DEPTH, ctx, v)?;
            }
        }
        for (name, value) in [
            ("UpdateReplacePolicy", o.update_replace_policy),
            ("DeletionPolicy", o.deletion_policy),
        ] {
            if let Some(p) = value {
                field(out, false, DEPTH, name);
                crate::assembly::write_json_string(out, p.as_str());
            }
        }
        let mut metadata = self.resolve_map_reserving(ctx, &o.metadata, 1)?;
        metadata.insert("aws:cdk:path".into(), Json::String(app.path(n)));
        field(out, false, DEPTH, "Metadata");
        crate::assembly::write_pretty_at(out, &Json::Object(metadata), DEPTH);
        newline(out, DEPTH - 1);
        out.push(b'}');
        Ok(())
    }

    /// Writes a value as [`Resolver::resolve`] would resolve it and serde_json's pretty
    /// printer (one-space indent) would write it `depth` levels deep.
    fn write_value(&mut self, out: &mut Vec<u8>, depth: usize, ctx: Ctx, v: &Value) -> Result<()> {
        match v {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Int(i) => {
                let _ = serde_json::to_writer(&mut *out, i);
            }
            Value::Float(f) => match serde_json::Number::from_f64(*f) {
                Some(n) => {
                    let _ = serde_json::to_writer(&mut *out, &n);
                }
                None => out.extend_from_slice(b"null"),
            },
            Value::String(s) => crate::assembly::write_json_string(out, s),
            Value::List(items) if items.is_empty() => out.extend_from_slice(b"[]"),
            Value::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    newline(out, depth + 1);
                    self.write_value(out, depth + 1, ctx, item)?;
                }
                newline(out, depth);
                out.push(b']');
            }
            Value::Map(m) => self.write_map(out, depth, ctx, m)?,
            Value::Intrinsic(i) => {
                let resolved = self.resolve_intrinsic(ctx, i)?;
                crate::assembly::write_pretty_at(out, &resolved, depth);
            }
        }
        Ok(())
    }

    /// Writes a map as [`Resolver::resolve_map`] resolves it (`Null` entries left out).
    fn write_map(
        &mut self,
        out: &mut Vec<u8>,
        depth: usize,
        ctx: Ctx,
        m: &IndexMap<String, Value>,
    ) -> Result<()> {
        let mut first = true;
        for (k, v) in m {
            if matches!(v, Value::Null) {
                continue;
            }
            if first {
                out.push(b'{');
            }
            field(out, first, depth + 1, k);
            first = false;
            self.write_value(out, depth + 1, ctx, v)?;
        }
        if first {
            out.extend_from_slice(b"{}");
        } else {
            newline(out, depth);
            out.push(b'}');
        }
        Ok(())
    }

    fn resolve_all(&mut self, ctx: Ctx, vs: &[Value]) -> Result<Json> {
        Ok(Json::Array(
            vs.iter().map(|v| self.resolve(ctx, v)).collect::<Result<_>>()?,
        ))
    }

    /// The template of stack `s`, without the exports other stacks will ask of it.
    fn stack_template(&mut self, s: usize) -> Result<TemplateParts> {
        let app = self.app;
        let stack_node = self.stacks[s].node;
        let props = app.stack_props(Stack::from_node(stack_node));
        let mut parameters = Map::new();
        let mut conditions = Map::new();
        let mut mappings = Map::new();
        let mut parts = TemplateParts::new();
        let mut outputs = Map::new();
        let mut rules = Map::new();
        for n in app.descendants(stack_node) {
            let node = app.node(n);
            if !node.kind().is_template_element() || self.owner[n.index()] != Some(s) {
                continue;
            }
            let lid = self.lid(n).to_string();
            let ctx = Ctx {
                stack: s,
                node: n,
                in_output: false,
            };
            match &node.kind() {
                NodeKind::Resource(entry) => {
                    let out = parts.begin_resource(&lid);
                    self.write_resource(out, ctx, entry)?;
                }
                NodeKind::Parameter(p) => {
                    let rendered = self.parameter(ctx, p)?;
                    parameters.insert(lid, rendered);
                }
                NodeKind::Condition(expr) => {
                    conditions.insert(lid, self.resolve(ctx, expr)?);
                }
                NodeKind::Mapping(m) => {
                    let mut out = Map::new();
                    for (k, inner) in m {
                        out.insert(k.clone(), Json::Object(self.resolve_map(ctx, inner)?));
                    }
                    mappings.insert(lid, Json::Object(out));
                }
                NodeKind::Output(o) => {
                    let rendered = self.output(
                        Ctx {
                            in_output: true,
                            ..ctx
                        },
                        o,
                    )?;
                    outputs.insert(lid, rendered);
                }
                NodeKind::Rule(r) => {
                    rules.insert(lid, self.resolve(ctx, r)?);
                }
                _ => {}
            }
        }
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
            let ctx = Ctx {
                stack: s,
                node: stack_node,
                in_output: false,
            };
            t.insert(
                "Metadata".into(),
                Json::Object(self.resolve_map(ctx, &props.metadata)?),
            );
        }
        for (name, section) in [
            ("Parameters", parameters),
            ("Mappings", mappings),
            ("Conditions", conditions),
        ] {
            if !section.is_empty() {
                t.insert(name.into(), Json::Object(section));
            }
        }
        parts.finish_resources();
        if parts.resource_count > 0 {
            t.insert("Resources".into(), Json::Null);
        }
        for (name, section) in [("Outputs", outputs), ("Rules", rules)] {
            if !section.is_empty() {
                t.insert(name.into(), Json::Object(section));
            }
        }
        parts.sections = t;
        Ok(parts)
    }

    /// Expands a `DependsOn` target (a resource or a construct) to logical IDs in this
    /// stack, leaving out the resources the dependent already references; a target in
    /// another stack becomes a stack dependency instead.
    fn depends_on(
        &mut self,
        ctx: Ctx,
        target: NodeId,
        referenced: &[NodeId],
        out: &mut Vec<String>,
    ) -> Result<()> {
        self.app.try_node(target)?;
        let Some(s) = self.owner[target.index()] else {
            return Err(Error::InvalidReference {
                consumer: self.app.path(ctx.node),
                target: self.app.path(target),
                reason: "a resource can only depend on resources and constructs inside stacks",
            });
        };
        if s != ctx.stack {
            self.add_dep(ctx.stack, s);
            return Ok(());
        }
        for d in self.app.descendants(target) {
            if matches!(self.app.node(d).kind(), NodeKind::Resource(_))
                && d != ctx.node
                && !referenced.contains(&d)
            {
                out.push(self.lid(d).to_string());
            }
        }
        Ok(())
    }

    fn parameter(&mut self, ctx: Ctx, p: &Parameter) -> Result<Json> {
        let mut m = Map::new();
        m.insert("Type".into(), Json::String(p.parameter_type.type_name()));
        if let Some(d) = &p.default {
            m.insert("Default".into(), self.resolve(ctx, d)?);
        }
        if !p.allowed_values.is_empty() {
            m.insert("AllowedValues".into(), self.resolve_all(ctx, &p.allowed_values)?);
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

    fn output(&mut self, ctx: Ctx, o: &Output) -> Result<Json> {
        let mut m = Map::new();
        if let Some(d) = &o.description {
            m.insert("Description".into(), json!(d));
        }
        m.insert("Value".into(), self.resolve(ctx, &o.value)?);
        if let Some(e) = &o.export_name {
            m.insert("Export".into(), json!({ "Name": self.resolve(ctx, e)? }));
        }
        if let Some(c) = o.condition {
            m.insert(
                "Condition".into(),
                self.local_name(ctx, &Target::Node(c.node()), "condition")?,
            );
        }
        Ok(Json::Object(m))
    }

    /// Adds the exports other stacks imported to their producers' `Outputs`.
    fn add_exports(&self, templates: &mut [TemplateParts]) {
        for (s, exports) in self.exports.iter().enumerate() {
            if exports.is_empty() {
                continue;
            }
            let sections = &mut templates[s].sections;
            let outputs = sections
                .entry("Outputs")
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(outputs) = outputs {
                for (lid, (value, name)) in exports {
                    outputs.insert(lid.clone(), json!({ "Value": value, "Export": { "Name": name } }));
                }
            }
            // Keep the canonical section order: Outputs before Rules.
            if let Some(rules) = sections.shift_remove("Rules") {
                sections.insert("Rules".into(), rules);
            }
        }
    }

    fn check_cycles(&self) -> Result<()> {
        // 0 = unvisited, 1 = on the current path, 2 = done.
        let mut state = vec![0u8; self.stacks.len()];
        let mut path = Vec::new();
        for start in 0..self.stacks.len() {
            if let Some(cycle) = self.dfs(start, &mut state, &mut path) {
                return Err(Error::DependencyCycle {
                    cycle: cycle
                        .into_iter()
                        .map(|i| self.app.path(self.stacks[i].node))
                        .collect(),
                });
            }
        }
        Ok(())
    }

    fn dfs(&self, s: usize, state: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        match state[s] {
            2 => return None,
            1 => {
                let from = path.iter().position(|&p| p == s).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(s);
                return Some(cycle);
            }
            _ => {}
        }
        state[s] = 1;
        path.push(s);
        for &d in &self.deps[s] {
            if let Some(c) = self.dfs(d, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state[s] = 2;
        None
    }

    /// Enforces the quotas; returns the serialized template.
    fn check_limits(&self, s: usize, t: &TemplateParts, warnings: &mut Vec<Diagnostic>) -> Result<String> {
        let stack = self.app.path(self.stacks[s].node);
        let count = |section: &str| t.count(section);
        for (section, what, limit) in [
            ("Resources", "resources", limits::MAX_RESOURCES),
            ("Parameters", "parameters", limits::MAX_PARAMETERS),
            ("Outputs", "outputs", limits::MAX_OUTPUTS),
            ("Mappings", "mappings", limits::MAX_MAPPINGS),
        ] {
            let c = count(section);
            if c > limit {
                return Err(Error::LimitExceeded {
                    stack,
                    what,
                    count: c,
                    limit,
                });
            }
        }
        let body = t.body();
        let bytes = body.len();
        if bytes > limits::MAX_TEMPLATE_BYTES {
            return Err(Error::TemplateTooLarge {
                stack,
                bytes,
                limit: limits::MAX_TEMPLATE_BYTES,
            });
        }
        if bytes > limits::INLINE_TEMPLATE_BYTES {
            warnings.push(Diagnostic {
                level: Level::Warning,
                path: stack,
                message: format!(
                    "template is {bytes} bytes, over the {} bytes CloudFormation accepts inline; deploy uploads it to the bootstrap bucket",
                    limits::INLINE_TEMPLATE_BYTES
                ),
            });
        }
        Ok(body)
    }

    /// The diagnostics of each stack (at the stack or below it), in order: one pass over
    /// the diagnostics, not one per stack.
    fn diagnostics_by_stack<'d>(&self, diagnostics: &'d [Diagnostic]) -> Vec<Vec<&'d Diagnostic>> {
        let paths: HashMap<String, usize> = self
            .stacks
            .iter()
            .enumerate()
            .map(|(i, s)| (self.app.path(s.node), i))
            .collect();
        let mut out = vec![Vec::new(); self.stacks.len()];
        for d in diagnostics {
            // A stack's path is the diagnostic's path or a prefix of it ending before a
            // '/'; stacks do not nest, so at most one matches.
            let p = d.path.as_str();
            let mut prefixes = p.match_indices('/').map(|(i, _)| &p[..i]).chain([p]);
            if let Some(&i) = prefixes.find_map(|prefix| paths.get(prefix)) {
                out[i].push(d);
            }
        }
        out
    }

    fn artifact(&self, s: usize, template: Json, body: String, diagnostics: &[&Diagnostic]) -> StackArtifact {
        let info = &self.stacks[s];
        let app = self.app;
        let stack_path = app.path(info.node);
        let mut metadata: IndexMap<String, Vec<MetadataEntry>> = IndexMap::new();
        for d in diagnostics {
            metadata
                .entry(format!("/{}", d.path))
                .or_default()
                .push(MetadataEntry {
                    kind: d.level.metadata_type().to_string(),
                    data: Json::String(d.message.clone()),
                });
        }
        for n in app.descendants(info.node) {
            if let Some(lid) = &self.logical_ids[n.index()] {
                if self.owner[n.index()] == Some(s) {
                    metadata
                        .entry(format!("/{}", app.path(n)))
                        .or_default()
                        .push(MetadataEntry {
                            kind: "aws:cdk:logicalId".into(),
                            data: Json::String(lid.clone()),
                        });
                }
            }
        }
        let props = app.stack_props(Stack::from_node(info.node));
        StackArtifact {
            artifact_id: info.artifact_id.clone(),
            stack_name: info.stack_name.clone(),
            display_name: stack_path,
            environment: info.env.clone(),
            template,
            template_body: body,
            dependencies: self.deps[s]
                .iter()
                .map(|&d| self.stacks[d].artifact_id.clone())
                .collect(),
            metadata,
            tags: props.tags.clone(),
            termination_protection: props.termination_protection,
            assembly_dir: app.assembly_directory(Stack::from_node(info.node)),
            assets: app
                .assets
                .iter()
                .filter(|a| a.stack == info.node)
                .map(|a| a.artifact.clone())
                .collect(),
        }
    }

    fn stage_directories(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for s in &self.stacks {
            if let (Some(st), Some(dir)) = (s.stage, self.app.assembly_directory(Stack::from_node(s.node))) {
                if !out.iter().any(|(d, _)| *d == dir) {
                    out.push((dir, self.app.path(st)));
                }
            }
        }
        out
    }
}

/// A JSON object of one entry, allocated for exactly one (templates hold many).
/// A line break and `depth` one-space indents.
fn newline(out: &mut Vec<u8>, depth: usize) {
    out.push(b'\n');
    out.resize(out.len() + depth, b' ');
}

/// `,` (unless first), a line break, the indent and `"key": ` of an object entry.
fn field(out: &mut Vec<u8>, first: bool, depth: usize, key: &str) {
    if !first {
        out.push(b',');
    }
    newline(out, depth);
    crate::assembly::write_json_string(out, key);
    out.extend_from_slice(b": ");
}

fn object1(key: &str, value: Json) -> Json {
    let mut m = Map::with_capacity(1);
    m.insert(key.to_string(), value);
    Json::Object(m)
}

fn string(s: &str) -> Json {
    Json::String(s.to_string())
}

fn number(v: f64) -> Json {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

#[derive(Debug, Clone, Copy)]
struct Ctx {
    stack: usize,
    node: NodeId,
    in_output: bool,
}
