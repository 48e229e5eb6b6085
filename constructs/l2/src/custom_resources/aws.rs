//! One AWS API call per lifecycle event (aws-cdk-lib's `AwsCustomResource`).

use std::time::Duration;

use indexmap::IndexMap;

use cairn_core::{App, Construct, NodeId, RemovalPolicy, Result, Value};

use crate::iam::{Grantable, Policy, PolicyProps, PolicyStatement};
use crate::lambda::{Code, Function, FunctionProps, Runtime};

use super::{json_text, CustomResource, CustomResourceProps, CFN_RESPONSE};

/// The handler (`aws_call.py`).
const AWS_CALL: &str = include_str!("aws_call.py");

/// Stands for the resource's physical id in the parameters of an update or delete call
/// (aws-cdk-lib's `PhysicalResourceIdReference`); not allowed on create.
pub const PHYSICAL_RESOURCE_ID: &str = "PHYSICAL:RESOURCEID:";

/// The id of the one handler function per stack all AWS calls share (under the stack, as
/// aws-cdk-lib's singleton: `AWS` and its UUID without dashes).
pub const AWS_HANDLER_ID: &str = "AWS679f53fac002430cb0da5b7982bd2287";

/// The physical id of an [`AwsCustomResource`].
#[derive(Debug, Clone, PartialEq)]
pub enum PhysicalResourceId {
    /// A fixed id.
    Id(Value),
    /// The value at this dotted path of the call's flattened response
    /// (`Parameter.ARN`, `Items.0.Id`).
    FromResponse(String),
}

impl PhysicalResourceId {
    /// A fixed id.
    pub fn of(id: impl Into<Value>) -> Self {
        PhysicalResourceId::Id(id.into())
    }

    /// The value at `path` of the response.
    pub fn from_response(path: &str) -> Self {
        PhysicalResourceId::FromResponse(path.to_string())
    }
}

/// One AWS API call. `service` and `action` are named as in aws-cdk-lib (`SSM` /
/// `putParameter`, or the SDK v3 package and command: `@aws-sdk/client-ssm` /
/// `PutParameterCommand`); cairn's handler makes it with boto3, whose parameter names are
/// the API's, as the JavaScript SDK's are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsSdkCall {
    /// The service.
    pub service: String,
    /// The action.
    pub action: String,
    /// The request (a map; references allowed; [`PHYSICAL_RESOURCE_ID`] for the physical id).
    pub parameters: Option<Value>,
    /// The physical id the call gives the resource; on update and delete by default the
    /// current one.
    pub physical_resource_id: Option<PhysicalResourceId>,
    /// The region to call; the stack's by default.
    pub region: Option<Value>,
    /// A role to assume for the call (the policy then grants `sts:AssumeRole` on it).
    pub assumed_role_arn: Option<Value>,
    /// Keep only these response paths (and what is under them) in `Data` (the CloudFormation
    /// limit on a response is 4 KB).
    pub output_paths: Vec<String>,
    /// Treat errors whose code matches this regular expression as success (no data).
    pub ignore_error_codes_matching: Option<String>,
    /// The API version.
    pub api_version: Option<String>,
    /// Keep the response out of the handler's logs (the CDK's `Logging.withDataHidden()`).
    pub hide_response_data: bool,
}

impl AwsSdkCall {
    /// A call of `action` of `service`, without parameters.
    pub fn new(service: &str, action: &str) -> Self {
        AwsSdkCall {
            service: service.to_string(),
            action: action.to_string(),
            ..AwsSdkCall::default()
        }
    }

    /// The IAM action the call needs (`ssm:PutParameter`).
    pub fn iam_action(&self) -> String {
        let name = service_key(&self.service);
        let prefix = IAM_PREFIXES
            .iter()
            .find(|(k, _)| *k == name)
            .map_or(name.as_str(), |(_, p)| p);
        format!("{prefix}:{}", operation(&name, &self.action))
    }

