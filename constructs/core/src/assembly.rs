//! The cloud assembly: the synthesized stacks, and the directory the AWS CDK CLI and
//! cairn's toolkit read (`manifest.json` plus one `<artifactId>.template.json` per stack,
//! stages in nested `assembly-<Stage>` directories).

use std::fs;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{json, Map, Value as Json};

use crate::annotations::Diagnostic;
use crate::asset::{FileAssetArtifact, ASSET_BUCKET};
use crate::error::{Error, Result};
use crate::template::Environment;

/// The cloud assembly schema version written to `manifest.json`.
pub const MANIFEST_VERSION: &str = "36.0.0";

/// The file format of templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TemplateFormat {
    /// `<id>.template.json` (what the CDK CLI reads).
    #[default]
    Json,
    /// `<id>.template.yaml`, for people; the manifest then points at the YAML file.
    Yaml,
}

impl TemplateFormat {
    /// The template file's extension: `template.json` or `template.yaml`.
    pub fn extension(self) -> &'static str {
        match self {
            TemplateFormat::Json => "template.json",
            TemplateFormat::Yaml => "template.yaml",
        }
    }
}

/// A metadata entry of the manifest (`aws:cdk:logicalId`, `aws:cdk:warning` ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetadataEntry {
    /// The entry type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The entry data.
    pub data: Json,
}

/// One synthesized stack.
#[derive(Debug, Clone, PartialEq)]
pub struct StackArtifact {
    /// The artifact id (file name stem, CDK-style unique id of the stack's path).
    pub artifact_id: String,
    /// The CloudFormation stack name.
    pub stack_name: String,
    /// The stack's construct path.
    pub display_name: String,
    /// Where the stack deploys.
    pub environment: Environment,
    /// The template (`Null` when synthesized with [`SynthOptions::text_only`](crate::SynthOptions::text_only):
    /// then [`StackArtifact::template_body`] is the template).
    pub template: Json,
    /// The template serialized as JSON, computed once at synthesis.
    pub template_body: String,
    /// Artifact ids of the stacks this one must deploy after.
    pub dependencies: Vec<String>,
    /// Manifest metadata by construct path (`/Stack/Child`).
    pub metadata: IndexMap<String, Vec<MetadataEntry>>,
    /// Stack-level tags.
    pub tags: IndexMap<String, String>,
    /// Whether termination protection is enabled.
    pub termination_protection: bool,
    /// The nested assembly directory (for stacks in a stage).
    pub assembly_dir: Option<String>,
    /// File assets to upload before deploying, one per content hash, in the order added.
    pub assets: Vec<FileAssetArtifact>,
}

impl StackArtifact {
    /// The template as pretty JSON (one-space indent, as the CDK writes it).
    pub fn template_json(&self) -> &str {
        &self.template_body
    }

    /// The template as YAML.
    pub fn template_yaml(&self) -> Result<String> {
        let parsed;
        let template = if self.template.is_null() {
            // Synthesized text only: read the template back from its text.
            parsed = serde_json::from_str::<Json>(&self.template_body).map_err(|e| Error::Serialize {
                stack: self.display_name.clone(),
                message: e.to_string(),
            })?;
            &parsed
        } else {
            &self.template
        };
        serde_yaml::to_string(template).map_err(|e| Error::Serialize {
            stack: self.display_name.clone(),
            message: e.to_string(),
        })
    }

