//! The command line every cairn app binary gets: `synth` and `list`.
//!
//! An app synthesizes; the `cairn` CLI (the `cairn-toolkit` crate, `cargo install --path
//! toolkit`) deploys. In a directory with a `cdk.json` whose `"app"` runs the app binary,
//! `cairn synth|diff|deploy|destroy` run the app with `CDK_OUTDIR` set (and the context in
//! `CDK_CONTEXT_JSON`), as the AWS CDK CLI runs a CDK app, then work on that assembly. Run
//! without a subcommand and with `CDK_OUTDIR` set, an app synthesizes into that directory,
//! so the AWS CDK CLI (`cdk synth`, `cdk deploy` with the same `cdk.json`) runs it too.
//!
//! An app links no AWS SDK: `diff`, `deploy`, `destroy`, `bootstrap` and the day-2
//! commands `rollback`, `drift`, `import` and `gc` say how to run them through `cairn`. Built with the `toolkit` feature of this crate, the app has them itself
//! (they synthesize to `--output` first, then run `cairn_toolkit` on that assembly).
//!
//! Exit codes: 0 on success, 1 when the app is refused (an error annotation, a failed
//! check, a duplicate id ...), 2 for a usage error.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::{App, Error, Level, SynthOptions, TemplateFormat};

/// The environment variable naming the directory the app synthesizes into, set by the
/// `cairn` and `cdk` CLIs when they run the app.
pub const OUTDIR_ENV: &str = "CDK_OUTDIR";
/// The environment variable holding the context (a JSON object), set by the `cairn` and
/// `cdk` CLIs when they run the app.
pub const CONTEXT_ENV: &str = "CDK_CONTEXT_JSON";

/// The app command line.
#[derive(Debug, Parser)]
#[command(
    about = "A cairn app: synthesize its CloudFormation templates (deploy them with the `cairn` CLI)",
    version
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthesize the stacks into a cloud assembly directory.
    Synth {
        /// The assembly directory (default: `CDK_OUTDIR` when set, else `cdk.out`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Template file format.
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
        /// Fail on warnings too.
        #[arg(long)]
        strict: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// Only these stacks (artifact id, stack name or path); all when none is given.
        stacks: Vec<String>,
    },
    /// List the stacks of the app.
    #[command(alias = "ls")]
    List {
        /// Also show stack names, environments and dependencies.
        #[arg(long, short)]
        long: bool,
    },
    /// Synthesize, then compare the stacks with the deployed ones.
    #[cfg(feature = "toolkit")]
    Diff {
        /// The assembly directory synthesized to (default: `CDK_OUTDIR`, else `cdk.out`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        args: cairn_toolkit::DiffArgs,
    },
    /// Synthesize, then deploy stacks (change set, approval, events, outputs).
    #[cfg(feature = "toolkit")]
    Deploy {
        /// The assembly directory synthesized to (default: `CDK_OUTDIR`, else `cdk.out`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        args: cairn_toolkit::DeployArgs,
    },
    /// Synthesize, then delete deployed stacks.
    #[cfg(feature = "toolkit")]
    Destroy {
        /// The assembly directory synthesized to (default: `CDK_OUTDIR`, else `cdk.out`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        args: cairn_toolkit::DestroyArgs,
    },
    /// Synthesize, then bootstrap the app's environments.
    #[cfg(feature = "toolkit")]
    Bootstrap {
        /// The assembly directory synthesized to (default: `CDK_OUTDIR`, else `cdk.out`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        args: cairn_toolkit::BootstrapArgs,
    },
    /// Synthesize, then roll back stacks left failed by `deploy --no-rollback`.
    #[cfg(feature = "toolkit")]
    Rollback {
        /// The assembly directory synthesized to (default: `CDK_OUTDIR`, else `cdk.out`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        args: cairn_toolkit::RollbackArgs,
    },
    /// Synthesize, then detect drift of the deployed stacks.
    #[cfg(feature = "toolkit")]
    Drift {
        /// The assembly directory synthesized to (default: `CDK_OUTDIR`, else `cdk.out`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        args: cairn_toolkit::DriftArgs,
    },
    /// Synthesize, then adopt existing resources the template adds (an IMPORT change set).
    #[cfg(feature = "toolkit")]
    Import {
        /// The assembly directory synthesized to (default: `CDK_OUTDIR`, else `cdk.out`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        args: cairn_toolkit::ImportArgs,
    },
    /// Synthesize, then garbage-collect the assets of the app's environments.
    #[cfg(feature = "toolkit")]
    Gc {
        /// The assembly directory synthesized to (default: `CDK_OUTDIR`, else `cdk.out`).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        args: cairn_toolkit::GcArgs,
    },
    /// Run by the `cairn` CLI: `cairn diff`.
    #[cfg(not(feature = "toolkit"))]
    Diff(Elsewhere),
    /// Run by the `cairn` CLI: `cairn deploy`.
    #[cfg(not(feature = "toolkit"))]
    Deploy(Elsewhere),
    /// Run by the `cairn` CLI: `cairn destroy`.
    #[cfg(not(feature = "toolkit"))]
    Destroy(Elsewhere),
    /// Run by the `cairn` CLI: `cairn bootstrap`.
    #[cfg(not(feature = "toolkit"))]
    Bootstrap(Elsewhere),
    /// Run by the `cairn` CLI: `cairn rollback`.
    #[cfg(not(feature = "toolkit"))]
    Rollback(Elsewhere),
    /// Run by the `cairn` CLI: `cairn drift`.
    #[cfg(not(feature = "toolkit"))]
    Drift(Elsewhere),
    /// Run by the `cairn` CLI: `cairn import`.
    #[cfg(not(feature = "toolkit"))]
    Import(Elsewhere),
    /// Run by the `cairn` CLI: `cairn gc`.
    #[cfg(not(feature = "toolkit"))]
    Gc(Elsewhere),
}

