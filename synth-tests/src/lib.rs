//! Helpers for the snapshot tests: synthesize an example app and render what a reviewer
//! needs to see (each stack's template and its place in the manifest).

use cairn::assertions::Template;
use cairn::{App, CloudAssembly};
use serde_json::{json, Value as Json};

/// Synthesizes an example, panicking with the error text when it is refused (tests only).
pub fn synth(build: fn() -> cairn::Result<App>) -> CloudAssembly {
    let mut app = match build() {
        Ok(app) => app,
        Err(e) => panic!("building the app failed: {e}"),
    };
    match app.synth() {
        Ok(asm) => asm,
        Err(e) => panic!("synthesis failed: {e}"),
    }
}

/// A stack's header for snapshots: name, environment, dependencies.
pub fn header(asm: &CloudAssembly, stack: &str) -> String {
    match asm.stack(stack) {
        Some(s) => format!(
            "stack: {}\nname: {}\nenvironment: {}\ndepends on: {}\n",
            s.display_name,
            s.stack_name,
            s.environment.uri(),
            s.dependencies.join(", ")
        ),
        None => panic!("no stack {stack}"),
    }
}

/// A stack's snapshot: its [`header`], a blank line, and its template as JSON.
pub fn snapshot(asm: &CloudAssembly, stack: &str) -> String {
    match asm.stack(stack) {
        Some(s) => format!("{}\n{}", header(asm, stack), s.template_json()),
        None => panic!("no stack {stack}"),
    }
}

/// The display names of the assembly's stacks, in the assembly's order.
pub fn stack_names(asm: &CloudAssembly) -> Vec<&str> {
    asm.stacks().iter().map(|s| s.display_name.as_str()).collect()
}

/// A stack's template, for the assertions API.
pub fn template(asm: &CloudAssembly, stack: &str) -> Template {
    Template::from_json(template_json(asm, stack))
}

/// A stack's template as plain JSON.
pub fn template_json(asm: &CloudAssembly, stack: &str) -> Json {
    match asm.stack(stack) {
        Some(s) => s.template.json().clone(),
        None => panic!("no stack {stack}"),
    }
}

/// A synthesized template's JSON, whether held as JSON or as an assertions [`Template`],
/// so the helpers below take either.
pub trait TemplateJson {
    /// The whole template (`Resources`, `Outputs`, ...).
    fn json(&self) -> &Json;
}

impl TemplateJson for Json {
    fn json(&self) -> &Json {
        self
    }
}

impl TemplateJson for Template {
    fn json(&self) -> &Json {
        self.to_json()
    }
}

