//! `deploy --hotswap` and `--hotswap-fallback`, as the CDK CLI's: the deployed template
//! (`GetTemplate`) is compared with the new one; the changes that only touch a Lambda
//! function's code or configuration (`Code`, `Environment`, `Description`, `MemorySize`,
//! `Timeout`), a state machine's definition (`DefinitionString`,
//! `DefinitionSubstitutions`) or the container images of an ECS task definition used by
//! ECS services are applied through those services' APIs, without a change set:
//!
//! - Lambda: `UpdateFunctionCode` (the published asset's S3 object, or the image) and
//!   `UpdateFunctionConfiguration`, each waited for (`LastUpdateStatus`);
//! - Step Functions: `UpdateStateMachine` with the definition evaluated against the
//!   deployed stack ([`resolve`]: `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub` ...);
//! - ECS: a new revision of the task definition with the new images
//!   (`DescribeTaskDefinition`, `RegisterTaskDefinition`), then `UpdateService` of each
//!   service using it, waited for until its rollout is over.
//!
//! Any other change is listed with the reason it is not hotswappable: `--hotswap` leaves it
//! out (the stack keeps it until a full deployment), `--hotswap-fallback` deploys the stack
//! through a change set instead. A hotswapped stack has drifted from its template, which is
//! said once per run and per stack. A stack not deployed yet is deployed in full.

pub(crate) mod apply;
pub(crate) mod aws;
pub(crate) mod classify;
#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod resolve;
#[cfg(test)]
mod tests;

use serde_json::Value as Json;

use crate::assembly::Stack;
use crate::client::{Clouds, StackState};
use crate::context::{Ctx, Env};
use crate::deploy::report::Deployment;
use crate::diff::TemplateDiff;
use crate::error::Result;

use self::classify::{Classified, Hotswap, Rejected};
use self::resolve::Evaluator;

/// How `deploy` uses hotswaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum HotswapMode {
    /// Always a full deployment (change set or direct).
    #[default]
    Full,
    /// `--hotswap`: hotswap what can be; leave the rest.
    Only,
    /// `--hotswap-fallback`: hotswap when everything can be, else a full deployment.
    FallBack,
}

/// The warning of a run with hotswaps (the CDK CLI's).
pub(crate) const DRIFT_WARNING: &str = "⚠️  --hotswap and --hotswap-fallback deliberately introduce CloudFormation drift to speed up deployments: use them for development only, never for production stacks";

/// What the hotswap phase decided for a stack.
pub(crate) enum Outcome {
    /// Hotswapped (or nothing hotswappable and `--hotswap`): the stack's result.
    Done(Box<Deployment>),
    /// Deploy the stack in full.
    FullDeployment,
}

