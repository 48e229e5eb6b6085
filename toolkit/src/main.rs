//! `cairn`: the toolkit on an already-synthesized cloud assembly.
//!
//! ```text
//! cairn --app cdk.out list
//! cairn --app cdk.out diff
//! cairn --app cdk.out deploy --all --require-approval never
//! cairn --app cdk.out destroy --all --force
//! cairn bootstrap aws://123456789012/us-east-1
//! ```
//!
//! Exit codes: 0 on success, 1 when a command fails, 2 for a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use cairn_toolkit::{Command, ListArgs};
use clap::{Parser, Subcommand};

/// The cairn toolkit.
#[derive(Debug, Parser)]
#[command(
    name = "cairn",
    version,
    about = "Diff, deploy, destroy and bootstrap a synthesized cairn (or AWS CDK) cloud assembly"
)]
struct Cli {
    /// The cloud assembly directory.
    #[arg(long, short, global = true, default_value = "cdk.out", value_name = "DIR")]
    app: PathBuf,
    #[command(subcommand)]
    command: Top,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Top {
    /// List the stacks of the assembly.
    #[command(alias = "ls")]
    List(ListArgs),
    #[command(flatten)]
    Toolkit(Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Top::List(args) => cairn_toolkit::list(&cli.app, &args),
        Top::Toolkit(command) => cairn_toolkit::execute(&cli.app, command),
    };
    match result {
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
