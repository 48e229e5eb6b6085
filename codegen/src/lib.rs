//! # cairn-codegen
//!
//! Generates the `cairn-cfn` crate (typed CloudFormation L1 resources) from the
//! resource provider schemas vendored in `codegen/schemas/`. Run it with
//! `cargo run -p cairn-codegen`; see `codegen/README.md`.

#![warn(missing_docs)]

pub mod bundle;
pub mod docs;
pub mod emit;
pub mod iam;
pub mod model;
pub mod names;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The services in `cairn-cfn`'s `default` feature set.
pub const DEFAULT_SERVICES: &[&str] = &[
    "apigatewayv2",
    "applicationautoscaling",
    "athena",
    "batch",
    "cloudformation",
    "cloudfront",
    "cloudwatch",
    "codebuild",
    "codecommit",
    "codepipeline",
    "dynamodb",
    "ec2",
    "ecr",
    "ecs",
    "eks",
    "elasticloadbalancingv2",
    "events",
    "fis",
    "glue",
    "iam",
    "imagebuilder",
    "kinesis",
    "kms",
    "lakeformation",
    "lambda",
    "logs",
    "rds",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "stepfunctions",
];

/// The schema bundle, relative to the workspace root.
pub const BUNDLE_PATH: &str = "codegen/schemas/cfn-lint-schemas.tar.gz";
/// The generated crate, relative to the workspace root.
pub const CRATE_PATH: &str = "constructs/cfn";
/// The generated modules, relative to the generated crate.
pub const GENERATED_DIR: &str = "src/generated";

const CARGO_TEMPLATE: &str = include_str!("cfn_cargo_template.toml");

/// What one generation run produced.
pub struct Output {
    /// File contents by path relative to the generated crate (`constructs/cfn`).
    pub files: BTreeMap<PathBuf, String>,
    /// Number of resource types.
    pub resource_types: usize,
    /// Number of property types (structs in resource submodules).
    pub property_types: usize,
    /// Number of string enums.
    pub enums: usize,
    /// Number of service modules.
    pub services: usize,
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Generates every file of the crate from the bytes of a schema bundle.
pub fn generate(bundle_tar_gz: &[u8]) -> Result<Output, String> {
    let bundle = bundle::read(bundle_tar_gz)?;
    let mut by_service: BTreeMap<String, Vec<model::ResourceModel>> = BTreeMap::new();
    for (type_name, schema) in &bundle.types {
        let m = model::resource(type_name, schema);
        by_service.entry(m.service.clone()).or_default().push(m);
    }
    let mut out = Output {
        files: BTreeMap::new(),
        resource_types: 0,
        property_types: 0,
        enums: 0,
        services: 0,
    };
    let mut services = Vec::new();
    for (service, resources) in &mut by_service {
        // Resource submodule names must be unique within a service.
        let mut taken = std::collections::HashSet::new();
        for r in resources.iter_mut() {
            r.module = names::unique(&r.module, &mut taken);
        }
        out.resource_types += resources.len();
        out.property_types += resources.iter().map(|r| r.structs.len()).sum::<usize>();
        out.enums += resources.iter().map(|r| r.enums.len()).sum::<usize>();
        let parts: Vec<&str> = resources[0].type_name.split("::").collect();
        services.push((service.clone(), format!("{}::{}::", parts[0], parts[1])));
        let path = Path::new(GENERATED_DIR).join(format!("{service}.rs"));
        out.files
            .insert(path, emit::service(&bundle.version, service, resources));
    }
    out.services = services.len();
    for d in DEFAULT_SERVICES {
        if !by_service.contains_key(*d) {
            return Err(format!("default service {d} has no resource types"));
        }
    }
    out.files.insert(
        Path::new(GENERATED_DIR).join("mod.rs"),
        emit::root(&bundle.version, &services),
    );
    out.files.insert(
        PathBuf::from("Cargo.toml"),
        emit::cargo_toml(&bundle.version, CARGO_TEMPLATE, &services, DEFAULT_SERVICES),
    );
    Ok(out)
}

/// Generates from the vendored bundle of the workspace at `root`.
pub fn generate_from_workspace(root: &Path) -> Result<Output, String> {
    let path = root.join(BUNDLE_PATH);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    generate(&bytes)
}

/// Differences between generated output and the files under `crate_dir`: changed or
/// missing files, and stale generated modules that would be deleted.
pub fn stale_files(out: &Output, crate_dir: &Path) -> Vec<String> {
    let mut stale = Vec::new();
    for (rel, text) in &out.files {
        match std::fs::read_to_string(crate_dir.join(rel)) {
            Ok(existing) if existing == *text => {}
            Ok(_) => stale.push(format!("{} differs", rel.display())),
            Err(_) => stale.push(format!("{} is missing", rel.display())),
        }
    }
    for extra in extra_generated(out, crate_dir) {
        stale.push(format!("{} is not generated any more", extra.display()));
    }
    stale
}

/// Files in the generated directory that the output does not contain.
pub fn extra_generated(out: &Output, crate_dir: &Path) -> Vec<PathBuf> {
    let mut extra = Vec::new();
    if let Ok(rd) = std::fs::read_dir(crate_dir.join(GENERATED_DIR)) {
        for e in rd.flatten() {
            let rel = Path::new(GENERATED_DIR).join(e.file_name());
            if !out.files.contains_key(&rel) {
                extra.push(rel);
            }
        }
    }
    extra.sort();
    extra
}