    /// The logical IDs of the resources of a CloudFormation type, in template order.
    pub fn resources_of_type(&self, resource_type: &str) -> Vec<&str> {
        self.template
            .get("Resources")
            .and_then(Json::as_object)
            .map(|r| {
                r.iter()
                    .filter(|(_, v)| v.get("Type").and_then(Json::as_str) == Some(resource_type))
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn template_file(&self, format: TemplateFormat) -> String {
        format!("{}.{}", self.artifact_id, format.extension())
    }

    /// The id of the stack's `cdk:asset-manifest` artifact: `<artifactId>.assets`.
    pub fn asset_manifest_id(&self) -> String {
        format!("{}.assets", self.artifact_id)
    }

    /// The stack's asset manifest file name: `<artifactId>.assets.json`.
    pub fn asset_manifest_file(&self) -> String {
        format!("{}.assets.json", self.artifact_id)
    }

    /// The asset manifest (the CDK's format, which the toolkit's deploy reads): each
    /// file asset by hash, its `source` next to the manifest (`packaging: file`: zips are
    /// made at synthesis) and one destination, the bootstrap bucket.
    pub fn asset_manifest(&self) -> Json {
        let destination_id = format!(
            "{}-{}",
            self.environment.account.as_deref().unwrap_or("current_account"),
            self.environment.region.as_deref().unwrap_or("current_region")
        );
        let mut files = Map::new();
        for a in &self.assets {
            let mut dest = Map::new();
            if let Some(region) = &self.environment.region {
                dest.insert("region".into(), json!(region));
            }
            dest.insert("bucketName".into(), json!(ASSET_BUCKET));
            dest.insert("objectKey".into(), json!(a.object_key));
            files.insert(
                a.hash.clone(),
                json!({
                    "source": { "path": a.file_name, "packaging": "file" },
                    "destinations": { destination_id.clone(): Json::Object(dest) }
                }),
            );
        }
        json!({ "version": MANIFEST_VERSION, "files": files, "dockerImages": {} })
    }

    /// The stack's manifest entry, its metadata borrowed rather than copied into JSON
    /// (it names every resource: most of a large manifest).
    fn manifest_entry(&self, format: TemplateFormat) -> ManifestEntry<'_> {
        ManifestEntry {
            entry: self.manifest_entry_json(format),
            metadata: &self.metadata,
        }
    }

    /// The manifest entry without `metadata`, which goes before `displayName`.
    fn manifest_entry_json(&self, format: TemplateFormat) -> Map<String, Json> {
        let mut properties = Map::new();
        properties.insert("templateFile".into(), json!(self.template_file(format)));
        if !self.tags.is_empty() {
            properties.insert("tags".into(), json!(self.tags));
        }
        if self.termination_protection {
            properties.insert("terminationProtection".into(), json!(true));
        }
        if self.stack_name != self.artifact_id {
            properties.insert("stackName".into(), json!(self.stack_name));
        }
        properties.insert("validateOnSynth".into(), json!(false));
        let mut entry = Map::new();
        entry.insert("type".into(), json!("aws:cloudformation:stack"));
        entry.insert("environment".into(), json!(self.environment.uri()));
        entry.insert("properties".into(), Json::Object(properties));
        let mut dependencies = self.dependencies.clone();
        if !self.assets.is_empty() {
            dependencies.push(self.asset_manifest_id());
        }
        if !dependencies.is_empty() {
            entry.insert("dependencies".into(), json!(dependencies));
        }
        entry.insert("displayName".into(), json!(self.display_name));
        entry
    }
}

/// A stack's manifest entry: its JSON with the metadata serialized in place from the
/// artifact (the same bytes as `json!(metadata)` there).
struct ManifestEntry<'a> {
    entry: Map<String, Json>,
    metadata: &'a IndexMap<String, Vec<MetadataEntry>>,
}

impl Serialize for ManifestEntry<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let with_metadata = !self.metadata.is_empty();
        let mut map = serializer.serialize_map(Some(self.entry.len() + usize::from(with_metadata)))?;
        for (k, v) in &self.entry {
            if k == "displayName" && with_metadata {
                map.serialize_entry("metadata", self.metadata)?;
            }
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// An artifact of a manifest: plain JSON, or a stack's entry.
enum ManifestArtifact<'a> {
    Json(Json),
    Stack(ManifestEntry<'a>),
}

impl Serialize for ManifestArtifact<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ManifestArtifact::Json(j) => j.serialize(serializer),
            ManifestArtifact::Stack(e) => e.serialize(serializer),
        }
    }
}

#[derive(Serialize)]
struct Manifest<'a> {
    version: &'static str,
    artifacts: IndexMap<String, ManifestArtifact<'a>>,
}

