//! Systems Manager: string parameters with correct ARNs and grants, and Command documents
//! loaded from YAML or JSON files with shared include fragments.
//!
//! ```
//! use cairn_constructs::ssm::{StringParameter, StringParameterProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let p = StringParameter::new(&mut app, stack, "Endpoint", StringParameterProps {
//!     parameter_name: Some("/app/endpoint".into()),
//!     ..StringParameterProps::new("https://api.example.com")
//! })?;
//! let arn = p.parameter_arn(); // ...:parameter/app/endpoint, no double slash
//! # let _ = arn;
//! # Ok(())
//! # }
//! ```
//!
//! ## Documents and includes
//!
//! [`Document`] reads an SSM document (schema 2.2 `Command` by default) from a `.yaml`,
//! `.yml` or `.json` file and embeds it as a JSON object in `Content`. A `mainSteps`
//! entry that is exactly `{"include": "<path>"}` is replaced, at synthesis, by the steps
//! of that file (relative to the including file): a list of steps, one step (a map with
//! `action`), or a document with `mainSteps`. Included files may include others; a cycle
//! is an error naming the chain. Several documents can share one fragment:
//!
//! ```yaml
//! # install.yaml
//! schemaVersion: "2.2"
//! description: Install the agent
//! mainSteps:
//!   - include: fragments/generate.yaml
//!   - action: aws:runShellScript
//!     name: install
//!     inputs: { runCommand: ["./install.sh"] }
//! ```
//!
//! ## Typed content
//!
//! After its includes are expanded, a `Command` document is read as a
//! [`CommandDocument`] (schema 2.2) and an `Automation` document as an
//! [`AutomationDocument`] (schema 0.3): a non-string `runCommand` line (in YAML, a line
//! with an unquoted `": "` is a map), an unknown action, a missing required input, a
//! reference to an undeclared `{{ parameter }}` or a default outside its `allowedValues`
//! is an [`Error::InvalidProps`] naming the construct, the file (the fragment, for an
//! included step), the step and the line:
//!
//! ```text
//! 'S/Install': fragments/generate.yaml:12: step "generate": inputs: runCommand[4] is a map, not a string: ...
//! ```

use std::path::{Path, PathBuf};

use cairn_core::{format_arn, App, Construct, Error, Level, NodeId, Parameter, Res, Result, Value};

use crate::iam::{grant, Grantable};
use crate::imported::{check_name, import_node};

pub use cairn_cfn::ssm::*;

mod content;

use content::{locate, Origin};
pub use content::{
    AutomationAction, AutomationDocument, AutomationStep, CommandAction, CommandDocument, CommandPlugin,
    CommandStep, DocumentError, DocumentParameter, ParameterType, RunDocumentInputs, ScriptInputs,
};

/// The actions of [`StringParameter::grant_read`] (the CDK's list).
pub const PARAMETER_READ_ACTIONS: &[&str] = &[
    "ssm:DescribeParameters",
    "ssm:GetParameters",
    "ssm:GetParameter",
    "ssm:GetParameterHistory",
];
/// The actions of [`StringParameter::grant_write`] (the CDK's list).
pub const PARAMETER_WRITE_ACTIONS: &[&str] = &["ssm:PutParameter"];

/// The storage tier of a parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ParameterTier {
    /// Up to 4 KB, no charge (the default).
    #[default]
    Standard,
    /// Up to 8 KB, policies, charged.
    Advanced,
    /// Standard, or Advanced when the value needs it.
    IntelligentTiering,
}

/// Settings of a [`StringParameter`].
///
/// ```
/// use cairn_constructs::ssm::{ParameterTier, StringParameterProps};
/// let props = StringParameterProps { tier: ParameterTier::Advanced, ..StringParameterProps::new("v") };
/// # let _ = props;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StringParameterProps {
    /// The value.
    pub string_value: Value,
    /// A name such as `/app/endpoint` or `endpoint`; generated (`CFN-...`) when `None`.
    pub parameter_name: Option<Value>,
    /// `Description`.
    pub description: Option<String>,
    /// The tier (default: Standard; CloudFormation's default when unset).
    pub tier: ParameterTier,
    /// A regular expression the value must match.
    pub allowed_pattern: Option<String>,
    /// Whether the name has no leading `/`. Needed only when `parameter_name` is not a
    /// literal (cairn cannot see the name then, and the ARN depends on it).
    pub simple_name: Option<bool>,
}

