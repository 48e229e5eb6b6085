//! `cargo run -p cairn-codegen`: regenerates `constructs/cfn` from the vendored schemas.
//! With `--check`, writes nothing and fails when the checked-in code is stale.
//! `cargo run -p cairn-codegen -- iam` regenerates the IAM reference table instead
//! (`constructs/cfn/src/policy/reference.txt`, from `codegen/iam/`), also with `--check`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = cairn_codegen::workspace_root();
    if std::env::args().skip(1).any(|a| a == "iam") {
        return iam(&root, check);
    }
    let out = match cairn_codegen::generate_from_workspace(&root) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("cairn-codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let crate_dir = root.join(cairn_codegen::CRATE_PATH);
    if check {
        let stale = cairn_codegen::stale_files(&out, &crate_dir);
        if stale.is_empty() {
            println!("cairn-codegen: {} is up to date", cairn_codegen::CRATE_PATH);
            return ExitCode::SUCCESS;
        }
        for s in stale {
            eprintln!("stale: {s}");
        }
        eprintln!("run `cargo run -p cairn-codegen` to regenerate");
        return ExitCode::FAILURE;
    }
    for extra in cairn_codegen::extra_generated(&out, &crate_dir) {
        if let Err(e) = std::fs::remove_file(crate_dir.join(&extra)) {
            eprintln!("cairn-codegen: removing {}: {e}", extra.display());
            return ExitCode::FAILURE;
        }
    }
    let mut bytes = 0;
    for (rel, text) in &out.files {
        let path = crate_dir.join(rel);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // Leave unchanged files alone so their mtimes do not trigger rebuilds.
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            bytes += text.len();
            continue;
        }
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cairn-codegen: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        bytes += text.len();
    }
    println!(
        "cairn-codegen: {} services, {} resource types, {} property types, {} enums; {} files, {} bytes",
        out.services,
        out.resource_types,
        out.property_types,
        out.enums,
        out.files.len(),
        bytes
    );
    ExitCode::SUCCESS
}

/// The `iam` mode: regenerate (or with `--check`, compare) the IAM reference table.
fn iam(root: &std::path::Path, check: bool) -> ExitCode {
    use cairn_codegen::iam::{generate_iam_from_workspace, IAM_TABLE_PATH};
    let table = match generate_iam_from_workspace(root) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cairn-codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path = root.join(IAM_TABLE_PATH);
    let current = std::fs::read_to_string(&path).ok();
    if check {
        if current.as_deref() == Some(table.as_str()) {
            println!("cairn-codegen: {IAM_TABLE_PATH} is up to date");
            return ExitCode::SUCCESS;
        }
        eprintln!("stale: {IAM_TABLE_PATH}; run `cargo run -p cairn-codegen -- iam`");
        return ExitCode::FAILURE;
    }
    if current.as_deref() != Some(table.as_str()) {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = std::fs::write(&path, &table) {
            eprintln!("cairn-codegen: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let count = |tag: &str| table.lines().filter(|l| l.starts_with(tag)).count();
    println!(
        "cairn-codegen: {IAM_TABLE_PATH}: {} services, {} actions, {} resource types; {} bytes",
        count("S\t"),
        count("A\t"),
        count("R\t"),
        table.len()
    );
    ExitCode::SUCCESS
}
