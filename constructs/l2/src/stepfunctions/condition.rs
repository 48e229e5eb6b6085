//! The conditions of a Choice state's branches.

use cairn_core::Value;

use super::error::DefResult;
use super::validate::{check_path, invalid, is_timestamp};

/// A number for numeric comparisons.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer.
    Int(i64),
    /// A floating point number (finite).
    Float(f64),
}

impl From<i64> for Number {
    fn from(i: i64) -> Self {
        Number::Int(i)
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Self {
        Number::Int(i64::from(i))
    }
}

impl From<u32> for Number {
    fn from(i: u32) -> Self {
        Number::Int(i64::from(i))
    }
}

impl From<f64> for Number {
    fn from(f: f64) -> Self {
        Number::Float(f)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Compare {
        variable: String,
        operator: &'static str,
        value: Value,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

/// A condition of a [`Choice`](super::Choice) branch.
///
/// ```
/// use cairn_constructs::stepfunctions::Condition;
/// let ready = Condition::and([
///     Condition::is_present("$.status"),
///     Condition::string_equals("$.status", "stopped"),
///     Condition::not(Condition::numeric_greater_than("$.attempts", 5)),
/// ]);
/// # let _ = ready;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Condition(Cond);

macro_rules! comparisons {
    ($( $(#[$doc:meta])* $fn:ident, $path_fn:ident, $op:literal, $ty:ty, $conv:expr; )*) => {
        impl Condition {
            $(
                $(#[$doc])*
                pub fn $fn(variable: &str, value: $ty) -> Condition {
                    Condition::compare(variable, $op, $conv(value))
                }

                #[doc = concat!("`", $op, "Path`: compares with the value at another path of the input.")]
                pub fn $path_fn(variable: &str, path: &str) -> Condition {
                    Condition::compare(variable, concat!($op, "Path"), Value::from(path))
                }
            )*
        }
    };
}

fn str_value(s: &str) -> Value {
    Value::from(s)
}

fn num_value(n: impl Into<Number>) -> Value {
    match n.into() {
        Number::Int(i) => Value::Int(i),
        Number::Float(f) => Value::Float(f),
    }
}

comparisons! {
    /// `StringEquals`.
    string_equals, string_equals_path, "StringEquals", &str, str_value;
    /// `StringLessThan`.
    string_less_than, string_less_than_path, "StringLessThan", &str, str_value;
    /// `StringLessThanEquals`.
    string_less_than_equals, string_less_than_equals_path, "StringLessThanEquals", &str, str_value;
    /// `StringGreaterThan`.
    string_greater_than, string_greater_than_path, "StringGreaterThan", &str, str_value;
    /// `StringGreaterThanEquals`.
    string_greater_than_equals, string_greater_than_equals_path, "StringGreaterThanEquals", &str, str_value;
    /// `NumericEquals`.
    numeric_equals, numeric_equals_path, "NumericEquals", impl Into<Number>, num_value;
    /// `NumericLessThan`.
    numeric_less_than, numeric_less_than_path, "NumericLessThan", impl Into<Number>, num_value;
    /// `NumericLessThanEquals`.
    numeric_less_than_equals, numeric_less_than_equals_path, "NumericLessThanEquals", impl Into<Number>, num_value;
    /// `NumericGreaterThan`.
    numeric_greater_than, numeric_greater_than_path, "NumericGreaterThan", impl Into<Number>, num_value;
    /// `NumericGreaterThanEquals`.
    numeric_greater_than_equals, numeric_greater_than_equals_path, "NumericGreaterThanEquals", impl Into<Number>, num_value;
    /// `BooleanEquals`.
    boolean_equals, boolean_equals_path, "BooleanEquals", bool, Value::Bool;
    /// `TimestampEquals` (an RFC 3339 timestamp).
    timestamp_equals, timestamp_equals_path, "TimestampEquals", &str, str_value;
    /// `TimestampLessThan`.
    timestamp_less_than, timestamp_less_than_path, "TimestampLessThan", &str, str_value;
    /// `TimestampLessThanEquals`.
    timestamp_less_than_equals, timestamp_less_than_equals_path, "TimestampLessThanEquals", &str, str_value;
    /// `TimestampGreaterThan`.
    timestamp_greater_than, timestamp_greater_than_path, "TimestampGreaterThan", &str, str_value;
    /// `TimestampGreaterThanEquals`.
    timestamp_greater_than_equals, timestamp_greater_than_equals_path, "TimestampGreaterThanEquals", &str, str_value;
}

impl Condition {
    fn compare(variable: &str, operator: &'static str, value: Value) -> Condition {
        Condition(Cond::Compare {
            variable: variable.to_string(),
            operator,
            value,
        })
    }

    /// `StringMatches`: a pattern where `*` matches anything (`\\*` is a literal star).
    pub fn string_matches(variable: &str, pattern: &str) -> Condition {
        Condition::compare(variable, "StringMatches", Value::from(pattern))
    }

    /// `IsPresent: true`.
    pub fn is_present(variable: &str) -> Condition {
        Condition::compare(variable, "IsPresent", Value::Bool(true))
    }

    /// `IsPresent: false`.
    pub fn is_not_present(variable: &str) -> Condition {
        Condition::compare(variable, "IsPresent", Value::Bool(false))
    }

    /// `IsNull: true`.
    pub fn is_null(variable: &str) -> Condition {
        Condition::compare(variable, "IsNull", Value::Bool(true))
    }

    /// `IsNull: false`.
    pub fn is_not_null(variable: &str) -> Condition {
        Condition::compare(variable, "IsNull", Value::Bool(false))
    }

    /// `IsString: true`.
    pub fn is_string(variable: &str) -> Condition {
        Condition::compare(variable, "IsString", Value::Bool(true))
    }

    /// `IsNumeric: true`.
    pub fn is_numeric(variable: &str) -> Condition {
        Condition::compare(variable, "IsNumeric", Value::Bool(true))
    }

    /// `IsBoolean: true`.
    pub fn is_boolean(variable: &str) -> Condition {
        Condition::compare(variable, "IsBoolean", Value::Bool(true))
    }

    /// `IsTimestamp: true`.
    pub fn is_timestamp(variable: &str) -> Condition {
        Condition::compare(variable, "IsTimestamp", Value::Bool(true))
    }

    /// `And`: every condition holds.
    pub fn and(conditions: impl IntoIterator<Item = Condition>) -> Condition {
        Condition(Cond::And(conditions.into_iter().collect()))
    }

    /// `Or`: at least one condition holds.
    pub fn or(conditions: impl IntoIterator<Item = Condition>) -> Condition {
        Condition(Cond::Or(conditions.into_iter().collect()))
    }

    /// `Not`: the condition does not hold.
    #[allow(clippy::should_implement_trait)]
    pub fn not(condition: Condition) -> Condition {
        Condition(Cond::Not(Box::new(condition)))
    }

    pub(super) fn check(&self, state: &str) -> DefResult<()> {
        match &self.0 {
            Cond::Compare {
                variable,
                operator,
                value,
            } => {
                check_path(state, "Variable", variable)?;
                match value {
                    Value::String(s) if operator.ends_with("Path") => check_path(state, operator, s),
                    Value::String(s) if operator.starts_with("Timestamp") && !is_timestamp(s) => {
                        Err(invalid(
                            state,
                            operator,
                            s,
                            "use an RFC 3339 timestamp such as 2030-01-01T00:00:00Z",
                        ))
                    }
                    Value::Float(f) if !f.is_finite() => {
                        Err(invalid(state, operator, &f.to_string(), "numbers must be finite"))
                    }
                    _ => Ok(()),
                }
            }
            Cond::And(cs) | Cond::Or(cs) => {
                if cs.is_empty() {
                    let op = if matches!(self.0, Cond::And(_)) {
                        "And"
                    } else {
                        "Or"
                    };
                    return Err(invalid(state, op, "[]", "give at least one condition"));
                }
                cs.iter().try_for_each(|c| c.check(state))
            }
            Cond::Not(c) => c.check(state),
        }
    }

    pub(super) fn to_value(&self) -> Value {
        match &self.0 {
            Cond::Compare {
                variable,
                operator,
                value,
            } => Value::map([
                ("Variable", Value::from(variable.as_str())),
                (*operator, value.clone()),
            ]),
            Cond::And(cs) => Value::map([("And", Value::List(cs.iter().map(Condition::to_value).collect()))]),
            Cond::Or(cs) => Value::map([("Or", Value::List(cs.iter().map(Condition::to_value).collect()))]),
            Cond::Not(c) => Value::map([("Not", c.to_value())]),
        }
    }
}