impl StringParameterProps {
    /// A parameter holding `value`, its name generated.
    pub fn new(value: impl Into<Value>) -> Self {
        StringParameterProps {
            string_value: value.into(),
            parameter_name: None,
            description: None,
            tier: ParameterTier::Standard,
            allowed_pattern: None,
            simple_name: None,
        }
    }
}

/// A `String` parameter (`AWS::SSM::Parameter`), its L1 the child `Resource`.
///
/// ```
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_constructs::ssm::{StringParameter, StringParameterProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let p = StringParameter::new(&mut app, stack, "Flag", StringParameterProps::new("on"))?;
/// let role = Role::new(&mut app, stack, "Reader", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
/// p.grant_read(&mut app, &role)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StringParameter {
    node: NodeId,
    resource: Res<CfnParameter>,
    simple_name: bool,
}

impl PartialEq for StringParameter {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

fn child_path(app: &App, scope: NodeId, id: &str) -> String {
    let p = app.path(scope);
    if p.is_empty() {
        id.to_string()
    } else {
        format!("{p}/{id}")
    }
}

impl StringParameter {
    /// Creates the parameter as construct `id` under `scope`. A non-literal name without
    /// `simple_name`, or a `simple_name` that contradicts the literal name, is an
    /// [`Error::InvalidProps`].
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: StringParameterProps,
    ) -> Result<StringParameter> {
        let scope = scope.into();
        let path = child_path(app, scope, id);
        let simple_name = match (&props.parameter_name, props.simple_name) {
            // CloudFormation generates names like CFN-Param-AbC123: no leading slash.
            (None, s) => s.unwrap_or(true),
            (Some(Value::String(name)), s) => {
                let simple = !name.starts_with('/');
                if s.is_some_and(|s| s != simple) {
                    return Err(Error::InvalidProps {
                        path,
                        problem: format!("simple_name is {s:?} but the name {name:?} says {simple}; remove simple_name"),
                    });
                }
                simple
            }
            (Some(_), Some(s)) => s,
            (Some(_), None) => {
                return Err(Error::InvalidProps {
                    path,
                    problem: "the parameter name is not a literal, so its ARN cannot be built: set simple_name (true when the name has no leading '/')".into(),
                })
            }
        };
        let node = app.construct(scope, id)?;
        let mut p = CfnParameter::new(parameter::Type::String, props.string_value.clone());
        p.name = props.parameter_name.clone().map(Into::into);
        p.description = props.description.as_deref().map(Into::into);
        p.allowed_pattern = props.allowed_pattern.as_deref().map(Into::into);
        p.tier = match props.tier {
            ParameterTier::Standard => None,
            ParameterTier::Advanced => Some(parameter::Tier::Advanced.into()),
            ParameterTier::IntelligentTiering => Some(parameter::Tier::IntelligentTiering.into()),
        };
        let resource = app.add(node, "Resource", p)?;
        Ok(StringParameter {
            node,
            resource,
            simple_name,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnParameter> {
        self.resource
    }

    /// The parameter's name (`Ref`).
    pub fn parameter_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The parameter's ARN: `arn:<partition>:ssm:<region>:<account>:parameter/<name>`
    /// for a simple name, `...:parameter<name>` for a name starting with `/`.
    pub fn parameter_arn(&self) -> Value {
        let sep = if self.simple_name {
            "parameter/"
        } else {
            "parameter"
        };
        format_arn("ssm", Value::join("", [Value::from(sep), self.parameter_name()]))
    }

    /// Grants reading the parameter (`ssm:DescribeParameters`, `GetParameters`,
    /// `GetParameter`, `GetParameterHistory`).
    pub fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        StringParameterRef::grant_read(self, app, grantee)
    }

    /// Grants `ssm:PutParameter`.
    pub fn grant_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        StringParameterRef::grant_write(self, app, grantee)
    }
}

/// A string parameter, created by this app ([`StringParameter`]) or existing
/// ([`ImportedStringParameter`]); grants go to the grantee's identity policy.
pub trait StringParameterRef: Construct {
    /// The parameter's name.
    fn parameter_name(&self) -> Value;
    /// The parameter's ARN.
    fn parameter_arn(&self) -> Value;