    /// The call as the handler reads it (JSON text; an `Fn::Join` when it holds references).
    fn render(&self) -> Value {
        let mut m: IndexMap<String, Value> = IndexMap::new();
        m.insert("service".into(), Value::from(self.service.as_str()));
        m.insert("action".into(), Value::from(self.action.as_str()));
        if let Some(p) = &self.parameters {
            m.insert("parameters".into(), p.clone());
        }
        match &self.physical_resource_id {
            Some(PhysicalResourceId::Id(id)) => {
                m.insert("physicalResourceId".into(), Value::map([("id", id.clone())]));
            }
            Some(PhysicalResourceId::FromResponse(path)) => {
                m.insert(
                    "physicalResourceId".into(),
                    Value::map([("responsePath", Value::from(path.as_str()))]),
                );
            }
            None => {}
        }
        if let Some(r) = &self.region {
            m.insert("region".into(), r.clone());
        }
        if let Some(r) = &self.assumed_role_arn {
            m.insert("assumedRoleArn".into(), r.clone());
        }
        if !self.output_paths.is_empty() {
            m.insert(
                "outputPaths".into(),
                Value::list(self.output_paths.iter().map(|p| Value::from(p.as_str()))),
            );
        }
        if let Some(p) = &self.ignore_error_codes_matching {
            m.insert("ignoreErrorCodesMatching".into(), Value::from(p.as_str()));
        }
        if let Some(v) = &self.api_version {
            m.insert("apiVersion".into(), Value::from(v.as_str()));
        }
        if self.hide_response_data {
            m.insert("logApiResponseData".into(), Value::Bool(false));
        }
        json_text(&Value::Map(m))
    }

    fn uses_physical_id(&self) -> bool {
        fn found(v: &Value) -> bool {
            match v {
                Value::String(s) => s == PHYSICAL_RESOURCE_ID,
                Value::List(items) => items.iter().any(found),
                Value::Map(m) => m.values().any(found),
                _ => false,
            }
        }
        self.parameters.as_ref().is_some_and(found)
    }
}

/// The service's name as the SDK v3 package has it, lower-case (`ssm`, `sfn`).
fn service_key(service: &str) -> String {
    let lower = service.to_ascii_lowercase();
    let name = lower.strip_prefix("@aws-sdk/client-").unwrap_or(&lower);
    V2_NAMES
        .iter()
        .find(|(v2, _)| *v2 == name)
        .map_or(name, |(_, v3)| v3)
        .to_string()
}

/// The operation an action names: `putParameter` and `PutParameterCommand` are
/// `PutParameter` (the operations whose own name ends in `Command` kept).
fn operation(service: &str, action: &str) -> String {
    let mut chars = action.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() => format!("{}{}", c.to_ascii_uppercase(), chars.as_str()),
        _ => {
            let own = COMMAND_OPERATIONS
                .iter()
                .any(|(s, op)| *s == service && *op == action);
            match action.strip_suffix("Command") {
                Some(op) if !own && !op.is_empty() => op.to_string(),
                _ => action.to_string(),
            }
        }
    }
}

/// SDK v2 class names (lower-case) whose v3 package is named otherwise.
const V2_NAMES: &[(&str, &str)] = &[
    ("stepfunctions", "sfn"),
    ("cloudwatchlogs", "cloudwatch-logs"),
    ("cloudwatchevents", "cloudwatch-events"),
    ("elbv2", "elastic-load-balancing-v2"),
    ("elb", "elastic-load-balancing"),
    ("apigateway", "api-gateway"),
    ("cognitoidentityserviceprovider", "cognito-identity-provider"),
    ("cognitoidentity", "cognito-identity"),
    ("configservice", "config-service"),
    ("costexplorer", "cost-explorer"),
    ("directoryservice", "directory-service"),
    ("databasemigrationservice", "database-migration-service"),
    ("applicationautoscaling", "application-auto-scaling"),
    ("autoscaling", "auto-scaling"),
    ("resourcegroupstaggingapi", "resource-groups-tagging-api"),
    ("secretsmanager", "secrets-manager"),
    ("iotdata", "iot-data-plane"),
    ("es", "elasticsearch-service"),
];

