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
