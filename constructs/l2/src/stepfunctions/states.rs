//! The states other than `Task`: Choice, Wait, Pass, Parallel, Map, Succeed, Fail.

use cairn_core::Value;

use super::fields::{
    comment_method, handler_methods, parameters_method, path_methods, result_methods, state_impl, Io,
};
use super::retry::{Catch, Retry};
use super::state::HasNext;

/// The `Choice` state: branches on conditions ([`Definition::when`](super::Definition::when),
/// [`Definition::otherwise`](super::Definition::otherwise)).
#[derive(Debug, Clone)]
pub struct Choice {
    pub(super) name: String,
    pub(super) io: Io,
}

state_impl!(Choice);
comment_method!(Choice);
path_methods!(Choice);

impl Choice {
    /// A Choice state; add branches with [`Definition::when`](super::Definition::when).
    pub fn new(name: &str) -> Choice {
        Choice {
            name: name.to_string(),
            io: Io::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum WaitFor {
    Seconds(u32),
    Timestamp(String),
    SecondsPath(String),
    TimestampPath(String),
}

/// The `Wait` state: pauses for a time or until a timestamp.
#[derive(Debug, Clone)]
pub struct Wait {
    pub(super) name: String,
    pub(super) io: Io,
    pub(super) how: WaitFor,
}

state_impl!(Wait);
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
    pub(super) name: String,
    pub(super) io: Io,
    pub(super) result: Option<Value>,
}

state_impl!(Pass);
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

/// The `Parallel` state: runs branches ([`Definition::branch`](super::Definition::branch)) at the same time; its
/// result is the list of their outputs.
#[derive(Debug, Clone)]
pub struct Parallel {
    pub(super) name: String,
    pub(super) io: Io,
    pub(super) retries: Vec<Retry>,
    pub(super) catches: Vec<Catch>,
}

state_impl!(Parallel);
impl HasNext for Parallel {}
comment_method!(Parallel);
path_methods!(Parallel);
result_methods!(Parallel);
handler_methods!(Parallel);
parameters_method!(Parallel, "Sets `Parameters`: the input every branch gets.");

impl Parallel {
    /// A Parallel state; add branches with [`Definition::branch`](super::Definition::branch).
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
/// ([`Definition::item_processor`](super::Definition::item_processor)) for each item of a list of the input.
#[derive(Debug, Clone)]
pub struct Map {
    pub(super) name: String,
    pub(super) io: Io,
    pub(super) items_path: Option<String>,
    pub(super) max_concurrency: Option<u32>,
    pub(super) item_selector: Option<Value>,
    pub(super) retries: Vec<Retry>,
    pub(super) catches: Vec<Catch>,
}

state_impl!(Map);
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
    /// A Map state; add its states with [`Definition::item_processor`](super::Definition::item_processor).
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
    pub(super) name: String,
    pub(super) io: Io,
}

state_impl!(Succeed);
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
    pub(super) name: String,
    pub(super) io: Io,
    pub(super) error: Option<String>,
    pub(super) cause: Option<String>,
}

state_impl!(Fail);
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
