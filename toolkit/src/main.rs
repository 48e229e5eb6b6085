//! `cairn`: the CLI of cairn apps, as `cdk` is the AWS CDK's.
//!
//! ```text
//! cairn synth                       # runs cdk.json's "app" with CDK_OUTDIR=cdk.out
//! cairn diff
//! cairn deploy --all
//! cairn deploy --hotswap            # Lambda code, state machines, ECS images: no change set
//! cairn watch                       # deploy (hotswap) on every change of cdk.json's "watch" files
//! cairn destroy --all --force
//! cairn --app cdk.out deploy --all  # an assembly directory, as it is
//! cairn --app "target/debug/hello" list
//! cairn bootstrap aws://123456789012/us-east-1
//! cairn rollback Hello              # a stack left failed by deploy --no-rollback
//! cairn drift --fail
//! cairn import Hello --resource-mapping mapping.json
//! cairn gc aws://123456789012/us-east-1 --rollback-buffer-days 7
//! cairn context --reset 1           # a cached lookup, looked up again on the next synth
//! cairn synth --no-lookups          # fails, listing the keys, when context is missing
//! ```
//!
//! Exit codes: 0 on success, 1 when a command fails, 2 for a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use cairn_toolkit::app::{AppSource, Project};
use cairn_toolkit::watch::WatchArgs;
use cairn_toolkit::{Command, ListArgs, SynthArgs};
use clap::{Parser, Subcommand};

/// The cairn CLI.
#[derive(Debug, Parser)]
#[command(
    name = "cairn",
    version,
    about = "Synthesize, diff, deploy, destroy and bootstrap cairn (or AWS CDK) apps; roll back, detect drift, import resources and collect unused assets"
)]
struct Cli {
    /// The app: an assembly directory, or a command that synthesizes one into $CDK_OUTDIR
    /// (default: cdk.json's "app" in this directory, else the assembly directory cdk.out).
    #[arg(long, short, global = true, value_name = "DIR|CMD")]
    app: Option<String>,
    /// The assembly directory an app command writes (default: cdk.json's "output", else
    /// cdk.out).
    #[arg(long, short, global = true, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Context for the app, passed in CDK_CONTEXT_JSON over cdk.json's (repeatable).
    #[arg(long = "context", short = 'c', global = true, value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// Do not look up missing context values (availability zones, VPCs, AMIs, SSM
    /// parameters): a value missing from cdk.context.json is an error listing its key.
    #[arg(long, global = true)]
    no_lookups: bool,
    #[command(subcommand)]
    command: Top,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Top {
    /// Run the app and report what it synthesized (one stack: its template as YAML).
    Synth(SynthArgs),
    /// List the stacks of the app.
    #[command(alias = "ls")]
    List(ListArgs),
    /// Deploy, then deploy again on every change of the watched files (cdk.json's "watch"),
    /// with hotswap unless --no-hotswap.
    Watch(WatchArgs),
    /// List, reset or clear the cached context values (cdk.context.json), as `cdk context`.
    Context(cairn_toolkit::lookup::command::ContextArgs),
    #[command(flatten)]
    Toolkit(Command),
}

fn run(cli: Cli) -> cairn_toolkit::Result<()> {
    let cwd = std::env::current_dir().map_err(|source| cairn_toolkit::Error::Io {
        path: PathBuf::from("."),
        source,
    })?;
    let mut source = AppSource::resolve(cli.app.as_deref(), cli.output.as_deref(), &cli.context, &cwd)?;
    let lookups = !cli.no_lookups;
    // Runs the app, looking up the context it misses (the CDK CLI's loop).
    let synthesize = |source: &mut AppSource| cairn_toolkit::lookup::synthesize(source, lookups);
    match cli.command {
        Top::Synth(args) => cairn_toolkit::synth(&synthesize(&mut source)?, &args),
        Top::List(args) => cairn_toolkit::list(&synthesize(&mut source)?, &args),
        Top::Watch(args) => {
            cairn_toolkit::watch::watch(&source, Project::load(&cwd)?.as_ref(), &args, lookups)
        }
        Top::Context(args) => {
            print!("{}", cairn_toolkit::lookup::command::run(&cwd, &args)?);
            Ok(())
        }
        Top::Toolkit(command) => {
            // Bootstrapping named environments (or printing the template) needs no app.
            let needs_app = match &command {
                Command::Bootstrap(b) => !b.show_template && b.environments.is_empty(),
                Command::Gc(g) => g.environments.is_empty(),
                _ => true,
            };
            let dir = if needs_app {
                synthesize(&mut source)?
            } else {
                source.assembly_dir().to_path_buf()
            };
            cairn_toolkit::execute(&dir, command)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(cairn_toolkit::Error::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["cairn", "deploy", "--all", "-c", "stage=prod", "-o", "out"]).unwrap();
        assert_eq!(cli.context, ["stage=prod"]);
        assert_eq!(cli.output, Some(PathBuf::from("out")));
        let cli = Cli::try_parse_from(["cairn", "--app", "cdk.out", "synth", "Hello"]).unwrap();
        assert_eq!(cli.app.as_deref(), Some("cdk.out"));
        assert!(matches!(cli.command, Top::Synth(SynthArgs { ref stacks, .. }) if stacks == &["Hello"]));
    }

    #[test]
    fn the_day_2_commands_parse_as_the_cdks() {
        let parse = |args: &[&str]| match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Top::Toolkit(c)) => c,
            other => panic!("{args:?}: {other:?}"),
        };
        let c = parse(&[
            "cairn",
            "rollback",
            "Hello",
            "--orphan",
            "A",
            "--orphan",
            "B",
            "--no-validate-bootstrap-version",
        ]);
        assert!(
            matches!(c, Command::Rollback(ref r) if r.orphan == ["A", "B"] && r.no_validate_bootstrap_version && !r.force)
        );
        assert!(
            matches!(parse(&["cairn", "rollback", "-f", "--all"]), Command::Rollback(ref r) if r.force && r.all)
        );
        assert!(
            matches!(parse(&["cairn", "drift", "--fail", "--json"]), Command::Drift(ref d) if d.fail && d.aws.json)
        );
        let c = parse(&["cairn", "import", "Hello", "-m", "m.json", "-r", "out.json", "-f"]);
        assert!(
            matches!(c, Command::Import(ref i) if i.stack.as_deref() == Some("Hello")
            && i.resource_mapping.as_deref() == Some(std::path::Path::new("m.json")) && i.force
            && i.record_resource_mapping.is_some())
        );
        assert!(Cli::try_parse_from([
            "cairn",
            "import",
            "-m",
            "m.json",
            "--resource-mapping-inline",
            "{}"
        ])
        .is_err());
        let c = parse(&[
            "cairn",
            "gc",
            "aws://1/us-east-1",
            "--action",
            "delete-tagged",
            "--type",
            "s3",
            "--rollback-buffer-days",
            "7",
            "--no-confirm",
        ]);
        assert!(
            matches!(c, Command::Gc(ref g) if g.action == cairn_toolkit::GcAction::DeleteTagged
            && g.asset_type == cairn_toolkit::GcType::S3 && g.rollback_buffer_days == 7
            && g.created_buffer_days == 1 && g.no_confirm && g.bootstrap_stack_name == "CDKToolkit")
        );
        assert!(
            matches!(parse(&["cairn", "gc", "--no-confirm", "--confirm"]), Command::Gc(ref g) if !g.no_confirm)
        );
    }
}
