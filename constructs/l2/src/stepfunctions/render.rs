//! Rendering: the definition as an Amazon States Language value, and as the text of
//! `DefinitionString` with its substitutions.

use indexmap::IndexMap;
use serde_json::Value as Json;

use cairn_core::{Intrinsic, Pseudo, Value};

use super::definition::{Definition, Entry};
use super::error::DefResult;
use super::fields::Io;
use super::retry::{strings, Retry};
use super::state::Body;
use super::states::WaitFor;

impl Definition {
    pub(crate) fn render(&self, timeout_seconds: Option<u64>) -> DefResult<Value> {
        self.validate()?;
        let mut m = IndexMap::new();
        if let Some(c) = &self.comment {
            m.insert("Comment".to_string(), Value::from(c.as_str()));
        }
        self.render_scope_into(0, &mut m);
        if let Some(t) = timeout_seconds {
            m.insert("TimeoutSeconds".into(), Value::Int(t as i64));
        }
        Ok(Value::Map(m))
    }

    fn render_scope_into(&self, s: usize, m: &mut IndexMap<String, Value>) {
        let scope = &self.scopes[s];
        if let Some(start) = scope.start {
            m.insert("StartAt".into(), Value::from(self.name(start)));
        }
        let states = scope
            .states
            .iter()
            .map(|&i| (self.name(i).to_string(), self.render_state(i)))
            .collect();
        m.insert("States".into(), Value::Map(states));
    }

    /// A state as ASL: its type and comment, the fields of its type, the shared
    /// input/output fields, retriers and catchers, and its transition.
    fn render_state(&self, i: usize) -> Value {
        let e = &self.states[i];
        let io = e.body.io();
        let mut m: IndexMap<String, Value> = IndexMap::new();
        let ty = match &e.body {
            Body::Task(_) => "Task",
            Body::Choice(_) => "Choice",
            Body::Wait(_) => "Wait",
            Body::Pass(_) => "Pass",
            Body::Parallel(_) => "Parallel",
            Body::Map(_) => "Map",
            Body::Succeed(_) => "Succeed",
            Body::Fail(_) => "Fail",
        };
        m.insert("Type".into(), Value::from(ty));
        if let Some(c) = &io.comment {
            m.insert("Comment".into(), Value::from(c.as_str()));
        }
        if let Some(p) = &io.input_path {
            m.insert("InputPath".into(), Value::from(p.as_str()));
        }
        self.render_type_fields(e, &mut m);
        render_result_fields(io, &mut m);
        if let Body::Task(bound) = &e.body {
            let t = &bound.task;
            if let Some(s) = t.timeout_seconds {
                m.insert("TimeoutSeconds".into(), Value::from(s));
            }
            if let Some(s) = t.heartbeat_seconds {
                m.insert("HeartbeatSeconds".into(), Value::from(s));
            }
        }
        self.render_handlers(e, &mut m);
        if let Some(n) = e.next {
            m.insert("Next".into(), Value::from(self.name(n)));
        } else if e.end {
            m.insert("End".into(), Value::Bool(true));
        }
        Value::Map(m)
    }

