//! The commands that talk to AWS: CloudFormation (stacks, change sets, events), S3
//! (assets, large templates), SSM (the bootstrap version) and STS (the account).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::primitives::DateTimeFormat;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, Replacement as CfnReplacement, Tag, TemplateStage,
};
use aws_sdk_cloudformation::Client as Cfn;
use serde::Serialize;
use serde_json::{json, Value as Json};
use tokio::sync::Mutex;

use crate::assembly::{dependency_order, parse_template, Assembly, Stack};
use crate::bootstrap;
use crate::diff::{diff_templates, ChangeKind, Replacement, TemplateDiff};
use crate::error::{Error, Result};
use crate::events::{
    chronological, is_deploy_success, is_terminal, plan_for_status, EventRenderer, StackEvent, StackPlan,
};
use crate::facts::SchemaFacts;
use crate::style::Style;
use crate::{
    AwsOptions, BootstrapArgs, Command, DeployArgs, DeployMethod, DestroyArgs, DiffArgs, RequireApproval,
};

/// CloudFormation's limit for an inline template body.
const MAX_INLINE_TEMPLATE: usize = 51_200;

fn aws_message<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    match (e.code(), e.message()) {
        (Some(code), Some(m)) => format!("{code}: {m}"),
        (None, Some(m)) => m.to_string(),
        _ => match e.raw_response().map(HttpStatus::status_code) {
            Some(status) if status >= 500 => format!(
                "the endpoint failed with HTTP {status} and no error message (an internal error of the service or endpoint)"
            ),
            _ => DisplayErrorContext(e).to_string(),
        },
    }
}

/// The HTTP status of a raw response.
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn aws_err<E, R>(stack: &str, operation: &'static str, e: &SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    Error::Aws {
        stack: stack.to_string(),
        operation,
        message: aws_message(e),
    }
}

fn does_not_exist<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.message().is_some_and(|m| m.contains("does not exist"))
}

/// Clients for one region.
struct Env {
    cfn: Cfn,
    s3: aws_sdk_s3::Client,
    ssm: aws_sdk_ssm::Client,
    sts: aws_sdk_sts::Client,
    region: String,
    account: Mutex<Option<String>>,
}

impl Env {
    async fn account(&self, who: &str) -> Result<String> {
        let mut cached = self.account.lock().await;
        if let Some(a) = cached.as_ref() {
            return Ok(a.clone());
        }
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws_err(who, "GetCallerIdentity", &e))?;
        let account = out.account().unwrap_or_default().to_string();
        *cached = Some(account.clone());
        Ok(account)
    }
}

/// Shared state of one command run.
struct Ctx {
    options: AwsOptions,
    base: SdkConfig,
    envs: Mutex<HashMap<String, Arc<Env>>>,
    /// Serializes prompts between concurrent deployments.
    prompt: Mutex<()>,
    style: Style,
}

impl Ctx {
    async fn new(options: &AwsOptions) -> Ctx {
        let base = load_config(options, None).await;
        Ctx {
            options: options.clone(),
            base,
            envs: Mutex::new(HashMap::new()),
            prompt: Mutex::new(()),
            style: Style::for_terminal(std::io::stderr().is_terminal()),
        }
    }

    fn default_region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
    }

    async fn env(&self, region: Option<&str>, who: &str) -> Result<Arc<Env>> {
        let region = match region.map(String::from).or_else(|| self.default_region()) {
            Some(r) => r,
            None => {
                return Err(Error::Usage(format!(
                    "{who}: no region: the stack's environment names none; set AWS_REGION or pass --region"
                )))
            }
        };
        let mut envs = self.envs.lock().await;
        if let Some(e) = envs.get(&region) {
            return Ok(e.clone());
        }
        let conf = load_config(&self.options, Some(&region)).await;
        let mut s3 = aws_sdk_s3::config::Builder::from(&conf);
        if conf.endpoint_url().is_some() {
            // A local endpoint serves buckets by path, not by host name.
            s3 = s3.force_path_style(true);
        }
        let env = Arc::new(Env {
            cfn: Cfn::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            ssm: aws_sdk_ssm::Client::new(&conf),
            sts: aws_sdk_sts::Client::new(&conf),
            region: region.clone(),
            account: Mutex::new(None),
        });
        envs.insert(region, env.clone());
        Ok(env)
    }
}

