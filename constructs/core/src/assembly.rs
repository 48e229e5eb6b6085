//! The cloud assembly: the synthesized stacks, and the directory the AWS CDK CLI and
//! cairn's toolkit read (`manifest.json` plus one `<artifactId>.template.json` per stack,
//! stages in nested `assembly-<Stage>` directories).

use std::fs;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{json, Map, Value as Json};

use crate::annotations::Diagnostic;
use crate::asset::{
    BootstrapNames, FileAssetArtifact, REQUIRED_BOOTSTRAP_VERSION, REQUIRED_LOOKUP_BOOTSTRAP_VERSION,
};
use crate::context::{dedup_missing, MissingContext};
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

/// A synthesized template: its JSON text, as written to the assembly, and a view of it
/// as a JSON value (`template["Resources"]`, `template.get("Outputs")` ...), parsed from
/// the text the first time it is read. Both are the same template: the text is what
/// synthesis rendered, and nothing changes it afterwards.
#[derive(Clone, Default)]
pub struct Template {
    text: String,
    parsed: std::sync::OnceLock<Json>,
}

impl Template {
    /// A template from its JSON text.
    pub fn from_text(text: String) -> Template {
        Template {
            text,
            parsed: std::sync::OnceLock::new(),
        }
    }

    /// The template as pretty JSON (one-space indent, as the CDK writes it).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The template as a JSON value (`Null` only if the text were not JSON, which
    /// synthesis never produces).
    pub fn json(&self) -> &Json {
        self.parsed
            .get_or_init(|| serde_json::from_str(&self.text).unwrap_or(Json::Null))
    }
}

impl std::ops::Deref for Template {
    type Target = Json;
    fn deref(&self) -> &Json {
        self.json()
    }
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl PartialEq<Json> for Template {
    fn eq(&self, other: &Json) -> bool {
        self.json() == other
    }
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("bytes", &self.text.len())
            .finish()
    }
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
    /// The template: its text, and (through `Deref`) its JSON value.
    pub template: Template,
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
    /// The bootstrap stack it deploys through (its qualifier's bucket, roles and version
    /// parameter), written into the manifest as the CDK's `DefaultStackSynthesizer` writes
    /// them, so `cairn deploy` and `cdk deploy` both honour them.
    pub bootstrap: BootstrapNames,
    /// The context lookups that missed (the manifest's `missing` entries), each with the
    /// lookup role the CLI reads the environment with (`lookupRoleArn`).
    pub missing: Vec<MissingContext>,
}

impl StackArtifact {
    /// The template as pretty JSON (one-space indent, as the CDK writes it).
    pub fn template_json(&self) -> &str {
        self.template.text()
    }

    /// The template as YAML.
    pub fn template_yaml(&self) -> Result<String> {
        crate::render::yaml(self.template.json()).map_err(|e| Error::Serialize {
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
    /// made at synthesis) and one destination, the bootstrap bucket, published through the
    /// bootstrap stack's file-publishing role.
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
            dest.insert("bucketName".into(), json!(a.bucket_name));
            dest.insert("objectKey".into(), json!(a.object_key));
            dest.insert(
                "assumeRoleArn".into(),
                json!(self.bootstrap.file_publishing_role_arn()),
            );
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

    /// `requiresBootstrapStackVersion` and `bootstrapStackVersionSsmParameter`.
    fn version_requirement(&self, version: u32) -> Map<String, Json> {
        let mut m = Map::new();
        m.insert("requiresBootstrapStackVersion".into(), json!(version));
        m.insert(
            "bootstrapStackVersionSsmParameter".into(),
            json!(self.bootstrap.version_parameter()),
        );
        m
    }

    /// The stack's `cdk:asset-manifest` artifact.
    fn asset_manifest_artifact(&self) -> Json {
        let mut properties = Map::new();
        properties.insert("file".into(), json!(self.asset_manifest_file()));
        properties.extend(self.version_requirement(REQUIRED_BOOTSTRAP_VERSION));
        json!({"type": "cdk:asset-manifest", "properties": properties})
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
        // What the CDK's DefaultStackSynthesizer writes: the roles the deployment goes
        // through and the bootstrap version it needs.
        let b = &self.bootstrap;
        properties.insert("assumeRoleArn".into(), json!(b.deploy_role_arn()));
        properties.insert(
            "cloudFormationExecutionRoleArn".into(),
            json!(b.cfn_exec_role_arn()),
        );
        properties.extend(self.version_requirement(REQUIRED_BOOTSTRAP_VERSION));
        let mut lookup = Map::new();
        lookup.insert("arn".into(), json!(b.lookup_role_arn()));
        lookup.extend(self.version_requirement(REQUIRED_LOOKUP_BOOTSTRAP_VERSION));
        properties.insert("lookupRole".into(), Json::Object(lookup));
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    missing: Vec<&'a MissingContext>,
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

    /// The context lookups that missed, each key once, in stack order: what the CLI looks
    /// up before running the app again (the root manifest's `missing`).
    pub fn missing(&self) -> Vec<&MissingContext> {
        dedup_missing(self.stacks.iter().flat_map(|s| &s.missing))
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
                    fs::write(&file, crate::render::json(&s.asset_manifest())?).map_err(io(&file))?;
                    artifacts.insert(
                        s.asset_manifest_id(),
                        ManifestArtifact::Json(s.asset_manifest_artifact()),
                    );
                }
                let file = group_dir.join(s.template_file(format));
                match format {
                    TemplateFormat::Json => fs::write(&file, s.template.text()),
                    TemplateFormat::Yaml => fs::write(&file, s.template_yaml()?),
                }
                .map_err(io(&file))?;
                artifacts.insert(
                    s.artifact_id.clone(),
                    ManifestArtifact::Stack(s.manifest_entry(format)),
                );
            }
            // A stage's manifest has its stacks' missing lookups; the root's has every
            // selected stack's (the CDK reports a nested assembly's in its parent too).
            let missing = dedup_missing(
                selected
                    .iter()
                    .filter(|s| group.is_none() || s.assembly_dir.as_deref() == *group)
                    .flat_map(|s| &s.missing),
            );
            let manifest = Manifest {
                version: MANIFEST_VERSION,
                artifacts,
                missing,
            };
            crate::render::write_json_file(&group_dir.join("manifest.json"), &manifest)?;
        }
        let version = dir.join("cdk.out");
        fs::write(&version, json!({ "version": MANIFEST_VERSION }).to_string()).map_err(io(&version))?;
        Ok(())
    }
}
