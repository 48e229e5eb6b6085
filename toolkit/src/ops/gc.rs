//! `cairn gc`, as `cdk gc`: the file assets in an environment's bootstrap bucket that no
//! deployed stack references any more are tagged `aws-cdk:isolated` with the date they were
//! found isolated, deleted once they have been isolated longer than
//! `--rollback-buffer-days` (at once when it is 0, as the CDK does), and untagged when a
//! stack references them again. Objects younger than `--created-buffer-days` are left
//! alone. An asset is referenced when the name of its object (its hash, before the first
//! `.`) appears in the template of a stack of the environment (every stack but those
//! deleted, being deleted, under review or whose creation failed; stacks bootstrapped with
//! another qualifier are not read). `--action print` only shows what would be done.
//!
//! The bootstrap stack's ECR repository is not collected: cairn publishes no container
//! image assets yet (`deploy` refuses them), so there is nothing of cairn's in it; the
//! command says so rather than skipping it silently.

use std::collections::BTreeMap;

use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{json, Value as Json};

use crate::bootstrap;
use crate::client::{CloudFormation, Clouds, ObjectInfo, ObjectStore};
use crate::context::{Ctx, Env};
use crate::error::{Error, Result};
use crate::wait::describe;
use crate::AwsOptions;

/// The tag of an isolated asset (the CDK's), valued with the time it was found isolated.
pub(crate) const ISOLATED_TAG: &str = "aws-cdk:isolated";

/// Seconds in a day.
const DAY: i64 = 86_400;

/// How many calls run at once (templates read, tags read or written).
const CALLS_AT_ONCE: usize = 16;

/// How many keys one `DeleteObjects` takes.
const DELETE_BATCH: usize = 1_000;

/// Statuses of stacks whose templates do not count (their assets are no longer live).
const IGNORED_STATUSES: [&str; 5] = [
    "CREATE_FAILED",
    "DELETE_COMPLETE",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
    "REVIEW_IN_PROGRESS",
];

/// What `gc` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum GcAction {
    /// Show what would be tagged, deleted and untagged; change nothing.
    Print,
    /// Tag isolated assets (and untag those in use again); delete nothing.
    Tag,
    /// Delete assets isolated longer than the rollback buffer; tag nothing.
    DeleteTagged,
    /// Tag, untag and delete.
    #[default]
    Full,
}

/// Which assets `gc` collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum GcType {
    /// The file assets of the bootstrap bucket.
    S3,
    /// The image assets of the bootstrap repository (not supported: cairn publishes none).
    Ecr,
    /// Both (the repository is reported as not collected).
    #[default]
    All,
}

/// `gc [aws://ACCOUNT/REGION...]`.
#[derive(Debug, Clone, Default, Args)]
pub struct GcArgs {
    /// Environments; default: those of the assembly's stacks, else the configured account
    /// and region.
    pub environments: Vec<String>,
    /// What to do.
    #[arg(long, value_enum, default_value_t = GcAction::Full)]
    pub action: GcAction,
    /// Which assets.
    #[arg(long = "type", value_enum, default_value_t = GcType::All)]
    pub asset_type: GcType,
    /// Delete an isolated asset only once it has been isolated (tagged) this many days
    /// (0: at once), so that a rollback to a previous template still finds its assets.
    #[arg(long, default_value_t = 0, value_name = "DAYS")]
    pub rollback_buffer_days: u32,
    /// Leave assets created less than this many days ago alone.
    #[arg(long, default_value_t = 1, value_name = "DAYS")]
    pub created_buffer_days: u32,
    /// Ask before deleting (the default).
    #[arg(long, overrides_with = "no_confirm")]
    pub confirm: bool,
    /// Delete without asking.
    #[arg(long, overrides_with = "confirm")]
    pub no_confirm: bool,
    /// The bootstrap stack's name.
    #[arg(long, default_value = bootstrap::TOOLKIT_STACK, value_name = "NAME")]
    pub bootstrap_stack_name: String,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// Checks the arguments (no call).
pub(crate) fn prepare(args: &GcArgs) -> Result<()> {
    if args.asset_type == GcType::Ecr {
        return Err(Error::Usage(
            "--type ecr: cairn does not garbage-collect the bootstrap ECR repository: it publishes no container image assets yet (deploy refuses them), so nothing of cairn's is there; use --type s3 (or `cdk gc --type ecr` for images the CDK published)".into(),
        ));
    }
    Ok(())
}

/// One object of the bucket, as `gc` judges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Asset {
    /// The key.
    pub key: String,
    /// The size in bytes.
    pub size: u64,
    /// When it was tagged isolated (the tag's value), if it was.
    #[serde(rename = "isolatedSince")]
    pub isolated_since: Option<String>,
    /// Its tags.
    #[serde(skip)]
    pub tags: Vec<(String, String)>,
}