    /// Grants reading the parameter (`ssm:DescribeParameters`, `GetParameters`,
    /// `GetParameter`, `GetParameterHistory`).
    fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        grant(
            app,
            grantee,
            PARAMETER_READ_ACTIONS.iter().copied(),
            [self.parameter_arn()],
        )
    }

    /// Grants `ssm:PutParameter`.
    fn grant_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        grant(
            app,
            grantee,
            PARAMETER_WRITE_ACTIONS.iter().copied(),
            [self.parameter_arn()],
        )
    }
}

impl StringParameterRef for StringParameter {
    fn parameter_name(&self) -> Value {
        StringParameter::parameter_name(self)
    }

    fn parameter_arn(&self) -> Value {
        StringParameter::parameter_arn(self)
    }
}

/// A string parameter that exists outside the app ([`StringParameter::from_string_parameter_name`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedStringParameter {
    node: NodeId,
    name: Value,
    string_value: Value,
}

impl StringParameter {
    /// The value of a string parameter of the environment of `scope`'s stack, read at
    /// synthesis (aws-cdk-lib's `StringParameter.valueFromLookup`): the context value
    /// under the `ssm` key, looked up by the `cairn` CLI and kept in `cdk.context.json`.
    /// While it is missing, `default_value`, else `dummy-value-for-<name>`; without a
    /// default the parameter must exist (the CLI fails the lookup), with one the CLI
    /// answers the default when it does not. The stack needs a concrete account and
    /// region.
    ///
    /// ```
    /// use cairn_constructs::ssm::StringParameter;
    /// use cairn_core::{App, Environment, StackProps};
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let env = Some(Environment::new("123456789012", "eu-west-1"));
    /// let stack = app.stack_with(app.root(), "S", StackProps { env, ..StackProps::default() })?;
    /// let v = StringParameter::value_from_lookup(&mut app, stack, "/app/color", None)?;
    /// assert_eq!(v, "dummy-value-for-/app/color");
    /// assert_eq!(
    ///     app.synth()?.missing()[0].key,
    ///     "ssm:account=123456789012:parameterName=/app/color:region=eu-west-1"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn value_from_lookup(
        app: &mut App,
        scope: impl Into<NodeId>,
        parameter_name: &str,
        default_value: Option<&str>,
    ) -> Result<String> {
        use cairn_core::context::{ContextQuery, SSM_PARAMETER_PROVIDER};
        let scope = scope.into();
        let mut props = serde_json::Map::new();
        props.insert("parameterName".into(), parameter_name.into());
        let mut query = ContextQuery::new(SSM_PARAMETER_PROVIDER, props);
        query.dummy_value = Some(
            default_value
                .map_or_else(|| format!("dummy-value-for-{parameter_name}"), String::from)
                .into(),
        );
        query.ignore_error_on_missing_context = Some(default_value.is_some());
        match app.lookup_context(scope, &query)? {
            serde_json::Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }

    /// A string parameter of the stack's account and region that exists, by name. Its
    /// value is read at deploy time through a template parameter of type
    /// `AWS::SSM::Parameter::Value<String>` (`<id>.Parameter`, defaulting to the name, as
    /// aws-cdk-lib's `fromStringParameterName` adds); no resource is added. An empty name
    /// is an [`Error::InvalidProps`].
    ///
    /// ```
    /// use cairn_constructs::ssm::{StringParameter, StringParameterRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let p = StringParameter::from_string_parameter_name(&mut app, stack, "Ami", "/app/ami")?;
    /// # let _ = p.string_value();
    /// let asm = app.synth()?;
    /// let t = &asm.stack("S").unwrap().template;
    /// assert_eq!(t["Parameters"]["AmiParameter"]["Type"], "AWS::SSM::Parameter::Value<String>");
    /// assert_eq!(t["Parameters"]["AmiParameter"]["Default"], "/app/ami");
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_string_parameter_name(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        name: impl Into<Value>,
    ) -> Result<ImportedStringParameter> {
        let scope = scope.into();
        let node = import_node(app, scope, id)?;
        let name = name.into();
        check_name(app, node, "parameter name", &name)?;
        let parameter = Parameter {
            default: Some(name.clone()),
            ..Parameter::ssm_value("String")
        };
        let parameter = app.parameter(scope, &format!("{id}.Parameter"), parameter)?;
        Ok(ImportedStringParameter {
            node,
            name,
            string_value: parameter.value(),
        })
    }
}

impl ImportedStringParameter {
    /// The parameter's value, resolved at deploy time.
    pub fn string_value(&self) -> Value {
        self.string_value.clone()
    }
}