async fn load_config(options: &AwsOptions, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(
        // Throttling and transient errors are retried with exponential backoff.
        aws_config::retry::RetryConfig::standard()
            .with_max_attempts(5)
            .with_max_backoff(Duration::from_secs(20)),
    );
    if let Some(p) = &options.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region.map(String::from).or_else(|| options.region.clone()) {
        loader = loader.region(Region::new(r));
    }
    if let Some(e) = &options.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

fn print_json(v: &Json) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Entry point of the AWS commands.
pub(crate) async fn run(dir: &Path, command: Command) -> Result<()> {
    match command {
        Command::Diff(args) => diff_cmd(dir, args).await,
        Command::Deploy(args) => deploy_cmd(dir, args).await,
        Command::Destroy(args) => destroy_cmd(dir, args).await,
        Command::Bootstrap(args) => bootstrap_cmd(dir, args).await,
    }
}

// ----------------------------------------------------------------- stack state ----

/// What DescribeStacks says about a stack.
#[derive(Debug, Clone)]
struct Deployed {
    id: String,
    status: String,
    parameters: Vec<String>,
    /// The parameters' current values, by key.
    parameter_values: BTreeMap<String, String>,
    /// The stack's tags.
    tags: Vec<(String, String)>,
    termination_protection: bool,
    outputs: BTreeMap<String, String>,
}

async fn describe(env: &Env, name: &str) -> Result<Option<Deployed>> {
    let out = match env.cfn.describe_stacks().stack_name(name).send().await {
        Ok(o) => o,
        Err(e) if does_not_exist(&e) => return Ok(None),
        Err(e) => return Err(aws_err(name, "DescribeStacks", &e)),
    };
    let Some(s) = out.stacks().first() else {
        return Ok(None);
    };
    let status = s
        .stack_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    if status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    Ok(Some(Deployed {
        id: s.stack_id().unwrap_or(name).to_string(),
        status,
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| p.parameter_key().map(String::from))
            .collect(),
        parameter_values: s
            .parameters()
            .iter()
            .filter_map(|p| Some((p.parameter_key()?.to_string(), p.parameter_value()?.to_string())))
            .collect(),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
        termination_protection: s.enable_termination_protection().unwrap_or(false),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| {
                Some((
                    o.output_key()?.to_string(),
                    o.output_value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
    }))
}

async fn deployed_template(env: &Env, name: &str) -> Result<Json> {
    let out = env
        .cfn
        .get_template()
        .stack_name(name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|e| aws_err(name, "GetTemplate", &e))?;
    let body = out.template_body().unwrap_or("{}");
    parse_template(body, false).map_err(|m| Error::Aws {
        stack: name.to_string(),
        operation: "GetTemplate",
        message: format!("the deployed template cannot be read: {m}"),
    })
}

async fn stack_events(env: &Env, stack_id: &str, who: &str) -> Result<Vec<StackEvent>> {
    let out = env
        .cfn
        .describe_stack_events()
        .stack_name(stack_id)
        .send()
        .await
        .map_err(|e| aws_err(who, "DescribeStackEvents", &e))?;
    Ok(chronological(
        out.stack_events()
            .iter()
            .map(|e| StackEvent {
                id: e.event_id().unwrap_or_default().to_string(),
                timestamp: e
                    .timestamp()
                    .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
                    .unwrap_or_default(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(String::from),
            })
            .collect(),
    ))
}

/// Polls the stack (by id) until its status is terminal, printing new events.
/// Returns the final status (`DELETE_COMPLETE` once a deleted stack is gone).
async fn follow(
    env: &Env,
    stack_id: &str,
    who: &str,
    renderer: &mut EventRenderer,
    operation: &'static str,
) -> Result<(String, Option<String>)> {
    let mut delay = Duration::from_millis(300);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        for e in stack_events(env, stack_id, who).await.unwrap_or_default() {
            if let Some(line) = renderer.render(&e) {
                eprintln!("{line}");
            }
        }
        let (status, reason) = match env.cfn.describe_stacks().stack_name(stack_id).send().await {
            Ok(out) => out
                .stacks()
                .first()
                .map(|s| {
                    (
                        s.stack_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        s.stack_status_reason().map(String::from),
                    )
                })
                .unwrap_or_else(|| ("DELETE_COMPLETE".into(), None)),
            Err(e) if does_not_exist(&e) => ("DELETE_COMPLETE".into(), None),
            Err(e) => return Err(aws_err(who, "DescribeStacks", &e)),
        };
        if is_terminal(&status) {
            // The last events may have landed with the status.
            for e in stack_events(env, stack_id, who).await.unwrap_or_default() {
                if let Some(line) = renderer.render(&e) {
                    eprintln!("{line}");
                }
            }
            return Ok((status, reason));
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = &mut interrupted => {
                return Err(Error::Interrupted { stack: who.to_string(), operation });
            }
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

fn failure_reasons(renderer: &EventRenderer, stack_reason: Option<&str>) -> String {
    let mut s = String::new();
    for f in renderer.failures() {
        if f.is_stack() && f.reason.is_none() {
            continue;
        }
        s.push_str(&format!(
            "\n  {} ({}) {}: {}",
            f.logical_id,
            f.resource_type,
            f.status,
            f.reason.as_deref().unwrap_or("no reason given")
        ));
    }
    if s.is_empty() {
        if let Some(r) = stack_reason {
            s = format!("\n  {r}");
        }
    }
    s
}

async fn delete_and_wait(env: &Env, d: &Deployed, who: &str, total: usize, style: Style) -> Result<()> {
    let mut renderer = EventRenderer::new(who, total, style);
    for e in stack_events(env, &d.id, who).await.unwrap_or_default() {
        renderer.skip(&e);
    }
    env.cfn
        .delete_stack()
        .stack_name(&d.id)
        .send()
        .await
        .map_err(|e| aws_err(who, "DeleteStack", &e))?;
    let (status, reason) = follow(env, &d.id, who, &mut renderer, "deletion").await?;
    if status != "DELETE_COMPLETE" {
        return Err(Error::OperationFailed {
            stack: who.to_string(),
            operation: "destroy",
            status,
            reasons: failure_reasons(&renderer, reason.as_deref()),
        });
    }
    Ok(())
}

// ------------------------------------------------------------------------ diff ----

async fn diff_cmd(dir: &Path, args: DiffArgs) -> Result<()> {
    let asm = Assembly::load(dir)?;
    let stacks = asm.select(&args.stacks, false)?;
    let ctx = Ctx::new(&args.aws).await;
    let style = Style::detect();
    let mut report = Vec::new();
    let mut changed = Vec::new();
    for s in stacks {
        let env = ctx.env(s.region.as_deref(), &s.display_name).await?;
        let old = match describe(&env, &s.stack_name).await? {
            Some(d) if d.status != "REVIEW_IN_PROGRESS" => deployed_template(&env, &d.id).await?,
            _ => Json::Null,
        };
        let diff = diff_templates(&old, &s.template, &SchemaFacts);
        if !diff.is_empty() {
            changed.push(s.display_name.clone());
        }
        if !args.aws.json {
            println!("{}", style.bold(&format!("Stack {}", s.display_name)));
            let text = if args.security_only {
                let t = diff.render_security(style);
                if t.is_empty() {
                    "There were no security-related changes\n".to_string()
                } else {
                    t
                }
            } else {
                diff.render(style)
            };
            println!("{text}");
        }
        report.push(json!({"stack": s.display_name, "stackName": s.stack_name, "exists": !old.is_null(), "diff": diff}));
    }
    if args.aws.json {
        print_json(&json!({"stacks": report}));
    } else {
        println!("✨ Number of stacks with differences: {}", changed.len());
    }
    if args.fail && !changed.is_empty() {
        return Err(Error::Differences(changed.join(", ")));
    }
    Ok(())
}

// ---------------------------------------------------------------------- deploy ----

/// Options of one stack deployment (shared by `deploy` and `bootstrap`).
#[derive(Debug, Clone)]
struct DeployOptions {
    require_approval: RequireApproval,
    parameters: Vec<(Option<String>, String, String)>,
    tags: Vec<(String, String)>,
    notification_arns: Vec<String>,
    no_rollback: bool,
    force: bool,
    method: DeployMethod,
    check_bootstrap: bool,
}

/// The result of one stack deployment.
#[derive(Debug, Clone, Serialize)]
struct Deployment {
    stack: String,
    #[serde(rename = "stackName")]
    stack_name: String,
    #[serde(rename = "stackId")]
    stack_id: String,
    /// `deployed`, `no-changes`.
    result: &'static str,
    status: String,
    outputs: BTreeMap<String, String>,
    diff: TemplateDiff,
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

async fn deploy_cmd(dir: &Path, args: DeployArgs) -> Result<()> {
    let asm = Assembly::load(dir)?;
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
    let ordered: Vec<Stack> = dependency_order(&selected)?.into_iter().cloned().collect();
    let options = DeployOptions {
        require_approval: args.require_approval,
        parameters: parse_parameters(&args.parameters)?,
        tags: parse_key_values(&args.tags, "--tags")?,
        notification_arns: args.notification_arns.clone(),
        no_rollback: args.no_rollback,
        force: args.force,
        method: args.method,
        check_bootstrap: true,
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
    let ctx = Arc::new(Ctx::new(&args.aws).await);
    let options = Arc::new(options);
    let results = run_ordered(ordered, args.concurrency as usize, {
        let ctx = ctx.clone();
        move |stack: Stack| {
            let ctx = ctx.clone();
            let options = options.clone();
            async move { deploy_stack(&ctx, &stack, &options).await }
        }
    })
    .await;
    let mut deployments = Vec::new();
    let mut failed = Vec::new();
    let total = results.len();
    for (name, r) in results {
        match r {
            Ok(d) => deployments.push(d),
            Err(e) => {
                eprintln!("{}", ctx.style.red(&format!("❌ {e}")));
                failed.push(name);
            }
        }
    }
    if let Some(file) = &args.outputs_file {
        let mut all = serde_json::Map::new();
        for d in &deployments {
            all.insert(d.stack_name.clone(), json!(d.outputs));
        }
        let text = serde_json::to_string_pretty(&Json::Object(all)).unwrap_or_default();
        std::fs::write(file, text + "\n").map_err(|source| Error::Io {
            path: file.clone(),
            source,
        })?;
    }
    if args.aws.json {
        print_json(&json!({"stacks": deployments, "failed": failed}));
    }
    finish(failed, total)
}

fn finish(failed: Vec<String>, total: usize) -> Result<()> {
    match failed.len() {
        0 => Ok(()),
        n => Err(Error::Several {
            failed: n,
            total,
            names: failed.join(", "),
        }),
    }
}

/// Runs `f` over `stacks` (already in dependency order), starting each once the stacks it
/// depends on succeeded, at most `concurrency` at once. A stack whose dependency failed is
/// skipped with an error. Results are in completion order, named by display name.
async fn run_ordered<F, Fut, T>(stacks: Vec<Stack>, concurrency: usize, f: F) -> Vec<(String, Result<T>)>
where
    F: Fn(Stack) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let ids: HashSet<String> = stacks.iter().map(|s| s.artifact_id.clone()).collect();
    let mut pending = stacks;
    let mut ok: HashSet<String> = HashSet::new();
    let mut bad: HashSet<String> = HashSet::new();
    let mut running = tokio::task::JoinSet::new();
    let mut results = Vec::new();
    loop {
        let mut i = 0;
        while i < pending.len() {
            let deps: Vec<String> = pending[i]
                .dependencies
                .iter()
                .filter(|d| ids.contains(*d))
                .cloned()
                .collect();
            if let Some(d) = deps.iter().find(|d| bad.contains(*d)) {
                let s = pending.remove(i);
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
                let (id, name) = (s.artifact_id.clone(), s.display_name.clone());
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

async fn check_bootstrap(env: &Env, stack: &Stack) -> Result<String> {
    let environment = format!(
        "aws://{}/{}",
        stack.account.as_deref().unwrap_or("unknown-account"),
        env.region
    );
    let not = |detail: String| Error::NotBootstrapped {
        stack: stack.display_name.clone(),
        environment: environment.clone(),
        detail,
    };
    let version = match env
        .ssm
        .get_parameter()
        .name(bootstrap::VERSION_PARAMETER)
        .send()
        .await
    {
        Ok(out) => out
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default()
            .to_string(),
        Err(e)
            if e.code() == Some("ParameterNotFound")
                || e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) =>
        {
            return Err(not(format!(
                "the SSM parameter {} does not exist",
                bootstrap::VERSION_PARAMETER
            )))
        }
        Err(e) => return Err(aws_err(&stack.display_name, "GetParameter", &e)),
    };
    match version.trim().parse::<u32>() {
        Ok(v) if v >= bootstrap::BOOTSTRAP_VERSION => {}
        _ => {
            return Err(not(format!(
                "the bootstrap version is {version:?}, this toolkit needs {} or later",
                bootstrap::BOOTSTRAP_VERSION
            )))
        }
    }
    bootstrap_bucket(env, &stack.display_name).await
}

/// The staging bucket of the toolkit stack in `env`.
async fn bootstrap_bucket(env: &Env, who: &str) -> Result<String> {
    match env
        .cfn
        .describe_stack_resource()
        .stack_name(bootstrap::TOOLKIT_STACK)
        .logical_resource_id(bootstrap::BUCKET_LOGICAL_ID)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .stack_resource_detail()
            .and_then(|d| d.physical_resource_id())
            .map(String::from)
            .unwrap_or_default()),
        Err(e) if does_not_exist(&e) => Err(Error::NotBootstrapped {
            stack: who.to_string(),
            environment: format!(
                "aws://{}/{}",
                env.account(who).await.unwrap_or_default(),
                env.region
            ),
            detail: format!("the stack {} does not exist", bootstrap::TOOLKIT_STACK),
        }),
        Err(e) => Err(aws_err(who, "DescribeStackResource", &e)),
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

async fn upload(env: &Env, bucket: &str, key: &str, body: Vec<u8>, who: &str, what: &str) -> Result<()> {
    if env.s3.head_object().bucket(bucket).key(key).send().await.is_ok() {
        return Ok(());
    }
    env.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::Asset {
            stack: who.to_string(),
            asset: what.to_string(),
            message: format!("PutObject s3://{bucket}/{key}: {}", aws_message(&e)),
        })
}

/// Publishes the file assets of the stack's asset manifests (files and pre-built zips).
async fn publish_assets(env: &Env, stack: &Stack) -> Result<usize> {
    let mut count = 0;
    let who = &stack.display_name;
    for manifest_path in &stack.asset_manifests {
        let asset_err = |asset: &str, message: String| Error::Asset {
            stack: who.clone(),
            asset: asset.to_string(),
            message,
        };
        let text = std::fs::read_to_string(manifest_path)
            .map_err(|e| asset_err(&manifest_path.display().to_string(), e.to_string()))?;
        let manifest: Json = serde_json::from_str(&text)
            .map_err(|e| asset_err(&manifest_path.display().to_string(), e.to_string()))?;
        if manifest
            .get("dockerImages")
            .and_then(Json::as_object)
            .is_some_and(|m| !m.is_empty())
        {
            return Err(asset_err(
                &manifest_path.display().to_string(),
                "container image assets are not supported yet".into(),
            ));
        }
        let base = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let files = manifest
            .get("files")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        for (id, asset) in files {
            let rel = asset
                .pointer("/source/path")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let path: PathBuf = base.join(rel);
            if path.is_dir() {
                return Err(asset_err(
                    &id,
                    format!(
                        "{} is a directory; zip it at synthesis (packaging a directory at deploy is not supported yet)",
                        path.display()
                    ),
                ));
            }
            let body =
                std::fs::read(&path).map_err(|e| asset_err(&id, format!("{}: {e}", path.display())))?;
            let dests = asset
                .get("destinations")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default();
            for (_, dest) in dests {
                let account = env.account(who).await?;
                let subst = |s: &str| {
                    s.replace("${AWS::AccountId}", &account)
                        .replace("${AWS::Region}", &env.region)
                        .replace("${AWS::Partition}", "aws")
                };
                let bucket = subst(dest.get("bucketName").and_then(Json::as_str).unwrap_or_default());
                let key = subst(dest.get("objectKey").and_then(Json::as_str).unwrap_or_default());
                if bucket.is_empty() || key.is_empty() {
                    return Err(asset_err(&id, "a destination has no bucketName/objectKey".into()));
                }
                upload(env, &bucket, &key, body.clone(), who, &id).await?;
                count += 1;
            }
        }
    }
    Ok(count)
}

fn cfn_replacement(r: Option<&CfnReplacement>) -> Replacement {
    match r.map(CfnReplacement::as_str) {
        Some("True") => Replacement::Always,
        Some("Conditional") => Replacement::Conditional,
        _ => Replacement::Never,
    }
}

fn is_no_changes(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("No updates to be performed")
}

async fn ask(ctx: &Ctx, question: &str) -> bool {
    let _guard = ctx.prompt.lock().await;
    eprint!("{question} (y/n) ");
    let _ = std::io::stderr().flush();
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        line
    })
    .await
    .unwrap_or_default();
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

async fn deploy_stack(ctx: &Ctx, stack: &Stack, opts: &DeployOptions) -> Result<Deployment> {
    let who = stack.display_name.as_str();
    let name = stack.stack_name.as_str();
    let style = ctx.style;
    let env = ctx.env(stack.region.as_deref(), who).await?;
    eprintln!(
        "{}",
        style.bold(&format!("{who}: deploying ({name}, {})", env.region))
    );

    let bucket = if opts.check_bootstrap {
        Some(check_bootstrap(&env, stack).await?)
    } else {
        None
    };

    // The stack's current state decides how to go on.
    let mut current = describe(&env, name).await?;
    loop {
        let status = current.as_ref().map(|d| d.status.clone());
        match plan_for_status(status.as_deref()) {
            StackPlan::Create | StackPlan::Update => break,
            StackPlan::DeleteThenCreate => {
                if let Some(d) = &current {
                    eprintln!(
                        "{who}: the stack is in ROLLBACK_COMPLETE (its creation failed and rolled back); deleting it before creating it again"
                    );
                    delete_and_wait(&env, d, who, 0, style).await?;
                }
                current = None;
            }
            StackPlan::ContinueRollbackThenUpdate => {
                if let Some(d) = &current {
                    eprintln!("{who}: the stack is in UPDATE_ROLLBACK_FAILED; continuing the rollback before updating");
                    env.cfn
                        .continue_update_rollback()
                        .stack_name(&d.id)
                        .send()
                        .await
                        .map_err(|e| aws_err(who, "ContinueUpdateRollback", &e))?;
                    let mut r = EventRenderer::new(who, 0, style);
                    let (status, reason) = follow(&env, &d.id, who, &mut r, "rollback").await?;
                    if status != "UPDATE_ROLLBACK_COMPLETE" {
                        return Err(Error::OperationFailed {
                            stack: who.into(),
                            operation: "deploy (continuing the rollback)",
                            status,
                            reasons: failure_reasons(&r, reason.as_deref()),
                        });
                    }
                }
                current = describe(&env, name).await?;
            }
            StackPlan::Busy(s) => {
                eprintln!("{who}: the stack is busy ({s}); waiting for it to finish");
                if let Some(d) = &current {
                    let mut r = EventRenderer::new(who, 0, style);
                    for e in stack_events(&env, &d.id, who).await.unwrap_or_default() {
                        r.skip(&e);
                    }
                    follow(&env, &d.id, who, &mut r, "operation").await?;
                }
                current = describe(&env, name).await?;
            }
            StackPlan::Stuck(message) => {
                return Err(Error::StackState {
                    stack: who.into(),
                    message,
                })
            }
        }
    }
    let creating = current.as_ref().is_none_or(|d| d.status == "REVIEW_IN_PROGRESS");
    let exists = !creating;

    // Assets, then the template (through the bucket when over the inline limit).
    if bucket.is_some() {
        let n = publish_assets(&env, stack).await?;
        if n > 0 {
            eprintln!("{who}: {n} asset(s) published");
        }
    }
    let body = stack.template_body.clone();
    let template_url = if body.len() > MAX_INLINE_TEMPLATE {
        let Some(bucket) = &bucket else {
            return Err(Error::InvalidTemplate {
                stack: who.into(),
                message: format!("the template is {} bytes, over the {MAX_INLINE_TEMPLATE}-byte inline limit, and there is no staging bucket", body.len()),
            });
        };
        let key = format!("cairn/templates/{name}-{:016x}.json", fnv1a(body.as_bytes()));
        upload(&env, bucket, &key, body.clone().into_bytes(), who, "template").await?;
        Some(format!("https://s3.{}.amazonaws.com/{bucket}/{key}", env.region))
    } else {
        None
    };

    let mut validate = env.cfn.validate_template();
    validate = match &template_url {
        Some(u) => validate.template_url(u),
        None => validate.template_body(&body),
    };
    if let Err(e) = validate.send().await {
        return Err(Error::InvalidTemplate {
            stack: who.into(),
            message: aws_message(&e),
        });
    }

    let old = match &current {
        Some(d) if exists => deployed_template(&env, &d.id).await?,
        _ => Json::Null,
    };
    let mut diff = diff_templates(&old, &stack.template, &SchemaFacts);

    // Parameters: given ones, else the previous value of those the stack already has.
    let declared: Vec<String> = stack
        .template
        .get("Parameters")
        .and_then(Json::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut params: Vec<Parameter> = Vec::new();
    for key in &declared {
        let given = opts.parameters.iter().rev().find(|(s, k, _)| {
            k == key
                && s.as_ref().is_none_or(|s| {
                    s == &stack.display_name || s == &stack.stack_name || s == &stack.artifact_id
                })
        });
        if let Some((_, k, v)) = given {
            params.push(Parameter::builder().parameter_key(k).parameter_value(v).build());
        } else if exists && current.as_ref().is_some_and(|d| d.parameters.contains(key)) {
            params.push(
                Parameter::builder()
                    .parameter_key(key)
                    .use_previous_value(true)
                    .build(),
            );
        }
    }
    let mut tags: Vec<(String, String)> = stack.tags.clone();
    for (k, v) in &opts.tags {
        tags.retain(|(x, _)| x != k);
        tags.push((k.clone(), v.clone()));
    }
    let tags_given = tags;
    let tags: Vec<Tag> = tags_given
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let capabilities = [
        Capability::CapabilityIam,
        Capability::CapabilityNamedIam,
        Capability::CapabilityAutoExpand,
    ];

    let total = stack.resource_count()
        + diff
            .resources
            .iter()
            .filter(|r| r.kind == ChangeKind::Removed)
            .count();
    let mut renderer = EventRenderer::new(who, total, style);
    let stack_id: String;

    let no_changes = |stack_id: String, d: TemplateDiff| Deployment {
        stack: who.into(),
        stack_name: name.into(),
        stack_id,
        result: "no-changes",
        status: current.as_ref().map(|c| c.status.clone()).unwrap_or_default(),
        outputs: current.as_ref().map(|c| c.outputs.clone()).unwrap_or_default(),
        diff: d,
    };

    // The same template, parameter values and tags as deployed, on a stack in a stable
    // state: nothing to change (as the CDK CLI skips such a deploy), without asking
    // CloudFormation for a change set.
    if let Some(d) = current
        .as_ref()
        .filter(|d| exists && d.status.ends_with("_COMPLETE") && !d.status.contains("ROLLBACK"))
    {
        let same_parameters = params.iter().all(|p| {
            p.use_previous_value() == Some(true)
                || p.parameter_key()
                    .is_some_and(|k| d.parameter_values.get(k).map(String::as_str) == p.parameter_value())
        });
        let mut want: Vec<&(String, String)> = tags_given.iter().collect();
        let mut have: Vec<&(String, String)> = d.tags.iter().collect();
        want.sort();
        have.sort();
        if old == stack.template && same_parameters && want == have {
            eprintln!("{who}: {}", style.green("no changes"));
            update_termination_protection(&env, stack, current.as_ref()).await?;
            return Ok(no_changes(d.id.clone(), diff));
        }
    }

    match opts.method {
        DeployMethod::ChangeSet => {
            let cs_name = format!("cairn-deploy-{}", std::process::id());
            let mut req = env
                .cfn
                .create_change_set()
                .stack_name(name)
                .change_set_name(&cs_name)
                .change_set_type(if creating {
                    ChangeSetType::Create
                } else {
                    ChangeSetType::Update
                })
                .set_parameters(Some(params))
                .set_tags(Some(tags))
                .set_notification_arns(Some(opts.notification_arns.clone()))
                .set_capabilities(Some(capabilities.to_vec()))
                .description("cairn deploy");
            req = match &template_url {
                Some(u) => req.template_url(u),
                None => req.template_body(&body),
            };
            let created = match req.send().await {
                Ok(c) => c,
                // Some endpoints refuse an unchanged update at once instead of failing the
                // change set.
                Err(e) if e.message().is_some_and(is_no_changes) => {
                    eprintln!("{who}: {}", style.green("no changes"));
                    update_termination_protection(&env, stack, current.as_ref()).await?;
                    let id = current
                        .as_ref()
                        .map(|d| d.id.clone())
                        .unwrap_or_else(|| name.to_string());
                    return Ok(no_changes(id, diff));
                }
                Err(e) => return Err(aws_err(who, "CreateChangeSet", &e)),
            };
            let cs_id = created.id().unwrap_or(&cs_name).to_string();
            stack_id = created.stack_id().unwrap_or(name).to_string();
            // Wait for the change set to be computed.
            let mut delay = Duration::from_millis(200);
            let cs = loop {
                let out = env
                    .cfn
                    .describe_change_set()
                    .change_set_name(&cs_id)
                    .stack_name(&stack_id)
                    .send()
                    .await
                    .map_err(|e| aws_err(who, "DescribeChangeSet", &e))?;
                if matches!(
                    out.status(),
                    Some(ChangeSetStatus::CreateComplete | ChangeSetStatus::Failed)
                ) {
                    break out;
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            };
            let delete_cs = || async {
                let _ = env
                    .cfn
                    .delete_change_set()
                    .change_set_name(&cs_id)
                    .stack_name(&stack_id)
                    .send()
                    .await;
            };
            if cs.status() == Some(&ChangeSetStatus::Failed) {
                let reason = cs.status_reason().unwrap_or("no reason given").to_string();
                delete_cs().await;
                if is_no_changes(&reason) {
                    eprintln!("{who}: {}", style.green("no changes"));
                    update_termination_protection(&env, stack, current.as_ref()).await?;
                    return Ok(no_changes(stack_id, diff));
                }
                return Err(Error::InvalidTemplate {
                    stack: who.into(),
                    message: format!("the change set failed: {reason}"),
                });
            }
            let mut cs_lines = Vec::new();
            for c in cs.changes() {
                if let Some(rc) = c.resource_change() {
                    let id = rc.logical_resource_id().unwrap_or_default();
                    let repl = cfn_replacement(rc.replacement());
                    diff.raise_replacement(id, repl);
                    cs_lines.push(format!(
                        "  {} {} {}{}",
                        rc.action().map(|a| a.as_str()).unwrap_or("?"),
                        rc.resource_type().unwrap_or_default(),
                        id,
                        match repl {
                            Replacement::Always => " (replacement)",
                            Replacement::Conditional => " (may be replaced)",
                            Replacement::Never => "",
                        }
                    ));
                }
            }
            eprintln!("{}", diff.render(style).trim_end());
            if !cs_lines.is_empty() {
                eprintln!("{who}: change set {cs_name}:\n{}", cs_lines.join("\n"));
            }
            if let Err(e) = gate(ctx, stack, &diff, opts, !cs_lines.is_empty(), &cs_name).await {
                delete_cs().await;
                return Err(e);
            }
            for e in stack_events(&env, &stack_id, who).await.unwrap_or_default() {
                renderer.skip(&e);
            }
            let mut exec = env
                .cfn
                .execute_change_set()
                .change_set_name(&cs_id)
                .stack_name(&stack_id);
            if opts.no_rollback {
                exec = exec.disable_rollback(true);
            }
            exec.send()
                .await
                .map_err(|e| aws_err(who, "ExecuteChangeSet", &e))?;
        }
        DeployMethod::Direct => {
            eprintln!("{}", diff.render(style).trim_end());
            gate(ctx, stack, &diff, opts, !diff.is_empty(), "(direct)").await?;
            if let Some(d) = &current {
                for e in stack_events(&env, &d.id, who).await.unwrap_or_default() {
                    renderer.skip(&e);
                }
            }
            if creating {
                let mut req = env
                    .cfn
                    .create_stack()
                    .stack_name(name)
                    .set_parameters(Some(params))
                    .set_tags(Some(tags))
                    .set_notification_arns(Some(opts.notification_arns.clone()))
                    .set_capabilities(Some(capabilities.to_vec()))
                    .disable_rollback(opts.no_rollback)
                    .enable_termination_protection(stack.termination_protection);
                req = match &template_url {
                    Some(u) => req.template_url(u),
                    None => req.template_body(&body),
                };
                let out = req.send().await.map_err(|e| aws_err(who, "CreateStack", &e))?;
                stack_id = out.stack_id().unwrap_or(name).to_string();
            } else {
                let id = current
                    .as_ref()
                    .map(|d| d.id.clone())
                    .unwrap_or_else(|| name.to_string());
                let mut req = env
                    .cfn
                    .update_stack()
                    .stack_name(&id)
                    .set_parameters(Some(params))
                    .set_tags(Some(tags))
                    .set_notification_arns(Some(opts.notification_arns.clone()))
                    .set_capabilities(Some(capabilities.to_vec()))
                    .disable_rollback(opts.no_rollback);
                req = match &template_url {
                    Some(u) => req.template_url(u),
                    None => req.template_body(&body),
                };
                match req.send().await {
                    Ok(_) => {}
                    Err(e) if e.message().is_some_and(is_no_changes) => {
                        eprintln!("{who}: {}", style.green("no changes"));
                        update_termination_protection(&env, stack, current.as_ref()).await?;
                        return Ok(no_changes(id, diff));
                    }
                    Err(e) => return Err(aws_err(who, "UpdateStack", &e)),
                }
                stack_id = id;
            }
        }
    }

    let (status, reason) = follow(&env, &stack_id, who, &mut renderer, "deployment").await?;
    if !is_deploy_success(&status) {
        let hint = if opts.no_rollback && status.ends_with("_FAILED") {
            "\n  (rollback is disabled: fix the cause and deploy again to retry from the point of failure)"
        } else if status == "ROLLBACK_COMPLETE" {
            "\n  (the next deploy deletes the stack and creates it again)"
        } else {
            ""
        };
        return Err(Error::OperationFailed {
            stack: who.into(),
            operation: "deploy",
            status,
            reasons: failure_reasons(&renderer, reason.as_deref()) + hint,
        });
    }
    let after = describe(&env, &stack_id).await?;
    update_termination_protection(&env, stack, after.as_ref()).await?;
    let outputs = after.map(|d| d.outputs).unwrap_or_default();
    eprintln!("{}", style.green(&format!("✅ {who} ({status})")));
    if !outputs.is_empty() {
        let mut text = String::from("Outputs:\n");
        for (k, v) in &outputs {
            text.push_str(&format!("{name}.{k} = {v}\n"));
        }
        if ctx.options.json {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
    if !ctx.options.json {
        println!("Stack ARN: {stack_id}");
    }
    Ok(Deployment {
        stack: who.into(),
        stack_name: name.into(),
        stack_id,
        result: "deployed",
        status,
        outputs,
        diff,
    })
}

async fn update_termination_protection(env: &Env, stack: &Stack, current: Option<&Deployed>) -> Result<()> {
    let Some(d) = current else { return Ok(()) };
    if d.termination_protection == stack.termination_protection {
        return Ok(());
    }
    env.cfn
        .update_termination_protection()
        .stack_name(&d.id)
        .enable_termination_protection(stack.termination_protection)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_err(&stack.display_name, "UpdateTerminationProtection", &e))
}

/// Refuses data loss (unless `--force`) and asks for approval when the mode wants it.
async fn gate(
    ctx: &Ctx,
    stack: &Stack,
    diff: &TemplateDiff,
    opts: &DeployOptions,
    any_change: bool,
    change_set: &str,
) -> Result<()> {
    let who = &stack.display_name;
    let lost = diff.data_loss();
    if !lost.is_empty() {
        let list = lost
            .iter()
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
            .join(", ");
        if opts.force {
            eprintln!(
                "{}",
                ctx.style
                    .red_bold(&format!("{who}: --force: destroying data in {list}"))
            );
        } else {
            return Err(Error::DataLoss {
                stack: who.clone(),
                resources: list,
            });
        }
    }
    let why = match opts.require_approval {
        RequireApproval::Never => None,
        RequireApproval::AnyChange if any_change || !diff.is_empty() => Some("--require-approval any-change"),
        RequireApproval::AnyChange => None,
        RequireApproval::Broadening if diff.broadens_security() => {
            Some("it widens IAM permissions or security group rules")
        }
        RequireApproval::Broadening => None,
    };
    let Some(why) = why else { return Ok(()) };
    if !std::io::stdin().is_terminal() {
        return Err(Error::ApprovalNeeded {
            stack: who.clone(),
            why: why.into(),
        });
    }
    if ask(
        ctx,
        &format!("{who}: {why}. Do you wish to deploy these changes?"),
    )
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

// --------------------------------------------------------------------- destroy ----

async fn destroy_cmd(dir: &Path, args: DestroyArgs) -> Result<()> {
    let asm = Assembly::load(dir)?;
    if args.stacks.is_empty() && !args.all && asm.stacks.len() > 1 {
        return Err(Error::Usage(format!(
            "the app has {} stacks; name the stacks to destroy (wildcards work) or pass --all",
            asm.stacks.len()
        )));
    }
    let patterns = if args.all { Vec::new() } else { args.stacks.clone() };
    let mut chosen: Vec<&Stack> = asm.select(&patterns, false)?;
    if !args.exclusively {
        // The stacks that depend on the chosen ones go first.
        let mut ids: HashSet<String> = chosen.iter().map(|s| s.artifact_id.clone()).collect();
        loop {
            let more: Vec<&Stack> = asm
                .stacks
                .iter()
                .filter(|s| !ids.contains(&s.artifact_id) && s.dependencies.iter().any(|d| ids.contains(d)))
                .collect();
            if more.is_empty() {
                break;
            }
            for s in more {
                ids.insert(s.artifact_id.clone());
                chosen.push(s);
            }
        }
    }
    let mut order = dependency_order(&chosen)?;
    order.reverse();
    let names: Vec<&str> = order.iter().map(|s| s.display_name.as_str()).collect();
    let ctx = Ctx::new(&args.aws).await;
    if !args.force {
        if !std::io::stdin().is_terminal() {
            return Err(Error::ConfirmationNeeded {
                stacks: names.join(", "),
            });
        }
        if !ask(
            &ctx,
            &format!("Are you sure you want to delete: {}?", names.join(", ")),
        )
        .await
        {
            eprintln!("nothing was deleted");
            return Ok(());
        }
    }
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for s in &order {
        match destroy_stack(&ctx, s).await {
            Ok(r) => report.push(r),
            Err(e) => {
                eprintln!("{}", ctx.style.red(&format!("❌ {e}")));
                failed.push(s.display_name.clone());
                if matches!(e, Error::Interrupted { .. }) {
                    break;
                }
            }
        }
    }
    if args.aws.json {
        print_json(&json!({"stacks": report, "failed": failed}));
    }
    finish(failed, order.len())
}

async fn destroy_stack(ctx: &Ctx, stack: &Stack) -> Result<Json> {
    let who = stack.display_name.as_str();
    let env = ctx.env(stack.region.as_deref(), who).await?;
    let Some(d) = describe(&env, &stack.stack_name).await? else {
        eprintln!(
            "{who}: the stack {} does not exist; nothing to destroy",
            stack.stack_name
        );
        return Ok(json!({"stack": who, "stackName": stack.stack_name, "result": "absent", "retained": []}));
    };
    if d.termination_protection {
        return Err(Error::StackState {
            stack: who.into(),
            message: format!(
                "termination protection is on; turn it off (`aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {}`, or remove it from the app and deploy) and destroy again",
                stack.stack_name
            ),
        });
    }
    // What the deletion keeps: resources whose DeletionPolicy retains them.
    let template = deployed_template(&env, &d.id).await.unwrap_or(Json::Null);
    let physical: HashMap<String, String> =
        match env.cfn.describe_stack_resources().stack_name(&d.id).send().await {
            Ok(out) => out
                .stack_resources()
                .iter()
                .filter_map(|r| {
                    Some((
                        r.logical_resource_id()?.to_string(),
                        r.physical_resource_id().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            Err(_) => HashMap::new(),
        };
    let mut retained = Vec::new();
    for (id, r) in template
        .get("Resources")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
    {
        let policy = r.get("DeletionPolicy").and_then(Json::as_str).unwrap_or("Delete");
        if matches!(policy, "Retain" | "RetainExceptOnCreate" | "Snapshot") {
            retained.push(json!({
                "logicalId": id,
                "type": r.get("Type").and_then(Json::as_str).unwrap_or("?"),
                "physicalId": physical.get(id).cloned().unwrap_or_default(),
                "policy": policy,
            }));
        }
    }
    eprintln!(
        "{}",
        ctx.style
            .bold(&format!("{who}: destroying ({})", stack.stack_name))
    );
    let total = template
        .get("Resources")
        .and_then(Json::as_object)
        .map_or(0, |r| r.len());
    delete_and_wait(&env, &d, who, total, ctx.style).await?;
    eprintln!("{}", ctx.style.green(&format!("✅ {who}: destroyed")));
    for r in &retained {
        let line = format!(
            "{who}: retained {} ({}) {} (DeletionPolicy {})",
            r["logicalId"].as_str().unwrap_or_default(),
            r["type"].as_str().unwrap_or_default(),
            r["physicalId"].as_str().unwrap_or_default(),
            r["policy"].as_str().unwrap_or_default(),
        );
        if ctx.options.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    Ok(json!({"stack": who, "stackName": stack.stack_name, "result": "destroyed", "retained": retained}))
}

// ------------------------------------------------------------------- bootstrap ----

async fn bootstrap_cmd(dir: &Path, args: BootstrapArgs) -> Result<()> {
    let template = bootstrap::template();
    if args.show_template {
        println!("{}", serde_json::to_string_pretty(&template).unwrap_or_default());
        return Ok(());
    }
    let ctx = Ctx::new(&args.aws).await;
    // Environments: given, else the assembly's, else the configured one.
    let mut envs: Vec<(Option<String>, Option<String>)> = args
        .environments
        .iter()
        .map(|e| crate::assembly::parse_environment(e))
        .collect();
    if envs.is_empty() {
        if let Ok(asm) = Assembly::load(dir) {
            for s in &asm.stacks {
                let e = (s.account.clone(), s.region.clone());
                if !envs.contains(&e) {
                    envs.push(e);
                }
            }
        }
    }
    if envs.is_empty() {
        envs.push((None, None));
    }
    let body = serde_json::to_string_pretty(&template).unwrap_or_default();
    let stack = Stack {
        artifact_id: bootstrap::TOOLKIT_STACK.into(),
        stack_name: bootstrap::TOOLKIT_STACK.into(),
        display_name: bootstrap::TOOLKIT_STACK.into(),
        account: None,
        region: None,
        dependencies: vec![],
        template_file: PathBuf::new(),
        template,
        template_body: body,
        tags: vec![],
        termination_protection: args.termination_protection,
        asset_manifests: vec![],
    };
    for a in &args.trust {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Usage(format!("--trust {a}: an account is 12 digits")));
        }
    }
    let mut parameters = Vec::new();
    for (key, values) in [
        (bootstrap::TRUSTED_ACCOUNTS, &args.trust),
        (bootstrap::EXECUTION_POLICIES, &args.execution_policies),
    ] {
        if !values.is_empty() {
            parameters.push((None, key.to_string(), values.join(",")));
        }
    }
    let opts = DeployOptions {
        require_approval: RequireApproval::Never,
        parameters,
        tags: vec![],
        notification_arns: vec![],
        no_rollback: false,
        force: false,
        method: DeployMethod::ChangeSet,
        check_bootstrap: false,
    };
    let mut report = Vec::new();
    let mut seen = HashSet::new();
    for (account, region) in envs {
        let env = ctx.env(region.as_deref(), bootstrap::TOOLKIT_STACK).await?;
        let actual = env.account(bootstrap::TOOLKIT_STACK).await?;
        if let Some(a) = &account {
            if a != &actual {
                return Err(Error::Usage(format!(
                    "bootstrap aws://{a}/{}: the credentials are for account {actual}; use credentials (or --profile) for {a}",
                    env.region
                )));
            }
        }
        if !seen.insert(env.region.clone()) {
            continue;
        }
        let mut s = stack.clone();
        s.region = Some(env.region.clone());
        let environment = format!("aws://{actual}/{}", env.region);
        eprintln!("{}", ctx.style.bold(&format!("Bootstrapping {environment}")));
        let d = deploy_stack(&ctx, &s, &opts).await?;
        let bucket = bootstrap::bucket_name(&actual, &env.region);
        if !ctx.options.json {
            println!(
                "Environment {environment} bootstrapped (stack {}, bucket {bucket}).",
                bootstrap::TOOLKIT_STACK
            );
        }
        report.push(
            json!({"environment": environment, "stackId": d.stack_id, "result": d.result, "bucket": bucket}),
        );
    }
    if args.aws.json {
        print_json(&json!({"environments": report}));
    }
    Ok(())
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

    #[test]
    fn no_change_reasons() {
        assert!(is_no_changes("The submitted information didn't contain changes. Submit different information to create a change set."));
        assert!(is_no_changes("No updates are to be performed."));
        assert!(!is_no_changes("Template format error"));
    }
}
