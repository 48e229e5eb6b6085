//! Lambda: functions with their execution role, code from a local directory (a file
//! asset), inline or from S3, a log group with retention encrypted with the stack's log
//! key, grants, and event sources (schedules, SNS, S3, DynamoDB streams, SQS).
//!
//! ```
//! use std::time::Duration;
//! use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
//! use cairn_constructs::events::Schedule;
//! use cairn_core::{App, Value};
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Api")?;
//! let f = Function::new(&mut app, stack, "Handler", FunctionProps {
//!     timeout: Some(Duration::from_secs(30)),
//!     memory_size: Some(512),
//!     ..FunctionProps::new(Runtime::Python3_13, "index.handler",
//!         Code::inline("def handler(event, context):\n    return {'ok': True}\n"))
//! })?;
//! f.add_environment(&mut app, "STAGE", Value::from("prod"))?;
//! f.add_event_source(&mut app, Schedule::minutes(5))?;
//!
//! let asm = app.synth()?;
//! let t = &asm.stack("Api").unwrap().template["Resources"];
//! let props = &t["Handler886CB40B"]["Properties"];
//! assert_eq!(props["Runtime"], "python3.13");
//! assert_eq!(props["Timeout"], 30);
//! assert_eq!(props["Environment"]["Variables"]["STAGE"], "prod");
//! assert_eq!(props["Role"]["Fn::GetAtt"][0], "HandlerServiceRoleFCDC14AE");
//! # Ok(())
//! # }
//! ```

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;

use cairn_core::{App, AssetSource, Construct, FileAsset, NodeId, Pseudo, Res, Result, Val, Value};

use crate::events::{Rule, RuleProps, RuleTarget, Schedule, TargetConfig};
use crate::iam::{self, AnyRole, Grantable, Principal, Role, RoleProps};
use crate::logs::{LogGroup, LogGroupProps, RetentionDays};
use crate::sqs::QueueRef;
use crate::{dynamodb, s3, sns, sqs};

mod existing;
mod layer;

pub use existing::{FunctionAttributes, FunctionRef, ImportedFunction};
pub use layer::{LayerVersion, LayerVersionProps};

/// A list of strings for an L1 property.
fn string_list(values: &[Value]) -> Val<Vec<Val<String>>> {
    values.iter().cloned().map(Into::into).collect::<Vec<_>>().into()
}

pub use cairn_cfn::lambda::*;

/// The language runtime of a function (the CloudFormation `Runtime` value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Runtime {
    /// `python3.11`
    Python3_11,
    /// `python3.12`
    Python3_12,
    /// `python3.13`
    Python3_13,
    /// `nodejs18.x`
    Nodejs18x,
    /// `nodejs20.x`
    Nodejs20x,
    /// `nodejs22.x`
    Nodejs22x,
    /// `java17`
    Java17,
    /// `java21`
    Java21,
    /// `dotnet8`
    Dotnet8,
    /// `ruby3.3`
    Ruby3_3,
    /// `provided.al2023` (custom runtimes, e.g. Rust or Go: an executable `bootstrap`).
    ProvidedAl2023,
    /// `provided.al2`
    ProvidedAl2,
    /// Any other runtime name.
    Other(String),
}

impl Runtime {
    /// The CloudFormation value.
    pub fn as_str(&self) -> &str {
        match self {
            Runtime::Python3_11 => "python3.11",
            Runtime::Python3_12 => "python3.12",
            Runtime::Python3_13 => "python3.13",
            Runtime::Nodejs18x => "nodejs18.x",
            Runtime::Nodejs20x => "nodejs20.x",
            Runtime::Nodejs22x => "nodejs22.x",
            Runtime::Java17 => "java17",
            Runtime::Java21 => "java21",
            Runtime::Dotnet8 => "dotnet8",
            Runtime::Ruby3_3 => "ruby3.3",
            Runtime::ProvidedAl2023 => "provided.al2023",
            Runtime::ProvidedAl2 => "provided.al2",
            Runtime::Other(s) => s,
        }
    }

    /// Whether CloudFormation accepts inline code (`ZipFile`) for the runtime.
    pub fn supports_inline(&self) -> bool {
        self.as_str().starts_with("python") || self.as_str().starts_with("nodejs")
    }
}

/// The instruction set of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Architecture {
    /// `x86_64` (Lambda's default).
    #[default]
    X86_64,
    /// `arm64` (Graviton).
    Arm64,
}

impl Architecture {
    /// The CloudFormation value.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Code {
    /// A local directory (zipped at synthesis) or a `.zip`/`.jar` file, uploaded as a
    /// file asset to the bootstrap bucket at deploy.
    Asset(PathBuf),
    /// A local file or directory as [`Code::Asset`], its object named by the SHA-256 of
    /// `asset_hash` instead of its content's (aws-cdk-lib's `assetHash`): the key a CDK app
    /// wrote for the same asset, e.g. a Lambda layer's, whose `Content` is create-only.
    HashedAsset {
        /// The file or directory.
        path: PathBuf,
        /// The hash chosen in place of the content's.
        asset_hash: String,
    },
    /// Source code inline in the template (Python and Node.js; at most 4 MB; the handler
    /// must be `index.<function>`).
    Inline(String),
    /// An object already in S3.
    Bucket {
        /// The bucket name.
        bucket: Value,
        /// The object key.
        key: Value,
    },
}

