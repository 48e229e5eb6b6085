//! `cairn import`, as `cdk import`: existing resources that the synthesized template adds
//! to a stack (or to a stack that does not exist yet) are adopted through an `IMPORT`
//! change set instead of being created.
//!
//! 1. The synthesized template is compared with the deployed one: the resources it adds
//!    are the candidates; changes to or removals of existing resources are refused (an
//!    import changes nothing else) unless `--force`, which leaves them for the next deploy.
//! 2. Each candidate's identifier is read from the mapping (`--resource-mapping FILE` or
//!    `--resource-mapping-inline JSON`, the CDK's format: `{"LogicalId": {"BucketName":
//!    "x"}}`), or asked for on the terminal; the identifier properties are the type's
//!    `primaryIdentifier` in the registry schemas compiled into `cairn-cfn`. A candidate
//!    without an identifier is not imported (the next deploy creates it).
//! 3. `--record-resource-mapping FILE` writes the mapping and stops.
//! 4. The import template is the deployed template plus the imported resources (each with
//!    `DeletionPolicy: Retain` unless it names one: CloudFormation requires one); the
//!    `IMPORT` change set goes through the deploy role with the execution role, is executed
//!    and followed as `deploy` follows a deployment.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use serde_json::{json, Map, Value as Json};

use crate::assembly::{Assembly, Stack};
use crate::client::{ChangeSetKind, Clouds, Parameter, ResourceToImport, StackRequest};
use crate::context::Ctx;
use crate::deploy::change_set::{create_of_kind, Prepared};
use crate::deploy::plan::bootstrap_options;
use crate::error::{Error, Result};
use crate::ops::stack_env;
use crate::wait::{deployed_template, describe};
use crate::AwsOptions;

/// `import STACK`.
#[derive(Debug, Clone, Default, Args)]
pub struct ImportArgs {
    /// The stack (artifact id, stack name or path); may be left out when the app has one.
    pub stack: Option<String>,
    /// The identifiers of the resources to import, from this JSON file
    /// (`{"LogicalId": {"BucketName": "x"}}`); the others are not imported.
    #[arg(
        long,
        short = 'm',
        value_name = "FILE",
        conflicts_with = "resource_mapping_inline"
    )]
    pub resource_mapping: Option<PathBuf>,
    /// The same mapping, as a JSON string.
    #[arg(long, value_name = "JSON")]
    pub resource_mapping_inline: Option<String>,
    /// Write the mapping (given or typed) to this file and stop, importing nothing.
    #[arg(long, short = 'r', value_name = "FILE")]
    pub record_resource_mapping: Option<PathBuf>,
    /// Import even when the template also changes or removes existing resources (those
    /// changes are left for the next deploy).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// AWS options.
    #[command(flatten)]
    pub aws: AwsOptions,
}

/// Identifier values by logical ID, then by property.
pub(crate) type Mapping = BTreeMap<String, BTreeMap<String, String>>;

/// `import`, planned before any call.
#[derive(Debug, Clone)]
pub(crate) struct ImportPlan {
    /// The stack.
    pub stack: Stack,
    /// The mapping given, if any.
    pub mapping: Option<Mapping>,
}

