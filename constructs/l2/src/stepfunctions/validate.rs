//! The checks of a definition: single fields (paths, timestamps, payload templates), each
//! state as it is added, and the whole graph.

use cairn_core::Value;

use super::definition::Definition;
use super::error::{DefResult, DefinitionError};
use super::retry::check_all_last;
use super::state::Body;
use super::states::WaitFor;
use super::task::{BoundTask, IntegrationPattern};
use super::TASK_TOKEN;

impl Definition {
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
    pub(super) fn check_same_scope(&self, from: usize, to: usize) -> DefResult<()> {
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

    pub(super) fn check_name(&self, name: &str, scope: usize) -> DefResult<()> {
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
    pub(super) fn check_body(&self, body: &Body, scope: usize) -> DefResult<()> {
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

    /// Checks a task bound to its integration (the integration checked its own fields).
    fn check_task(&self, bound: &BoundTask) -> DefResult<()> {
        let t = &bound.task;
        let name = t.name.as_str();
        if let Some(p) = &bound.parameters {
            check_payload(name, "Parameters", p)?;
        }
        if t.pattern == IntegrationPattern::WaitForTaskToken
            && !bound.parameters.as_ref().is_some_and(mentions_task_token)
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

    pub(super) fn check_handlers(&self, body: &Body, scope: usize) -> DefResult<()> {
        let Some((retries, catches)) = body.handlers() else {
            return Ok(());
        };
        let name = body.name();
        let retries_rendered;
        let retries = match body {
            Body::Task(t) => {
                retries_rendered = t.retries();
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

    pub(super) fn successors(&self, i: usize) -> Vec<usize> {
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

    pub(super) fn reachable(&self, start: usize) -> Vec<usize> {
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
}

pub(super) fn invalid(state: &str, field: &str, value: &str, reason: &str) -> DefinitionError {
    DefinitionError::InvalidField {
        state: state.to_string(),
        field: field.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

pub(super) fn check_path(state: &str, field: &str, path: &str) -> DefResult<()> {
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
pub(super) fn is_timestamp(s: &str) -> bool {
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
pub(super) fn check_payload(state: &str, field: &str, v: &Value) -> DefResult<()> {
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
pub(super) fn mentions_task_token(v: &Value) -> bool {
    match v {
        Value::Map(m) => m.iter().any(|(k, x)| {
            (k.ends_with(".$") && x.as_str().is_some_and(|s| s.contains(TASK_TOKEN)))
                || mentions_task_token(x)
        }),
        Value::List(items) => items.iter().any(mentions_task_token),
        _ => false,
    }
}
