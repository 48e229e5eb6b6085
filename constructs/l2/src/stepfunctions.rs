//! Step Functions: a typed state builder that produces Amazon States Language (ASL), and
//! the [`StateMachine`] construct with a role computed from what its tasks call.
//!
//! States are added to a [`Definition`], which hands back typed, `Copy` handles
//! ([`StateRef<Task>`], [`StateRef<Choice>`] ...). Transitions are set through the
//! definition, so only states that can have a `Next` get one (`def.chain(a).next(b)`),
//! only a [`Choice`] gets conditions, and only `Task`, `Parallel` and `Map` get retries and
//! catches. Names are unique in the whole state machine, and the graph is validated
//! (unreachable states, missing transitions, a Choice without branches, paths, retries,
//! task tokens ...) with [`DefinitionError`]s that name the state and where it is.
//!
//! Values from the rest of the app (a function ARN from another stack, a document name)
//! embed anywhere in the definition as [`Value`]s: the construct renders a literal
//! `DefinitionString` with `${Name}` placeholders and the references in
//! `DefinitionSubstitutions`, which cfn-lint validates as ASL and CloudFormation resolves.
//!
//! ```
//! use cairn_constructs::stepfunctions::{
//!     Catch, Choice, Condition, Definition, Fail, Retry, StateMachine, StateMachineProps,
//!     Succeed, Task, Wait,
//! };
//! use cairn_core::App;
//!
//! # fn main() -> Result<(), cairn_constructs::stepfunctions::Error> {
//! let mut app = App::new();
//! let stack = app.stack("Jobs")?;
//! let function = "arn:aws:lambda:us-east-1:123456789012:function:check";
//!
//! let mut def = Definition::new();
//! let check = def.add(Task::lambda_invoke("Check", function)
//!     .result_selector(cairn_core::Value::map([("status.$", "$.Payload.status".into())]))
//!     .result_path("$.check")
//!     .retry(Retry::on(["States.Timeout"]).max_attempts(2)))?;
//! let done = def.add(Choice::new("Done?"))?;
//! let wait = def.add(Wait::seconds("Wait", 30))?;
//! let ok = def.add(Succeed::new("Ok"))?;
//! let failed = def.add(Fail::new("Failed").error("CheckFailed"))?;
//! def.add_catch(check, Catch::all(failed).result_path("$.error"))?;
//! def.chain(check).next(done)?;
//! def.when(done, Condition::string_equals("$.check.status", "DONE"), ok)?;
//! def.otherwise(done, wait)?;
//! def.chain(wait).next(check)?;
//!
//! let machine = StateMachine::new(&mut app, stack, "Poller", StateMachineProps::new(def))?;
//! let asm = app.synth()?;
//! let stack = asm.stack("Jobs").unwrap();
//! let id = stack.resources_of_type("AWS::StepFunctions::StateMachine")[0];
//! let text = stack.template["Resources"][id]["Properties"]["DefinitionString"].as_str().unwrap();
//! let asl: serde_json::Value = serde_json::from_str(text).unwrap();
//! assert_eq!(asl["States"]["Check"]["Resource"], "arn:aws:states:::lambda:invoke");
//! # let _ = machine;
//! # Ok(())
//! # }
//! ```

pub use cairn_cfn::stepfunctions::*;

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use indexmap::IndexMap;

use cairn_core::{App, Intrinsic, NodeId, Pseudo, Res, Target, Value};

use crate::iam::{self, Grantable, PolicyStatement, Principal, Role, RoleProps};
use crate::logs::{LogGroup, LogGroupProps};

/// The context object path of the current task's token, for `.waitForTaskToken`
/// integrations: `Params::new().path("token", TASK_TOKEN)`.
pub const TASK_TOKEN: &str = "$$.Task.Token";

/// Names of the errors Step Functions raises, for [`Retry`] and [`Catch`].
pub mod errors {
    /// Any error. Must be alone in its list, and its retrier or catcher must be the last.
    pub const ALL: &str = "States.ALL";
    /// A task ran longer than `TimeoutSeconds`.
    pub const TIMEOUT: &str = "States.Timeout";
    /// A task sent no heartbeat within `HeartbeatSeconds`.
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    /// Any task failure except a timeout.
    pub const TASK_FAILED: &str = "States.TaskFailed";
    /// The role may not run the task.
    pub const PERMISSIONS: &str = "States.Permissions";
    /// A `ResultPath` cannot be applied to the input.
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    /// A `.$` path in the parameters does not match the input.
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    /// A branch of a Parallel state failed.
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    /// No condition of a Choice state matched and it has no default.
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    /// An intrinsic function (`States.Format` ...) failed.
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
}

/// What is wrong with a state machine definition. Each error names the state and, for
/// states inside a Parallel branch or a Map item processor, where it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DefinitionError {
    /// Two states share a name.
    #[error("state name '{name}' is used twice: first in {first}, again in {second}; state names must be unique in the whole state machine, branches and item processors included")]
    DuplicateStateName {
        /// The name.
        name: String,
        /// Where the first state with the name is.
        first: String,
        /// Where the second one was added.
        second: String,
    },
    /// A state name is empty, too long or holds control characters.
    #[error("invalid state name {name:?}: {reason}")]
    InvalidStateName {
        /// The name.
        name: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A handle of another definition was passed.
    #[error(
        "{what} belongs to another Definition; handles are only valid in the definition that created them"
    )]
    ForeignHandle {
        /// What the handle is.
        what: &'static str,
    },
    /// The definition has no states.
    #[error("the state machine has no states; add one with Definition::add")]
    Empty,
    /// A branch or item processor has no states.
    #[error("{scope} has no states; add some with Definition::add_in")]
    EmptyScope {
        /// Which branch or item processor.
        scope: String,
    },
    /// A state cannot be reached from the start state of its scope.
    #[error("state '{name}' in {scope} is unreachable from the start state '{start}'; connect it with next, when, otherwise or a catch, or remove it")]
    Unreachable {
        /// The state.
        name: String,
        /// Where it is.
        scope: String,
        /// The start state of that scope.
        start: String,
    },
    /// A state that needs `Next` or `End` has neither.
    #[error("state '{name}' in {scope} has no transition: chain it to the next state with .next(..) or end the execution there with .end()")]
    MissingTransition {
        /// The state.
        name: String,
        /// Where it is.
        scope: String,
    },
    /// A transition was set twice to different targets.
    #[error("state '{name}' already {existing}; it cannot also {new}")]
    TransitionAlreadySet {
        /// The state.
        name: String,
        /// The transition it has ("goes to 'X'", "ends the execution").
        existing: String,
        /// The transition that was refused.
        new: String,
    },
    /// A transition leaves or enters a Parallel branch or a Map item processor.
    #[error("state '{from}' in {from_scope} cannot transition to '{to}' in {to_scope}: transitions stay within one branch or item processor")]
    CrossScopeTransition {
        /// The source state.
        from: String,
        /// Where it is.
        from_scope: String,
        /// The target state.
        to: String,
        /// Where that is.
        to_scope: String,
    },
    /// A Choice state has no condition.
    #[error("Choice state '{name}' has no branch: add one with Definition::when")]
    ChoiceWithoutBranch {
        /// The state.
        name: String,
    },
    /// A Parallel state has no branch.
    #[error("Parallel state '{name}' has no branch: add one with Definition::branch and states to it")]
    ParallelWithoutBranch {
        /// The state.
        name: String,
    },
    /// A Map state has no item processor.
    #[error("Map state '{name}' has no item processor: add states to Definition::item_processor(..)")]
    MapWithoutProcessor {
        /// The state.
        name: String,
    },
    /// No state of a scope ends it.
    #[error("{scope} has no terminal state (Succeed, Fail, or a state ended with .end()): its executions could never finish")]
    NoTerminalState {
        /// Which scope.
        scope: String,
    },
    /// A field of a state has an invalid value.
    #[error("state '{state}': {field} {value:?} is invalid: {reason}")]
    InvalidField {
        /// The state.
        state: String,
        /// The ASL field.
        field: String,
        /// The rejected value.
        value: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// A retrier is invalid.
    #[error("state '{state}', retrier {index}: {reason}")]
    InvalidRetry {
        /// The state.
        state: String,
        /// The position of the retrier (from 1).
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A catcher is invalid.
    #[error("state '{state}', catcher {index}: {reason}")]
    InvalidCatch {
        /// The state.
        state: String,
        /// The position of the catcher (from 1).
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A `.waitForTaskToken` task does not pass the task token on.
    #[error("state '{state}' waits for a task token but never passes it on: put \"$$.Task.Token\" into its parameters (e.g. Params::new().path(\"taskToken\", TASK_TOKEN))")]
    MissingTaskToken {
        /// The state.
        state: String,
    },
    /// An integration does not support an integration pattern.
    #[error("state '{state}': {integration} does not support the {pattern} integration pattern")]
    UnsupportedPattern {
        /// The state.
        state: String,
        /// The integration (e.g. `aws-sdk:ssm:sendCommand`).
        integration: String,
        /// The pattern.
        pattern: IntegrationPattern,
    },
    /// A task acts on no IAM resource, so no permission can be computed.
    #[error("state '{state}': {integration} needs the IAM resources it acts on, to grant the state machine's role; pass them (\"*\" only if you mean it)")]
    MissingIamResources {
        /// The state.
        state: String,
        /// The integration.
        integration: String,
    },
}

type DefResult<T> = Result<T, DefinitionError>;

// ------------------------------------------------------------------ handles ----

/// A typed handle to a state of a [`Definition`]: `Copy`, and only valid in the
/// definition that created it.
pub struct StateRef<S> {
    def: u32,
    index: u32,
    _s: PhantomData<fn() -> S>,
}

impl<S> Clone for StateRef<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for StateRef<S> {}

impl<S> PartialEq for StateRef<S> {
    fn eq(&self, other: &Self) -> bool {
        self.def == other.def && self.index == other.index
    }
}

impl<S> Eq for StateRef<S> {}

impl<S> fmt::Debug for StateRef<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateRef({}#{})", self.def, self.index)
    }
}

/// An untyped handle to a state: the target of a [`Catch`], of `when`, `otherwise` ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateId {
    def: u32,
    index: u32,
}

impl<S> From<StateRef<S>> for StateId {
    fn from(r: StateRef<S>) -> StateId {
        StateId {
            def: r.def,
            index: r.index,
        }
    }
}

/// Where states live: the top level, a branch of a [`Parallel`] state, or the item
/// processor of a [`Map`] state. Transitions stay within one scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    def: u32,
    index: u32,
}

mod sealed {
    pub trait Sealed {}
}

/// A state of the Amazon States Language: [`Task`], [`Choice`], [`Wait`], [`Pass`],
/// [`Parallel`], [`Map`], [`Succeed`] or [`Fail`].
pub trait State: sealed::Sealed + Sized {
    /// The state's name, unique in the state machine.
    fn name(&self) -> &str;
    #[doc(hidden)]
    fn into_body(self) -> StateBody;
}

/// A state that continues with a `Next` state or ends the execution: [`Task`], [`Pass`],
/// [`Wait`], [`Parallel`], [`Map`].
pub trait HasNext: State {}

/// A state that can retry and catch errors: [`Task`], [`Parallel`], [`Map`].
pub trait Catchable: State {}

/// A state as stored in a definition (opaque).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct StateBody(Body);

#[derive(Debug, Clone)]
enum Body {
    Task(Box<Task>),
    Choice(Choice),
    Wait(Wait),
    Pass(Pass),
    Parallel(Parallel),
    Map(Map),
    Succeed(Succeed),
    Fail(Fail),
}

impl Body {
    fn name(&self) -> &str {
        match self {
            Body::Task(s) => &s.name,
            Body::Choice(s) => &s.name,
            Body::Wait(s) => &s.name,
            Body::Pass(s) => &s.name,
            Body::Parallel(s) => &s.name,
            Body::Map(s) => &s.name,
            Body::Succeed(s) => &s.name,
            Body::Fail(s) => &s.name,
        }
    }

    fn has_next(&self) -> bool {
        matches!(
            self,
            Body::Task(_) | Body::Wait(_) | Body::Pass(_) | Body::Parallel(_) | Body::Map(_)
        )
    }

    fn handlers(&self) -> Option<(&Vec<Retry>, &Vec<Catch>)> {
        match self {
            Body::Task(s) => Some((&s.retries, &s.catches)),
            Body::Parallel(s) => Some((&s.retries, &s.catches)),
            Body::Map(s) => Some((&s.retries, &s.catches)),
            _ => None,
        }
    }

    fn handlers_mut(&mut self) -> Option<(&mut Vec<Retry>, &mut Vec<Catch>)> {
        match self {
            Body::Task(s) => Some((&mut s.retries, &mut s.catches)),
            Body::Parallel(s) => Some((&mut s.retries, &mut s.catches)),
            Body::Map(s) => Some((&mut s.retries, &mut s.catches)),
            _ => None,
        }
    }

    fn io(&self) -> &Io {
        match self {
            Body::Task(s) => &s.io,
            Body::Choice(s) => &s.io,
            Body::Wait(s) => &s.io,
            Body::Pass(s) => &s.io,
            Body::Parallel(s) => &s.io,
            Body::Map(s) => &s.io,
            Body::Succeed(s) => &s.io,
            Body::Fail(s) => &s.io,
        }
    }
}

// ------------------------------------------------------- shared state fields ----

/// Fields several state types share; each type exposes the ones ASL allows it.
#[derive(Debug, Clone, Default, PartialEq)]
struct Io {
    comment: Option<String>,
    input_path: Option<String>,
    output_path: Option<String>,
    /// `Some(None)`: `ResultPath: null`, the result is discarded.
    result_path: Option<Option<String>>,
    result_selector: Option<Value>,
    parameters: Option<Value>,
}

macro_rules! comment_method {
    ($t:ident) => {
        impl $t {
            /// Sets `Comment`.
            pub fn comment(mut self, comment: &str) -> Self {
                self.io.comment = Some(comment.to_string());
                self
            }
        }
    };
}