impl StringParameterRef for ImportedStringParameter {
    fn parameter_name(&self) -> Value {
        self.name.clone()
    }

    /// `...:parameter/<name>`, or `...:parameter<name>` for a name that starts with `/`.
    fn parameter_arn(&self) -> Value {
        let sep = match self.name.as_str() {
            Some(n) if n.starts_with('/') => "parameter",
            _ => "parameter/",
        };
        format_arn("ssm", Value::join("", [Value::from(sep), self.name.clone()]))
    }
}

imported_handle!(ImportedStringParameter);

impl From<StringParameter> for NodeId {
    fn from(p: StringParameter) -> NodeId {
        p.node
    }
}

/// Settings of a [`Document`].
///
/// ```
/// use cairn_constructs::ssm::DocumentProps;
/// let props = DocumentProps { document_name: Some("InstallAgent".into()), ..DocumentProps::new("docs/install.yaml") };
/// # let _ = props;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentProps {
    /// The `.yaml`, `.yml` or `.json` file (relative paths: to the working directory).
    pub file: PathBuf,
    /// A name; generated when `None`. Named documents are updated with
    /// `UpdateMethod: NewVersion` (replacement would collide with the name).
    pub document_name: Option<String>,
    /// The type (default: `Command`).
    pub document_type: document::DocumentType,
    /// `TargetType`, e.g. `/AWS::EC2::Instance`.
    pub target_type: Option<String>,
}

impl DocumentProps {
    /// A Command document from `file`.
    pub fn new(file: impl Into<PathBuf>) -> Self {
        DocumentProps {
            file: file.into(),
            document_name: None,
            document_type: document::DocumentType::Command,
            target_type: None,
        }
    }
}

/// The metadata key under which [`Document::add_share_accounts`] records accounts.
pub const SHARE_ACCOUNTS_METADATA: &str = "cairn:ssm:share-accounts";

/// An SSM document (`AWS::SSM::Document`) from a file, its L1 the child `Resource`.
///
/// Sharing: `AWS::SSM::Document` has no property for sharing with other accounts; that is
/// the `ModifyDocumentPermission` API. The CDK has no L2 for it either: CDK users call the
/// API from an `AwsCustomResource` (a Lambda-backed custom resource). cairn has no custom
/// resource provider, so [`Document::add_share_accounts`] only records the accounts in the
/// construct metadata (`cairn:ssm:share-accounts`, written to the cloud assembly) and adds
/// a warning with the command to run after deploying; it does not share anything itself.
///
/// ```no_run
/// use cairn_constructs::ssm::{Document, DocumentProps};
/// use cairn_core::App;
///
/// let mut app = App::new();
/// let stack = app.stack("S").unwrap();
/// match Document::new(&mut app, stack, "Install", DocumentProps::new("docs/install.yaml")) {
///     Ok(doc) => { let _ = doc.document_arn(); }
///     Err(e) => eprintln!("{e}"), // e.g. 'S/Install': cannot read the SSM document file ...
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Document {
    node: NodeId,
    resource: Res<CfnDocument>,
}

impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// Reads a document and its includes; a problem is the message of the construct's
/// [`Error::InvalidProps`].
struct Loader;

type Loaded<T> = std::result::Result<T, String>;

fn unreadable(file: &Path, e: std::io::Error) -> String {
    format!("cannot read the SSM document file {}: {e}", file.display())
}

impl Loader {
    fn read(&self, file: &Path) -> Loaded<serde_json::Value> {
        let text = std::fs::read_to_string(file).map_err(|e| unreadable(file, e))?;
        let is_json = file.extension().and_then(|e| e.to_str()) == Some("json");
        let parsed = if is_json {
            serde_json::from_str::<serde_json::Value>(&text).map_err(|e| ("JSON", e.to_string()))
        } else {
            serde_saphyr::from_str::<serde_json::Value>(&text).map_err(|e| ("YAML", e.to_string()))
        };
        parsed.map_err(|(format, message)| {
            format!("{} is not a valid {format} document: {message}", file.display())
        })
    }

    fn invalid(&self, file: &Path, problem: String) -> String {
        format!("{}: {problem}", file.display())
    }

