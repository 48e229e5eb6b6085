//! Handles to states and scopes, and the traits that say what a state type can do.

use std::fmt;
use std::marker::PhantomData;

use super::error::DefResult;
use super::fields::Io;
use super::retry::{Catch, Retry};
use super::states::{Choice, Fail, Map, Parallel, Pass, Succeed, Wait};
use super::task::BoundTask;
#[cfg(doc)]
use super::task::Task;

/// A typed handle to a state of a [`Definition`](super::Definition): `Copy`, and only valid in the
/// definition that created it.
pub struct StateRef<S> {
    pub(super) def: u32,
    pub(super) index: u32,
    pub(super) _s: PhantomData<fn() -> S>,
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
    pub(super) def: u32,
    pub(super) index: u32,
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
    pub(super) def: u32,
    pub(super) index: u32,
}

pub(super) mod sealed {
    pub trait Sealed {}
}

/// A state of the Amazon States Language: [`Task`], [`Choice`], [`Wait`], [`Pass`],
/// [`Parallel`], [`Map`], [`Succeed`] or [`Fail`].
pub trait State: sealed::Sealed + Sized {
    /// The state's name, unique in the state machine.
    fn name(&self) -> &str;
    /// The state as a definition stores it (a task bound to its integration).
    #[doc(hidden)]
    fn into_body(self) -> DefResult<StateBody>;
}

/// A state that continues with a `Next` state or ends the execution: [`Task`], [`Pass`],
/// [`Wait`], [`Parallel`], [`Map`].
pub trait HasNext: State {}

/// A state that can retry and catch errors: [`Task`], [`Parallel`], [`Map`].
pub trait Catchable: State {}

/// A state as stored in a definition (opaque).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct StateBody(pub(super) Body);

#[derive(Debug, Clone)]
pub(super) enum Body {
    Task(Box<BoundTask>),
    Choice(Choice),
    Wait(Wait),
    Pass(Pass),
    Parallel(Parallel),
    Map(Map),
    Succeed(Succeed),
    Fail(Fail),
}

impl Body {
    pub(super) fn name(&self) -> &str {
        match self {
            Body::Task(s) => &s.task.name,
            Body::Choice(s) => &s.name,
            Body::Wait(s) => &s.name,
            Body::Pass(s) => &s.name,
            Body::Parallel(s) => &s.name,
            Body::Map(s) => &s.name,
            Body::Succeed(s) => &s.name,
            Body::Fail(s) => &s.name,
        }
    }

    pub(super) fn has_next(&self) -> bool {
        matches!(
            self,
            Body::Task(_) | Body::Wait(_) | Body::Pass(_) | Body::Parallel(_) | Body::Map(_)
        )
    }

    pub(super) fn handlers(&self) -> Option<(&Vec<Retry>, &Vec<Catch>)> {
        match self {
            Body::Task(s) => Some((&s.task.retries, &s.task.catches)),
            Body::Parallel(s) => Some((&s.retries, &s.catches)),
            Body::Map(s) => Some((&s.retries, &s.catches)),
            _ => None,
        }
    }

    pub(super) fn handlers_mut(&mut self) -> Option<(&mut Vec<Retry>, &mut Vec<Catch>)> {
        match self {
            Body::Task(s) => Some((&mut s.task.retries, &mut s.task.catches)),
            Body::Parallel(s) => Some((&mut s.retries, &mut s.catches)),
            Body::Map(s) => Some((&mut s.retries, &mut s.catches)),
            _ => None,
        }
    }

    pub(super) fn io(&self) -> &Io {
        match self {
            Body::Task(s) => &s.task.io,
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
