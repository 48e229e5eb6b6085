//! `cargo run -p cairn-codegen`: regenerates `constructs/cfn` from the vendored schemas.
//! With `--check`, writes nothing and fails when the checked-in code is stale.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = cairn_codegen::workspace_root();
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
