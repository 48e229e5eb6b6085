//! Typed SSM document content: a Command document (schema 2.2) or an Automation document
//! (schema 0.3) parsed with serde into structs, so that what SSM would refuse at
//! `CreateDocument` (or run wrongly) is a synthesis error naming the file, the step and,
//! where the YAML parser knows it, the line.
//!
//! What is checked:
//!
//! - the header: `schemaVersion` (`2.2` for Command, `0.3` for Automation), no unknown
//!   top-level keys;
//! - `parameters`: a known `type`, a `default` of that type, in `allowedValues` and
//!   matching `allowedPattern` when they are given;
//! - every step: a known `action` (the plugin or automation action names), a `name`, the
//!   inputs the action requires, and for `aws:runShellScript` / `aws:runPowerShellScript`
//!   a `runCommand` that is a list of strings (a YAML line with an unquoted `": "` is a
//!   map, not a string: the classic mistake) or one string;
//! - every `{{ name }}` reference in the inputs names a declared parameter (Automation:
//!   or `step.Output` of a step of the document); `{{ ssm:... }}`, `{{ global:... }}` and
//!   `{{ automation:... }}` are left to SSM.
//!
//! ```
//! use cairn_constructs::ssm::{CommandAction, CommandDocument, CommandPlugin};
//!
//! let doc: serde_json::Value = serde_json::json!({
//!     "schemaVersion": "2.2",
//!     "parameters": { "who": { "type": "String", "default": "world" } },
//!     "mainSteps": [{ "action": "aws:runShellScript", "name": "hello",
//!                     "inputs": { "runCommand": ["echo hello {{ who }}"] } }]
//! });
//! let typed = CommandDocument::from_json(&doc).unwrap();
//! assert_eq!(typed.main_steps[0].action, CommandAction::RunShellScript);
//! match typed.main_steps[0].plugin().unwrap() {
//!     CommandPlugin::RunShellScript(s) => assert_eq!(s.run_command, ["echo hello {{ who }}"]),
//!     other => panic!("{other:?}"),
//! }
//!
//! let bad = serde_json::json!({
//!     "schemaVersion": "2.2",
//!     "mainSteps": [{ "action": "aws:runShellScript", "name": "hello",
//!                     "inputs": { "runCommand": [{ "TOKEN=$(curl -H 'ttl": "300')" }] } }]
//! });
//! let e = CommandDocument::from_json(&bad).unwrap_err();
//! assert!(e.problem.contains("runCommand[0] is a map, not a string"), "{e}");
//! ```

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use indexmap::IndexMap;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// A problem of a document's content: the file, the step and the line when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DocumentError {
    /// The file the problem is in (the document or the included fragment); empty when the
    /// content did not come from a file.
    pub file: PathBuf,
    /// The name (or `#index` when it has none) of the step, for a step's problem.
    pub step: Option<String>,
    /// The 1-based line, when the YAML/JSON parser gives it.
    pub line: Option<u32>,
    /// What is wrong, and what to do.
    pub problem: String,
    /// Where the problem is inside the step or document, e.g. `inputs.runCommand[4]`.
    pub at: Option<String>,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.file.as_os_str().is_empty() {
            write!(f, "{}", self.file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        } else if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(step) = &self.step {
            write!(f, "step {step:?}: ")?;
        }
        write!(f, "{}", self.problem)
    }
}

impl DocumentError {
    fn new(problem: impl Into<String>) -> Self {
        DocumentError {
            file: PathBuf::new(),
            step: None,
            line: None,
            problem: problem.into(),
            at: None,
        }
    }

    /// A problem already naming its file (from reading or expanding the file).
    pub(crate) fn from_problem(problem: String) -> Self {
        DocumentError::new(problem)
    }

    fn in_step(mut self, step: &str) -> Self {
        self.step = Some(step.to_string());
        self
    }

    fn at(mut self, at: impl Into<String>) -> Self {
        self.at = Some(at.into());
        self
    }
}

