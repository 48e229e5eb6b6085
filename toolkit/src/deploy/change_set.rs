//! Phase 3, the change: what to send (parameters, tags), whether anything changed at all
//! (decided locally when the template, the parameter values and the tags are those deployed,
//! as the CDK CLI skips such a deployment), and the change set: created, waited for,
//! described, and deleted again when it changes nothing or fails.

use serde_json::Value as Json;

use crate::assembly::Stack;
use crate::client::{
    ChangeSetId, ChangeSetKind, ChangeSetStatus, CloudFormation, Clouds, Parameter, ResourceChange,
    StackRequest, StackState, Template,
};
use crate::context::Ctx;
use crate::deploy::DeployOptions;
use crate::diff::{Replacement, TemplateDiff};
use crate::error::{Error, Result};
use crate::wait::{deployed_template, Backoff};

/// Whether the deployment creates the stack (it does not exist, or only holds a change set
/// under review).
pub(crate) fn creating(current: Option<&StackState>) -> bool {
    current.is_none_or(|d| d.status == "REVIEW_IN_PROGRESS")
}

/// The deployed template (`Null` when the stack is being created).
pub(crate) async fn deployed<C: CloudFormation>(
    cloud: &C,
    stack: &Stack,
    current: Option<&StackState>,
) -> Result<Json> {
    match current {
        Some(d) if !creating(current) => deployed_template(cloud, &d.id, &stack.display_name).await,
        _ => Ok(Json::Null),
    }
}

/// The parameters and tags a create or update sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inputs {
    /// Given values, else the previous value of the parameters the stack already has.
    pub parameters: Vec<Parameter>,
    /// The manifest's tags with `--tags` over them.
    pub tags: Vec<(String, String)>,
}

/// The parameters and tags for `stack`.
pub(crate) fn inputs(stack: &Stack, opts: &DeployOptions, current: Option<&StackState>) -> Inputs {
    let existing = current.filter(|_| !creating(current));
    let parameters = stack
        .template
        .get("Parameters")
        .and_then(Json::as_object)
        .into_iter()
        .flat_map(|p| p.keys())
        .filter_map(|key| {
            let given = opts.parameters.iter().rev().find(|(s, k, _)| {
                k == key
                    && s.as_ref().is_none_or(|s| {
                        s == &stack.display_name || s == &stack.stack_name || s == &stack.artifact_id
                    })
            });
            match given {
                Some((_, k, v)) => Some(Parameter {
                    key: k.clone(),
                    value: Some(v.clone()),
                }),
                None if existing.is_some_and(|d| d.parameters.contains_key(key)) => Some(Parameter {
                    key: key.clone(),
                    value: None,
                }),
                None => None,
            }
        })
        .collect();
    let mut tags: Vec<(String, String)> = stack.tags.clone();
    for (k, v) in &opts.tags {
        tags.retain(|(x, _)| x != k);
        tags.push((k.clone(), v.clone()));
    }
    Inputs { parameters, tags }
}

/// Whether there is nothing to deploy: a stack in a stable state with the same template,
/// parameter values and tags. No call.
pub(crate) fn unchanged(
    current: Option<&StackState>,
    deployed: &Json,
    stack: &Stack,
    inputs: &Inputs,
) -> bool {
    let Some(d) = current
        .filter(|d| !creating(current) && d.status.ends_with("_COMPLETE") && !d.status.contains("ROLLBACK"))
    else {
        return false;
    };
    let same_parameters = inputs.parameters.iter().all(|p| match &p.value {
        None => true,
        Some(v) => d.parameters.get(&p.key) == Some(v),
    });
    let mut want: Vec<&(String, String)> = inputs.tags.iter().collect();
    let mut have: Vec<&(String, String)> = d.tags.iter().collect();
    want.sort();
    have.sort();
    *deployed == stack.template && same_parameters && want == have
}

/// The request of a create, an update or a change set of `stack` (`target`: its name, or
/// its id for an update; `role_arn`: the execution role CloudFormation deploys with).
pub(crate) fn request(
    stack: &Stack,
    target: &str,
    template: Template,
    inputs: &Inputs,
    opts: &DeployOptions,
    role_arn: Option<String>,
) -> StackRequest {
    StackRequest {
        stack: target.to_string(),
        template,
        parameters: inputs.parameters.clone(),
        tags: inputs.tags.clone(),
        notification_arns: opts.notification_arns.clone(),
        disable_rollback: opts.no_rollback,
        termination_protection: stack.termination_protection,
        role_arn,
        resources_to_import: Vec::new(),
    }
}

