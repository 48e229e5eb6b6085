//! Synthesis, as a plain pipeline; each step is a function of the previous step's output:
//!
//! 1. **prepare** ([`App::prepare`]): aspects visit the tree, mutating ones first;
//! 2. **plan** (`plan.rs`): stacks, the stack owning each node, logical IDs;
//! 3. **validate** (`check.rs`): annotations, validators, references and dependencies,
//!    checked once; every finding is collected and any error stops synthesis here;
//! 4. **resolve** (`resolve.rs`): each stack becomes one JSON value tree;
//! 5. **render** ([`crate::render`]): serde_json writes it; CloudFormation's quotas are
//!    checked on the counts and the text.
//!
//! Stacks are resolved and rendered one at a time, so a large app holds one template as a
//! tree at a time; the assembly keeps each template's text.

mod check;
mod plan;
mod resolve;

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::annotations::{Diagnostic, Level};
use crate::assembly::{CloudAssembly, MetadataEntry, StackArtifact, Template};
use crate::error::{Error, Result};
use crate::id::Stack;
use crate::tree::App;

use check::Links;
use plan::Plan;
use resolve::{Counts, Resolver};

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
}

impl App {
    /// Synthesizes every stack with default options.
    pub fn synth(&mut self) -> Result<CloudAssembly> {
        self.synth_with(&SynthOptions::default())
    }

    /// Prepares (applies aspects), validates, resolves and renders every stack.
    ///
    /// Any error annotation or validator finding stops synthesis with
    /// [`Error::Validation`] listing all of them (with `strict`, warnings do too); then a
    /// wrong reference, a logical ID collision or a dependency cycle stops it.
    pub fn synth_with(&mut self, options: &SynthOptions) -> Result<CloudAssembly> {
        self.prepare()?;
        let app: &App = self;
        let (plan, collision) = Plan::new(app);
        check_stack_names(app, &plan)?;
        let checked = check::check(app, &plan, collision, options)?;
        let mut diagnostics = checked.diagnostics;
        let mut bodies = Vec::with_capacity(plan.stacks.len());
        for stack in 0..plan.stacks.len() {
            let resolver = Resolver {
                app,
                plan: &plan,
                links: &checked.links,
                stack,
            };
            let (template, counts) = resolver.template()?;
            check_counts(app, &plan, stack, counts)?;
            let body = crate::render::json(&template).map_err(|e| at_stack(app, &plan, stack, e))?;
            drop(template);
            check_size(app, &plan, stack, &body, &mut diagnostics)?;
            bodies.push(body);
        }
        let by_stack = diagnostics_by_stack(app, &plan, &diagnostics);
        let artifacts = bodies
            .into_iter()
            .enumerate()
            .map(|(s, body)| artifact(app, &plan, &checked.links, s, body, &by_stack[s]))
            .collect();
        let stages = stage_directories(app, &plan);
        Ok(CloudAssembly::new(artifacts, stages, diagnostics))
    }
}

/// Every stack's name is one CloudFormation accepts (`^[A-Za-z][A-Za-z0-9-]*$`, at most 128
/// characters), and its id yields an artifact id.
fn check_stack_names(app: &App, plan: &Plan) -> Result<()> {
    for info in &plan.stacks {
        let mut chars = info.stack_name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
            && info.stack_name.len() <= 128;
        if !valid {
            return Err(Error::InvalidStackName {
                path: app.path(info.node),
                name: info.stack_name.clone(),
            });
        }
        if info.artifact_id.is_empty() {
            let node = app.node(info.node);
            return Err(Error::InvalidId {
                scope: node.parent().map(|p| app.path(p)).unwrap_or_default(),
                id: node.id().to_string(),
                reason:
                    "a stack id needs an ASCII letter or digit, which name its artifact in the cloud assembly",
            });
        }
    }
    Ok(())
}

/// A serialization error, named after its stack.
fn at_stack(app: &App, plan: &Plan, s: usize, e: Error) -> Error {
    match e {
        Error::Serialize { message, .. } => Error::Serialize {
            stack: app.path(plan.stacks[s].node),
            message,
        },
        other => other,
    }
}

