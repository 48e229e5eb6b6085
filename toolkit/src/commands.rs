//! The commands that talk to AWS: `diff`, `deploy`, `destroy` and `bootstrap`, and the
//! day-2 commands of [`crate::ops`] (`rollback`, `drift`, `import`, `gc`).
//!
//! A command is first [`Prepared`]: the assembly read and checked, the arguments parsed, the
//! stacks chosen and ordered, with no call, so an unreadable assembly or a bad argument is
//! refused before anything is asked of AWS. It then runs against a [`Ctx`] over any
//! [`Clouds`]: the AWS SDK's in the CLI ([`run`]), the in-memory fake in the tests.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value as Json};

use crate::assembly::{dependency_order, Assembly, Stack};
use crate::aws::AwsClouds;
use crate::bootstrap;
use crate::client::{CloudFormation, Clouds};
use crate::context::Ctx;
use crate::deploy::plan::{bootstrap_options, DeployPlan};
use crate::deploy::{deploy, deploy_stack};
use crate::diff::diff_templates;
use crate::error::{Error, Result};
use crate::facts::SchemaFacts;
use crate::reporter::Reporter;
use crate::wait::{delete_and_wait, deployed_template, describe};
use crate::{
    AwsOptions, BootstrapArgs, Command, DeployArgs, DestroyArgs, DiffArgs, DriftArgs, GcArgs, ImportArgs,
    RollbackArgs,
};

/// How many stacks `diff` and `destroy` read at once.
const READS_AT_ONCE: usize = 8;

/// A command, checked and planned, before any call.
pub(crate) enum Prepared {
    /// `diff`.
    Diff {
        /// The chosen stacks, in manifest order.
        stacks: Vec<Stack>,
        /// The arguments.
        args: DiffArgs,
    },
    /// `deploy`.
    Deploy {
        /// The plan.
        plan: DeployPlan,
        /// The arguments.
        args: DeployArgs,
    },
    /// `destroy`.
    Destroy {
        /// The stacks, dependents first.
        order: Vec<Stack>,
        /// The arguments.
        args: DestroyArgs,
    },
    /// `bootstrap`.
    Bootstrap {
        /// `(account, region)` of each environment (`None`: the configured one).
        environments: Vec<(Option<String>, Option<String>)>,
        /// The arguments.
        args: BootstrapArgs,
    },
    /// `bootstrap --show-template`: no AWS at all.
    ShowTemplate,
    /// `rollback`.
    Rollback {
        /// The chosen stacks, in manifest order.
        stacks: Vec<Stack>,
        /// The arguments.
        args: RollbackArgs,
    },
    /// `drift`.
    Drift {
        /// The chosen stacks, in manifest order.
        stacks: Vec<Stack>,
        /// The arguments.
        args: DriftArgs,
    },
    /// `import`.
    Import {
        /// The stack and the mapping.
        plan: Box<crate::ops::import::ImportPlan>,
        /// The arguments.
        args: ImportArgs,
    },
    /// `gc`.
    Gc {
        /// `(account, region)` of each environment (`None`: the configured one).
        environments: Vec<(Option<String>, Option<String>)>,
        /// The arguments.
        args: GcArgs,
    },
}

