//! The context an app is run with: key/value settings the `cairn` and `cdk` CLIs pass in
//! `CDK_CONTEXT_JSON` (a JSON object), merged from `cdk.json`'s `"context"`,
//! `cdk.context.json` and `--context KEY=VALUE`, as the AWS CDK passes them.
//!
//! ```
//! use cairn::Context;
//!
//! # fn main() -> cairn::Result<()> {
//! let context = Context::from_json(r#"{"stage": "prod", "replicas": 3}"#)?;
//! assert_eq!(context.get_str("stage"), Some("prod"));
//! assert_eq!(context.get("replicas"), Some(&serde_json::json!(3)));
//! assert!(context.get("missing").is_none());
//! // In an app's `build`: `let context = Context::from_env()?;`
//! # Ok(())
//! # }
//! ```

use serde_json::{Map, Value as Json};

use crate::cli::CONTEXT_ENV;
use crate::Error;

/// The context of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    values: Map<String, Json>,
}

impl Context {
    /// The context in `CDK_CONTEXT_JSON` (empty when it is not set).
    pub fn from_env() -> crate::Result<Context> {
        match std::env::var(CONTEXT_ENV) {
            Ok(text) if !text.trim().is_empty() => Context::from_json(&text),
            _ => Ok(Context::default()),
        }
    }

    /// The context in a JSON object's text.
    pub fn from_json(text: &str) -> crate::Result<Context> {
        let problem = |what: String| {
            Error::InvalidProps {
            path: "<app>".into(),
            problem: format!(
                "the context ({CONTEXT_ENV}) {what}; the cairn and cdk CLIs write it from cdk.json's \"context\" and --context KEY=VALUE"
            ),
        }
        };
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(values)) => Ok(Context { values }),
            Ok(_) => Err(problem("is not a JSON object".into())),
            Err(e) => Err(problem(format!("is not JSON: {e}"))),
        }
    }

    /// A value, when the key is set.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.values.get(key)
    }

    /// A string value, when the key is set to a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(Json::as_str)
    }

    /// Every key and value.
    pub fn values(&self) -> &Map<String, Json> {
        &self.values
    }

    /// An empty [`App`](crate::App) holding this context, which its lookups read
    /// (`Vpc::from_lookup`, `MachineImage::lookup`, a concrete environment's availability
    /// zones ...): what the CDK's `new App()` does with `CDK_CONTEXT_JSON`. An app that
    /// looks anything up starts with `Context::from_env()?.into_app()`.
    ///
    /// ```
    /// use cairn::Context;
    ///
    /// # fn main() -> cairn::Result<()> {
    /// let app = Context::from_json(r#"{"stage": "prod"}"#)?.into_app();
    /// assert_eq!(app.context("stage"), Some(&serde_json::json!("prod")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_app(self) -> crate::App {
        crate::App::with_context(self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_context_is_refused_naming_the_variable() {
        let e = Context::from_json("[1]").unwrap_err().to_string();
        assert!(
            e.contains("CDK_CONTEXT_JSON") && e.contains("not a JSON object"),
            "{e}"
        );
        let e = Context::from_json("{").unwrap_err().to_string();
        assert!(e.contains("is not JSON"), "{e}");
    }
}