    /// The include target of a step, when the step is `{"include": "..."}`.
    fn include_of<'v>(&self, file: &Path, step: &'v serde_json::Value) -> Loaded<Option<&'v str>> {
        let Some(m) = step.as_object() else {
            return Ok(None);
        };
        let Some(inc) = m.get("include") else {
            return Ok(None);
        };
        if m.len() != 1 {
            return Err(self.invalid(file, "an include step must have only the key \"include\"".into()));
        }
        match inc.as_str() {
            Some(s) => Ok(Some(s)),
            None => Err(self.invalid(file, format!("include must be a file path string, got {inc}"))),
        }
    }

    /// Expands the includes of a list of steps read from `file`; `chain` holds the files
    /// being expanded (for cycle detection).
    fn expand(
        &self,
        file: &Path,
        steps: &[serde_json::Value],
        chain: &mut Vec<PathBuf>,
    ) -> Loaded<Vec<(serde_json::Value, Origin)>> {
        let mut out = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            let Some(target) = self.include_of(file, step)? else {
                let origin = Origin {
                    file: file.to_path_buf(),
                    index,
                };
                out.push((step.clone(), origin));
                continue;
            };
            let base = file.parent().unwrap_or_else(|| Path::new("."));
            let included = base.join(target);
            let canonical = included.canonicalize().map_err(|e| unreadable(&included, e))?;
            if let Some(pos) = chain.iter().position(|c| *c == canonical) {
                let cycle: Vec<String> = chain[pos..]
                    .iter()
                    .chain([&canonical])
                    .map(|p| p.display().to_string())
                    .collect();
                return Err(format!("include cycle: {}", cycle.join(" -> ")));
            }
            let content = self.read(&included)?;
            let fragment_steps = match &content {
                serde_json::Value::Array(a) => a.clone(),
                serde_json::Value::Object(m) => match m.get("mainSteps") {
                    Some(serde_json::Value::Array(a)) => a.clone(),
                    Some(_) => return Err(self.invalid(&included, "mainSteps must be a list".into())),
                    None if m.contains_key("action") || m.contains_key("include") => vec![content.clone()],
                    None => {
                        return Err(self.invalid(
                            &included,
                            "an included file holds a list of steps, one step (with \"action\"), or a document with mainSteps".into(),
                        ))
                    }
                },
                _ => {
                    return Err(self.invalid(
                        &included,
                        "an included file holds a list of steps, one step, or a document with mainSteps".into(),
                    ))
                }
            };
            chain.push(canonical);
            let expanded = self.expand(&included, &fragment_steps, chain)?;
            chain.pop();
            out.extend(expanded);
        }
        Ok(out)
    }

    /// The document with its includes expanded, and where each of its steps came from.
    fn load(&self, file: &Path) -> Loaded<(serde_json::Value, Vec<Origin>)> {
        let mut content = self.read(file)?;
        let mut origins = Vec::new();
        let canonical = file.canonicalize().map_err(|e| unreadable(file, e))?;
        let Some(doc) = content.as_object_mut() else {
            return Err(self.invalid(
                file,
                "an SSM document is a map (schemaVersion, mainSteps ...)".into(),
            ));
        };
        if let Some(steps) = doc.get("mainSteps") {
            let Some(steps) = steps.as_array() else {
                return Err(self.invalid(file, "mainSteps must be a list".into()));
            };
            let (expanded, found): (Vec<_>, Vec<_>) = self
                .expand(file, steps, &mut vec![canonical])?
                .into_iter()
                .unzip();
            origins = found;
            let mut seen = std::collections::HashSet::new();
            for s in &expanded {
                if let Some(name) = s.get("name").and_then(|n| n.as_str()) {
                    if !seen.insert(name.to_string()) {
                        return Err(self.invalid(
                            file,
                            format!("step name {name:?} appears twice after expanding includes; step names must be unique"),
                        ));
                    }
                }
            }
            doc.insert("mainSteps".into(), serde_json::Value::Array(expanded));
        }
        Ok((content, origins))
    }

    /// Reads the content as the typed document of its type (Command: schema 2.2,
    /// Automation: 0.3); other types are not checked.
    fn check(
        &self,
        file: &Path,
        content: &serde_json::Value,
        origins: &[Origin],
        document_type: &document::DocumentType,
    ) -> Loaded<()> {
        let checked = match document_type {
            document::DocumentType::Command => CommandDocument::from_json(content).map(drop),
            document::DocumentType::Automation => AutomationDocument::from_json(content).map(drop),
            _ => Ok(()),
        };
        checked.map_err(|e| locate(e, file, origins).to_string())
    }
}