macro_rules! path_methods {
    ($t:ident) => {
        impl $t {
            /// Sets `InputPath`: the part of the state's input it works on.
            pub fn input_path(mut self, path: &str) -> Self {
                self.io.input_path = Some(path.to_string());
                self
            }

            /// Sets `OutputPath`: the part of the state's output passed on.
            pub fn output_path(mut self, path: &str) -> Self {
                self.io.output_path = Some(path.to_string());
                self
            }
        }
    };
}

macro_rules! result_methods {
    ($t:ident) => {
        impl $t {
            /// Sets `ResultPath`: where the result goes in the input (`$` replaces it).
            pub fn result_path(mut self, path: &str) -> Self {
                self.io.result_path = Some(Some(path.to_string()));
                self
            }

            /// Sets `ResultPath` to `null`: the result is discarded and the input passed on.
            pub fn discard_result(mut self) -> Self {
                self.io.result_path = Some(None);
                self
            }

            /// Sets `ResultSelector`, a payload template applied to the result.
            pub fn result_selector(mut self, selector: impl Into<Value>) -> Self {
                self.io.result_selector = Some(selector.into());
                self
            }
        }
    };
}

macro_rules! parameters_method {
    ($t:ident, $doc:literal) => {
        impl $t {
            #[doc = $doc]
            pub fn parameters(mut self, parameters: impl Into<Value>) -> Self {
                self.io.parameters = Some(parameters.into());
                self
            }
        }
    };
}

macro_rules! handler_methods {
    ($t:ident) => {
        impl $t {
            /// Adds a retrier (tried in order).
            pub fn retry(mut self, retry: Retry) -> Self {
                self.retries.push(retry);
                self
            }

            /// Adds a catcher (tried in order after the retriers are exhausted).
            pub fn catch(mut self, catch: Catch) -> Self {
                self.catches.push(catch);
                self
            }
        }
        impl Catchable for $t {}
    };
}

macro_rules! state_impl {
    ($t:ident, $variant:ident, $wrap:expr) => {
        impl sealed::Sealed for $t {}
        impl State for $t {
            fn name(&self) -> &str {
                &self.name
            }
            fn into_body(self) -> StateBody {
                StateBody(Body::$variant($wrap(self)))
            }
        }
    };
}

/// A payload template (`Parameters`, `ItemSelector`, a Lambda `Payload` ...) built key by
/// key; [`Params::path`] writes the `key.$` form that selects from the input.
///
/// ```
/// use cairn_constructs::stepfunctions::{Params, TASK_TOKEN};
/// use cairn_core::Value;
/// let p: Value = Params::new()
///     .set("action", "stop")
///     .path("instanceId", "$.id")
///     .path("token", TASK_TOKEN)
///     .into();
/// assert_eq!(p.as_map().unwrap()["instanceId.$"], Value::from("$.id"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(IndexMap<String, Value>);

impl Params {
    /// An empty template.
    pub fn new() -> Params {
        Params::default()
    }

    /// A fixed value (a literal, a reference, or a nested `Params`).
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Params {
        self.0.insert(key.to_string(), value.into());
        self
    }

    /// A value selected at run time: `"key.$": path` (a path, a context path such as
    /// [`TASK_TOKEN`], or an intrinsic function like `States.Format(..)`).
    pub fn path(mut self, key: &str, path: &str) -> Params {
        self.0.insert(format!("{key}.$"), Value::from(path));
        self
    }

    /// The task token under `key`: `"key.$": "$$.Task.Token"`.
    pub fn task_token(self, key: &str) -> Params {
        self.path(key, TASK_TOKEN)
    }
}

impl From<Params> for Value {
    fn from(p: Params) -> Value {
        Value::Map(p.0)
    }
}

// -------------------------------------------------------------------- tasks ----

/// How a task waits for the work it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegrationPattern {
    /// Call the service and continue with its response.
    RequestResponse,
    /// `.sync`: start a job and wait for it to complete.
    RunJob,
    /// `.waitForTaskToken`: pass a task token on and wait until it is returned.
    WaitForTaskToken,
}

