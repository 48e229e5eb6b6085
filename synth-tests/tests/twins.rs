//! The differential twin suite: each pair is a CDK app written with aws-cdk-lib
//! (`synth-tests/twins/<pair>.js`, synthesized here by node into a fresh `cdk.out`) and its
//! cairn port (`synth-tests/twins/<pair>.rs`, same construct ids, same intent). Deployed
//! over the CDK's stack, the port must delete nothing and replace nothing:
//!
//! - a logical ID only in the CDK template is a **deletion**;
//! - for a logical ID in both, a different type, or a difference in a create-only property
//!   (the registry schema's `createOnlyProperties` plus the documented replacing properties
//!   the schemas miss, as `cairn diff` judges them: `cairn_toolkit::facts::SchemaFacts`)
//!   is a **replacement**;
//! - any other difference updates in place and is listed (a deliberate secure default,
//!   named in the README's table, or a gap to close).
//!
//! The per-pair table is printed (`cargo test -p synth-tests --test twins -- --nocapture`);
//! `CAIRN_TWINS_KEEP=<dir>` also writes both templates of each pair there.
//! aws-cdk-lib is installed pinned by `scripts/lib/install-tools` into `.tools/twins`
//! (`synth-tests/twins/package.json`); set `CAIRN_TWINS_NODE_MODULES` to use another copy.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cairn_toolkit::facts::{is_create_only, ResourceFacts, SchemaFacts};
use serde_json::Value as Json;

#[path = "../twins/custom_resources.rs"]
mod custom_resources;
#[path = "../twins/eks_cluster.rs"]
mod eks_cluster;
#[path = "../twins/eks_manifest.rs"]
mod eks_manifest;
#[path = "../twins/events.rs"]
mod events;
#[path = "../twins/existing.rs"]
mod existing;
#[path = "../twins/fargate_service.rs"]
mod fargate_service;
#[path = "../twins/pipeline.rs"]
mod pipeline;
#[path = "../twins/s3_notifications.rs"]
mod s3_notifications;
#[path = "../twins/secrets_config.rs"]
mod secrets_config;
#[path = "../twins/state_machine.rs"]
mod state_machine;
#[path = "../twins/table_stream.rs"]
mod table_stream;
#[path = "../twins/web_tier.rs"]
mod web_tier;

/// A twin pair: its name (the `.js` file's stem), the stack both sides define, and the
/// cairn port.
struct Pair {
    name: &'static str,
    stack: &'static str,
    build: fn() -> cairn::Result<cairn::App>,
}

