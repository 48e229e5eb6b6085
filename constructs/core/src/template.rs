//! Template sections other than resources: parameters, outputs, mappings, conditions,
//! rules, and the stack-level settings (description, transforms, metadata).

use indexmap::IndexMap;

use crate::id::ConditionRef;
use crate::value::Value;

/// The type of a template parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterType {
    /// `String`
    String,
    /// `Number`
    Number,
    /// `List<Number>`
    NumberList,
    /// `CommaDelimitedList`
    CommaDelimitedList,
    /// An AWS-specific type such as `AWS::EC2::KeyPair::KeyName` or `List<AWS::EC2::Subnet::Id>`.
    AwsSpecific(String),
    /// `AWS::SSM::Parameter::Value<T>`: the value of an SSM parameter whose name is the
    /// parameter's value, e.g. `SsmValue("AWS::EC2::Image::Id")`.
    SsmValue(String),
    /// `AWS::SSM::Parameter::Name`
    SsmName,
}

impl ParameterType {
    /// The CloudFormation spelling.
    pub fn type_name(&self) -> String {
        match self {
            ParameterType::String => "String".into(),
            ParameterType::Number => "Number".into(),
            ParameterType::NumberList => "List<Number>".into(),
            ParameterType::CommaDelimitedList => "CommaDelimitedList".into(),
            ParameterType::AwsSpecific(t) => t.clone(),
            ParameterType::SsmValue(t) => format!("AWS::SSM::Parameter::Value<{t}>"),
            ParameterType::SsmName => "AWS::SSM::Parameter::Name".into(),
        }
    }
}

/// A template parameter with its constraints.
///
/// ```
/// use cairn_core::{Parameter, Value};
/// let version = Parameter::string()
///     .default_value("1")
///     .description("Release version")
///     .allowed_pattern("^[0-9]+$");
/// let ami = Parameter::ssm_value("AWS::EC2::Image::Id").default_value("/ec2-imagebuilder/latest");
/// # let _ = (version, ami);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The parameter type.
    pub parameter_type: ParameterType,
    /// `Default`
    pub default: Option<Value>,
    /// `Description`
    pub description: Option<String>,
    /// `AllowedValues`
    pub allowed_values: Vec<Value>,
    /// `AllowedPattern`
    pub allowed_pattern: Option<String>,
    /// `ConstraintDescription`
    pub constraint_description: Option<String>,
    /// `MinLength`
    pub min_length: Option<i64>,
    /// `MaxLength`
    pub max_length: Option<i64>,
    /// `MinValue`
    pub min_value: Option<f64>,
    /// `MaxValue`
    pub max_value: Option<f64>,
    /// `NoEcho`
    pub no_echo: bool,
}

impl Parameter {
    /// A parameter of the given type with no constraints.
    pub fn new(parameter_type: ParameterType) -> Self {
        Parameter {
            parameter_type,
            default: None,
            description: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            constraint_description: None,
            min_length: None,
            max_length: None,
            min_value: None,
            max_value: None,
            no_echo: false,
        }
    }

    /// A `String` parameter.
    pub fn string() -> Self {
        Self::new(ParameterType::String)
    }

    /// A `Number` parameter.
    pub fn number() -> Self {
        Self::new(ParameterType::Number)
    }

    /// An `AWS::SSM::Parameter::Value<T>` parameter.
    pub fn ssm_value(inner_type: &str) -> Self {
        Self::new(ParameterType::SsmValue(inner_type.to_string()))
    }

    /// Sets `Default`.
    pub fn default_value(mut self, v: impl Into<Value>) -> Self {
        self.default = Some(v.into());
        self
    }

    /// Sets `Description`.
    pub fn description(mut self, d: &str) -> Self {
        self.description = Some(d.to_string());
        self
    }

    /// Sets `AllowedValues`.
    pub fn allowed_values<V: Into<Value>>(mut self, values: impl IntoIterator<Item = V>) -> Self {
        self.allowed_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `AllowedPattern`.
    pub fn allowed_pattern(mut self, p: &str) -> Self {
        self.allowed_pattern = Some(p.to_string());
        self
    }

    /// Sets `ConstraintDescription`.
    pub fn constraint_description(mut self, d: &str) -> Self {
        self.constraint_description = Some(d.to_string());
        self
    }

    /// Sets `MinLength` and `MaxLength`.
    pub fn length(mut self, min: i64, max: i64) -> Self {
        self.min_length = Some(min);
        self.max_length = Some(max);
        self
    }

    /// Sets `MinValue` and `MaxValue`.
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min_value = Some(min);
        self.max_value = Some(max);
        self
    }

    /// Sets `NoEcho`.
    pub fn no_echo(mut self) -> Self {
        self.no_echo = true;
        self
    }
}

/// A stack output, optionally exported for other stacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// `Value`
    pub value: Value,
    /// `Description`
    pub description: Option<String>,
    /// `Export.Name`
    pub export_name: Option<Value>,
    /// `Condition`
    pub condition: Option<ConditionRef>,
}

impl Output {
    /// An output of a value.
    pub fn new(value: impl Into<Value>) -> Self {
        Output {
            value: value.into(),
            description: None,
            export_name: None,
            condition: None,
        }
    }

    /// Sets `Description`.
    pub fn description(mut self, d: &str) -> Self {
        self.description = Some(d.to_string());
        self
    }

    /// Exports the output under a name.
    pub fn export(mut self, name: impl Into<Value>) -> Self {
        self.export_name = Some(name.into());
        self
    }
}

/// A `Mappings` entry: top-level key -> second-level key -> value.
pub type Mapping = IndexMap<String, IndexMap<String, Value>>;

/// The account and region a stack deploys to. `None` means "decided at deploy time".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Environment {
    /// The AWS account id.
    pub account: Option<String>,
    /// The AWS region.
    pub region: Option<String>,
}

impl Environment {
    /// A concrete environment.
    pub fn new(account: &str, region: &str) -> Self {
        Environment {
            account: Some(account.to_string()),
            region: Some(region.to_string()),
        }
    }

    /// The cloud assembly's spelling: `aws://ACCOUNT/REGION` with `unknown-*` placeholders.
    pub fn uri(&self) -> String {
        format!(
            "aws://{}/{}",
            self.account.as_deref().unwrap_or("unknown-account"),
            self.region.as_deref().unwrap_or("unknown-region")
        )
    }
}

/// Settings of a stack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackProps {
    /// The CloudFormation stack name; by default derived from the construct path.
    pub stack_name: Option<String>,
    /// Where the stack deploys; by default the stage's environment, or agnostic.
    pub env: Option<Environment>,
    /// Template `Description`.
    pub description: Option<String>,
    /// Template `Transform`s (e.g. `AWS::Serverless-2016-10-31`).
    pub transforms: Vec<String>,
    /// Template-level `Metadata`.
    pub metadata: IndexMap<String, Value>,
    /// Stack-level tags, applied by CloudFormation to every resource that supports them.
    pub tags: IndexMap<String, String>,
    /// Whether termination protection is enabled.
    pub termination_protection: bool,
    /// The qualifier of the bootstrap stack the stack deploys through (`cdk bootstrap
    /// --qualifier`, `cairn bootstrap --qualifier`): it names the assets bucket and the
    /// roles the manifest points at; by default the CDK's `hnb659fds`
    /// ([`crate::DEFAULT_QUALIFIER`]). Up to 10 letters, digits, `-` and `_`.
    pub bootstrap_qualifier: Option<String>,
}
