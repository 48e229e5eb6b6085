//! cairn's toolkit, the `cairn` CLI: `synth`, `list`, `diff`, `deploy`, `destroy` and
//! `bootstrap` a cloud assembly through the CloudFormation API, as the AWS CDK CLI does,
//! and its day-2 commands `rollback`, `drift`, `import` and `gc`; `deploy --hotswap` and
//! [`watch`] for the inner loop.
//!
//! In a directory with a `cdk.json`, `cairn` runs its `"app"` command with `CDK_OUTDIR`
//! set and the context in `CDK_CONTEXT_JSON` ([`app`]), then works on the assembly the app
//! wrote; `--app DIR` works on an assembly directory as it is, so CI can synthesize
//! without credentials and deploy the artifact later:
//!
//! ```text
//! cairn deploy --all                          # runs cdk.json's app, then deploys
//! cairn --app cdk.out deploy --all --require-approval never
//! ```
//!
//! An app built with the `cairn` crate's `toolkit` feature gets the same subcommands: they
//! synthesize to `--output` first, then call [`execute`] with a [`Command`].
//!
//! Credentials, profile and region come from the standard AWS chain; the endpoint can be
//! overridden with `AWS_ENDPOINT_URL` or `--endpoint-url` (a local CloudFormation
//! endpoint such as moto's, in the tests).

#![warn(missing_docs)]

pub mod app;
pub mod assembly;
mod aws;
pub mod bootstrap;
mod client;
mod commands;
mod context;
mod deploy;
pub mod diff;
pub mod error;
pub mod events;
pub mod facts;
mod hotswap;
#[cfg(feature = "integ")]
pub mod integ;
mod join;
pub mod lookup;
mod ops;
mod reporter;
mod signed;
pub mod style;
mod wait;
pub mod watch;

#[cfg(test)]
mod fake;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

pub use crate::error::{Error, Result};
pub use crate::ops::drift::DriftArgs;
pub use crate::ops::gc::{GcAction, GcArgs, GcType};
pub use crate::ops::import::ImportArgs;
pub use crate::ops::rollback::RollbackArgs;

/// Options every command that talks to AWS takes.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsOptions {
    /// The named profile (default: `AWS_PROFILE`, then `default`).
    #[arg(long)]
    pub profile: Option<String>,
    /// The region for stacks whose environment names none (default: `AWS_REGION`, then
    /// the profile's).
    #[arg(long)]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (default: `AWS_ENDPOINT_URL`, when set).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print one JSON document on standard output instead of text (progress still goes
    /// to standard error).
    #[arg(long)]
    pub json: bool,
    /// A role every call of the command is made as, assumed with the configured
    /// credentials. For library callers: an integration test case (`integ::IntegCase`)
    /// bootstraps another account through its access role. Not a command-line option; the
    /// CLI, like the CDK's, takes another account's credentials from a profile.
    #[arg(skip)]
    pub role_arn: Option<String>,
}

/// When `deploy` asks before changing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum RequireApproval {
    /// Never ask.
    Never,
    /// Ask for any change.
    AnyChange,
    /// Ask when IAM statements, managed policies or security group rules are added.
    #[default]
    Broadening,
}

/// How `deploy` changes a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum DeployMethod {
    /// Create a change set, show it, execute it (the default, as the CDK does).
    #[default]
    ChangeSet,
    /// `CreateStack`/`UpdateStack` without a change set (no change set review).
    Direct,
}

