//! Phase 1, the plan: which stacks, in which order, with which options and file assets,
//! read from the assembly and the command line before any call ([`plan`]); the runner that
//! starts each stack once its dependencies are deployed, a bounded number at once
//! ([`run_ordered`]); and, per stack, getting it into a state a deployment can start from
//! ([`settle`]).

use std::collections::HashSet;
use std::future::Future;

use crate::assembly::{dependency_order, Assembly, Stack};
use crate::client::{CloudFormation, Clouds, StackState};
use crate::context::{Ctx, Env};
use crate::deploy::assets::{file_assets, FileAsset};
use crate::deploy::DeployOptions;
use crate::error::{Error, Result};
use crate::events::{plan_for_status, EventRenderer, StackPlan};
use crate::hotswap::HotswapMode;
use crate::wait::{describe, failure_reasons, follow, skip_old_events};
use crate::{DeployArgs, DeployMethod};

/// One stack to deploy and its file assets.
#[derive(Debug, Clone)]
pub(crate) struct PlannedStack {
    /// The stack.
    pub stack: Stack,
    /// Its file assets (manifests read, files found).
    pub assets: Vec<FileAsset>,
}

/// What `deploy` does, decided before any call.
#[derive(Debug, Clone)]
pub(crate) struct DeployPlan {
    /// The stacks, dependencies first.
    pub stacks: Vec<PlannedStack>,
    /// The options of every stack.
    pub options: DeployOptions,
    /// How many independent stacks deploy at once.
    pub concurrency: usize,
}

fn parse_key_values(values: &[String], what: &str) -> Result<Vec<(String, String)>> {
    values
        .iter()
        .map(|v| {
            v.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::Usage(format!("{what} `{v}` is not KEY=VALUE")))
        })
        .collect()
}

fn parse_parameters(values: &[String]) -> Result<Vec<(Option<String>, String, String)>> {
    values
        .iter()
        .map(|v| {
            let (stack, rest) = match v.split_once('=') {
                Some((head, _)) if head.contains(':') => {
                    let (s, r) = v.split_once(':').unwrap_or(("", v));
                    (Some(s.to_string()), r)
                }
                _ => (None, v.as_str()),
            };
            let (k, val) = rest
                .split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| Error::Usage(format!("--parameters `{v}` is not [STACK:]KEY=VALUE")))?;
            Ok((stack, k.to_string(), val.to_string()))
        })
        .collect()
}