/// Serializes a template the way the CDK does: pretty, one-space indent, keys in order.
/// serde_json's pretty layout with a one-space indent, starting `depth` levels deep, so
/// a value can be written in place inside an enclosing document.
struct PrettyAt {
    depth: usize,
    has_value: bool,
}

impl PrettyAt {
    fn newline<W: ?Sized + std::io::Write>(&self, w: &mut W, prefix: &[u8]) -> std::io::Result<()> {
        w.write_all(prefix)?;
        w.write_all(b"\n")?;
        for _ in 0..self.depth {
            w.write_all(b" ")?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for PrettyAt {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w, b"")?;
        }
        w.write_all(b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.newline(w, if first { b"" } else { b"," })
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w, b"")?;
        }
        w.write_all(b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.newline(w, if first { b"" } else { b"," })
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Appends `v` as pretty JSON (one-space indent) as it appears `depth` levels deep in
/// an enclosing document: the same bytes the whole document's pretty printing gives.
pub(crate) fn write_pretty_at(out: &mut Vec<u8>, v: &Json, depth: usize) {
    let mut ser = serde_json::Serializer::with_formatter(
        out,
        PrettyAt {
            depth,
            has_value: false,
        },
    );
    // Serializing a serde_json::Value into a Vec cannot fail.
    let _ = v.serialize(&mut ser);
}

/// Appends `s` as a JSON string literal.
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    // Most strings need no escape (serde_json escapes only `"`, `\\` and control
    // characters): copied whole, byte for byte what serde_json would write.
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(out, s);
    }
}

/// Does any byte need a JSON escape (a control character, `"` or `\\`)? Eight bytes at
/// a time: a byte below 0x20, or equal to one of the two, shows as a set high bit.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if below(x, 0x20) | below(x ^ (ONES * u64::from(b'"')), 1) | below(x ^ (ONES * u64::from(b'\\')), 1)
            != 0
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Writes `v` as pretty JSON (as [`pretty`] renders it) straight into a file.
fn write_pretty<T: Serialize>(file: &Path, v: &T) -> Result<()> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: file.to_path_buf(),
        source,
    };
    let mut out = std::io::BufWriter::new(fs::File::create(file).map_err(io)?);
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    v.serialize(&mut ser).map_err(|e| io(e.into()))?;
    out.flush().map_err(io)
}

fn pretty<T: Serialize>(v: &T) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    // Serializing a serde_json::Value into a Vec cannot fail.
    if v.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Every synthesized stack, with the warnings and infos found along the way.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudAssembly {
    stacks: Vec<StackArtifact>,
    /// (directory, stage path) of each nested stage assembly.
    stages: Vec<(String, String)>,
    diagnostics: Vec<Diagnostic>,
}

impl CloudAssembly {
    pub(crate) fn new(
        stacks: Vec<StackArtifact>,
        stages: Vec<(String, String)>,
        diagnostics: Vec<Diagnostic>,
    ) -> Self {
        CloudAssembly {
            stacks,
            stages,
            diagnostics,
        }
    }

    /// Every stack, in tree order.
    pub fn stacks(&self) -> &[StackArtifact] {
        &self.stacks
    }

    /// A stack by artifact id, stack name or construct path.
    pub fn stack(&self, name: &str) -> Option<&StackArtifact> {
        self.stacks
            .iter()
            .find(|s| s.artifact_id == name || s.stack_name == name || s.display_name == name)
    }

    /// Warnings and infos (errors stop synthesis before an assembly exists).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Writes the assembly to `dir` (usually `cdk.out`). A previous assembly there is
    /// replaced; the output is byte-identical for the same app.
    pub fn write(&self, dir: &Path, format: TemplateFormat) -> Result<()> {
        self.write_filtered(dir, format, &[])
    }