const PAIRS: &[Pair] = &[
    Pair {
        name: "web_tier",
        stack: "WebTier",
        build: web_tier::build,
    },
    Pair {
        name: "events",
        stack: "Events",
        build: events::build,
    },
    Pair {
        name: "s3_notifications",
        stack: "S3Notifications",
        build: s3_notifications::build,
    },
    Pair {
        name: "table_stream",
        stack: "TableStream",
        build: table_stream::build,
    },
    Pair {
        name: "secrets_config",
        stack: "SecretsConfig",
        build: secrets_config::build,
    },
    Pair {
        name: "existing",
        stack: "Existing",
        build: existing::build,
    },
    Pair {
        name: "state_machine",
        stack: "StateMachine",
        build: state_machine::build,
    },
    Pair {
        name: "fargate_service",
        stack: "FargateService",
        build: fargate_service::build,
    },
    Pair {
        name: "eks_cluster",
        stack: "EksCluster",
        build: eks_cluster::build,
    },
    Pair {
        name: "eks_manifest",
        stack: "EksManifest",
        build: eks_manifest::build,
    },
    Pair {
        name: "pipeline",
        stack: "Pipeline",
        build: pipeline::build,
    },
    Pair {
        name: "custom_resources",
        stack: "CustomResources",
        build: custom_resources::build,
    },
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn node_modules() -> PathBuf {
    match std::env::var_os("CAIRN_TWINS_NODE_MODULES") {
        Some(p) => PathBuf::from(p),
        None => repo_root().join(".tools/twins/node_modules"),
    }
}

/// Synthesizes the aws-cdk-lib side with node into a fresh directory; returns the stack's
/// template.
fn cdk_template(pair: &Pair, out: &Path) -> Json {
    let modules = node_modules();
    assert!(
        modules.join("aws-cdk-lib/package.json").is_file(),
        "aws-cdk-lib is not installed in {}: run scripts/lib/install-tools (it installs \
         synth-tests/twins/package.json's pinned versions into .tools/twins)",
        modules.display()
    );
    let _ = std::fs::remove_dir_all(out);
    let script = repo_root()
        .join("synth-tests/twins")
        .join(format!("{}.js", pair.name));
    let output = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
        .arg(&script)
        .env("NODE_PATH", &modules)
        .env("CDK_OUTDIR", out)
        .env_remove("CDK_CONTEXT_JSON")
        .output()
        .unwrap_or_else(|e| panic!("running node {}: {e} (is node installed?)", script.display()));
    assert!(
        output.status.success(),
        "node {} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let file = out.join(format!("{}.template.json", pair.stack));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str(&text).unwrap()
}

/// Synthesizes the cairn side in-process; returns the stack's template.
fn cairn_template(pair: &Pair) -> Json {
    let asm = synth_tests::synth(pair.build);
    synth_tests::template_json(&asm, pair.stack)
}

/// A difference of one property (or resource attribute) of a resource in both templates.
#[derive(Debug)]
struct Change {
    id: String,
    path: String,
    replaces: bool,
}

#[derive(Debug, Default)]
struct Report {
    matching: usize,
    deletions: Vec<String>,
    additions: Vec<String>,
    changes: Vec<Change>,
}

impl Report {
    fn replacements(&self) -> Vec<&Change> {
        self.changes.iter().filter(|c| c.replaces).collect()
    }

    fn in_place(&self) -> Vec<&Change> {
        self.changes.iter().filter(|c| !c.replaces).collect()
    }
}

/// The paths (top-level property first) where `a` and `b` differ: objects key by key,
/// arrays of one length index by index, anything else as a whole.
fn differing_paths(a: Option<&Json>, b: Option<&Json>, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match (a, b) {
        (Some(Json::Object(x)), Some(Json::Object(y))) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                path.push(k.clone());
                differing_paths(x.get(k), y.get(k), path, out);
                path.pop();
            }
        }
        (Some(Json::Array(x)), Some(Json::Array(y))) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                path.push(i.to_string());
                differing_paths(Some(p), Some(q), path, out);
                path.pop();
            }
        }
        (a, b) if a == b => {}
        _ => out.push(path.clone()),
    }
}

/// Compares the CDK's template (deployed) with cairn's (the update).
fn compare(cdk: &Json, cairn: &Json) -> Report {
    let empty = serde_json::Map::new();
    let old = cdk["Resources"].as_object().unwrap_or(&empty);
    let new = cairn["Resources"].as_object().unwrap_or(&empty);
    let mut report = Report::default();
    for (id, o) in old {
        let Some(n) = new.get(id) else {
            report
                .deletions
                .push(format!("{id} ({})", o["Type"].as_str().unwrap_or("?")));
            continue;
        };
        report.matching += 1;
        let ty = o["Type"].as_str().unwrap_or_default();
        if n["Type"] != o["Type"] {
            report.changes.push(Change {
                id: id.clone(),
                path: format!("Type {} -> {}", o["Type"], n["Type"]),
                replaces: true,
            });
            continue;
        }
        let create_only = SchemaFacts.create_only(ty).unwrap_or_default();
        let mut paths = Vec::new();
        differing_paths(
            o.get("Properties"),
            n.get("Properties"),
            &mut Vec::new(),
            &mut paths,
        );
        for p in paths {
            report.changes.push(Change {
                id: id.clone(),
                replaces: is_create_only(&create_only, &p),
                path: if p.is_empty() {
                    "Properties".into()
                } else {
                    p.join(".")
                },
            });
        }
        for attr in ["DeletionPolicy", "UpdateReplacePolicy", "Condition"] {
            if o.get(attr) != n.get(attr) {
                report.changes.push(Change {
                    id: id.clone(),
                    path: format!(
                        "{attr} {} -> {}",
                        o.get(attr).unwrap_or(&Json::Null),
                        n.get(attr).unwrap_or(&Json::Null)
                    ),
                    replaces: false,
                });
            }
        }
    }
    for (id, n) in new {
        if !old.contains_key(id) {
            report
                .additions
                .push(format!("{id} ({})", n["Type"].as_str().unwrap_or("?")));
        }
    }
    report
}

