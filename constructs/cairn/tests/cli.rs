//! The app command line: synth writes an assembly, refused apps exit 1, usage errors exit 2.

use std::process::ExitCode;

use cairn::{App, AppExt, CfnResource, Level};

fn app() -> App {
    let mut app = App::new();
    let s = app.stack("Cli").unwrap();
    app.add(s, "Topic", CfnResource::new("AWS::SNS::Topic")).unwrap();
    app
}

fn out_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cairn-cli-{name}-{}", std::process::id()))
}

#[test]
fn synth_writes_json_and_yaml() {
    let dir = out_dir("json");
    let code = app().run_with_args(["app", "synth", "--quiet", "--output", dir.to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(dir.join("manifest.json").exists());
    assert!(dir.join("Cli.template.json").exists());
    std::fs::remove_dir_all(&dir).unwrap();

    let dir = out_dir("yaml");
    let code = app().run_with_args([
        "app",
        "synth",
        "-q",
        "--format",
        "yaml",
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::SUCCESS);
    let yaml = std::fs::read_to_string(dir.join("Cli.template.yaml")).unwrap();
    assert!(yaml.contains("Type: AWS::SNS::Topic"), "{yaml}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn refused_apps_exit_1_and_usage_errors_exit_2() {
    let mut bad = app();
    let root = bad.root();
    bad.annotate(root, Level::Error, "refuse");
    let dir = out_dir("bad");
    let code = bad.run_with_args(["app", "synth", "-q", "-o", dir.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
    assert!(!dir.exists(), "nothing is written when synthesis is refused");

    assert_eq!(
        app().run_with_args(["app", "synth", "NoSuchStack", "-o", dir.to_str().unwrap()]),
        ExitCode::from(1)
    );
    assert_eq!(app().run_with_args(["app", "bogus"]), ExitCode::from(2));
    assert_eq!(app().run_with_args(["app", "list"]), ExitCode::SUCCESS);
}

#[test]
fn build_errors_exit_1() {
    let code = cairn::main(|| {
        let mut app = App::new();
        app.stack("Dup")?;
        app.stack("Dup")?;
        Ok(app)
    });
    assert_eq!(code, ExitCode::from(1));
}

#[test]
fn schema_errors_refuse_the_app_with_the_property_path() {
    let mut app = App::new();
    let s = app.stack("Data").unwrap();
    app.add(
        s,
        "Table",
        CfnResource::new("AWS::DynamoDB::Table")
            .with("BillingMode", "PAY_PER_REQ")
            .with("KeySchema", cairn::Value::list([])),
    )
    .unwrap();
    let dir = out_dir("schema");
    let code = app.run_with_args(["app", "synth", "-q", "-o", dir.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(1));
    assert!(!dir.join("manifest.json").exists());
}

#[test]
fn run_without_a_subcommand_synthesizes_into_cdk_outdir() {
    let dir = out_dir("outdir");
    let env = cairn::CliEnv {
        outdir: Some(dir.clone()),
    };
    assert_eq!(app().run_with(["app"], &env), ExitCode::SUCCESS);
    assert!(dir.join("Cli.template.json").exists());
    std::fs::remove_dir_all(&dir).unwrap();

    // `synth` without --output writes there too; --output wins over it.
    assert_eq!(app().run_with(["app", "synth", "-q"], &env), ExitCode::SUCCESS);
    assert!(dir.join("manifest.json").exists());
    let other = out_dir("outdir-flag");
    assert_eq!(
        app().run_with(["app", "synth", "-q", "-o", other.to_str().unwrap()], &env),
        ExitCode::SUCCESS
    );
    assert!(other.join("manifest.json").exists());
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&other).unwrap();

    // Neither a subcommand nor CDK_OUTDIR: the help, as a usage error.
    assert_eq!(
        app().run_with(["app"], &cairn::CliEnv::default()),
        ExitCode::from(2)
    );
}

#[cfg(not(feature = "toolkit"))]
#[test]
fn toolkit_commands_are_the_cairn_clis_without_the_toolkit_feature() {
    let env = cairn::CliEnv::default();
    for command in [
        "diff",
        "deploy",
        "destroy",
        "bootstrap",
        "rollback",
        "drift",
        "import",
        "gc",
    ] {
        assert_eq!(
            app().run_with(["app", command, "--all", "--require-approval", "never"], &env),
            ExitCode::from(2),
            "{command}"
        );
    }
}
