//! Step Functions: a typed state builder that produces Amazon States Language (ASL), and
//! the [`StateMachine`] construct with a role computed from what its tasks call.
//!
//! States are added to a [`Definition`], which hands back typed, `Copy` handles
//! ([`StateRef<Task>`], [`StateRef<Choice>`] ...). Transitions are set through the
//! definition, so only states that can have a `Next` get one (`def.chain(a).next(b)`),
//! only a [`Choice`] gets conditions, and only `Task`, `Parallel` and `Map` get retries and
//! catches. Names are unique in the whole state machine, and the graph is validated
//! (unreachable states, missing transitions, a Choice without branches, paths, retries,
//! task tokens ...) with [`DefinitionError`]s that name the state and where it is;
//! [`StateMachine::new`] reports them at its path.
//!
//! A [`Task`] calls a service through a [`TaskIntegration`], bound to the task when it is
//! added (its `Resource`, `Parameters` and the statements the role needs): the built-in
//! constructors ([`Task::lambda_invoke`], [`Task::aws_sdk`], [`Task::service`] ...) are
//! implementations, and [`Task::new`] takes one of your own.
//!
//! Values from the rest of the app (a function ARN from another stack, a document name)
//! embed anywhere in the definition as [`Value`](cairn_core::Value)s: the construct
//! renders a literal `DefinitionString` (by serde_json) with `${Name}` placeholders and the
//! references in
//! `DefinitionSubstitutions`, which cfn-lint validates as ASL and CloudFormation resolves.
//! The tasks' integration ARNs are such references too (`arn:${AWS::Partition}:states:::..`,
//! see [`integration_arn`]), so a definition deploys in every partition.
//!
//! ```
//! use cairn_constructs::stepfunctions::{
//!     Catch, Choice, Condition, Definition, Fail, Retry, StateMachine, StateMachineProps,
//!     Succeed, Task, Wait,
//! };
//! use cairn_core::App;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
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
//! // The integration's ARN in the stack's partition, through a substitution.
//! assert_eq!(asl["States"]["Check"]["Resource"], "${LambdaInvoke}");
//! let subs = &stack.template["Resources"][id]["Properties"]["DefinitionSubstitutions"];
//! assert_eq!(subs["LambdaInvoke"]["Fn::Join"][1][1]["Ref"], "AWS::Partition");
//! # let _ = machine;
//! # Ok(())
//! # }
//! ```

pub use cairn_cfn::stepfunctions::*;

mod condition;
mod definition;
mod error;
mod existing;
mod fields;
mod integrations;
mod machine;
mod render;
mod retry;
mod state;
mod states;
mod task;
mod validate;

pub use condition::{Condition, Number};
pub use definition::{Chain, Definition};
pub use error::DefinitionError;
pub use existing::{ImportedStateMachine, StateMachineRef};
pub use fields::Params;
pub use integrations::{Instances, SendCommand};
pub use machine::{LogLevel, LogOptions, StateMachine, StateMachineProps, StateMachineType};
pub use retry::{Catch, Retry};
pub use state::{Catchable, HasNext, Scope, State, StateBody, StateId, StateRef};
pub use states::{Choice, Fail, Map, Parallel, Pass, Succeed, Wait};
pub use task::{integration_arn, IntegrationConfig, IntegrationPattern, Task, TaskContext, TaskIntegration};

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
