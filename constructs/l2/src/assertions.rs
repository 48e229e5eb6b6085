//! Assertions on synthesized templates for users' tests, like aws-cdk-lib's `assertions`
//! module: [`Template`] and [`Match`].
//!
//! A matcher position accepts a [`Matcher`] or plain JSON: a JSON object means
//! [`Match::object_like`] (more keys allowed, nested objects likewise), an array means an
//! exact array (its items matched the same way), a scalar means [`Match::exact`].
//!
//! ```
//! use cairn_constructs::assertions::{Match, Template};
//! use cairn_constructs::dynamodb::{Attribute, Table, TableProps};
//! use cairn_core::App;
//! use serde_json::json;
//!
//! let mut app = App::new();
//! let stack = app.stack("S").unwrap();
//! Table::new(&mut app, stack, "Orders", TableProps::new(Attribute::string("pk"))).unwrap();
//! let t = Template::from_stack(&mut app, stack).unwrap();
//! t.assert_resource_count_is("AWS::DynamoDB::Table", 1);
//! t.assert_has_resource_properties("AWS::DynamoDB::Table", json!({ "BillingMode": "PAY_PER_REQUEST" }));
//! t.assert_has_resource("AWS::DynamoDB::Table", json!({ "DeletionPolicy": "Retain" }));
//! t.assert_has_resource_properties(
//!     "AWS::DynamoDB::Table",
//!     Match::object_like(json!({})).with("TableName", Match::absent()),
//! );
//! let err = t
//!     .has_resource_properties("AWS::DynamoDB::Table", json!({ "BillingMode": "PROVISIONED" }))
//!     .unwrap_err();
//! assert!(err.to_string().contains(r#"Properties.BillingMode: expected "PROVISIONED", found "PAY_PER_REQUEST""#));
//! ```

use std::fmt;

use serde_json::{Map, Value as Json};

use cairn_core::{App, Stack};

/// Why an assertion failed.
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    /// The app could not be synthesized.
    #[error("synthesis failed: {0}")]
    Synth(#[from] cairn_core::Error),
    /// The stack is not in the synthesized assembly.
    #[error("stack '{0}' is not in the synthesized assembly")]
    StackNotFound(String),
    /// A count differs.
    #[error("expected {expected} resource(s) of type {resource_type}, found {found}")]
    Count {
        /// The type.
        resource_type: String,
        /// Expected count.
        expected: usize,
        /// Actual count.
        found: usize,
    },
    /// Nothing matched; the message shows the closest candidate and its mismatches.
    #[error("{0}")]
    NoMatch(String),
}

/// A pattern for a JSON value. Build it with [`Match`] or from plain JSON.
#[derive(Debug, Clone)]
pub struct Matcher(Kind);

#[derive(Debug, Clone)]
enum Kind {
    Object {
        partial: bool,
        fields: Vec<(String, Matcher)>,
    },
    Array(Vec<Matcher>),
    ArrayWith(Vec<Matcher>),
    Exact(Json),
    Absent,
    AnyValue,
    Regex(regex::Regex),
    BadRegex(String, String),
    Not(Box<Matcher>),
}

/// Constructors of [`Matcher`]s, named as in aws-cdk-lib.
///
/// ```
/// use cairn_constructs::assertions::Match;
/// use serde_json::json;
/// // matchers nest with `with` (a `json!` literal cannot hold a matcher)
/// let m = Match::object_like(json!({})).with("Tags", Match::array_with([json!({ "Key": "team" })]));
/// assert!(m.matches(&json!({ "Tags": [{ "Key": "env", "Value": "p" }, { "Key": "team", "Value": "x" }], "Other": 1 })));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Match;

impl Match {
    /// An object with at least these keys, each matching (nested plain objects too).
    pub fn object_like(pattern: impl Into<Matcher>) -> Matcher {
        match pattern.into().0 {
            Kind::Object { fields, .. } => Matcher(Kind::Object {
                partial: true,
                fields,
            }),
            other => Matcher(other),
        }
    }

