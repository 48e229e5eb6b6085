//! Retriers and catchers of Task, Parallel and Map states.

use indexmap::IndexMap;

use cairn_core::Value;

use super::errors;
use super::state::StateId;

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

    pub(super) fn check(&self) -> Result<(), String> {
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

    pub(super) fn to_value(&self) -> Value {
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

pub(super) fn strings(v: &[String]) -> Value {
    Value::List(v.iter().map(|s| Value::from(s.as_str())).collect())
}

pub(super) fn number_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

/// Checks the `States.ALL` rules on a list of handlers' error lists.
pub(super) fn check_all_last<'a>(
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
