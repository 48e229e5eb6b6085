//! pipelines' policy-validation step: a CodeBuild project before the stage that runs
//! `validate_policies.py` over the stage's templates. The project's build spec carries
//! the script and its settings; the script is run here, from the build spec, over the
//! synthesized assembly with a fake Access Analyzer (Access Analyzer is not available
//! locally), and the script's own tests (`tests/policy_validation/`) run against fakes.

mod common;
use common::{of_type, toolchain};

use std::path::Path;
use std::process::Command;

use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::pipelines::{FindingType, Pipeline, PipelineProps, Source, StageOptions, Step, Wave};
use cairn_constructs::s3::{Bucket, BucketProps};
use cairn_core::{App, Environment, Error, StackProps, Stage, TemplateFormat};
use serde_json::Value as Json;

/// A stage whose stack has a bucket (with its TLS-only policy) and a role that reads it.
fn stage(app: &mut App) -> Stage {
    let stage = app
        .stage(app.root(), "Test", Environment::new("222222222222", "eu-west-1"))
        .unwrap();
    let stack = app.stack_with(stage, "Storage", StackProps::default()).unwrap();
    let bucket = Bucket::new(app, stack, "Data", BucketProps::default()).unwrap();
    let role = Role::new(
        app,
        stack,
        "Reader",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    bucket.grant_read(app, &role).unwrap();
    stage
}

/// A scratch directory, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("cairn-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An app with the toolchain's pipeline, its `Test` wave and the (not yet added) stage.
fn pipeline_with_test_wave() -> (App, Stage, Wave) {
    let mut app = App::new();
    let tools = toolchain(&mut app);
    let test = stage(&mut app);
    let pipeline = Pipeline::new(
        &mut app,
        tools,
        "Pipeline",
        PipelineProps::new(Source::codecommit("repo", "main"), "app"),
    )
    .unwrap();
    let wave = pipeline.add_wave(&mut app, "Test").unwrap();
    (app, test, wave)
}

fn python() -> String {
    std::env::var("CAIRN_PYTHON")
        .ok()
        .filter(|p| Path::new(p).exists())
        .unwrap_or_else(|| "python3".to_string())
}

/// The build spec of the toolchain's CodeBuild project whose logical ID starts with `id`.
fn build_spec(t: &Json, id: &str) -> Json {
    let (_, project) = of_type(t, "AWS::CodeBuild::Project")
        .into_iter()
        .find(|(k, _)| k.starts_with(id))
        .unwrap_or_else(|| panic!("no project {id}"));
    let text = project["Properties"]["Source"]["BuildSpec"].as_str().unwrap();
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn the_step_validates_every_policy_of_the_stage_before_it_deploys() {
    let (mut app, test, wave) = pipeline_with_test_wave();
    let deployment = wave
        .add_stage_with(
            &mut app,
            test,
            StageOptions {
                pre: vec![Step::policy_validation("ValidatePolicies")],
                post: Vec::new(),
            },
        )
        .unwrap();
    let asm = app.synth().unwrap();
    let t = &asm.stack("Toolchain").unwrap().template;

    // Before the stage's stacks: run order 2, the stacks' change sets from 3.
    let (_, p) = of_type(t, "AWS::CodePipeline::Pipeline")[0];
    let stages = p["Properties"]["Stages"].as_array().unwrap();
    let actions = stages.iter().find(|s| s["Name"] == "Test").unwrap()["Actions"]
        .as_array()
        .unwrap();
    let step = actions
        .iter()
        .find(|a| a["Name"] == "Test.ValidatePolicies")
        .unwrap();
    assert_eq!(step["RunOrder"], 2);
    assert!(actions
        .iter()
        .filter(|a| a["Name"] != "Test.ValidatePolicies")
        .all(|a| a["RunOrder"].as_u64().unwrap() > 2));

    // The build spec: the script, the settings, the JUnit report.
    let spec = build_spec(t, "PipelineTestTestValidatePolicies");
    let vars = &spec["env"]["variables"];
    assert_eq!(
        vars["CAIRN_POLICY_VALIDATOR"].as_str().unwrap(),
        include_str!("../src/pipelines/validate_policies.py")
    );
    let settings: Json = serde_json::from_str(vars["CAIRN_POLICY_VALIDATION"].as_str().unwrap()).unwrap();
    assert_eq!(
        settings["templates"][0]["path"],
        deployment.stacks[0].template_path.as_str()
    );
    assert_eq!(settings["templates"][0]["account"], "222222222222");
    assert_eq!(
        settings["blocking"],
        serde_json::json!(["ERROR", "SECURITY_WARNING"])
    );
    assert_eq!(
        spec["reports"]["policy-validation"],
        serde_json::json!({ "files": ["policy-validation.xml"], "file-format": "JUNITXML" })
    );
    // The project may validate (and nothing else new): no CheckNoNewAccess without a
    // reference policy.
    let policies: Vec<String> = of_type(t, "AWS::IAM::Policy")
        .into_iter()
        .map(|(_, p)| p["Properties"]["PolicyDocument"].to_string())
        .collect();
    assert!(policies
        .iter()
        .any(|p| p.contains("access-analyzer:ValidatePolicy")));
    assert!(!policies
        .iter()
        .any(|p| p.contains("access-analyzer:CheckNoNewAccess")));

    // Run what CodeBuild would run, over the assembly, with a fake Access Analyzer that
    // refuses intrinsics and reports an error on the bucket policy.
    let dir = Scratch::new("policy-validation");
    asm.write(dir.path(), TemplateFormat::Json).unwrap();
    let script = dir.path().join("validate_policies.py");
    std::fs::write(&script, vars["CAIRN_POLICY_VALIDATOR"].as_str().unwrap()).unwrap();
    let driver = r#"
import json, os, sys
sys.path.insert(0, sys.argv[1])
import validate_policies as vp
class Fake:
    def __init__(self): self.requests = []
    def validate_policy(self, **r):
        assert "Fn::" not in r["policyDocument"] and '"Ref"' not in r["policyDocument"], r["policyDocument"]
        self.requests.append(r)
        if "aws:SecureTransport" in r["policyDocument"]:
            return {"findings": [{"findingType": "ERROR", "issueCode": "TEST", "findingDetails": "refused"}]}
        return {"findings": []}
fake = Fake()
code = vp.main(client=fake, environ={"CAIRN_POLICY_VALIDATION": os.environ["SETTINGS"]}, base=sys.argv[2])
print(json.dumps({"code": code, "types": sorted((r["policyType"], r.get("validatePolicyResourceType", "")) for r in fake.requests)}))
"#;
    let out = Command::new(python())
        .arg("-c")
        .arg(driver)
        .arg(dir.path())
        .arg(dir.path())
        .env("SETTINGS", settings.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs (the policy-validation script needs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Json = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    // The blocking error fails the step.
    assert_eq!(result["code"], 1, "{stdout}");
    // Every document the policy check finds in the stage's template went to Access
    // Analyzer, each as its kind.
    let stage_template = &asm.stack("Test-Storage").unwrap().template;
    let mut expected = Vec::new();
    for (_, r) in stage_template["Resources"].as_object().unwrap() {
        let ty = r["Type"].as_str().unwrap();
        let props = cairn_core::Value::from_json(&r["Properties"]);
        let Some(props) = props.as_map() else { continue };
        for (_, _, kind) in cairn_cfn::policy::policy_documents(ty, props) {
            expected.push(match (kind, ty) {
                (cairn_cfn::policy::PolicyKind::Identity, _) => ("IDENTITY_POLICY", ""),
                (cairn_cfn::policy::PolicyKind::Trust, _) => {
                    ("RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument")
                }
                (_, "AWS::S3::BucketPolicy") => ("RESOURCE_POLICY", "AWS::S3::Bucket"),
                _ => ("RESOURCE_POLICY", ""),
            });
        }
    }
    expected.sort();
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert_eq!(result["types"], serde_json::json!(expected));
    let report = std::fs::read_to_string(dir.path().join("policy-validation.xml")).unwrap();
    assert!(report.contains("ERROR TEST: refused"), "{report}");
}

#[test]
fn a_reference_policy_adds_check_no_new_access() {
    let (mut app, test, wave) = pipeline_with_test_wave();
    let reference = serde_json::json!({ "Version": "2012-10-17", "Statement": [
        { "Effect": "Allow", "Action": "s3:Get*", "Resource": "*" }
    ]});
    wave.add_stage_with(
        &mut app,
        test,
        StageOptions {
            pre: vec![Step::PolicyValidation {
                name: "ValidatePolicies".into(),
                blocking: vec![FindingType::Error],
                reference_policy: Some(reference.clone()),
            }],
            post: Vec::new(),
        },
    )
    .unwrap();
    let asm = app.synth().unwrap();
    let t = &asm.stack("Toolchain").unwrap().template;
    let spec = build_spec(t, "PipelineTestTestValidatePolicies");
    let settings: Json = serde_json::from_str(
        spec["env"]["variables"]["CAIRN_POLICY_VALIDATION"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(settings["reference_policy"], reference);
    assert_eq!(settings["blocking"], serde_json::json!(["ERROR"]));
    let policies: Vec<String> = of_type(t, "AWS::IAM::Policy")
        .into_iter()
        .map(|(_, p)| p["Properties"]["PolicyDocument"].to_string())
        .collect();
    assert!(policies
        .iter()
        .any(|p| p.contains("access-analyzer:CheckNoNewAccess")));
}

#[test]
fn outside_a_stage_pre_step_or_without_a_document_it_is_an_error() {
    let (mut app, test, wave) = pipeline_with_test_wave();
    let Err(Error::InvalidProps {
        path,
        problem: message,
    }) = wave.add_pre(&mut app, Step::policy_validation("ValidatePolicies"))
    else {
        panic!("a wave step is refused");
    };
    assert_eq!(path, "Toolchain/Pipeline");
    assert!(message.contains("StageOptions::pre"), "{message}");
    let Err(Error::InvalidProps { problem: message, .. }) = wave.add_stage_with(
        &mut app,
        test,
        StageOptions {
            pre: vec![Step::PolicyValidation {
                name: "ValidatePolicies".into(),
                blocking: vec![FindingType::Error],
                reference_policy: Some(serde_json::json!({ "Version": "2012-10-17" })),
            }],
            post: Vec::new(),
        },
    ) else {
        panic!("a reference policy without statements is refused");
    };
    assert!(message.contains("no Statement"), "{message}");
}

/// The script's own tests (Python's unittest, Access Analyzer replaced by a fake).
#[test]
fn the_script_passes_its_own_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policy_validation");
    let out = Command::new(python())
        .args(["-m", "unittest", "discover", "-s", ".", "-v"])
        .current_dir(&dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs (the policy-validation script's tests need it)");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Ran 4 tests"), "{log}");
}