/// What `gc` does in one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Plan {
    /// Isolated long enough: deleted.
    pub delete: Vec<Asset>,
    /// Isolated and not tagged yet: tagged.
    pub tag: Vec<Asset>,
    /// Tagged isolated but referenced again: untagged.
    pub untag: Vec<Asset>,
    /// Referenced by a deployed stack.
    #[serde(rename = "inUse")]
    pub in_use: usize,
    /// Isolated, tagged, not yet past the rollback buffer.
    pub waiting: usize,
    /// Younger than the created buffer: not looked at.
    #[serde(rename = "tooNew")]
    pub too_new: usize,
}

/// The hash an object's key stands for: its file name up to the first `.`.
pub(crate) fn asset_hash(key: &str) -> &str {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.split('.').next().unwrap_or(name)
}

/// Whether the object was written less than `--created-buffer-days` ago (with 0, none is).
fn too_new(o: &ObjectInfo, args: &GcArgs, now: i64) -> bool {
    now - o.last_modified < i64::from(args.created_buffer_days) * DAY
}

/// Judges the objects (`now`: seconds since the epoch; `templates`: the texts of the
/// templates in use; `tags`: each considered object's tags, by key).
pub(crate) fn plan(
    objects: &[ObjectInfo],
    tags: &BTreeMap<String, Vec<(String, String)>>,
    templates: &[String],
    args: &GcArgs,
    now: i64,
) -> Plan {
    let mut plan = Plan::default();
    let isolated_before = now - i64::from(args.rollback_buffer_days) * DAY;
    for o in objects {
        if too_new(o, args, now) {
            plan.too_new += 1;
            continue;
        }
        let Some(object_tags) = tags.get(&o.key) else {
            continue; // gone since it was listed
        };
        let hash = asset_hash(&o.key);
        let in_use = !hash.is_empty() && templates.iter().any(|t| t.contains(hash));
        let tag = object_tags
            .iter()
            .find(|(k, _)| k == ISOLATED_TAG)
            .map(|(_, v)| v.clone());
        let asset = Asset {
            key: o.key.clone(),
            size: o.size,
            isolated_since: tag.clone(),
            tags: object_tags.clone(),
        };
        match (in_use, tag) {
            (true, Some(_)) => plan.untag.push(asset),
            (true, None) => plan.in_use += 1,
            (false, _) if args.rollback_buffer_days == 0 => plan.delete.push(asset),
            (false, None) => plan.tag.push(asset),
            (false, Some(since)) => match parse_time(&since) {
                Some(t) if t < isolated_before => plan.delete.push(asset),
                Some(_) => plan.waiting += 1,
                // An unreadable date: tagged again with today's.
                None => plan.tag.push(asset),
            },
        }
    }
    plan
}

/// Collects the garbage of each environment in turn.
pub(crate) async fn run<P: Clouds>(
    ctx: &Ctx<P>,
    environments: Vec<(Option<String>, Option<String>)>,
    args: &GcArgs,
) -> Result<()> {
    let mut report = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (account, region) in environments {
        let name = match args.bootstrap_stack_name.as_str() {
            "" => bootstrap::TOOLKIT_STACK,
            n => n,
        };
        let env = ctx.env(region.as_deref(), name).await?;
        let actual = env.account(name).await?;
        if let Some(a) = account.filter(|a| a != &actual) {
            return Err(Error::Usage(format!(
                "gc aws://{a}/{}: the credentials are for account {actual}; use credentials (or --profile) for {a}",
                env.region()
            )));
        }
        if !seen.insert(env.region().to_string()) {
            continue;
        }
        let environment = format!("aws://{actual}/{}", env.region());
        report.push(collect(ctx, &env, name, &environment, args).await?);
    }
    if ctx.report.json {
        ctx.report.document(&json!({"environments": report}));
    }
    Ok(())
}