/// SDK v3 packages whose IAM prefix is not their name.
const IAM_PREFIXES: &[(&str, &str)] = &[
    ("sfn", "states"),
    ("cloudwatch-logs", "logs"),
    ("cloudwatch-events", "events"),
    ("eventbridge", "events"),
    ("elastic-load-balancing-v2", "elasticloadbalancing"),
    ("elastic-load-balancing", "elasticloadbalancing"),
    ("api-gateway", "apigateway"),
    ("apigatewayv2", "apigateway"),
    ("cognito-identity-provider", "cognito-idp"),
    ("config-service", "config"),
    ("cost-explorer", "ce"),
    ("directory-service", "ds"),
    ("database-migration-service", "dms"),
    ("application-auto-scaling", "application-autoscaling"),
    ("auto-scaling", "autoscaling"),
    ("resource-groups-tagging-api", "tag"),
    ("secrets-manager", "secretsmanager"),
    ("iot-data-plane", "iot"),
    ("elasticsearch-service", "es"),
    ("efs", "elasticfilesystem"),
    ("emr", "elasticmapreduce"),
    ("sso-admin", "sso"),
    ("s3-control", "s3"),
    ("sesv2", "ses"),
];

/// Operations whose name ends in `Command`.
const COMMAND_OPERATIONS: &[(&str, &str)] = &[
    ("ecs", "ExecuteCommand"),
    ("iot", "CreateCommand"),
    ("iot", "DeleteCommand"),
    ("iot", "GetCommand"),
    ("iot", "UpdateCommand"),
    ("ssm", "CancelCommand"),
    ("ssm", "SendCommand"),
];

/// What the handler may do for an [`AwsCustomResource`].
#[derive(Debug, Clone, PartialEq)]
pub enum AwsCustomResourcePolicy {
    /// One statement per call: the call's IAM action on these resources (a call with an
    /// assumed role: `sts:AssumeRole` on the role).
    FromSdkCalls {
        /// The resources (ARNs); [`AwsCustomResourcePolicy::any_resource`] for `*`.
        resources: Vec<Value>,
    },
    /// These statements.
    FromStatements(Vec<PolicyStatement>),
}

impl AwsCustomResourcePolicy {
    /// The calls' actions on `resources`.
    pub fn from_sdk_calls(resources: impl IntoIterator<Item = impl Into<Value>>) -> Self {
        AwsCustomResourcePolicy::FromSdkCalls {
            resources: resources.into_iter().map(Into::into).collect(),
        }
    }

    /// `*` (aws-cdk-lib's `ANY_RESOURCE`), for calls whose resources have no ARN.
    pub fn any_resource() -> Vec<Value> {
        vec![Value::from("*")]
    }

    /// These statements.
    pub fn from_statements(statements: impl IntoIterator<Item = PolicyStatement>) -> Self {
        AwsCustomResourcePolicy::FromStatements(statements.into_iter().collect())
    }
}

/// Settings of an [`AwsCustomResource`]. Start from [`AwsCustomResourceProps::new`].
#[derive(Debug, Clone)]
pub struct AwsCustomResourceProps {
    /// The call on Create; by default `on_update`'s.
    pub on_create: Option<AwsSdkCall>,
    /// The call on Update (a change of any call or parameter is an Update).
    pub on_update: Option<AwsSdkCall>,
    /// The call on Delete.
    pub on_delete: Option<AwsSdkCall>,
    /// The handler's permissions.
    pub policy: AwsCustomResourcePolicy,
    /// The resource type. Default: `Custom::AWS`.
    pub resource_type: Option<String>,
    /// How long the handler may run (the stack's one handler takes the first resource's).
    /// Default: 2 minutes.
    pub timeout: Duration,
    /// Default: `Delete` (on stack deletion, the delete call is made).
    pub removal_policy: RemovalPolicy,
    /// Written as `InstallLatestAwsSdk`, as aws-cdk-lib writes it (default true), so a
    /// ported resource is not updated; cairn's handler uses the boto3 of its runtime.
    pub install_latest_aws_sdk: bool,
}

impl AwsCustomResourceProps {
    /// Props with the handler's policy; add the calls with `..`.
    pub fn new(policy: AwsCustomResourcePolicy) -> Self {
        AwsCustomResourceProps {
            on_create: None,
            on_update: None,
            on_delete: None,
            policy,
            resource_type: None,
            timeout: Duration::from_secs(120),
            removal_policy: RemovalPolicy::Delete,
            install_latest_aws_sdk: true,
        }
    }
}