impl fmt::Display for IntegrationPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IntegrationPattern::RequestResponse => "request-response",
            IntegrationPattern::RunJob => ".sync (run a job)",
            IntegrationPattern::WaitForTaskToken => ".waitForTaskToken",
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Payload {
    Input,
    Path(String),
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Integration {
    LambdaInvoke {
        function: Value,
        payload: Payload,
        retry_service_exceptions: bool,
    },
    LambdaFunction {
        function: Value,
    },
    Sdk {
        service: String,
        action: String,
        iam_action: String,
        resources: Vec<Value>,
    },
    SendCommand(Box<SendCommand>),
    StartExecution {
        state_machine: Value,
        input: Payload,
    },
    Service {
        service: String,
        action: String,
        resources: Vec<Value>,
    },
}

/// `.sync` integrations of [`Task::service`]: the managed EventBridge rule Step Functions
/// uses to learn about completion, and the extra actions it calls while waiting.
const SYNC_SERVICES: &[(&str, &str, Option<&str>, &[&str])] = &[
    (
        "codebuild",
        "startBuild",
        Some("StepFunctionsGetEventsForCodeBuildStartBuildRule"),
        &[
            "codebuild:StopBuild",
            "codebuild:BatchGetBuilds",
            "codebuild:BatchGetReports",
        ],
    ),
    (
        "batch",
        "submitJob",
        Some("StepFunctionsGetEventsForBatchJobsRule"),
        &[],
    ),
    (
        "ecs",
        "runTask",
        Some("StepFunctionsGetEventsForECSTaskRule"),
        &["ecs:StopTask", "ecs:DescribeTasks"],
    ),
    (
        "glue",
        "startJobRun",
        None,
        &["glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
    ),
];

const LAMBDA_SERVICE_ERRORS: [&str; 4] = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
];

/// The `Task` state: calls a service through one of Step Functions' integrations.
///
/// ```
/// use cairn_constructs::stepfunctions::{Params, Task};
/// let notify = Task::lambda_invoke("Notify", "arn:aws:lambda:us-east-1:123456789012:function:notify")
///     .payload(Params::new().path("instance.$", "$.id").task_token("token"))
///     .wait_for_task_token()
///     .timeout_seconds(3600)
///     .heartbeat_seconds(600);
/// # let _ = notify;
/// ```
#[derive(Debug, Clone)]
pub struct Task {
    name: String,
    io: Io,
    integration: Integration,
    pattern: IntegrationPattern,
    timeout_seconds: Option<u32>,
    heartbeat_seconds: Option<u32>,
    retries: Vec<Retry>,
    catches: Vec<Catch>,
    iam_resources: Option<Vec<Value>>,
    iam_action: Option<String>,
    statements: Vec<PolicyStatement>,
}

state_impl!(Task, Task, Box::new);
impl HasNext for Task {}
comment_method!(Task);
path_methods!(Task);
result_methods!(Task);
handler_methods!(Task);
parameters_method!(
    Task,
    "Sets `Parameters`. For integrations that fill `Parameters` themselves (Lambda invoke, SSM SendCommand, StartExecution), the keys are added to theirs (`key` replaces `key.$` and the other way round)."
);

impl Task {
    fn with(name: &str, integration: Integration) -> Task {
        Task {
            name: name.to_string(),
            io: Io::default(),
            integration,
            pattern: IntegrationPattern::RequestResponse,
            timeout_seconds: None,
            heartbeat_seconds: None,
            retries: Vec::new(),
            catches: Vec::new(),
            iam_resources: None,
            iam_action: None,
            statements: Vec::new(),
        }
    }

    /// Invokes a Lambda function through the optimized integration
    /// (`arn:aws:states:::lambda:invoke`) with the state's input as `Payload`. The
    /// function is its ARN, name or a reference; the role may invoke it and its versions.
    /// Like the CDK, it retries Lambda's transient service errors (see
    /// [`Task::retry_on_service_exceptions`]).
    pub fn lambda_invoke(name: &str, function: impl Into<Value>) -> Task {
        Task::with(
            name,
            Integration::LambdaInvoke {
                function: function.into(),
                payload: Payload::Input,
                retry_service_exceptions: true,
            },
        )
    }

    /// [`Task::lambda_invoke`] of a [`crate::lambda::Function`] (its ARN, from any stack).
    ///
    /// ```
    /// use cairn_constructs::lambda::{Code, Function, FunctionProps, Runtime};
    /// use cairn_constructs::stepfunctions::Task;
    /// # let mut app = cairn_core::App::new();
    /// # let stack = app.stack("S").unwrap();
    /// let f = Function::new(&mut app, stack, "Resize", FunctionProps::new(
    ///     Runtime::Python3_13, "index.handler", Code::inline("def handler(e, c):\n    return e\n"))).unwrap();
    /// let task = Task::invoke("Resize", &f).result_path("$.resized");
    /// # let _ = task;
    /// ```
    pub fn invoke(name: &str, function: &crate::lambda::Function) -> Task {
        Task::lambda_invoke(name, function.function_arn())
    }

    /// Invokes a Lambda function by using its ARN as the `Resource`: the result is the
    /// function's response itself (no `Payload` wrapper).
    pub fn lambda_function(name: &str, function_arn: impl Into<Value>) -> Task {
        Task::with(
            name,
            Integration::LambdaFunction {
                function: function_arn.into(),
            },
        )
    }

    /// Calls any AWS API through the AWS SDK integration
    /// (`arn:aws:states:::aws-sdk:<service>:<action>`, the action in camelCase, e.g.
    /// `ec2`, `stopInstances`). The role gets `<service>:<Action>` on `iam_resources`;
    /// change the IAM action with [`Task::iam_action`] when it differs.
    pub fn aws_sdk<V: Into<Value>>(
        name: &str,
        service: &str,
        action: &str,
        iam_resources: impl IntoIterator<Item = V>,
    ) -> Task {
        Task::with(
            name,
            Integration::Sdk {
                service: service.to_string(),
                action: action.to_string(),
                iam_action: format!("{}:{}", sdk_iam_service(service), upper_first(action)),
                resources: iam_resources.into_iter().map(Into::into).collect(),
            },
        )
    }

    /// Runs an SSM document on instances (`aws-sdk:ssm:sendCommand`); the role gets
    /// `ssm:SendCommand` on the document and the instances.
    pub fn ssm_send_command(name: &str, command: SendCommand) -> Task {
        Task::with(name, Integration::SendCommand(Box::new(command)))
    }

    /// Starts an execution of another state machine (`states:startExecution`, with
    /// `.sync:2` for [`IntegrationPattern::RunJob`]), passing the state's input.
    pub fn start_execution(name: &str, state_machine_arn: impl Into<Value>) -> Task {
        Task::with(
            name,
            Integration::StartExecution {
                state_machine: state_machine_arn.into(),
                input: Payload::Input,
            },
        )
    }

    /// Calls an optimized service integration (`arn:aws:states:::<service>:<action>`,
    /// e.g. `sns`, `publish`) with the task's [`Task::parameters`]; the role gets
    /// `<service>:<Action>` on `iam_resources`. `.sync` is supported for CodeBuild
    /// `startBuild`, Batch `submitJob`, ECS `runTask` and Glue `startJobRun`.
    pub fn service<V: Into<Value>>(
        name: &str,
        service: &str,
        action: &str,
        iam_resources: impl IntoIterator<Item = V>,
    ) -> Task {
        Task::with(
            name,
            Integration::Service {
                service: service.to_string(),
                action: action.to_string(),
                resources: iam_resources.into_iter().map(Into::into).collect(),
            },
        )
    }

    /// The Lambda `Payload` (a literal, a reference or [`Params`]); by default the input.
    pub fn payload(mut self, payload: impl Into<Value>) -> Self {
        match &mut self.integration {
            Integration::LambdaInvoke { payload: p, .. } => *p = Payload::Value(payload.into()),
            Integration::StartExecution { input, .. } => *input = Payload::Value(payload.into()),
            _ => self.io.parameters = Some(payload.into()),
        }
        self
    }

    /// The Lambda `Payload` (or a started execution's `Input`) selected from the input.
    pub fn payload_path(mut self, path: &str) -> Self {
        match &mut self.integration {
            Integration::LambdaInvoke { payload: p, .. } => *p = Payload::Path(path.to_string()),
            Integration::StartExecution { input, .. } => *input = Payload::Path(path.to_string()),
            _ => {}
        }
        self
    }

    /// Whether a Lambda invoke retries Lambda's transient service errors (on by default:
    /// 6 attempts, 2 s apart, doubling).
    pub fn retry_on_service_exceptions(mut self, on: bool) -> Self {
        if let Integration::LambdaInvoke {
            retry_service_exceptions,
            ..
        } = &mut self.integration
        {
            *retry_service_exceptions = on;
        }
        self
    }

    /// Sets the integration pattern.
    pub fn integration_pattern(mut self, pattern: IntegrationPattern) -> Self {
        self.pattern = pattern;
        self
    }

    /// `.waitForTaskToken`: the task passes [`TASK_TOKEN`] on and waits for it.
    pub fn wait_for_task_token(self) -> Self {
        self.integration_pattern(IntegrationPattern::WaitForTaskToken)
    }

    /// `.sync`: the task waits for the job it starts.
    pub fn sync(self) -> Self {
        self.integration_pattern(IntegrationPattern::RunJob)
    }

    /// Sets `TimeoutSeconds`.
    pub fn timeout_seconds(mut self, seconds: u32) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Sets `HeartbeatSeconds` (smaller than the timeout).
    pub fn heartbeat_seconds(mut self, seconds: u32) -> Self {
        self.heartbeat_seconds = Some(seconds);
        self
    }

    /// Replaces the resources the role is granted the task's main action on (e.g. the
    /// function ARNs a task may invoke when the function is chosen at run time).
    pub fn iam_resources<V: Into<Value>>(mut self, resources: impl IntoIterator<Item = V>) -> Self {
        self.iam_resources = Some(resources.into_iter().map(Into::into).collect());
        self
    }

    /// Replaces the IAM action derived from an AWS SDK call (e.g. `s3:ListBucket` for
    /// `listObjectsV2`).
    pub fn iam_action(mut self, action: &str) -> Self {
        self.iam_action = Some(action.to_string());
        self
    }

    /// Adds a statement to the role, beyond what the integration needs.
    pub fn add_policy_statement(mut self, statement: PolicyStatement) -> Self {
        self.statements.push(statement);
        self
    }

    fn integration_name(&self) -> String {
        match &self.integration {
            Integration::LambdaInvoke { .. } => "lambda:invoke".into(),
            Integration::LambdaFunction { .. } => "a Lambda function ARN".into(),
            Integration::Sdk { service, action, .. } => format!("aws-sdk:{service}:{action}"),
            Integration::SendCommand(_) => "aws-sdk:ssm:sendCommand".into(),
            Integration::StartExecution { .. } => "states:startExecution".into(),
            Integration::Service { service, action, .. } => format!("{service}:{action}"),
        }
    }

    fn supports(&self, pattern: IntegrationPattern) -> bool {
        use IntegrationPattern::*;
        match (&self.integration, pattern) {
            (_, RequestResponse) => true,
            (Integration::LambdaFunction { .. }, _) => false,
            (Integration::StartExecution { .. }, _) => true,
            (_, WaitForTaskToken) => true,
            (Integration::Service { service, action, .. }, RunJob) => sync_service(service, action).is_some(),
            (_, RunJob) => false,
        }
    }

    fn resource(&self) -> Value {
        let suffix = match (self.pattern, &self.integration) {
            (IntegrationPattern::RequestResponse, _) => "",
            (IntegrationPattern::RunJob, Integration::StartExecution { .. }) => ".sync:2",
            (IntegrationPattern::RunJob, _) => ".sync",
            (IntegrationPattern::WaitForTaskToken, _) => ".waitForTaskToken",
        };
        let integration = match &self.integration {
            Integration::LambdaFunction { function } => return function.clone(),
            Integration::LambdaInvoke { .. } => "lambda:invoke".to_string(),
            Integration::Sdk { service, action, .. } => format!("aws-sdk:{service}:{action}"),
            Integration::SendCommand(_) => "aws-sdk:ssm:sendCommand".into(),
            Integration::StartExecution { .. } => "states:startExecution".into(),
            Integration::Service { service, action, .. } => format!("{service}:{action}"),
        };
        Value::from(format!("arn:aws:states:::{integration}{suffix}"))
    }

    /// `Parameters` as rendered: the integration's own keys, then the user's.
    fn rendered_parameters(&self) -> Option<Value> {
        let payload_entry = |m: &mut IndexMap<String, Value>, key: &str, p: &Payload| match p {
            Payload::Input => {
                m.insert(format!("{key}.$"), Value::from("$"));
            }
            Payload::Path(path) => {
                m.insert(format!("{key}.$"), Value::from(path.as_str()));
            }
            Payload::Value(v) => {
                m.insert(key.to_string(), v.clone());
            }
        };
        let mut base: IndexMap<String, Value> = IndexMap::new();
        match &self.integration {
            Integration::LambdaInvoke {
                function, payload, ..
            } => {
                base.insert("FunctionName".into(), function.clone());
                payload_entry(&mut base, "Payload", payload);
            }
            Integration::StartExecution { state_machine, input } => {
                base.insert("StateMachineArn".into(), state_machine.clone());
                payload_entry(&mut base, "Input", input);
            }
            Integration::SendCommand(c) => {
                base.insert("DocumentName".into(), c.document.clone());
                match &c.instances {
                    Instances::Ids(ids) => {
                        base.insert("InstanceIds".into(), Value::List(ids.clone()));
                    }
                    Instances::Path(p) => {
                        base.insert("InstanceIds.$".into(), Value::from(p.as_str()));
                    }
                    Instances::Targets(t) => {
                        base.insert("Targets".into(), t.clone());
                    }
                }
                if let Some(p) = &c.parameters {
                    base.insert("Parameters".into(), p.clone());
                }
                if let Some(comment) = &c.comment {
                    base.insert("Comment".into(), Value::from(comment.as_str()));
                }
            }
            _ => return self.io.parameters.clone(),
        }
        if let Some(Value::Map(user)) = &self.io.parameters {
            for (k, v) in user {
                let other = match k.strip_suffix(".$") {
                    Some(plain) => plain.to_string(),
                    None => format!("{k}.$"),
                };
                base.shift_remove(&other);
                base.insert(k.clone(), v.clone());
            }
        }
        Some(Value::Map(base))
    }

    fn rendered_retries(&self) -> Vec<Retry> {
        let mut out = Vec::new();
        if let Integration::LambdaInvoke {
            retry_service_exceptions: true,
            ..
        } = self.integration
        {
            out.push(Retry {
                errors: LAMBDA_SERVICE_ERRORS.iter().map(|e| e.to_string()).collect(),
                interval_seconds: Some(2),
                max_attempts: Some(6),
                backoff_rate: Some(2.0),
                ..Retry::default()
            });
        }
        out.extend(self.retries.iter().cloned());
        out
    }

    /// The statements the state machine's role needs for this task.
    fn policy_statements(&self) -> Vec<PolicyStatement> {
        let mut out = Vec::new();
        let resources = |default: Vec<Value>| self.iam_resources.clone().unwrap_or(default);
        match &self.integration {
            Integration::LambdaInvoke { function, .. } | Integration::LambdaFunction { function } => {
                out.push(
                    PolicyStatement::allow()
                        .actions(["lambda:InvokeFunction"])
                        .resources(resources(lambda_arns(function))),
                );
            }
            Integration::Sdk {
                iam_action,
                resources: r,
                ..
            } => {
                let action = self.iam_action.clone().unwrap_or_else(|| iam_action.clone());
                out.push(
                    PolicyStatement::allow()
                        .actions([action])
                        .resources(resources(r.clone())),
                );
            }
            Integration::SendCommand(c) => {
                let action = self
                    .iam_action
                    .clone()
                    .unwrap_or_else(|| "ssm:SendCommand".into());
                out.push(
                    PolicyStatement::allow()
                        .actions([action])
                        .resources(resources(c.iam_resources())),
                );
            }
            Integration::StartExecution { state_machine, .. } => {
                out.push(
                    PolicyStatement::allow()
                        .actions(["states:StartExecution"])
                        .resources(resources(vec![state_machine.clone()])),
                );
                if self.pattern == IntegrationPattern::RunJob {
                    out.push(
                        PolicyStatement::allow()
                            .actions(["states:DescribeExecution", "states:StopExecution"])
                            .resource(executions_of(state_machine)),
                    );
                    out.push(events_rule_statement(
                        "StepFunctionsGetEventsForStepFunctionsExecutionRule",
                    ));
                }
            }
            Integration::Service {
                service,
                action,
                resources: r,
            } => {
                let main = self
                    .iam_action
                    .clone()
                    .unwrap_or_else(|| format!("{service}:{}", upper_first(action)));
                let r = resources(r.clone());
                out.push(PolicyStatement::allow().actions([main]).resources(r.clone()));
                if self.pattern == IntegrationPattern::RunJob {
                    if let Some((rule, extra)) = sync_service(service, action) {
                        if !extra.is_empty() {
                            let on = if service == "ecs" {
                                vec![Value::from("*")]
                            } else {
                                r
                            };
                            out.push(
                                PolicyStatement::allow()
                                    .actions(extra.iter().copied())
                                    .resources(on),
                            );
                        }
                        if let Some(rule) = rule {
                            out.push(events_rule_statement(rule));
                        }
                    }
                }
            }
        }
        out.extend(self.statements.iter().cloned());
        out
    }

    fn main_iam_resources_empty(&self) -> bool {
        match &self.iam_resources {
            Some(r) => r.is_empty(),
            None => match &self.integration {
                Integration::Sdk { resources, .. } | Integration::Service { resources, .. } => {
                    resources.is_empty()
                }
                _ => false,
            },
        }
    }
}

fn sync_service(service: &str, action: &str) -> Option<(Option<&'static str>, &'static [&'static str])> {
    SYNC_SERVICES
        .iter()
        .find(|(s, a, _, _)| *s == service && *a == action)
        .map(|(_, _, rule, extra)| (*rule, *extra))
}

fn events_rule_statement(rule: &str) -> PolicyStatement {
    PolicyStatement::allow()
        .actions(["events:PutTargets", "events:PutRule", "events:DescribeRule"])
        .resource(Value::sub_with(
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${Rule}",
            [("Rule", Value::from(rule))],
        ))
}

/// The IAM service prefix of an AWS SDK service name where they differ.
fn sdk_iam_service(service: &str) -> &str {
    match service {
        "sfn" => "states",
        "cloudwatchlogs" => "logs",
        "efs" => "elasticfilesystem",
        "elasticloadbalancingv2" => "elasticloadbalancing",
        "mediapackagevod" => "mediapackage-vod",
        "mwaa" => "airflow",
        "sesv2" => "ses",
        other => other,
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The function ARN and its versions and aliases, for `lambda:InvokeFunction`.
fn lambda_arns(function: &Value) -> Vec<Value> {
    match function {
        Value::String(s) if s.starts_with("arn:") => {
            if s.split(':').count() > 7 {
                vec![function.clone()]
            } else {
                vec![function.clone(), Value::from(format!("{s}:*"))]
            }
        }
        Value::String(name) => {
            let arn = |suffix: &str| {
                Value::sub_with(
                    &format!("arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:${{Name}}{suffix}"),
                    [("Name", Value::from(name.as_str()))],
                )
            };
            vec![arn(""), arn(":*")]
        }
        other => vec![other.clone(), Value::join("", [other.clone(), Value::from(":*")])],
    }
}

/// `arn:...:execution:<state machine name>:*` for a state machine ARN.
fn executions_of(state_machine: &Value) -> Value {
    match state_machine {
        Value::String(s) if s.contains(":stateMachine:") => {
            Value::from(format!("{}:*", s.replacen(":stateMachine:", ":execution:", 1)))
        }
        other => Value::sub_with(
            "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Name}:*",
            [("Name", Value::select(6, Value::split(":", other.clone())))],
        ),
    }
}

/// An SSM `SendCommand` call for [`Task::ssm_send_command`].
///
/// ```
/// use cairn_constructs::stepfunctions::{Instances, Params, SendCommand, Task, TASK_TOKEN};
/// let cmd = SendCommand::new("AWS-RunShellScript", Instances::path("$.instanceIds"))
///     .parameters(Params::new().path(
///         "commands.$",
///         "States.Array(States.Format('/opt/patch.sh {}', $$.Task.Token))",
///     ))
///     .comment("patch");
/// let task = Task::ssm_send_command("Patch", cmd).wait_for_task_token();
/// # let _ = (task, TASK_TOKEN);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SendCommand {
    /// The document: an AWS-owned name (`AWS-RunShellScript`), one of the account's
    /// names, an ARN, or a reference (the `Ref` of an `AWS::SSM::Document`).
    pub document: Value,
    /// The instances it runs on.
    pub instances: Instances,
    /// The document's parameters (`Parameters`), e.g. `{"commands": [...]}`.
    pub parameters: Option<Value>,
    /// `Comment`.
    pub comment: Option<String>,
}

impl SendCommand {
    /// Runs `document` on `instances`.
    pub fn new(document: impl Into<Value>, instances: Instances) -> SendCommand {
        SendCommand {
            document: document.into(),
            instances,
            parameters: None,
            comment: None,
        }
    }

    /// Sets the document's parameters.
    pub fn parameters(mut self, parameters: impl Into<Value>) -> Self {
        self.parameters = Some(parameters.into());
        self
    }

    /// Sets the command's comment.
    pub fn comment(mut self, comment: &str) -> Self {
        self.comment = Some(comment.to_string());
        self
    }

    fn iam_resources(&self) -> Vec<Value> {
        let mut out = vec![ssm_document_arn(&self.document)];
        match &self.instances {
            Instances::Ids(ids) => out.extend(ids.iter().map(instance_arn)),
            Instances::Path(_) | Instances::Targets(_) => out.push(Value::sub(
                "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*",
            )),
        }
        out
    }
}

/// The instances a [`SendCommand`] runs on.
#[derive(Debug, Clone, PartialEq)]
pub enum Instances {
    /// Instance ids (literals or references), granted one by one.
    Ids(Vec<Value>),
    /// Ids selected from the input at run time (`InstanceIds.$`); grants every instance.
    Path(String),
    /// `Targets` (e.g. by tag); grants every instance.
    Targets(Value),
}

impl Instances {
    /// Fixed instance ids.
    pub fn ids<V: Into<Value>>(ids: impl IntoIterator<Item = V>) -> Instances {
        Instances::Ids(ids.into_iter().map(Into::into).collect())
    }

    /// Ids selected from the input.
    pub fn path(path: &str) -> Instances {
        Instances::Path(path.to_string())
    }
}

fn ssm_document_arn(document: &Value) -> Value {
    match document {
        Value::String(s) if s.starts_with("arn:") => document.clone(),
        Value::String(s) => {
            let lower = s.to_ascii_lowercase();
            let aws_owned = ["aws", "amazon", "amzn"].iter().any(|p| lower.starts_with(p));
            let template = if aws_owned {
                "arn:${AWS::Partition}:ssm:${AWS::Region}::document/${Name}"
            } else {
                "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:document/${Name}"
            };
            Value::sub_with(template, [("Name", document.clone())])
        }
        other => Value::sub_with(
            "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:document/${Name}",
            [("Name", other.clone())],
        ),
    }
}

fn instance_arn(id: &Value) -> Value {
    match id {
        Value::String(s) if s.starts_with("arn:") => id.clone(),
        Value::String(s) if s.starts_with("mi-") => Value::sub_with(
            "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:managed-instance/${Id}",
            [("Id", id.clone())],
        ),
        other => Value::sub_with(
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/${Id}",
            [("Id", other.clone())],
        ),
    }
}

// ------------------------------------------------------------- other states ----

/// The `Choice` state: branches on conditions ([`Definition::when`],
/// [`Definition::otherwise`]).
#[derive(Debug, Clone)]
pub struct Choice {
    name: String,
    io: Io,
}

state_impl!(Choice, Choice, std::convert::identity);
comment_method!(Choice);
path_methods!(Choice);

impl Choice {
    /// A Choice state; add branches with [`Definition::when`].
    pub fn new(name: &str) -> Choice {
        Choice {
            name: name.to_string(),
            io: Io::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum WaitFor {
    Seconds(u32),
    Timestamp(String),
    SecondsPath(String),
    TimestampPath(String),
}

/// The `Wait` state: pauses for a time or until a timestamp.
#[derive(Debug, Clone)]
pub struct Wait {
    name: String,
    io: Io,
    how: WaitFor,
}

state_impl!(Wait, Wait, std::convert::identity);
impl HasNext for Wait {}
comment_method!(Wait);
path_methods!(Wait);

impl Wait {
    fn with(name: &str, how: WaitFor) -> Wait {
        Wait {
            name: name.to_string(),
            io: Io::default(),
            how,
        }
    }

    /// Waits a number of seconds.
    pub fn seconds(name: &str, seconds: u32) -> Wait {
        Wait::with(name, WaitFor::Seconds(seconds))
    }

    /// Waits until an RFC 3339 timestamp, e.g. `2030-01-01T00:00:00Z`.
    pub fn timestamp(name: &str, timestamp: &str) -> Wait {
        Wait::with(name, WaitFor::Timestamp(timestamp.to_string()))
    }

    /// Waits the number of seconds found at a path of the input.
    pub fn seconds_path(name: &str, path: &str) -> Wait {
        Wait::with(name, WaitFor::SecondsPath(path.to_string()))
    }

    /// Waits until the timestamp found at a path of the input.
    pub fn timestamp_path(name: &str, path: &str) -> Wait {
        Wait::with(name, WaitFor::TimestampPath(path.to_string()))
    }
}

/// The `Pass` state: passes its input on, or a fixed result, or reshaped parameters.
#[derive(Debug, Clone)]
pub struct Pass {
    name: String,
    io: Io,
    result: Option<Value>,
}

state_impl!(Pass, Pass, std::convert::identity);
impl HasNext for Pass {}
comment_method!(Pass);
path_methods!(Pass);
parameters_method!(
    Pass,
    "Sets `Parameters`: a payload template that reshapes the input."
);

impl Pass {
    /// A Pass state.
    pub fn new(name: &str) -> Pass {
        Pass {
            name: name.to_string(),
            io: Io::default(),
            result: None,
        }
    }

    /// Sets `Result`: a fixed output.
    pub fn result(mut self, result: impl Into<Value>) -> Self {
        self.result = Some(result.into());
        self
    }

    /// Sets `ResultPath`.
    pub fn result_path(mut self, path: &str) -> Self {
        self.io.result_path = Some(Some(path.to_string()));
        self
    }

    /// Sets `ResultPath` to `null`: the input is passed on unchanged.
    pub fn discard_result(mut self) -> Self {
        self.io.result_path = Some(None);
        self
    }
}

/// The `Parallel` state: runs branches ([`Definition::branch`]) at the same time; its
/// result is the list of their outputs.
#[derive(Debug, Clone)]
pub struct Parallel {
    name: String,
    io: Io,
    retries: Vec<Retry>,
    catches: Vec<Catch>,
}

state_impl!(Parallel, Parallel, std::convert::identity);
impl HasNext for Parallel {}
comment_method!(Parallel);
path_methods!(Parallel);
result_methods!(Parallel);
handler_methods!(Parallel);
parameters_method!(Parallel, "Sets `Parameters`: the input every branch gets.");

impl Parallel {
    /// A Parallel state; add branches with [`Definition::branch`].
    pub fn new(name: &str) -> Parallel {
        Parallel {
            name: name.to_string(),
            io: Io::default(),
            retries: Vec::new(),
            catches: Vec::new(),
        }
    }
}

/// The `Map` state (inline mode): runs its item processor
/// ([`Definition::item_processor`]) for each item of a list of the input.
#[derive(Debug, Clone)]
pub struct Map {
    name: String,
    io: Io,
    items_path: Option<String>,
    max_concurrency: Option<u32>,
    item_selector: Option<Value>,
    retries: Vec<Retry>,
    catches: Vec<Catch>,
}

state_impl!(Map, Map, std::convert::identity);
impl HasNext for Map {}
comment_method!(Map);
path_methods!(Map);
result_methods!(Map);
handler_methods!(Map);
parameters_method!(
    Map,
    "Sets `Parameters`, the legacy name of the item selector (use [`Map::item_selector`] in new definitions; not both)."
);

impl Map {
    /// A Map state; add its states with [`Definition::item_processor`].
    pub fn new(name: &str) -> Map {
        Map {
            name: name.to_string(),
            io: Io::default(),
            items_path: None,
            max_concurrency: None,
            item_selector: None,
            retries: Vec::new(),
            catches: Vec::new(),
        }
    }

    /// Sets `ItemsPath`: the list to iterate over (default: the input itself).
    pub fn items_path(mut self, path: &str) -> Self {
        self.items_path = Some(path.to_string());
        self
    }

    /// Sets `MaxConcurrency` (0: as many as possible).
    pub fn max_concurrency(mut self, n: u32) -> Self {
        self.max_concurrency = Some(n);
        self
    }

    /// Sets `ItemSelector`: each iteration's input (`$$.Map.Item.Value` is the item).
    pub fn item_selector(mut self, selector: impl Into<Value>) -> Self {
        self.item_selector = Some(selector.into());
        self
    }
}

/// The `Succeed` state: ends the execution (or branch) successfully.
#[derive(Debug, Clone)]
pub struct Succeed {
    name: String,
    io: Io,
}

state_impl!(Succeed, Succeed, std::convert::identity);
comment_method!(Succeed);
path_methods!(Succeed);

impl Succeed {
    /// A Succeed state.
    pub fn new(name: &str) -> Succeed {
        Succeed {
            name: name.to_string(),
            io: Io::default(),
        }
    }
}

/// The `Fail` state: ends the execution with an error and a cause.
#[derive(Debug, Clone)]
pub struct Fail {
    name: String,
    io: Io,
    error: Option<String>,
    cause: Option<String>,
}

state_impl!(Fail, Fail, std::convert::identity);
comment_method!(Fail);

impl Fail {
    /// A Fail state.
    pub fn new(name: &str) -> Fail {
        Fail {
            name: name.to_string(),
            io: Io::default(),
            error: None,
            cause: None,
        }
    }

    /// Sets `Error`, the error name.
    pub fn error(mut self, error: &str) -> Self {
        self.error = Some(error.to_string());
        self
    }

    /// Sets `Cause`, a human-readable message.
    pub fn cause(mut self, cause: &str) -> Self {
        self.cause = Some(cause.to_string());
        self
    }
}

// ---------------------------------------------------------- retry and catch ----

/// A retrier: which errors to retry, how often and how far apart.
///
/// ```
/// use cairn_constructs::stepfunctions::{errors, Retry};
/// let r = Retry::on([errors::TIMEOUT]).interval_seconds(5).max_attempts(3).backoff_rate(2.0).jitter(true);
/// let same = Retry { errors: vec!["States.Timeout".into()], interval_seconds: Some(5), max_attempts: Some(3),
///                    backoff_rate: Some(2.0), jitter: true, ..Retry::default() };
/// assert_eq!(r, same);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Retry {
    /// `ErrorEquals`: the error names it applies to.
    pub errors: Vec<String>,
    /// `IntervalSeconds` before the first retry (ASL default 1).
    pub interval_seconds: Option<u32>,
    /// `MaxAttempts` (ASL default 3; 0 never retries).
    pub max_attempts: Option<u32>,
    /// `BackoffRate`, at least 1 (ASL default 2).
    pub backoff_rate: Option<f64>,
    /// `MaxDelaySeconds`: the cap of the interval.
    pub max_delay_seconds: Option<u32>,
    /// `JitterStrategy: FULL` when true.
    pub jitter: bool,
}

impl Retry {
    /// Retries the given errors.
    pub fn on<S: Into<String>>(errors: impl IntoIterator<Item = S>) -> Retry {
        Retry {
            errors: errors.into_iter().map(Into::into).collect(),
            ..Retry::default()
        }
    }

    /// Retries every error (`States.ALL`); must be the last retrier.
    pub fn all() -> Retry {
        Retry::on([errors::ALL])
    }

    /// Sets `IntervalSeconds`.
    pub fn interval_seconds(mut self, seconds: u32) -> Self {
        self.interval_seconds = Some(seconds);
        self
    }

    /// Sets `MaxAttempts`.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Sets `BackoffRate`.
    pub fn backoff_rate(mut self, rate: f64) -> Self {
        self.backoff_rate = Some(rate);
        self
    }

    /// Sets `MaxDelaySeconds`.
    pub fn max_delay_seconds(mut self, seconds: u32) -> Self {
        self.max_delay_seconds = Some(seconds);
        self
    }

    /// Sets `JitterStrategy` to `FULL` (or back to none).
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    fn check(&self) -> Result<(), String> {
        if self.errors.is_empty() {
            return Err("ErrorEquals is empty; name the errors to retry, or use Retry::all()".into());
        }
        if self.interval_seconds == Some(0) {
            return Err("IntervalSeconds must be at least 1".into());
        }
        if self.interval_seconds.is_some_and(|s| s > 99_999_999)
            || self.max_attempts.is_some_and(|s| s > 99_999_999)
        {
            return Err("IntervalSeconds and MaxAttempts must be at most 99999999".into());
        }
        if let Some(rate) = self.backoff_rate {
            if !rate.is_finite() || rate < 1.0 {
                return Err(format!("BackoffRate {rate} must be a number of at least 1.0"));
            }
        }
        if let Some(d) = self.max_delay_seconds {
            if d == 0 || d > 31_622_400 {
                return Err(format!("MaxDelaySeconds {d} must be between 1 and 31622400"));
            }
        }
        Ok(())
    }

    fn to_value(&self) -> Value {
        let mut m = IndexMap::new();
        m.insert("ErrorEquals".to_string(), strings(&self.errors));
        if let Some(s) = self.interval_seconds {
            m.insert("IntervalSeconds".into(), Value::from(s));
        }
        if let Some(s) = self.max_attempts {
            m.insert("MaxAttempts".into(), Value::from(s));
        }
        if let Some(r) = self.backoff_rate {
            m.insert("BackoffRate".into(), number_value(r));
        }
        if let Some(s) = self.max_delay_seconds {
            m.insert("MaxDelaySeconds".into(), Value::from(s));
        }
        if self.jitter {
            m.insert("JitterStrategy".into(), Value::from("FULL"));
        }
        Value::Map(m)
    }
}

/// A catcher: on which errors to go to which state, and where to put the error.
#[derive(Debug, Clone, PartialEq)]
pub struct Catch {
    /// `ErrorEquals`: the error names it applies to.
    pub errors: Vec<String>,
    /// `ResultPath`: where the error output goes in the input (default: replaces it).
    pub result_path: Option<String>,
    /// The state to continue with.
    pub next: StateId,
}

impl Catch {
    /// Catches the given errors.
    pub fn on<S: Into<String>>(errors: impl IntoIterator<Item = S>, next: impl Into<StateId>) -> Catch {
        Catch {
            errors: errors.into_iter().map(Into::into).collect(),
            result_path: None,
            next: next.into(),
        }
    }

    /// Catches every error (`States.ALL`); must be the last catcher.
    pub fn all(next: impl Into<StateId>) -> Catch {
        Catch::on([errors::ALL], next)
    }

    /// Sets `ResultPath`.
    pub fn result_path(mut self, path: &str) -> Self {
        self.result_path = Some(path.to_string());
        self
    }
}

fn strings(v: &[String]) -> Value {
    Value::List(v.iter().map(|s| Value::from(s.as_str())).collect())
}

fn number_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

/// Checks the `States.ALL` rules on a list of handlers' error lists.
fn check_all_last<'a>(
    lists: impl Iterator<Item = &'a Vec<String>>,
    count: usize,
) -> Result<(), (usize, String)> {
    for (i, errors) in lists.enumerate() {
        if errors.iter().any(|e| e == errors::ALL) {
            if errors.len() > 1 {
                return Err((i + 1, "States.ALL must be the only error of its list".into()));
            }
            if i + 1 != count {
                return Err((i + 1, "the one with States.ALL must be the last".into()));
            }
        }
    }
    Ok(())
}

// --------------------------------------------------------------- conditions ----

/// A number for numeric comparisons.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer.
    Int(i64),
    /// A floating point number (finite).
    Float(f64),
}

impl From<i64> for Number {
    fn from(i: i64) -> Self {
        Number::Int(i)
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Self {
        Number::Int(i64::from(i))
    }
}

impl From<u32> for Number {
    fn from(i: u32) -> Self {
        Number::Int(i64::from(i))
    }
}

impl From<f64> for Number {
    fn from(f: f64) -> Self {
        Number::Float(f)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Compare {
        variable: String,
        operator: &'static str,
        value: Value,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

/// A condition of a [`Choice`] branch.
///
/// ```
/// use cairn_constructs::stepfunctions::Condition;
/// let ready = Condition::and([
///     Condition::is_present("$.status"),
///     Condition::string_equals("$.status", "stopped"),
///     Condition::not(Condition::numeric_greater_than("$.attempts", 5)),
/// ]);
/// # let _ = ready;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Condition(Cond);

macro_rules! comparisons {
    ($( $(#[$doc:meta])* $fn:ident, $path_fn:ident, $op:literal, $ty:ty, $conv:expr; )*) => {
        impl Condition {
            $(
                $(#[$doc])*
                pub fn $fn(variable: &str, value: $ty) -> Condition {
                    Condition::compare(variable, $op, $conv(value))
                }

                #[doc = concat!("`", $op, "Path`: compares with the value at another path of the input.")]
                pub fn $path_fn(variable: &str, path: &str) -> Condition {
                    Condition::compare(variable, concat!($op, "Path"), Value::from(path))
                }
            )*
        }
    };
}

fn str_value(s: &str) -> Value {
    Value::from(s)
}

fn num_value(n: impl Into<Number>) -> Value {
    match n.into() {
        Number::Int(i) => Value::Int(i),
        Number::Float(f) => Value::Float(f),
    }
}

comparisons! {
    /// `StringEquals`.
    string_equals, string_equals_path, "StringEquals", &str, str_value;
    /// `StringLessThan`.
    string_less_than, string_less_than_path, "StringLessThan", &str, str_value;
    /// `StringLessThanEquals`.
    string_less_than_equals, string_less_than_equals_path, "StringLessThanEquals", &str, str_value;
    /// `StringGreaterThan`.
    string_greater_than, string_greater_than_path, "StringGreaterThan", &str, str_value;
    /// `StringGreaterThanEquals`.
    string_greater_than_equals, string_greater_than_equals_path, "StringGreaterThanEquals", &str, str_value;
    /// `NumericEquals`.
    numeric_equals, numeric_equals_path, "NumericEquals", impl Into<Number>, num_value;
    /// `NumericLessThan`.
    numeric_less_than, numeric_less_than_path, "NumericLessThan", impl Into<Number>, num_value;
    /// `NumericLessThanEquals`.
    numeric_less_than_equals, numeric_less_than_equals_path, "NumericLessThanEquals", impl Into<Number>, num_value;
    /// `NumericGreaterThan`.
    numeric_greater_than, numeric_greater_than_path, "NumericGreaterThan", impl Into<Number>, num_value;
    /// `NumericGreaterThanEquals`.
    numeric_greater_than_equals, numeric_greater_than_equals_path, "NumericGreaterThanEquals", impl Into<Number>, num_value;
    /// `BooleanEquals`.
    boolean_equals, boolean_equals_path, "BooleanEquals", bool, Value::Bool;
    /// `TimestampEquals` (an RFC 3339 timestamp).
    timestamp_equals, timestamp_equals_path, "TimestampEquals", &str, str_value;
    /// `TimestampLessThan`.
    timestamp_less_than, timestamp_less_than_path, "TimestampLessThan", &str, str_value;
    /// `TimestampLessThanEquals`.
    timestamp_less_than_equals, timestamp_less_than_equals_path, "TimestampLessThanEquals", &str, str_value;
    /// `TimestampGreaterThan`.
    timestamp_greater_than, timestamp_greater_than_path, "TimestampGreaterThan", &str, str_value;
    /// `TimestampGreaterThanEquals`.
    timestamp_greater_than_equals, timestamp_greater_than_equals_path, "TimestampGreaterThanEquals", &str, str_value;
}

impl Condition {
    fn compare(variable: &str, operator: &'static str, value: Value) -> Condition {
        Condition(Cond::Compare {
            variable: variable.to_string(),
            operator,
            value,
        })
    }

    /// `StringMatches`: a pattern where `*` matches anything (`\\*` is a literal star).
    pub fn string_matches(variable: &str, pattern: &str) -> Condition {
        Condition::compare(variable, "StringMatches", Value::from(pattern))
    }

    /// `IsPresent: true`.
    pub fn is_present(variable: &str) -> Condition {
        Condition::compare(variable, "IsPresent", Value::Bool(true))
    }

    /// `IsPresent: false`.
    pub fn is_not_present(variable: &str) -> Condition {
        Condition::compare(variable, "IsPresent", Value::Bool(false))
    }

    /// `IsNull: true`.
    pub fn is_null(variable: &str) -> Condition {
        Condition::compare(variable, "IsNull", Value::Bool(true))
    }

    /// `IsNull: false`.
    pub fn is_not_null(variable: &str) -> Condition {
        Condition::compare(variable, "IsNull", Value::Bool(false))
    }

    /// `IsString: true`.
    pub fn is_string(variable: &str) -> Condition {
        Condition::compare(variable, "IsString", Value::Bool(true))
    }

    /// `IsNumeric: true`.
    pub fn is_numeric(variable: &str) -> Condition {
        Condition::compare(variable, "IsNumeric", Value::Bool(true))
    }

    /// `IsBoolean: true`.
    pub fn is_boolean(variable: &str) -> Condition {
        Condition::compare(variable, "IsBoolean", Value::Bool(true))
    }

    /// `IsTimestamp: true`.
    pub fn is_timestamp(variable: &str) -> Condition {
        Condition::compare(variable, "IsTimestamp", Value::Bool(true))
    }

    /// `And`: every condition holds.
    pub fn and(conditions: impl IntoIterator<Item = Condition>) -> Condition {
        Condition(Cond::And(conditions.into_iter().collect()))
    }

    /// `Or`: at least one condition holds.
    pub fn or(conditions: impl IntoIterator<Item = Condition>) -> Condition {
        Condition(Cond::Or(conditions.into_iter().collect()))
    }

    /// `Not`: the condition does not hold.
    #[allow(clippy::should_implement_trait)]
    pub fn not(condition: Condition) -> Condition {
        Condition(Cond::Not(Box::new(condition)))
    }

    fn check(&self, state: &str) -> DefResult<()> {
        match &self.0 {
            Cond::Compare {
                variable,
                operator,
                value,
            } => {
                check_path(state, "Variable", variable)?;
                match value {
                    Value::String(s) if operator.ends_with("Path") => check_path(state, operator, s),
                    Value::String(s) if operator.starts_with("Timestamp") && !is_timestamp(s) => {
                        Err(invalid(
                            state,
                            operator,
                            s,
                            "use an RFC 3339 timestamp such as 2030-01-01T00:00:00Z",
                        ))
                    }
                    Value::Float(f) if !f.is_finite() => {
                        Err(invalid(state, operator, &f.to_string(), "numbers must be finite"))
                    }
                    _ => Ok(()),
                }
            }
            Cond::And(cs) | Cond::Or(cs) => {
                if cs.is_empty() {
                    let op = if matches!(self.0, Cond::And(_)) {
                        "And"
                    } else {
                        "Or"
                    };
                    return Err(invalid(state, op, "[]", "give at least one condition"));
                }
                cs.iter().try_for_each(|c| c.check(state))
            }
            Cond::Not(c) => c.check(state),
        }
    }

    fn to_value(&self) -> Value {
        match &self.0 {
            Cond::Compare {
                variable,
                operator,
                value,
            } => Value::map([
                ("Variable", Value::from(variable.as_str())),
                (*operator, value.clone()),
            ]),
            Cond::And(cs) => Value::map([("And", Value::List(cs.iter().map(Condition::to_value).collect()))]),
            Cond::Or(cs) => Value::map([("Or", Value::List(cs.iter().map(Condition::to_value).collect()))]),
            Cond::Not(c) => Value::map([("Not", c.to_value())]),
        }
    }
}

fn invalid(state: &str, field: &str, value: &str, reason: &str) -> DefinitionError {
    DefinitionError::InvalidField {
        state: state.to_string(),
        field: field.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn check_path(state: &str, field: &str, path: &str) -> DefResult<()> {
    if path.starts_with('$') {
        Ok(())
    } else {
        Err(invalid(
            state,
            field,
            path,
            "paths start with '$' (e.g. \"$.status\")",
        ))
    }
}

/// RFC 3339 as ASL accepts it: `YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)`.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, to: usize| b.get(from..to).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(digits(0, 4)
        && at(4, b'-')
        && digits(5, 7)
        && at(7, b'-')
        && digits(8, 10)
        && at(10, b'T')
        && digits(11, 13)
        && at(13, b':')
        && digits(14, 16)
        && at(16, b':')
        && digits(17, 19))
    {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            b.len() == i + 6 && digits(i + 1, i + 3) && at(i + 3, b':') && digits(i + 4, i + 6)
        }
        _ => false,
    }
}

/// Checks a payload template: an object whose `key.$` fields hold paths or intrinsic
/// functions.
fn check_payload(state: &str, field: &str, v: &Value) -> DefResult<()> {
    if !matches!(v, Value::Map(_)) {
        return Err(invalid(
            state,
            field,
            &describe(v),
            "a payload template is an object (use Params)",
        ));
    }
    fn walk(state: &str, field: &str, v: &Value) -> DefResult<()> {
        match v {
            Value::Map(m) => {
                for (k, x) in m {
                    if k.ends_with(".$") {
                        match x {
                            Value::String(s) if s.starts_with('$') || s.starts_with("States.") => {}
                            other => {
                                return Err(invalid(
                                    state,
                                    &format!("{field}.{k}"),
                                    &describe(other),
                                    "a `.$` field holds a path (\"$.x\", \"$$.Task.Token\") or an intrinsic function (\"States.Format(..)\")",
                                ))
                            }
                        }
                    } else {
                        walk(state, field, x)?;
                    }
                }
                Ok(())
            }
            Value::List(items) => items.iter().try_for_each(|x| walk(state, field, x)),
            _ => Ok(()),
        }
    }
    walk(state, field, v)
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Intrinsic(_) => "<a CloudFormation reference>".into(),
        other => format!("{other:?}"),
    }
}

/// True when a `.$` field of the template refers to the task token.
fn mentions_task_token(v: &Value) -> bool {
    match v {
        Value::Map(m) => m.iter().any(|(k, x)| {
            (k.ends_with(".$") && x.as_str().is_some_and(|s| s.contains(TASK_TOKEN)))
                || mentions_task_token(x)
        }),
        Value::List(items) => items.iter().any(mentions_task_token),
        _ => false,
    }
}

// --------------------------------------------------------------- definition ----

static NEXT_DEFINITION: AtomicU32 = AtomicU32::new(1);

#[derive(Debug, Clone, Copy)]
enum Owner {
    Top,
    Branch { parallel: usize, index: usize },
    Processor { map: usize },
}

#[derive(Debug, Clone)]
struct ScopeData {
    owner: Owner,
    start: Option<usize>,
    states: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Entry {
    scope: usize,
    body: Body,
    next: Option<usize>,
    end: bool,
    choices: Vec<(Condition, usize)>,
    default: Option<usize>,
    /// Scopes of a Parallel's branches.
    branches: Vec<usize>,
    /// Scope of a Map's item processor.
    processor: Option<usize>,
}

/// A state machine definition: states in an arena, addressed by typed handles.
///
/// ```
/// use cairn_constructs::stepfunctions::{Definition, Map, Pass, Succeed, DefinitionError};
///
/// # fn main() -> Result<(), DefinitionError> {
/// let mut def = Definition::new();
/// let each = def.add(Map::new("Each").items_path("$.items").max_concurrency(2))?;
/// let body = def.item_processor(each)?;
/// let shape = def.add_in(body, Pass::new("Shape"))?;
/// def.end(shape)?;
/// let done = def.add(Succeed::new("Done"))?;
/// def.chain(each).next(done)?;
/// let asl = def.to_value()?;
/// assert_eq!(asl.as_map().unwrap()["StartAt"], "Each".into());
///
/// // Names are unique in the whole state machine:
/// let err = def.add(Pass::new("Shape")).unwrap_err();
/// assert!(err.to_string().contains("the item processor of Map 'Each'"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Definition {
    id: u32,
    comment: Option<String>,
    states: Vec<Entry>,
    scopes: Vec<ScopeData>,
    names: IndexMap<String, usize>,
}

impl Default for Definition {
    fn default() -> Self {
        Definition::new()
    }
}

/// A chain of transitions from a state: `def.chain(a).next(b)?.next(c)?.end()?`.
#[derive(Debug)]
pub struct Chain<'d, S> {
    def: &'d mut Definition,
    last: StateRef<S>,
}

impl<S: State> Chain<'_, S> {
    /// The last state of the chain.
    pub fn last(&self) -> StateRef<S> {
        self.last
    }
}

impl<'d, S: HasNext> Chain<'d, S> {
    /// Makes the last state continue with `to`, which becomes the last.
    pub fn next<T: State>(self, to: StateRef<T>) -> DefResult<Chain<'d, T>> {
        self.def.next(self.last, to)?;
        Ok(Chain {
            def: self.def,
            last: to,
        })
    }

    /// Makes the last state end the execution (or its branch).
    pub fn end(self) -> DefResult<StateRef<S>> {
        self.def.end(self.last)?;
        Ok(self.last)
    }
}

impl Definition {
    /// An empty definition.
    pub fn new() -> Definition {
        Definition {
            id: NEXT_DEFINITION.fetch_add(1, Ordering::Relaxed),
            comment: None,
            states: Vec::new(),
            scopes: vec![ScopeData {
                owner: Owner::Top,
                start: None,
                states: Vec::new(),
            }],
            names: IndexMap::new(),
        }
    }

    /// Sets the top-level `Comment`.
    pub fn set_comment(&mut self, comment: &str) {
        self.comment = Some(comment.to_string());
    }

    /// The top level.
    pub fn top(&self) -> Scope {
        Scope {
            def: self.id,
            index: 0,
        }
    }

    /// Adds a state at the top level. The first state of a scope is its start state
    /// unless [`Definition::start_at`] says otherwise.
    pub fn add<S: State>(&mut self, state: S) -> DefResult<StateRef<S>> {
        self.add_in(self.top(), state)
    }

    /// Adds a state in a scope (a Parallel branch, a Map item processor, or the top).
    pub fn add_in<S: State>(&mut self, scope: Scope, state: S) -> DefResult<StateRef<S>> {
        let scope = self.scope_index(scope)?;
        let StateBody(body) = state.into_body();
        let name = body.name().to_string();
        self.check_name(&name, scope)?;
        let index = self.states.len();
        self.check_body(&body, scope)?;
        self.states.push(Entry {
            scope,
            body,
            next: None,
            end: false,
            choices: Vec::new(),
            default: None,
            branches: Vec::new(),
            processor: None,
        });
        self.names.insert(name, index);
        let data = &mut self.scopes[scope];
        data.states.push(index);
        if data.start.is_none() {
            data.start = Some(index);
        }
        Ok(StateRef {
            def: self.id,
            index: index as u32,
            _s: PhantomData,
        })
    }

    /// Adds a branch to a Parallel state; add its states with [`Definition::add_in`].
    pub fn branch(&mut self, parallel: StateRef<Parallel>) -> DefResult<Scope> {
        let p = self.state_index(parallel.into())?;
        let index = self.states[p].branches.len();
        let scope = self.new_scope(Owner::Branch { parallel: p, index });
        self.states[p].branches.push(scope);
        Ok(Scope {
            def: self.id,
            index: scope as u32,
        })
    }

    /// The item processor of a Map state (created on first use); add its states with
    /// [`Definition::add_in`].
    pub fn item_processor(&mut self, map: StateRef<Map>) -> DefResult<Scope> {
        let m = self.state_index(map.into())?;
        let scope = match self.states[m].processor {
            Some(s) => s,
            None => {
                let s = self.new_scope(Owner::Processor { map: m });
                self.states[m].processor = Some(s);
                s
            }
        };
        Ok(Scope {
            def: self.id,
            index: scope as u32,
        })
    }

    /// Makes a state the start state of its scope.
    pub fn start_at(&mut self, state: impl Into<StateId>) -> DefResult<()> {
        let i = self.state_index(state.into())?;
        let scope = self.states[i].scope;
        self.scopes[scope].start = Some(i);
        Ok(())
    }

    /// Starts a chain of transitions at `first`.
    pub fn chain<S: State>(&mut self, first: StateRef<S>) -> Chain<'_, S> {
        Chain {
            def: self,
            last: first,
        }
    }

    /// Makes `from` continue with `to` (`Next`).
    pub fn next<S: HasNext>(&mut self, from: StateRef<S>, to: impl Into<StateId>) -> DefResult<()> {
        let f = self.state_index(from.into())?;
        let t = self.state_index(to.into())?;
        self.check_same_scope(f, t)?;
        let e = &self.states[f];
        if e.end || e.next.is_some_and(|n| n != t) {
            return Err(DefinitionError::TransitionAlreadySet {
                name: self.name(f).to_string(),
                existing: self.describe_transition(f),
                new: format!("go to '{}'", self.name(t)),
            });
        }
        self.states[f].next = Some(t);
        Ok(())
    }

    /// Makes a state end the execution, or its branch or item iteration (`End: true`).
    pub fn end<S: HasNext>(&mut self, state: StateRef<S>) -> DefResult<()> {
        let i = self.state_index(state.into())?;
        if self.states[i].next.is_some() {
            return Err(DefinitionError::TransitionAlreadySet {
                name: self.name(i).to_string(),
                existing: self.describe_transition(i),
                new: "end the execution".into(),
            });
        }
        self.states[i].end = true;
        Ok(())
    }

    /// Adds a branch to a Choice state: when `condition` holds, continue with `next`.
    /// Branches are evaluated in the order they were added.
    pub fn when(
        &mut self,
        choice: StateRef<Choice>,
        condition: Condition,
        next: impl Into<StateId>,
    ) -> DefResult<()> {
        let c = self.state_index(choice.into())?;
        let t = self.state_index(next.into())?;
        self.check_same_scope(c, t)?;
        condition.check(self.name(c))?;
        self.states[c].choices.push((condition, t));
        Ok(())
    }

    /// Sets the `Default` of a Choice state: where to go when no condition holds.
    pub fn otherwise(&mut self, choice: StateRef<Choice>, next: impl Into<StateId>) -> DefResult<()> {
        let c = self.state_index(choice.into())?;
        let t = self.state_index(next.into())?;
        self.check_same_scope(c, t)?;
        if let Some(d) = self.states[c].default.filter(|d| *d != t) {
            return Err(DefinitionError::TransitionAlreadySet {
                name: self.name(c).to_string(),
                existing: format!("defaults to '{}'", self.name(d)),
                new: format!("default to '{}'", self.name(t)),
            });
        }
        self.states[c].default = Some(t);
        Ok(())
    }

    /// Adds a retrier to a Task, Parallel or Map state.
    pub fn add_retry<S: Catchable>(&mut self, state: StateRef<S>, retry: Retry) -> DefResult<()> {
        let i = self.state_index(state.into())?;
        let mut body = self.states[i].body.clone();
        if let Some((retries, _)) = body.handlers_mut() {
            retries.push(retry);
        }
        self.check_handlers(&body, self.states[i].scope)?;
        self.states[i].body = body;
        Ok(())
    }

    /// Adds a catcher to a Task, Parallel or Map state.
    pub fn add_catch<S: Catchable>(&mut self, state: StateRef<S>, catch: Catch) -> DefResult<()> {
        let i = self.state_index(state.into())?;
        let mut body = self.states[i].body.clone();
        if let Some((_, catches)) = body.handlers_mut() {
            catches.push(catch);
        }
        self.check_handlers(&body, self.states[i].scope)?;
        self.states[i].body = body;
        Ok(())
    }

    /// The name of a state of this definition.
    pub fn name_of(&self, state: impl Into<StateId>) -> Option<&str> {
        self.state_index(state.into()).ok().map(|i| self.name(i))
    }

    /// The number of states, in every scope.
    pub fn len(&self) -> usize {
        self.states.len()
    }

    /// True when no state was added.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Checks the whole graph: every scope has states, every state is reachable from its
    /// scope's start, has its transition, every Choice a branch, every scope an end.
    pub fn validate(&self) -> DefResult<()> {
        if self.states.is_empty() {
            return Err(DefinitionError::Empty);
        }
        for (s, scope) in self.scopes.iter().enumerate() {
            let Some(start) = scope.start else {
                return Err(DefinitionError::EmptyScope {
                    scope: self.describe_scope(s),
                });
            };
            for &i in &scope.states {
                let e = &self.states[i];
                if e.body.has_next() && e.next.is_none() && !e.end {
                    return Err(DefinitionError::MissingTransition {
                        name: self.name(i).to_string(),
                        scope: self.describe_scope(s),
                    });
                }
                match &e.body {
                    Body::Choice(_) if e.choices.is_empty() => {
                        return Err(DefinitionError::ChoiceWithoutBranch {
                            name: self.name(i).to_string(),
                        })
                    }
                    Body::Parallel(_) if e.branches.is_empty() => {
                        return Err(DefinitionError::ParallelWithoutBranch {
                            name: self.name(i).to_string(),
                        })
                    }
                    Body::Map(_) if e.processor.is_none() => {
                        return Err(DefinitionError::MapWithoutProcessor {
                            name: self.name(i).to_string(),
                        })
                    }
                    _ => {}
                }
            }
            let reached = self.reachable(start);
            if let Some(&lost) = scope.states.iter().find(|i| !reached.contains(i)) {
                return Err(DefinitionError::Unreachable {
                    name: self.name(lost).to_string(),
                    scope: self.describe_scope(s),
                    start: self.name(start).to_string(),
                });
            }
            let terminal = scope.states.iter().any(|&i| {
                let e = &self.states[i];
                e.end || matches!(e.body, Body::Succeed(_) | Body::Fail(_))
            });
            if !terminal {
                return Err(DefinitionError::NoTerminalState {
                    scope: self.describe_scope(s),
                });
            }
        }
        Ok(())
    }

    /// The definition as Amazon States Language, after [`Definition::validate`]. References
    /// (`Fn::GetAtt` of a function ARN ...) stay in place as intrinsics.
    pub fn to_value(&self) -> DefResult<Value> {
        self.render(None)
    }

    /// The definition as a JSON string in which every CloudFormation reference is a
    /// `${Name}` placeholder, and the placeholders' values: the `DefinitionString` and
    /// `DefinitionSubstitutions` of an `AWS::StepFunctions::StateMachine`.
    pub fn to_definition_string(&self) -> DefResult<(String, IndexMap<String, Value>)> {
        let value = self.to_value()?;
        Ok(definition_string(&value, &|_| None))
    }

    /// The IAM statements the state machine's role needs for the tasks, deduplicated.
    pub fn policy_statements(&self) -> Vec<PolicyStatement> {
        let mut out: Vec<PolicyStatement> = Vec::new();
        for e in &self.states {
            if let Body::Task(t) = &e.body {
                for s in t.policy_statements() {
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
            }
        }
        out
    }

    /// The tasks that use an integration pattern other than request-response, by name.
    pub fn waiting_tasks(&self) -> Vec<(&str, IntegrationPattern)> {
        self.states
            .iter()
            .filter_map(|e| match &e.body {
                Body::Task(t) if t.pattern != IntegrationPattern::RequestResponse => {
                    Some((t.name.as_str(), t.pattern))
                }
                _ => None,
            })
            .collect()
    }

    // -------------------------------------------------------------- internals --

    fn name(&self, i: usize) -> &str {
        self.states[i].body.name()
    }

    fn new_scope(&mut self, owner: Owner) -> usize {
        self.scopes.push(ScopeData {
            owner,
            start: None,
            states: Vec::new(),
        });
        self.scopes.len() - 1
    }

    fn scope_index(&self, scope: Scope) -> DefResult<usize> {
        if scope.def != self.id || scope.index as usize >= self.scopes.len() {
            return Err(DefinitionError::ForeignHandle { what: "a scope" });
        }
        Ok(scope.index as usize)
    }

    fn state_index(&self, id: StateId) -> DefResult<usize> {
        if id.def != self.id || id.index as usize >= self.states.len() {
            return Err(DefinitionError::ForeignHandle { what: "a state" });
        }
        Ok(id.index as usize)
    }

    fn describe_scope(&self, s: usize) -> String {
        match self.scopes[s].owner {
            Owner::Top => "the top level".into(),
            Owner::Branch { parallel, index } => {
                format!("branch {} of Parallel '{}'", index + 1, self.name(parallel))
            }
            Owner::Processor { map } => format!("the item processor of Map '{}'", self.name(map)),
        }
    }

    fn describe_transition(&self, i: usize) -> String {
        match self.states[i].next {
            Some(n) => format!("goes to '{}'", self.name(n)),
            None => "ends the execution".into(),
        }
    }

    fn check_same_scope(&self, from: usize, to: usize) -> DefResult<()> {
        let (a, b) = (self.states[from].scope, self.states[to].scope);
        if a != b {
            return Err(DefinitionError::CrossScopeTransition {
                from: self.name(from).to_string(),
                from_scope: self.describe_scope(a),
                to: self.name(to).to_string(),
                to_scope: self.describe_scope(b),
            });
        }
        Ok(())
    }

    fn check_name(&self, name: &str, scope: usize) -> DefResult<()> {
        let reason = if name.is_empty() {
            Some("names must not be empty")
        } else if name.chars().count() > 80 {
            Some("names are at most 80 characters")
        } else if name.chars().any(char::is_control) {
            Some("names must not contain control characters")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(DefinitionError::InvalidStateName {
                name: name.to_string(),
                reason,
            });
        }
        if let Some(&existing) = self.names.get(name) {
            return Err(DefinitionError::DuplicateStateName {
                name: name.to_string(),
                first: self.describe_scope(self.states[existing].scope),
                second: self.describe_scope(scope),
            });
        }
        Ok(())
    }

    /// Checks what a state holds on its own (paths, templates, task settings, handlers).
    fn check_body(&self, body: &Body, scope: usize) -> DefResult<()> {
        let name = body.name();
        let io = body.io();
        if let Some(p) = &io.input_path {
            check_path(name, "InputPath", p)?;
        }
        if let Some(p) = &io.output_path {
            check_path(name, "OutputPath", p)?;
        }
        if let Some(Some(p)) = &io.result_path {
            check_path(name, "ResultPath", p)?;
        }
        if let Some(s) = &io.result_selector {
            check_payload(name, "ResultSelector", s)?;
        }
        if let Some(p) = &io.parameters {
            check_payload(name, "Parameters", p)?;
        }
        match body {
            Body::Task(t) => self.check_task(t)?,
            Body::Wait(w) => match &w.how {
                WaitFor::Timestamp(ts) if !is_timestamp(ts) => {
                    return Err(invalid(
                        name,
                        "Timestamp",
                        ts,
                        "use an RFC 3339 timestamp such as 2030-01-01T00:00:00Z",
                    ))
                }
                WaitFor::SecondsPath(p) => check_path(name, "SecondsPath", p)?,
                WaitFor::TimestampPath(p) => check_path(name, "TimestampPath", p)?,
                _ => {}
            },
            Body::Map(m) => {
                if let Some(p) = &m.items_path {
                    check_path(name, "ItemsPath", p)?;
                }
                if let Some(s) = &m.item_selector {
                    check_payload(name, "ItemSelector", s)?;
                    if io.parameters.is_some() {
                        return Err(invalid(
                            name,
                            "Parameters",
                            "(set)",
                            "ItemSelector replaces the legacy Parameters of a Map; set only one",
                        ));
                    }
                }
            }
            _ => {}
        }
        self.check_handlers(body, scope)
    }

    fn check_task(&self, t: &Task) -> DefResult<()> {
        let name = t.name.as_str();
        if !t.supports(t.pattern) {
            return Err(DefinitionError::UnsupportedPattern {
                state: name.to_string(),
                integration: t.integration_name(),
                pattern: t.pattern,
            });
        }
        if let Integration::Sdk { service, action, .. } | Integration::Service { service, action, .. } =
            &t.integration
        {
            let service_ok = !service.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !service_ok {
                return Err(invalid(
                    name,
                    "Resource",
                    service,
                    "the service is lowercase, e.g. \"ssm\" or \"ec2\"",
                ));
            }
            if !action.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                return Err(invalid(
                    name,
                    "Resource",
                    action,
                    "the action is camelCase as in the SDK, e.g. \"sendCommand\"",
                ));
            }
        }
        if t.main_iam_resources_empty() {
            return Err(DefinitionError::MissingIamResources {
                state: name.to_string(),
                integration: t.integration_name(),
            });
        }
        if let Integration::LambdaInvoke {
            payload: Payload::Path(p),
            ..
        }
        | Integration::StartExecution {
            input: Payload::Path(p),
            ..
        } = &t.integration
        {
            check_path(name, "Payload", p)?;
        }
        if let Integration::SendCommand(c) = &t.integration {
            if let Instances::Path(p) = &c.instances {
                check_path(name, "InstanceIds", p)?;
            }
        }
        let params = t.rendered_parameters();
        if let Some(p) = &params {
            check_payload(name, "Parameters", p)?;
        }
        if t.pattern == IntegrationPattern::WaitForTaskToken
            && !params.as_ref().is_some_and(mentions_task_token)
        {
            return Err(DefinitionError::MissingTaskToken {
                state: name.to_string(),
            });
        }
        if matches!(t.timeout_seconds, Some(0)) {
            return Err(invalid(name, "TimeoutSeconds", "0", "give at least 1 second"));
        }
        if let Some(h) = t.heartbeat_seconds {
            if h == 0 {
                return Err(invalid(name, "HeartbeatSeconds", "0", "give at least 1 second"));
            }
            if let Some(timeout) = t.timeout_seconds.filter(|timeout| h >= *timeout) {
                return Err(invalid(
                    name,
                    "HeartbeatSeconds",
                    &h.to_string(),
                    &format!("it must be smaller than TimeoutSeconds ({timeout})"),
                ));
            }
        }
        Ok(())
    }

    fn check_handlers(&self, body: &Body, scope: usize) -> DefResult<()> {
        let Some((retries, catches)) = body.handlers() else {
            return Ok(());
        };
        let name = body.name();
        let retries_rendered;
        let retries = match body {
            Body::Task(t) => {
                retries_rendered = t.rendered_retries();
                &retries_rendered
            }
            _ => retries,
        };
        for (i, r) in retries.iter().enumerate() {
            r.check().map_err(|reason| DefinitionError::InvalidRetry {
                state: name.to_string(),
                index: i + 1,
                reason,
            })?;
        }
        check_all_last(retries.iter().map(|r| &r.errors), retries.len()).map_err(|(index, reason)| {
            DefinitionError::InvalidRetry {
                state: name.to_string(),
                index,
                reason,
            }
        })?;
        for (i, c) in catches.iter().enumerate() {
            let err = |reason: String| DefinitionError::InvalidCatch {
                state: name.to_string(),
                index: i + 1,
                reason,
            };
            if c.errors.is_empty() {
                return Err(err(
                    "ErrorEquals is empty; name the errors to catch, or use Catch::all(..)".into(),
                ));
            }
            if let Some(p) = &c.result_path {
                check_path(name, "Catch.ResultPath", p)?;
            }
            let target = self.state_index(c.next)?;
            let target_scope = self.states[target].scope;
            if target_scope != scope {
                return Err(err(format!(
                    "it goes to '{}' in {}, but the state is in {}: transitions stay within one branch or item processor",
                    self.name(target),
                    self.describe_scope(target_scope),
                    self.describe_scope(scope)
                )));
            }
        }
        check_all_last(catches.iter().map(|c| &c.errors), catches.len()).map_err(|(index, reason)| {
            DefinitionError::InvalidCatch {
                state: name.to_string(),
                index,
                reason,
            }
        })
    }

    fn successors(&self, i: usize) -> Vec<usize> {
        let e = &self.states[i];
        let mut out: Vec<usize> = e.next.into_iter().collect();
        out.extend(e.choices.iter().map(|(_, t)| *t));
        out.extend(e.default);
        if let Some((_, catches)) = e.body.handlers() {
            // Catch targets were checked when added; a stale one is simply not followed.
            out.extend(catches.iter().filter_map(|c| self.state_index(c.next).ok()));
        }
        out
    }

    fn reachable(&self, start: usize) -> Vec<usize> {
        let mut seen = vec![start];
        let mut todo = vec![start];
        while let Some(i) = todo.pop() {
            for n in self.successors(i) {
                if !seen.contains(&n) {
                    seen.push(n);
                    todo.push(n);
                }
            }
        }
        seen
    }

    pub(crate) fn render(&self, timeout_seconds: Option<u64>) -> DefResult<Value> {
        self.validate()?;
        let mut m = IndexMap::new();
        if let Some(c) = &self.comment {
            m.insert("Comment".to_string(), Value::from(c.as_str()));
        }
        self.render_scope_into(0, &mut m);
        if let Some(t) = timeout_seconds {
            m.insert("TimeoutSeconds".into(), Value::Int(t as i64));
        }
        Ok(Value::Map(m))
    }

    fn render_scope_into(&self, s: usize, m: &mut IndexMap<String, Value>) {
        let scope = &self.scopes[s];
        if let Some(start) = scope.start {
            m.insert("StartAt".into(), Value::from(self.name(start)));
        }
        let states = scope
            .states
            .iter()
            .map(|&i| (self.name(i).to_string(), self.render_state(i)))
            .collect();
        m.insert("States".into(), Value::Map(states));
    }

    fn render_state(&self, i: usize) -> Value {
        let e = &self.states[i];
        let io = e.body.io();
        let mut m: IndexMap<String, Value> = IndexMap::new();
        let ty = match &e.body {
            Body::Task(_) => "Task",
            Body::Choice(_) => "Choice",
            Body::Wait(_) => "Wait",
            Body::Pass(_) => "Pass",
            Body::Parallel(_) => "Parallel",
            Body::Map(_) => "Map",
            Body::Succeed(_) => "Succeed",
            Body::Fail(_) => "Fail",
        };
        m.insert("Type".into(), Value::from(ty));
        if let Some(c) = &io.comment {
            m.insert("Comment".into(), Value::from(c.as_str()));
        }
        if let Some(p) = &io.input_path {
            m.insert("InputPath".into(), Value::from(p.as_str()));
        }
        match &e.body {
            Body::Task(t) => {
                m.insert("Resource".into(), t.resource());
                if let Some(p) = t.rendered_parameters() {
                    m.insert("Parameters".into(), p);
                }
            }
            Body::Choice(_) => {
                let choices = e
                    .choices
                    .iter()
                    .map(|(c, t)| {
                        let mut v = c.to_value();
                        if let Some(m) = v.as_map_mut() {
                            m.insert("Next".into(), Value::from(self.name(*t)));
                        }
                        v
                    })
                    .collect();
                m.insert("Choices".into(), Value::List(choices));
                if let Some(d) = e.default {
                    m.insert("Default".into(), Value::from(self.name(d)));
                }
            }
            Body::Wait(w) => {
                let (k, v) = match &w.how {
                    WaitFor::Seconds(s) => ("Seconds", Value::from(*s)),
                    WaitFor::Timestamp(t) => ("Timestamp", Value::from(t.as_str())),
                    WaitFor::SecondsPath(p) => ("SecondsPath", Value::from(p.as_str())),
                    WaitFor::TimestampPath(p) => ("TimestampPath", Value::from(p.as_str())),
                };
                m.insert(k.into(), v);
            }
            Body::Pass(p) => {
                if let Some(params) = &io.parameters {
                    m.insert("Parameters".into(), params.clone());
                }
                if let Some(r) = &p.result {
                    m.insert("Result".into(), r.clone());
                }
            }
            Body::Parallel(_) => {
                if let Some(params) = &io.parameters {
                    m.insert("Parameters".into(), params.clone());
                }
                let branches = e
                    .branches
                    .iter()
                    .map(|&s| {
                        let mut b = IndexMap::new();
                        self.render_scope_into(s, &mut b);
                        Value::Map(b)
                    })
                    .collect();
                m.insert("Branches".into(), Value::List(branches));
            }
            Body::Map(map) => {
                if let Some(p) = &map.items_path {
                    m.insert("ItemsPath".into(), Value::from(p.as_str()));
                }
                if let Some(n) = map.max_concurrency {
                    m.insert("MaxConcurrency".into(), Value::from(n));
                }
                if let Some(s) = &map.item_selector {
                    m.insert("ItemSelector".into(), s.clone());
                }
                if let Some(params) = &io.parameters {
                    m.insert("Parameters".into(), params.clone());
                }
                let mut p = IndexMap::new();
                p.insert(
                    "ProcessorConfig".to_string(),
                    Value::map([("Mode", Value::from("INLINE"))]),
                );
                if let Some(s) = e.processor {
                    self.render_scope_into(s, &mut p);
                }
                m.insert("ItemProcessor".into(), Value::Map(p));
            }
            Body::Succeed(_) => {}
            Body::Fail(f) => {
                if let Some(x) = &f.error {
                    m.insert("Error".into(), Value::from(x.as_str()));
                }
                if let Some(x) = &f.cause {
                    m.insert("Cause".into(), Value::from(x.as_str()));
                }
            }
        }
        if let Some(s) = &io.result_selector {
            m.insert("ResultSelector".into(), s.clone());
        }
        match &io.result_path {
            Some(Some(p)) => {
                m.insert("ResultPath".into(), Value::from(p.as_str()));
            }
            Some(None) => {
                m.insert("ResultPath".into(), Value::Null);
            }
            None => {}
        }
        if let Some(p) = &io.output_path {
            m.insert("OutputPath".into(), Value::from(p.as_str()));
        }
        if let Body::Task(t) = &e.body {
            if let Some(s) = t.timeout_seconds {
                m.insert("TimeoutSeconds".into(), Value::from(s));
            }
            if let Some(s) = t.heartbeat_seconds {
                m.insert("HeartbeatSeconds".into(), Value::from(s));
            }
        }
        if let Some((retries, catches)) = e.body.handlers() {
            let retries = match &e.body {
                Body::Task(t) => t.rendered_retries(),
                _ => retries.clone(),
            };
            if !retries.is_empty() {
                m.insert(
                    "Retry".into(),
                    Value::List(retries.iter().map(Retry::to_value).collect()),
                );
            }
            if !catches.is_empty() {
                let catches = catches
                    .iter()
                    .map(|c| {
                        let mut v = IndexMap::new();
                        v.insert("ErrorEquals".to_string(), strings(&c.errors));
                        if let Some(p) = &c.result_path {
                            v.insert("ResultPath".into(), Value::from(p.as_str()));
                        }
                        let next = self.state_index(c.next).map(|n| self.name(n)).unwrap_or_default();
                        v.insert("Next".into(), Value::from(next));
                        Value::Map(v)
                    })
                    .collect();
                m.insert("Catch".into(), Value::List(catches));
            }
        }
        if let Some(n) = e.next {
            m.insert("Next".into(), Value::from(self.name(n)));
        } else if e.end {
            m.insert("End".into(), Value::Bool(true));
        }
        Value::Map(m)
    }
}

// ------------------------------------------------------ definition string ----

/// Renders an ASL value as compact JSON text; every intrinsic becomes a `"${Key}"`
/// string, its value kept under `Key`. `name` proposes a key for an intrinsic.
fn definition_string(
    value: &Value,
    name: &dyn Fn(&Value) -> Option<String>,
) -> (String, IndexMap<String, Value>) {
    // Keys must not collide with `${...}` text the definition holds literally.
    let mut literal_text = String::new();
    collect_literals(value, &mut literal_text);
    let mut subs: IndexMap<String, Value> = IndexMap::new();
    let mut out = String::new();
    write_json(value, &mut out, &mut |v: &Value| {
        if let Some((k, _)) = subs.iter().find(|(_, x)| *x == v) {
            return k.clone();
        }
        let base = name(v).unwrap_or_else(|| "Ref".into());
        let mut n = 0usize;
        loop {
            let key = if n == 0 && base != "Ref" {
                base.clone()
            } else {
                format!("{base}{n}")
            };
            if !subs.contains_key(&key) && !literal_text.contains(&format!("${{{key}}}")) {
                subs.insert(key.clone(), v.clone());
                return key;
            }
            n += 1;
        }
    });
    (out, subs)
}

fn collect_literals(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::List(items) => items.iter().for_each(|i| collect_literals(i, out)),
        Value::Map(m) => m.iter().for_each(|(k, x)| {
            out.push_str(k);
            out.push('\n');
            collect_literals(x, out);
        }),
        _ => {}
    }
}

fn write_json(v: &Value, out: &mut String, key_of: &mut dyn FnMut(&Value) -> String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => out.push_str(&n.to_string()),
            None => out.push_str("null"),
        },
        Value::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
        Value::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, out, key_of);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_json(x, out, key_of);
            }
            out.push('}');
        }
        Value::Intrinsic(_) => {
            let key = key_of(v);
            out.push_str(&format!("\"${{{key}}}\""));
        }
    }
}