    /// An object with exactly these keys (nested plain JSON matched exactly).
    pub fn object_equals(pattern: Json) -> Matcher {
        Matcher::from_json(&pattern, false)
    }

    /// An array containing these items in this order, maybe with others between them.
    pub fn array_with<M: Into<Matcher>>(items: impl IntoIterator<Item = M>) -> Matcher {
        Matcher(Kind::ArrayWith(items.into_iter().map(Into::into).collect()))
    }

    /// An array of exactly these items, in order.
    pub fn array_equals<M: Into<Matcher>>(items: impl IntoIterator<Item = M>) -> Matcher {
        Matcher(Kind::Array(items.into_iter().map(Into::into).collect()))
    }

    /// Exactly this JSON value (deep equality).
    pub fn exact(value: Json) -> Matcher {
        Matcher(Kind::Exact(value))
    }

    /// The key is absent.
    pub fn absent() -> Matcher {
        Matcher(Kind::Absent)
    }

    /// Any value that is present and not `null`.
    pub fn any_value() -> Matcher {
        Matcher(Kind::AnyValue)
    }

    /// A string matching a regular expression (an invalid expression never matches and
    /// says why).
    pub fn string_like_regexp(pattern: &str) -> Matcher {
        match regex::Regex::new(pattern) {
            Ok(r) => Matcher(Kind::Regex(r)),
            Err(e) => Matcher(Kind::BadRegex(pattern.to_string(), e.to_string())),
        }
    }

    /// Anything the inner matcher does not match.
    pub fn not(inner: impl Into<Matcher>) -> Matcher {
        Matcher(Kind::Not(Box::new(inner.into())))
    }
}

impl From<Json> for Matcher {
    fn from(v: Json) -> Self {
        Matcher::from_json(&v, true)
    }
}

struct Mismatch {
    path: String,
    message: String,
}

