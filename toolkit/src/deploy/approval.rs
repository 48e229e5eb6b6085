//! Phase 4, the approval: a change that destroys data is refused unless `--force`; a change
//! that needs approval (`--require-approval`) is put to the person at the terminal, or
//! refused with the flag to pass when there is nobody to ask.

use crate::assembly::Stack;
use crate::client::Clouds;
use crate::context::Ctx;
use crate::deploy::DeployOptions;
use crate::diff::{ChangeKind, TemplateDiff};
use crate::error::{Error, Result};
use crate::RequireApproval;

/// The data-holding resources the change deletes or replaces without a policy that keeps
/// them: `Bucket (AWS::S3::Bucket, replaced), ...`; `None` when there are none.
pub(crate) fn data_loss(diff: &TemplateDiff) -> Option<String> {
    let lost = diff.data_loss();
    if lost.is_empty() {
        return None;
    }
    Some(
        lost.iter()
            .map(|r| {
                format!(
                    "{} ({}, {})",
                    r.logical_id,
                    r.resource_type,
                    if r.kind == ChangeKind::Removed {
                        "deleted"
                    } else {
                        "replaced"
                    }
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// Why the change needs approval under `mode`, if it does (`any_change`: the change set
/// lists changes).
pub(crate) fn approval_needed(
    diff: &TemplateDiff,
    mode: RequireApproval,
    any_change: bool,
) -> Option<&'static str> {
    match mode {
        RequireApproval::Never => None,
        RequireApproval::AnyChange if any_change || !diff.is_empty() => Some("--require-approval any-change"),
        RequireApproval::AnyChange => None,
        RequireApproval::Broadening if diff.broadens_security() => {
            Some("it widens IAM permissions or security group rules")
        }
        RequireApproval::Broadening => None,
    }
}

/// Refuses data loss (unless `--force`) and asks for approval when the mode wants it.
/// `change_set` names what is dropped on refusal.
pub(crate) async fn gate<P: Clouds>(
    ctx: &Ctx<P>,
    stack: &Stack,
    diff: &TemplateDiff,
    opts: &DeployOptions,
    any_change: bool,
    change_set: &str,
) -> Result<()> {
    let who = &stack.display_name;
    if let Some(list) = data_loss(diff) {
        if !opts.force {
            return Err(Error::DataLoss {
                stack: who.clone(),
                resources: list,
            });
        }
        ctx.report.progress(
            &ctx.report
                .style
                .red_bold(&format!("{who}: --force: destroying data in {list}")),
        );
    }
    let Some(why) = approval_needed(diff, opts.require_approval, any_change) else {
        return Ok(());
    };
    if !ctx.report.can_ask() {
        return Err(Error::ApprovalNeeded {
            stack: who.clone(),
            why: why.into(),
        });
    }
    if ctx
        .report
        .ask(&format!("{who}: {why}. Do you wish to deploy these changes?"))
        .await
    {
        Ok(())
    } else {
        Err(Error::NotApproved {
            stack: who.clone(),
            change_set: change_set.into(),
        })
    }
}
