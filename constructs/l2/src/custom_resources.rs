//! Custom resources, as aws-cdk-lib has them: a [`CustomResource`] (`Custom::<Type>` or
//! `AWS::CloudFormation::CustomResource`) backed by a Lambda function, a [`Provider`] (the
//! provider framework: an on-event function, an optional is-complete function polled by a
//! waiter state machine at a query interval until a total timeout) and an
//! [`AwsCustomResource`] (one AWS API call on create, update and delete, with a policy
//! built from the calls).
//!
//! Construct ids are aws-cdk-lib's, so a ported stack keeps its logical IDs: the resource
//! is `<id>/Default` (`Widget`), the provider's functions `<id>/framework-onEvent`,
//! `framework-isComplete`, `framework-onTimeout` and its state machine
//! `<id>/waiter-state-machine`; an AWS call is `<id>/Resource/Default` with the policy
//! `<id>/CustomResourcePolicy` and the stack's one handler function
//! `AWS679f53fac002430cb0da5b7982bd2287`.
//!
//! The functions run cairn's own Python handlers (the CDK's run on Node.js): they answer
//! CloudFormation's pre-signed `ResponseURL` with the physical id and `Data` the user's
//! functions return (`NoEcho` respected), report a failure with its reason, and answer the
//! Delete of a resource whose Create failed without calling the user's function.
//!
//! ```
//! use std::time::Duration;
//! use cairn_constructs::custom_resources::{CustomResource, CustomResourceProps, Provider, ProviderProps};
//! use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
//! use cairn_core::{App, Value};
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let on_event = Function::new(&mut app, stack, "OnEvent", FunctionProps::new(
//!     Runtime::Python3_13, "index.handler",
//!     Code::inline("def handler(event, context):\n    return {'Data': {'Name': 'widget'}}\n")))?;
//! let provider = Provider::new(&mut app, stack, "Provider", ProviderProps::new(on_event))?;
//! let widget = CustomResource::new(&mut app, stack, "Widget", CustomResourceProps {
//!     resource_type: Some("Custom::Widget".into()),
//!     properties: [("Size".to_string(), Value::from(3))].into_iter().collect(),
//!     ..CustomResourceProps::new(provider.service_token())
//! })?;
//! let name = widget.get_att("Name");
//!
//! let asm = app.synth()?;
//! let t = &asm.stack("S").unwrap().template["Resources"];
//! assert_eq!(t["Widget"]["Type"], "Custom::Widget");
//! assert_eq!(t["Widget"]["DeletionPolicy"], "Delete");
//! assert_eq!(t["Widget"]["Properties"]["ServiceToken"]["Fn::GetAtt"][0], "ProviderframeworkonEvent83C1D0A7");
//! # let _ = name;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use indexmap::IndexMap;

use cairn_core::{App, CfnResource, Intrinsic, NodeId, RemovalPolicy, Res, Result, Value};

mod aws;
mod provider;

pub use aws::{
    AwsCustomResource, AwsCustomResourcePolicy, AwsCustomResourceProps, AwsSdkCall, PhysicalResourceId,
    AWS_HANDLER_ID, PHYSICAL_RESOURCE_ID,
};
pub use provider::{Provider, ProviderProps};

/// The runtime every handler here shares: answering CloudFormation (`cfn_response.py`).
const CFN_RESPONSE: &str = include_str!("custom_resources/cfn_response.py");

/// Settings of a [`CustomResource`]. Start from [`CustomResourceProps::new`].
#[derive(Debug, Clone)]
pub struct CustomResourceProps {
    /// The function (or SNS topic) CloudFormation sends the requests to:
    /// [`Provider::service_token`] or any Lambda function's ARN.
    pub service_token: Value,
    /// `Custom::<Name>` (letters, digits, `_`, `@`, `-`; at most 60 characters); by
    /// default `AWS::CloudFormation::CustomResource`, as in the CDK.
    pub resource_type: Option<String>,
    /// The properties the provider receives (`ResourceProperties`); a change is an Update.
    pub properties: IndexMap<String, Value>,
    /// What happens to the resource when it leaves the stack. Default: `Delete` (the CDK's
    /// default: CloudFormation sends the provider a Delete request; with `Retain` it sends
    /// none, so whatever the provider made stays).
    pub removal_policy: RemovalPolicy,
    /// How long CloudFormation waits for the provider's answer (`ServiceTimeout`, whole
    /// seconds, 1 s to 1 hour); CloudFormation's default (one hour) when `None`.
    pub service_timeout: Option<Duration>,
}

impl CustomResourceProps {
    /// Props for a resource served by `service_token`; everything else default.
    pub fn new(service_token: impl Into<Value>) -> Self {
        CustomResourceProps {
            service_token: service_token.into(),
            resource_type: None,
            properties: IndexMap::new(),
            removal_policy: RemovalPolicy::Delete,
            service_timeout: None,
        }
    }
}

/// A custom resource: CloudFormation sends its Create, Update and Delete requests to the
/// service token and reads the answer's physical id ([`CustomResource::ref_`]) and
/// `Data` ([`CustomResource::get_att`]). The L1 is the child `Default`, so the logical ID
/// of a resource at the stack's top level is its id, as in the CDK.
#[derive(Debug, Clone, Copy)]
pub struct CustomResource {
    node: NodeId,
    resource: Res<CfnResource>,
}

impl PartialEq for CustomResource {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

construct!(CustomResource);
node_from!(CustomResource);

impl CustomResource {
    /// Creates the resource as construct `id` under `scope`.
    ///
    /// Errors: a resource type that is not `Custom::<Name>` (or
    /// `AWS::CloudFormation::CustomResource`), a `ServiceToken` among the properties, a
    /// service timeout out of range.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: CustomResourceProps,
    ) -> Result<CustomResource> {
        let node = app.construct(scope, id)?;
        let mut problems = Vec::new();
        let resource_type = props
            .resource_type
            .clone()
            .unwrap_or_else(|| "AWS::CloudFormation::CustomResource".to_string());
        if let Some(problem) = resource_type_problem(&resource_type) {
            problems.push(problem);
        }
        if props.properties.contains_key("ServiceToken") {
            problems.push("properties must not hold ServiceToken; set service_token".to_string());
        }
        if let Some(t) = props.service_timeout {
            if t.subsec_nanos() != 0 || !(1..=3600).contains(&t.as_secs()) {
                problems.push(format!(
                    "service_timeout {t:?} must be whole seconds between 1 s and 3600 s"
                ));
            }
        }
        crate::check_props(app, node, problems)?;
        let mut invoked = Vec::new();
        props.service_token.referenced_nodes(&mut invoked);
        let mut l1 = CfnResource::new(&resource_type).with("ServiceToken", props.service_token);
        if let Some(t) = props.service_timeout {
            l1 = l1.with("ServiceTimeout", Value::from(t.as_secs() as i64));
        }
        for (k, v) in props.properties {
            l1 = l1.with(&k, v);
        }
        let resource = app.add(node, "Default", l1)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        for target in invoked {
            if let Some(log_group) = function_log_group(app, target) {
                app.resource_options_mut(resource)?.depends_on.push(log_group);
            }
        }
        Ok(CustomResource { node, resource })
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnResource> {
        self.resource
    }

    /// The physical id the provider answered with (`Ref`).
    pub fn ref_(&self) -> Value {
        self.resource.ref_()
    }

    /// A value of the provider's answer's `Data` (`Fn::GetAtt`); CloudFormation fails the
    /// deployment when the provider returned no such key.
    pub fn get_att(&self, name: &str) -> Value {
        self.resource.get_att(name)
    }
}

/// The log group of the function whose L1 is `target` (a [`crate::lambda::Function`] with
/// `log_retention`), if it is one. What invokes the function while the stack deploys
/// waits for it: Lambda creates `/aws/lambda/<name>` at the first invocation, and the log
/// group resource would then fail as already existing.
pub(crate) fn function_log_group(app: &App, target: NodeId) -> Option<NodeId> {
    let node = app.try_node(target).ok()?;
    if node.resource_type() != Some("AWS::Lambda::Function") {
        return None;
    }
    app.node(node.parent()?).child("LogGroup")
}

/// Why `ty` is not a custom resource type, if it is not.
fn resource_type_problem(ty: &str) -> Option<String> {
    if ty == "AWS::CloudFormation::CustomResource" {
        return None;
    }
    let Some(name) = ty.strip_prefix("Custom::") else {
        return Some(format!(
            "resource type {ty:?} must start with Custom:: (or be AWS::CloudFormation::CustomResource)"
        ));
    };
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '-'));
    if !ok {
        return Some(format!(
            "resource type {ty:?}: after Custom:: only letters, digits, _, @ and - are allowed"
        ));
    }
    if ty.len() > 60 {
        return Some(format!("resource type {ty:?} is longer than 60 characters"));
    }
    None
}

/// `value` written as JSON text (no spaces, keys in order), as aws-cdk-lib's
/// `Stack.toJsonString` writes it: a plain string when it holds no reference, else an
/// `Fn::Join` whose references stand, quoted, where their strings go (a string joined from
/// text and references, e.g. JSON text made by this function, is escaped as one string).
///
/// ```
/// use cairn_constructs::custom_resources::json_text;
/// use cairn_core::{Pseudo, Value};
///
/// let doc = Value::map([("a", Value::from(1)), ("region", Value::pseudo(Pseudo::Region))]);
/// let text = json_text(&doc);
/// let outer = json_text(&Value::map([("inner", text)]));
/// assert_eq!(
///     outer,
///     Value::join("", [
///         Value::from(r#"{"inner":"{\"a\":1,\"region\":\""#),
///         Value::pseudo(Pseudo::Region),
///         Value::from(r#"\"}"}"#),
///     ])
/// );
/// ```
pub fn json_text(value: &Value) -> Value {
    let mut parts = Vec::new();
    let mut text = String::new();
    write_json(value, &mut text, &mut parts);
    if parts.is_empty() {
        return Value::from(text);
    }
    if !text.is_empty() {
        parts.push(Value::from(text));
    }
    Value::join("", parts)
}

fn write_json(value: &Value, text: &mut String, parts: &mut Vec<Value>) {
    let literal = |v: &serde_json::Value| serde_json::to_string(v).unwrap_or_default();
    match value {
        Value::Null => text.push_str("null"),
        Value::Bool(b) => text.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => text.push_str(&i.to_string()),
        Value::Float(f) => text.push_str(&literal(&serde_json::json!(f))),
        Value::String(s) => text.push_str(&literal(&serde_json::Value::String(s.clone()))),
        Value::List(items) => {
            text.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                write_json(item, text, parts);
            }
            text.push(']');
        }
        Value::Map(entries) => {
            text.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&literal(&serde_json::Value::String(k.clone())));
                text.push(':');
                write_json(v, text, parts);
            }
            text.push('}');
        }
        Value::Intrinsic(_) => {
            text.push('"');
            write_string_parts(value, text, parts);
            text.push('"');
        }
    }
}

