//! The command line every cairn app binary gets: `synth` and `list`, and with the
//! default-on `toolkit` feature `diff`, `deploy`, `destroy` and `bootstrap` (they
//! synthesize to `--output` first, then run `cairn_toolkit` on that assembly).
//!
//! Exit codes: 0 on success, 1 when the app is refused (an error annotation, a failed
//! check, a duplicate id ...), 2 for a usage error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::{App, Error, Level, SynthOptions, TemplateFormat};

/// The app command line.
#[derive(Debug, Parser)]
#[command(about = "A cairn app: synthesize its CloudFormation templates", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthesize the stacks into a cloud assembly directory.
    Synth {
        /// The assembly directory.
        #[arg(long, short, default_value = "cdk.out")]
        output: PathBuf,
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
        /// The assembly directory synthesized to.
        #[arg(long, short, default_value = "cdk.out")]
        output: PathBuf,
        #[command(flatten)]
        args: cairn_toolkit::DiffArgs,
    },
    /// Synthesize, then deploy stacks (change set, approval, events, outputs).
    #[cfg(feature = "toolkit")]
    Deploy {
        /// The assembly directory synthesized to.
        #[arg(long, short, default_value = "cdk.out")]
        output: PathBuf,
        #[command(flatten)]
        args: cairn_toolkit::DeployArgs,
    },
    /// Synthesize, then delete deployed stacks.
    #[cfg(feature = "toolkit")]
    Destroy {
        /// The assembly directory synthesized to.
        #[arg(long, short, default_value = "cdk.out")]
        output: PathBuf,
        #[command(flatten)]
        args: cairn_toolkit::DestroyArgs,
    },
    /// Synthesize, then deploy the toolkit stack (CairnToolkit) into the app's environments.
    #[cfg(feature = "toolkit")]
    Bootstrap {
        /// The assembly directory synthesized to.
        #[arg(long, short, default_value = "cdk.out")]
        output: PathBuf,
        #[command(flatten)]
        args: cairn_toolkit::BootstrapArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Yaml,
}

/// Runs an app from its command line.
pub trait AppExt {
    /// Parses `std::env::args`, runs the subcommand, and returns the process exit code.
    fn run(self) -> ExitCode;

    /// Runs the subcommand given as arguments (the first one is the program name).
    fn run_with_args<I, S>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone;
}

impl AppExt for App {
    fn run(self) -> ExitCode {
        run_cli(self, std::env::args_os())
    }

    fn run_with_args<I, S>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        run_cli(self, args)
    }
}

fn run_cli<I, S>(app: App, args: I) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
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
    #[cfg(feature = "toolkit")]
    let (command, toolkit) = match cli.command {
        Command::Diff { output, args } => (
            synth_to(&output),
            Some((output, cairn_toolkit::Command::Diff(args))),
        ),
        Command::Deploy { output, args } => (
            synth_to(&output),
            Some((output, cairn_toolkit::Command::Deploy(args))),
        ),
        Command::Destroy { output, args } => (
            synth_to(&output),
            Some((output, cairn_toolkit::Command::Destroy(args))),
        ),
        Command::Bootstrap { output, args } => (
            synth_to(&output),
            Some((output, cairn_toolkit::Command::Bootstrap(args))),
        ),
        other => (other, None),
    };
    #[cfg(not(feature = "toolkit"))]
    let command = cli.command;
    match execute(app, command) {
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

/// The toolkit subcommands synthesize every stack (JSON templates) before they run.
#[cfg(feature = "toolkit")]
fn synth_to(output: &std::path::Path) -> Command {
    Command::Synth {
        output: output.to_path_buf(),
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

fn execute(mut app: App, command: Command) -> Result<(), Error> {
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
        | Command::Bootstrap { .. } => Ok(()),
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