/// The `type` of a document parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ParameterType {
    /// `String`.
    String,
    /// `StringList`: a list of strings.
    StringList,
    /// `Integer`.
    Integer,
    /// `Boolean`.
    Boolean,
    /// `MapList`: a list of maps.
    MapList,
    /// `StringMap`: a map of strings.
    StringMap,
    /// An Automation resource type such as `AWS::EC2::Instance::Id` or
    /// `List<AWS::EC2::Instance::Id>` (Automation documents only).
    Aws(String),
}

impl TryFrom<String> for ParameterType {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Ok(match s.as_str() {
            "String" => ParameterType::String,
            "StringList" => ParameterType::StringList,
            "Integer" => ParameterType::Integer,
            "Boolean" => ParameterType::Boolean,
            "MapList" => ParameterType::MapList,
            "StringMap" => ParameterType::StringMap,
            _ if s.starts_with("AWS::") || (s.starts_with("List<AWS::") && s.ends_with('>')) => {
                ParameterType::Aws(s)
            }
            _ => {
                return Err(format!(
                    "unknown parameter type {s:?}; use String, StringList, Integer, Boolean, MapList, StringMap (or AWS::... in Automation)"
                ))
            }
        })
    }
}

impl From<ParameterType> for String {
    fn from(t: ParameterType) -> String {
        match t {
            ParameterType::String => "String".into(),
            ParameterType::StringList => "StringList".into(),
            ParameterType::Integer => "Integer".into(),
            ParameterType::Boolean => "Boolean".into(),
            ParameterType::MapList => "MapList".into(),
            ParameterType::StringMap => "StringMap".into(),
            ParameterType::Aws(s) => s,
        }
    }
}

/// A declared parameter of a document (`parameters.<name>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentParameter {
    /// `type`.
    #[serde(rename = "type")]
    pub parameter_type: ParameterType,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `default`: a parameter without one must be passed by every caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Json>,
    /// `allowedValues`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Vec<Json>>,
    /// `allowedPattern` (a regular expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    /// `displayType` (`textarea`, `textfield`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_type: Option<String>,
    /// `minItems`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u32>,
    /// `maxItems`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// `minChars`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_chars: Option<u32>,
    /// `maxChars`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<u32>,
}

impl DocumentParameter {
    /// Whether a caller must pass it (it has no default).
    pub fn is_required(&self) -> bool {
        self.default.is_none()
    }