fn show(v: &Json) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(200).map(|(i, _)| i).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Matcher {
    fn from_json(v: &Json, partial: bool) -> Matcher {
        match v {
            Json::Object(m) => Matcher(Kind::Object {
                partial,
                fields: m
                    .iter()
                    .map(|(k, v)| (k.clone(), Matcher::from_json(v, partial)))
                    .collect(),
            }),
            Json::Array(a) => Matcher(Kind::Array(
                a.iter().map(|v| Matcher::from_json(v, partial)).collect(),
            )),
            other => Matcher(Kind::Exact(other.clone())),
        }
    }

    /// Adds (or replaces) the matcher of one key of an object matcher; on other matchers
    /// it makes an object-like matcher with just that key.
    pub fn with(self, key: &str, m: impl Into<Matcher>) -> Matcher {
        let (partial, mut fields) = match self.0 {
            Kind::Object { partial, fields } => (partial, fields),
            _ => (true, Vec::new()),
        };
        let m = m.into();
        match fields.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = m,
            None => fields.push((key.to_string(), m)),
        }
        Matcher(Kind::Object { partial, fields })
    }

    /// True when `actual` matches.
    pub fn matches(&self, actual: &Json) -> bool {
        let mut out = Vec::new();
        self.check(Some(actual), "", &mut out);
        out.is_empty()
    }

    /// The mismatches of `actual`, each as `path: message`.
    pub fn mismatches(&self, actual: &Json) -> Vec<String> {
        let mut out = Vec::new();
        self.check(Some(actual), "", &mut out);
        out.into_iter()
            .map(|m| {
                if m.path.is_empty() {
                    m.message
                } else {
                    format!("{}: {}", m.path, m.message)
                }
            })
            .collect()
    }

    fn check(&self, actual: Option<&Json>, path: &str, out: &mut Vec<Mismatch>) {
        let mut fail = |message: String| {
            out.push(Mismatch {
                path: path.to_string(),
                message,
            })
        };
        match (&self.0, actual) {
            (Kind::Absent, None) => {}
            (Kind::Absent, Some(v)) => fail(format!("expected the key to be absent, found {}", show(v))),
            (Kind::Not(inner), a) => {
                let mut inner_out = Vec::new();
                inner.check(a, path, &mut inner_out);
                if inner_out.is_empty() {
                    fail(format!(
                        "expected a value not matching {inner}, found {}",
                        a.map(show).unwrap_or_else(|| "nothing".into())
                    ));
                }
            }
            (_, None) => fail(format!("expected {self}, found nothing (missing key)")),
            (Kind::AnyValue, Some(Json::Null)) => fail("expected any value, found null".into()),
            (Kind::AnyValue, Some(_)) => {}
            (Kind::Exact(e), Some(v)) => {
                if e != v {
                    fail(format!("expected {}, found {}", show(e), show(v)));
                }
            }
            (Kind::Regex(r), Some(v)) => match v.as_str() {
                Some(s) if r.is_match(s) => {}
                _ => fail(format!("expected a string matching /{r}/, found {}", show(v))),
            },
            (Kind::BadRegex(p, e), Some(_)) => fail(format!("invalid regular expression /{p}/: {e}")),
            (Kind::Object { partial, fields }, Some(v)) => {
                let Some(obj) = v.as_object() else {
                    return fail(format!("expected an object, found {}", show(v)));
                };
                for (k, m) in fields {
                    m.check(obj.get(k), &join(path, k), out);
                }
                if !partial {
                    for k in obj.keys() {
                        if !fields.iter().any(|(f, _)| f == k) {
                            out.push(Mismatch {
                                path: join(path, k),
                                message: format!("unexpected key (object_equals), found {}", show(&obj[k])),
                            });
                        }
                    }
                }
            }
            (Kind::Array(items), Some(v)) => {
                let Some(arr) = v.as_array() else {
                    return fail(format!("expected an array, found {}", show(v)));
                };
                if arr.len() != items.len() {
                    return fail(format!(
                        "expected an array of {} item(s), found {} item(s): {}",
                        items.len(),
                        arr.len(),
                        show(v)
                    ));
                }
                for (i, (m, a)) in items.iter().zip(arr).enumerate() {
                    m.check(Some(a), &format!("{path}[{i}]"), out);
                }
            }
            (Kind::ArrayWith(items), Some(v)) => {
                let Some(arr) = v.as_array() else {
                    return fail(format!("expected an array, found {}", show(v)));
                };
                let mut next = 0;
                for (i, m) in items.iter().enumerate() {
                    match arr[next..].iter().position(|a| m.matches(a)) {
                        Some(p) => next += p + 1,
                        None => {
                            return fail(format!(
                                "expected an array with item {i} ({m}) after position {next}, found {}",
                                show(v)
                            ))
                        }
                    }
                }
            }
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Object { partial, fields } => {
                write!(
                    f,
                    "{}{{",
                    if *partial {
                        "object_like "
                    } else {
                        "object_equals "
                    }
                )?;
                for (i, (k, m)) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{k:?}: {m}")?;
                }
                write!(f, "}}")
            }
            Kind::Array(items) | Kind::ArrayWith(items) => {
                if matches!(self.0, Kind::ArrayWith(_)) {
                    write!(f, "array_with ")?;
                }
                write!(f, "[")?;
                for (i, m) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{m}")?;
                }
                write!(f, "]")
            }
            Kind::Exact(v) => write!(f, "{}", show(v)),
            Kind::Absent => write!(f, "absent"),
            Kind::AnyValue => write!(f, "any value"),
            Kind::Regex(r) => write!(f, "/{r}/"),
            Kind::BadRegex(p, _) => write!(f, "/{p}/ (invalid)"),
            Kind::Not(m) => write!(f, "not({m})"),
        }
    }
}

/// A synthesized CloudFormation template to assert on.
///
/// ```
/// use cairn_constructs::assertions::Template;
/// use serde_json::json;
/// let t = Template::from_json(json!({ "Resources": { "Q": { "Type": "AWS::SQS::Queue" } } }));
/// t.assert_resource_count_is("AWS::SQS::Queue", 1);
/// assert_eq!(t.find_resources("AWS::SQS::Queue", json!({})).len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    json: Json,
}