/// Enforces the per-section quotas.
fn check_counts(app: &App, plan: &Plan, s: usize, counts: Counts) -> Result<()> {
    for (what, count, limit) in [
        ("resources", counts.resources, limits::MAX_RESOURCES),
        ("parameters", counts.parameters, limits::MAX_PARAMETERS),
        ("outputs", counts.outputs, limits::MAX_OUTPUTS),
        ("mappings", counts.mappings, limits::MAX_MAPPINGS),
    ] {
        if count > limit {
            return Err(Error::LimitExceeded {
                stack: app.path(plan.stacks[s].node),
                what,
                count,
                limit,
            });
        }
    }
    Ok(())
}

/// Enforces the template size quota; warns above the inline limit.
fn check_size(app: &App, plan: &Plan, s: usize, body: &str, warnings: &mut Vec<Diagnostic>) -> Result<()> {
    let stack = app.path(plan.stacks[s].node);
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
    Ok(())
}

/// The diagnostics of each stack (at the stack or below it), in order.
fn diagnostics_by_stack<'d>(
    app: &App,
    plan: &Plan,
    diagnostics: &'d [Diagnostic],
) -> Vec<Vec<&'d Diagnostic>> {
    let paths: HashMap<String, usize> = plan
        .stacks
        .iter()
        .enumerate()
        .map(|(i, s)| (app.path(s.node), i))
        .collect();
    let mut out = vec![Vec::new(); plan.stacks.len()];
    for d in diagnostics {
        // A stack's path is the diagnostic's path or a prefix of it ending before a '/';
        // stacks do not nest, so at most one matches.
        let p = d.path.as_str();
        let mut prefixes = p.match_indices('/').map(|(i, _)| &p[..i]).chain([p]);
        if let Some(&i) = prefixes.find_map(|prefix| paths.get(prefix)) {
            out[i].push(d);
        }
    }
    out
}

fn artifact(
    app: &App,
    plan: &Plan,
    links: &Links,
    s: usize,
    body: String,
    diagnostics: &[&Diagnostic],
) -> StackArtifact {
    let info = &plan.stacks[s];
    let stack = Stack::from_node(info.node);
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
        if let (Some(lid), Some(owner)) = (plan.logical_id(n), plan.owner(n)) {
            if owner == s {
                metadata
                    .entry(format!("/{}", app.path(n)))
                    .or_default()
                    .push(MetadataEntry {
                        kind: "aws:cdk:logicalId".into(),
                        data: Json::String(lid.to_string()),
                    });
            }
        }
    }
    let props = app.stack_props(stack);
    StackArtifact {
        artifact_id: info.artifact_id.clone(),
        stack_name: info.stack_name.clone(),
        display_name: app.path(info.node),
        environment: info.env.clone(),
        template: Template::from_text(body),
        dependencies: links.deps[s]
            .iter()
            .map(|&d| plan.stacks[d].artifact_id.clone())
            .collect(),
        metadata,
        tags: props.tags.clone(),
        termination_protection: props.termination_protection,
        assembly_dir: app.assembly_directory(stack),
        assets: app.assets_of(stack).into_iter().cloned().collect(),
        bootstrap: app.bootstrap_names(stack),
        missing: missing_of(app, stack, &info.env),
    }
}

/// (directory, stage path) of each nested stage assembly, in order of first use.
fn stage_directories(app: &App, plan: &Plan) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for s in &plan.stacks {
        if let (Some(stage), Some(dir)) = (s.stage, app.assembly_directory(Stack::from_node(s.node))) {
            if !out.iter().any(|(d, _)| *d == dir) {
                out.push((dir, app.path(stage)));
            }
        }
    }
    out
}

/// The missing lookups of a stack, each with the lookup role its bootstrap gives
/// (`lookupRoleArn`, the account and region filled in as the CDK's synthesizer does).
fn missing_of(app: &App, stack: Stack, env: &crate::Environment) -> Vec<crate::MissingContext> {
    let mut role = app.bootstrap_names(stack).lookup_role_arn();
    if let Some(a) = &env.account {
        role = role.replace("${AWS::AccountId}", a);
    }
    if let Some(r) = &env.region {
        role = role.replace("${AWS::Region}", r);
    }
    app.missing_context_of(stack)
        .into_iter()
        .map(|m| {
            let mut m = m.clone();
            m.props.insert("lookupRoleArn".into(), Json::String(role.clone()));
            m
        })
        .collect()
}
