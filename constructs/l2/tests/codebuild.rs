//! codebuild::Project: the build spec, the least-privilege role, validation, grants.

mod common;
use common::{of_type, synth_clean};

use std::time::Duration;

use cairn_constructs::codebuild::{BuildSpec, ComputeType, Project, ProjectProps, ProjectSource};
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_core::{App, Error};
use serde_json::{json, Value as Json};

fn statements(t: &Json, role_prefix: &str) -> Vec<Json> {
    of_type(t, "AWS::IAM::Policy")
        .into_iter()
        .filter(|(_, p)| {
            p["Properties"]["Roles"][0]["Ref"]
                .as_str()
                .unwrap()
                .starts_with(role_prefix)
        })
        .flat_map(|(_, p)| {
            p["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect()
}

#[test]
fn build_spec_renders_phases_env_artifacts_and_cache() {
    let spec = BuildSpec::new()
        .env("MODE", "release")
        .runtime("python", "3.12")
        .install(["pip install -r requirements.txt"])
        .pre_build(["echo pre"])
        .build(["make", "make test"])
        .post_build(["echo done"])
        .artifacts("dist", ["**/*"])
        .cache(["/root/.cache/pip/**/*"]);
    let yaml: serde_json::Value = serde_saphyr::from_str(&spec.to_yaml()).unwrap();
    assert_eq!(
        yaml,
        json!({
            "version": "0.2",
            "env": {"variables": {"MODE": "release"}},
            "phases": {
                "install": {"runtime-versions": {"python": "3.12"}, "commands": ["pip install -r requirements.txt"]},
                "pre_build": {"commands": ["echo pre"]},
                "build": {"commands": ["make", "make test"]},
                "post_build": {"commands": ["echo done"]}
            },
            "artifacts": {"base-directory": "dist", "files": ["**/*"]},
            "cache": {"paths": ["/root/.cache/pip/**/*"]}
        })
    );
    // Empty sections are left out.
    let bare: serde_json::Value =
        serde_saphyr::from_str(&BuildSpec::new().build(["true"]).to_yaml()).unwrap();
    assert_eq!(
        bare,
        json!({"version": "0.2", "phases": {"build": {"commands": ["true"]}}})
    );
}

#[test]
fn project_defaults_and_role_pass_the_rules_and_cfn_lint() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let project = Project::new(
        &mut app,
        stack,
        "Build",
        ProjectProps {
            compute_type: ComputeType::Large,
            timeout: Some(Duration::from_secs(30 * 60)),
            encryption_key: Some(key),
            ..ProjectProps::new(BuildSpec::new().build(["cargo test"]))
        },
    )
    .unwrap();
    let starter = Role::new(
        &mut app,
        stack,
        "Starter",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    project.grant_start_build(&mut app, &starter).unwrap();
    let t = synth_clean(app, "S", &[], "codebuild-project");
    let (id, p) = of_type(&t, "AWS::CodeBuild::Project")[0];
    let props = &p["Properties"];
    assert_eq!(props["Environment"]["ComputeType"], "BUILD_GENERAL1_LARGE");
    assert_eq!(props["Environment"]["PrivilegedMode"], false);
    assert_eq!(props["TimeoutInMinutes"], 30);
    assert_eq!(props["Artifacts"]["Type"], "CODEPIPELINE");
    assert!(props["EncryptionKey"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap()
        .starts_with("Key"));
    // No DependsOn on the role's policy: the policy names the project (a cycle).
    assert!(p.get("DependsOn").is_none());
    // The role writes its own logs and reports, and uses the key; nothing on `*`.
    let own = statements(&t, "BuildRole");
    assert_eq!(own.len(), 3, "{own:?}");
    assert!(own.iter().all(|s| s["Resource"] != "*"));
    assert!(own[0]["Resource"].to_string().contains("/aws/codebuild/"));
    assert!(own[0]["Resource"].to_string().contains(id.as_str()));
    // The starter may start this project only.
    let start = statements(&t, "Starter");
    assert_eq!(
        start[0]["Action"],
        json!([
            "codebuild:StartBuild",
            "codebuild:StopBuild",
            "codebuild:BatchGetBuilds"
        ])
    );
    assert_eq!(start[0]["Resource"], json!({"Fn::GetAtt": [id, "Arn"]}));
}

#[test]
fn no_source_projects_have_no_artifacts() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    Project::new(
        &mut app,
        stack,
        "Job",
        ProjectProps {
            source: ProjectSource::NoSource,
            ..ProjectProps::new(BuildSpec::new().build(["echo hi"]))
        },
    )
    .unwrap();
    let asm = app.synth().unwrap();
    let s = asm.stack("S").unwrap();
    let p = &s.template["Resources"][s.resources_of_type("AWS::CodeBuild::Project")[0]]["Properties"];
    assert_eq!(p["Source"]["Type"], "NO_SOURCE");
    assert_eq!(p["Artifacts"]["Type"], "NO_ARTIFACTS");
}

#[test]
fn invalid_props_name_the_construct() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    match Project::new(&mut app, stack, "Empty", ProjectProps::new(BuildSpec::new())) {
        Err(Error::InvalidProps { path, problem }) => {
            assert_eq!(path, "S/Empty");
            assert!(problem.contains("no command"), "{problem}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let r = Project::new(
        &mut app,
        stack,
        "Long",
        ProjectProps {
            timeout: Some(Duration::from_secs(37 * 3600)),
            ..ProjectProps::new(BuildSpec::new().build(["x"]))
        },
    );
    assert!(matches!(r, Err(Error::InvalidProps { ref problem, .. }) if problem.contains("36 hours")));
}