impl Template {
    /// Synthesizes the app and takes the template of `stack`.
    pub fn from_stack(app: &mut App, stack: Stack) -> Result<Template, AssertionError> {
        let path = app.path(stack.node());
        let asm = app.synth()?;
        let artifact = asm
            .stacks()
            .iter()
            .find(|s| s.display_name == path)
            .ok_or(AssertionError::StackNotFound(path))?;
        Ok(Template {
            json: artifact.template.json().clone(),
        })
    }

    /// A template from JSON.
    pub fn from_json(json: Json) -> Template {
        Template { json }
    }

    /// The template as JSON.
    pub fn to_json(&self) -> &Json {
        &self.json
    }

    fn section(&self, name: &str) -> Vec<(&String, &Json)> {
        self.json
            .get(name)
            .and_then(Json::as_object)
            .map(|m| m.iter().collect())
            .unwrap_or_default()
    }

    fn of_type(&self, resource_type: &str) -> Vec<(&String, &Json)> {
        self.section("Resources")
            .into_iter()
            .filter(|(_, r)| r.get("Type").and_then(Json::as_str) == Some(resource_type))
            .collect()
    }

    /// Exactly `count` resources of `resource_type`.
    pub fn resource_count_is(&self, resource_type: &str, count: usize) -> Result<(), AssertionError> {
        let found = self.of_type(resource_type).len();
        if found == count {
            Ok(())
        } else {
            Err(AssertionError::Count {
                resource_type: resource_type.into(),
                expected: count,
                found,
            })
        }
    }

    /// The first candidate that matches, or the error naming the closest one.
    fn find_one(
        what: &str,
        candidates: Vec<(&String, Json)>,
        matcher: &Matcher,
    ) -> Result<(), AssertionError> {
        if candidates.is_empty() {
            return Err(AssertionError::NoMatch(format!("the template has no {what}")));
        }
        let mut best: Option<(&String, Vec<String>)> = None;
        for (id, v) in &candidates {
            let m = matcher.mismatches(v);
            if m.is_empty() {
                return Ok(());
            }
            if best.as_ref().is_none_or(|(_, b)| m.len() < b.len()) {
                best = Some((id, m));
            }
        }
        let (id, mismatches) = best.unwrap_or_default_pair();
        let shown: Vec<String> = mismatches.iter().take(10).map(|m| format!("  {m}")).collect();
        Err(AssertionError::NoMatch(format!(
            "none of the {} {what} match; the closest is {id} with {} mismatch(es):\n{}{}",
            candidates.len(),
            mismatches.len(),
            shown.join("\n"),
            if mismatches.len() > 10 { "\n  ..." } else { "" }
        )))
    }

    /// A resource of `resource_type` whose `Properties` match (missing `Properties`
    /// count as `{}`); the error shows the closest resource and its mismatching paths.
    pub fn has_resource_properties(
        &self,
        resource_type: &str,
        props: impl Into<Matcher>,
    ) -> Result<(), AssertionError> {
        let matcher = Matcher(Kind::Object {
            partial: true,
            fields: vec![("Properties".into(), props.into())],
        });
        let candidates = self
            .of_type(resource_type)
            .into_iter()
            .map(|(id, r)| {
                let mut r = r.clone();
                if let Some(o) = r.as_object_mut() {
                    o.entry("Properties").or_insert_with(|| Json::Object(Map::new()));
                }
                (id, r)
            })
            .collect();
        Self::find_one(
            &format!("resources of type {resource_type}"),
            candidates,
            &matcher,
        )
    }

    /// A resource of `resource_type` matching as a whole (`Properties`, `DeletionPolicy`,
    /// `DependsOn` ...).
    pub fn has_resource(
        &self,
        resource_type: &str,
        matcher: impl Into<Matcher>,
    ) -> Result<(), AssertionError> {
        let candidates = self
            .of_type(resource_type)
            .into_iter()
            .map(|(id, r)| (id, r.clone()))
            .collect();
        Self::find_one(
            &format!("resources of type {resource_type}"),
            candidates,
            &matcher.into(),
        )
    }

