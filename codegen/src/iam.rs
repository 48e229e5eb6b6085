//! The IAM service reference: `codegen/iam/iam_definition.json.gz` (parliament's copy of the
//! AWS Service Authorization Reference) compacted into the table `cairn-cfn`'s policy checker
//! embeds (`constructs/cfn/src/policy/reference.txt`). Run with `cargo run -p cairn-codegen -- iam`.
//!
//! The table keeps only what the checker reads (no descriptions, no dependent actions), one
//! record per line, fields separated by tabs (resource type names contain spaces):
//!
//! ```text
//! S <prefix> <service name>             a service; the records below belong to it
//! K <key> <key> ...                     every condition key the service's records name (index = position)
//! R <name> <arn format> <key idx> ...   a resource type, with the condition keys it supports
//! A <Action> <level> <types> <keys>     an action: access level (R)ead (L)ist (W)rite
//!                                       (P)ermissions management (T)agging; the resource
//!                                       types it takes as space-separated indexes into the
//!                                       service's R records, `*` marking required ones; the
//!                                       condition keys that apply, as indexes into K
//! ```
//!
//! Services that the reference lists more than once under one prefix are merged. Records are
//! sorted (services by prefix, actions by name), so the output depends only on the data.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::Value as Json;

/// The vendored reference, relative to the workspace root.
pub const IAM_BUNDLE_PATH: &str = "codegen/iam/iam_definition.json.gz";
/// The version of the package it comes from, relative to the workspace root.
pub const IAM_VERSION_PATH: &str = "codegen/iam/VERSION";
/// The generated table, relative to the workspace root.
pub const IAM_TABLE_PATH: &str = "constructs/cfn/src/policy/reference.txt";

/// An action: access level, resource type -> required, condition key indexes.
type ActionEntry = (char, BTreeMap<String, bool>, Vec<usize>);

#[derive(Default)]
struct Service {
    name: String,
    keys: Vec<String>,
    key_index: BTreeMap<String, usize>,
    /// name -> (arn, key indexes)
    resources: BTreeMap<String, (String, Vec<usize>)>,
    /// name -> (level, resource type -> required, key indexes)
    actions: BTreeMap<String, ActionEntry>,
}

impl Service {
    fn key(&mut self, k: &str) -> usize {
        if let Some(i) = self.key_index.get(k) {
            return *i;
        }
        self.keys.push(k.to_string());
        self.key_index.insert(k.to_string(), self.keys.len() - 1);
        self.keys.len() - 1
    }
}

fn str_of<'a>(v: &'a Json, field: &str) -> Result<&'a str, String> {
    v.get(field)
        .and_then(Json::as_str)
        .ok_or_else(|| format!("iam reference: an entry has no string `{field}`"))
}

fn list_of<'a>(v: &'a Json, field: &str) -> &'a [Json] {
    v.get(field).and_then(Json::as_array).map_or(&[], Vec::as_slice)
}

fn level(s: &str) -> Result<char, String> {
    Ok(match s {
        "Read" => 'R',
        "List" => 'L',
        "Write" => 'W',
        "Permissions management" => 'P',
        "Tagging" => 'T',
        other => return Err(format!("iam reference: unknown access level `{other}`")),
    })
}

fn clean(s: &str) -> String {
    s.replace(['\t', '\n'], " ")
}

/// The compact table made from the gzip-compressed `iam_definition.json`, headed with the
/// package version.
pub fn generate_iam(json_gz: &[u8], version: &str) -> Result<String, String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(json_gz)
        .read_to_string(&mut text)
        .map_err(|e| format!("iam reference: {e}"))?;
    let doc: Json = serde_json::from_str(&text).map_err(|e| format!("iam reference: {e}"))?;
    let entries = doc
        .as_array()
        .ok_or("iam reference: the document is not a list of services")?;
    let mut services: BTreeMap<String, Service> = BTreeMap::new();
    for e in entries {
        let prefix = str_of(e, "prefix")?.to_string();
        let s = services.entry(prefix).or_default();
        if s.name.is_empty() {
            s.name = clean(str_of(e, "service_name")?);
        }
        for c in list_of(e, "conditions") {
            s.key(str_of(c, "condition")?);
        }
        for r in list_of(e, "resources") {
            let keys = list_of(r, "condition_keys")
                .iter()
                .filter_map(Json::as_str)
                .map(|k| s.key(k))
                .collect::<Vec<_>>();
            let name = clean(str_of(r, "resource")?);
            let arn = clean(str_of(r, "arn")?);
            let entry = s.resources.entry(name).or_insert((arn, Vec::new()));
            for k in keys {
                if !entry.1.contains(&k) {
                    entry.1.push(k);
                }
            }
        }
        for p in list_of(e, "privileges") {
            let name = str_of(p, "privilege")?.to_string();
            let lvl = level(str_of(p, "access_level")?)?;
            let mut types = Vec::new();
            let mut keys = Vec::new();
            for rt in list_of(p, "resource_types") {
                let t = str_of(rt, "resource_type")?;
                if !t.is_empty() {
                    let required = t.ends_with('*');
                    types.push((clean(t.trim_end_matches('*')), required));
                }
                for k in list_of(rt, "condition_keys").iter().filter_map(Json::as_str) {
                    keys.push(s.key(k));
                }
            }
            let entry = s
                .actions
                .entry(name)
                .or_insert((lvl, BTreeMap::new(), Vec::new()));
            for (t, req) in types {
                *entry.1.entry(t).or_insert(false) |= req;
            }
            for k in keys {
                if !entry.2.contains(&k) {
                    entry.2.push(k);
                }
            }
        }
    }
    // Resource types an action names but the service does not list get an empty ARN format
    // (the checker then cannot tell a mismatch, and says nothing).
    for s in services.values_mut() {
        let missing: Vec<String> = s
            .actions
            .values()
            .flat_map(|a| a.1.keys())
            .filter(|t| !s.resources.contains_key(*t))
            .cloned()
            .collect();
        for t in missing {
            s.resources.insert(t, (String::new(), Vec::new()));
        }
    }
    let mut out = format!(
        "# @generated by cairn-codegen from parliament {} iam_definition.json (BSD-3-Clause). DO NOT EDIT.\n",
        version.trim()
    );
    let join = |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join(" ");
    for (prefix, s) in &services {
        out.push_str(&format!("S\t{prefix}\t{}\n", s.name));
        out.push('K');
        for k in &s.keys {
            out.push('\t');
            out.push_str(k);
        }
        out.push('\n');
        let rindex: BTreeMap<&str, usize> = s
            .resources
            .keys()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        for (name, (arn, keys)) in &s.resources {
            out.push_str(&format!("R\t{name}\t{arn}\t{}\n", join(keys)));
        }
        for (name, (lvl, types, keys)) in &s.actions {
            let types = types
                .iter()
                .map(|(t, req)| format!("{}{}", rindex[t.as_str()], if *req { "*" } else { "" }))
                .collect::<Vec<_>>()
                .join(" ");
            out.push_str(&format!("A\t{name}\t{lvl}\t{types}\t{}\n", join(keys)));
        }
    }
    Ok(out)
}

/// Generates the table from the vendored reference of the workspace at `root`.
pub fn generate_iam_from_workspace(root: &std::path::Path) -> Result<String, String> {
    let path = root.join(IAM_BUNDLE_PATH);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let vpath = root.join(IAM_VERSION_PATH);
    let version = std::fs::read_to_string(&vpath).map_err(|e| format!("{}: {e}", vpath.display()))?;
    generate_iam(&bytes, &version)
}