/// Seconds since the epoch, now.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

async fn collect<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    name: &str,
    environment: &str,
    args: &GcArgs,
) -> Result<Json> {
    let Some(toolkit) = describe(&env.cloud, name, name).await? else {
        return Err(Error::NotBootstrapped {
            stack: name.into(),
            environment: environment.into(),
            qualifier: cairn_core::DEFAULT_QUALIFIER.into(),
            detail: format!("the bootstrap stack {name} does not exist (or pass --bootstrap-stack-name)"),
        });
    };
    let bucket = match toolkit.outputs.get("BucketName") {
        Some(b) => b.clone(),
        // No outputs (some endpoints record none): the bucket resource's physical id.
        None => env
            .cloud
            .stack_resources(&toolkit.id)
            .await
            .map_err(|e| e.at(name, "DescribeStackResources"))?
            .into_iter()
            .find(|(logical, _)| logical == bootstrap::BUCKET_LOGICAL_ID)
            .map(|(_, physical)| physical)
            .ok_or_else(|| Error::StackState {
                stack: name.into(),
                message: format!(
                    "the bootstrap stack in {environment} has no BucketName output and no {} resource; bootstrap it again (`cairn bootstrap`)",
                    bootstrap::BUCKET_LOGICAL_ID
                ),
            })?,
    };
    let qualifier = toolkit.parameters.get(bootstrap::QUALIFIER).cloned();
    let now = now();
    let templates = templates_in_use(env, name, qualifier.as_deref()).await?;
    let objects = env
        .cloud
        .list_objects(&bucket)
        .await
        .map_err(|e| e.at(&bucket, "ListObjectsV2"))?;
    let considered: Vec<&ObjectInfo> = objects.iter().filter(|o| !too_new(o, args, now)).collect();
    let read = crate::join::bounded(
        considered
            .iter()
            .map(|o| async {
                match env.cloud.object_tags(&bucket, &o.key).await {
                    Ok(t) => Ok(Some((o.key.clone(), t))),
                    Err(e) if e.is_not_found() => Ok(None),
                    Err(e) => Err(e.at(&bucket, "GetObjectTagging")),
                }
            })
            .collect(),
        CALLS_AT_ONCE,
    )
    .await;
    let mut tags = BTreeMap::new();
    for r in read {
        if let Some((k, t)) = r? {
            tags.insert(k, t);
        }
    }
    let plan = plan(&objects, &tags, &templates, args, now);
    let may_delete = matches!(args.action, GcAction::DeleteTagged | GcAction::Full);
    let may_tag = matches!(args.action, GcAction::Tag | GcAction::Full);
    let mut deleted = Vec::new();
    if args.action == GcAction::Print {
        ctx.report.result(&print_plan(&plan, &bucket));
    }
    if may_delete && !plan.delete.is_empty() && confirmed(ctx, &plan, &bucket, args).await? {
        deleted = delete(ctx, env, &bucket, &plan.delete).await?;
    }
    let stamp = iso8601(now);
    let (mut tagged, mut untagged) = (0, 0);
    if may_tag {
        let writes = plan
            .tag
            .iter()
            .map(|a| {
                let mut t: Vec<(String, String)> = a
                    .tags
                    .iter()
                    .filter(|(k, _)| k != ISOLATED_TAG)
                    .cloned()
                    .collect();
                t.push((ISOLATED_TAG.to_string(), stamp.clone()));
                (a.key.clone(), t)
            })
            .chain(plan.untag.iter().map(|a| {
                let t = a
                    .tags
                    .iter()
                    .filter(|(k, _)| k != ISOLATED_TAG)
                    .cloned()
                    .collect();
                (a.key.clone(), t)
            }))
            .collect::<Vec<_>>();
        let results = crate::join::bounded(
            writes
                .iter()
                .map(|(k, t)| env.cloud.set_object_tags(&bucket, k, t))
                .collect(),
            CALLS_AT_ONCE,
        )
        .await;
        for (r, (key, _)) in results.into_iter().zip(&writes) {
            r.map_err(|e| e.at(&bucket, "PutObjectTagging"))?;
            if plan.tag.iter().any(|a| &a.key == key) {
                tagged += 1;
            } else {
                untagged += 1;
            }
        }
    }
    let done = if args.action == GcAction::Print {
        "(print: nothing changed)".to_string()
    } else {
        format!(
            "{tagged} tagged isolated, {} deleted, {untagged} untagged",
            deleted.len()
        )
    };
    ctx.report.text(&format!(
        "{environment}: {} objects in {bucket}: {} in use, {} isolated ({} to delete, {} to tag, {} within the rollback buffer), {} to untag, {} newer than {} day(s); {done}\n",
        objects.len(),
        plan.in_use,
        plan.delete.len() + plan.tag.len() + plan.waiting,
        plan.delete.len(),
        plan.tag.len(),
        plan.waiting,
        plan.untag.len(),
        plan.too_new,
        args.created_buffer_days,
    ));
    if args.asset_type == GcType::All {
        let repo = toolkit.outputs.get("ImageRepositoryName").map_or_else(
            || "the bootstrap ECR repository".to_string(),
            |r| format!("the ECR repository {r}"),
        );
        ctx.report.progress(&format!(
            "{environment}: {repo} is not collected: cairn publishes no container image assets yet (use `cdk gc --type ecr` for images the CDK published)"
        ));
    }
    Ok(json!({
        "environment": environment,
        "bucket": bucket,
        "action": format!("{:?}", args.action).to_lowercase(),
        "objects": objects.len(),
        "plan": plan,
        "deleted": deleted,
        "tagged": tagged,
        "untagged": untagged,
        "ecr": "not collected",
    }))
}