    fn check(&self) -> Result<(), String> {
        let Some(default) = &self.default else {
            return Ok(());
        };
        let fits = match &self.parameter_type {
            ParameterType::String | ParameterType::Aws(_) => default.is_string() || default.is_array(),
            ParameterType::StringList => default.as_array().is_some_and(|a| a.iter().all(Json::is_string)),
            ParameterType::Integer => default.is_i64() || default.is_u64(),
            ParameterType::Boolean => default.is_boolean(),
            ParameterType::MapList => default.as_array().is_some_and(|a| a.iter().all(Json::is_object)),
            ParameterType::StringMap => default.is_object(),
        };
        if !fits {
            return Err(format!(
                "the default {default} is not a {}",
                String::from(self.parameter_type.clone())
            ));
        }
        if let Some(allowed) = &self.allowed_values {
            let values = match default {
                Json::Array(a) => a.clone(),
                v => vec![v.clone()],
            };
            if let Some(v) = values.iter().find(|v| !allowed.contains(v)) {
                return Err(format!("the default {v} is not one of the allowedValues"));
            }
        }
        if let (Some(pattern), Some(text)) = (&self.allowed_pattern, default.as_str()) {
            // SSM patterns are Java regular expressions; check only what Rust can compile.
            if let Ok(re) = regex::Regex::new(pattern) {
                if !re.is_match(text) {
                    return Err(format!(
                        "the default {text:?} does not match the allowedPattern {pattern:?}"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The plugins a Command document (schema 2.2) step can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CommandAction {
    /// `aws:applications`
    #[serde(rename = "aws:applications")]
    Applications,
    /// `aws:cloudWatch`
    #[serde(rename = "aws:cloudWatch")]
    CloudWatch,
    /// `aws:configureDocker`
    #[serde(rename = "aws:configureDocker")]
    ConfigureDocker,
    /// `aws:configurePackage`
    #[serde(rename = "aws:configurePackage")]
    ConfigurePackage,
    /// `aws:domainJoin`
    #[serde(rename = "aws:domainJoin")]
    DomainJoin,
    /// `aws:downloadContent`
    #[serde(rename = "aws:downloadContent")]
    DownloadContent,
    /// `aws:psModule`
    #[serde(rename = "aws:psModule")]
    PsModule,
    /// `aws:refreshAssociation`
    #[serde(rename = "aws:refreshAssociation")]
    RefreshAssociation,
    /// `aws:runDockerAction`
    #[serde(rename = "aws:runDockerAction")]
    RunDockerAction,
    /// `aws:runDocument`
    #[serde(rename = "aws:runDocument")]
    RunDocument,
    /// `aws:runPowerShellScript`
    #[serde(rename = "aws:runPowerShellScript")]
    RunPowerShellScript,
    /// `aws:runShellScript`
    #[serde(rename = "aws:runShellScript")]
    RunShellScript,
    /// `aws:softwareInventory`
    #[serde(rename = "aws:softwareInventory")]
    SoftwareInventory,
    /// `aws:updateAgent`
    #[serde(rename = "aws:updateAgent")]
    UpdateAgent,
    /// `aws:updateSsmAgent`
    #[serde(rename = "aws:updateSsmAgent")]
    UpdateSsmAgent,
}

impl CommandAction {
    /// The inputs the plugin cannot run without.
    pub fn required_inputs(self) -> &'static [&'static str] {
        match self {
            CommandAction::RunShellScript | CommandAction::RunPowerShellScript => &["runCommand"],
            CommandAction::RunDocument => &["documentType", "documentPath"],
            CommandAction::DownloadContent => &["sourceType", "sourceInfo"],
            CommandAction::ConfigurePackage => &["name", "action"],
            CommandAction::Applications => &["action", "source"],
            CommandAction::DomainJoin => &["directoryId", "directoryName"],
            CommandAction::PsModule => &["runCommand"],
            CommandAction::RunDockerAction => &["action"],
            CommandAction::UpdateAgent => &["agentName", "source"],
            CommandAction::ConfigureDocker => &["action"],
            CommandAction::CloudWatch
            | CommandAction::RefreshAssociation
            | CommandAction::SoftwareInventory
            | CommandAction::UpdateSsmAgent => &[],
        }
    }
}

/// A step of a Command document (`mainSteps[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommandStep {
    /// `action`: the plugin.
    pub action: CommandAction,
    /// `name`: unique in the document.
    pub name: String,
    /// `inputs` of the plugin; typed by [`CommandStep::plugin`].
    #[serde(default)]
    pub inputs: Map<String, Json>,
    /// `precondition`, e.g. `{"StringEquals": ["platformType", "Linux"]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precondition: Option<Json>,
    /// `onFailure` (`exit`, `successAndExit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// `finallyStep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finally_step: Option<bool>,
}

/// The inputs of `aws:runShellScript` and `aws:runPowerShellScript`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScriptInputs {
    /// `runCommand`: the script, one string per line (one string is one line).
    #[serde(deserialize_with = "run_command")]
    pub run_command: Vec<String>,
    /// `workingDirectory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// `timeoutSeconds`: a number, or a string of digits or a `{{ parameter }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<Json>,
}

/// `runCommand` is a list of strings, or one string. An element that is not a string is
/// named by its index: in YAML it is usually a line with an unquoted `": "` (a map).
fn run_command<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::de::Error;
    match Json::deserialize(d)? {
        Json::String(s) => Ok(vec![s]),
        Json::Array(lines) => lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| match line {
                Json::String(s) => Ok(s),
                other => Err(D::Error::custom(format!(
                    "runCommand[{i}] is {}, not a string: {other}; quote the line (in YAML a line containing \": \" or starting with '{{' or '[' is read as a map or a list)",
                    kind(&other)
                ))),
            })
            .collect(),
        other => Err(D::Error::custom(format!(
            "runCommand is {}, not a list of strings",
            kind(&other)
        ))),
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    }
}

/// The inputs of `aws:runDocument`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunDocumentInputs {
    /// `documentType`: `SSMDocument` or `LocalPath`.
    pub document_type: String,
    /// `documentPath`.
    pub document_path: String,
    /// `documentParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_parameters: Option<Json>,
}

/// The typed inputs of a step, by plugin.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandPlugin<'a> {
    /// `aws:runShellScript`.
    RunShellScript(ScriptInputs),
    /// `aws:runPowerShellScript`.
    RunPowerShellScript(ScriptInputs),
    /// `aws:runDocument`.
    RunDocument(RunDocumentInputs),
    /// Another plugin: its inputs as given (their required keys are checked).
    Other(CommandAction, &'a Map<String, Json>),
}

fn typed<T: serde::de::DeserializeOwned>(inputs: &Map<String, Json>) -> Result<T, String> {
    serde_json::from_value(Json::Object(inputs.clone())).map_err(|e| format!("inputs: {e}"))
}

impl CommandStep {
    /// The step's inputs, typed by its plugin; a problem is a message naming the input.
    pub fn plugin(&self) -> Result<CommandPlugin<'_>, String> {
        let missing: Vec<&str> = self
            .action
            .required_inputs()
            .iter()
            .copied()
            .filter(|k| !self.inputs.contains_key(*k))
            .collect();
        if !missing.is_empty() {
            return Err(format!("inputs: missing required input {}", quoted(&missing)));
        }
        Ok(match self.action {
            CommandAction::RunShellScript => CommandPlugin::RunShellScript(typed(&self.inputs)?),
            CommandAction::RunPowerShellScript => CommandPlugin::RunPowerShellScript(typed(&self.inputs)?),
            CommandAction::RunDocument => CommandPlugin::RunDocument(typed(&self.inputs)?),
            other => CommandPlugin::Other(other, &self.inputs),
        })
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The header of a document: everything but the steps.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CommandHeader {
    schema_version: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: IndexMap<String, DocumentParameter>,
    main_steps: Vec<Json>,
}

/// A Command document of schema 2.2.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandDocument {
    /// Always `2.2`.
    pub schema_version: String,
    /// `description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `parameters`, in file order.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, DocumentParameter>,
    /// `mainSteps`, includes expanded.
    pub main_steps: Vec<CommandStep>,
}

/// The step's name for messages: its `name`, or `#<index>`.
fn step_label(step: &Json, index: usize) -> String {
    step.get("name")
        .and_then(Json::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("#{index}"))
}

fn header_error(e: serde_json::Error, kind: &str) -> DocumentError {
    DocumentError::new(format!("not a valid {kind} document: {e}"))
}

fn check_parameters(parameters: &IndexMap<String, DocumentParameter>) -> Result<(), DocumentError> {
    for (name, p) in parameters {
        p.check().map_err(|problem| {
            DocumentError::new(format!("parameter {name:?}: {problem}")).at(format!("parameters.{name}"))
        })?;
    }
    Ok(())
}

impl CommandDocument {
    /// Reads a document (includes already expanded) from its JSON form. The first problem
    /// is returned, with the step and the place in it, but no file or line: use
    /// [`Document::new`](super::Document::new) for those.
    pub fn from_json(content: &Json) -> Result<CommandDocument, DocumentError> {
        let header: CommandHeader =
            serde_json::from_value(content.clone()).map_err(|e| header_error(e, "Command (schema 2.2)"))?;
        if header.schema_version != "2.2" {
            return Err(DocumentError::new(format!(
                "schemaVersion is {:?}; cairn reads Command documents of schema \"2.2\"",
                header.schema_version
            ))
            .at("schemaVersion"));
        }
        check_parameters(&header.parameters)?;
        let mut steps = Vec::new();
        for (i, raw) in header.main_steps.iter().enumerate() {
            let label = step_label(raw, i);
            let step: CommandStep = serde_json::from_value(raw.clone()).map_err(|e| {
                DocumentError::new(e.to_string())
                    .in_step(&label)
                    .at(format!("mainSteps[{i}]"))
            })?;
            step.plugin()
                .map_err(|problem| step_problem(problem, &label, i))?;
            check_references(&step.inputs, &header.parameters, &HashSet::new(), false).map_err(
                |problem| {
                    DocumentError::new(problem)
                        .in_step(&label)
                        .at(format!("mainSteps[{i}].inputs"))
                },
            )?;
            steps.push(step);
        }
        check_unique_names(steps.iter().map(|s| s.name.as_str()))?;
        Ok(CommandDocument {
            schema_version: header.schema_version,
            description: header.description,
            parameters: header.parameters,
            main_steps: steps,
        })
    }
}

/// A problem of a step's inputs; `runCommand[i]` problems keep their index for the line.
fn step_problem(problem: String, label: &str, index: usize) -> DocumentError {
    let at = match run_command_index(&problem) {
        Some(j) => format!("mainSteps[{index}].inputs.runCommand[{j}]"),
        None => format!("mainSteps[{index}].inputs"),
    };
    DocumentError::new(problem).in_step(label).at(at)
}

fn run_command_index(problem: &str) -> Option<usize> {
    let rest = problem.split("runCommand[").nth(1)?;
    rest.split(']').next()?.parse().ok()
}

fn check_unique_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), DocumentError> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(DocumentError::new(format!(
                "step name {name:?} appears twice; step names must be unique"
            ))
            .in_step(name));
        }
    }
    Ok(())
}