// ------------------------------------------------------------ state machine ----

/// `STANDARD` (durable, up to a year, exactly once) or `EXPRESS` (high volume, up to 5
/// minutes, at least once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateMachineType {
    /// Standard workflows.
    #[default]
    Standard,
    /// Express workflows: no `.sync` or `.waitForTaskToken` tasks.
    Express,
}

/// What execution history is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// Every event.
    All,
    /// Errors (the default).
    #[default]
    Error,
    /// Only fatal errors.
    Fatal,
    /// Nothing.
    Off,
}

/// Logging of a state machine's executions to CloudWatch Logs.
#[derive(Debug, Clone, PartialEq)]
pub struct LogOptions {
    /// What is logged.
    pub level: LogLevel,
    /// Whether input and output data are logged too (off by default: they may hold
    /// secrets).
    pub include_execution_data: bool,
    /// The log group ARN (ending in `:*`, as `Fn::GetAtt ... Arn` does). `None` creates
    /// a [`LogGroup`] with its defaults (encrypted with the stack's log group key, kept
    /// two years, retained), named under `/aws/vendedlogs/states/`.
    pub destination: Option<Value>,
}

impl LogOptions {
    /// Logs at `level` to an existing log group.
    pub fn to(group: &LogGroup, level: LogLevel) -> LogOptions {
        LogOptions {
            level,
            include_execution_data: false,
            destination: Some(group.log_group_arn()),
        }
    }
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            level: LogLevel::Error,
            include_execution_data: false,
            destination: None,
        }
    }
}