/// A custom resource that makes one AWS API call on Create, Update and Delete (what
/// CloudFormation cannot express: sharing a document, reading a value of another
/// region...). Its `Data` is the call's response flattened to dotted paths
/// ([`AwsCustomResource::get_response_field`]).
///
/// Children (aws-cdk-lib's): `Resource` (a [`CustomResource`], `Custom::AWS`),
/// `CustomResourcePolicy` (the handler's permissions, built from the calls, the resource
/// waits for it); the stack's handler function `AWS679f53fac002430cb0da5b7982bd2287`
/// (with `ServiceRole`) is made by the first one.
///
/// ```
/// use cairn_constructs::custom_resources::{
///     AwsCustomResource, AwsCustomResourcePolicy, AwsCustomResourceProps, AwsSdkCall, PhysicalResourceId,
/// };
/// use cairn_core::{App, Value};
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let get = AwsCustomResource::new(&mut app, stack, "GetParameter", AwsCustomResourceProps {
///     on_update: Some(AwsSdkCall {
///         parameters: Some(Value::map([("Name", Value::from("/shared/vpc-id"))])),
///         physical_resource_id: Some(PhysicalResourceId::from_response("Parameter.ARN")),
///         region: Some("us-east-1".into()),
///         ..AwsSdkCall::new("SSM", "getParameter")
///     }),
///     ..AwsCustomResourceProps::new(AwsCustomResourcePolicy::from_sdk_calls(
///         ["arn:aws:ssm:us-east-1:123456789012:parameter/shared/vpc-id"]))
/// })?;
/// let vpc_id = get.get_response_field("Parameter.Value");
///
/// let asm = app.synth()?;
/// let t = &asm.stack("S").unwrap().template["Resources"];
/// assert_eq!(t["GetParameter42B0A00E"]["Type"], "Custom::AWS");
/// assert_eq!(t["GetParameterCustomResourcePolicyD8E5D455"]["Properties"]["PolicyDocument"]
///     ["Statement"][0]["Action"], "ssm:GetParameter");
/// # let _ = vpc_id;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AwsCustomResource {
    node: NodeId,
    resource: CustomResource,
    policy: Policy,
}

impl PartialEq for AwsCustomResource {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

construct!(AwsCustomResource);
node_from!(AwsCustomResource);

impl Grantable for AwsCustomResource {
    /// Grants go to the resource's `CustomResourcePolicy` (on the handler's role).
    fn add_to_principal_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        self.policy.add_to_principal_policy(app, statement)
    }
}

impl AwsCustomResource {
    /// Creates the resource as construct `id` under `scope` (and the stack's handler
    /// function, if it has none yet).
    ///
    /// Errors: no call; a create call (or an update call standing in for it) without a
    /// physical id; [`PHYSICAL_RESOURCE_ID`] in the create call.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: AwsCustomResourceProps,
    ) -> Result<AwsCustomResource> {
        let node = app.construct(scope, id)?;
        let mut problems = Vec::new();
        if props.on_create.is_none() && props.on_update.is_none() && props.on_delete.is_none() {
            problems.push("at least one of on_create, on_update or on_delete must be given".to_string());
        }
        match (&props.on_create, &props.on_update) {
            (Some(c), _) if c.physical_resource_id.is_none() => {
                problems.push("on_create needs a physical_resource_id".to_string());
            }
            (None, Some(u)) if u.physical_resource_id.is_none() => problems.push(
                "on_update needs a physical_resource_id when on_create is not given (it is the create call)"
                    .to_string(),
            ),
            _ => {}
        }
        let create = props.on_create.as_ref().or(props.on_update.as_ref());
        if create.is_some_and(AwsSdkCall::uses_physical_id) {
            problems.push(format!(
                "the create call's parameters use {PHYSICAL_RESOURCE_ID}, but there is no physical id before \
                 the resource is created; use it in on_update and on_delete only"
            ));
        }
        crate::check_props(app, node, problems)?;

        let (handler_arn, handler_role_name) = handler(app, node, props.timeout)?;
        let mut properties = IndexMap::new();
        for (name, call) in [
            ("Create", create),
            ("Update", props.on_update.as_ref()),
            ("Delete", props.on_delete.as_ref()),
        ] {
            if let Some(call) = call {
                properties.insert(name.to_string(), call.render());
            }
        }
        properties.insert(
            "InstallLatestAwsSdk".to_string(),
            Value::Bool(props.install_latest_aws_sdk),
        );
        let resource = CustomResource::new(
            app,
            node,
            "Resource",
            CustomResourceProps {
                resource_type: Some(
                    props
                        .resource_type
                        .clone()
                        .unwrap_or_else(|| "Custom::AWS".into()),
                ),
                properties,
                removal_policy: props.removal_policy,
                ..CustomResourceProps::new(handler_arn)
            },
        )?;
        let statements = match &props.policy {
            AwsCustomResourcePolicy::FromStatements(s) => s.clone(),
            AwsCustomResourcePolicy::FromSdkCalls { resources } => {
                [&props.on_create, &props.on_update, &props.on_delete]
                    .into_iter()
                    .flatten()
                    .map(|call| match &call.assumed_role_arn {
                        Some(role) => PolicyStatement::allow()
                            .actions(["sts:AssumeRole"])
                            .resources([role.clone()]),
                        None => PolicyStatement::allow()
                            .actions([call.iam_action()])
                            .resources(resources.iter().cloned()),
                    })
                    .collect()
            }
        };
        let policy = Policy::new(
            app,
            node,
            "CustomResourcePolicy",
            PolicyProps {
                statements,
                ..PolicyProps::default()
            },
        )?;
        policy.attach_to_role_named(app, handler_role_name)?;
        app.resource_options_mut(resource.resource())?
            .depends_on
            .push(policy.node());
        Ok(AwsCustomResource {
            node,
            resource,
            policy,
        })
    }

    /// The custom resource.
    pub fn custom_resource(&self) -> CustomResource {
        self.resource
    }

    /// The handler's policy of this resource (`CustomResourcePolicy`).
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// A value of the response at a dotted path (`Parameter.Value`, `Items.0.Id`), as
    /// `Fn::GetAtt` (aws-cdk-lib's `getResponseField`).
    pub fn get_response_field(&self, path: &str) -> Value {
        self.resource.get_att(path)
    }

    /// The physical id (`Ref`).
    pub fn ref_(&self) -> Value {
        self.resource.ref_()
    }
}