/// The text of rejected changes, one per line.
pub(crate) fn describe_rejected(rejected: &[Rejected]) -> String {
    rejected
        .iter()
        .map(|r| {
            let what = match (r.logical_id.is_empty(), r.properties.is_empty()) {
                (true, _) => "the stack".to_string(),
                (false, true) => format!("{} ({})", r.logical_id, r.resource_type),
                (false, false) => format!(
                    "{} ({}) {}",
                    r.logical_id,
                    r.resource_type,
                    r.properties.join(", ")
                ),
            };
            format!("  {what}: {}", r.reason)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What one hotswap changes, in words.
fn describe(h: &Hotswap) -> String {
    match h {
        Hotswap::Function {
            logical_id,
            name,
            code,
            config,
        } => {
            let mut what = Vec::new();
            if code.is_some() {
                what.push("code".to_string());
            }
            if let Some(c) = config {
                for (set, p) in [
                    (c.environment.is_some(), "Environment"),
                    (c.description.is_some(), "Description"),
                    (c.memory_size.is_some(), "MemorySize"),
                    (c.timeout.is_some(), "Timeout"),
                ] {
                    if set {
                        what.push(p.to_string());
                    }
                }
            }
            format!("Lambda function {logical_id} ({name}): {}", what.join(", "))
        }
        Hotswap::StateMachine { logical_id, arn, .. } => {
            format!("state machine {logical_id} ({arn}): definition")
        }
        Hotswap::TaskImage {
            logical_id, services, ..
        } => format!(
            "task definition {logical_id}: container images, new revision for {}",
            services
                .iter()
                .map(|s| s.2.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The evaluator of the deployed stack: its resources' physical IDs
/// (`DescribeStackResources`), parameters, outputs and environment.
async fn evaluator<C: crate::client::Cloud>(
    env: &Env<C>,
    stack: &Stack,
    current: &StackState,
    deployed: &Json,
) -> Result<Evaluator> {
    let who = stack.display_name.as_str();
    let (physical, account) = tokio::try_join!(
        async {
            env.cloud
                .stack_resources(&current.id)
                .await
                .map_err(|e| e.at(who, "DescribeStackResources"))
        },
        env.account(who),
    )?;
    let types = deployed
        .get("Resources")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                v.get("Type")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let mut parameters = current.parameters.clone();
    for (k, p) in stack
        .template
        .get("Parameters")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
    {
        if let (false, Some(d)) = (parameters.contains_key(k), p.get("Default")) {
            parameters.insert(k.clone(), d.as_str().map_or_else(|| d.to_string(), String::from));
        }
    }
    let outputs = deployed
        .get("Outputs")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, o)| Some((o.get("Value")?.clone(), current.outputs.get(k)?.clone())))
        .collect();
    Ok(Evaluator {
        types,
        physical: physical.into_iter().collect(),
        parameters,
        outputs,
        account,
        region: env.region().to_string(),
        stack_name: stack.stack_name.clone(),
        stack_id: current.id.clone(),
    })
}

/// The hotswap phase of one stack (its assets published): hotswaps what can be and says
/// which path was taken. `env` reads the stack (through the deploy role, when the manifest
/// names one); the services are called with the configured credentials of `base`, as the
/// CDK CLI calls them (the bootstrap deploy role may not update functions). `current` is
/// the deployed stack (`None` when it does not exist), `deployed` its template, `settled`
/// whether its parameters, tags and status allow a hotswap (nothing but the template
/// differs).
#[allow(clippy::too_many_arguments)] // the phase's inputs, as deploy_stack has them
pub(crate) async fn run<P: Clouds>(
    ctx: &Ctx<P>,
    base: &Env<P::Cloud>,
    env: &Env<P::Cloud>,
    stack: &Stack,
    current: Option<&StackState>,
    deployed: &Json,
    settled: bool,
    mode: HotswapMode,
    diff: TemplateDiff,
) -> Result<Outcome> {
    let who = stack.display_name.as_str();
    let style = ctx.report.style;
    let Some(current) = current.filter(|_| !crate::deploy::change_set::creating(current)) else {
        ctx.report.progress(&format!(
            "{who}: not deployed yet, and a hotswap needs a deployed stack: full deployment"
        ));
        return Ok(Outcome::FullDeployment);
    };
    let mut found = classify::candidates(deployed, &stack.template);
    if !settled {
        found.rejected.push(Rejected {
            logical_id: String::new(),
            resource_type: String::new(),
            properties: vec![],
            reason: format!(
                "its parameters or tags change, or its status ({}) is not a completed one: only CloudFormation applies that",
                current.status
            ),
        });
    }
    let fall_back = |rejected: &[Rejected]| {
        ctx.report.progress(&style.yellow(&format!(
            "{who}: not hotswappable:\n{}\n{who}: falling back to a full deployment (--hotswap-fallback)",
            describe_rejected(rejected)
        )));
        Ok(Outcome::FullDeployment)
    };
    if mode == HotswapMode::FallBack && !found.rejected.is_empty() {
        return fall_back(&found.rejected);
    }
    let mut classified: Classified<Hotswap> = Classified {
        hotswaps: vec![],
        rejected: found.rejected,
    };
    if !found.hotswaps.is_empty() {
        let eval = evaluator(env, stack, current, deployed).await?;
        let resolved = classify::resolve(found.hotswaps, &stack.template, &eval);
        classified.hotswaps = resolved.hotswaps;
        classified.rejected.extend(resolved.rejected);
    }
    if mode == HotswapMode::FallBack && !classified.rejected.is_empty() {
        return fall_back(&classified.rejected);
    }
    if !classified.rejected.is_empty() {
        ctx.report.progress(&style.yellow(&format!(
            "{who}: not hotswappable, left as deployed (deploy without --hotswap, or with --hotswap-fallback, to apply):\n{}",
            describe_rejected(&classified.rejected)
        )));
    }
    let result = if classified.hotswaps.is_empty() {
        ctx.report.progress(&format!(
            "{who}: hotswap deployment: nothing hotswappable changed; the stack is left as it is"
        ));
        "hotswap-nothing"
    } else {
        ctx.report
            .progress(&style.bold(&format!("{who}: hotswap deployment (no change set)")));
        for h in &classified.hotswaps {
            ctx.report
                .progress(&format!("{who}: hotswapping {}", describe(h)));
            let progress = |line: &str| ctx.report.progress(&format!("{who}: {line}"));
            apply::apply(&base.cloud, who, h, &progress).await?;
            ctx.report
                .progress(&style.green(&format!("{who}: ✨ hotswapped {}", h.logical_id())));
        }
        ctx.report.progress(&style.yellow(&format!(
            "{who}: the stack has drifted from its template: the hotswapped resources differ from what CloudFormation deployed until the next full deployment"
        )));
        ctx.report.progress(&style.green(&format!(
            "✅ {who} (hotswapped {} resource(s))",
            classified.hotswaps.len()
        )));
        "hotswapped"
    };
    if !current.outputs.is_empty() {
        let mut text = String::from("Outputs:\n");
        for (k, v) in &current.outputs {
            text.push_str(&format!("{}.{k} = {v}\n", stack.stack_name));
        }
        ctx.report.result(&text);
    }
    Ok(Outcome::Done(Box::new(Deployment {
        stack: who.into(),
        stack_name: stack.stack_name.clone(),
        stack_id: current.id.clone(),
        result,
        status: current.status.clone(),
        outputs: current.outputs.clone(),
        diff,
    })))
}