/// A computed change set, ready to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadyChangeSet {
    /// Its name.
    pub name: String,
    /// Its handle.
    pub id: ChangeSetId,
    /// The resource changes.
    pub changes: Vec<ResourceChange>,
}

/// What creating the change set came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Prepared {
    /// CloudFormation found nothing to change (the change set, if any, was deleted).
    NoChanges {
        /// The stack's id.
        stack_id: String,
    },
    /// A change set to show, approve and execute.
    Ready(ReadyChangeSet),
}

/// The name of this run's change sets.
pub(crate) fn change_set_name() -> String {
    format!("cairn-deploy-{}", std::process::id())
}

/// Creates the change set and waits until it is computed. A change set that changes nothing
/// is deleted and reported as [`Prepared::NoChanges`]; one that fails is deleted and its
/// reason returned as an error.
pub(crate) async fn create<C: CloudFormation>(
    cloud: &C,
    stack: &Stack,
    request: &StackRequest,
    current: Option<&StackState>,
) -> Result<Prepared> {
    let kind = if creating(current) {
        ChangeSetKind::Create
    } else {
        ChangeSetKind::Update
    };
    create_of_kind(cloud, stack, request, current, kind).await
}

/// [`create`] with the kind given (`IMPORT` for `cairn import`).
pub(crate) async fn create_of_kind<C: CloudFormation>(
    cloud: &C,
    stack: &Stack,
    request: &StackRequest,
    current: Option<&StackState>,
    kind: ChangeSetKind,
) -> Result<Prepared> {
    let who = stack.display_name.as_str();
    let name = change_set_name();
    let id = match cloud.create_change_set(request, &name, kind).await {
        Ok(id) => id,
        // Some endpoints refuse an unchanged update at once instead of failing the change set.
        Err(e) if e.is_no_changes() => {
            return Ok(Prepared::NoChanges {
                stack_id: current.map_or_else(|| stack.stack_name.clone(), |d| d.id.clone()),
            })
        }
        Err(e) => return Err(e.at(who, "CreateChangeSet")),
    };
    let mut backoff = Backoff::new();
    let cs = loop {
        let cs = cloud
            .describe_change_set(&id)
            .await
            .map_err(|e| e.at(who, "DescribeChangeSet"))?;
        if cs.status != ChangeSetStatus::Pending {
            break cs;
        }
        tokio::time::sleep(backoff.next_delay()).await;
    };
    match cs.status {
        ChangeSetStatus::Failed(reason) => {
            let _ = cloud.delete_change_set(&id).await;
            if crate::client::is_no_changes(&reason) {
                return Ok(Prepared::NoChanges {
                    stack_id: id.stack_id,
                });
            }
            Err(Error::InvalidTemplate {
                stack: who.into(),
                message: format!("the change set failed: {reason}"),
            })
        }
        _ => Ok(Prepared::Ready(ReadyChangeSet {
            name,
            id,
            changes: cs.changes,
        })),
    }
}

/// Raises the diff's replacements to what the change set says (CloudFormation knows more,
/// e.g. about values resolved at deploy time), and shows the diff and the change set.
pub(crate) fn show<P: Clouds>(ctx: &Ctx<P>, who: &str, cs: &ReadyChangeSet, diff: &mut TemplateDiff) {
    let mut lines = Vec::new();
    for c in &cs.changes {
        diff.raise_replacement(&c.logical_id, c.replacement);
        lines.push(format!(
            "  {} {} {}{}",
            c.action,
            c.resource_type,
            c.logical_id,
            match c.replacement {
                Replacement::Always => " (replacement)",
                Replacement::Conditional => " (may be replaced)",
                Replacement::Never => "",
            }
        ));
    }
    ctx.report.progress(diff.render(ctx.report.style).trim_end());
    if !lines.is_empty() {
        ctx.report
            .progress(&format!("{who}: change set {}:\n{}", cs.name, lines.join("\n")));
    }
}

/// Deletes a change set that will not be executed (best effort: it changes nothing).
pub(crate) async fn discard<C: CloudFormation>(cloud: &C, cs: &ReadyChangeSet) {
    let _ = cloud.delete_change_set(&cs.id).await;
}