impl Prepared {
    /// Reads the assembly in `dir` (not needed by `bootstrap`) and plans `command`.
    pub(crate) fn new(dir: &Path, command: Command) -> Result<Prepared> {
        Ok(match command {
            Command::Diff(args) => {
                let asm = Assembly::load(dir)?;
                let stacks = asm.select(&args.stacks, false)?.into_iter().cloned().collect();
                Prepared::Diff { stacks, args }
            }
            Command::Deploy(args) => {
                let asm = Assembly::load(dir)?;
                let plan = crate::deploy::plan::plan(&asm, &args)?;
                Prepared::Deploy { plan, args }
            }
            Command::Destroy(args) => {
                let asm = Assembly::load(dir)?;
                let order = destroy_order(&asm, &args)?;
                Prepared::Destroy { order, args }
            }
            Command::Rollback(args) => {
                let asm = Assembly::load(dir)?;
                let stacks = crate::ops::rollback::prepare(&asm, &args)?;
                Prepared::Rollback { stacks, args }
            }
            Command::Drift(args) => {
                let asm = Assembly::load(dir)?;
                let stacks = asm.select(&args.stacks, false)?.into_iter().cloned().collect();
                Prepared::Drift { stacks, args }
            }
            Command::Import(args) => {
                let asm = Assembly::load(dir)?;
                let plan = Box::new(crate::ops::import::prepare(&asm, &args)?);
                Prepared::Import { plan, args }
            }
            Command::Gc(args) => {
                crate::ops::gc::prepare(&args)?;
                let environments = crate::ops::environments(dir, &args.environments);
                Prepared::Gc { environments, args }
            }
            Command::Bootstrap(args) if args.show_template => Prepared::ShowTemplate,
            Command::Bootstrap(args) => {
                for (flag, accounts) in [
                    ("--trust", &args.trust),
                    ("--trust-for-lookup", &args.trust_for_lookup),
                ] {
                    for a in accounts {
                        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                            return Err(Error::Usage(format!("{flag} {a}: an account is 12 digits")));
                        }
                    }
                }
                if let Some(q) = &args.qualifier {
                    if !cairn_core::BootstrapNames::is_valid_qualifier(q) {
                        return Err(Error::Usage(format!(
                            "--qualifier {q}: a qualifier is 1 to 10 letters, digits, '-' or '_'"
                        )));
                    }
                }
                // Environments: given, else the assembly's, else the configured one.
                let environments = crate::ops::environments(dir, &args.environments);
                Prepared::Bootstrap { environments, args }
            }
        })
    }

    fn aws(&self) -> Option<&AwsOptions> {
        match self {
            Prepared::Diff { args, .. } => Some(&args.aws),
            Prepared::Deploy { args, .. } => Some(&args.aws),
            Prepared::Destroy { args, .. } => Some(&args.aws),
            Prepared::Bootstrap { args, .. } => Some(&args.aws),
            Prepared::Rollback { args, .. } => Some(&args.aws),
            Prepared::Drift { args, .. } => Some(&args.aws),
            Prepared::Import { args, .. } => Some(&args.aws),
            Prepared::Gc { args, .. } => Some(&args.aws),
            Prepared::ShowTemplate => None,
        }
    }

    /// Runs the command.
    pub(crate) async fn run<P: Clouds>(self, ctx: Arc<Ctx<P>>) -> Result<()> {
        match self {
            Prepared::Diff { stacks, args } => diff(&ctx, &stacks, &args).await,
            Prepared::Deploy { plan, args } => {
                deploy(&ctx, plan, args.outputs_file.as_deref()).await.map(|_| ())
            }
            Prepared::Destroy { order, args } => destroy(&ctx, &order, &args).await,
            Prepared::Bootstrap { environments, args } => run_bootstrap(&ctx, environments, &args).await,
            Prepared::ShowTemplate => {
                ctx.report.text(&show_template());
                Ok(())
            }
            Prepared::Rollback { stacks, args } => crate::ops::rollback::run(&ctx, &stacks, &args).await,
            Prepared::Drift { stacks, args } => crate::ops::drift::run(&ctx, &stacks, &args).await,
            Prepared::Import { plan, args } => crate::ops::import::run(&ctx, &plan, &args).await,
            Prepared::Gc { environments, args } => crate::ops::gc::run(&ctx, environments, &args).await,
        }
    }
}

/// Entry point of the AWS commands: prepares `command` on the assembly in `dir`, then runs
/// it with the AWS SDK, writing to standard output and standard error.
pub(crate) async fn run(dir: &Path, command: Command) -> Result<()> {
    let prepared = Prepared::new(dir, command)?;
    let Some(options) = prepared.aws() else {
        // bootstrap --show-template: no AWS at all.
        Reporter::stdio(false).text(&show_template());
        return Ok(());
    };
    let report = Reporter::stdio(options.json);
    let clouds = AwsClouds::new(options).await;
    prepared.run(Arc::new(Ctx::new(clouds, report, true))).await
}

fn show_template() -> String {
    let text = serde_json::to_string_pretty(&bootstrap::template()).unwrap_or_default();
    format!("{text}\n")
}

// ------------------------------------------------------------------------ diff ----

