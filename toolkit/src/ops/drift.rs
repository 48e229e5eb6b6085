//! `cairn drift`, as `cdk drift`: for each deployed stack, a drift detection
//! (`DetectStackDrift`), polled fast at first and then less often
//! (`DescribeStackDriftDetectionStatus`), then each checked resource's drift
//! (`DescribeStackResourceDrifts`): modified resources with their property differences
//! (the path, the value the template expects and the resource's), deleted resources, and a
//! count. Reads go through the lookup role, as `diff`'s do. `--fail` fails the command when
//! anything drifted; `--json` prints one document.

use clap::Args;
use serde::Serialize;
use serde_json::json;

use crate::assembly::Stack;
use crate::client::{CloudFormation, Clouds, DetectionStatus, PropertyDifference, ResourceDrift};
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::style::Style;
use crate::wait::{describe, Backoff};
use crate::AwsOptions;

/// How many stacks are checked at once.
const DETECTIONS_AT_ONCE: usize = 4;

/// `drift [STACK...]`.
#[derive(Debug, Clone, Default, Args)]
pub struct DriftArgs {
    /// Stacks (artifact id, stack name or path; `*` wildcards); all when none is given.
    pub stacks: Vec<String>,
    /// Exit with status 1 when a resource drifted.
    #[arg(long)]
    pub fail: bool,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// The drift of one stack.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StackDrift {
    /// The display name.
    pub stack: String,
    /// The stack name.
    pub stack_name: String,
    /// Whether the stack is deployed.
    pub exists: bool,
    /// `DETECTION_COMPLETE`, or `DETECTION_FAILED` with the reason.
    pub detection_status: Option<String>,
    /// Why the detection failed for some resources.
    pub detection_status_reason: Option<String>,
    /// `DRIFTED`, `IN_SYNC` ...
    pub stack_drift_status: Option<String>,
    /// Every checked resource.
    pub resources: Vec<ResourceDrift>,
    /// How many resources were modified or deleted.
    pub drifted: usize,
}

/// Whether a resource drift status is a drift.
fn is_drift(status: &str) -> bool {
    matches!(status, "MODIFIED" | "DELETED")
}

