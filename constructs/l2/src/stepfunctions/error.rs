//! The errors of a definition: each names the state and where it is.

use cairn_core::{App, NodeId};

use super::task::IntegrationPattern;

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

impl DefinitionError {
    /// The error as an [`cairn_core::Error::InvalidProps`] at the construct that uses the
    /// definition (its state machine, or the stack it is built for), so a function
    /// returning `cairn_core::Result` can use `?`:
    /// `def.add(state).map_err(|e| e.at(app, stack))?`.
    pub fn at(&self, app: &App, node: impl Into<NodeId>) -> cairn_core::Error {
        app.invalid_props(node, format!("invalid definition: {self}"))
    }
}

pub(super) type DefResult<T> = Result<T, DefinitionError>;