/// Settings of a [`StateMachine`].
#[derive(Debug, Clone)]
pub struct StateMachineProps {
    /// The states.
    pub definition: Definition,
    /// Standard or Express.
    pub state_machine_type: StateMachineType,
    /// A physical name; generated by CloudFormation when `None` (recommended).
    pub state_machine_name: Option<Value>,
    /// The execution timeout (the definition's `TimeoutSeconds`).
    pub timeout: Option<Duration>,
    /// Logging; on by default (level `ERROR` to a created log group). `None` turns it off.
    pub logs: Option<LogOptions>,
    /// X-Ray tracing.
    pub tracing: bool,
    /// The role; one assumed by `states.amazonaws.com` is created when `None`. Either way
    /// the role gets the permissions the tasks, logging and tracing need.
    pub role: Option<Role>,
}

impl StateMachineProps {
    /// A standard state machine with the defaults.
    pub fn new(definition: Definition) -> StateMachineProps {
        StateMachineProps {
            definition,
            state_machine_type: StateMachineType::Standard,
            state_machine_name: None,
            timeout: None,
            logs: Some(LogOptions::default()),
            tracing: false,
            role: None,
        }
    }
}

/// What can go wrong creating a [`StateMachine`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The definition is invalid.
    #[error("state machine '{path}': {source}")]
    InvalidDefinition {
        /// The construct path of the state machine.
        path: String,
        /// What is wrong.
        #[source]
        source: Box<DefinitionError>,
    },
    /// A definition error outside of a state machine (building a definition with `?`).
    #[error(transparent)]
    Definition(Box<DefinitionError>),
    /// An Express state machine has a task that waits.
    #[error("state machine '{path}' is EXPRESS, but state '{state}' uses the {pattern} integration pattern, which only STANDARD state machines support")]
    ExpressPattern {
        /// The construct path.
        path: String,
        /// The state.
        state: String,
        /// Its pattern.
        pattern: IntegrationPattern,
    },
    /// The timeout is under one second.
    #[error("state machine '{path}': the timeout must be at least one second")]
    InvalidTimeout {
        /// The construct path.
        path: String,
    },
    /// A tree error (duplicate id ...).
    #[error(transparent)]
    Construct(#[from] cairn_core::Error),
}