/// Chooses the stack and reads the mapping (no call).
pub(crate) fn prepare(asm: &Assembly, args: &ImportArgs) -> Result<ImportPlan> {
    let stack = match &args.stack {
        Some(name) => match asm.select(std::slice::from_ref(name), false)?.as_slice() {
            [one] => (*one).clone(),
            many => {
                return Err(Error::Usage(format!(
                    "`{name}` matches {} stacks ({}); import works on one stack: name it",
                    many.len(),
                    many.iter()
                        .map(|s| s.display_name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        },
        None => match asm.stacks.as_slice() {
            [one] => one.clone(),
            _ => {
                return Err(Error::Usage(format!(
                    "the app has {} stacks; name the one to import into: cairn import STACK",
                    asm.stacks.len()
                )))
            }
        },
    };
    let mapping = match (&args.resource_mapping, &args.resource_mapping_inline) {
        (Some(_), Some(_)) => {
            return Err(Error::Usage(
                "--resource-mapping and --resource-mapping-inline: pass one or the other".into(),
            ))
        }
        (Some(file), None) => {
            let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
                path: file.clone(),
                source,
            })?;
            Some(parse_mapping(&text, &file.display().to_string())?)
        }
        (None, Some(text)) => Some(parse_mapping(text, "--resource-mapping-inline")?),
        (None, None) => None,
    };
    Ok(ImportPlan { stack, mapping })
}

/// Reads a mapping: a JSON object of objects of strings.
pub(crate) fn parse_mapping(text: &str, source: &str) -> Result<Mapping> {
    let bad = |m: String| {
        Error::Usage(format!(
            "{source}: {m}; the mapping is JSON like {{\"LogicalId\": {{\"BucketName\": \"my-bucket\"}}}}"
        ))
    };
    let v: Json = serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
    let Json::Object(top) = v else {
        return Err(bad("not a JSON object".into()));
    };
    let mut mapping = Mapping::new();
    for (logical, ids) in top {
        let Json::Object(ids) = ids else {
            return Err(bad(format!("the value of {logical} is not an object")));
        };
        let mut values = BTreeMap::new();
        for (k, v) in ids {
            let v = match v {
                Json::String(s) => s,
                Json::Number(n) => n.to_string(),
                _ => return Err(bad(format!("{logical}.{k} is not a string"))),
            };
            values.insert(k, v);
        }
        mapping.insert(logical, values);
    }
    Ok(mapping)
}

/// A resource the template adds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    /// Its logical ID.
    pub logical_id: String,
    /// Its type.
    pub resource_type: String,
    /// Its definition in the synthesized template.
    pub definition: Json,
    /// The identifier properties of its type (`None`: the type is not known to the schemas).
    pub identifier_properties: Option<Vec<String>>,
}

/// The resources of a template (empty when it has none).
fn resources_of(t: &Json) -> Map<String, Json> {
    t.get("Resources")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The resources `new` adds to `old`, and the existing ones it changes or removes
/// (`Queue (AWS::SQS::Queue, modified)`); the CDK's metadata resource does not count.
pub(crate) fn compare(old: &Json, new: &Json) -> (Vec<Candidate>, Vec<String>) {
    let (old, new) = (resources_of(old), resources_of(new));
    let ty = |r: &Json| r.get("Type").and_then(Json::as_str).unwrap_or("?").to_string();
    let mut added = Vec::new();
    let mut other = Vec::new();
    for (id, r) in &new {
        if id == "CDKMetadata" {
            continue;
        }
        match old.get(id) {
            None => added.push(Candidate {
                logical_id: id.clone(),
                resource_type: ty(r),
                definition: r.clone(),
                identifier_properties: cairn_cfn::schema::facts(&ty(r)).map(|f| {
                    f.primary_identifier
                        .iter()
                        .map(|p| p.strip_prefix("/properties/").unwrap_or(p).to_string())
                        .collect()
                }),
            }),
            Some(o) if o != r => other.push(format!("{id} ({}, modified)", ty(r))),
            Some(_) => {}
        }
    }
    for (id, r) in &old {
        if id != "CDKMetadata" && !new.contains_key(id) {
            other.push(format!("{id} ({}, removed)", ty(r)));
        }
    }
    (added, other)
}

/// The identifier of `c` from the mapping: `Ok(None)` when the mapping does not name it;
/// an error when it names it with the wrong properties or its type cannot be identified.
fn from_mapping(c: &Candidate, mapping: &Mapping, who: &str) -> Result<Option<BTreeMap<String, String>>> {
    let Some(given) = mapping.get(&c.logical_id) else {
        return Ok(None);
    };
    let Some(props) = &c.identifier_properties else {
        return Err(Error::Usage(format!(
            "{who}: {} ({}): the type's identifier is not known to cairn's registry schemas, so it cannot be imported; remove it from the mapping",
            c.logical_id, c.resource_type
        )));
    };
    let missing: Vec<&String> = props.iter().filter(|p| !given.contains_key(*p)).collect();
    let extra: Vec<&String> = given.keys().filter(|k| !props.contains(k)).collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(Error::Usage(format!(
            "{who}: the mapping of {} ({}) must give exactly {}; it gives {}",
            c.logical_id,
            c.resource_type,
            props.join(", "),
            given.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(Some(given.clone()))
}

/// The identifier of `c` asked on the terminal: values the template sets as plain strings
/// are offered for confirmation, the others typed (empty: `c` is not imported).
async fn from_terminal<P: Clouds>(ctx: &Ctx<P>, c: &Candidate) -> Option<BTreeMap<String, String>> {
    let Some(props) = &c.identifier_properties else {
        ctx.report.progress(&ctx.report.style.yellow(&format!(
            "{} ({}): the type's identifier is not known to cairn's registry schemas; not imported (the next deploy creates it)",
            c.logical_id, c.resource_type
        )));
        return None;
    };
    let fixed: BTreeMap<String, String> = props
        .iter()
        .filter_map(|p| {
            let v = c.definition.pointer(&format!("/Properties/{p}"))?.as_str()?;
            Some((p.clone(), v.to_string()))
        })
        .collect();
    if fixed.len() == props.len() {
        let shown: Vec<String> = fixed.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let question = format!(
            "{} ({}): import with {}?",
            c.logical_id,
            c.resource_type,
            shown.join(", ")
        );
        return ctx.report.ask(&question).await.then_some(fixed);
    }
    let mut values = fixed;
    for p in props {
        if values.contains_key(p) {
            continue;
        }
        let question = format!(
            "{} ({}): enter {p} to import (empty to skip):",
            c.logical_id, c.resource_type
        );
        let answer = ctx.report.input(&question).await.unwrap_or_default();
        if answer.is_empty() {
            return None;
        }
        values.insert(p.clone(), answer);
    }
    Some(values)
}

/// The template the `IMPORT` change set carries: the deployed one (for a new stack, the
/// synthesized template's parameters, mappings, conditions and rules) plus the imported
/// resources, each with `DeletionPolicy: Retain` unless it names one.
pub(crate) fn import_template(deployed: &Json, synthesized: &Json, imported: &[&Candidate]) -> Json {
    let mut t = match deployed {
        Json::Object(o) => o.clone(),
        _ => {
            let mut o = Map::new();
            for section in [
                "AWSTemplateFormatVersion",
                "Parameters",
                "Mappings",
                "Conditions",
                "Rules",
            ] {
                if let Some(v) = synthesized.get(section) {
                    o.insert(section.into(), v.clone());
                }
            }
            o
        }
    };
    let mut resources = resources_of(&Json::Object(t.clone()));
    for c in imported {
        let mut d = c.definition.clone();
        if let Json::Object(o) = &mut d {
            o.entry("DeletionPolicy").or_insert_with(|| json!("Retain"));
        }
        resources.insert(c.logical_id.clone(), d);
    }
    t.insert("Resources".into(), Json::Object(resources));
    Json::Object(t)
}

/// Runs the import.
pub(crate) async fn run<P: Clouds>(ctx: &Ctx<P>, plan: &ImportPlan, args: &ImportArgs) -> Result<()> {
    let stack = &plan.stack;
    let who = stack.display_name.as_str();
    if plan.mapping.is_none() && !ctx.report.can_ask() {
        return Err(Error::Usage(format!(
            "{who}: import needs the identifiers of the resources to adopt and there is no terminal to ask for them; pass --resource-mapping FILE or --resource-mapping-inline JSON ({{\"LogicalId\": {{\"BucketName\": \"my-bucket\"}}}})"
        )));
    }
    let se = stack_env(ctx, stack).await?;
    let env = &se.env;
    let (current, ()) = tokio::try_join!(
        describe(&env.cloud, &stack.stack_name, who),
        env.check_bootstrap(stack)
    )?;
    let current = current.filter(|d| d.status != "REVIEW_IN_PROGRESS");
    if let Some(d) = &current {
        if !d.status.ends_with("_COMPLETE") || d.status == "ROLLBACK_COMPLETE" {
            return Err(Error::StackState {
                stack: who.into(),
                message: format!(
                    "the stack is in {}; an import needs a stack in a stable state: wait for an operation in progress to finish, roll a failed one back (`cairn rollback`), or, after a failed creation (ROLLBACK_COMPLETE), destroy the stack first",
                    d.status
                ),
            });
        }
    }
    let deployed = match &current {
        Some(d) => deployed_template(&env.cloud, &d.id, who).await?,
        None => Json::Null,
    };
    let (candidates, other) = compare(&deployed, &stack.template);
    if !other.is_empty() {
        if !args.force {
            return Err(Error::ImportNotAdditive {
                stack: who.into(),
                resources: other.join(", "),
            });
        }
        ctx.report.progress(&ctx.report.style.yellow(&format!(
            "{who}: leaving the changed and removed resources for the next deploy (--force): {}",
            other.join(", ")
        )));
    }
    // The identifiers: from the mapping, else asked.
    let mut chosen: Vec<(&Candidate, BTreeMap<String, String>)> = Vec::new();
    for c in &candidates {
        let id = match &plan.mapping {
            Some(m) => from_mapping(c, m, who)?,
            None => from_terminal(ctx, c).await,
        };
        match id {
            Some(id) => {
                let shown: Vec<String> = id.iter().map(|(k, v)| format!("{k}={v}")).collect();
                ctx.report.progress(&format!(
                    "{who}: {} ({}): importing with {}",
                    c.logical_id,
                    c.resource_type,
                    shown.join(", ")
                ));
                chosen.push((c, id));
            }
            None => ctx.report.progress(&format!(
                "{who}: {} ({}): not imported (the next deploy creates it)",
                c.logical_id, c.resource_type
            )),
        }
    }
    if let Some(m) = &plan.mapping {
        let unknown: Vec<&String> = m
            .keys()
            .filter(|k| !candidates.iter().any(|c| &c.logical_id == *k))
            .collect();
        if !unknown.is_empty() {
            ctx.report.progress(&ctx.report.style.yellow(&format!(
                "{who}: the mapping names resources the template does not add, ignored: {}",
                unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mapping: Mapping = chosen
        .iter()
        .map(|(c, id)| (c.logical_id.clone(), id.clone()))
        .collect();
    if let Some(file) = &args.record_resource_mapping {
        let text = serde_json::to_string_pretty(&mapping).unwrap_or_default() + "\n";
        std::fs::write(file, text).map_err(|source| Error::Io {
            path: file.clone(),
            source,
        })?;
        ctx.report.text(&format!(
            "{who}: the mapping of {} resource(s) is in {}; import with `cairn import {} --resource-mapping {}`\n",
            mapping.len(),
            file.display(),
            stack.display_name,
            file.display()
        ));
        if ctx.report.json {
            ctx.report
                .document(&json!({"stack": who, "mapping": mapping, "result": "recorded"}));
        }
        return Ok(());
    }
    if chosen.is_empty() {
        ctx.report.progress(
            &ctx.report
                .style
                .yellow(&format!("{who}: no resources to import; nothing was changed")),
        );
        if ctx.report.json {
            ctx.report
                .document(&json!({"stack": who, "imported": [], "result": "nothing-to-import"}));
        }
        return Ok(());
    }
    let imported: Vec<&Candidate> = chosen.iter().map(|(c, _)| *c).collect();
    let template = import_template(&deployed, &stack.template, &imported);
    let body = serde_json::to_string(&template).unwrap_or_default();
    let mut import_stack = stack.clone();
    import_stack.template = template.clone();
    import_stack.template_body = body;
    let staged = crate::deploy::assets::stage_template(ctx, &se.base, &import_stack, true).await?;
    let parameters = template
        .get("Parameters")
        .and_then(Json::as_object)
        .into_iter()
        .flat_map(|p| p.keys())
        .filter(|k| current.as_ref().is_some_and(|d| d.parameters.contains_key(*k)))
        .map(|k| Parameter {
            key: k.clone(),
            value: None,
        })
        .collect();
    let request = StackRequest {
        stack: current
            .as_ref()
            .map_or_else(|| stack.stack_name.clone(), |d| d.id.clone()),
        template: staged,
        parameters,
        tags: current
            .as_ref()
            .map_or_else(|| stack.tags.clone(), |d| d.tags.clone()),
        notification_arns: vec![],
        disable_rollback: false,
        termination_protection: stack.termination_protection,
        role_arn: se.execution_role.clone(),
        resources_to_import: chosen
            .iter()
            .map(|(c, id)| ResourceToImport {
                logical_id: c.logical_id.clone(),
                resource_type: c.resource_type.clone(),
                identifier: id.clone(),
            })
            .collect(),
    };
    ctx.report.progress(&ctx.report.style.bold(&format!(
        "{who}: importing {} resource(s) into {}",
        chosen.len(),
        stack.stack_name
    )));
    let cs = match create_of_kind(
        &env.cloud,
        stack,
        &request,
        current.as_ref(),
        ChangeSetKind::Import,
    )
    .await?
    {
        Prepared::Ready(cs) => cs,
        Prepared::NoChanges { .. } => {
            return Err(Error::StackState {
                stack: who.into(),
                message: "CloudFormation found nothing to import".into(),
            })
        }
    };
    let opts = bootstrap_options(vec![]);
    let executed =
        crate::deploy::execute::execute_change_set(ctx, env, stack, &cs, &opts, chosen.len()).await?;
    ctx.report.progress(
        &ctx.report
            .style
            .green(&format!("✅ {who}: imported ({})", executed.status)),
    );
    ctx.report.text(&format!(
        "{who}: imported {}. Run `cairn deploy {}` to apply the rest of the template (and `cairn drift {}` to check that the definitions match the resources).\n",
        chosen.iter().map(|(c, _)| c.logical_id.as_str()).collect::<Vec<_>>().join(", "),
        stack.display_name,
        stack.display_name
    ));
    if ctx.report.json {
        ctx.report.document(
            &json!({"stack": who, "stackId": executed.stack_id, "status": executed.status,
            "imported": mapping, "result": "imported"}),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_objects_of_strings() {
        let m = parse_mapping(
            r#"{"Bucket": {"BucketName": "b"}, "Table": {"TableName": "t"}}"#,
            "m.json",
        )
        .unwrap();
        assert_eq!(m["Bucket"]["BucketName"], "b");
        for bad in [
            r#"["x"]"#,
            r#"{"Bucket": "b"}"#,
            r#"{"Bucket": {"BucketName": ["b"]}}"#,
            "nope",
        ] {
            let e = parse_mapping(bad, "m.json").unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{e}");
            assert!(e.to_string().starts_with("m.json: "), "{e}");
        }
    }

    #[test]
    fn the_identifier_properties_come_from_the_registry_schemas() {
        let old = json!({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}});
        let new = json!({"Resources": {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
            "Odd": {"Type": "Custom::Thing"},
        }});
        let (added, other) = compare(&old, &new);
        assert!(other.is_empty());
        let ids: Vec<(&str, Option<Vec<String>>)> = added
            .iter()
            .map(|c| (c.logical_id.as_str(), c.identifier_properties.clone()))
            .collect();
        assert_eq!(
            ids,
            [("Bucket", Some(vec!["BucketName".to_string()])), ("Odd", None)]
        );
    }

    #[test]
    fn the_import_template_is_the_deployed_one_plus_the_imported_resources_retained() {
        let deployed =
            json!({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"Q": {"Value": "x"}}});
        let synthesized = json!({"Parameters": {"P": {"Type": "String"}}, "Resources": {}});
        let bucket = Candidate {
            logical_id: "Bucket".into(),
            resource_type: "AWS::S3::Bucket".into(),
            definition: json!({"Type": "AWS::S3::Bucket"}),
            identifier_properties: None,
        };
        let table = Candidate {
            logical_id: "Table".into(),
            resource_type: "AWS::DynamoDB::Table".into(),
            definition: json!({"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Snapshot"}),
            identifier_properties: None,
        };
        let t = import_template(&deployed, &synthesized, &[&bucket, &table]);
        assert_eq!(t["Resources"]["Bucket"]["DeletionPolicy"], "Retain");
        assert_eq!(
            t["Resources"]["Table"]["DeletionPolicy"], "Snapshot",
            "a policy given is kept"
        );
        assert_eq!(
            t["Outputs"]["Q"]["Value"], "x",
            "the deployed outputs stay as they are"
        );
        assert!(t.get("Parameters").is_none());
        let new = import_template(&Json::Null, &synthesized, &[&bucket]);
        assert_eq!(
            new["Parameters"]["P"]["Type"], "String",
            "a new stack gets the parameters"
        );
    }
}
