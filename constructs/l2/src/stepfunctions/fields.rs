//! Fields several state types share, the builder methods that set them, and [`Params`].

use indexmap::IndexMap;

use cairn_core::Value;

use super::TASK_TOKEN;

/// Fields several state types share; each type exposes the ones ASL allows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Io {
    pub(super) comment: Option<String>,
    pub(super) input_path: Option<String>,
    pub(super) output_path: Option<String>,
    /// `Some(None)`: `ResultPath: null`, the result is discarded.
    pub(super) result_path: Option<Option<String>>,
    pub(super) result_selector: Option<Value>,
    pub(super) parameters: Option<Value>,
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
pub(super) use comment_method;

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
pub(super) use path_methods;

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
pub(super) use result_methods;

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
pub(super) use parameters_method;

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
        impl super::state::Catchable for $t {}
    };
}
pub(super) use handler_methods;

macro_rules! state_impl {
    ($t:ident) => {
        impl super::state::sealed::Sealed for $t {}
        impl super::state::State for $t {
            fn name(&self) -> &str {
                &self.name
            }
            fn into_body(self) -> super::error::DefResult<super::state::StateBody> {
                Ok(super::state::StateBody(super::state::Body::$t(self)))
            }
        }
    };
}
pub(super) use state_impl;

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