    /// The fields only one state type has (`Resource`, `Choices`, `Seconds`, `Branches` ...),
    /// with `Parameters` where that type puts it.
    fn render_type_fields(&self, e: &Entry, m: &mut IndexMap<String, Value>) {
        let io = e.body.io();
        match &e.body {
            Body::Task(t) => {
                m.insert("Resource".into(), t.resource.clone());
                if let Some(p) = &t.parameters {
                    m.insert("Parameters".into(), p.clone());
                }
            }
            Body::Choice(_) => {
                let choices = e
                    .choices
                    .iter()
                    .map(|(c, t)| {
                        let mut v = c.to_value();
                        if let Some(m) = v.as_map_mut() {
                            m.insert("Next".into(), Value::from(self.name(*t)));
                        }
                        v
                    })
                    .collect();
                m.insert("Choices".into(), Value::List(choices));
                if let Some(d) = e.default {
                    m.insert("Default".into(), Value::from(self.name(d)));
                }
            }
            Body::Wait(w) => {
                let (k, v) = match &w.how {
                    WaitFor::Seconds(s) => ("Seconds", Value::from(*s)),
                    WaitFor::Timestamp(t) => ("Timestamp", Value::from(t.as_str())),
                    WaitFor::SecondsPath(p) => ("SecondsPath", Value::from(p.as_str())),
                    WaitFor::TimestampPath(p) => ("TimestampPath", Value::from(p.as_str())),
                };
                m.insert(k.into(), v);
            }
            Body::Pass(p) => {
                if let Some(params) = &io.parameters {
                    m.insert("Parameters".into(), params.clone());
                }
                if let Some(r) = &p.result {
                    m.insert("Result".into(), r.clone());
                }
            }
            Body::Parallel(_) => {
                if let Some(params) = &io.parameters {
                    m.insert("Parameters".into(), params.clone());
                }
                let branches = e
                    .branches
                    .iter()
                    .map(|&s| {
                        let mut b = IndexMap::new();
                        self.render_scope_into(s, &mut b);
                        Value::Map(b)
                    })
                    .collect();
                m.insert("Branches".into(), Value::List(branches));
            }
            Body::Map(map) => {
                if let Some(p) = &map.items_path {
                    m.insert("ItemsPath".into(), Value::from(p.as_str()));
                }
                if let Some(n) = map.max_concurrency {
                    m.insert("MaxConcurrency".into(), Value::from(n));
                }
                if let Some(s) = &map.item_selector {
                    m.insert("ItemSelector".into(), s.clone());
                }
                if let Some(params) = &io.parameters {
                    m.insert("Parameters".into(), params.clone());
                }
                let mut p = IndexMap::new();
                p.insert(
                    "ProcessorConfig".to_string(),
                    Value::map([("Mode", Value::from("INLINE"))]),
                );
                if let Some(s) = e.processor {
                    self.render_scope_into(s, &mut p);
                }
                m.insert("ItemProcessor".into(), Value::Map(p));
            }
            Body::Succeed(_) => {}
            Body::Fail(f) => {
                if let Some(x) = &f.error {
                    m.insert("Error".into(), Value::from(x.as_str()));
                }
                if let Some(x) = &f.cause {
                    m.insert("Cause".into(), Value::from(x.as_str()));
                }
            }
        }
    }

    /// `Retry` (a task's integration retriers first) and `Catch`.
    fn render_handlers(&self, e: &Entry, m: &mut IndexMap<String, Value>) {
        if let Some((retries, catches)) = e.body.handlers() {
            let retries = match &e.body {
                Body::Task(t) => t.retries(),
                _ => retries.clone(),
            };
            if !retries.is_empty() {
                m.insert(
                    "Retry".into(),
                    Value::List(retries.iter().map(Retry::to_value).collect()),
                );
            }
            if !catches.is_empty() {
                let catches = catches
                    .iter()
                    .map(|c| {
                        let mut v = IndexMap::new();
                        v.insert("ErrorEquals".to_string(), strings(&c.errors));
                        if let Some(p) = &c.result_path {
                            v.insert("ResultPath".into(), Value::from(p.as_str()));
                        }
                        let next = self.state_index(c.next).map(|n| self.name(n)).unwrap_or_default();
                        v.insert("Next".into(), Value::from(next));
                        Value::Map(v)
                    })
                    .collect();
                m.insert("Catch".into(), Value::List(catches));
            }
        }
    }
}

/// `ResultSelector`, `ResultPath` (`null` discards the result) and `OutputPath`.
fn render_result_fields(io: &Io, m: &mut IndexMap<String, Value>) {
    if let Some(s) = &io.result_selector {
        m.insert("ResultSelector".into(), s.clone());
    }
    match &io.result_path {
        Some(Some(p)) => {
            m.insert("ResultPath".into(), Value::from(p.as_str()));
        }
        Some(None) => {
            m.insert("ResultPath".into(), Value::Null);
        }
        None => {}
    }
    if let Some(p) = &io.output_path {
        m.insert("OutputPath".into(), Value::from(p.as_str()));
    }
}