fn reference_pattern() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // `{{ name }}`, `{{name}}`, `{{ step.Output }}`, `{{ ssm:/path }}`
        regex::Regex::new(r"\{\{\s*([A-Za-z0-9_.:/\-]+)\s*\}\}").unwrap_or_else(|_| unreachable!())
    })
}

/// Every `{{ reference }}` in the strings of `value` names a declared parameter (or, in
/// Automation, `step.Output` of a step in `steps`).
fn check_references(
    value: &Map<String, Json>,
    parameters: &IndexMap<String, DocumentParameter>,
    steps: &HashSet<String>,
    automation: bool,
) -> Result<(), String> {
    fn walk(path: &str, v: &Json, f: &mut dyn FnMut(&str, &str) -> Result<(), String>) -> Result<(), String> {
        match v {
            Json::String(s) => f(path, s),
            Json::Array(a) => a
                .iter()
                .enumerate()
                .try_for_each(|(i, x)| walk(&format!("{path}[{i}]"), x, f)),
            Json::Object(m) => m.iter().try_for_each(|(k, x)| walk(&format!("{path}.{k}"), x, f)),
            _ => Ok(()),
        }
    }
    let mut check = |path: &str, s: &str| -> Result<(), String> {
        for cap in reference_pattern().captures_iter(s) {
            let name = &cap[1];
            if name.contains(':') || parameters.contains_key(name) {
                continue;
            }
            if automation {
                if let Some((step, _)) = name.split_once('.') {
                    if steps.contains(step) {
                        continue;
                    }
                }
            }
            let declared: Vec<&str> = parameters.keys().map(String::as_str).collect();
            return Err(format!(
                "{path} refers to {{{{ {name} }}}}, which is not a declared parameter (declared: {}); declare it under parameters or fix the name",
                if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
            ));
        }
        Ok(())
    };
    value
        .iter()
        .try_for_each(|(k, v)| walk(&format!("inputs.{k}"), v, &mut check))
}

