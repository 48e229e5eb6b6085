//! Helpers shared by the L2 test files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_aspects::rules::NoPublicIngress;
use cairn_aspects::{Findings, Mode, RuleSet};
use cairn_constructs::kms::Key;
use cairn_constructs::s3::{Bucket, BucketEncryption, BucketProps};
use cairn_core::{App, CloudAssembly, Stack};
use serde_json::Value as Json;

/// An app with the schema validator and every recommended rule in `Mode::Error`, and one
/// stack `S`; the findings let a test assert that the defaults need no fix.
pub fn checked_app() -> (App, Stack, cairn_aspects::Findings) {
    let mut app = App::new();
    app.add_validator_once(cairn_cfn::SchemaValidator::new());
    let stack = app.stack("S").unwrap();
    let mut rules = RuleSet::recommended();
    for (info, _) in rules.rules() {
        rules = rules.mode(info.id, Mode::Error);
    }
    let root = app.root();
    let findings = rules.apply(&mut app, root);
    (app, stack, findings)
}

/// Runs cfn-lint (`$CFN_LINT`) over templates; errors fail the test. Without `$CFN_LINT`
/// the test fails under CI and is skipped with a note elsewhere.
pub fn cfn_lint(templates: &[PathBuf]) {
    let Ok(bin) = std::env::var("CFN_LINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CFN_LINT is not set; the test command sets it (scripts/test)"
        );
        eprintln!("note: CFN_LINT not set, cfn-lint check skipped (run scripts/test)");
        return;
    };
    assert!(Path::new(&bin).exists(), "CFN_LINT={bin} does not exist");
    let out = Command::new(&bin)
        .args(templates)
        .output()
        .expect("cfn-lint runs");
    let code = out.status.code().unwrap_or(1);
    assert!(
        code & 2 == 0 && (code & !(2 | 4 | 8)) == 0,
        "cfn-lint found errors:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Synthesizes stack `stack` with the schema validator on and every recommended rule in
/// `Mode::Error` (public ingress allow-listed as given); asserts no finding, runs cfn-lint.
pub fn synth_clean(mut app: App, stack: &str, allow: &[(i64, String)], name: &str) -> Json {
    app.add_validator_once(cairn_cfn::SchemaValidator::new());
    let mut ingress = NoPublicIngress::default();
    for (port, path) in allow {
        ingress = ingress.allow(*port, path);
    }
    let mut rules = RuleSet::recommended();
    for (info, _) in RuleSet::recommended().rules() {
        rules = rules.mode(info.id, Mode::Error);
    }
    let root = app.root();
    let findings = rules.rule(ingress, Mode::Error).apply(&mut app, root);
    let asm = match app.synth() {
        Ok(a) => a,
        Err(e) => panic!("{name}: synthesis failed: {e}"),
    };
    assert!(
        findings.borrow().is_empty(),
        "{name}: findings {:#?}",
        findings.borrow()
    );
    let template = asm.stack(stack).expect("stack").template.json().clone();
    cfn_lint_template(&template, name);
    template
}

/// Runs cfn-lint (from `$CFN_LINT`) over the template; errors fail the test.
pub fn cfn_lint_template(template: &Json, name: &str) {
    let Ok(bin) = std::env::var("CFN_LINT") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CFN_LINT is not set; the test command sets it (scripts/test)"
        );
        eprintln!("note: CFN_LINT not set, cfn-lint check of {name} skipped (run scripts/test)");
        return;
    };
    assert!(Path::new(&bin).exists(), "CFN_LINT={bin} does not exist");
    let dir = std::env::temp_dir().join(format!("cairn-l2-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file: PathBuf = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_string_pretty(template).expect("json")).expect("write");
    let out = Command::new(&bin).arg(&file).output().expect("cfn-lint runs");
    let code = out.status.code().unwrap_or(1);
    assert!(
        code & 2 == 0 && (code & !(2 | 4 | 8)) == 0,
        "cfn-lint found errors in {name}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

pub fn of_type<'a>(t: &'a Json, ty: &str) -> Vec<(&'a String, &'a Json)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

/// The logical ID `<prefix><8 hex digits>` (a construct's `Resource`, or a child resource).
pub fn logical(t: &Json, prefix: &str) -> String {
    let ids: Vec<&String> = t["Resources"]
        .as_object()
        .expect("resources")
        .keys()
        .filter(|k| {
            k.len() == prefix.len() + 8
                && k.starts_with(prefix)
                && k[prefix.len()..].chars().all(|c| c.is_ascii_hexdigit())
        })
        .collect();
    assert_eq!(ids.len(), 1, "one resource {prefix}XXXXXXXX: {ids:?}");
    ids[0].clone()
}

/// The one logical ID of a type starting with `prefix`.
pub fn logical_of(t: &Json, prefix: &str, ty: &str) -> String {
    let ids: Vec<&String> = of_type(t, ty)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(prefix))
        .collect();
    assert_eq!(ids.len(), 1, "one {ty} starting with {prefix}: {ids:?}");
    ids[0].clone()
}

/// Synthesizes the app, panicking with the error text when it is refused, and asserts
/// that the rules of `findings` (from [`checked_app`]) found nothing.
pub fn synth(app: &mut App, findings: &Findings) -> CloudAssembly {
    let asm = match app.synth() {
        Ok(a) => a,
        Err(e) => panic!("synthesis failed: {e}"),
    };
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    asm
}

/// A bucket `id` encrypted with the customer managed `key` (SSE-KMS), otherwise the
/// defaults.
pub fn kms_bucket(app: &mut App, stack: Stack, id: &str, key: Key) -> Bucket {
    Bucket::new(
        app,
        stack,
        id,
        BucketProps {
            encryption: BucketEncryption::Kms(key),
            ..BucketProps::default()
        },
    )
    .unwrap()
}

/// The pipeline's stack: `Toolchain` in 111111111111/eu-west-1.
pub fn toolchain(app: &mut App) -> Stack {
    app.stack_with(
        app.root(),
        "Toolchain",
        cairn_core::StackProps {
            env: Some(cairn_core::Environment::new("111111111111", "eu-west-1")),
            ..cairn_core::StackProps::default()
        },
    )
    .unwrap()
}