/// A Step Functions state machine (`AWS::StepFunctions::StateMachine`) with its role,
/// and a log group unless logging is off or sent elsewhere.
///
/// ```
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_constructs::stepfunctions::{Definition, Pass, StateMachine, StateMachineProps};
/// use cairn_core::App;
///
/// # fn main() -> Result<(), cairn_constructs::stepfunctions::Error> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let mut def = Definition::new();
/// let hello = def.add(Pass::new("Hello").result("world"))?;
/// def.end(hello)?;
/// let machine = StateMachine::new(&mut app, stack, "Hello", StateMachineProps::new(def))?;
/// let caller = Role::new(&mut app, stack, "Caller", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
/// machine.grant_start_execution(&mut app, &caller)?;
/// let asm = app.synth()?;
/// let stack = asm.stack("S").unwrap();
/// let id = stack.resources_of_type("AWS::StepFunctions::StateMachine")[0];
/// let props = &stack.template["Resources"][id]["Properties"];
/// assert_eq!(props["LoggingConfiguration"]["Level"], "ERROR");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StateMachine {
    node: NodeId,
    resource: Res<CfnStateMachine>,
    role: Role,
    log_group: Option<LogGroup>,
}

impl From<DefinitionError> for Error {
    fn from(e: DefinitionError) -> Error {
        Error::Definition(Box::new(e))
    }
}