/// The content of a JSON string made of `value`: the literal text of a (nested) `Fn::Join`
/// with no delimiter is escaped as JSON, its references stand where their strings go (they
/// are names, ARNs and URIs, which need no escaping).
fn write_string_parts(value: &Value, text: &mut String, parts: &mut Vec<Value>) {
    match value {
        Value::String(s) => {
            let quoted = serde_json::to_string(&serde_json::Value::String(s.clone())).unwrap_or_default();
            text.push_str(&quoted[1..quoted.len() - 1]);
        }
        Value::Intrinsic(i) => match &**i {
            Intrinsic::Join(delimiter, Value::List(items)) if delimiter.is_empty() => {
                for item in items {
                    write_string_parts(item, text, parts);
                }
            }
            _ => {
                parts.push(Value::from(std::mem::take(text)));
                parts.push(value.clone());
            }
        },
        other => write_json(other, text, parts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_is_a_string_without_references_and_a_join_with_them() {
        let plain = Value::map([
            ("a", Value::from(1)),
            ("b", Value::list([Value::from("x"), Value::Bool(true)])),
        ]);
        assert_eq!(json_text(&plain), Value::from(r#"{"a":1,"b":["x",true]}"#));
        let arn = Value::pseudo(cairn_core::Pseudo::AccountId);
        let with_ref = Value::map([("Name", Value::from("d\"q")), ("Account", arn.clone())]);
        assert_eq!(
            json_text(&with_ref),
            Value::join(
                "",
                [
                    Value::from(r#"{"Name":"d\"q","Account":""#),
                    arn,
                    Value::from(r#""}"#)
                ]
            )
        );
        // A string joined from text and references: the text is escaped, the join flattened.
        let image = Value::get_att(cairn_core::Target::logical_id("Repo"), "RepositoryUri");
        let nested = Value::map([(
            "yaml",
            Value::join(
                "",
                [
                    Value::from("a: \"b\"\nimage: "),
                    image.clone(),
                    Value::from(":v1"),
                ],
            ),
        )]);
        assert_eq!(
            json_text(&nested),
            Value::join(
                "",
                [
                    Value::from(r#"{"yaml":"a: \"b\"\nimage: "#),
                    image,
                    Value::from(r#":v1"}"#)
                ]
            )
        );
    }

    #[test]
    fn resource_types_are_checked() {
        assert!(resource_type_problem("Custom::Widget").is_none());
        assert!(resource_type_problem("AWS::CloudFormation::CustomResource").is_none());
        assert!(resource_type_problem("AWS::S3::Bucket").is_some());
        assert!(resource_type_problem("Custom::a b").is_some());
        assert!(resource_type_problem("Custom::").is_some());
        assert!(resource_type_problem(&format!("Custom::{}", "x".repeat(60))).is_some());
    }
}