/// The arguments of a toolkit subcommand in an app built without the toolkit: taken as
/// they are, to say where the command runs instead.
#[cfg(not(feature = "toolkit"))]
#[derive(Debug, clap::Args)]
struct Elsewhere {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    args: Vec<String>,
}

/// What the app says for `name` (diff, deploy ...) when it is built without the toolkit.
#[cfg(not(feature = "toolkit"))]
fn elsewhere(name: &str) -> String {
    format!(
        "`{name}` is a command of the cairn CLI, not of the app (apps link no AWS SDK): \
         install it once with `cargo install --path toolkit` (from the cairn repository), then \
         run `cairn {name}` in the directory of the app's cdk.json (`{{\"app\": \"cargo run -q --bin <app> --\"}}`), \
         or `cairn --app <assembly directory or app command> {name}`; \
         or build the app with the `toolkit` feature of the `cairn` crate to have `{name}` here"
    )
}

/// What the `cairn` and `cdk` CLIs tell an app they run through its environment, besides
/// the context (read by [`crate::Context::from_env`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliEnv {
    /// `CDK_OUTDIR`: the assembly directory to synthesize into.
    pub outdir: Option<PathBuf>,
}

impl CliEnv {
    /// Read from the process's environment.
    pub fn from_process() -> Self {
        CliEnv {
            outdir: std::env::var_os(OUTDIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    fn output(&self, given: Option<PathBuf>) -> PathBuf {
        given
            .or_else(|| self.outdir.clone())
            .unwrap_or_else(|| PathBuf::from("cdk.out"))
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Yaml,
}

/// Runs an app from its command line.
pub trait AppExt {
    /// Parses `std::env::args`, runs the subcommand, and returns the process exit code.
    /// `CDK_OUTDIR` and `CDK_CONTEXT_JSON` are read from the environment.
    fn run(self) -> ExitCode;

    /// Runs the subcommand given as arguments (the first one is the program name), with
    /// `CDK_OUTDIR` and `CDK_CONTEXT_JSON` read from the environment.
    fn run_with_args<I, S>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString> + Clone;

    /// Runs the subcommand given as arguments in the environment `env` (what the `cairn`
    /// or `cdk` CLI sets), not the process's.
    fn run_with<I, S>(self, args: I, env: &CliEnv) -> ExitCode
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString> + Clone;
}

impl AppExt for App {
    fn run(self) -> ExitCode {
        run_cli(self, std::env::args_os(), &CliEnv::from_process())
    }

    fn run_with_args<I, S>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString> + Clone,
    {
        run_cli(self, args, &CliEnv::from_process())
    }

    fn run_with<I, S>(self, args: I, env: &CliEnv) -> ExitCode
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString> + Clone,
    {
        run_cli(self, args, env)
    }
}

fn run_cli<I, S>(app: App, args: I, env: &CliEnv) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let program = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map_or_else(|| "app".to_string(), |n| n.to_string_lossy().into_owned());
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let command = match cli.command {
        Some(c) => c,
        // Run by the cairn or cdk CLI: synthesize everything into CDK_OUTDIR.
        None if env.outdir.is_some() => Command::Synth {
            output: None,
            format: Format::Json,
            strict: false,
            quiet: false,
            stacks: Vec::new(),
        },
        None => {
            let mut help = <Cli as clap::CommandFactory>::command().bin_name(program);
            let _ = help.print_help();
            return ExitCode::from(2);
        }
    };
    // The toolkit's commands synthesize first, into the output directory they then work on.
    #[cfg(feature = "toolkit")]
    let (command, toolkit) = {
        let deferred = match command {
            Command::Diff { output, args } => Ok((output, cairn_toolkit::Command::Diff(args))),
            Command::Deploy { output, args } => Ok((output, cairn_toolkit::Command::Deploy(args))),
            Command::Destroy { output, args } => Ok((output, cairn_toolkit::Command::Destroy(args))),
            Command::Bootstrap { output, args } => Ok((output, cairn_toolkit::Command::Bootstrap(args))),
            Command::Rollback { output, args } => Ok((output, cairn_toolkit::Command::Rollback(args))),
            Command::Drift { output, args } => Ok((output, cairn_toolkit::Command::Drift(args))),
            Command::Import { output, args } => Ok((output, cairn_toolkit::Command::Import(args))),
            Command::Gc { output, args } => Ok((output, cairn_toolkit::Command::Gc(args))),
            other => Err(other),
        };
        match deferred {
            Ok((output, toolkit_command)) => {
                let output = env.output(output);
                (synth_to(&output), Some((output, toolkit_command)))
            }
            Err(other) => (other, None),
        }
    };
    #[cfg(not(feature = "toolkit"))]
    let command = match command {
        Command::Diff(_) => return usage(&elsewhere("diff")),
        Command::Deploy(_) => return usage(&elsewhere("deploy")),
        Command::Destroy(_) => return usage(&elsewhere("destroy")),
        Command::Bootstrap(_) => return usage(&elsewhere("bootstrap")),
        Command::Rollback(_) => return usage(&elsewhere("rollback")),
        Command::Drift(_) => return usage(&elsewhere("drift")),
        Command::Import(_) => return usage(&elsewhere("import")),
        Command::Gc(_) => return usage(&elsewhere("gc")),
        other => other,
    };
    match execute(app, command, env) {
        #[cfg(feature = "toolkit")]
        Ok(()) if toolkit.is_some() => {
            let Some((output, command)) = toolkit else {
                return ExitCode::SUCCESS;
            };
            match cairn_toolkit::execute(&output, command) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e @ cairn_toolkit::Error::Usage(_)) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(not(feature = "toolkit"))]
fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// The toolkit subcommands synthesize every stack (JSON templates) before they run.
#[cfg(feature = "toolkit")]
fn synth_to(output: &std::path::Path) -> Command {
    Command::Synth {
        output: Some(output.to_path_buf()),
        format: Format::Json,
        strict: false,
        quiet: false,
        stacks: Vec::new(),
    }
}

/// Builds the app with `build`, then runs its command line. Errors while building
/// (duplicate ids, invalid scopes ...) are printed with their construct path and exit 1.
pub fn main(build: impl FnOnce() -> crate::Result<App>) -> ExitCode {
    match build() {
        Ok(app) => app.run(),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// A lookup that missed although `CDK_CONTEXT_JSON` holds its key: the app was built
/// without the context (with `App::new()`), so running it again would never resolve it.
fn check_context_was_read(assembly: &crate::CloudAssembly) -> Result<(), Error> {
    let missing = assembly.missing();
    if missing.is_empty() {
        return Ok(());
    }
    let given = crate::Context::from_env()?;
    match missing.iter().find(|m| given.get(&m.key).is_some()) {
        Some(m) => Err(Error::InvalidProps {
            path: "<app>".into(),
            problem: format!(
                "the context holds {} but the app's lookup did not find it: the app was built without its context; build it with `cairn::Context::from_env()?.into_app()` instead of `App::new()`",
                m.key
            ),
        }),
        None => Ok(()),
    }
}

/// Writes report files into the assembly directory and prints their summaries.
fn write_reports(dir: &std::path::Path, reports: &[crate::Report], quiet: bool) -> Result<(), Error> {
    for r in reports {
        if !quiet {
            if let Some(summary) = &r.summary {
                eprintln!("{summary}");
            }
        }
        for (name, contents) in &r.files {
            let path = dir.join(name);
            let io = |source| Error::Io {
                path: path.clone(),
                source,
            };
            std::fs::create_dir_all(dir).map_err(io)?;
            std::fs::write(&path, contents).map_err(io)?;
        }
    }
    Ok(())
}

fn execute(mut app: App, command: Command, env: &CliEnv) -> Result<(), Error> {
    // Every property is checked against its CloudFormation schema before anything is written.
    app.add_validator_once(cairn_cfn::SchemaValidator::new());
    app.add_validator_once(cairn_cfn::policy::PolicyValidator::new());
    match command {
        Command::Synth {
            output,
            format,
            strict,
            quiet,
            stacks,
        } => {
            let output = env.output(output);
            let result = app.synth_with(&SynthOptions { strict });
            let reports = app.reports(result.as_ref().ok());
            let assembly = match result {
                Ok(a) => a,
                Err(e) => {
                    // A refused app still leaves its findings behind (no templates).
                    write_reports(&output, &reports, quiet)?;
                    return Err(e);
                }
            };
            for s in &stacks {
                if assembly.stack(s).is_none() {
                    return Err(Error::InvalidScope {
                        path: s.clone(),
                        problem: format!(
                            "no such stack; the app has: {}",
                            assembly
                                .stacks()
                                .iter()
                                .map(|s| s.display_name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
            let format = match format {
                Format::Json => TemplateFormat::Json,
                Format::Yaml => TemplateFormat::Yaml,
            };
            check_context_was_read(&assembly)?;
            assembly.write_filtered(&output, format, &stacks)?;
            write_reports(&output, &reports, quiet)?;
            if !quiet {
                let mut err = std::io::stderr().lock();
                for d in assembly.diagnostics() {
                    if d.level >= Level::Warning {
                        let _ = writeln!(err, "{d}");
                    }
                }
                let n = if stacks.is_empty() {
                    assembly.stacks().len()
                } else {
                    stacks.len()
                };
                let _ = writeln!(err, "Synthesized {n} stack(s) to {}", output.display());
            }
            Ok(())
        }
        // Mapped to a synthesis by `run_with_args`, then handed to the toolkit.
        #[cfg(feature = "toolkit")]
        Command::Diff { .. }
        | Command::Deploy { .. }
        | Command::Destroy { .. }
        | Command::Bootstrap { .. }
        | Command::Rollback { .. }
        | Command::Drift { .. }
        | Command::Import { .. }
        | Command::Gc { .. } => Ok(()),
        #[cfg(not(feature = "toolkit"))]
        Command::Diff(_)
        | Command::Deploy(_)
        | Command::Destroy(_)
        | Command::Bootstrap(_)
        | Command::Rollback(_)
        | Command::Drift(_)
        | Command::Import(_)
        | Command::Gc(_) => Ok(()),
        Command::List { long } => {
            let assembly = app.synth()?;
            let mut out = std::io::stdout().lock();
            for s in assembly.stacks() {
                let _ = if long {
                    writeln!(
                        out,
                        "{}\tname={}\tenv={}\tdepends-on={}",
                        s.display_name,
                        s.stack_name,
                        s.environment.uri(),
                        s.dependencies.join(",")
                    )
                } else {
                    writeln!(out, "{}", s.display_name)
                };
            }
            Ok(())
        }
    }
}
