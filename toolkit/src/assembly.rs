//! Reading a synthesized cloud assembly directory: the `aws:cloudformation:stack`
//! artifacts of `manifest.json` (and of nested `cdk:cloud-assembly` stage directories),
//! their templates, dependencies and asset manifests.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::error::{Error, Result};

/// One stack of the assembly.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// The artifact id.
    pub artifact_id: String,
    /// The CloudFormation stack name.
    pub stack_name: String,
    /// The construct path (what `list` shows).
    pub display_name: String,
    /// The account, when the environment names one.
    pub account: Option<String>,
    /// The region, when the environment names one.
    pub region: Option<String>,
    /// Artifact ids of the stacks to deploy first.
    pub dependencies: Vec<String>,
    /// The template file.
    pub template_file: PathBuf,
    /// The template.
    pub template: Json,
    /// The template as written (what is sent to CloudFormation).
    pub template_body: String,
    /// Stack tags from the manifest.
    pub tags: Vec<(String, String)>,
    /// Whether termination protection is on.
    pub termination_protection: bool,
    /// Asset manifests (`*.assets.json`) the stack depends on.
    pub asset_manifests: Vec<PathBuf>,
    /// The bootstrap roles and version the manifest names (empty for an assembly written
    /// without them).
    pub synthesizer: Synthesizer,
}

/// What a stack's manifest entry says about the bootstrap stack it deploys through, the
/// fields of the CDK's `DefaultStackSynthesizer` (placeholders such as `${AWS::AccountId}`
/// still in them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Synthesizer {
    /// `assumeRoleArn`: the role deployments go through (the deploy role).
    pub assume_role_arn: Option<String>,
    /// `cloudFormationExecutionRoleArn`: the role CloudFormation deploys with.
    pub execution_role_arn: Option<String>,
    /// `lookupRole.arn`: the role reads go through.
    pub lookup_role_arn: Option<String>,
    /// `requiresBootstrapStackVersion`.
    pub required_version: Option<u32>,
    /// `bootstrapStackVersionSsmParameter`.
    pub version_parameter: Option<String>,
}

impl Synthesizer {
    fn from_properties(props: &Json) -> Synthesizer {
        let text = |p: &str| props.pointer(p).and_then(Json::as_str).map(String::from);
        Synthesizer {
            assume_role_arn: text("/assumeRoleArn"),
            execution_role_arn: text("/cloudFormationExecutionRoleArn"),
            lookup_role_arn: text("/lookupRole/arn"),
            required_version: props
                .get("requiresBootstrapStackVersion")
                .and_then(Json::as_u64)
                .and_then(|v| u32::try_from(v).ok()),
            version_parameter: text("/bootstrapStackVersionSsmParameter"),
        }
    }

    /// The bootstrap qualifier: from the version parameter (`/cdk-bootstrap/<qualifier>/version`),
    /// else the default one.
    pub fn qualifier(&self) -> String {
        self.version_parameter
            .as_deref()
            .and_then(|p| p.strip_prefix("/cdk-bootstrap/"))
            .and_then(|p| p.strip_suffix("/version"))
            .filter(|q| cairn_core::BootstrapNames::is_valid_qualifier(q))
            .unwrap_or(cairn_core::DEFAULT_QUALIFIER)
            .to_string()
    }

    /// The names of the bootstrap stack (its qualifier's).
    pub fn names(&self) -> cairn_core::BootstrapNames {
        cairn_core::BootstrapNames::new(self.qualifier())
    }

    /// The version parameter to check: the manifest's, else the qualifier's.
    pub fn version_parameter(&self) -> String {
        self.version_parameter
            .clone()
            .unwrap_or_else(|| self.names().version_parameter())
    }

    /// The bootstrap version deploying needs: the manifest's, else what cairn's own
    /// manifests require.
    pub fn required_version(&self) -> u32 {
        self.required_version
            .unwrap_or(cairn_core::REQUIRED_BOOTSTRAP_VERSION)
    }
}

