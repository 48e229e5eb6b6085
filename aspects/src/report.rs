//! Findings, and the reports made of them: a terminal summary, `cairn-report.json` and
//! `cairn-report.sarif` (SARIF 2.1.0) in the assembly directory.

use std::fmt::Write as _;

use serde_json::{json, Value as Json};

use cairn_core::{App, CloudAssembly, Level, Report, Reporter};

use crate::ruleset::Findings;

/// What became of a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Still there: an error or a warning.
    Open(Level),
    /// Fixed automatically; the text says how.
    Fixed(String),
    /// Suppressed; the text is the reason.
    Suppressed(String),
}

/// One rule's finding on one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule id.
    pub rule: String,
    /// The resource's construct path.
    pub path: String,
    /// The resource's CloudFormation type.
    pub resource_type: String,
    /// What was wrong.
    pub message: String,
    /// What became of it.
    pub status: Status,
}

impl Finding {
    fn status_word(&self) -> &'static str {
        match &self.status {
            Status::Open(Level::Error) => "ERROR",
            Status::Open(Level::Warning) => "WARNING",
            Status::Open(Level::Info) => "INFO",
            Status::Fixed(_) => "FIXED",
            Status::Suppressed(_) => "SUPPRESSED",
        }
    }
}

/// The file names written into the assembly.
pub const JSON_REPORT: &str = "cairn-report.json";
/// The SARIF file name.
pub const SARIF_REPORT: &str = "cairn-report.sarif";

pub(crate) struct FindingsReporter {
    findings: Findings,
}

impl FindingsReporter {
    pub(crate) fn new(findings: Findings) -> Self {
        FindingsReporter { findings }
    }

    pub(crate) fn findings(&self) -> Findings {
        self.findings.clone()
    }
}

impl Reporter for FindingsReporter {
    fn report(&self, app: &App, assembly: Option<&CloudAssembly>) -> Report {
        let findings = self.findings.borrow();
        let count = |f: &dyn Fn(&Status) -> bool| findings.iter().filter(|x| f(&x.status)).count();
        let errors = count(&|s| matches!(s, Status::Open(Level::Error)));
        let warnings = count(&|s| matches!(s, Status::Open(Level::Warning)));
        let fixed = count(&|s| matches!(s, Status::Fixed(_)));
        let suppressed = count(&|s| matches!(s, Status::Suppressed(_)));

        let mut summary = format!(
            "Compliance: {errors} error(s), {warnings} warning(s), {fixed} fixed, {suppressed} suppressed"
        );
        for f in findings.iter() {
            let detail = match &f.status {
                Status::Fixed(how) => format!("{} -> {how}", f.message),
                Status::Suppressed(why) => format!("{} (suppressed: {why})", f.message),
                Status::Open(_) => f.message.clone(),
            };
            let _ = write!(
                summary,
                "\n  {:<10} {:<30} {}: {}",
                f.status_word(),
                f.rule,
                f.path,
                detail
            );
        }

        let json_findings: Vec<Json> = findings
            .iter()
            .map(|f| {
                let mut j = json!({
                    "rule": f.rule,
                    "status": f.status_word().to_lowercase(),
                    "path": f.path,
                    "resourceType": f.resource_type,
                    "message": f.message,
                });
                match &f.status {
                    Status::Fixed(how) => j["fix"] = json!(how),
                    Status::Suppressed(why) => j["reason"] = json!(why),
                    Status::Open(_) => {}
                }
                if let Some(loc) = source_location(app, &f.path) {
                    j["source"] = json!(loc);
                }
                j
            })
            .collect();
        let report = json!({
            "version": 1,
            "summary": { "errors": errors, "warnings": warnings, "fixed": fixed, "suppressed": suppressed },
            "findings": json_findings,
        });
        let sarif = sarif(app, assembly, &findings);
        Report {
            files: vec![
                (JSON_REPORT.to_string(), pretty(&report)),
                (SARIF_REPORT.to_string(), pretty(&sarif)),
            ],
            summary: if findings.is_empty() { None } else { Some(summary) },
        }
    }
}