/// The text of `DefinitionString` and its `DefinitionSubstitutions`: the ASL value as
/// compact JSON (rendered by serde_json), every intrinsic a `"${Key}"` string whose value
/// is kept under `Key`. `name` proposes a key for an intrinsic.
pub(super) fn definition_string(
    value: &Value,
    name: &dyn Fn(&Value) -> Option<String>,
) -> (String, IndexMap<String, Value>) {
    let mut placeholders = Placeholders::new(value, name);
    let json = placeholders.json(value);
    (json.to_string(), placeholders.keys)
}

/// The substitution keys given so far, in order of first use.
struct Placeholders<'n> {
    /// Every literal string and key of the definition, so a key never matches `${...}`
    /// text the definition holds literally.
    literal_text: String,
    keys: IndexMap<String, Value>,
    name: &'n dyn Fn(&Value) -> Option<String>,
}

impl<'n> Placeholders<'n> {
    fn new(value: &Value, name: &'n dyn Fn(&Value) -> Option<String>) -> Placeholders<'n> {
        let mut literal_text = String::new();
        collect_literals(value, &mut literal_text);
        Placeholders {
            literal_text,
            keys: IndexMap::new(),
            name,
        }
    }

    /// The value as JSON with its intrinsics replaced by placeholders. ASL's explicit
    /// nulls (`"ResultPath": null`) are kept, as `Value::Null` is JSON's `null`.
    fn json(&mut self, v: &Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s.clone()),
            Value::List(items) => Json::Array(items.iter().map(|x| self.json(x)).collect()),
            Value::Map(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), self.json(x))).collect()),
            Value::Intrinsic(_) => Json::String(format!("${{{}}}", self.key_of(v))),
        }
    }

    /// The key of an intrinsic: the one it already has, or a new one.
    fn key_of(&mut self, v: &Value) -> String {
        if let Some((k, _)) = self.keys.iter().find(|(_, x)| *x == v) {
            return k.clone();
        }
        let base = (self.name)(v)
            .or_else(|| integration_key(v))
            .unwrap_or_else(|| "Ref".into());
        let mut n = 0usize;
        loop {
            let key = if n == 0 && base != "Ref" {
                base.clone()
            } else {
                format!("{base}{n}")
            };
            if !self.keys.contains_key(&key) && !self.literal_text.contains(&format!("${{{key}}}")) {
                self.keys.insert(key.clone(), v.clone());
                return key;
            }
            n += 1;
        }
    }
}

/// The key of an optimized integration's ARN ([`integration_arn`]): `LambdaInvoke` for
/// `arn:<partition>:states:::lambda:invoke`, `GlueStartJobRunSync` for
/// `...:glue:startJobRun.sync`.
///
/// [`integration_arn`]: super::integration_arn
fn integration_key(v: &Value) -> Option<String> {
    let Value::Intrinsic(i) = v else { return None };
    let Intrinsic::Join(delimiter, Value::List(parts)) = i.as_ref() else {
        return None;
    };
    let [Value::String(arn), partition, Value::String(rest)] = parts.as_slice() else {
        return None;
    };
    if !delimiter.is_empty() || arn != "arn:" || *partition != Value::pseudo(Pseudo::Partition) {
        return None;
    }
    let integration = rest.strip_prefix(":states:::")?;
    let key: String = integration
        .split(|c: char| !c.is_ascii_alphanumeric())
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect();
    (!key.is_empty()).then_some(key)
}

fn collect_literals(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::List(items) => items.iter().for_each(|i| collect_literals(i, out)),
        Value::Map(m) => m.iter().for_each(|(k, x)| {
            out.push_str(k);
            out.push('\n');
            collect_literals(x, out);
        }),
        _ => {}
    }
}
