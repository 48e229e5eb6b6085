//! The [`Definition`]: states in an arena, transitions, and the checks of the graph.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::marker::PhantomData;

use indexmap::IndexMap;

use cairn_core::Value;

use super::condition::Condition;
use super::error::{DefResult, DefinitionError};
use super::render::definition_string;
use super::retry::{Catch, Retry};
use super::state::{Body, Catchable, HasNext, Scope, State, StateBody, StateId, StateRef};
use super::states::{Choice, Map, Parallel};
use super::task::IntegrationPattern;
use crate::iam::PolicyStatement;

/// A fresh definition id, so a handle of one definition is refused by another: drawn from
/// std's per-process hash keys (no state of our own, as an app's id is); it never reaches
/// the output.
fn fresh_id() -> u32 {
    let mut h = RandomState::new().build_hasher();
    h.write_u8(0);
    let x = h.finish();
    (x ^ (x >> 32)) as u32
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Owner {
    Top,
    Branch { parallel: usize, index: usize },
    Processor { map: usize },
}

#[derive(Debug, Clone)]
pub(super) struct ScopeData {
    pub(super) owner: Owner,
    pub(super) start: Option<usize>,
    pub(super) states: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) scope: usize,
    pub(super) body: Body,
    pub(super) next: Option<usize>,
    pub(super) end: bool,
    pub(super) choices: Vec<(Condition, usize)>,
    pub(super) default: Option<usize>,
    /// Scopes of a Parallel's branches.
    pub(super) branches: Vec<usize>,
    /// Scope of a Map's item processor.
    pub(super) processor: Option<usize>,
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
    pub(super) comment: Option<String>,
    pub(super) states: Vec<Entry>,
    pub(super) scopes: Vec<ScopeData>,
    pub(super) names: IndexMap<String, usize>,
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
            id: fresh_id(),
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
        let name = state.name().to_string();
        self.check_name(&name, scope)?;
        let StateBody(body) = state.into_body()?;
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
                for s in t.statements.iter().cloned() {
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
                Body::Task(t) if t.task.pattern != IntegrationPattern::RequestResponse => {
                    Some((t.task.name.as_str(), t.task.pattern))
                }
                _ => None,
            })
            .collect()
    }

    // -------------------------------------------------------------- internals --

    pub(super) fn name(&self, i: usize) -> &str {
        self.states[i].body.name()
    }

    pub(super) fn new_scope(&mut self, owner: Owner) -> usize {
        self.scopes.push(ScopeData {
            owner,
            start: None,
            states: Vec::new(),
        });
        self.scopes.len() - 1
    }

    pub(super) fn scope_index(&self, scope: Scope) -> DefResult<usize> {
        if scope.def != self.id || scope.index as usize >= self.scopes.len() {
            return Err(DefinitionError::ForeignHandle { what: "a scope" });
        }
        Ok(scope.index as usize)
    }

    pub(super) fn state_index(&self, id: StateId) -> DefResult<usize> {
        if id.def != self.id || id.index as usize >= self.states.len() {
            return Err(DefinitionError::ForeignHandle { what: "a state" });
        }
        Ok(id.index as usize)
    }

    pub(super) fn describe_scope(&self, s: usize) -> String {
        match self.scopes[s].owner {
            Owner::Top => "the top level".into(),
            Owner::Branch { parallel, index } => {
                format!("branch {} of Parallel '{}'", index + 1, self.name(parallel))
            }
            Owner::Processor { map } => format!("the item processor of Map '{}'", self.name(map)),
        }
    }

    pub(super) fn describe_transition(&self, i: usize) -> String {
        match self.states[i].next {
            Some(n) => format!("goes to '{}'", self.name(n)),
            None => "ends the execution".into(),
        }
    }
}