async fn diff<P: Clouds>(ctx: &Ctx<P>, stacks: &[Stack], args: &DiffArgs) -> Result<()> {
    // The deployed templates, several at once, in stack order.
    let deployed = crate::join::bounded(
        stacks.iter().map(|s| deployed_or_null(ctx, s)).collect(),
        READS_AT_ONCE,
    )
    .await;
    let style = ctx.report.out_style;
    let mut report = Vec::new();
    let mut changed = Vec::new();
    for (s, old) in stacks.iter().zip(deployed) {
        let old = old?;
        let diff = diff_templates(&old, &s.template, &SchemaFacts);
        if !diff.is_empty() {
            changed.push(s.display_name.clone());
        }
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
        ctx.report.text(&format!(
            "{}\n{text}\n",
            style.bold(&format!("Stack {}", s.display_name))
        ));
        report.push(json!({"stack": s.display_name, "stackName": s.stack_name, "exists": !old.is_null(), "diff": diff}));
    }
    if ctx.report.json {
        ctx.report.document(&json!({"stacks": report}));
    } else {
        ctx.report.text(&format!(
            "✨ Number of stacks with differences: {}\n",
            changed.len()
        ));
    }
    if args.fail && !changed.is_empty() {
        return Err(Error::Differences(changed.join(", ")));
    }
    Ok(())
}

/// The deployed template of the stack (`Null` when it does not exist), read through the
/// lookup role when the manifest names one.
async fn deployed_or_null<P: Clouds>(ctx: &Ctx<P>, s: &Stack) -> Result<Json> {
    let who = s.display_name.as_str();
    let base = ctx.env(s.region.as_deref(), who).await?;
    let env = ctx
        .env_as(&base, s, s.synthesizer.lookup_role_arn.as_deref())
        .await?;
    match describe(&env.cloud, &s.stack_name, who).await? {
        Some(d) if d.status != "REVIEW_IN_PROGRESS" => deployed_template(&env.cloud, &d.id, who).await,
        _ => Ok(Json::Null),
    }
}

// --------------------------------------------------------------------- destroy ----

/// The stacks `destroy` deletes, dependents first.
fn destroy_order(asm: &Assembly, args: &DestroyArgs) -> Result<Vec<Stack>> {
    let mut chosen: Vec<&Stack> = crate::ops::named_or_all(asm, &args.stacks, args.all, "destroy")?;
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
    let mut order: Vec<Stack> = dependency_order(&chosen)?.into_iter().cloned().collect();
    order.reverse();
    Ok(order)
}

async fn destroy<P: Clouds>(ctx: &Ctx<P>, order: &[Stack], args: &DestroyArgs) -> Result<()> {
    let names: Vec<&str> = order.iter().map(|s| s.display_name.as_str()).collect();
    if !args.force {
        if !ctx.report.can_ask() {
            return Err(Error::ConfirmationNeeded {
                stacks: names.join(", "),
            });
        }
        if !ctx
            .report
            .ask(&format!("Are you sure you want to delete: {}?", names.join(", ")))
            .await
        {
            ctx.report.progress("nothing was deleted");
            return Ok(());
        }
    }
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for s in order {
        match destroy_stack(ctx, s).await {
            Ok(r) => report.push(r),
            Err(e) => {
                ctx.report.progress(&ctx.report.style.red(&format!("❌ {e}")));
                failed.push(s.display_name.clone());
                if matches!(e, Error::Interrupted { .. }) {
                    break;
                }
            }
        }
    }
    if ctx.report.json {
        ctx.report.document(&json!({"stacks": report, "failed": failed}));
    }
    crate::deploy::report::finish(failed, order.len())
}