fn pretty(v: &Json) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The `file:line` of the user code that created the node at `path`, when known.
fn source_location(app: &App, path: &str) -> Option<String> {
    let node = app.find(path)?;
    app.node(node)
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
}

/// Where a resource is in the synthesized templates: (template file, 1-based line).
fn template_location(assembly: &CloudAssembly, path: &str) -> Option<(String, usize)> {
    let key = format!("/{path}");
    for s in assembly.stacks() {
        let Some(entries) = s.metadata.get(&key) else {
            continue;
        };
        let lid = entries
            .iter()
            .find(|e| e.kind == "aws:cdk:logicalId")?
            .data
            .as_str()?;
        let body = s.template_json();
        let needle = format!("\n  \"{lid}\": {{");
        let start = body.find("\"Resources\"").unwrap_or(0);
        let offset = body[start..].find(&needle)? + start + 1;
        let line = body[..offset].matches('\n').count() + 1;
        let file = match &s.assembly_dir {
            Some(d) => format!("{d}/{}.template.json", s.artifact_id),
            None => format!("{}.template.json", s.artifact_id),
        };
        return Some((file, line));
    }
    None
}

fn sarif(app: &App, assembly: Option<&CloudAssembly>, findings: &[crate::report::Finding]) -> Json {
    let mut rule_ids: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let infos = crate::rules::catalogue();
    let rules: Vec<Json> = rule_ids
        .iter()
        .map(|id| {
            let text = infos
                .iter()
                .find(|i| i.id == *id)
                .map_or("custom rule", |i| i.description);
            json!({ "id": id, "shortDescription": { "text": text } })
        })
        .collect();
    let results: Vec<Json> = findings
        .iter()
        .map(|f| {
            let (level, kind) = match &f.status {
                Status::Open(Level::Error) => ("error", "fail"),
                Status::Open(_) => ("warning", "fail"),
                Status::Fixed(_) => ("none", "pass"),
                Status::Suppressed(_) => ("error", "fail"),
            };
            let text = match &f.status {
                Status::Fixed(how) => format!("{} (fixed: {how})", f.message),
                _ => f.message.clone(),
            };
            let mut locations = Vec::new();
            if let Some(loc) = app.find(&f.path).and_then(|n| app.node(n).location()) {
                locations.push(json!({
                    "physicalLocation": {
                        "artifactLocation": { "uri": loc.file() },
                        "region": { "startLine": loc.line(), "startColumn": loc.column() }
                    },
                    "logicalLocations": [{ "fullyQualifiedName": f.path, "kind": "resource" }]
                }));
            }
            if let Some((file, line)) = assembly.and_then(|a| template_location(a, &f.path)) {
                locations.push(json!({
                    "physicalLocation": {
                        "artifactLocation": { "uri": file, "uriBaseId": "ASSEMBLY" },
                        "region": { "startLine": line }
                    },
                    "logicalLocations": [{ "fullyQualifiedName": f.path, "kind": "resource" }]
                }));
            }
            if locations.is_empty() {
                locations.push(
                    json!({ "logicalLocations": [{ "fullyQualifiedName": f.path, "kind": "resource" }] }),
                );
            }
            let mut r = json!({
                "ruleId": f.rule,
                "level": level,
                "kind": kind,
                "message": { "text": text },
                "locations": locations,
                "properties": { "resourceType": f.resource_type },
            });
            if let Status::Suppressed(why) = &f.status {
                r["suppressions"] = json!([{ "kind": "inSource", "justification": why }]);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "cairn",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            } },
            "originalUriBaseIds": { "ASSEMBLY": { "description": { "text": "the cloud assembly directory" } } },
            "results": results
        }]
    })
}