/// With `CAIRN_TWINS_KEEP=<dir>`, writes both templates there (`<pair>.cdk.json`,
/// `<pair>.cairn.json`) to read the differences in full.
fn keep(pair: &Pair, cdk: &Json, cairn: &Json) {
    let Some(dir) = std::env::var_os("CAIRN_TWINS_KEEP") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (side, t) in [("cdk", cdk), ("cairn", cairn)] {
        let file = dir.join(format!("{}.{side}.json", pair.name));
        std::fs::write(&file, serde_json::to_string_pretty(t).unwrap()).unwrap();
    }
}

fn render(name: &str, r: &Report) -> String {
    let mut s = format!(
        "{name:<16} {:>8} {:>9} {:>12} {:>8} {:>10}\n",
        r.matching,
        r.deletions.len(),
        r.replacements().len(),
        r.in_place().len(),
        r.additions.len()
    );
    for d in &r.deletions {
        s.push_str(&format!("    DELETES   {d}\n"));
    }
    for c in r.replacements() {
        s.push_str(&format!("    REPLACES  {} ({})\n", c.id, c.path));
    }
    for c in r.in_place() {
        s.push_str(&format!("    in place  {} {}\n", c.id, c.path));
    }
    for a in &r.additions {
        s.push_str(&format!("    adds      {a}\n"));
    }
    s
}

#[test]
fn twins_delete_nothing_and_replace_nothing() {
    let scratch = std::env::temp_dir().join(format!("cairn-twins-{}", std::process::id()));
    // The node runs are the slow part: one thread per pair.
    let reports: Vec<(&str, Report)> = std::thread::scope(|scope| {
        let handles: Vec<_> = PAIRS
            .iter()
            .map(|pair| {
                let out = scratch.join(pair.name);
                scope.spawn(move || {
                    let cdk = cdk_template(pair, &out);
                    let cairn = cairn_template(pair);
                    keep(pair, &cdk, &cairn);
                    (pair.name, compare(&cdk, &cairn))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let mut table = format!(
        "{:<16} {:>8} {:>9} {:>12} {:>8} {:>10}\n",
        "pair", "matching", "deletions", "replacements", "in place", "cairn only"
    );
    for (name, r) in &reports {
        table.push_str(&render(name, r));
    }
    println!("{table}");
    let failing: Vec<&str> = reports
        .iter()
        .filter(|(_, r)| !r.deletions.is_empty() || !r.replacements().is_empty())
        .map(|(n, _)| *n)
        .collect();
    assert!(
        failing.is_empty(),
        "twins that delete or replace resources: {failing:?}\n{table}"
    );
}

#[test]
fn the_comparison_sees_deletions_replacements_and_in_place_changes() {
    let cdk = serde_json::json!({"Resources": {
        "Gone": {"Type": "AWS::SQS::Queue"},
        "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "a", "Tags": [{"Key": "k", "Value": "v"}]}},
        "I": {"Type": "AWS::EC2::Instance", "Properties": {"InstanceType": "t3.micro"}},
    }});
    let cairn = serde_json::json!({"Resources": {
        "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "b", "Tags": [{"Key": "k", "Value": "w"}]}},
        "I": {"Type": "AWS::EC2::Instance", "Properties": {"InstanceType": "t3.micro", "BlockDeviceMappings": []}},
        "New": {"Type": "AWS::SNS::Topic"},
    }});
    let r = compare(&cdk, &cairn);
    assert_eq!(r.matching, 2);
    assert_eq!(r.deletions, ["Gone (AWS::SQS::Queue)"]);
    assert_eq!(r.additions, ["New (AWS::SNS::Topic)"]);
    let replaced: Vec<(&str, &str)> = r
        .replacements()
        .iter()
        .map(|c| (c.id.as_str(), c.path.as_str()))
        .collect();
    assert_eq!(
        replaced,
        [("Sg", "GroupDescription"), ("I", "BlockDeviceMappings")]
    );
    let in_place: Vec<&str> = r.in_place().iter().map(|c| c.path.as_str()).collect();
    assert_eq!(in_place, ["Tags.0.Value"]);
}