impl Code {
    /// Code from a local directory, or a `.zip`/`.jar` file.
    pub fn from_asset(path: impl Into<PathBuf>) -> Self {
        Code::Asset(path.into())
    }

    /// Code from a local directory or file, named by `asset_hash` (see [`Code::HashedAsset`]).
    pub fn from_asset_with_hash(path: impl Into<PathBuf>, asset_hash: impl Into<String>) -> Self {
        Code::HashedAsset {
            path: path.into(),
            asset_hash: asset_hash.into(),
        }
    }

    /// Inline source code.
    pub fn inline(source: &str) -> Self {
        Code::Inline(source.to_string())
    }

    /// The bucket and key of code that is not inline: an asset is added to the app for
    /// the construct `node`. Inline code is an error naming `node`.
    pub(crate) fn s3_location(&self, app: &mut App, node: NodeId) -> Result<(Value, Value)> {
        let (path, asset_hash) = match self {
            Code::Asset(path) => (path, None),
            Code::HashedAsset { path, asset_hash } => (path, Some(asset_hash.clone())),
            Code::Bucket { bucket, key } => return Ok((bucket.clone(), key.clone())),
            Code::Inline(_) => {
                return Err(app.invalid_props(node, "inline code has no S3 location; use Code::from_asset"))
            }
        };
        let source = if path.is_file() {
            AssetSource::File(path.clone())
        } else {
            AssetSource::Directory(path.clone())
        };
        let loc = app.add_file_asset(node, FileAsset { source, asset_hash })?;
        Ok((loc.bucket, loc.key))
    }

    /// An object in S3.
    pub fn from_bucket(bucket: impl Into<Value>, key: impl Into<Value>) -> Self {
        Code::Bucket {
            bucket: bucket.into(),
            key: key.into(),
        }
    }
}

/// Settings of a [`Function`]. Start from [`FunctionProps::new`].
#[derive(Debug, Clone)]
pub struct FunctionProps {
    /// The runtime.
    pub runtime: Runtime,
    /// The handler, e.g. `index.handler` (for `provided.*` runtimes any name, usually `bootstrap`).
    pub handler: String,
    /// The code.
    pub code: Code,
    /// Environment variables.
    pub environment: IndexMap<String, Value>,
    /// How long an invocation may run: whole seconds, 1 s to 15 min; Lambda's default (3 s) when `None`.
    pub timeout: Option<Duration>,
    /// Memory in MB, 128 to 10240; Lambda's default (128) when `None`.
    pub memory_size: Option<u32>,
    /// `Description`
    pub description: Option<String>,
    /// A physical name; generated by CloudFormation when `None` (recommended).
    pub function_name: Option<String>,
    /// Reserved concurrent executions.
    pub reserved_concurrency: Option<u32>,
    /// The instruction set.
    pub architecture: Architecture,
    /// How long to keep the function's logs: a [`LogGroup`] `/aws/lambda/<function name>`
    /// (child `LogGroup`) is created with this retention, encrypted with the stack's log
    /// group key ([`crate::logs::stack_log_group_key`], the one the recommended rules use)
    /// and retained on deletion. `None` leaves the log group to Lambda (created on first
    /// use, unencrypted, kept forever). Default: two years.
    pub log_retention: Option<RetentionDays>,
    /// The execution role; by default one is created (assumed by `lambda.amazonaws.com`,
    /// with `service-role/AWSLambdaBasicExecutionRole`).
    /// A role of this app or an existing one (`Some(role.into())`; the CDK's `role?:
    /// IRole`): the function runs with it, and grants to the function go to its policy
    /// (an existing role's inline policy `<id>/Policy`; none for an immutable one).
    pub role: Option<AnyRole>,
    /// An SQS queue receiving the events of failed asynchronous invocations; the role
    /// may send to it (and use its customer managed key).
    pub dead_letter_queue: Option<sqs::AnyQueue>,
    /// Layers, in order (at most 5): their content is under `/opt` at run time.
    pub layers: Vec<LayerVersion>,
    /// Subnets to run in (the function then reaches the VPC, and the internet only through
    /// a NAT gateway); the created role gets `service-role/AWSLambdaVPCAccessExecutionRole`,
    /// as in the CDK. Empty: outside any VPC.
    pub vpc_subnets: Vec<Value>,
    /// The security groups of the function's network interfaces (with `vpc_subnets`).
    pub security_group_ids: Vec<Value>,
}

impl FunctionProps {
    /// Props with the required settings; everything else default.
    pub fn new(runtime: Runtime, handler: &str, code: Code) -> Self {
        FunctionProps {
            runtime,
            handler: handler.to_string(),
            code,
            environment: IndexMap::new(),
            timeout: None,
            memory_size: None,
            description: None,
            function_name: None,
            reserved_concurrency: None,
            architecture: Architecture::default(),
            log_retention: Some(RetentionDays::TwoYears),
            role: None,
            dead_letter_queue: None,
            layers: Vec::new(),
            vpc_subnets: Vec::new(),
            security_group_ids: Vec::new(),
        }
    }
}