/// The plan of `deploy` over the assembly: selection (with dependencies unless
/// `--exclusively`), dependency order, parsed options, file assets. No call.
pub(crate) fn plan(asm: &Assembly, args: &DeployArgs) -> Result<DeployPlan> {
    if args.stacks.is_empty() && !args.all && asm.stacks.len() > 1 {
        return Err(Error::Usage(format!(
            "the app has {} stacks ({}); name the stacks to deploy (wildcards work) or pass --all",
            asm.stacks.len(),
            asm.stacks
                .iter()
                .map(|s| s.display_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let patterns = if args.all { Vec::new() } else { args.stacks.clone() };
    let selected = asm.select(&patterns, !args.exclusively)?;
    let options = DeployOptions {
        require_approval: args.require_approval,
        parameters: parse_parameters(&args.parameters)?,
        tags: parse_key_values(&args.tags, "--tags")?,
        notification_arns: args.notification_arns.clone(),
        no_rollback: args.no_rollback,
        force: args.force,
        method: args.method,
        check_bootstrap: true,
        hotswap: match (args.hotswap, args.hotswap_fallback) {
            (_, true) => HotswapMode::FallBack,
            (true, false) => HotswapMode::Only,
            (false, false) => HotswapMode::Full,
        },
    };
    for (stack, _, _) in &options.parameters {
        if let Some(s) = stack {
            if !asm
                .stacks
                .iter()
                .any(|x| &x.display_name == s || &x.stack_name == s || &x.artifact_id == s)
            {
                return Err(Error::Usage(format!(
                    "--parameters names the stack `{s}`, which is not in the assembly"
                )));
            }
        }
    }
    let stacks = dependency_order(&selected)?
        .into_iter()
        .map(|s| {
            Ok(PlannedStack {
                assets: file_assets(s)?,
                stack: s.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DeployPlan {
        stacks,
        options,
        concurrency: usize::from(args.concurrency.max(1)),
    })
}

/// The plan of `bootstrap`'s deployment of the toolkit stack (no approval, no bootstrap
/// check, no assets).
pub(crate) fn bootstrap_options(parameters: Vec<(Option<String>, String, String)>) -> DeployOptions {
    DeployOptions {
        require_approval: crate::RequireApproval::Never,
        parameters,
        tags: vec![],
        notification_arns: vec![],
        no_rollback: false,
        force: false,
        method: DeployMethod::ChangeSet,
        check_bootstrap: false,
        hotswap: HotswapMode::Full,
    }
}

/// Runs `f` over `stacks` (already in dependency order), starting each once the stacks it
/// depends on succeeded, at most `concurrency` at once. A stack whose dependency failed is
/// skipped with an error. Results are in completion order, named by display name.
pub(crate) async fn run_ordered<F, Fut, T>(
    stacks: Vec<PlannedStack>,
    concurrency: usize,
    f: F,
) -> Vec<(String, Result<T>)>
where
    F: Fn(PlannedStack) -> Fut,
    Fut: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let ids: HashSet<String> = stacks.iter().map(|s| s.stack.artifact_id.clone()).collect();
    let mut pending = stacks;
    let mut ok: HashSet<String> = HashSet::new();
    let mut bad: HashSet<String> = HashSet::new();
    let mut running = tokio::task::JoinSet::new();
    let mut results = Vec::new();
    loop {
        let mut i = 0;
        while i < pending.len() {
            let deps: Vec<String> = pending[i]
                .stack
                .dependencies
                .iter()
                .filter(|d| ids.contains(*d))
                .cloned()
                .collect();
            if let Some(d) = deps.iter().find(|d| bad.contains(*d)) {
                let s = pending.remove(i).stack;
                bad.insert(s.artifact_id.clone());
                results.push((
                    s.display_name.clone(),
                    Err(Error::StackState {
                        stack: s.display_name.clone(),
                        message: format!("skipped: the stack it depends on ({d}) failed"),
                    }),
                ));
                continue;
            }
            if running.len() < concurrency && deps.iter().all(|d| ok.contains(d)) {
                let s = pending.remove(i);
                let (id, name) = (s.stack.artifact_id.clone(), s.stack.display_name.clone());
                let fut = f(s);
                running.spawn(async move { (id, name, fut.await) });
                continue;
            }
            i += 1;
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        match joined {
            Ok((id, name, r)) => {
                if r.is_ok() {
                    ok.insert(id);
                } else {
                    bad.insert(id);
                }
                results.push((name, r));
            }
            Err(e) => results.push((
                "?".into(),
                Err(Error::Usage(format!("a deployment task crashed: {e}"))),
            )),
        }
    }
    results
}

/// Gets the stack into a state a deployment can start from, and returns that state (`None`:
/// it does not exist): a `ROLLBACK_COMPLETE` stack is deleted (with the execution role
/// `role_arn`), an `UPDATE_ROLLBACK_FAILED` rollback continued, a busy stack waited for.
pub(crate) async fn settle<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    stack: &Stack,
    role_arn: Option<&str>,
) -> Result<Option<StackState>> {
    let who = stack.display_name.as_str();
    let name = stack.stack_name.as_str();
    let mut current = describe(&env.cloud, name, who).await?;
    loop {
        let Some(d) = &current else { return Ok(None) };
        match plan_for_status(Some(&d.status)) {
            StackPlan::Create | StackPlan::Update => return Ok(current),
            StackPlan::DeleteThenCreate => {
                ctx.report.progress(&format!(
                    "{who}: the stack is in ROLLBACK_COMPLETE (its creation failed and rolled back); deleting it before creating it again"
                ));
                crate::wait::delete_and_wait(ctx, env, &d.id, role_arn, who, 0).await?;
                return Ok(None);
            }
            StackPlan::ContinueRollbackThenUpdate => {
                ctx.report.progress(&format!(
                    "{who}: the stack is in UPDATE_ROLLBACK_FAILED; continuing the rollback before updating"
                ));
                let mut r = EventRenderer::new(who, 0, ctx.report.style);
                skip_old_events(&env.cloud, &d.id, &mut r).await;
                env.cloud
                    .continue_update_rollback(&d.id, role_arn, &[])
                    .await
                    .map_err(|e| e.at(who, "ContinueUpdateRollback"))?;
                let end = follow(ctx, env, &d.id, who, &mut r, "rollback").await?;
                if end.status != "UPDATE_ROLLBACK_COMPLETE" {
                    return Err(Error::OperationFailed {
                        stack: who.into(),
                        operation: "deploy (continuing the rollback)",
                        reasons: failure_reasons(&r, end.reason.as_deref()),
                        status: end.status,
                    });
                }
            }
            StackPlan::Busy(s) => {
                ctx.report.progress(&format!(
                    "{who}: the stack is busy ({s}); waiting for it to finish"
                ));
                let mut r = EventRenderer::new(who, 0, ctx.report.style);
                skip_old_events(&env.cloud, &d.id, &mut r).await;
                follow(ctx, env, &d.id, who, &mut r, "operation").await?;
            }
            StackPlan::Stuck(message) => {
                return Err(Error::StackState {
                    stack: who.into(),
                    message,
                })
            }
        }
        current = describe(&env.cloud, name, who).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_parse() {
        let p = parse_parameters(&["A=1".into(), "Stack:B=x=y".into()]).unwrap_or_default();
        assert_eq!(p[0], (None, "A".into(), "1".into()));
        assert_eq!(p[1], (Some("Stack".into()), "B".into(), "x=y".into()));
        assert!(parse_parameters(&["nokey".into()]).is_err());
        assert!(parse_key_values(&["=v".into()], "--tags").is_err());
    }
}