async fn destroy_stack<P: Clouds>(ctx: &Ctx<P>, stack: &Stack) -> Result<Json> {
    let who = stack.display_name.as_str();
    // Through the deploy role; CloudFormation deletes with the execution role.
    let crate::ops::StackEnv {
        env, execution_role, ..
    } = crate::ops::stack_env(ctx, stack).await?;
    let Some(d) = describe(&env.cloud, &stack.stack_name, who).await? else {
        ctx.report.progress(&format!(
            "{who}: the stack {} does not exist; nothing to destroy",
            stack.stack_name
        ));
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
    let (template, resources) = tokio::join!(
        deployed_template(&env.cloud, &d.id, who),
        env.cloud.stack_resources(&d.id)
    );
    let template = template.unwrap_or(Json::Null);
    let physical: HashMap<String, String> = resources.unwrap_or_default().into_iter().collect();
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
    ctx.report.progress(
        &ctx.report
            .style
            .bold(&format!("{who}: destroying ({})", stack.stack_name)),
    );
    let total = template
        .get("Resources")
        .and_then(Json::as_object)
        .map_or(0, |r| r.len());
    delete_and_wait(ctx, &env, &d.id, execution_role.as_deref(), who, total).await?;
    ctx.report
        .progress(&ctx.report.style.green(&format!("✅ {who}: destroyed")));
    for r in &retained {
        ctx.report.result(&format!(
            "{who}: retained {} ({}) {} (DeletionPolicy {})\n",
            r["logicalId"].as_str().unwrap_or_default(),
            r["type"].as_str().unwrap_or_default(),
            r["physicalId"].as_str().unwrap_or_default(),
            r["policy"].as_str().unwrap_or_default(),
        ));
    }
    Ok(json!({"stack": who, "stackName": stack.stack_name, "result": "destroyed", "retained": retained}))
}

// ------------------------------------------------------------------- bootstrap ----

async fn run_bootstrap<P: Clouds>(
    ctx: &Ctx<P>,
    environments: Vec<(Option<String>, Option<String>)>,
    args: &BootstrapArgs,
) -> Result<()> {
    let template = bootstrap::template();
    let body = serde_json::to_string_pretty(&template).unwrap_or_default();
    let name = match args.toolkit_stack_name.as_str() {
        "" => bootstrap::TOOLKIT_STACK,
        n => n,
    };
    let stack = Stack {
        artifact_id: name.into(),
        stack_name: name.into(),
        display_name: name.into(),
        account: None,
        region: None,
        dependencies: vec![],
        template_file: PathBuf::new(),
        template,
        template_body: body,
        tags: vec![],
        termination_protection: args.termination_protection,
        asset_manifests: vec![],
        synthesizer: crate::assembly::Synthesizer::default(),
    };
    let mut parameters = Vec::new();
    for (key, values) in [
        (bootstrap::TRUSTED_ACCOUNTS, &args.trust),
        (bootstrap::TRUSTED_ACCOUNTS_FOR_LOOKUP, &args.trust_for_lookup),
        (bootstrap::EXECUTION_POLICIES, &args.execution_policies),
    ] {
        if !values.is_empty() {
            parameters.push((None, key.to_string(), values.join(",")));
        }
    }
    for (key, value) in [
        (bootstrap::QUALIFIER, &args.qualifier),
        (bootstrap::KMS_KEY_ID, &args.kms_key_id),
    ] {
        if let Some(v) = value {
            parameters.push((None, key.to_string(), v.clone()));
        }
    }
    // A stack of another variant (the CDK's own template) is replaced on request only; the
    // variant is always this template's.
    parameters.push((None, bootstrap::VARIANT.into(), bootstrap::CAIRN_VARIANT.into()));
    let opts = bootstrap_options(parameters);
    let mut report = Vec::new();
    let mut seen = HashSet::new();
    for (account, region) in environments {
        let env = ctx.env(region.as_deref(), name).await?;
        let (actual, current) = tokio::try_join!(env.account(name), describe(&env.cloud, name, name))?;
        if let Some(a) = &account {
            if a != &actual {
                return Err(Error::Usage(format!(
                    "bootstrap aws://{a}/{}: the credentials are for account {actual}; use credentials (or --profile) for {a}",
                    env.region()
                )));
            }
        }
        if !seen.insert(env.region().to_string()) {
            continue;
        }
        let environment = format!("aws://{actual}/{}", env.region());
        let previous = |key: &str| current.as_ref().and_then(|c| c.parameters.get(key)).cloned();
        if let Some(variant) = previous(bootstrap::VARIANT).filter(|v| v != bootstrap::CAIRN_VARIANT) {
            if !args.force {
                return Err(Error::StackState {
                    stack: name.into(),
                    message: format!(
                        "{environment} is bootstrapped with another template (variant {variant:?}); cairn deploys into it as it is (it is compatible), so there is nothing to do; pass --force to replace it with cairn's"
                    ),
                });
            }
        }
        if let Some(v) = current
            .as_ref()
            .and_then(|c| c.outputs.get("BootstrapVersion"))
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|v| *v > bootstrap::BOOTSTRAP_VERSION)
        {
            return Err(Error::StackState {
                stack: name.into(),
                message: format!(
                    "{environment} is bootstrapped with version {v}, newer than this template's {}; not downgrading it",
                    bootstrap::BOOTSTRAP_VERSION
                ),
            });
        }
        let policies_before = previous(bootstrap::EXECUTION_POLICIES).is_some_and(|p| !p.trim().is_empty());
        if !args.trust.is_empty() && args.execution_policies.is_empty() && !policies_before {
            return Err(Error::Usage(
                "--trust needs --cloudformation-execution-policies: the managed policies CloudFormation deploys with for the trusted accounts (e.g. arn:aws:iam::aws:policy/AdministratorAccess)".into(),
            ));
        }
        let qualifier = args
            .qualifier
            .clone()
            .or_else(|| previous(bootstrap::QUALIFIER))
            .unwrap_or_else(|| cairn_core::DEFAULT_QUALIFIER.into());
        let names = cairn_core::BootstrapNames::new(qualifier.clone());
        let mut s = stack.clone();
        s.region = Some(env.region().to_string());
        ctx.report
            .progress(&ctx.report.style.bold(&format!("Bootstrapping {environment}")));
        let d = deploy_stack(ctx, &s, &[], &opts).await?;
        let bucket = bootstrap::bucket_name(&names, &actual, env.region());
        ctx.report.text(&format!(
            "Environment {environment} bootstrapped (stack {name}, qualifier {qualifier}, bucket {bucket}).\n"
        ));
        report.push(
            json!({"environment": environment, "stackId": d.stack_id, "result": d.result,
                           "qualifier": qualifier, "bucket": bucket}),
        );
    }
    if ctx.report.json {
        ctx.report.document(&json!({"environments": report}));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Harness;

    /// A temporary assembly directory: `(stack, template text, dependencies)`.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str, stacks: &[(&str, &str, &[&str])]) -> Self {
            let dir = std::env::temp_dir().join(format!("cairn-toolkit-cmd-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let mut artifacts = serde_json::Map::new();
            for (id, text, deps) in stacks {
                std::fs::write(dir.join(format!("{id}.template.json")), text).unwrap();
                artifacts.insert(
                    id.to_string(),
                    json!({"type": "aws:cloudformation:stack", "environment": "aws://unknown-account/unknown-region",
                           "properties": {"templateFile": format!("{id}.template.json")}, "dependencies": deps}),
                );
            }
            std::fs::write(
                dir.join("manifest.json"),
                json!({"version": "36.0.0", "artifacts": artifacts}).to_string(),
            )
            .unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const QUEUE: &str =
        r#"{"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}}}"#;

    #[tokio::test]
    async fn diff_with_the_endpoint_down_names_it_the_cause_and_what_to_check() {
        let dir = Dir::new("down", &[("Hello", QUEUE, &[])]);
        let h = Harness::new();
        h.world().unreachable = Some("http://127.0.0.1:4599".into());
        let prepared = Prepared::new(&dir.0, Command::Diff(DiffArgs::default())).unwrap();
        let e = prepared.run(h.ctx.clone()).await.unwrap_err();
        assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "Hello: DescribeStacks: cannot reach http://127.0.0.1:4599 (connection refused: nothing listens there); \
             check that the endpoint is running and that --endpoint-url or AWS_ENDPOINT_URL names it"
        );
        assert_eq!(h.world().calls, ["DescribeStacks Hello"], "one call, no retry");
    }

    #[tokio::test]
    async fn a_template_that_is_not_json_is_refused_before_any_call() {
        let dir = Dir::new(
            "notjson",
            &[
                ("Hello", QUEUE, &[]),
                ("Broken", "<html>502 Bad Gateway</html>", &[]),
            ],
        );
        let commands = [
            Command::Diff(DiffArgs::default()),
            Command::Deploy(DeployArgs {
                all: true,
                ..DeployArgs::default()
            }),
            Command::Destroy(DestroyArgs {
                all: true,
                force: true,
                ..DestroyArgs::default()
            }),
        ];
        for command in commands {
            // Preparing needs no client at all: nothing can have been called.
            let Err(e) = Prepared::new(&dir.0, command) else {
                panic!("accepted")
            };
            let shown = e.to_string();
            assert!(matches!(e, Error::Assembly { .. }), "{shown}");
            assert!(
                shown.contains(&format!(
                    "the template {} of stack Broken cannot be used: it is not JSON",
                    dir.0.join("Broken.template.json").display()
                )),
                "{shown}"
            );
        }
    }

    #[tokio::test]
    async fn diff_compares_with_the_deployed_templates_in_stack_order() {
        let changed = r#"{"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 45}}}}"#;
        let dir = Dir::new(
            "diff",
            &[("A", QUEUE, &[]), ("B", changed, &[]), ("C", QUEUE, &[])],
        );
        let h = Harness::new();
        let deployed: Json = serde_json::from_str(QUEUE).unwrap();
        h.world().put_stack("A", &deployed, "CREATE_COMPLETE");
        h.world().put_stack("B", &deployed, "UPDATE_COMPLETE");
        let args = DiffArgs {
            fail: true,
            ..DiffArgs::default()
        };
        let e = Prepared::new(&dir.0, Command::Diff(args))
            .unwrap()
            .run(h.ctx.clone())
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "differences found in B, C");
        let out = h.out.text();
        let (a, b, c) = (
            out.find("Stack A").unwrap(),
            out.find("Stack B").unwrap(),
            out.find("Stack C").unwrap(),
        );
        assert!(a < b && b < c, "{out}");
        assert!(out.contains("[-] 30"), "{out}");
        assert!(out.contains("[+] 45"), "{out}");
        assert!(out.contains("Number of stacks with differences: 2"), "{out}");
    }

    #[tokio::test]
    async fn destroy_deletes_dependents_first_and_reports_what_is_retained() {
        let kept = r#"{"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}}}"#;
        let dir = Dir::new("destroy", &[("Data", kept, &[]), ("App", QUEUE, &["Data"])]);
        let h = Harness::new();
        h.world()
            .put_stack("Data", &serde_json::from_str(kept).unwrap(), "CREATE_COMPLETE");
        h.world()
            .put_stack("App", &serde_json::from_str(QUEUE).unwrap(), "CREATE_COMPLETE");
        let args = DestroyArgs {
            all: true,
            ..DestroyArgs::default()
        };
        let e = Prepared::new(&dir.0, Command::Destroy(args.clone()))
            .unwrap()
            .run(h.ctx.clone())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("pass --force"), "{e}");
        assert!(h.world().calls_of("DeleteStack").is_empty());

        let forced = DestroyArgs { force: true, ..args };
        Prepared::new(&dir.0, Command::Destroy(forced))
            .unwrap()
            .run(h.ctx.clone())
            .await
            .unwrap();
        let w = h.world();
        let deleted: Vec<String> = w
            .calls_of("DeleteStack")
            .iter()
            .map(|id| w.stack(id).unwrap().name.clone())
            .collect();
        assert_eq!(deleted, ["App", "Data"]);
        assert!(w.stack("App").is_none() && w.stack("Data").is_none());
        drop(w);
        assert!(h
            .out
            .text()
            .contains("Data: retained Bucket (AWS::S3::Bucket) phys-Bucket (DeletionPolicy Retain)"));
    }

    #[tokio::test]
    async fn bootstrap_deploys_the_toolkit_stack_then_finds_nothing_to_change() {
        let h = Harness::new();
        {
            let mut w = h.world();
            w.stacks.clear();
            w.parameters.clear();
        }
        let run = |h: &Harness| {
            let prepared = Prepared::new(
                Path::new("no-assembly-here"),
                Command::Bootstrap(BootstrapArgs {
                    trust: vec!["444444444444".into()],
                    execution_policies: vec!["arn:aws:iam::aws:policy/PowerUserAccess".into()],
                    ..BootstrapArgs::default()
                }),
            )
            .unwrap();
            prepared.run(h.ctx.clone())
        };
        run(&h).await.unwrap();
        {
            let w = h.world();
            let s = w.stack(bootstrap::TOOLKIT_STACK).unwrap();
            assert_eq!(s.status, "CREATE_COMPLETE");
            assert_eq!(
                s.parameters.get(bootstrap::TRUSTED_ACCOUNTS).map(String::as_str),
                Some("444444444444")
            );
            assert!(
                w.calls_of("GetParameter").is_empty(),
                "no bootstrap check for bootstrap"
            );
        }
        assert!(h.out.text().contains(
            "Environment aws://123456789012/us-east-1 bootstrapped (stack CDKToolkit, qualifier hnb659fds, bucket cdk-hnb659fds-assets-123456789012-us-east-1)."
        ));
        let again = h.again();
        run(&again).await.unwrap();
        assert!(again.err.text().contains("CDKToolkit: no changes"));
    }

    fn bootstrap_with(h: &Harness, args: BootstrapArgs) -> impl std::future::Future<Output = Result<()>> {
        let prepared = Prepared::new(Path::new("no-assembly-here"), Command::Bootstrap(args));
        let ctx = h.ctx.clone();
        async move { prepared?.run(ctx).await }
    }

    #[tokio::test]
    async fn bootstrap_with_a_qualifier_names_its_bucket_and_passes_the_parameter() {
        let h = Harness::new();
        h.world().stacks.clear();
        bootstrap_with(
            &h,
            BootstrapArgs {
                qualifier: Some("team1".into()),
                ..BootstrapArgs::default()
            },
        )
        .await
        .unwrap();
        {
            let w = h.world();
            let s = w.stack(bootstrap::TOOLKIT_STACK).unwrap();
            assert_eq!(
                s.parameters.get(bootstrap::QUALIFIER).map(String::as_str),
                Some("team1")
            );
            assert_eq!(
                s.parameters.get(bootstrap::VARIANT).map(String::as_str),
                Some(bootstrap::CAIRN_VARIANT)
            );
        }
        assert!(h
            .out
            .text()
            .contains("(stack CDKToolkit, qualifier team1, bucket cdk-team1-assets-123456789012-us-east-1)"));
        // A re-run without --qualifier keeps the stack's.
        let again = h.again();
        bootstrap_with(&again, BootstrapArgs::default()).await.unwrap();
        assert!(
            again.out.text().contains("qualifier team1"),
            "{}",
            again.out.text()
        );

        let e = bootstrap_with(
            &h,
            BootstrapArgs {
                qualifier: Some("no/slashes".into()),
                ..BootstrapArgs::default()
            },
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("--qualifier no/slashes: a qualifier is 1 to 10 letters"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn bootstrap_leaves_the_cdks_own_stack_and_newer_versions_alone() {
        // `cdk bootstrap`'s template (its variant) is there: compatible, kept unless --force.
        let h = Harness::new();
        h.world()
            .stacks
            .last_mut()
            .unwrap()
            .parameters
            .insert(bootstrap::VARIANT.into(), bootstrap::CDK_VARIANT.into());
        let e = bootstrap_with(&h, BootstrapArgs::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is bootstrapped with another template (variant \"AWS CDK: Default Resources\")"),
            "{e}"
        );
        assert!(e.contains("pass --force to replace it"), "{e}");
        assert!(h.world().calls_of("CreateChangeSet").is_empty());
        bootstrap_with(
            &h,
            BootstrapArgs {
                force: true,
                ..BootstrapArgs::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(h.world().calls_of("CreateChangeSet"), [bootstrap::TOOLKIT_STACK]);

        // A newer bootstrap version is not downgraded.
        let h = Harness::new();
        {
            let mut w = h.world();
            w.stacks.clear();
            w.put_stack(
                bootstrap::TOOLKIT_STACK,
                &json!({"Outputs": {"BootstrapVersion": {"Value": "99"}}}),
                "UPDATE_COMPLETE",
            );
        }
        let e = bootstrap_with(&h, BootstrapArgs::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is bootstrapped with version 99, newer than this template's 33; not downgrading it"),
            "{e}"
        );

        // --trust needs the execution policies (the trusted accounts deploy with them).
        let h = Harness::new();
        h.world().stacks.clear();
        let e = bootstrap_with(
            &h,
            BootstrapArgs {
                trust: vec!["444444444444".into()],
                ..BootstrapArgs::default()
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e}");
        assert!(
            e.to_string()
                .starts_with("--trust needs --cloudformation-execution-policies"),
            "{e}"
        );
    }
}