/// Where a DynamoDB stream or other ordered source starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartingPosition {
    /// New records only.
    #[default]
    Latest,
    /// The oldest record available.
    TrimHorizon,
}

impl StartingPosition {
    fn as_str(self) -> &'static str {
        match self {
            StartingPosition::Latest => "LATEST",
            StartingPosition::TrimHorizon => "TRIM_HORIZON",
        }
    }
}

/// What invokes a function (the CDK's `IEventSource`): bound to the function when it is
/// added with [`Function::add_event_source`], it creates what connects the two (a rule,
/// a subscription, an event source mapping, the invoke permission, grants to the
/// function's role).
///
/// The sources here: an [`events::Schedule`](crate::events::Schedule) (a rule, child
/// `ScheduleEvent`), [`SnsEventSource`], [`S3EventSource`], [`DynamoDbEventSource`] and
/// [`SqsEventSource`]. Children are named after the kind (`ScheduleEvent`, `SnsEvent`,
/// `S3Event`), numbered from the second on (`SnsEvent2` ...: [`Function::child_id`]); the
/// mappings of a queue or table of this app have aws-cdk-lib's ids
/// (`SqsEventSource:<queue's unique id>`, `DynamoDBEventSource:<table's unique id>`), by
/// ARN `SqsEvent`, `DynamoDbEvent`. A source of your own:
///
/// ```
/// use cairn_constructs::lambda::{CfnEventSourceMapping, Code, EventSource, Function, FunctionProps, Runtime};
/// use cairn_core::{App, Result, Value};
///
/// /// Reads a Kinesis stream.
/// struct KinesisEventSource { stream_arn: Value }
///
/// impl EventSource for KinesisEventSource {
///     fn bind(&self, app: &mut App, function: &Function) -> Result<()> {
///         cairn_constructs::iam::grant(app, function,
///             ["kinesis:DescribeStream", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
///             [self.stream_arn.clone()])?;
///         let mut m = CfnEventSourceMapping::new(function.function_name());
///         m.event_source_arn = Some(self.stream_arn.clone().into());
///         m.starting_position = Some("LATEST".into());
///         let id = function.child_id(app, "KinesisEvent");
///         function.add_event_source_mapping(app, &id, m)?;
///         Ok(())
///     }
/// }
///
/// # fn main() -> Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let f = Function::new(&mut app, stack, "F", FunctionProps::new(
///     Runtime::Python3_13, "index.handler", Code::inline("def handler(e, c):\n    return e\n")))?;
/// f.add_event_source(&mut app, KinesisEventSource {
///     stream_arn: "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks".into(),
/// })?;
/// let asm = app.synth()?;
/// assert_eq!(asm.stack("S").unwrap().resources_of_type("AWS::Lambda::EventSourceMapping").len(), 1);
/// # Ok(())
/// # }
/// ```
pub trait EventSource {
    /// Connects the source to `function`.
    fn bind(&self, app: &mut App, function: &Function) -> Result<()>;
}

impl<T: EventSource + ?Sized> EventSource for &T {
    fn bind(&self, app: &mut App, function: &Function) -> Result<()> {
        (**self).bind(app, function)
    }
}

impl<T: EventSource + ?Sized> EventSource for Box<T> {
    fn bind(&self, app: &mut App, function: &Function) -> Result<()> {
        (**self).bind(app, function)
    }
}

/// A Lambda function (`AWS::Lambda::Function`) with its role and log group.
#[derive(Debug, Clone, Copy)]
pub struct Function {
    node: NodeId,
    resource: Res<CfnFunction>,
    role: AnyRole,
}