/// `diff [STACK...]`.
#[derive(Debug, Clone, Default, Args)]
pub struct DiffArgs {
    /// Stacks (artifact id, stack name or path; `*` wildcards); all when none is given.
    pub stacks: Vec<String>,
    /// Exit with status 1 when there are differences.
    #[arg(long)]
    pub fail: bool,
    /// Only show the security changes.
    #[arg(long)]
    pub security_only: bool,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// `deploy [STACK...|--all]`.
#[derive(Debug, Clone, Default, Args)]
pub struct DeployArgs {
    /// Stacks (artifact id, stack name or path; `*` wildcards). The stacks they depend on
    /// are deployed first unless `--exclusively`.
    pub stacks: Vec<String>,
    /// Deploy every stack.
    #[arg(long)]
    pub all: bool,
    /// Only the named stacks, not their dependencies.
    #[arg(long, short = 'e')]
    pub exclusively: bool,
    /// How many independent stacks deploy at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// When to ask for approval.
    #[arg(long, value_enum, default_value_t = RequireApproval::Broadening)]
    pub require_approval: RequireApproval,
    /// Stack parameters: `Stack:Key=Value`, or `Key=Value` for every stack declaring Key.
    #[arg(long = "parameters", value_name = "[STACK:]KEY=VALUE")]
    pub parameters: Vec<String>,
    /// Stack tags `Key=Value` (added to the tags of the manifest).
    #[arg(long = "tags", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// SNS topic ARNs that receive the stack events.
    #[arg(long = "notification-arns", value_name = "ARN")]
    pub notification_arns: Vec<String>,
    /// Leave failed resources in place (no rollback), to fix and deploy again from the
    /// point of failure.
    #[arg(long)]
    pub no_rollback: bool,
    /// Deploy even when the change destroys data-holding resources.
    #[arg(long)]
    pub force: bool,
    /// Write the stacks' outputs to this JSON file (`{"Stack": {"Key": "Value"}}`).
    #[arg(long, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,
    /// How to change the stacks.
    #[arg(long, value_enum, default_value_t = DeployMethod::ChangeSet)]
    pub method: DeployMethod,
    /// Apply the changes to Lambda functions' code and configuration, state machines'
    /// definitions and ECS task images through those services' APIs, without a change set;
    /// other changes are listed and left out. The stack drifts from its template: for
    /// development only.
    #[arg(long, conflicts_with = "hotswap_fallback")]
    pub hotswap: bool,
    /// As --hotswap when every change is hotswappable; else a full deployment.
    #[arg(long)]
    pub hotswap_fallback: bool,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// `destroy [STACK...|--all]`.
#[derive(Debug, Clone, Default, Args)]
pub struct DestroyArgs {
    /// Stacks (artifact id, stack name or path; `*` wildcards). The stacks that depend on
    /// them are destroyed first unless `--exclusively`.
    pub stacks: Vec<String>,
    /// Destroy every stack.
    #[arg(long)]
    pub all: bool,
    /// Only the named stacks, not the stacks depending on them.
    #[arg(long, short = 'e')]
    pub exclusively: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'f')]
    pub force: bool,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// `bootstrap [aws://ACCOUNT/REGION...]`.
#[derive(Debug, Clone, Default, Args)]
pub struct BootstrapArgs {
    /// Environments; default: those of the assembly's stacks, else the configured
    /// account and region.
    pub environments: Vec<String>,
    /// Print the bootstrap template and exit.
    #[arg(long)]
    pub show_template: bool,
    /// Turn on termination protection for the bootstrap stack.
    #[arg(long)]
    pub termination_protection: bool,
    /// The qualifier: names the bucket, roles and version parameter (default: the stack's
    /// previous value, else hnb659fds, the CDK's).
    #[arg(long)]
    pub qualifier: Option<String>,
    /// The bootstrap stack's name.
    #[arg(long, default_value = bootstrap::TOOLKIT_STACK)]
    pub toolkit_stack_name: String,
    /// An account (e.g. a pipeline's) allowed to publish assets and deploy here through the
    /// bootstrap roles (repeatable; needs --cloudformation-execution-policies).
    #[arg(long = "trust", value_name = "ACCOUNT")]
    pub trust: Vec<String>,
    /// An account allowed to look up values here through the lookup role (repeatable).
    #[arg(long = "trust-for-lookup", value_name = "ACCOUNT")]
    pub trust_for_lookup: Vec<String>,
    /// A managed policy ARN for the CloudFormation execution role (repeatable; default,
    /// without --trust: AdministratorAccess).
    #[arg(long = "cloudformation-execution-policies", value_name = "ARN")]
    pub execution_policies: Vec<String>,
    /// The KMS key of the assets bucket: a key id or ARN, or AWS_MANAGED_KEY (default: a
    /// new key).
    #[arg(long = "bootstrap-kms-key-id", value_name = "KEY")]
    pub kms_key_id: Option<String>,
    /// Replace a bootstrap stack of another variant (e.g. `cdk bootstrap`'s own template).
    #[arg(long)]
    pub force: bool,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// `synth [STACK...]`.
#[derive(Debug, Clone, Default, Args)]
pub struct SynthArgs {
    /// Stacks (artifact id, stack name or path; `*` wildcards). When one stack is chosen
    /// (or the app has one), its template is printed as YAML.
    pub stacks: Vec<String>,
    /// Print nothing on standard output.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `list`.
#[derive(Debug, Clone, Default, Args)]
pub struct ListArgs {
    /// Also show stack names, environments and dependencies.
    #[arg(long, short)]
    pub long: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The toolkit subcommands every app binary gets (an app has its own `list`).
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Compare the synthesized stacks with the deployed ones.
    Diff(DiffArgs),
    /// Deploy stacks (change set, approval, events, outputs).
    Deploy(DeployArgs),
    /// Delete deployed stacks.
    Destroy(DestroyArgs),
    /// Deploy the bootstrap stack (CDKToolkit, compatible with `cdk bootstrap`'s) into
    /// environments.
    Bootstrap(BootstrapArgs),
    /// Roll back stacks left failed by `deploy --no-rollback` (or continue a failed
    /// rollback).
    Rollback(RollbackArgs),
    /// Detect drift: the resources of deployed stacks changed outside CloudFormation.
    Drift(DriftArgs),
    /// Adopt existing resources the template adds into a stack (an IMPORT change set).
    Import(ImportArgs),
    /// Garbage-collect the bootstrap bucket: tag, then delete, assets no deployed stack
    /// references.
    Gc(GcArgs),
}

/// Runs a toolkit command on the assembly in `assembly_dir`. Errors are returned after
/// what could be done was done and reported (for several stacks, one error sums up).
pub fn execute(assembly_dir: &Path, command: Command) -> Result<()> {
    runtime()?.block_on(commands::run(assembly_dir, command))
}

/// The runtime a command runs on (two worker threads).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: PathBuf::from("<tokio runtime>"),
            source,
        })
}