    /// The resources of `resource_type` matching as a whole: (logical id, resource).
    pub fn find_resources(&self, resource_type: &str, matcher: impl Into<Matcher>) -> Vec<(String, Json)> {
        let matcher = matcher.into();
        self.of_type(resource_type)
            .into_iter()
            .filter(|(_, r)| matcher.matches(r))
            .map(|(id, r)| (id.clone(), r.clone()))
            .collect()
    }

    fn has_in_section(&self, section: &str, id: &str, matcher: Matcher) -> Result<(), AssertionError> {
        let candidates: Vec<(&String, Json)> = self
            .section(section)
            .into_iter()
            .filter(|(k, _)| id == "*" || k.as_str() == id)
            .map(|(k, v)| (k, v.clone()))
            .collect();
        let what = if id == "*" {
            format!("{section} entries")
        } else {
            format!("{section} entries named {id}")
        };
        Self::find_one(&what, candidates, &matcher)
    }

    /// An output (`id`, or any with `"*"`) matching, e.g. `json!({ "Value": { "Ref": "X" } })`.
    pub fn has_output(&self, id: &str, matcher: impl Into<Matcher>) -> Result<(), AssertionError> {
        self.has_in_section("Outputs", id, matcher.into())
    }

    /// A parameter (`id`, or any with `"*"`) matching, e.g. `json!({ "Type": "String" })`.
    pub fn has_parameter(&self, id: &str, matcher: impl Into<Matcher>) -> Result<(), AssertionError> {
        self.has_in_section("Parameters", id, matcher.into())
    }

    /// The whole template matches.
    pub fn template_matches(&self, matcher: impl Into<Matcher>) -> Result<(), AssertionError> {
        let mismatches = matcher.into().mismatches(&self.json);
        if mismatches.is_empty() {
            return Ok(());
        }
        Err(AssertionError::NoMatch(format!(
            "the template does not match ({} mismatch(es)):\n{}",
            mismatches.len(),
            mismatches
                .iter()
                .take(10)
                .map(|m| format!("  {m}"))
                .collect::<Vec<_>>()
                .join("\n")
        )))
    }

    /// [`Template::resource_count_is`], panicking with its message.
    #[track_caller]
    pub fn assert_resource_count_is(&self, resource_type: &str, count: usize) {
        if let Err(e) = self.resource_count_is(resource_type, count) {
            panic!("{e}");
        }
    }

    /// [`Template::has_resource_properties`], panicking with its message.
    #[track_caller]
    pub fn assert_has_resource_properties(&self, resource_type: &str, props: impl Into<Matcher>) {
        if let Err(e) = self.has_resource_properties(resource_type, props) {
            panic!("{e}");
        }
    }

    /// [`Template::has_resource`], panicking with its message.
    #[track_caller]
    pub fn assert_has_resource(&self, resource_type: &str, matcher: impl Into<Matcher>) {
        if let Err(e) = self.has_resource(resource_type, matcher) {
            panic!("{e}");
        }
    }

    /// [`Template::has_output`], panicking with its message.
    #[track_caller]
    pub fn assert_has_output(&self, id: &str, matcher: impl Into<Matcher>) {
        if let Err(e) = self.has_output(id, matcher) {
            panic!("{e}");
        }
    }

    /// [`Template::has_parameter`], panicking with its message.
    #[track_caller]
    pub fn assert_has_parameter(&self, id: &str, matcher: impl Into<Matcher>) {
        if let Err(e) = self.has_parameter(id, matcher) {
            panic!("{e}");
        }
    }

    /// [`Template::template_matches`], panicking with its message.
    #[track_caller]
    pub fn assert_template_matches(&self, matcher: impl Into<Matcher>) {
        if let Err(e) = self.template_matches(matcher) {
            panic!("{e}");
        }
    }
}

trait DefaultPair<'a> {
    fn unwrap_or_default_pair(self) -> (&'a str, Vec<String>);
}

impl<'a> DefaultPair<'a> for Option<(&'a String, Vec<String>)> {
    fn unwrap_or_default_pair(self) -> (&'a str, Vec<String>) {
        match self {
            Some((id, m)) => (id.as_str(), m),
            None => ("<none>", Vec::new()),
        }
    }
}