impl PartialEq for Function {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl Function {
    /// Creates the function as construct `id` under `scope`: `<id>/Resource` (the
    /// L1), `<id>/ServiceRole` (unless a role is given) and `<id>/LogGroup` (with
    /// `log_retention`).
    ///
    /// Errors: invalid props (timeout, memory, retention, inline code for a runtime that
    /// does not take it), or an asset path that does not exist.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: FunctionProps) -> Result<Function> {
        let node = app.construct(scope, id)?;
        if let Some(t) = props.timeout {
            if t.subsec_nanos() != 0 || t.as_secs() == 0 || t.as_secs() > 900 {
                return Err(app.invalid_props(
                    node,
                    format!("timeout {t:?} must be whole seconds between 1 s and 900 s (15 minutes)"),
                ));
            }
        }
        if let Some(m) = props.memory_size {
            if !(128..=10_240).contains(&m) {
                return Err(
                    app.invalid_props(node, format!("memory_size {m} MB must be between 128 and 10240"))
                );
            }
        }
        if props.handler.is_empty() {
            return Err(app.invalid_props(node, "the handler is empty; e.g. index.handler"));
        }
        let code = match &props.code {
            Code::Inline(src) => {
                if !props.runtime.supports_inline() {
                    return Err(app.invalid_props(node, format!(
                            "inline code works only for Python and Node.js runtimes, not {}; use Code::from_asset",
                            props.runtime.as_str()
                        ),
                    ));
                }
                function::Code {
                    zip_file: Some(src.as_str().into()),
                    ..Default::default()
                }
            }
            code => {
                let (bucket, key) = code.s3_location(app, node)?;
                function::Code {
                    s3_bucket: Some(bucket.into()),
                    s3_key: Some(key.into()),
                    ..Default::default()
                }
            }
        };
        let role = match props.role {
            Some(r) => r,
            None => {
                let mut managed = vec![Role::aws_managed_policy(
                    "service-role/AWSLambdaBasicExecutionRole",
                )];
                if !props.vpc_subnets.is_empty() {
                    managed.push(Role::aws_managed_policy(
                        "service-role/AWSLambdaVPCAccessExecutionRole",
                    ));
                }
                AnyRole::Created(Role::new(
                    app,
                    node,
                    "ServiceRole",
                    RoleProps {
                        managed_policies: managed,
                        ..RoleProps::new(Principal::service("lambda.amazonaws.com"))
                    },
                )?)
            }
        };
        if let AnyRole::Imported(n) = role {
            if role.imported(app).is_none() {
                return Err(app.invalid_props(
                    n,
                    "the function's role is not a role: pass a Role or an ImportedRole (Role::from_role_arn)",
                ));
            }
        }
        let mut f = CfnFunction::new(code, role.arn(app));
        if !props.layers.is_empty() {
            f.layers = Some(
                props
                    .layers
                    .iter()
                    .map(|l| l.layer_version_arn().into())
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        if !props.vpc_subnets.is_empty() {
            f.vpc_config = Some(
                function::VpcConfig {
                    subnet_ids: Some(string_list(&props.vpc_subnets)),
                    security_group_ids: Some(string_list(&props.security_group_ids)),
                    ..Default::default()
                }
                .into(),
            );
        }
        f.handler = Some(props.handler.as_str().into());
        f.runtime = Some(Val::Expr(Value::from(props.runtime.as_str())));
        if props.architecture != Architecture::X86_64 {
            f.architectures = Some(vec![Val::Expr(Value::from(props.architecture.as_str()))].into());
        }
        if !props.environment.is_empty() {
            f.environment = Some(
                function::Environment {
                    variables: Some(props.environment.clone().into()),
                }
                .into(),
            );
        }
        f.timeout = props.timeout.map(|t| Val::Lit(t.as_secs() as i64));
        f.memory_size = props.memory_size.map(Into::into);
        f.description = props.description.as_deref().map(Into::into);
        f.function_name = props.function_name.as_deref().map(Into::into);
        f.reserved_concurrent_executions = props.reserved_concurrency.map(Into::into);
        if let Some(dlq) = &props.dead_letter_queue {
            f.dead_letter_config = Some(
                function::DeadLetterConfig {
                    target_arn: Some(dlq.queue_arn().into()),
                }
                .into(),
            );
        }
        let resource = app.add(node, "Resource", f)?;
        // The function waits for its role's policies (grants land in the default policy,
        // which Lambda needs when event source mappings are created).
        app.resource_options_mut(resource)?.depends_on.push(role.node());
        let function = Function { node, resource, role };
        if let Some(dlq) = &props.dead_letter_queue {
            dlq.grant_send_messages(app, &function)?;
        }
        if let Some(retention) = props.log_retention {
            let name = match &props.function_name {
                Some(n) => Value::from(format!("/aws/lambda/{n}")),
                None => Value::join("", [Value::from("/aws/lambda/"), resource.ref_()]),
            };
            LogGroup::new(
                app,
                node,
                "LogGroup",
                LogGroupProps {
                    log_group_name: Some(name),
                    retention,
                    ..LogGroupProps::default()
                },
            )?;
        }
        Ok(function)
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnFunction> {
        self.resource
    }

    /// The execution role: the role made for the function (`<id>/ServiceRole`) or the one
    /// given in [`FunctionProps::role`].
    pub fn role(&self) -> AnyRole {
        self.role
    }

    /// The function's ARN.
    pub fn function_arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The function's name (`Ref`).
    pub fn function_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The node of the log group created for `log_retention`, if any.
    pub fn log_group(&self, app: &App) -> Option<NodeId> {
        app.node(self.node).child("LogGroup")
    }

    /// Lets `grantee` invoke the function (`lambda:InvokeFunction` on the function and
    /// its versions and aliases).
    pub fn grant_invoke(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        FunctionRef::grant_invoke(self, app, grantee)
    }

    /// Adds a resource-based permission (`AWS::Lambda::Permission`, child `id`) letting
    /// `principal` invoke the function, optionally only on behalf of `source_arn`.
    /// A service principal without a source ARN is scoped to this account.
    pub fn add_permission(
        &self,
        app: &mut App,
        id: &str,
        principal: Principal,
        source_arn: Option<Value>,
    ) -> Result<Res<CfnPermission>> {
        self.permission_in(app, self.node, id, principal, source_arn)
    }

    fn permission_in(
        &self,
        app: &mut App,
        scope: NodeId,
        id: &str,
        principal: Principal,
        source_arn: Option<Value>,
    ) -> Result<Res<CfnPermission>> {
        invoke_permission(app, scope, id, self.function_arn(), principal, source_arn)
    }

    /// Sets an environment variable (replacing one of the same name).
    pub fn add_environment(&self, app: &mut App, key: &str, value: impl Into<Value>) -> Result<()> {
        let value = value.into();
        let problem = app.invalid_props(
            self.node,
            "the function's resource is not an AWS::Lambda::Function",
        );
        let f = app
            .node_mut(self.resource.node())
            .resource_mut::<CfnFunction>()
            .ok_or(problem)?;
        let mut vars = match f.environment.take() {
            Some(Val::Lit(env)) => match env.variables {
                Some(Val::Lit(v)) => v,
                _ => IndexMap::new(),
            },
            _ => IndexMap::new(),
        };
        vars.insert(key.to_string(), value);
        f.environment = Some(
            function::Environment {
                variables: Some(vars.into()),
            }
            .into(),
        );
        Ok(())
    }

    /// Connects an event source (see [`EventSource`]).
    pub fn add_event_source(&self, app: &mut App, source: impl EventSource) -> Result<()> {
        source.bind(app, self)
    }

    /// Adds an event source mapping (construct `id` under the function, the L1 its
    /// `Resource`, as aws-cdk-lib's `EventSourceMapping`) that waits for the role's
    /// policies (Lambda checks the role's permissions when the mapping is created), for an
    /// [`EventSource`] that polls.
    pub fn add_event_source_mapping(
        &self,
        app: &mut App,
        id: &str,
        mapping: CfnEventSourceMapping,
    ) -> Result<Res<CfnEventSourceMapping>> {
        let node = app.construct(self.node, id)?;
        let mapping = app.add(node, "Resource", mapping)?;
        app.resource_options_mut(mapping)?
            .depends_on
            .push(self.role.node());
        Ok(mapping)
    }

    /// `base`, or `base2`, `base3` ... the first id not yet used under the function: the
    /// ids of what an [`EventSource`] adds.
    pub fn child_id(&self, app: &App, base: &str) -> String {
        let node = app.node(self.node);
        if node.child(base).is_none() {
            return base.to_string();
        }
        (2..)
            .map(|i| format!("{base}{i}"))
            .find(|id| node.child(id).is_none())
            .unwrap_or_else(|| base.to_string())
    }
}

/// An `AWS::Lambda::Permission` (construct `id` under `scope`) letting `principal` invoke
/// `function_arn`, optionally only on behalf of `source_arn`; a service principal without
/// a source ARN is scoped to the stack's account.
fn invoke_permission(
    app: &mut App,
    scope: NodeId,
    id: &str,
    function_arn: Value,
    principal: Principal,
    source_arn: Option<Value>,
) -> Result<Res<CfnPermission>> {
    let (principal_value, service) = match &principal {
        Principal::Service(s) => (Value::from(s.as_str()), true),
        Principal::Account(a) | Principal::Arn(a) | Principal::Federated(a) => (a.clone(), false),
        Principal::Any => (Value::from("*"), false),
    };
    let mut p = CfnPermission::new("lambda:InvokeFunction", function_arn, principal_value);
    if service && source_arn.is_none() {
        p.source_account = Some(Value::pseudo(Pseudo::AccountId).into());
    }
    p.source_arn = source_arn.map(Into::into);
    app.add(scope, id, p)
}

/// aws-cdk-lib's id of an event source mapping for a source of this app:
/// `<Kind>:<the source's unique id>` (`SqsEventSource:EventsJobs3E087BA4`), so a ported
/// mapping keeps its logical ID; numbered like [`Function::child_id`] when taken.
fn source_id(app: &App, function: &Function, kind: &str, source: NodeId) -> String {
    let unique = cairn_core::make_unique_id(&app.path_from(app.root(), source));
    function.child_id(app, &format!("{kind}:{unique}"))
}

grantable_by_role!(Function);

impl From<Function> for NodeId {
    fn from(f: Function) -> NodeId {
        f.node
    }
}

impl Construct for Function {
    fn node(&self) -> NodeId {
        self.node
    }
}

/// A function is a rule target: the rule gets a resource-based permission to invoke it
/// (`events.amazonaws.com`, scoped to the rule's ARN; child `AllowEventRule<function>` of
/// the rule, one per function, as aws-cdk-lib places it).
impl RuleTarget for Function {
    fn bind(&self, app: &mut App, rule: &Rule, _id: &str) -> Result<TargetConfig> {
        bind_rule_target(self, app, rule)
    }
}

/// A function (of the app or imported) as the target of `rule`: the permission for
/// `events.amazonaws.com` scoped to the rule's ARN, child `AllowEventRule<function>` of the
/// rule (one per function), as aws-cdk-lib places it (so a rule in another stack makes no
/// cycle), where the function's permissions may be changed.
fn bind_rule_target(function: &impl FunctionRef, app: &mut App, rule: &Rule) -> Result<TargetConfig> {
    let function_id = cairn_core::make_unique_id(&app.path_from(app.root(), function.node()));
    let id = format!("AllowEventRule{function_id}");
    if app.node(rule.node()).child(&id).is_none() {
        function.add_permission_in(
            app,
            rule.node(),
            &id,
            Principal::service("events.amazonaws.com"),
            Some(rule.arn()),
        )?;
    }
    Ok(TargetConfig::new(function.function_arn()))
}

/// A schedule invokes the function through an EventBridge rule (child `ScheduleEvent`),
/// with the invoke permission for `events.amazonaws.com` scoped to the rule's ARN.
impl EventSource for Schedule {
    fn bind(&self, app: &mut App, function: &Function) -> Result<()> {
        let id = function.child_id(app, "ScheduleEvent");
        let rule = Rule::new(app, function.node, &id, RuleProps::schedule(self.clone()))?;
        rule.add_target(app, function)
    }
}

/// An SNS topic: a `lambda` subscription (child `SnsEvent` of the function) and the invoke
/// permission for `sns.amazonaws.com` scoped to the topic's ARN (`SnsEvent/Permission`).
#[derive(Debug, Clone, PartialEq)]
pub struct SnsEventSource {
    topic: SnsTopicRef,
}

#[derive(Debug, Clone, PartialEq)]
enum SnsTopicRef {
    Topic(sns::Topic),
    Arn(Value),
}

impl SnsEventSource {
    /// A topic of this app.
    pub fn new(topic: sns::Topic) -> Self {
        SnsEventSource {
            topic: SnsTopicRef::Topic(topic),
        }
    }

    /// A topic by ARN.
    pub fn from_arn(topic_arn: impl Into<Value>) -> Self {
        SnsEventSource {
            topic: SnsTopicRef::Arn(topic_arn.into()),
        }
    }
}

impl EventSource for SnsEventSource {
    fn bind(&self, app: &mut App, function: &Function) -> Result<()> {
        let id = function.child_id(app, "SnsEvent");
        let (holder, topic_arn) = match &self.topic {
            SnsTopicRef::Topic(topic) => {
                topic.subscribe(
                    app,
                    function.node,
                    &id,
                    "lambda",
                    function.function_arn(),
                    sns::SubscriptionProps::default(),
                )?;
                let holder = app.node(function.node).child(&id).unwrap_or(function.node);
                (holder, topic.topic_arn())
            }
            SnsTopicRef::Arn(topic_arn) => {
                let holder = app.construct(function.node, &id)?;
                let mut sub = cairn_cfn::sns::CfnSubscription::new("lambda", topic_arn.clone());
                sub.endpoint = Some(function.function_arn().into());
                app.add(holder, "Resource", sub)?;
                (holder, topic_arn.clone())
            }
        };
        function.permission_in(
            app,
            holder,
            "Permission",
            Principal::service("sns.amazonaws.com"),
            Some(topic_arn),
        )?;
        Ok(())
    }
}

/// Existing buckets invoke functions too (as aws-cdk-lib's `LambdaDestination` on an
/// imported bucket: the permission under the bucket's import node).
impl s3::ImportedBucket {
    /// Invokes a function on events ([`s3::Bucket::add_function_notification`]).
    pub fn add_function_notification(
        &self,
        app: &mut App,
        event: s3::EventType,
        function: &impl FunctionRef,
        filter: s3::NotificationKeyFilter,
    ) -> Result<()> {
        function_notification(
            app,
            self,
            event,
            function,
            filter,
            s3::ImportedBucket::add_event_notification,
        )
    }
}

/// S3 buckets invoke functions (aws-cdk-lib's `LambdaDestination`; here, as `s3` does not
/// name `lambda`).
impl s3::Bucket {
    /// Invokes a function on events (aws-cdk-lib's `LambdaDestination`): the invoke
    /// permission `<Bucket>/AllowBucketNotificationsTo<function unique id>` for
    /// `s3.amazonaws.com`, scoped to the bucket's ARN and the stack's account, and the
    /// notification entry. An existing function whose permissions may not be changed gets
    /// the entry only (and a warning).
    ///
    /// ```
    /// use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
    /// use cairn_constructs::s3::{Bucket, BucketProps, EventType, NotificationKeyFilter};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let bucket = Bucket::new(&mut app, stack, "Uploads", BucketProps::default())?;
    /// let f = Function::new(&mut app, stack, "Resize", FunctionProps::new(
    ///     Runtime::Python3_12, "index.handler", Code::inline("def handler(e, c):\n    return e\n")))?;
    /// bucket.add_function_notification(&mut app, EventType::ObjectCreated, &f,
    ///     NotificationKeyFilter { suffix: Some(".png".into()), ..Default::default() })?;
    /// let asm = app.synth()?;
    /// let s = asm.stack("S").unwrap();
    /// let n = &s.template["Resources"][s.resources_of_type("Custom::S3BucketNotifications")[0]];
    /// let entry = &n["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"][0];
    /// assert_eq!(entry["Events"][0], "s3:ObjectCreated:*");
    /// let permission = &s.template["Resources"][s.resources_of_type("AWS::Lambda::Permission")[0]];
    /// assert_eq!(permission["Properties"]["SourceArn"]["Fn::GetAtt"][1], "Arn");
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_function_notification(
        &self,
        app: &mut App,
        event: s3::EventType,
        function: &impl FunctionRef,
        filter: s3::NotificationKeyFilter,
    ) -> Result<()> {
        function_notification(
            app,
            self,
            event,
            function,
            filter,
            s3::Bucket::add_event_notification,
        )
    }
}

/// The invoke permission of a function for a bucket's notifications:
/// `<Bucket>/AllowBucketNotificationsTo<the function's unique id>` (aws-cdk-lib's id), once
/// per bucket and function, scoped to the bucket's ARN and the stack's account (literal in
/// a concrete environment). `None` when the function's permissions may not be changed (a
/// warning says so).
/// A bucket kind's `add_event_notification`.
type AddEventNotification<B> = fn(
    &B,
    &mut App,
    s3::EventType,
    s3::NotificationDestination,
    s3::NotificationKeyFilter,
    &[NodeId],
) -> Result<()>;

/// The invoke permission for `bucket` (`bucket_notification_permission`) and the
/// notification entry `add` (the bucket kind's `add_event_notification`) makes, waiting for
/// the permission: the one body of both kinds' `add_function_notification`.
fn function_notification<B: s3::BucketRef>(
    app: &mut App,
    bucket: &B,
    event: s3::EventType,
    function: &impl FunctionRef,
    filter: s3::NotificationKeyFilter,
    add: AddEventNotification<B>,
) -> Result<()> {
    let permission = bucket_notification_permission(app, bucket, function)?;
    add(
        bucket,
        app,
        event,
        s3::NotificationDestination::Lambda(function.function_arn()),
        filter,
        permission.as_slice(),
    )
}

fn bucket_notification_permission(
    app: &mut App,
    bucket: &impl s3::BucketRef,
    function: &impl FunctionRef,
) -> Result<Option<NodeId>> {
    let unique = cairn_core::make_unique_id(&app.path_from(app.root(), function.node()));
    let id = format!("AllowBucketNotificationsTo{unique}");
    if let Some(p) = app.node(bucket.node()).child(&id) {
        return Ok(Some(p));
    }
    let account = app
        .stack_of(bucket.node())
        .and_then(|s| app.environment_of(s).account)
        .map_or_else(|| Value::pseudo(Pseudo::AccountId), Value::from);
    let permission = function.add_permission_in(
        app,
        bucket.node(),
        &id,
        Principal::service("s3.amazonaws.com"),
        Some(bucket.bucket_arn()),
    )?;
    let Some(permission) = permission else {
        return Ok(None);
    };
    if let Some(p) = app.node_mut(permission.node()).resource_mut::<CfnPermission>() {
        p.source_account = Some(account.into());
    }
    Ok(Some(permission.node()))
}

/// S3 object notifications (aws-cdk-lib's `S3EventSource`): one entry per event in the
/// bucket's notifications ([`s3::Bucket::add_function_notification`]: the
/// `Custom::S3BucketNotifications` resource `<Bucket>/Notifications`) and the invoke
/// permission for `s3.amazonaws.com`, `<Bucket>/AllowBucketNotificationsTo<function>`,
/// scoped to the bucket's ARN and the stack's account.
#[derive(Debug, Clone, PartialEq)]
pub struct S3EventSource {
    /// The bucket.
    pub bucket: s3::Bucket,
    /// The events, e.g. `EventType::ObjectCreated`; at least one.
    pub events: Vec<s3::EventType>,
    /// Key prefix/suffix filter.
    pub filter: s3::NotificationKeyFilter,
}

impl S3EventSource {
    /// Object-created notifications of a bucket, unfiltered.
    pub fn object_created(bucket: s3::Bucket) -> Self {
        S3EventSource {
            bucket,
            events: vec![s3::EventType::ObjectCreated],
            filter: s3::NotificationKeyFilter::default(),
        }
    }
}

impl EventSource for S3EventSource {
    fn bind(&self, app: &mut App, function: &Function) -> Result<()> {
        if self.events.is_empty() {
            return Err(app.invalid_props(
                function.node,
                "S3 notifications need at least one event, e.g. s3::EventType::ObjectCreated",
            ));
        }
        for event in &self.events {
            self.bucket
                .add_function_notification(app, event.clone(), function, self.filter.clone())?;
        }
        Ok(())
    }
}

/// A DynamoDB table's stream: an event source mapping (child `DynamoDbEvent`) and, for the
/// role, [`dynamodb::Table::grant_stream_read`] (`dynamodb:ListStreams` on `*`, which is
/// the only resource that action takes; `DescribeStream`, `GetRecords`,
/// `GetShardIterator` on the stream; decrypt on a customer managed key), or the same
/// statements for a stream by ARN. A table without a stream is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamoDbEventSource {
    stream: DynamoDbStream,
    starting_position: StartingPosition,
    batch_size: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
enum DynamoDbStream {
    /// A table of this app or an imported one: its stream, construct and key.
    Table {
        stream_arn: Option<Value>,
        node: NodeId,
        key_arn: Option<Value>,
    },
    Arn(Value),
}

impl DynamoDbEventSource {
    /// The stream of a table of this app (with `stream` set), from the latest record.
    pub fn new(table: dynamodb::Table) -> Self {
        Self::from_table(&table)
    }

    /// The stream of a table of this app or an existing one (imported with its
    /// `table_stream_arn`), from the latest record; the mapping's id names the table's
    /// construct, as aws-cdk-lib's does.
    pub fn from_table(table: &impl dynamodb::TableRef) -> Self {
        DynamoDbEventSource {
            stream: DynamoDbStream::Table {
                stream_arn: table.table_stream_arn(),
                node: table.node(),
                key_arn: table.encryption_key_arn(),
            },
            starting_position: StartingPosition::Latest,
            batch_size: None,
        }
    }

    /// A stream by ARN, from the latest record.
    pub fn from_stream_arn(stream_arn: impl Into<Value>) -> Self {
        DynamoDbEventSource {
            stream: DynamoDbStream::Arn(stream_arn.into()),
            starting_position: StartingPosition::Latest,
            batch_size: None,
        }
    }

    /// Where to start reading.
    pub fn starting_position(mut self, position: StartingPosition) -> Self {
        self.starting_position = position;
        self
    }

    /// Records per batch (Lambda's default: 100).
    pub fn batch_size(mut self, batch_size: u32) -> Self {
        self.batch_size = Some(batch_size);
        self
    }
}

impl EventSource for DynamoDbEventSource {
    fn bind(&self, app: &mut App, function: &Function) -> Result<()> {
        let (stream_arn, key_arn, id) = match &self.stream {
            DynamoDbStream::Table {
                stream_arn,
                node,
                key_arn,
            } => {
                let Some(stream_arn) = stream_arn.clone() else {
                    let problem = format!(
                        "the table has no stream, so '{}' cannot read it; set TableProps.stream (or TableAttributes.table_stream_arn)",
                        app.path(function.node)
                    );
                    return Err(app.invalid_props(*node, problem));
                };
                let id = source_id(app, function, "DynamoDBEventSource", *node);
                (stream_arn, key_arn.clone(), id)
            }
            DynamoDbStream::Arn(stream_arn) => {
                (stream_arn.clone(), None, function.child_id(app, "DynamoDbEvent"))
            }
        };
        dynamodb::grant_stream(app, function, stream_arn.clone(), key_arn)?;
        let mut m = CfnEventSourceMapping::new(function.function_name());
        m.event_source_arn = Some(stream_arn.into());
        m.starting_position = Some(self.starting_position.as_str().into());
        m.batch_size = self.batch_size.map(Into::into);
        function.add_event_source_mapping(app, &id, m)?;
        Ok(())
    }
}

/// An SQS queue: an event source mapping (child `SqsEvent`) and, for the role,
/// [`sqs::Queue::grant_consume_messages`] (`sqs:ReceiveMessage`,
/// `ChangeMessageVisibility`, `GetQueueUrl`, `DeleteMessage`, `GetQueueAttributes`;
/// decrypt on a customer managed key), or the same actions for a queue by ARN (a queue
/// encrypted with a customer managed key also needs `kms:Decrypt` on it: grant it with
/// [`iam::grant`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SqsEventSource {
    queue: SqsQueueRef,
    batch_size: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
enum SqsQueueRef {
    /// A queue of this app or an imported one: its ARN, construct and key.
    Queue {
        arn: Value,
        node: NodeId,
        key_arn: Option<Value>,
    },
    Arn(Value),
}

impl SqsEventSource {
    /// A queue of this app.
    pub fn new(queue: sqs::Queue) -> Self {
        Self::from_queue(&queue)
    }

    /// A queue of this app or an existing one ([`sqs::Queue::from_queue_arn`]): the
    /// mapping's id names the queue's construct, as aws-cdk-lib's does, and the grant
    /// includes decrypting with the queue's customer managed key.
    pub fn from_queue(queue: &impl sqs::QueueRef) -> Self {
        SqsEventSource {
            queue: SqsQueueRef::Queue {
                arn: queue.queue_arn(),
                node: queue.node(),
                key_arn: queue.encryption_key_arn(),
            },
            batch_size: None,
        }
    }

    /// A queue by ARN.
    pub fn from_arn(queue_arn: impl Into<Value>) -> Self {
        SqsEventSource {
            queue: SqsQueueRef::Arn(queue_arn.into()),
            batch_size: None,
        }
    }

    /// Messages per batch (Lambda's default: 10).
    pub fn batch_size(mut self, batch_size: u32) -> Self {
        self.batch_size = Some(batch_size);
        self
    }
}

impl EventSource for SqsEventSource {
    fn bind(&self, app: &mut App, function: &Function) -> Result<()> {
        let (queue_arn, key_arn, id) = match &self.queue {
            SqsQueueRef::Queue { arn, node, key_arn } => (
                arn.clone(),
                key_arn.clone(),
                source_id(app, function, "SqsEventSource", *node),
            ),
            SqsQueueRef::Arn(arn) => (arn.clone(), None, function.child_id(app, "SqsEvent")),
        };
        iam::grant(
            app,
            function,
            sqs::CONSUME_ACTIONS.iter().copied(),
            [queue_arn.clone()],
        )?;
        if let Some(key) = key_arn {
            iam::grant(app, function, crate::kms::DECRYPT_ACTIONS.iter().copied(), [key])?;
        }
        let mut m = CfnEventSourceMapping::new(function.function_name());
        m.event_source_arn = Some(queue_arn.into());
        m.batch_size = self.batch_size.map(Into::into);
        function.add_event_source_mapping(app, &id, m)?;
        Ok(())
    }
}
