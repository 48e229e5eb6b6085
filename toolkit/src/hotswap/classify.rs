//! Which changes between the deployed template and the new one are hotswappable, and why the
//! others are not, in two steps: [`candidates`] compares the templates (no call), then
//! [`resolve`] evaluates the new values against the deployed stack ([`Evaluator`]), as the
//! CDK CLI's hotswap does. A resource is hotswapped whole or not at all: one property that
//! is not hotswappable makes the resource's change go through CloudFormation.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::resolve::Evaluator;
use crate::client::{FunctionCode, FunctionConfiguration};

/// The properties of a Lambda function a hotswap updates.
pub(crate) const LAMBDA_PROPERTIES: [&str; 5] =
    ["Code", "Environment", "Description", "MemorySize", "Timeout"];
/// The properties of a state machine a hotswap updates.
pub(crate) const STATE_MACHINE_PROPERTIES: [&str; 2] = ["DefinitionString", "DefinitionSubstitutions"];

/// A change that is not hotswappable, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rejected {
    /// The logical ID (empty for a change to the stack itself).
    pub logical_id: String,
    /// The resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The properties (or attributes) concerned.
    pub properties: Vec<String>,
    /// Why.
    pub reason: String,
}

/// A hotswappable change, resolved: what to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hotswap {
    /// A Lambda function's code and/or configuration.
    Function {
        /// The logical ID.
        logical_id: String,
        /// The function's name (its physical ID).
        name: String,
        /// The new code, when it changed.
        code: Option<FunctionCode>,
        /// The changed configuration, when some did.
        config: Option<FunctionConfiguration>,
    },
    /// A state machine's definition.
    StateMachine {
        /// The logical ID.
        logical_id: String,
        /// Its ARN (its physical ID).
        arn: String,
        /// The new definition, substitutions applied.
        definition: String,
    },
    /// A task definition's container images, and the services running it.
    TaskImage {
        /// The logical ID.
        logical_id: String,
        /// The deployed revision's ARN (its physical ID).
        task_definition: String,
        /// The image of each container, by container name (the changed ones new).
        images: BTreeMap<String, String>,
        /// `(cluster, service ARN or name, logical ID)` of each service using it.
        services: Vec<(String, String, String)>,
    },
}

impl Hotswap {
    /// The logical ID.
    pub(crate) fn logical_id(&self) -> &str {
        match self {
            Hotswap::Function { logical_id, .. }
            | Hotswap::StateMachine { logical_id, .. }
            | Hotswap::TaskImage { logical_id, .. } => logical_id,
        }
    }
}

/// A resource whose hotswappable properties changed, before evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    /// The logical ID.
    pub logical_id: String,
    /// The type.
    pub resource_type: String,
    /// The properties that changed.
    pub changed: Vec<String>,
    /// The new properties.
    pub new: Map<String, Json>,
}

/// The outcome of a classification.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Classified<T> {
    /// The hotswappable changes.
    pub hotswaps: Vec<T>,
    /// The others.
    pub rejected: Vec<Rejected>,
}

impl<T> Default for Classified<T> {
    fn default() -> Self {
        Classified {
            hotswaps: Vec::new(),
            rejected: Vec::new(),
        }
    }
}

fn resources(template: &Json) -> Map<String, Json> {
    template
        .get("Resources")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default()
}