impl CommandDocument {
    /// Reads a Command document file (`.yaml`, `.yml` or `.json`), expands its includes
    /// and reads it as typed content, as [`Document::new`] does; a problem names the file,
    /// the step and the line. Use it to read what a document declares (its parameters,
    /// its steps) at synthesis.
    pub fn from_file(file: impl AsRef<Path>) -> std::result::Result<CommandDocument, DocumentError> {
        let file = file.as_ref();
        let (content, origins) = Loader.load(file).map_err(DocumentError::from_problem)?;
        CommandDocument::from_json(&content).map_err(|e| locate(e, file, &origins))
    }
}

impl Document {
    /// Reads `props.file`, expands its includes, and creates the document as construct
    /// `id` under `scope`. A file that cannot be read, parsed or expanded (an include
    /// cycle, a bad include, duplicate step names), or whose content is not a valid typed
    /// document of its type ([`CommandDocument`], [`AutomationDocument`]), is an
    /// [`Error::InvalidProps`] naming the file, the step and the line; nothing is added
    /// to the tree then.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: DocumentProps) -> Result<Document> {
        let scope = scope.into();
        let content = Loader
            .load(&props.file)
            .and_then(|(content, origins)| {
                Loader.check(&props.file, &content, &origins, &props.document_type)?;
                Ok(content)
            })
            .map_err(|problem| Error::InvalidProps {
                path: child_path(app, scope, id),
                problem,
            })?;
        let node = app.construct(scope, id)?;
        let mut d = CfnDocument::new(Value::from_json(&content));
        d.document_type = Some(props.document_type.clone().into());
        if let Some(name) = &props.document_name {
            d.name = Some(name.as_str().into());
            d.update_method = Some(document::UpdateMethod::NewVersion.into());
        }
        d.target_type = props.target_type.as_deref().map(Into::into);
        let resource = app.add(node, "Resource", d)?;
        Ok(Document { node, resource })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnDocument> {
        self.resource
    }

    /// The document's name (`Ref`).
    pub fn document_name(&self) -> Value {
        self.resource.ref_()
    }

    /// `arn:<partition>:ssm:<region>:<account>:document/<name>`, e.g. for granting
    /// `ssm:SendCommand`.
    pub fn document_arn(&self) -> Value {
        format_arn(
            "ssm",
            Value::join("", [Value::from("document/"), self.document_name()]),
        )
    }

    /// Grants `actions` on the document (e.g. `ssm:SendCommand`, `ssm:GetDocument`).
    pub fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        grant(app, grantee, actions, [self.document_arn()])
    }

    /// Records that the document should be shared with these accounts (12-digit ids).
    /// CloudFormation cannot share documents: this writes the accounts to the construct
    /// metadata (`cairn:ssm:share-accounts`) and a warning with the
    /// `aws ssm modify-document-permission` command to run after deploying. An id that is
    /// not 12 digits is an [`Error::InvalidProps`].
    pub fn add_share_accounts(&self, app: &mut App, accounts: &[&str]) -> Result<()> {
        if let Some(bad) = accounts
            .iter()
            .find(|a| a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(app.invalid_props(self.node, format!("{bad:?} is not an AWS account id (12 digits)")));
        }
        let node = app.node_mut(self.node);
        let mut list = match node.metadata_mut().shift_remove(SHARE_ACCOUNTS_METADATA) {
            Some(Value::List(l)) => l,
            _ => Vec::new(),
        };
        for a in accounts {
            let v = Value::from(*a);
            if !list.contains(&v) {
                list.push(v);
            }
        }
        let ids: Vec<String> = list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        node.metadata_mut()
            .insert(SHARE_ACCOUNTS_METADATA.into(), Value::List(list));
        node.annotations_mut()
            .retain(|a| !a.message.starts_with("document sharing is not deployed"));
        node.annotate(
            Level::Warning,
            format!(
                "document sharing is not deployed by CloudFormation (AWS::SSM::Document has no sharing property); after deploying run: aws ssm modify-document-permission --name <document name> --permission-type Share --account-ids-to-add {}",
                ids.join(",")
            ),
        );
        Ok(())
    }
}

impl From<Document> for NodeId {
    fn from(d: Document) -> NodeId {
        d.node
    }
}

construct!(StringParameter, Document);