    /// Writes only the named stacks (by artifact id, name or path); all when `only` is empty.
    pub fn write_filtered(&self, dir: &Path, format: TemplateFormat, only: &[String]) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        if dir.join("manifest.json").exists() {
            fs::remove_dir_all(dir).map_err(io(dir))?;
        }
        fs::create_dir_all(dir).map_err(io(dir))?;
        // Asset files already written (stacks of one directory may share an asset).
        let mut written = std::collections::HashSet::new();
        let selected: Vec<&StackArtifact> = self
            .stacks
            .iter()
            .filter(|s| {
                only.is_empty()
                    || only
                        .iter()
                        .any(|o| *o == s.artifact_id || *o == s.stack_name || *o == s.display_name)
            })
            .collect();
        // The root assembly, then one nested assembly per stage.
        let mut groups: Vec<(Option<&str>, PathBuf)> = vec![(None, dir.to_path_buf())];
        for (sub, _) in &self.stages {
            groups.push((Some(sub.as_str()), dir.join(sub)));
        }
        for (group, group_dir) in &groups {
            let mut artifacts = IndexMap::new();
            if group.is_none() {
                for (sub, stage_path) in &self.stages {
                    if selected.iter().any(|s| s.assembly_dir.as_deref() == Some(sub)) {
                        artifacts.insert(
                            sub.clone(),
                            ManifestArtifact::Json(json!({
                                "type": "cdk:cloud-assembly",
                                "properties": { "directoryName": sub, "displayName": stage_path }
                            })),
                        );
                    }
                }
            }
            let members: Vec<&&StackArtifact> = selected
                .iter()
                .filter(|s| s.assembly_dir.as_deref() == *group)
                .collect();
            if group.is_some() && members.is_empty() {
                continue;
            }
            fs::create_dir_all(group_dir).map_err(io(group_dir))?;
            for s in &members {
                if !s.assets.is_empty() {
                    for a in &s.assets {
                        let file = group_dir.join(&a.file_name);
                        if written.insert(file.clone()) {
                            fs::write(&file, a.bytes.as_slice()).map_err(io(&file))?;
                        }
                    }
                    let file = group_dir.join(s.asset_manifest_file());
                    fs::write(&file, pretty(&s.asset_manifest())).map_err(io(&file))?;
                    artifacts.insert(
                        s.asset_manifest_id(),
                        ManifestArtifact::Json(json!({
                            "type": "cdk:asset-manifest",
                            "properties": { "file": s.asset_manifest_file() }
                        })),
                    );
                }
                let file = group_dir.join(s.template_file(format));
                match format {
                    TemplateFormat::Json => fs::write(&file, &s.template_body),
                    TemplateFormat::Yaml => fs::write(&file, s.template_yaml()?),
                }
                .map_err(io(&file))?;
                artifacts.insert(
                    s.artifact_id.clone(),
                    ManifestArtifact::Stack(s.manifest_entry(format)),
                );
            }
            let manifest = Manifest {
                version: MANIFEST_VERSION,
                artifacts,
            };
            write_pretty(&group_dir.join("manifest.json"), &manifest)?;
        }
        let version = dir.join("cdk.out");
        fs::write(&version, json!({ "version": MANIFEST_VERSION }).to_string()).map_err(io(&version))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::write_json_string;

    #[test]
    fn json_strings_are_written_as_serde_json_writes_them() {
        for s in [
            "",
            "plain",
            "arn:aws:s3:::bucket/*",
            "with \"quotes\"",
            "back\\slash",
            "tab\there",
            "line\nbreak",
            "\u{1}\u{1f}\u{7f}",
            "ünïcödé 日本語 ☃",
            "a string longer than sixteen bytes, \"escaped\" at the end\n",
        ] {
            let mut out = Vec::new();
            write_json_string(&mut out, s);
            assert_eq!(
                String::from_utf8_lossy(&out),
                serde_json::to_string(s).unwrap_or_default(),
                "{s:?}"
            );
        }
    }

    /// Every ASCII byte at every position of a 19-byte text (two words and a tail).
    #[test]
    fn every_byte_that_needs_an_escape_is_found() {
        for b in 0u8..0x80 {
            let escape = b < 0x20 || b == b'"' || b == b'\\';
            for at in 0..19 {
                let mut text = [b'a'; 19];
                text[at] = b;
                assert_eq!(super::needs_escape(&text), escape, "byte {b:#x} at {at}");
            }
        }
        assert!(!super::needs_escape("ünïcödé 日本語 ☃ and more".as_bytes()));
    }
}
