//! `cairn rollback`, as `cdk rollback`: a stack that `deploy --no-rollback` left in
//! `CREATE_FAILED` or `UPDATE_FAILED` is rolled back to its last stable state
//! (`RollbackStack`, keeping the resources it had unless the failed operation created them:
//! `RetainExceptOnCreate`); a stack whose rollback failed (`UPDATE_ROLLBACK_FAILED`) has its
//! rollback continued (`ContinueUpdateRollback`), skipping the resources `--orphan` names, or,
//! with `--force`, every resource whose rollback fails, again until it completes (at most
//! [`MAX_ATTEMPTS`] times). The calls go through the deploy role, CloudFormation works with
//! the execution role, and the events stream as `deploy` streams them.

use clap::Args;
use serde_json::json;

use crate::assembly::{Assembly, Stack};
use crate::client::{CloudFormation, Clouds};
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::events::{chronological, EventRenderer};
use crate::ops::{named_or_all, stack_env};
use crate::wait::{describe, failure_reasons, follow, skip_old_events};
use crate::AwsOptions;

/// How many rollbacks `--force` starts before giving up (the CDK's limit).
pub(crate) const MAX_ATTEMPTS: usize = 10;

/// The bootstrap version whose deploy role may roll a stack back (the CDK's).
pub(crate) const ROLLBACK_BOOTSTRAP_VERSION: u32 = 23;