/// The stack's handler function (made on first use, under the stack): its ARN and its
/// role's name.
fn handler(app: &mut App, scope: NodeId, timeout: Duration) -> Result<(Value, Value)> {
    let Some(stack) = app.stack_of(scope) else {
        return Err(app.invalid_props(scope, "an AWS custom resource must be inside a stack"));
    };
    let existing = app.node(stack.node()).child(AWS_HANDLER_ID);
    let (function, role) = match existing {
        Some(f) => {
            let function = app.node(f).child("Resource");
            let role = app
                .node(f)
                .child("ServiceRole")
                .and_then(|r| app.node(r).child("Resource"));
            match (function, role) {
                (Some(function), Some(role)) => (function, role),
                _ => {
                    return Err(app.invalid_props(
                        f,
                        format!("the id {AWS_HANDLER_ID} under the stack is reserved for the AWS custom resource handler"),
                    ))
                }
            }
        }
        None => {
            let f = new_handler(app, stack.node(), timeout)?;
            let role_resource = app
                .node(f.role().node())
                .child("Resource")
                .unwrap_or_else(|| f.role().node());
            (f.resource().node(), role_resource)
        }
    };
    Ok((Value::get_att(function, "Arn"), Value::reference(role)))
}

fn new_handler(app: &mut App, stack: NodeId, timeout: Duration) -> Result<Function> {
    Function::new(
        app,
        stack,
        AWS_HANDLER_ID,
        FunctionProps {
            timeout: Some(timeout),
            ..FunctionProps::new(
                Runtime::Python3_13,
                "index.handler",
                Code::Inline(format!("{CFN_RESPONSE}\n{AWS_CALL}")),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_actions_follow_the_services_prefixes() {
        assert_eq!(
            AwsSdkCall::new("SSM", "putParameter").iam_action(),
            "ssm:PutParameter"
        );
        assert_eq!(
            AwsSdkCall::new("@aws-sdk/client-ssm", "ModifyDocumentPermissionCommand").iam_action(),
            "ssm:ModifyDocumentPermission"
        );
        assert_eq!(
            AwsSdkCall::new("SSM", "SendCommand").iam_action(),
            "ssm:SendCommand"
        );
        assert_eq!(
            AwsSdkCall::new("StepFunctions", "startExecution").iam_action(),
            "states:StartExecution"
        );
        assert_eq!(
            AwsSdkCall::new("CloudWatchLogs", "putRetentionPolicy").iam_action(),
            "logs:PutRetentionPolicy"
        );
        assert_eq!(AwsSdkCall::new("S3", "putObject").iam_action(), "s3:PutObject");
    }
}