/// `(logical id, resource)` of every resource of type `ty`, in template order.
pub fn of_type<'a>(t: &'a impl TemplateJson, ty: &str) -> Vec<(&'a str, &'a Json)> {
    t.json()["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// The logical id of the one resource of type `ty`; panics unless there is exactly one.
pub fn only(t: &impl TemplateJson, ty: &str) -> String {
    let found = of_type(t, ty);
    assert_eq!(found.len(), 1, "expected one {ty}, found {found:?}");
    found[0].0.to_string()
}

/// `(logical id, resource)` of the one resource of type `ty` whose logical id starts with
/// `prefix`; panics unless there is exactly one.
pub fn one_with_prefix<'a>(t: &'a impl TemplateJson, ty: &str, prefix: &str) -> (&'a str, &'a Json) {
    let found: Vec<(&str, &Json)> = of_type(t, ty)
        .into_iter()
        .filter(|(id, _)| id.starts_with(prefix))
        .collect();
    let ids: Vec<&str> = found.iter().map(|(id, _)| *id).collect();
    assert_eq!(found.len(), 1, "expected one {ty} named {prefix}*, found {ids:?}");
    found[0]
}

/// The logical id of the one resource of type `ty` whose logical id starts with `prefix`;
/// panics unless there is exactly one.
pub fn with_prefix(t: &impl TemplateJson, ty: &str, prefix: &str) -> String {
    one_with_prefix(t, ty, prefix).0.to_string()
}

/// The definition of the template's one state machine, parsed from its literal
/// `DefinitionString` (substitutions left as `${...}`).
pub fn definition(t: &impl TemplateJson) -> Json {
    let id = only(t, "AWS::StepFunctions::StateMachine");
    let text = t.json()["Resources"][&id]["Properties"]["DefinitionString"]
        .as_str()
        .expect("a literal DefinitionString");
    serde_json::from_str(text).expect("the definition is JSON")
}

/// The `DefinitionSubstitutions` of the template's one state machine.
pub fn definition_substitutions(t: &impl TemplateJson) -> Json {
    let id = only(t, "AWS::StepFunctions::StateMachine");
    t.json()["Resources"][&id]["Properties"]["DefinitionSubstitutions"].clone()
}

/// The optimized integration a Task state calls (`glue:startJobRun.sync`): its `Resource`
/// is a `${Key}` placeholder whose substitution is the integration's ARN in the stack's
/// partition, `arn:${AWS::Partition}:states:::<integration>`; panics on anything else.
pub fn integration(substitutions: &Json, state: &Json) -> String {
    let key = state["Resource"]
        .as_str()
        .and_then(|r| r.strip_prefix("${"))
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or_else(|| panic!("the Resource of {state} is not a placeholder"));
    let arn = &substitutions[key];
    let parts = arn["Fn::Join"][1]
        .as_array()
        .unwrap_or_else(|| panic!("substitution {key} is not an Fn::Join: {arn}"));
    assert_eq!(arn["Fn::Join"][0], "", "{arn}");
    assert_eq!(parts.len(), 3, "{arn}");
    assert_eq!(parts[0], "arn:", "{arn}");
    assert_eq!(parts[1], json!({ "Ref": "AWS::Partition" }), "{arn}");
    parts[2]
        .as_str()
        .and_then(|rest| rest.strip_prefix(":states:::"))
        .unwrap_or_else(|| panic!("not an integration ARN: {arn}"))
        .to_string()
}

/// `(logical id, policy)` of every `AWS::IAM::Policy` attached to the role `role_id` (its
/// `Roles` include `{"Ref": role_id}`), in template order.
pub fn role_policies<'a>(t: &'a impl TemplateJson, role_id: &str) -> Vec<(&'a str, &'a Json)> {
    let role = json!({ "Ref": role_id });
    of_type(t, "AWS::IAM::Policy")
        .into_iter()
        .filter(|(_, p)| {
            p["Properties"]["Roles"]
                .as_array()
                .is_some_and(|roles| roles.contains(&role))
        })
        .collect()
}

/// Every statement of every policy attached to the role `role_id` ([`role_policies`]), in
/// template order.
pub fn role_statements(t: &impl TemplateJson, role_id: &str) -> Vec<Json> {
    role_policies(t, role_id)
        .into_iter()
        .flat_map(|(id, p)| {
            p["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap_or_else(|| panic!("policy {id} has no statements"))
                .clone()
        })
        .collect()
}

/// A policy statement's actions (`Action` as a string or a list of strings); panics on
/// anything else, e.g. a statement with only `NotAction`.
pub fn actions(statement: &Json) -> Vec<String> {
    match &statement["Action"] {
        Json::String(a) => vec![a.clone()],
        Json::Array(a) => a
            .iter()
            .map(|x| match x {
                Json::String(a) => a.clone(),
                other => panic!("an action that is not a string: {other} in {statement}"),
            })
            .collect(),
        other => panic!("no actions ({other}) in {statement}"),
    }
}

/// The logical id a `{"Ref": id}` or `{"Fn::GetAtt": [id, attr]}` names.
pub fn target(v: &Json) -> String {
    v.get("Ref")
        .or_else(|| v.get("Fn::GetAtt").and_then(|g| g.get(0)))
        .and_then(Json::as_str)
        .unwrap_or_else(|| panic!("not a Ref or GetAtt: {v}"))
        .to_string()
}