/// The actions of an Automation document (schema 0.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AutomationAction {
    /// `aws:approve`
    #[serde(rename = "aws:approve")]
    Approve,
    /// `aws:assertAwsResourceProperty`
    #[serde(rename = "aws:assertAwsResourceProperty")]
    AssertAwsResourceProperty,
    /// `aws:branch`
    #[serde(rename = "aws:branch")]
    Branch,
    /// `aws:changeInstanceState`
    #[serde(rename = "aws:changeInstanceState")]
    ChangeInstanceState,
    /// `aws:copyImage`
    #[serde(rename = "aws:copyImage")]
    CopyImage,
    /// `aws:createImage`
    #[serde(rename = "aws:createImage")]
    CreateImage,
    /// `aws:createStack`
    #[serde(rename = "aws:createStack")]
    CreateStack,
    /// `aws:createTags`
    #[serde(rename = "aws:createTags")]
    CreateTags,
    /// `aws:deleteImage`
    #[serde(rename = "aws:deleteImage")]
    DeleteImage,
    /// `aws:deleteStack`
    #[serde(rename = "aws:deleteStack")]
    DeleteStack,
    /// `aws:executeAutomation`
    #[serde(rename = "aws:executeAutomation")]
    ExecuteAutomation,
    /// `aws:executeAwsApi`
    #[serde(rename = "aws:executeAwsApi")]
    ExecuteAwsApi,
    /// `aws:executeScript`
    #[serde(rename = "aws:executeScript")]
    ExecuteScript,
    /// `aws:executeStateMachine`
    #[serde(rename = "aws:executeStateMachine")]
    ExecuteStateMachine,
    /// `aws:invokeLambdaFunction`
    #[serde(rename = "aws:invokeLambdaFunction")]
    InvokeLambdaFunction,
    /// `aws:invokeWebhook`
    #[serde(rename = "aws:invokeWebhook")]
    InvokeWebhook,
    /// `aws:loop`
    #[serde(rename = "aws:loop")]
    Loop,
    /// `aws:pause`
    #[serde(rename = "aws:pause")]
    Pause,
    /// `aws:runCommand`
    #[serde(rename = "aws:runCommand")]
    RunCommand,
    /// `aws:runInstances`
    #[serde(rename = "aws:runInstances")]
    RunInstances,
    /// `aws:sleep`
    #[serde(rename = "aws:sleep")]
    Sleep,
    /// `aws:updateVariable`
    #[serde(rename = "aws:updateVariable")]
    UpdateVariable,
    /// `aws:waitForAwsResourceProperty`
    #[serde(rename = "aws:waitForAwsResourceProperty")]
    WaitForAwsResourceProperty,
}