/// Reports what was synthesized into `assembly_dir` (no AWS call): the template of the one
/// chosen stack as YAML, as `cdk synth` prints it, else where the stacks are.
pub fn synth(assembly_dir: &Path, args: &SynthArgs) -> Result<()> {
    let asm = assembly::Assembly::load(assembly_dir)?;
    let chosen = asm.select(&args.stacks, false)?;
    if args.quiet {
        return Ok(());
    }
    if let [one] = chosen.as_slice() {
        let yaml = serde_saphyr::to_string(&one.template).map_err(|e| {
            Error::Usage(format!(
                "{}: the template cannot be shown as YAML: {e}",
                one.display_name
            ))
        })?;
        print!("{yaml}");
        return Ok(());
    }
    eprintln!(
        "Successfully synthesized to {}\nStacks: {}",
        assembly_dir.display(),
        chosen
            .iter()
            .map(|s| s.display_name.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

/// Lists the stacks of the assembly in `assembly_dir` (no AWS call).
pub fn list(assembly_dir: &Path, args: &ListArgs) -> Result<()> {
    let asm = assembly::Assembly::load(assembly_dir)?;
    if args.json {
        let v: Vec<serde_json::Value> = asm
            .stacks
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.artifact_id,
                    "name": s.stack_name,
                    "displayName": s.display_name,
                    "environment": s.environment(),
                    "dependencies": s.dependencies,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
        return Ok(());
    }
    for s in &asm.stacks {
        if args.long {
            println!(
                "{}\tname={}\tenv={}\tdepends-on={}",
                s.display_name,
                s.stack_name,
                s.environment(),
                s.dependencies.join(",")
            );
        } else {
            println!("{}", s.display_name);
        }
    }
    Ok(())
}