/// Detects the drift of the stacks (several at once), prints it, and fails with `--fail`
/// when anything drifted.
pub(crate) async fn run<P: Clouds>(ctx: &Ctx<P>, stacks: &[Stack], args: &DriftArgs) -> Result<()> {
    let results = crate::join::bounded(
        stacks.iter().map(|s| detect(ctx, s)).collect(),
        DETECTIONS_AT_ONCE,
    )
    .await;
    let results = results.into_iter().collect::<Result<Vec<_>>>()?;
    let drifted: Vec<String> = results
        .iter()
        .filter(|d| d.drifted > 0)
        .map(|d| format!("{} ({} resource{})", d.stack, d.drifted, plural(d.drifted)))
        .collect();
    if ctx.report.json {
        let total: usize = results.iter().map(|d| d.drifted).sum();
        ctx.report.document(&json!({"stacks": results, "drifted": total}));
    } else {
        for d in &results {
            ctx.report.text(&render(d, ctx.report.out_style));
        }
        ctx.report
            .text(&format!("\n✨ Number of stacks with drift: {}\n", drifted.len()));
    }
    if args.fail && !drifted.is_empty() {
        return Err(Error::Drifted(drifted.join(", ")));
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Runs a drift detection on one stack and reads its results.
async fn detect<P: Clouds>(ctx: &Ctx<P>, s: &Stack) -> Result<StackDrift> {
    let who = s.display_name.as_str();
    let base = ctx.env(s.region.as_deref(), who).await?;
    let env = ctx
        .env_as(&base, s, s.synthesizer.lookup_role_arn.as_deref())
        .await?;
    let mut out = StackDrift {
        stack: who.to_string(),
        stack_name: s.stack_name.clone(),
        exists: false,
        detection_status: None,
        detection_status_reason: None,
        stack_drift_status: None,
        resources: vec![],
        drifted: 0,
    };
    let Some(d) = describe(&env.cloud, &s.stack_name, who)
        .await?
        .filter(|d| d.status != "REVIEW_IN_PROGRESS")
    else {
        ctx.report.progress(&format!(
            "{who}: the stack {} is not deployed; nothing to check",
            s.stack_name
        ));
        return Ok(out);
    };
    out.exists = true;
    let id = env
        .cloud
        .detect_stack_drift(&d.id)
        .await
        .map_err(|e| e.at(who, "DetectStackDrift"))?;
    ctx.report.progress(&format!("{who}: detecting drift ({id})"));
    let mut backoff = Backoff::new();
    let detection = loop {
        let status = env
            .cloud
            .drift_detection_status(&id)
            .await
            .map_err(|e| e.at(who, "DescribeStackDriftDetectionStatus"))?;
        if status.status != DetectionStatus::InProgress {
            break status;
        }
        tokio::time::sleep(backoff.next_delay()).await;
    };
    match &detection.status {
        DetectionStatus::Failed(reason) => {
            ctx.report.progress(&ctx.report.style.yellow(&format!(
                "{who}: drift detection failed for some resources ({reason}); showing the resources that were checked"
            )));
            out.detection_status = Some("DETECTION_FAILED".into());
            out.detection_status_reason = Some(reason.clone());
        }
        _ => out.detection_status = Some("DETECTION_COMPLETE".into()),
    }
    out.stack_drift_status = detection.stack_drift_status;
    let mut resources = env
        .cloud
        .stack_resource_drifts(&d.id)
        .await
        .map_err(|e| e.at(who, "DescribeStackResourceDrifts"))?;
    resources.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    out.drifted = resources.iter().filter(|r| is_drift(&r.status)).count();
    out.resources = resources;
    Ok(out)
}

/// The text of one stack's drift, as `cdk drift` shows it.
pub(crate) fn render(d: &StackDrift, style: Style) -> String {
    let mut s = format!("{}\n", style.bold(&format!("Stack {}", d.stack)));
    if !d.exists {
        return s + "The stack is not deployed\n";
    }
    for (status, title, sign) in [
        ("MODIFIED", "Modified Resources", "[~]"),
        ("DELETED", "Deleted Resources", "[-]"),
    ] {
        let chosen: Vec<&ResourceDrift> = d.resources.iter().filter(|r| r.status == status).collect();
        if chosen.is_empty() {
            continue;
        }
        s.push_str(&format!("{title}\n"));
        for r in chosen {
            let sign = if status == "DELETED" {
                style.red(sign)
            } else {
                style.yellow(sign)
            };
            s.push_str(&format!(
                "{sign} {} {} {}\n",
                r.resource_type, r.logical_id, r.physical_id
            ));
            render_differences(&mut s, &r.differences, style);
        }
    }
    let count = |status: &str| d.resources.iter().filter(|r| r.status == status).count();
    let (in_sync, not_checked) = (count("IN_SYNC"), count("NOT_CHECKED") + count("UNKNOWN"));
    if d.drifted == 0 {
        s.push_str("No drift detected");
    } else {
        s.push_str(&format!("{} resource{} drifted", d.drifted, plural(d.drifted)));
    }
    s.push_str(&format!(" ({in_sync} in sync, {not_checked} not checked)\n"));
    s
}

fn render_differences(s: &mut String, differences: &[PropertyDifference], style: Style) {
    for (i, p) in differences.iter().enumerate() {
        let last = i + 1 == differences.len();
        let (branch, indent) = if last {
            (" └─", "    ")
        } else {
            (" ├─", " │  ")
        };
        s.push_str(&format!("{branch} {} {}\n", style.yellow("[~]"), p.path));
        let mut lines = Vec::new();
        if p.kind != "ADD" {
            lines.push(style.red(&format!("[-] {}", p.expected)));
        }
        if p.kind != "REMOVE" {
            lines.push(style.green(&format!("[+] {}", p.actual)));
        }
        for (j, line) in lines.iter().enumerate() {
            let twig = if j + 1 == lines.len() { "└─" } else { "├─" };
            s.push_str(&format!("{indent}   {twig} {line}\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_show_the_path_the_expected_and_the_actual_value() {
        let d = StackDrift {
            stack: "Hello".into(),
            stack_name: "Hello".into(),
            exists: true,
            detection_status: Some("DETECTION_COMPLETE".into()),
            detection_status_reason: None,
            stack_drift_status: Some("DRIFTED".into()),
            resources: vec![
                ResourceDrift {
                    logical_id: "Queue".into(),
                    physical_id: "https://q".into(),
                    resource_type: "AWS::SQS::Queue".into(),
                    status: "MODIFIED".into(),
                    differences: vec![
                        PropertyDifference {
                            path: "/VisibilityTimeout".into(),
                            expected: "30".into(),
                            actual: "45".into(),
                            kind: "NOT_EQUAL".into(),
                        },
                        PropertyDifference {
                            path: "/DelaySeconds".into(),
                            expected: String::new(),
                            actual: "5".into(),
                            kind: "ADD".into(),
                        },
                    ],
                },
                ResourceDrift {
                    logical_id: "Topic".into(),
                    physical_id: "arn:t".into(),
                    resource_type: "AWS::SNS::Topic".into(),
                    status: "IN_SYNC".into(),
                    differences: vec![],
                },
            ],
            drifted: 1,
        };
        assert_eq!(
            render(&d, Style::plain()),
            "Stack Hello\nModified Resources\n[~] AWS::SQS::Queue Queue https://q\n \
             ├─ [~] /VisibilityTimeout\n │     ├─ [-] 30\n │     └─ [+] 45\n \
             └─ [~] /DelaySeconds\n       └─ [+] 5\n1 resource drifted (1 in sync, 0 not checked)\n"
        );
    }
}