/// The text of `--action print`: one line per object that would change.
fn print_plan(plan: &Plan, bucket: &str) -> String {
    let mut s = String::new();
    for a in &plan.delete {
        let since = a
            .isolated_since
            .as_deref()
            .map(|t| format!(" (isolated since {t})"))
            .unwrap_or_default();
        s.push_str(&format!("delete  s3://{bucket}/{}{since}\n", a.key));
    }
    for a in &plan.tag {
        s.push_str(&format!("tag     s3://{bucket}/{} ({ISOLATED_TAG})\n", a.key));
    }
    for a in &plan.untag {
        s.push_str(&format!("untag   s3://{bucket}/{} (referenced again)\n", a.key));
    }
    s
}

/// Whether the deletion may go ahead: `--no-confirm`, or the person at the terminal says yes.
async fn confirmed<P: Clouds>(ctx: &Ctx<P>, plan: &Plan, bucket: &str, args: &GcArgs) -> Result<bool> {
    if args.no_confirm {
        return Ok(true);
    }
    let n = plan.delete.len();
    if !ctx.report.can_ask() {
        return Err(Error::NeedsConfirmation {
            action: format!("deleting {n} isolated asset(s) from {bucket}"),
            flag: "--no-confirm",
        });
    }
    let question = format!(
        "Found {n} object(s) in {bucket} to delete: isolated for more than {} day(s), created more than {} day(s) ago. Delete them?",
        args.rollback_buffer_days, args.created_buffer_days
    );
    if ctx.report.ask(&question).await {
        return Ok(true);
    }
    ctx.report.progress("nothing was deleted");
    Ok(false)
}

/// Deletes the assets, a thousand keys per call; the keys deleted. Keys that could not be
/// deleted make the command fail, naming them.
async fn delete<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    bucket: &str,
    assets: &[Asset],
) -> Result<Vec<String>> {
    let keys: Vec<String> = assets.iter().map(|a| a.key.clone()).collect();
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for batch in keys.chunks(DELETE_BATCH) {
        let errors = env
            .cloud
            .delete_objects(bucket, batch)
            .await
            .map_err(|e| e.at(bucket, "DeleteObjects"))?;
        for k in batch {
            if let Some((_, why)) = errors.iter().find(|(e, _)| e == k) {
                failures.push(format!("{k}: {why}"));
            } else {
                deleted.push(k.clone());
            }
        }
    }
    ctx.report
        .progress(&format!("{bucket}: deleted {} isolated asset(s)", deleted.len()));
    if !failures.is_empty() {
        return Err(Error::Aws {
            stack: bucket.into(),
            operation: "DeleteObjects",
            message: format!(
                "{} object(s) could not be deleted: {}",
                failures.len(),
                failures.join("; ")
            ),
        });
    }
    Ok(deleted)
}