fn kind(resource: &Json) -> String {
    resource
        .get("Type")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

fn properties(resource: &Json) -> Map<String, Json> {
    resource
        .get("Properties")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The keys whose values differ between two objects.
fn changed_keys(old: &Map<String, Json>, new: &Map<String, Json>) -> Vec<String> {
    let mut keys: Vec<String> = old.keys().chain(new.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.retain(|k| old.get(k) != new.get(k));
    keys
}

/// Compares the resources of the deployed and the new template: the changed resources
/// that may be hotswapped, and the changes that cannot be. Changes to the `Metadata` of a
/// resource and to `AWS::CDK::Metadata` resources are ignored (they change nothing
/// deployed), as are changes to outputs, as the CDK ignores them.
pub(crate) fn candidates(deployed: &Json, new: &Json) -> Classified<Candidate> {
    let (old_resources, new_resources) = (resources(deployed), resources(new));
    let mut out = Classified::default();
    let reject =
        |logical_id: &str, resource_type: String, properties: Vec<String>, reason: String| Rejected {
            logical_id: logical_id.to_string(),
            resource_type,
            properties,
            reason,
        };
    let mut ids: Vec<&String> = old_resources.keys().chain(new_resources.keys()).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let (old, new) = match (old_resources.get(id), new_resources.get(id)) {
            (Some(o), Some(n)) if o == n => continue,
            (Some(o), Some(n)) => (o, n),
            (None, Some(n)) if kind(n) == "AWS::CDK::Metadata" => continue,
            (Some(o), None) if kind(o) == "AWS::CDK::Metadata" => continue,
            (None, Some(n)) => {
                out.rejected.push(reject(
                    id,
                    kind(n),
                    vec![],
                    "added: only CloudFormation creates resources".into(),
                ));
                continue;
            }
            (Some(o), None) => {
                out.rejected.push(reject(
                    id,
                    kind(o),
                    vec![],
                    "removed: only CloudFormation deletes resources".into(),
                ));
                continue;
            }
            (None, None) => continue,
        };
        let resource_type = kind(new);
        if kind(old) != resource_type {
            out.rejected.push(reject(
                id,
                resource_type,
                vec!["Type".into()],
                format!("its type changed from {}: the resource is replaced", kind(old)),
            ));
            continue;
        }
        if resource_type == "AWS::CDK::Metadata" {
            continue;
        }
        let (old_map, new_map) = (
            old.as_object().cloned().unwrap_or_default(),
            new.as_object().cloned().unwrap_or_default(),
        );
        let attributes: Vec<String> = changed_keys(&old_map, &new_map)
            .into_iter()
            .filter(|k| k != "Properties" && k != "Metadata")
            .collect();
        if !attributes.is_empty() {
            out.rejected.push(reject(
                id,
                resource_type,
                attributes,
                "resource attributes are not hotswappable".into(),
            ));
            continue;
        }
        let new_properties = properties(new);
        let changed = changed_keys(&properties(old), &new_properties);
        if changed.is_empty() {
            continue; // Metadata only
        }
        let allowed: &[&str] = match resource_type.as_str() {
            "AWS::Lambda::Function" => &LAMBDA_PROPERTIES,
            "AWS::StepFunctions::StateMachine" => &STATE_MACHINE_PROPERTIES,
            "AWS::ECS::TaskDefinition" => &["ContainerDefinitions"],
            _ => {
                out.rejected.push(reject(
                    id,
                    resource_type.clone(),
                    changed,
                    format!(
                        "a {resource_type} is not hotswappable (hotswapped: a Lambda function's code and configuration, a state machine's definition, an ECS task definition's container images)"
                    ),
                ));
                continue;
            }
        };
        let others: Vec<String> = changed
            .iter()
            .filter(|p| !allowed.contains(&p.as_str()))
            .cloned()
            .collect();
        if !others.is_empty() {
            out.rejected.push(reject(
                id,
                resource_type.clone(),
                others,
                format!(
                    "only {} of a {resource_type} are hotswappable",
                    allowed.join(", ")
                ),
            ));
            continue;
        }
        if resource_type == "AWS::ECS::TaskDefinition" {
            if let Err(reason) = images_only(&properties(old), &new_properties) {
                out.rejected.push(reject(
                    id,
                    resource_type,
                    vec!["ContainerDefinitions".into()],
                    reason,
                ));
                continue;
            }
        }
        out.hotswaps.push(Candidate {
            logical_id: id.clone(),
            resource_type,
            changed,
            new: new_properties,
        });
    }
    out
}

/// Checks that only the containers' `Image` changed.
fn images_only(old: &Map<String, Json>, new: &Map<String, Json>) -> Result<(), String> {
    let list = |m: &Map<String, Json>| {
        m.get("ContainerDefinitions")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (old, new) = (list(old), list(new));
    if old.len() != new.len() {
        return Err("containers are added or removed: only a container's Image is hotswappable".into());
    }
    for (o, n) in old.iter().zip(&new) {
        let strip = |c: &Json| {
            let mut c = c.as_object().cloned().unwrap_or_default();
            c.remove("Image");
            c
        };
        let (so, sn) = (strip(o), strip(n));
        if so != sn {
            let keys = changed_keys(&so, &sn);
            return Err(format!(
                "container properties other than Image changed ({}): only a container's Image is hotswappable",
                keys.join(", ")
            ));
        }
    }
    Ok(())
}

/// Evaluates the candidates against the deployed stack: the hotswaps, and the candidates
/// whose new values cannot be evaluated (or whose task definition is used by something
/// other than ECS services), rejected with the reason. `new` is the new template.
pub(crate) fn resolve(candidates: Vec<Candidate>, new: &Json, eval: &Evaluator) -> Classified<Hotswap> {
    let mut out = Classified::default();
    for c in candidates {
        let resolved = match c.resource_type.as_str() {
            "AWS::Lambda::Function" => function(&c, eval),
            "AWS::StepFunctions::StateMachine" => state_machine(&c, eval),
            _ => task_image(&c, new, eval),
        };
        match resolved {
            Ok(h) => out.hotswaps.push(h),
            Err((properties, reason)) => out.rejected.push(Rejected {
                logical_id: c.logical_id.clone(),
                resource_type: c.resource_type.clone(),
                properties,
                reason,
            }),
        }
    }
    out
}

/// The properties concerned and why a candidate cannot be hotswapped.
type Refusal = (Vec<String>, String);

fn physical(c: &Candidate, eval: &Evaluator) -> Result<String, Refusal> {
    eval.physical
        .get(&c.logical_id)
        .cloned()
        .ok_or_else(|| (vec![], "the deployed stack has no such resource".into()))
}

fn cannot(property: &str, why: String) -> Refusal {
    (
        vec![property.to_string()],
        format!("{property} cannot be evaluated: {why}"),
    )
}

fn function(c: &Candidate, eval: &Evaluator) -> Result<Hotswap, Refusal> {
    let name = physical(c, eval)?;
    let changed = |p: &str| c.changed.iter().any(|x| x == p);
    let code = match changed("Code") {
        false => None,
        true => {
            let code = eval
                .evaluate(c.new.get("Code").unwrap_or(&Json::Null))
                .map_err(|e| cannot("Code", e))?;
            let text = |k: &str| code.get(k).and_then(Json::as_str).map(String::from);
            Some(match (text("S3Bucket"), text("S3Key"), text("ImageUri")) {
                (Some(bucket), Some(key), _) => FunctionCode::S3 {
                    bucket,
                    key,
                    version: text("S3ObjectVersion"),
                },
                (_, _, Some(uri)) => FunctionCode::ImageUri(uri),
                _ if code.get("ZipFile").is_some() => return Err((
                    vec!["Code".into()],
                    "inline code (Code.ZipFile) is not hotswapped: use a file asset (Code.S3Bucket/S3Key)"
                        .into(),
                )),
                _ => return Err((vec!["Code".into()], "Code names no S3 object or image".into())),
            })
        }
    };
    let mut config = FunctionConfiguration::default();
    if changed("Environment") {
        let env = eval
            .evaluate(c.new.get("Environment").unwrap_or(&Json::Null))
            .map_err(|e| cannot("Environment", e))?;
        let mut vars = BTreeMap::new();
        for (k, v) in env
            .get("Variables")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            let v = match v {
                Json::String(s) => s.clone(),
                Json::Number(_) | Json::Bool(_) => v.to_string(),
                _ => return Err(cannot("Environment", format!("variable {k} is not a string"))),
            };
            vars.insert(k.clone(), v);
        }
        config.environment = Some(vars);
    }
    if changed("Description") {
        config.description = Some(match c.new.get("Description") {
            None => String::new(),
            Some(d) => eval.string(d).map_err(|e| cannot("Description", e))?,
        });
    }
    let number = |p: &str, default: i64| -> Result<i64, Refusal> {
        match c.new.get(p) {
            None => Ok(default),
            Some(v) => eval
                .string(v)
                .map_err(|e| cannot(p, e))?
                .parse()
                .map_err(|_| cannot(p, "not a whole number".into())),
        }
    };
    if changed("MemorySize") {
        config.memory_size = Some(number("MemorySize", 128)?);
    }
    if changed("Timeout") {
        config.timeout = Some(number("Timeout", 3)?);
    }
    let config = (config != FunctionConfiguration::default()).then_some(config);
    Ok(Hotswap::Function {
        logical_id: c.logical_id.clone(),
        name,
        code,
        config,
    })
}

fn state_machine(c: &Candidate, eval: &Evaluator) -> Result<Hotswap, Refusal> {
    let arn = physical(c, eval)?;
    let Some(text) = c.new.get("DefinitionString") else {
        return Err((
            vec!["DefinitionString".into()],
            "the state machine has no DefinitionString (Definition and DefinitionS3Location are not hotswapped)"
                .into(),
        ));
    };
    let mut definition = eval.string(text).map_err(|e| cannot("DefinitionString", e))?;
    for (k, v) in c
        .new
        .get("DefinitionSubstitutions")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
    {
        let v = eval
            .string(v)
            .map_err(|e| cannot("DefinitionSubstitutions", format!("{k}: {e}")))?;
        definition = definition.replace(&format!("${{{k}}}"), &v);
    }
    Ok(Hotswap::StateMachine {
        logical_id: c.logical_id.clone(),
        arn,
        definition,
    })
}

/// Whether `value` refers to `logical` (`Ref`, `Fn::GetAtt`, or `${logical...}` in `Fn::Sub`).
fn refers_to(value: &Json, logical: &str) -> bool {
    match value {
        Json::Object(m) => m.iter().any(|(k, v)| match (k.as_str(), v) {
            ("Ref", Json::String(s)) => s == logical,
            ("Fn::GetAtt", Json::Array(a)) => a.first().is_some_and(|x| x == logical),
            ("Fn::GetAtt", Json::String(s)) => s.split('.').next() == Some(logical),
            ("Fn::Sub", _) => {
                let text = match v {
                    Json::String(s) => s.as_str(),
                    Json::Array(a) => a.first().and_then(Json::as_str).unwrap_or_default(),
                    _ => "",
                };
                text.contains(&format!("${{{logical}}}"))
                    || text.contains(&format!("${{{logical}."))
                    || refers_to(v, logical)
            }
            _ => refers_to(v, logical),
        }),
        Json::Array(a) => a.iter().any(|v| refers_to(v, logical)),
        _ => false,
    }
}

fn task_image(c: &Candidate, new: &Json, eval: &Evaluator) -> Result<Hotswap, Refusal> {
    let task_definition = physical(c, eval)?;
    let mut images = BTreeMap::new();
    let containers = c
        .new
        .get("ContainerDefinitions")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    for container in &containers {
        let name = eval
            .string(container.get("Name").unwrap_or(&Json::Null))
            .map_err(|e| cannot("ContainerDefinitions", format!("a container's Name: {e}")))?;
        let image = eval
            .string(container.get("Image").unwrap_or(&Json::Null))
            .map_err(|e| {
                cannot(
                    "ContainerDefinitions",
                    format!("the Image of container {name}: {e}"),
                )
            })?;
        images.insert(name, image);
    }
    let mut services = Vec::new();
    let own = &c.logical_id;
    for (id, resource) in resources(new) {
        if &id == own || !refers_to(resource.get("Properties").unwrap_or(&Json::Null), own) {
            continue;
        }
        let props = properties(&resource);
        let by_ref = props.get("TaskDefinition") == Some(&serde_json::json!({"Ref": own}));
        let mut others = props.clone();
        others.remove("TaskDefinition");
        if kind(&resource) != "AWS::ECS::Service" || !by_ref || refers_to(&Json::Object(others), own) {
            return Err((
                vec![],
                format!(
                    "{id} ({}) refers to the task definition, and only ECS services using it as their TaskDefinition are updated by a hotswap",
                    kind(&resource)
                ),
            ));
        }
        let service = eval
            .physical
            .get(&id)
            .cloned()
            .ok_or_else(|| (vec![], format!("its service {id} is not deployed")))?;
        let cluster = match props.get("Cluster") {
            Some(v) => eval
                .string(v)
                .map_err(|e| cannot("Cluster", format!("service {id}: {e}")))?,
            None => "default".to_string(),
        };
        services.push((cluster, service, id.clone()));
    }
    if services.is_empty() {
        return Err((
            vec![],
            "no ECS service of the stack uses the task definition".into(),
        ));
    }
    Ok(Hotswap::TaskImage {
        logical_id: c.logical_id.clone(),
        task_definition,
        images,
        services,
    })
}
