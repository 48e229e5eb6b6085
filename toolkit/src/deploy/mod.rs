//! `deploy`, in phases. Each phase is a module of functions over plain data and the client
//! traits of [`crate::client`], so each is tested against the in-memory fake, without a
//! server:
//!
//! 1. [`plan`]: which stacks, in which order, with which options and file assets (no call);
//!    per stack, getting it into a state a deployment can start from.
//! 2. [`assets`]: file assets published to the staging bucket; large templates staged.
//! 3. [`crate::hotswap`], with `--hotswap` or `--hotswap-fallback`: the changes applied
//!    through the services' APIs when they can be, else (or for a new stack) on to a full
//!    deployment.
//! 4. [`change_set`]: nothing to do (decided locally, or by CloudFormation), else the change
//!    set created, waited for and described.
//! 5. [`approval`]: the data-loss refusal and the approval question.
//! 6. [`execute`]: the execution followed to a final status, with its events.
//! 7. [`report`]: outputs and status per stack, the summary of the run.
//!
//! [`deploy_stack`] strings the phases together for one stack; [`deploy`] runs it over the
//! plan, dependencies first, independent stacks at once up to `--concurrency`. Independent
//! calls run at once (the bootstrap check and the stack's state; the assets and the deployed
//! template), and an unchanged stack costs no validation and no change set.

pub(crate) mod approval;
pub(crate) mod assets;
pub(crate) mod change_set;
pub(crate) mod execute;
pub(crate) mod plan;
pub(crate) mod report;
#[cfg(test)]
pub(crate) mod tests;

use std::path::Path;
use std::sync::Arc;

use crate::assembly::Stack;
use crate::client::{CloudFormation, Clouds};
use crate::context::Ctx;
use crate::diff::{diff_templates, ChangeKind};
use crate::error::{Error, Result};
use crate::facts::SchemaFacts;
use crate::hotswap::{self, HotswapMode, Outcome};
use crate::{DeployMethod, RequireApproval};

use self::assets::FileAsset;
use self::change_set::Prepared;
use self::plan::{DeployPlan, PlannedStack};
use self::report::Deployment;

/// Options of one stack deployment (shared by `deploy` and `bootstrap`).
#[derive(Debug, Clone)]
pub(crate) struct DeployOptions {
    /// When to ask.
    pub require_approval: RequireApproval,
    /// `(stack, key, value)` from `--parameters`.
    pub parameters: Vec<(Option<String>, String, String)>,
    /// `--tags`.
    pub tags: Vec<(String, String)>,
    /// `--notification-arns`.
    pub notification_arns: Vec<String>,
    /// `--no-rollback`.
    pub no_rollback: bool,
    /// `--force`: accept data loss.
    pub force: bool,
    /// Change set or direct.
    pub method: DeployMethod,
    /// Check the bootstrap stack (and publish assets to its bucket).
    pub check_bootstrap: bool,
    /// Whether to hotswap (`--hotswap`, `--hotswap-fallback`).
    pub hotswap: HotswapMode,
}

/// Deploys the plan: dependencies first, independent stacks at once up to the plan's
/// concurrency; then the summary. Returns the deployments (an error names the failures).
pub(crate) async fn deploy<P: Clouds>(
    ctx: &Arc<Ctx<P>>,
    plan: DeployPlan,
    outputs_file: Option<&Path>,
) -> Result<Vec<Deployment>> {
    if plan.options.hotswap != HotswapMode::Full {
        ctx.report
            .progress(&ctx.report.style.yellow(crate::hotswap::DRIFT_WARNING));
    }
    let options = Arc::new(plan.options);
    let results = plan::run_ordered(plan.stacks, plan.concurrency, {
        let ctx = ctx.clone();
        move |planned: PlannedStack| {
            let ctx = ctx.clone();
            let options = options.clone();
            async move { deploy_stack(&ctx, &planned.stack, &planned.assets, &options).await }
        }
    })
    .await;
    report::summarize(ctx, results, outputs_file)
}

