//! Helpers shared by the Step Functions test files: synthesis, the ASL of a machine,
//! asl-validator and cfn-lint over a definition or an assembly, policy statements.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_aspects::{Mode, RuleSet};
use cairn_core::{App, CloudAssembly, TemplateFormat, Value};
use serde_json::{json, Value as Json};

pub const PLACEHOLDER_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:placeholder";

// ------------------------------------------------------------------ helpers ----

/// Applies the recommended rules in error mode and the schema validator, then synthesizes.
pub fn synth(mut app: App) -> CloudAssembly {
    let root = app.root();
    let mut rules = RuleSet::empty();
    for r in cairn_aspects::rules::recommended() {
        rules = rules.rule_boxed(r, Mode::Error);
    }
    rules.apply(&mut app, root);
    app.add_validator_once(cairn_cfn::SchemaValidator::new());
    match app.synth() {
        Ok(asm) => asm,
        Err(e) => panic!("synthesis failed: {e}"),
    }
}

pub fn template(asm: &CloudAssembly, stack: &str) -> Json {
    asm.stack(stack).expect("stack").template.json().clone()
}

pub fn only<'a>(asm: &'a CloudAssembly, stack: &str, ty: &str) -> &'a str {
    let ids = asm.stack(stack).expect("stack").resources_of_type(ty);
    assert_eq!(ids.len(), 1, "one {ty} in {stack}: {ids:?}");
    ids[0]
}

/// The state machine's definition as written (placeholders `${Key}` kept).
pub fn asl(t: &Json, logical_id: &str) -> Json {
    let text = t["Resources"][logical_id]["Properties"]["DefinitionString"]
        .as_str()
        .expect("DefinitionString is a literal string");
    serde_json::from_str(text).expect("DefinitionString is JSON")
}

/// The definition with every substitution replaced as CloudFormation would, with
/// placeholders for references (pseudo parameters become literals).
pub fn rendered(t: &Json, logical_id: &str) -> Json {
    let props = &t["Resources"][logical_id]["Properties"];
    let mut text = props["DefinitionString"].as_str().expect("string").to_string();
    if let Some(subs) = props["DefinitionSubstitutions"].as_object() {
        for (k, v) in subs {
            text = text.replace(&format!("${{{k}}}"), &render_value(v));
        }
    }
    assert!(!text.contains("${"), "unresolved placeholder in {text}");
    serde_json::from_str(&text).expect("rendered definition is JSON")
}

/// A substitution's value as CloudFormation would resolve it: pseudo parameters become
/// literals (the partition `aws`), `Fn::Join`s are joined, other references placeholders.
pub fn render_value(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        v if v == &json!({ "Ref": "AWS::Partition" }) => "aws".into(),
        v if v == &json!({ "Ref": "AWS::Region" }) => "us-east-1".into(),
        v if v == &json!({ "Ref": "AWS::AccountId" }) => "123456789012".into(),
        v if v["Fn::Join"].is_array() => {
            let parts = v["Fn::Join"][1].as_array().expect("Fn::Join of a list");
            let delimiter = v["Fn::Join"][0].as_str().expect("delimiter");
            parts.iter().map(render_value).collect::<Vec<_>>().join(delimiter)
        }
        _ => PLACEHOLDER_ARN.into(),
    }
}

/// The ARN of an optimized integration as the definition's substitutions hold it: in the
/// stack's partition.
pub fn states_arn(integration: &str) -> Json {
    json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, format!(":states:::{integration}")]] })
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("stepfunctions")
        .join(name);
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs asl-validator (from `$ASL_VALIDATOR`) on a definition; errors fail the test.
pub fn asl_validator(name: &str, definition: &Json) {
    let Ok(bin) = std::env::var("ASL_VALIDATOR") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "ASL_VALIDATOR is not set; the test command sets it (scripts/test)"
        );
        eprintln!("note: ASL_VALIDATOR not set, asl-validator skipped for {name} (run scripts/test)");
        return;
    };
    assert!(Path::new(&bin).exists(), "ASL_VALIDATOR={bin} does not exist");
    let file = scratch(&format!("asl-{name}")).join("definition.asl.json");
    std::fs::write(&file, serde_json::to_string_pretty(definition).expect("json")).expect("write");
    let out = Command::new(&bin)
        .arg("--json-path")
        .arg(&file)
        .output()
        .expect("asl-validator runs");
    assert!(
        out.status.success(),
        "asl-validator rejected {name}:\n{}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        serde_json::to_string_pretty(definition).unwrap_or_default()
    );
}

/// Writes the assembly and runs cfn-lint (from `$CFN_LINT`) on every template.
pub fn cfn_lint(name: &str, asm: &CloudAssembly) {
    let Ok(bin) = std::env::var("CFN_LINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CFN_LINT is not set; the test command sets it (scripts/test)"
        );
        eprintln!("note: CFN_LINT not set, cfn-lint skipped for {name} (run scripts/test)");
        return;
    };
    assert!(Path::new(&bin).exists(), "CFN_LINT={bin} does not exist");
    let dir = scratch(&format!("lint-{name}"));
    asm.write(&dir, TemplateFormat::Json).expect("write assembly");
    let templates: Vec<PathBuf> = asm
        .stacks()
        .iter()
        .map(|s| dir.join(format!("{}.template.json", s.artifact_id)))
        .collect();
    let out = Command::new(&bin)
        .args(&templates)
        .output()
        .expect("cfn-lint runs");
    let code = out.status.code().unwrap_or(1);
    assert!(
        code & 2 == 0 && (code & !(2 | 4 | 8)) == 0,
        "cfn-lint found errors in {name}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Validates every state machine of every stack with asl-validator.
pub fn validate_all(name: &str, asm: &CloudAssembly) {
    for s in asm.stacks() {
        for id in s.resources_of_type("AWS::StepFunctions::StateMachine") {
            asl_validator(&format!("{name}-{id}"), &rendered(&s.template, id));
        }
    }
}

pub fn statements(t: &Json, policy: &str) -> Json {
    t["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"].clone()
}

pub fn logs_statement() -> Json {
    json!({
        "Effect": "Allow",
        "Action": [
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"
        ],
        "Resource": "*"
    })
}

pub fn instances_arn() -> Value {
    Value::sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*")
}

/// The default policy of the state machine's own role.
pub fn machine_role_policy(asm: &CloudAssembly, t: &Json) -> String {
    let stack = asm.stacks().iter().find(|s| &s.template == t).expect("stack");
    stack
        .resources_of_type("AWS::IAM::Policy")
        .into_iter()
        .find(|id| id.contains("RoleDefault") && !id.starts_with("AgentRole"))
        .expect("state machine policy")
        .to_string()
}