impl AutomationAction {
    /// The inputs the action cannot run without (one of each inner list).
    pub fn required_inputs(self) -> &'static [&'static [&'static str]] {
        use AutomationAction::*;
        match self {
            Approve => &[&["Approvers"]],
            AssertAwsResourceProperty | WaitForAwsResourceProperty => {
                &[&["Service"], &["Api"], &["PropertySelector"], &["DesiredValues"]]
            }
            Branch => &[&["Choices"]],
            ChangeInstanceState => &[&["InstanceIds"], &["DesiredState"]],
            CopyImage => &[&["SourceImageId"], &["SourceRegion"], &["ImageName"]],
            CreateImage => &[&["InstanceId"], &["ImageName"]],
            CreateStack => &[&["StackName"], &["TemplateBody", "TemplateURL"]],
            CreateTags => &[&["ResourceIds"], &["Tags"]],
            DeleteImage => &[&["ImageId"]],
            DeleteStack => &[&["StackName"]],
            ExecuteAutomation => &[&["DocumentName"]],
            ExecuteAwsApi => &[&["Service"], &["Api"]],
            ExecuteScript => &[&["Runtime"], &["Handler"], &["Script", "Attachment"]],
            ExecuteStateMachine => &[&["stateMachineArn"]],
            InvokeLambdaFunction => &[&["FunctionName"]],
            InvokeWebhook => &[&["IntegrationName"]],
            Loop => &[&["Iterators"], &["Steps"]],
            RunCommand => &[&["DocumentName"], &["InstanceIds", "Targets"]],
            RunInstances => &[&["ImageId"]],
            Sleep => &[&["Duration", "Timestamp"]],
            UpdateVariable => &[&["Name"], &["Value"]],
            Pause => &[],
        }
    }
}