/// The templates of the environment's stacks whose assets are live, as text (stacks of
/// another bootstrap qualifier left out). A template that cannot be read fails the command:
/// its assets would otherwise look isolated.
async fn templates_in_use<C: CloudFormation>(
    env: &Env<C>,
    name: &str,
    qualifier: Option<&str>,
) -> Result<Vec<String>> {
    let stacks = env
        .cloud
        .list_stacks()
        .await
        .map_err(|e| e.at(name, "ListStacks"))?;
    let live: Vec<_> = stacks
        .into_iter()
        .filter(|s| !IGNORED_STATUSES.contains(&s.status.as_str()))
        .collect();
    let read = crate::join::bounded(
        live.iter()
            .map(|s| async {
                match env.cloud.get_template(&s.id).await {
                    Ok(t) => Ok(Some(t)),
                    Err(e) if e.is_not_found() => Ok(None), // deleted since it was listed
                    Err(e) => Err(e.at(&s.name, "GetTemplate")),
                }
            })
            .collect(),
        CALLS_AT_ONCE,
    )
    .await;
    let mut texts = Vec::new();
    for r in read {
        let Some(text) = r? else { continue };
        if other_qualifier(&text, qualifier) {
            continue;
        }
        texts.push(text);
    }
    Ok(texts)
}

/// Whether the template's `BootstrapVersion` parameter names another qualifier's version
/// parameter (`/cdk-bootstrap/<qualifier>/version`).
fn other_qualifier(template: &str, qualifier: Option<&str>) -> bool {
    let Some(q) = qualifier else { return false };
    let Ok(t) = serde_json::from_str::<Json>(template) else {
        return false;
    };
    let default = t
        .pointer("/Parameters/BootstrapVersion/Default")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let parts: Vec<&str> = default.split('/').collect();
    parts.len() == 4 && parts[2] != q
}

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
pub(crate) fn iso8601(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(DAY), secs.rem_euclid(DAY));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        (rem % 3_600) / 60,
        rem % 60
    )
}

/// Reads an isolation date: `YYYY-MM-DDTHH:MM:SS[.fff]Z` (cairn's, and the CDK's ISO
/// dates) or milliseconds since the epoch (what some CDK versions write).
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok().map(|ms| ms / 1_000);
    }
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z');
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next().flatten().unwrap_or(0));
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * DAY + hh * 3_600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_the_cdks_forms_are_read() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_796_263_200), "2026-12-03T02:00:00Z");
        assert_eq!(parse_time("2026-12-03T02:00:00Z"), Some(1_796_263_200));
        assert_eq!(parse_time("2026-12-03T02:00:00.123Z"), Some(1_796_263_200));
        assert_eq!(parse_time("1796263200000"), Some(1_796_263_200));
        assert_eq!(
            parse_time("2024-02-29T12:00:00Z").map(iso8601).as_deref(),
            Some("2024-02-29T12:00:00Z")
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn with_no_created_buffer_an_object_written_this_second_is_judged() {
        let now = 1_796_263_200;
        let o = ObjectInfo {
            key: "abc.zip".into(),
            size: 1,
            last_modified: now,
        };
        let tags = BTreeMap::from([("abc.zip".to_string(), vec![])]);
        let args = GcArgs::default();
        assert_eq!(
            plan(std::slice::from_ref(&o), &tags, &[], &args, now)
                .delete
                .len(),
            1
        );
        let one_day = GcArgs {
            created_buffer_days: 1,
            ..GcArgs::default()
        };
        let p = plan(&[o], &tags, &[], &one_day, now);
        assert_eq!((p.delete.len(), p.too_new), (0, 1));
    }

    #[test]
    fn an_objects_hash_is_its_file_name_before_the_first_dot() {
        assert_eq!(asset_hash("abc123.zip"), "abc123");
        assert_eq!(asset_hash("assets/abc123.tar.gz"), "abc123");
        assert_eq!(asset_hash("plain"), "plain");
    }

    #[test]
    fn other_qualifiers_are_recognised_by_the_bootstrap_version_parameter() {
        let t = |q: &str| {
            json!({"Parameters": {"BootstrapVersion": {"Default": format!("/cdk-bootstrap/{q}/version")}}})
                .to_string()
        };
        assert!(other_qualifier(&t("other"), Some("hnb659fds")));
        assert!(!other_qualifier(&t("hnb659fds"), Some("hnb659fds")));
        assert!(!other_qualifier(&t("other"), None));
        assert!(!other_qualifier("{}", Some("hnb659fds")));
    }
}