/// So apps can use `?` on [`StateMachine::new`] in functions returning
/// `cairn_core::Result`: errors naming a state machine become
/// [`cairn_core::Error::InvalidProps`] at its path.
///
/// ```
/// use cairn_constructs::stepfunctions::{Definition, StateMachine, StateMachineProps};
/// use cairn_core::App;
///
/// fn build(app: &mut App) -> cairn_core::Result<()> {
///     let stack = app.stack("S")?;
///     // An empty definition: refused, naming the state machine.
///     StateMachine::new(app, stack, "Jobs", StateMachineProps::new(Definition::new()))?;
///     Ok(())
/// }
/// let err = build(&mut App::new()).unwrap_err();
/// assert!(matches!(&err, cairn_core::Error::InvalidProps { path, .. } if path == "S/Jobs"), "{err}");
/// ```
impl From<Error> for cairn_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Construct(c) => c,
            Error::InvalidDefinition { path, source } => cairn_core::Error::InvalidProps {
                path,
                problem: source.to_string(),
            },
            Error::ExpressPattern { ref path, .. } | Error::InvalidTimeout { ref path } => {
                cairn_core::Error::InvalidProps {
                    path: path.clone(),
                    problem: e.to_string(),
                }
            }
            Error::Definition(d) => cairn_core::Error::InvalidProps {
                path: "(state machine definition)".into(),
                problem: d.to_string(),
            },
        }
    }
}

