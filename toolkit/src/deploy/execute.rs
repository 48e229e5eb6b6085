//! Phase 5, the execution: the change set executed (or, with `--method direct`, the stack
//! created or updated without one), then followed to a final status with its events streamed;
//! a failure (rolled back, or left in place with `--no-rollback`) lists the failing resources
//! and says what the next deploy does.

use crate::assembly::Stack;
use crate::client::{CloudFormation, Clouds, StackRequest, StackState};
use crate::context::{Ctx, Env};
use crate::deploy::change_set::{creating, ReadyChangeSet};
use crate::deploy::DeployOptions;
use crate::error::{Error, Result};
use crate::events::{is_deploy_success, EventRenderer};
use crate::wait::{failure_reasons, follow, skip_old_events};

/// A deployment that reached a successful final status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Executed {
    /// The stack's id.
    pub stack_id: String,
    /// `CREATE_COMPLETE` / `UPDATE_COMPLETE`.
    pub status: String,
}

/// Executes the change set and follows the stack to a final status. `total` is the number
/// of resources the operation touches (for the progress count).
pub(crate) async fn execute_change_set<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    stack: &Stack,
    cs: &ReadyChangeSet,
    opts: &DeployOptions,
    total: usize,
) -> Result<Executed> {
    let who = stack.display_name.as_str();
    let mut renderer = EventRenderer::new(who, total, ctx.report.style);
    skip_old_events(&env.cloud, &cs.id.stack_id, &mut renderer).await;
    env.cloud
        .execute_change_set(&cs.id, opts.no_rollback)
        .await
        .map_err(|e| e.at(who, "ExecuteChangeSet"))?;
    finish(ctx, env, stack, cs.id.stack_id.clone(), renderer, opts).await
}

/// Creates or updates the stack without a change set (`--method direct`) and follows it to
/// a final status; `None` when the update changes nothing. `request` names the stack (its
/// id for an update).
pub(crate) async fn direct<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    stack: &Stack,
    request: &StackRequest,
    current: Option<&StackState>,
    opts: &DeployOptions,
    total: usize,
) -> Result<Option<Executed>> {
    let who = stack.display_name.as_str();
    let mut renderer = EventRenderer::new(who, total, ctx.report.style);
    if let Some(d) = current {
        skip_old_events(&env.cloud, &d.id, &mut renderer).await;
    }
    let stack_id = if creating(current) {
        env.cloud
            .create_stack(request)
            .await
            .map_err(|e| e.at(who, "CreateStack"))?
    } else {
        match env.cloud.update_stack(request).await {
            Ok(()) => request.stack.clone(),
            Err(e) if e.is_no_changes() => return Ok(None),
            Err(e) => return Err(e.at(who, "UpdateStack")),
        }
    };
    finish(ctx, env, stack, stack_id, renderer, opts).await.map(Some)
}

async fn finish<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    stack: &Stack,
    stack_id: String,
    mut renderer: EventRenderer,
    opts: &DeployOptions,
) -> Result<Executed> {
    let who = stack.display_name.as_str();
    let end = follow(ctx, env, &stack_id, who, &mut renderer, "deployment").await?;
    if !is_deploy_success(&end.status) {
        let hint = if opts.no_rollback && end.status.ends_with("_FAILED") {
            "\n  (rollback is disabled: fix the cause and deploy again to retry from the point of failure)"
        } else if end.status == "ROLLBACK_COMPLETE" {
            "\n  (the next deploy deletes the stack and creates it again)"
        } else {
            ""
        };
        return Err(Error::OperationFailed {
            stack: who.into(),
            operation: "deploy",
            reasons: failure_reasons(&renderer, end.reason.as_deref()) + hint,
            status: end.status,
        });
    }
    Ok(Executed {
        stack_id,
        status: end.status,
    })
}

/// Turns termination protection on or off when the manifest and the stack disagree.
pub(crate) async fn update_termination_protection<C: CloudFormation>(
    cloud: &C,
    stack: &Stack,
    current: Option<&StackState>,
) -> Result<()> {
    let Some(d) = current else { return Ok(()) };
    if d.termination_protection == stack.termination_protection {
        return Ok(());
    }
    cloud
        .update_termination_protection(&d.id, stack.termination_protection)
        .await
        .map_err(|e| e.at(&stack.display_name, "UpdateTerminationProtection"))
}