/// A step of an Automation document (`mainSteps[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutomationStep {
    /// `name`.
    pub name: String,
    /// `action`.
    pub action: AutomationAction,
    /// `inputs` of the action (their required keys are checked).
    #[serde(default)]
    pub inputs: Map<String, Json>,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `maxAttempts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<Json>,
    /// `timeoutSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<Json>,
    /// `onFailure` (`Abort`, `Continue`, `step:<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<String>,
    /// `onCancel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_cancel: Option<String>,
    /// `isEnd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_end: Option<bool>,
    /// `isCritical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_critical: Option<bool>,
    /// `nextStep`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    /// `outputs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<Json>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AutomationHeader {
    schema_version: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    assume_role: Option<String>,
    #[serde(default)]
    parameters: IndexMap<String, DocumentParameter>,
    main_steps: Vec<Json>,
    #[serde(default)]
    outputs: Option<Vec<String>>,
    #[serde(default)]
    files: Option<Json>,
}

/// An Automation document of schema 0.3.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AutomationDocument {
    /// Always `0.3`.
    pub schema_version: String,
    /// `description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `assumeRole`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assume_role: Option<String>,
    /// `parameters`, in file order.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: IndexMap<String, DocumentParameter>,
    /// `mainSteps`, includes expanded.
    pub main_steps: Vec<AutomationStep>,
    /// `outputs` (`step.Output`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<String>>,
    /// `files` (attachments of `aws:executeScript`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Json>,
}

impl AutomationDocument {
    /// Reads a document (includes already expanded) from its JSON form; see
    /// [`CommandDocument::from_json`].
    pub fn from_json(content: &Json) -> Result<AutomationDocument, DocumentError> {
        let header: AutomationHeader = serde_json::from_value(content.clone())
            .map_err(|e| header_error(e, "Automation (schema 0.3)"))?;
        if header.schema_version != "0.3" {
            return Err(DocumentError::new(format!(
                "schemaVersion is {:?}; Automation documents are of schema \"0.3\"",
                header.schema_version
            ))
            .at("schemaVersion"));
        }
        check_parameters(&header.parameters)?;
        let names: HashSet<String> = header
            .main_steps
            .iter()
            .filter_map(|s| s.get("name").and_then(Json::as_str).map(str::to_string))
            .collect();
        let mut steps = Vec::new();
        for (i, raw) in header.main_steps.iter().enumerate() {
            let label = step_label(raw, i);
            let in_step = |problem: String, at: String| DocumentError::new(problem).in_step(&label).at(at);
            let step: AutomationStep = serde_json::from_value(raw.clone())
                .map_err(|e| in_step(e.to_string(), format!("mainSteps[{i}]")))?;
            for alternatives in step.action.required_inputs() {
                if !alternatives.iter().any(|k| step.inputs.contains_key(*k)) {
                    return Err(in_step(
                        format!("inputs: missing required input {}", alternatives.join(" or ")),
                        format!("mainSteps[{i}].inputs"),
                    ));
                }
            }
            for target in [&step.next_step, &step.on_failure, &step.on_cancel]
                .into_iter()
                .flatten()
            {
                let name = target.strip_prefix("step:").unwrap_or(target);
                let is_step = target.starts_with("step:") || step.next_step.as_ref() == Some(target);
                if is_step && !names.contains(name) {
                    return Err(in_step(
                        format!("{target:?} names no step of the document"),
                        format!("mainSteps[{i}]"),
                    ));
                }
            }
            check_references(&step.inputs, &header.parameters, &names, true)
                .map_err(|p| in_step(p, format!("mainSteps[{i}].inputs")))?;
            steps.push(step);
        }
        check_unique_names(steps.iter().map(|s| s.name.as_str()))?;
        Ok(AutomationDocument {
            schema_version: header.schema_version,
            description: header.description,
            assume_role: header.assume_role,
            parameters: header.parameters,
            main_steps: steps,
            outputs: header.outputs,
            files: header.files,
        })
    }
}

/// Where an expanded step came from: its file and its index among that file's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) file: PathBuf,
    pub(crate) index: usize,
}