impl StateMachine {
    /// Creates the state machine as construct `id` under `scope`: validates the definition,
    /// creates (or extends) the role with what the tasks need, the log group, and the L1.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: StateMachineProps,
    ) -> Result<StateMachine, Error> {
        let scope = scope.into();
        app.try_node(scope)?;
        let scope_path = app.path(scope);
        let path = if scope_path.is_empty() {
            id.to_string()
        } else {
            format!("{scope_path}/{id}")
        };
        let timeout = match props.timeout {
            Some(t) if t.as_secs() == 0 => return Err(Error::InvalidTimeout { path }),
            Some(t) => Some(t.as_secs()),
            None => None,
        };
        let definition = props
            .definition
            .render(timeout)
            .map_err(|source| Error::InvalidDefinition {
                path: path.clone(),
                source: Box::new(source),
            })?;
        if props.state_machine_type == StateMachineType::Express {
            if let Some((state, pattern)) = props.definition.waiting_tasks().into_iter().next() {
                return Err(Error::ExpressPattern {
                    path,
                    state: state.to_string(),
                    pattern,
                });
            }
        }

        let node = app.construct(scope, id)?;
        let created_role = props.role.is_none();
        let role = match props.role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "Role",
                RoleProps::new(Principal::service("states.amazonaws.com")),
            )?,
        };
        for s in props.definition.policy_statements() {
            role.add_to_policy(app, s)?;
        }

        let mut log_group = None;
        let logging = match &props.logs {
            None => None,
            Some(l) if l.level == LogLevel::Off => Some(state_machine::LoggingConfiguration {
                level: Some(state_machine::Level::Off.into()),
                ..Default::default()
            }),
            Some(l) => {
                let arn = match &l.destination {
                    Some(d) => d.clone(),
                    None => {
                        let group = create_log_group(app, node)?;
                        log_group = Some(group);
                        group.log_group_arn()
                    }
                };
                role.add_to_policy(
                    app,
                    PolicyStatement::allow()
                        .actions([
                            "logs:CreateLogDelivery",
                            "logs:GetLogDelivery",
                            "logs:UpdateLogDelivery",
                            "logs:DeleteLogDelivery",
                            "logs:ListLogDeliveries",
                            "logs:PutResourcePolicy",
                            "logs:DescribeResourcePolicies",
                            "logs:DescribeLogGroups",
                        ])
                        .resource("*"),
                )?;
                let level = match l.level {
                    LogLevel::All => state_machine::Level::All,
                    LogLevel::Error => state_machine::Level::Error,
                    LogLevel::Fatal => state_machine::Level::Fatal,
                    LogLevel::Off => state_machine::Level::Off,
                };
                let destination = state_machine::LogDestination {
                    cloud_watch_logs_log_group: Some(
                        state_machine::CloudWatchLogsLogGroup {
                            log_group_arn: Some(arn.into()),
                        }
                        .into(),
                    ),
                };
                Some(state_machine::LoggingConfiguration {
                    destinations: Some(vec![destination.into()].into()),
                    include_execution_data: Some(l.include_execution_data.into()),
                    level: Some(level.into()),
                })
            }
        };
        if props.tracing {
            role.add_to_policy(
                app,
                PolicyStatement::allow()
                    .actions([
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                    ])
                    .resource("*"),
            )?;
        }

        let namer = |v: &Value| substitution_name(app, v);
        let (text, substitutions) = definition_string(&definition, &namer);
        let mut l1 = CfnStateMachine::new(role.arn());
        l1.definition_string = Some(text.into());
        if !substitutions.is_empty() {
            l1.definition_substitutions = Some(substitutions.into());
        }
        if props.state_machine_type == StateMachineType::Express {
            l1.state_machine_type = Some(state_machine::StateMachineType::Express.into());
        }
        l1.state_machine_name = props.state_machine_name.map(Into::into);
        l1.logging_configuration = logging.map(Into::into);
        if props.tracing {
            l1.tracing_configuration = Some(
                state_machine::TracingConfiguration {
                    enabled: Some(true.into()),
                }
                .into(),
            );
        }
        let resource = app.add(node, "Resource", l1)?;

        // The role's policy is in place before the state machine is created (Step
        // Functions checks the logging permissions then).
        let own_stack = app.stack_of(node);
        let mut depends_on = Vec::new();
        if let Some(p) = role.default_policy(app) {
            if app.stack_of(p) == own_stack {
                depends_on.push(p);
            }
        }
        if created_role {
            depends_on.push(role.resource().node());
        }
        app.resource_options_mut(resource)?.depends_on.extend(depends_on);

        Ok(StateMachine {
            node,
            resource,
            role,
            log_group,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnStateMachine> {
        self.resource
    }

    /// The role the state machine runs with.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The log group created for it, if one was.
    pub fn log_group(&self) -> Option<LogGroup> {
        self.log_group
    }

    /// The state machine's ARN (`Ref`).
    pub fn state_machine_arn(&self) -> Value {
        self.resource.ref_()
    }

    /// The state machine's name.
    pub fn state_machine_name(&self) -> Value {
        self.resource.attr_name()
    }

    /// The ARN pattern of its executions: `arn:...:execution:<name>:*`.
    pub fn executions_arn(&self) -> Value {
        Value::sub_with(
            "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Name}:*",
            [("Name", self.state_machine_name())],
        )
    }

    /// Grants actions on the state machine.
    pub fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> cairn_core::Result<()> {
        iam::grant(app, grantee, actions, [self.state_machine_arn()])
    }

    /// Grants actions on the state machine's executions.
    pub fn grant_execution<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> cairn_core::Result<()> {
        iam::grant(app, grantee, actions, [self.executions_arn()])
    }

    /// Grants `states:StartExecution`.
    pub fn grant_start_execution(&self, app: &mut App, grantee: &impl Grantable) -> cairn_core::Result<()> {
        self.grant(app, grantee, ["states:StartExecution"])
    }

    /// Grants `states:StartSyncExecution` (Express state machines).
    pub fn grant_start_sync_execution(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
    ) -> cairn_core::Result<()> {
        self.grant(app, grantee, ["states:StartSyncExecution"])
    }

    /// Grants reading the state machine and its executions.
    pub fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> cairn_core::Result<()> {
        self.grant(
            app,
            grantee,
            ["states:ListExecutions", "states:DescribeStateMachine"],
        )?;
        self.grant_execution(
            app,
            grantee,
            [
                "states:DescribeExecution",
                "states:DescribeStateMachineForExecution",
                "states:GetExecutionHistory",
            ],
        )?;
        iam::grant(
            app,
            grantee,
            ["states:ListStateMachines", "states:ListActivities"],
            [Value::from("*")],
        )
    }

    /// Grants returning task tokens: `states:SendTaskSuccess`, `SendTaskFailure`,
    /// `SendTaskHeartbeat`.
    pub fn grant_task_response(&self, app: &mut App, grantee: &impl Grantable) -> cairn_core::Result<()> {
        self.grant(
            app,
            grantee,
            [
                "states:SendTaskSuccess",
                "states:SendTaskFailure",
                "states:SendTaskHeartbeat",
            ],
        )
    }

    /// Adds a statement to the state machine's role.
    pub fn add_to_role_policy(&self, app: &mut App, statement: PolicyStatement) -> cairn_core::Result<()> {
        self.role.add_to_policy(app, statement)
    }
}

impl Grantable for StateMachine {
    fn grant_role(&self) -> Role {
        self.role
    }
}

impl From<StateMachine> for NodeId {
    fn from(s: StateMachine) -> NodeId {
        s.node
    }
}

/// A readable substitution key for a reference: `ProcessArn` for the `Arn` of
/// `.../Process/Resource`.
fn substitution_name(app: &App, v: &Value) -> Option<String> {
    let Value::Intrinsic(i) = v else { return None };
    let (node, attr) = match i.as_ref() {
        Intrinsic::GetAtt(Target::Node(n), a) => (*n, a.as_str()),
        Intrinsic::Ref(Target::Node(n)) => (*n, ""),
        _ => return None,
    };
    let mut cur = Some(node);
    let mut id = None;
    while let Some(c) = cur {
        let n = app.try_node(c).ok()?;
        if n.id() != "Resource" && n.id() != "Default" {
            id = Some(n.id().to_string());
            break;
        }
        cur = n.parent();
    }
    let name: String = format!("{}{}", id?, attr.replace('.', ""))
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    (!name.is_empty()).then_some(name)
}

fn create_log_group(app: &mut App, node: NodeId) -> cairn_core::Result<LogGroup> {
    let unique = match app.stack_of(node) {
        Some(s) => cairn_core::make_unique_id(&app.path_from(s.node(), node)),
        None => app.node(node).id().to_string(),
    };
    // Under /aws/vendedlogs/ Step Functions needs no log resource policy (whose size is
    // limited); the stack id's UUID keeps a retained group from blocking a redeploy.
    let stack_uuid = Value::select(2, Value::split("/", Value::pseudo(Pseudo::StackId)));
    let name = Value::join(
        "",
        [
            Value::from("/aws/vendedlogs/states/"),
            Value::pseudo(Pseudo::StackName),
            Value::from(format!("-{unique}-")),
            stack_uuid,
        ],
    );
    LogGroup::new(
        app,
        node,
        "LogGroup",
        LogGroupProps {
            log_group_name: Some(name),
            ..LogGroupProps::default()
        },
    )
}