/// `rollback [STACK...|--all]`.
#[derive(Debug, Clone, Default, Args)]
pub struct RollbackArgs {
    /// Stacks (artifact id, stack name or path; `*` wildcards).
    pub stacks: Vec<String>,
    /// Roll back every stack of the app that needs it.
    #[arg(long)]
    pub all: bool,
    /// Orphan every resource whose rollback fails and continue, until the rollback
    /// completes (the resources stay, no longer managed by the stack).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// Orphan this resource (logical ID) when continuing a failed rollback (repeatable).
    #[arg(long = "orphan", value_name = "LOGICAL_ID")]
    pub orphan: Vec<String>,
    /// Do not check the environment's bootstrap version first.
    #[arg(long)]
    pub no_validate_bootstrap_version: bool,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// Chooses the stacks and checks the arguments (no call).
pub(crate) fn prepare(asm: &Assembly, args: &RollbackArgs) -> Result<Vec<Stack>> {
    if args.force && !args.orphan.is_empty() {
        return Err(Error::Usage(
            "--force orphans every resource whose rollback fails, --orphan the ones it names: pass one or the other"
                .into(),
        ));
    }
    Ok(named_or_all(asm, &args.stacks, args.all, "roll back")?
        .into_iter()
        .cloned()
        .collect())
}

/// What became of one stack.
enum Outcome {
    /// Rolled back, to this status.
    RolledBack(String),
    /// Nothing to do; why, and what to do instead.
    NotRollbackable(String),
}

/// Rolls back each stack in turn. Stacks that need no rollback are reported; when none
/// could be rolled back, or one failed, the command fails (with that stack's error when it
/// is the only one).
pub(crate) async fn run<P: Clouds>(ctx: &Ctx<P>, stacks: &[Stack], args: &RollbackArgs) -> Result<()> {
    let mut report = Vec::new();
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for s in stacks {
        let who = s.display_name.as_str();
        match rollback_stack(ctx, s, args).await {
            Ok(Outcome::RolledBack(status)) => {
                report.push(json!({"stack": who, "stackName": s.stack_name, "result": "rolled-back", "status": status}));
            }
            Ok(Outcome::NotRollbackable(why)) => {
                if stacks.len() > 1 {
                    ctx.report
                        .progress(&ctx.report.style.yellow(&format!("{who}: {why}")));
                }
                skipped.push(format!("{who} ({why})"));
                report.push(json!({"stack": who, "stackName": s.stack_name, "result": "not-rollbackable", "reason": why}));
            }
            Err(e) if stacks.len() == 1 => {
                if ctx.report.json {
                    ctx.report.document(&json!({"stacks": [
                        {"stack": who, "stackName": s.stack_name, "result": "failed", "error": e.to_string()}]}));
                }
                return Err(e);
            }
            Err(e) => {
                ctx.report.progress(&ctx.report.style.red(&format!("❌ {e}")));
                failed.push(who.to_string());
                report.push(json!({"stack": who, "stackName": s.stack_name, "result": "failed", "error": e.to_string()}));
                if matches!(e, Error::Interrupted { .. }) {
                    break;
                }
            }
        }
    }
    if ctx.report.json {
        ctx.report.document(&json!({"stacks": report}));
    }
    crate::deploy::report::finish(failed, stacks.len())?;
    if report.iter().all(|r| r["result"] != "rolled-back") {
        return Err(Error::NothingToRollBack(skipped.join("; ")));
    }
    Ok(())
}

async fn rollback_stack<P: Clouds>(ctx: &Ctx<P>, stack: &Stack, args: &RollbackArgs) -> Result<Outcome> {
    let who = stack.display_name.as_str();
    let se = stack_env(ctx, stack).await?;
    let (env, role) = (&se.env, se.execution_role.as_deref());
    if !args.no_validate_bootstrap_version {
        let required = stack
            .synthesizer
            .required_version()
            .max(ROLLBACK_BOOTSTRAP_VERSION);
        env.check_bootstrap_version(stack, required).await?;
    }
    let mut skip = args.orphan.clone();
    for _ in 0..MAX_ATTEMPTS {
        let Some(d) = describe(&env.cloud, &stack.stack_name, who).await? else {
            return Ok(Outcome::NotRollbackable(format!(
                "the stack {} is not deployed; there is nothing to roll back",
                stack.stack_name
            )));
        };
        let mut renderer = EventRenderer::new(who, stack.resource_count(), ctx.report.style);
        skip_old_events(&env.cloud, &d.id, &mut renderer).await;
        match d.status.as_str() {
            "CREATE_FAILED" | "UPDATE_FAILED" => {
                ctx.report.progress(&ctx.report.style.bold(&format!(
                    "{who}: rolling back ({}, {})",
                    stack.stack_name, d.status
                )));
                env.cloud
                    .rollback_stack(&d.id, role)
                    .await
                    .map_err(|e| e.at(who, "RollbackStack"))?;
            }
            "UPDATE_ROLLBACK_FAILED" => {
                if args.force {
                    skip = failed_in_last_rollback(&env.cloud, &d.id).await;
                }
                let orphaning = match skip.as_slice() {
                    [] => String::new(),
                    s => format!(" (orphaning: {})", s.join(", ")),
                };
                ctx.report.progress(&ctx.report.style.bold(&format!(
                    "{who}: continuing the rollback of {}{orphaning}",
                    stack.stack_name
                )));
                env.cloud
                    .continue_update_rollback(&d.id, role, &skip)
                    .await
                    .map_err(|e| e.at(who, "ContinueUpdateRollback"))?;
            }
            "ROLLBACK_FAILED" => {
                return Ok(Outcome::NotRollbackable(
                    "the stack is in ROLLBACK_FAILED (its creation failed, and so did the rollback): it cannot be rolled back; delete it (`cairn destroy`) and deploy again".into(),
                ))
            }
            s if s.ends_with("_IN_PROGRESS") => {
                return Ok(Outcome::NotRollbackable(format!(
                    "an operation is in progress ({s}); wait for it to finish and run `cairn rollback` again if the stack is left failed"
                )))
            }
            s => {
                return Ok(Outcome::NotRollbackable(format!(
                    "the stack does not need a rollback: it is in {s} (a rollback is for a stack left CREATE_FAILED or UPDATE_FAILED by `cairn deploy --no-rollback`, or in UPDATE_ROLLBACK_FAILED)"
                )))
            }
        }
        let end = follow(ctx, env, &d.id, who, &mut renderer, "rollback").await?;
        if matches!(
            end.status.as_str(),
            "ROLLBACK_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE"
        ) {
            let next = if end.status == "ROLLBACK_COMPLETE" {
                " (its creation was undone: the next deploy deletes the stack and creates it again)"
            } else {
                ""
            };
            ctx.report.progress(
                &ctx.report
                    .style
                    .green(&format!("✅ {who}: rolled back ({}){next}", end.status)),
            );
            return Ok(Outcome::RolledBack(end.status));
        }
        if end.status == "UPDATE_ROLLBACK_FAILED" && args.force {
            continue;
        }
        return Err(Error::OperationFailed {
            stack: who.into(),
            operation: "rollback",
            reasons: failure_reasons(&renderer, end.reason.as_deref())
                + "\n  (fix the cause and run `cairn rollback` again, or orphan the failing resources with --orphan LOGICAL_ID or --force)",
            status: end.status,
        });
    }
    Err(Error::StackState {
        stack: who.into(),
        message: format!(
            "the rollback did not complete after {MAX_ATTEMPTS} attempts; it does not seem to make progress: look at the stack's events, fix the cause and run `cairn rollback` again"
        ),
    })
}

/// The resources whose rollback failed in the stack's last rollback (the failure events
/// since the last `*ROLLBACK_IN_PROGRESS` of the stack), in order, each once.
async fn failed_in_last_rollback<C: CloudFormation>(cloud: &C, stack_id: &str) -> Vec<String> {
    let events = cloud.stack_events(stack_id).await.unwrap_or_default();
    let last_start = events
        .iter()
        .position(|e| e.is_stack() && e.status.ends_with("ROLLBACK_IN_PROGRESS"))
        .unwrap_or(events.len());
    let mut failed: Vec<String> = Vec::new();
    for e in chronological(events[..last_start].to_vec()) {
        if !e.is_stack() && e.is_failure() && !failed.contains(&e.logical_id) {
            failed.push(e.logical_id);
        }
    }
    failed
}

/// The result of `stack` in the `--json` document.
#[cfg(test)]
pub(crate) fn result_of(doc: &serde_json::Value, stack: &str) -> Option<String> {
    doc["stacks"]
        .as_array()?
        .iter()
        .find(|s| s["stack"] == stack)
        .and_then(|s| s["result"].as_str())
        .map(String::from)
}
