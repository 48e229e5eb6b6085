//! Helpers shared by the L2 test files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_aspects::{Mode, RuleSet};
use cairn_core::{App, Stack};

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
