//! State machines of the app and state machines that exist already: the
//! [`StateMachineRef`] trait and `StateMachine::from_state_machine_arn`.

use cairn_core::{App, Construct, NodeId, Result, Value};

use super::machine::StateMachine;
use crate::iam::{self, Grantable};
use crate::imported::{import_node, parse_arn, ArnFormat};

/// A state machine, created by this app ([`StateMachine`]) or existing
/// ([`ImportedStateMachine`]); grants go to the grantee's identity policy.
pub trait StateMachineRef: Construct {
    /// The state machine's ARN.
    fn state_machine_arn(&self) -> Value;
    /// The state machine's name.
    fn state_machine_name(&self) -> Value;

    /// The ARN pattern of its executions: `arn:...:execution:<name>:*`.
    fn executions_arn(&self) -> Value {
        Value::sub_with(
            "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Name}:*",
            [("Name", self.state_machine_name())],
        )
    }

    /// Grants actions on the state machine.
    fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()>
    where
        Self: Sized,
    {
        iam::grant(app, grantee, actions, [self.state_machine_arn()])
    }

    /// Grants actions on the state machine's executions.
    fn grant_execution<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()>
    where
        Self: Sized,
    {
        iam::grant(app, grantee, actions, [self.executions_arn()])
    }

    /// Grants `states:StartExecution`.
    fn grant_start_execution(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        self.grant(app, grantee, ["states:StartExecution"])
    }

    /// Grants `states:StartSyncExecution` (Express state machines).
    fn grant_start_sync_execution(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        self.grant(app, grantee, ["states:StartSyncExecution"])
    }

    /// Grants reading the state machine and its executions.
    fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
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
    fn grant_task_response(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
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
}

impl StateMachineRef for StateMachine {
    fn state_machine_arn(&self) -> Value {
        StateMachine::state_machine_arn(self)
    }

    fn state_machine_name(&self) -> Value {
        StateMachine::state_machine_name(self)
    }
}

/// A state machine that exists outside the app ([`StateMachine::from_state_machine_arn`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedStateMachine {
    node: NodeId,
    arn: Value,
    name: Value,
}

impl StateMachine {
    /// A state machine that exists, by ARN (`arn:aws:states:<region>:<account>:stateMachine:<name>`).
    /// An ARN of another service, or of no state machine, is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::stepfunctions::{StateMachine, StateMachineRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let m = StateMachine::from_state_machine_arn(&mut app, stack, "Fulfil",
    ///     "arn:aws:states:eu-west-1:123456789012:stateMachine:fulfil")?;
    /// assert_eq!(m.state_machine_name(), "fulfil".into());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_state_machine_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
    ) -> Result<ImportedStateMachine> {
        let node = import_node(app, scope, id)?;
        let arn = arn.into();
        let example = "arn:aws:states:us-east-1:123456789012:stateMachine:my-machine";
        let parts = parse_arn(
            app,
            node,
            &arn,
            "states",
            Some("stateMachine"),
            ArnFormat::Colon,
            example,
        )?;
        Ok(ImportedStateMachine {
            node,
            arn,
            name: parts.resource_name,
        })
    }
}

impl StateMachineRef for ImportedStateMachine {
    fn state_machine_arn(&self) -> Value {
        self.arn.clone()
    }

    fn state_machine_name(&self) -> Value {
        self.name.clone()
    }
}

imported_handle!(ImportedStateMachine);