/// Adds the file and line to a problem of content loaded from `file` whose expanded steps
/// came from `origins` (one per step, in order).
pub(crate) fn locate(mut e: DocumentError, file: &Path, origins: &[Origin]) -> DocumentError {
    let at = e.at.clone().unwrap_or_default();
    let step_index = at
        .strip_prefix("mainSteps[")
        .and_then(|r| r.split(']').next())
        .and_then(|n| n.parse::<usize>().ok());
    match step_index.and_then(|i| origins.get(i)) {
        Some(origin) => {
            e.file = origin.file.clone();
            let run_command = run_command_index(&at);
            e.line = step_line(&origin.file, origin.index, run_command);
        }
        None => {
            e.file = file.to_path_buf();
            if let Some(name) = at.strip_prefix("parameters.") {
                e.line = parameter_line(file, name);
            } else if e.step.is_none() && at.is_empty() {
                e.line = None;
            }
        }
    }
    e
}

#[derive(Deserialize)]
struct LocatedDocument {
    #[serde(rename = "mainSteps", default)]
    main_steps: Vec<serde_saphyr::Spanned<LocatedStep>>,
    #[serde(default)]
    parameters: IndexMap<String, serde_saphyr::Spanned<IgnoredAny>>,
}

#[derive(Deserialize)]
struct LocatedStep {
    #[serde(default)]
    inputs: Option<LocatedInputs>,
}

#[derive(Deserialize)]
struct LocatedInputs {
    #[serde(rename = "runCommand", default)]
    run_command: Option<LocatedLines>,
}

/// `runCommand` with the location of each line (one string: no lines).
struct LocatedLines(Vec<serde_saphyr::Spanned<IgnoredAny>>);

impl<'de> Deserialize<'de> for LocatedLines {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Lines;
        impl<'de> serde::de::Visitor<'de> for Lines {
            type Value = LocatedLines;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("runCommand")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<LocatedLines, A::Error> {
                let mut lines = Vec::new();
                while let Some(line) = seq.next_element::<serde_saphyr::Spanned<IgnoredAny>>()? {
                    lines.push(line);
                }
                Ok(LocatedLines(lines))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<LocatedLines, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LocatedLines(Vec::new()))
            }
            fn visit_str<E>(self, _: &str) -> Result<LocatedLines, E> {
                Ok(LocatedLines(Vec::new()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<LocatedLines, E> {
                Ok(LocatedLines(Vec::new()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<LocatedLines, E> {
                Ok(LocatedLines(Vec::new()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<LocatedLines, E> {
                Ok(LocatedLines(Vec::new()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<LocatedLines, E> {
                Ok(LocatedLines(Vec::new()))
            }
            fn visit_unit<E>(self) -> Result<LocatedLines, E> {
                Ok(LocatedLines(Vec::new()))
            }
        }
        d.deserialize_any(Lines)
    }
}

/// The line of step `index` of `file` (or of its `runCommand[line]`): the file is read
/// again, with locations, only when there is a problem to report.
fn step_line(file: &Path, index: usize, run_command: Option<usize>) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    let steps: Vec<serde_saphyr::Spanned<LocatedStep>> =
        match serde_saphyr::from_str::<LocatedDocument>(&text) {
            // A document with mainSteps.
            Ok(doc) if !doc.main_steps.is_empty() => doc.main_steps,
            // A fragment holding one step: the step is the file.
            Ok(_) => vec![serde_saphyr::from_str(&text).ok()?],
            // A fragment holding a list of steps.
            Err(_) => serde_saphyr::from_str(&text).ok()?,
        };
    line_in(steps.get(index)?, run_command)
}

fn line_in(step: &serde_saphyr::Spanned<LocatedStep>, run_command: Option<usize>) -> Option<u32> {
    let line = |l: usize| u32::try_from(l).ok().filter(|l| *l > 0);
    let element = run_command.and_then(|j| {
        let lines = step.value.inputs.as_ref()?.run_command.as_ref()?;
        line(lines.0.get(j)?.referenced.line() as usize)
    });
    element.or_else(|| line(step.referenced.line() as usize))
}

fn parameter_line(file: &Path, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    let doc = serde_saphyr::from_str::<LocatedDocument>(&text).ok()?;
    let l = doc.parameters.get(name)?.referenced.line();
    u32::try_from(l).ok().filter(|l| *l > 0)
}