impl Stack {
    /// `aws://ACCOUNT/REGION` with `unknown-account`/`unknown-region` placeholders.
    pub fn environment(&self) -> String {
        format!(
            "aws://{}/{}",
            self.account.as_deref().unwrap_or("unknown-account"),
            self.region.as_deref().unwrap_or("unknown-region")
        )
    }

    /// The number of resources in the template.
    pub fn resource_count(&self) -> usize {
        self.template
            .get("Resources")
            .and_then(Json::as_object)
            .map_or(0, |r| r.len())
    }
}

/// The stacks of an assembly directory.
#[derive(Debug, Clone)]
pub struct Assembly {
    /// The directory.
    pub dir: PathBuf,
    /// Every stack, in manifest order (stages after the root).
    pub stacks: Vec<Stack>,
}

/// Parses `aws://ACCOUNT/REGION` (the `unknown-*` placeholders give `None`).
pub fn parse_environment(uri: &str) -> (Option<String>, Option<String>) {
    let rest = uri.strip_prefix("aws://").unwrap_or(uri);
    let (account, region) = rest.split_once('/').unwrap_or((rest, ""));
    let known = |s: &str| (!s.is_empty() && !s.starts_with("unknown-")).then(|| s.to_string());
    (known(account), known(region))
}

/// Reads a template file: JSON, or YAML for `.yaml`/`.yml`.
pub fn parse_template(body: &str, yaml: bool) -> std::result::Result<Json, String> {
    if yaml {
        serde_saphyr::from_str(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_str(body).or_else(|e| serde_saphyr::from_str(body).map_err(|_| e.to_string()))
    }
}

/// Reads a template file of the assembly: a JSON object (YAML for `.yaml`/`.yml`; YAML in a
/// `.json` file is accepted when it reads as a mapping). Anything else is refused with what
/// is wrong, before anything is sent.
fn read_template(body: &str, yaml: bool) -> std::result::Result<Json, String> {
    let parsed = if yaml {
        serde_saphyr::from_str::<Json>(body).map_err(|e| format!("it is not YAML: {e}"))
    } else {
        serde_json::from_str::<Json>(body).or_else(|json_error| match serde_saphyr::from_str::<Json>(body) {
            Ok(v @ Json::Object(_)) => Ok(v),
            _ => Err(format!("it is not JSON: {json_error}")),
        })
    }?;
    match parsed {
        Json::Object(_) => Ok(parsed),
        other => Err(format!(
            "a template is a JSON object, this is {}",
            match other {
                Json::Null => "null",
                Json::Bool(_) => "a boolean",
                Json::Number(_) => "a number",
                Json::String(_) => "a string",
                Json::Array(_) => "an array",
                Json::Object(_) => "an object",
            }
        )),
    }
}

impl Assembly {
    /// Reads the assembly in `dir`: the manifests and every template, each checked to be a
    /// template (a JSON object).
    pub fn load(dir: &Path) -> Result<Assembly> {
        let mut stacks = Vec::new();
        load_dir(dir, dir, &mut stacks, 0)?;
        Ok(Assembly {
            dir: dir.to_path_buf(),
            stacks,
        })
    }

    fn names(&self) -> String {
        self.stacks
            .iter()
            .map(|s| s.display_name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A stack by artifact id.
    pub fn by_id(&self, id: &str) -> Option<&Stack> {
        self.stacks.iter().find(|s| s.artifact_id == id)
    }

    /// The stacks matching `patterns` (artifact id, stack name or construct path; `*`
    /// matches any run of characters); every stack when `patterns` is empty. With
    /// `with_dependencies`, the stacks they depend on are added. Manifest order.
    pub fn select(&self, patterns: &[String], with_dependencies: bool) -> Result<Vec<&Stack>> {
        let mut chosen: HashSet<&str> = HashSet::new();
        if patterns.is_empty() {
            chosen.extend(self.stacks.iter().map(|s| s.artifact_id.as_str()));
        }
        for p in patterns {
            let matched: Vec<&Stack> = self
                .stacks
                .iter()
                .filter(|s| {
                    [&s.artifact_id, &s.stack_name, &s.display_name]
                        .iter()
                        .any(|n| glob(p, n))
                })
                .collect();
            if matched.is_empty() {
                return Err(Error::NoSuchStack {
                    pattern: p.clone(),
                    available: self.names(),
                });
            }
            chosen.extend(matched.iter().map(|s| s.artifact_id.as_str()));
        }
        if with_dependencies {
            let mut todo: Vec<&str> = chosen.iter().copied().collect();
            while let Some(id) = todo.pop() {
                if let Some(s) = self.by_id(id) {
                    for d in &s.dependencies {
                        if chosen.insert(d.as_str()) {
                            todo.push(d.as_str());
                        }
                    }
                }
            }
        }
        Ok(self
            .stacks
            .iter()
            .filter(|s| chosen.contains(s.artifact_id.as_str()))
            .collect())
    }
}

/// `*` matches any run of characters; everything else literally.
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    true
}

fn load_dir(root: &Path, dir: &Path, stacks: &mut Vec<Stack>, depth: usize) -> Result<()> {
    let manifest_path = dir.join("manifest.json");
    let err = |message: String| Error::Assembly {
        path: if dir == root {
            root.to_path_buf()
        } else {
            manifest_path.clone()
        },
        message,
    };
    if depth > 8 {
        return Err(err("nested assemblies are more than 8 levels deep".into()));
    }
    let text =
        fs::read_to_string(&manifest_path).map_err(|e| err(format!("{}: {e}", manifest_path.display())))?;
    let manifest: Json = serde_json::from_str(&text)
        .map_err(|e| err(format!("{} is not JSON: {e}", manifest_path.display())))?;
    let artifacts = manifest
        .get("artifacts")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let mut asset_files: HashMap<&str, PathBuf> = HashMap::new();
    for (id, a) in &artifacts {
        if a.get("type").and_then(Json::as_str) == Some("cdk:asset-manifest") {
            if let Some(file) = a.pointer("/properties/file").and_then(Json::as_str) {
                asset_files.insert(id.as_str(), dir.join(file));
            }
        }
    }
    for (id, a) in &artifacts {
        match a.get("type").and_then(Json::as_str) {
            Some("aws:cloudformation:stack") => {
                let props = a.get("properties").cloned().unwrap_or(Json::Null);
                let file = props
                    .get("templateFile")
                    .and_then(Json::as_str)
                    .ok_or_else(|| err(format!("artifact {id} has no properties.templateFile")))?;
                let template_file = dir.join(file);
                let body = fs::read_to_string(&template_file)
                    .map_err(|e| err(format!("{}: {e}", template_file.display())))?;
                let yaml = file.ends_with(".yaml") || file.ends_with(".yml");
                let template = read_template(&body, yaml).map_err(|e| {
                    err(format!(
                        "the template {} of stack {id} cannot be used: {e}",
                        template_file.display()
                    ))
                })?;
                let (account, region) =
                    parse_environment(a.get("environment").and_then(Json::as_str).unwrap_or(""));
                let deps: Vec<String> = a
                    .get("dependencies")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .map(String::from)
                    .collect();
                let asset_manifests = deps
                    .iter()
                    .filter_map(|d| asset_files.get(d.as_str()).cloned())
                    .collect();
                let dependencies = deps
                    .into_iter()
                    .filter(|d| {
                        artifacts
                            .get(d)
                            .and_then(|x| x.get("type"))
                            .and_then(Json::as_str)
                            == Some("aws:cloudformation:stack")
                    })
                    .collect();
                let tags = props
                    .get("tags")
                    .and_then(Json::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                stacks.push(Stack {
                    artifact_id: id.clone(),
                    stack_name: props
                        .get("stackName")
                        .and_then(Json::as_str)
                        .unwrap_or(id)
                        .to_string(),
                    display_name: a
                        .get("displayName")
                        .and_then(Json::as_str)
                        .unwrap_or(id)
                        .to_string(),
                    account,
                    region,
                    dependencies,
                    template_file,
                    template,
                    template_body: body,
                    tags,
                    termination_protection: props
                        .get("terminationProtection")
                        .and_then(Json::as_bool)
                        .unwrap_or(false),
                    asset_manifests,
                    synthesizer: Synthesizer::from_properties(&props),
                });
            }
            Some("cdk:cloud-assembly") => {
                let sub = a
                    .pointer("/properties/directoryName")
                    .and_then(Json::as_str)
                    .ok_or_else(|| err(format!("artifact {id} has no properties.directoryName")))?;
                load_dir(root, &dir.join(sub), stacks, depth + 1)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Orders `stacks` so that each comes after the stacks it depends on (dependencies
/// outside the list are ignored). Errors on a cycle.
pub fn dependency_order<'a>(stacks: &[&'a Stack]) -> Result<Vec<&'a Stack>> {
    let ids: HashSet<&str> = stacks.iter().map(|s| s.artifact_id.as_str()).collect();
    let mut done: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    while out.len() < stacks.len() {
        let before = out.len();
        for s in stacks {
            if !done.contains(s.artifact_id.as_str())
                && s.dependencies
                    .iter()
                    .all(|d| !ids.contains(d.as_str()) || done.contains(d.as_str()))
            {
                done.insert(s.artifact_id.as_str());
                out.push(*s);
            }
        }
        if out.len() == before {
            let left: Vec<&str> = stacks
                .iter()
                .filter(|s| !done.contains(s.artifact_id.as_str()))
                .map(|s| s.display_name.as_str())
                .collect();
            return Err(Error::Usage(format!(
                "the stacks {} depend on each other in a cycle; fix the app's dependencies",
                left.join(", ")
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments() {
        assert_eq!(
            parse_environment("aws://123/eu-west-1"),
            (Some("123".into()), Some("eu-west-1".into()))
        );
        assert_eq!(
            parse_environment("aws://unknown-account/unknown-region"),
            (None, None)
        );
    }

    #[test]
    fn a_template_that_is_not_an_object_is_refused_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("cairn-toolkit-badtpl-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write(
            &dir,
            "manifest.json",
            r#"{"artifacts":{"Hello":{"type":"aws:cloudformation:stack","properties":{"templateFile":"Hello.template.json"}}}}"#,
        );
        for (text, why) in [
            (
                "<html>502 Bad Gateway</html>",
                "it is not JSON: expected value at line 1 column 1",
            ),
            ("[1, 2]", "a template is a JSON object, this is an array"),
            (
                "{\"Resources\": ",
                "it is not JSON: EOF while parsing a value at line 1 column 14",
            ),
        ] {
            write(&dir, "Hello.template.json", text);
            let e = Assembly::load(&dir).map(|_| ()).unwrap_err();
            let shown = e.to_string();
            assert!(matches!(e, Error::Assembly { .. }), "{shown}");
            assert!(
                shown.contains(&format!(
                    "the template {} of stack Hello cannot be used",
                    dir.join("Hello.template.json").display()
                )),
                "{shown}"
            );
            assert!(shown.contains(why), "{shown}");
        }
        // YAML in a .json file that reads as a template is accepted.
        write(
            &dir,
            "Hello.template.json",
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n",
        );
        assert_eq!(
            Assembly::load(&dir).map(|a| a.stacks[0].resource_count()).ok(),
            Some(1)
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn globs() {
        assert!(glob("Hello*", "HelloProducer"));
        assert!(glob("*Consumer", "HelloConsumer"));
        assert!(glob("Stage/*", "Stage/Api"));
        assert!(!glob("Hello", "HelloProducer"));
    }

    fn write(dir: &Path, name: &str, text: &str) {
        let _ = fs::create_dir_all(dir);
        let _ = fs::write(dir.join(name), text);
    }

    #[test]
    fn loads_stages_dependencies_assets_and_orders() {
        let dir = std::env::temp_dir().join(format!("cairn-toolkit-asm-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write(
            &dir,
            "manifest.json",
            r#"{"version":"36.0.0","artifacts":{
            "B": {"type":"aws:cloudformation:stack","environment":"aws://unknown-account/unknown-region",
                  "properties":{"templateFile":"B.template.json","stackName":"b-name","terminationProtection":true,"tags":{"team":"x"}},
                  "dependencies":["A","B.assets"],"displayName":"B"},
            "B.assets": {"type":"cdk:asset-manifest","properties":{"file":"B.assets.json"}},
            "A": {"type":"aws:cloudformation:stack","environment":"aws://1/us-east-1","properties":{"templateFile":"A.template.json",
                  "assumeRoleArn":"arn:${AWS::Partition}:iam::1:role/cdk-abc-deploy-role-1-us-east-1",
                  "cloudFormationExecutionRoleArn":"arn:${AWS::Partition}:iam::1:role/cdk-abc-cfn-exec-role-1-us-east-1",
                  "requiresBootstrapStackVersion":9,"bootstrapStackVersionSsmParameter":"/cdk-bootstrap/abc/version"}},
            "assembly-Prod": {"type":"cdk:cloud-assembly","properties":{"directoryName":"assembly-Prod"}}
        }}"#,
        );
        write(
            &dir,
            "A.template.json",
            r#"{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}"#,
        );
        write(&dir, "B.template.json", r#"{"Resources":{}}"#);
        let sub = dir.join("assembly-Prod");
        write(
            &sub,
            "manifest.json",
            r#"{"artifacts":{"ProdC":{"type":"aws:cloudformation:stack","properties":{"templateFile":"ProdC.template.yaml"},"displayName":"Prod/C"}}}"#,
        );
        write(
            &sub,
            "ProdC.template.yaml",
            "Resources:\n  T:\n    Type: AWS::SNS::Topic\n",
        );
        let asm = match Assembly::load(&dir) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        let names: Vec<&str> = asm.stacks.iter().map(|s| s.display_name.as_str()).collect();
        assert_eq!(names, ["B", "A", "Prod/C"]);
        let b = &asm.stacks[0];
        assert_eq!(b.synthesizer, Synthesizer::default(), "no synthesizer fields");
        assert_eq!(
            b.synthesizer.version_parameter(),
            "/cdk-bootstrap/hnb659fds/version"
        );
        assert_eq!(b.synthesizer.required_version(), 6);
        assert_eq!(
            asm.stacks[1].synthesizer.assume_role_arn.as_deref(),
            Some("arn:${AWS::Partition}:iam::1:role/cdk-abc-deploy-role-1-us-east-1")
        );
        assert_eq!(asm.stacks[1].synthesizer.qualifier(), "abc");
        assert_eq!(asm.stacks[1].synthesizer.required_version(), 9);
        assert_eq!(b.stack_name, "b-name");
        assert_eq!(b.dependencies, ["A"]);
        assert_eq!(b.asset_manifests, [dir.join("B.assets.json")]);
        assert!(b.termination_protection);
        assert_eq!(b.tags, [("team".to_string(), "x".to_string())]);
        assert_eq!(asm.stacks[2].resource_count(), 1);
        let sel = asm.select(&["b-name".into()], true).unwrap_or_default();
        let order: Vec<&str> = dependency_order(&sel)
            .unwrap_or_default()
            .iter()
            .map(|s| s.artifact_id.as_str())
            .collect();
        assert_eq!(order, ["A", "B"]);
        assert!(matches!(
            asm.select(&["Nope".into()], false),
            Err(Error::NoSuchStack { .. })
        ));
        assert!(matches!(
            Assembly::load(&dir.join("missing")),
            Err(Error::Assembly { .. })
        ));
        let _ = fs::remove_dir_all(&dir);
    }
}
