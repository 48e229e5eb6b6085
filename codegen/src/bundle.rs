//! Reads the vendored schema bundle (`codegen/schemas/cfn-lint-schemas.tar.gz`, made by
//! `codegen/vendor-schemas.sh`).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde_json::Value as J;

/// The schemas of every resource type, by type name.
pub struct Bundle {
    /// The cfn-lint release the schemas come from.
    pub version: String,
    /// Every resource type and its provider schema, sorted by type name.
    pub types: BTreeMap<String, J>,
}

/// Reads a bundle from the bytes of its `.tar.gz`.
pub fn read(tar_gz: &[u8]) -> Result<Bundle, String> {
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tar_gz));
    for entry in archive.entries().map_err(|e| format!("bundle: {e}"))? {
        let mut entry = entry.map_err(|e| format!("bundle entry: {e}"))?;
        let path = entry
            .path()
            .map_err(|e| format!("bundle path: {e}"))?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| format!("bundle {path}: {e}"))?;
        files.insert(path, data);
    }
    let index: J = serde_json::from_slice(files.get("index.json").ok_or("bundle has no index.json")?)
        .map_err(|e| format!("index.json: {e}"))?;
    let version = index["cfn_lint_version"]
        .as_str()
        .ok_or("index.json: no cfn_lint_version")?
        .to_string();
    let mut parsed: HashMap<&str, J> = HashMap::new();
    let mut types = BTreeMap::new();
    for (type_name, file) in index["types"].as_object().ok_or("index.json: no types")? {
        let file = file.as_str().ok_or("index.json: bad file name")?;
        if !parsed.contains_key(file) {
            let bytes = files.get(file).ok_or_else(|| format!("bundle has no {file}"))?;
            let schema: J = serde_json::from_slice(bytes).map_err(|e| format!("{file}: {e}"))?;
            parsed.insert(file, schema);
        }
        types.insert(type_name.clone(), parsed[file].clone());
    }
    Ok(Bundle { version, types })
}