/// Deploys one stack, phase after phase. The CloudFormation calls go through the deploy
/// role the manifest names (`assumeRoleArn`), CloudFormation deploys with its execution role
/// (`cloudFormationExecutionRoleArn`), and file assets are published through their
/// destinations' roles (the file-publishing role), as the CDK CLI does.
pub(crate) async fn deploy_stack<P: Clouds>(
    ctx: &Ctx<P>,
    stack: &Stack,
    assets: &[FileAsset],
    opts: &DeployOptions,
) -> Result<Deployment> {
    let who = stack.display_name.as_str();
    let base = ctx.env(stack.region.as_deref(), who).await?;
    ctx.report.progress(&ctx.report.style.bold(&format!(
        "{who}: deploying ({}, {})",
        stack.stack_name,
        base.region()
    )));
    let env = ctx
        .env_as(&base, stack, stack.synthesizer.assume_role_arn.as_deref())
        .await?;
    let execution_role = match &stack.synthesizer.execution_role_arn {
        Some(r) => Some(base.resolve(stack, r).await?),
        None => None,
    };

    // Plan: the bootstrap check and the stack's state, at once.
    let ((), current) = tokio::try_join!(
        async {
            match opts.check_bootstrap {
                true => env.check_bootstrap(stack).await,
                false => Ok(()),
            }
        },
        plan::settle(ctx, &env, stack, execution_role.as_deref()),
    )?;
    let current = current.as_ref();

    // Assets and the deployed template, at once; nothing more when nothing changed.
    let (_, deployed) = tokio::try_join!(
        assets::publish(ctx, &base, stack, assets, opts.check_bootstrap),
        change_set::deployed(&env.cloud, stack, current),
    )?;
    let inputs = change_set::inputs(stack, opts, current);
    let mut diff = diff_templates(&deployed, &stack.template, &SchemaFacts);
    if change_set::unchanged(current, &deployed, stack, &inputs) {
        let id = current.map_or_else(|| stack.stack_name.clone(), |d| d.id.clone());
        return report::no_changes(ctx, &env, stack, current, id, diff).await;
    }
    if opts.hotswap != HotswapMode::Full {
        let settled = change_set::unchanged(current, &stack.template, stack, &inputs);
        match hotswap::run(
            ctx,
            &base,
            &env,
            stack,
            current,
            &deployed,
            settled,
            opts.hotswap,
            diff.clone(),
        )
        .await?
        {
            Outcome::Done(deployment) => return Ok(*deployment),
            Outcome::FullDeployment => {}
        }
    }

    let template = assets::stage_template(ctx, &base, stack, opts.check_bootstrap).await?;
    env.cloud
        .validate_template(&template)
        .await
        .map_err(|e| Error::InvalidTemplate {
            stack: who.into(),
            message: e.message(),
        })?;
    let total = stack.resource_count()
        + diff
            .resources
            .iter()
            .filter(|r| r.kind == ChangeKind::Removed)
            .count();

    let executed = match opts.method {
        DeployMethod::ChangeSet => {
            let request = change_set::request(
                stack,
                &stack.stack_name,
                template,
                &inputs,
                opts,
                execution_role.clone(),
            );
            let cs = match change_set::create(&env.cloud, stack, &request, current).await? {
                Prepared::NoChanges { stack_id } => {
                    return report::no_changes(ctx, &env, stack, current, stack_id, diff).await
                }
                Prepared::Ready(cs) => cs,
            };
            change_set::show(ctx, who, &cs, &mut diff);
            let any_change = !cs.changes.is_empty();
            if let Err(e) = approval::gate(ctx, stack, &diff, opts, any_change, &cs.name).await {
                change_set::discard(&env.cloud, &cs).await;
                return Err(e);
            }
            execute::execute_change_set(ctx, &env, stack, &cs, opts, total).await?
        }
        DeployMethod::Direct => {
            ctx.report.progress(diff.render(ctx.report.style).trim_end());
            approval::gate(ctx, stack, &diff, opts, !diff.is_empty(), "(direct)").await?;
            let target = current.map_or_else(|| stack.stack_name.clone(), |d| d.id.clone());
            let request =
                change_set::request(stack, &target, template, &inputs, opts, execution_role.clone());
            match execute::direct(ctx, &env, stack, &request, current, opts, total).await? {
                Some(executed) => executed,
                None => return report::no_changes(ctx, &env, stack, current, target, diff).await,
            }
        }
    };
    report::deployed(ctx, &env, stack, executed, diff).await
}
