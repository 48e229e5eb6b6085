//! Phase 6, the report: per stack, the outputs and the final status (and termination
//! protection brought in line with the manifest); for the run, the failures, the outputs
//! file and the `--json` document.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::assembly::Stack;
use crate::client::{Clouds, StackState};
use crate::context::{Ctx, Env};
use crate::deploy::execute::{update_termination_protection, Executed};
use crate::diff::TemplateDiff;
use crate::error::{Error, Result};
use crate::wait::describe;

/// The result of one stack deployment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Deployment {
    /// The display name.
    pub stack: String,
    /// The stack name.
    #[serde(rename = "stackName")]
    pub stack_name: String,
    /// The stack id.
    #[serde(rename = "stackId")]
    pub stack_id: String,
    /// `deployed`, `no-changes`.
    pub result: &'static str,
    /// The final status.
    pub status: String,
    /// The outputs.
    pub outputs: BTreeMap<String, String>,
    /// What changed.
    pub diff: TemplateDiff,
}

/// A stack with nothing to deploy: reported as such, its outputs those deployed.
pub(crate) async fn no_changes<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    stack: &Stack,
    current: Option<&StackState>,
    stack_id: String,
    diff: TemplateDiff,
) -> Result<Deployment> {
    let who = stack.display_name.as_str();
    ctx.report
        .progress(&format!("{who}: {}", ctx.report.style.green("no changes")));
    update_termination_protection(&env.cloud, stack, current).await?;
    Ok(Deployment {
        stack: who.into(),
        stack_name: stack.stack_name.clone(),
        stack_id,
        result: "no-changes",
        status: current.map(|c| c.status.clone()).unwrap_or_default(),
        outputs: current.map(|c| c.outputs.clone()).unwrap_or_default(),
        diff,
    })
}

/// A deployed stack: its outputs and status, printed and returned.
pub(crate) async fn deployed<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    stack: &Stack,
    executed: Executed,
    diff: TemplateDiff,
) -> Result<Deployment> {
    let who = stack.display_name.as_str();
    let after = describe(&env.cloud, &executed.stack_id, who).await?;
    update_termination_protection(&env.cloud, stack, after.as_ref()).await?;
    let outputs = after.map(|d| d.outputs).unwrap_or_default();
    ctx.report
        .progress(&ctx.report.style.green(&format!("✅ {who} ({})", executed.status)));
    if !outputs.is_empty() {
        let mut text = String::from("Outputs:\n");
        for (k, v) in &outputs {
            text.push_str(&format!("{}.{k} = {v}\n", stack.stack_name));
        }
        ctx.report.result(&text);
    }
    ctx.report.text(&format!("Stack ARN: {}\n", executed.stack_id));
    Ok(Deployment {
        stack: who.into(),
        stack_name: stack.stack_name.clone(),
        stack_id: executed.stack_id,
        result: "deployed",
        status: executed.status,
        outputs,
        diff,
    })
}

/// The end of a `deploy` run: each failure shown, the outputs file and the JSON document
/// written; an error naming the failed stacks.
pub(crate) fn summarize<P: Clouds>(
    ctx: &Ctx<P>,
    results: Vec<(String, Result<Deployment>)>,
    outputs_file: Option<&Path>,
) -> Result<Vec<Deployment>> {
    let total = results.len();
    let mut deployments = Vec::new();
    let mut failed = Vec::new();
    for (name, r) in results {
        match r {
            Ok(d) => deployments.push(d),
            Err(e) => {
                ctx.report.progress(&ctx.report.style.red(&format!("❌ {e}")));
                failed.push(name);
            }
        }
    }
    if let Some(file) = outputs_file {
        let mut all = serde_json::Map::new();
        for d in &deployments {
            all.insert(d.stack_name.clone(), json!(d.outputs));
        }
        let text = serde_json::to_string_pretty(&Json::Object(all)).unwrap_or_default();
        std::fs::write(file, text + "\n").map_err(|source| Error::Io {
            path: file.to_path_buf(),
            source,
        })?;
    }
    if ctx.report.json {
        ctx.report
            .document(&json!({"stacks": deployments, "failed": failed}));
    }
    finish(failed, total)?;
    Ok(deployments)
}

/// `Ok` when nothing failed, else the error naming the failures.
pub(crate) fn finish(failed: Vec<String>, total: usize) -> Result<()> {
    match failed.len() {
        0 => Ok(()),
        n => Err(Error::Several {
            failed: n,
            total,
            names: failed.join(", "),
        }),
    }
}
