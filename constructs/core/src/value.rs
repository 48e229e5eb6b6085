//! Property values: literals and every CloudFormation intrinsic function.
//!
//! A [`Value`] is what a resource property, an output or a parameter default holds.
//! References to other parts of the app ([`Intrinsic::Ref`], [`Intrinsic::GetAtt`],
//! [`Intrinsic::If`] ...) name a tree node by its [`NodeId`], never a string token;
//! they are resolved to logical IDs, or to `Fn::ImportValue` across stacks, only at
//! synthesis.

use indexmap::IndexMap;

use crate::id::NodeId;

/// A property value: a literal or an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JSON `null`. Rarely what you want in a template; see [`Pseudo::NoValue`].
    Null,
    /// A boolean literal.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A floating point literal.
    Float(f64),
    /// A string literal.
    String(String),
    /// A list of values.
    List(Vec<Value>),
    /// A map of values, in insertion order.
    Map(IndexMap<String, Value>),
    /// An intrinsic function or reference, resolved at synthesis.
    Intrinsic(Box<Intrinsic>),
}

/// What a reference points at: a node of the construct tree, or a raw logical ID
/// (the escape hatch for templates that refer to things cairn does not model).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A resource, parameter, condition, mapping or output node.
    Node(NodeId),
    /// A logical ID written by hand.
    LogicalId(String),
}

impl From<NodeId> for Target {
    fn from(node: NodeId) -> Self {
        Target::Node(node)
    }
}

impl From<crate::id::ConditionRef> for Target {
    fn from(c: crate::id::ConditionRef) -> Self {
        Target::Node(c.node())
    }
}

impl From<crate::id::MappingRef> for Target {
    fn from(m: crate::id::MappingRef) -> Self {
        Target::Node(m.node())
    }
}

impl From<crate::id::ParameterRef> for Target {
    fn from(p: crate::id::ParameterRef) -> Self {
        Target::Node(p.node())
    }
}

impl Default for Value {
    /// `Null`.
    fn default() -> Value {
        Value::Null
    }
}

/// A value serializes as the JSON CloudFormation reads, once synthesis has resolved its
/// intrinsics (maps keep their order). An unresolved intrinsic (a reference to a node) has
/// no JSON form: serializing one is an error.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap, SerializeSeq};
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if !f.is_finite() => Err(S::Error::custom(format!(
                "a number is {f}: CloudFormation numbers are finite; check what computed it"
            ))),
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Value::Intrinsic(i) => Err(S::Error::custom(format!(
                "an unresolved intrinsic ({i:?}) has no JSON form; synthesis resolves references first"
            ))),
        }
    }
}

impl crate::id::ParameterRef {
    /// `Ref` to the parameter.
    pub fn value(self) -> Value {
        Value::reference(self.node())
    }
}

impl Target {
    /// A logical ID written by hand: the escape hatch for a template element cairn does
    /// not model (synthesis writes it as given; nothing checks that it exists).
    pub fn logical_id(id: impl Into<String>) -> Target {
        Target::LogicalId(id.into())
    }
}

/// CloudFormation pseudo parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pseudo {
    /// `AWS::AccountId`
    AccountId,
    /// `AWS::Region`
    Region,
    /// `AWS::Partition`
    Partition,
    /// `AWS::StackName`
    StackName,
    /// `AWS::StackId`
    StackId,
    /// `AWS::URLSuffix`
    UrlSuffix,
    /// `AWS::NotificationARNs`
    NotificationArns,
    /// `AWS::NoValue`: removes the property it is assigned to.
    NoValue,
}

impl Pseudo {
    /// The CloudFormation name, e.g. `AWS::Region`.
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::Region => "AWS::Region",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
            Pseudo::NoValue => "AWS::NoValue",
        }
    }
}

/// A CloudFormation intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub enum Intrinsic {
    /// `Ref` to a resource, parameter or hand-written logical ID.
    Ref(Target),
    /// `Ref` to a pseudo parameter such as `AWS::Region`.
    Pseudo(Pseudo),
    /// `Fn::GetAtt` of a resource attribute.
    GetAtt(Target, String),
    /// `Fn::Sub` with a template string and its variables.
    Sub(String, IndexMap<String, Value>),
    /// `Fn::Join` of a list (literal or intrinsic) with a delimiter.
    Join(String, Value),
    /// `Fn::Select` the element at an index of a list.
    Select(Value, Value),
    /// `Fn::Split` a string by a delimiter.
    Split(String, Value),
    /// `Fn::If` a condition holds, then the first value, else the second.
    If(Target, Value, Value),
    /// `Fn::Equals`.
    Equals(Value, Value),
    /// `Fn::And`.
    And(Vec<Value>),
    /// `Fn::Or`.
    Or(Vec<Value>),
    /// `Fn::Not`.
    Not(Value),
    /// `Condition` reference inside a condition expression.
    Condition(Target),
    /// `Fn::ImportValue` of an export name.
    ImportValue(Value),
    /// `Fn::FindInMap` of a mapping, a top-level key and a second-level key.
    FindInMap(Target, Value, Value),
    /// `Fn::Base64`.
    Base64(Value),
    /// `Fn::Cidr` of an IP block, a count and the CIDR bits.
    Cidr(Value, Value, Value),
    /// `Fn::GetAZs` of a region (empty string for the stack's region).
    GetAzs(Value),
}

impl Value {
    /// `Ref` to a tree node or a raw logical ID.
    pub fn reference(target: impl Into<Target>) -> Value {
        Intrinsic::Ref(target.into()).into()
    }

    /// `Fn::GetAtt` of `attribute` on a tree node or a raw logical ID.
    pub fn get_att(target: impl Into<Target>, attribute: &str) -> Value {
        Intrinsic::GetAtt(target.into(), attribute.to_string()).into()
    }

    /// A pseudo parameter, e.g. `Value::pseudo(Pseudo::Region)`.
    pub fn pseudo(p: Pseudo) -> Value {
        Intrinsic::Pseudo(p).into()
    }

    /// `Fn::Sub` with no variables: `${AWS::Region}` style references only.
    pub fn sub(template: &str) -> Value {
        Intrinsic::Sub(template.to_string(), IndexMap::new()).into()
    }

    /// `Fn::Sub` with variables, each of which may be any value (references included).
    ///
    /// ```
    /// use cairn_core::{Value, Pseudo};
    /// let v = Value::sub_with("arn:${P}:s3:::${B}", [
    ///     ("P", Value::pseudo(Pseudo::Partition)),
    ///     ("B", Value::from("my-bucket")),
    /// ]);
    /// assert!(matches!(v, Value::Intrinsic(_)));
    /// ```
    pub fn sub_with<K: Into<String>>(template: &str, vars: impl IntoIterator<Item = (K, Value)>) -> Value {
        Intrinsic::Sub(
            template.to_string(),
            vars.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        )
        .into()
    }

    /// `Fn::Join` of parts with a delimiter.
    pub fn join(delimiter: &str, parts: impl IntoIterator<Item = Value>) -> Value {
        Intrinsic::Join(delimiter.to_string(), Value::List(parts.into_iter().collect())).into()
    }

    /// `Fn::Select` element `index` of `list`.
    pub fn select(index: i64, list: Value) -> Value {
        Intrinsic::Select(Value::Int(index), list).into()
    }

    /// `Fn::Split` `source` by `delimiter`.
    pub fn split(delimiter: &str, source: Value) -> Value {
        Intrinsic::Split(delimiter.to_string(), source).into()
    }

    /// `Fn::If` on a condition.
    pub fn if_(condition: impl Into<Target>, then: Value, otherwise: Value) -> Value {
        Intrinsic::If(condition.into(), then, otherwise).into()
    }

    /// `Fn::Equals`.
    pub fn equals(a: Value, b: Value) -> Value {
        Intrinsic::Equals(a, b).into()
    }

    /// `Fn::And`.
    pub fn and(values: impl IntoIterator<Item = Value>) -> Value {
        Intrinsic::And(values.into_iter().collect()).into()
    }

    /// `Fn::Or`.
    pub fn or(values: impl IntoIterator<Item = Value>) -> Value {
        Intrinsic::Or(values.into_iter().collect()).into()
    }

    /// `Condition` reference, for use inside condition expressions.
    pub fn condition(condition: impl Into<Target>) -> Value {
        Intrinsic::Condition(condition.into()).into()
    }

    /// `Fn::ImportValue` of an export name.
    pub fn import_value(name: impl Into<Value>) -> Value {
        Intrinsic::ImportValue(name.into()).into()
    }

    /// `Fn::FindInMap`.
    pub fn find_in_map(mapping: impl Into<Target>, top: Value, second: Value) -> Value {
        Intrinsic::FindInMap(mapping.into(), top, second).into()
    }

    /// `Fn::Base64`.
    pub fn base64(value: Value) -> Value {
        Intrinsic::Base64(value).into()
    }

    /// `Fn::Cidr`.
    pub fn cidr(ip_block: Value, count: i64, cidr_bits: i64) -> Value {
        Intrinsic::Cidr(ip_block, Value::Int(count), Value::Int(cidr_bits)).into()
    }

    /// `Fn::GetAZs` of the stack's region.
    pub fn get_azs() -> Value {
        Intrinsic::GetAzs(Value::String(String::new())).into()
    }

    /// A map value from key/value pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A list value.
    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(items.into_iter().collect())
    }

    /// True when the value is (or holds) no intrinsic: it is fully known before deploy.
    pub fn is_literal(&self) -> bool {
        match self {
            Value::Intrinsic(_) => false,
            Value::List(items) => items.iter().all(Value::is_literal),
            Value::Map(m) => m.values().all(Value::is_literal),
            _ => true,
        }
    }

    /// True for `null`, booleans, numbers and strings: nothing inside to resolve.
    pub fn is_literal_scalar(&self) -> bool {
        matches!(
            self,
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::String(_)
        )
    }

    /// The string literal, if this value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The map, if this value is one.
    pub fn as_map(&self) -> Option<&IndexMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The mutable map, if this value is one.
    pub fn as_map_mut(&mut self) -> Option<&mut IndexMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Every tree node this value refers to, in order of appearance.
    pub fn referenced_nodes(&self, out: &mut Vec<NodeId>) {
        self.visit_references(&mut |r| {
            if let Target::Node(n) = r.target() {
                out.push(*n);
            }
        });
    }

    /// Calls `visit` for every reference in the value, in the order synthesis resolves
    /// them (depth first, arguments left to right; `Null` map entries, which synthesis
    /// leaves out, skipped).
    pub fn visit_references<'v>(&'v self, visit: &mut impl FnMut(Reference<'v>)) {
        match self {
            Value::List(items) => items.iter().for_each(|v| v.visit_references(visit)),
            Value::Map(m) => m
                .values()
                .filter(|v| !matches!(v, Value::Null))
                .for_each(|v| v.visit_references(visit)),
            Value::Intrinsic(i) => i.visit_references(visit),
            _ => {}
        }
    }

    /// Converts a plain JSON value (no intrinsics are recognised) into a [`Value`].
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or_default()),
            },
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }
}

/// One reference inside a [`Value`], as [`Value::visit_references`] reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reference<'v> {
    /// `Ref` of a resource or parameter.
    Ref(&'v Target),
    /// `Fn::GetAtt` of an attribute.
    GetAtt(&'v Target, &'v str),
    /// A condition named by `Fn::If` or `Condition`.
    Condition(&'v Target),
    /// The mapping of `Fn::FindInMap`.
    Mapping(&'v Target),
}

impl<'v> Reference<'v> {
    /// What the reference names.
    pub fn target(self) -> &'v Target {
        match self {
            Reference::Ref(t) | Reference::GetAtt(t, _) | Reference::Condition(t) | Reference::Mapping(t) => {
                t
            }
        }
    }
}

impl Intrinsic {
    fn visit_references<'v>(&'v self, visit: &mut impl FnMut(Reference<'v>)) {
        match self {
            Intrinsic::Ref(t) => visit(Reference::Ref(t)),
            Intrinsic::GetAtt(t, a) => visit(Reference::GetAtt(t, a)),
            Intrinsic::Condition(t) => visit(Reference::Condition(t)),
            Intrinsic::Pseudo(_) => {}
            Intrinsic::Sub(_, vars) => vars
                .values()
                .filter(|v| !matches!(v, Value::Null))
                .for_each(|v| v.visit_references(visit)),
            Intrinsic::Join(_, v)
            | Intrinsic::Split(_, v)
            | Intrinsic::Not(v)
            | Intrinsic::ImportValue(v)
            | Intrinsic::Base64(v)
            | Intrinsic::GetAzs(v) => v.visit_references(visit),
            Intrinsic::Select(a, b) | Intrinsic::Equals(a, b) => {
                a.visit_references(visit);
                b.visit_references(visit);
            }
            Intrinsic::If(t, a, b) => {
                visit(Reference::Condition(t));
                a.visit_references(visit);
                b.visit_references(visit);
            }
            Intrinsic::FindInMap(t, a, b) => {
                visit(Reference::Mapping(t));
                a.visit_references(visit);
                b.visit_references(visit);
            }
            Intrinsic::And(vs) | Intrinsic::Or(vs) => vs.iter().for_each(|v| v.visit_references(visit)),
            Intrinsic::Cidr(a, b, c) => {
                a.visit_references(visit);
                b.visit_references(visit);
                c.visit_references(visit);
            }
        }
    }
}

/// `!value` is `Fn::Not`.
///
/// ```
/// use cairn_core::Value;
/// let not_prod = !Value::equals(Value::from("a"), Value::from("prod"));
/// # let _ = not_prod;
/// ```
impl std::ops::Not for Value {
    type Output = Value;
    fn not(self) -> Value {
        Intrinsic::Not(self).into()
    }
}

impl From<Intrinsic> for Value {
    fn from(i: Intrinsic) -> Self {
        Value::Intrinsic(Box::new(i))
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::String(s.clone())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl From<Pseudo> for Value {
    fn from(p: Pseudo) -> Self {
        Value::pseudo(p)
    }
}

/// Turns a typed property (an L1 struct, an enum, a literal) into a [`Value`].
pub trait ToValue {
    /// The value as it goes into the template before reference resolution.
    fn to_value(&self) -> Value;
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(ToValue::to_value).collect())
    }
}

impl<T: ToValue> ToValue for IndexMap<String, T> {
    fn to_value(&self) -> Value {
        Value::Map(self.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
    }
}

impl<T: ToValue> ToValue for Box<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

/// A typed property field: a literal of type `T`, or any [`Value`] (an intrinsic such as
/// a reference, or a literal the schema did not foresee).
///
/// ```
/// use cairn_core::{Val, Value};
/// let name: Val<String> = "logs".into();
/// let port: Val<i64> = 443.into();
/// let computed: Val<String> = Value::sub("${AWS::StackName}-logs").into();
/// assert!(matches!(name, Val::Lit(_)));
/// assert!(matches!(computed, Val::Expr(_)));
/// # let _ = port;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Val<T> {
    /// A literal of the schema's type.
    Lit(T),
    /// Any value, usually an intrinsic.
    Expr(Value),
}

impl<T> Val<T> {
    /// The literal, when this is one.
    pub fn literal(&self) -> Option<&T> {
        match self {
            Val::Lit(t) => Some(t),
            Val::Expr(_) => None,
        }
    }
}

impl<T: ToValue> ToValue for Val<T> {
    fn to_value(&self) -> Value {
        match self {
            Val::Lit(t) => t.to_value(),
            Val::Expr(v) => v.clone(),
        }
    }
}

impl<T> From<Value> for Val<T> {
    fn from(v: Value) -> Self {
        Val::Expr(v)
    }
}

impl From<&str> for Val<String> {
    fn from(s: &str) -> Self {
        Val::Lit(s.to_string())
    }
}

impl From<String> for Val<String> {
    fn from(s: String) -> Self {
        Val::Lit(s)
    }
}

impl From<&String> for Val<String> {
    fn from(s: &String) -> Self {
        Val::Lit(s.clone())
    }
}

impl From<bool> for Val<bool> {
    fn from(b: bool) -> Self {
        Val::Lit(b)
    }
}

impl From<i64> for Val<i64> {
    fn from(i: i64) -> Self {
        Val::Lit(i)
    }
}

impl From<i32> for Val<i64> {
    fn from(i: i32) -> Self {
        Val::Lit(i64::from(i))
    }
}

impl From<u32> for Val<i64> {
    fn from(i: u32) -> Self {
        Val::Lit(i64::from(i))
    }
}

impl From<f64> for Val<f64> {
    fn from(f: f64) -> Self {
        Val::Lit(f)
    }
}

impl From<i64> for Val<f64> {
    fn from(i: i64) -> Self {
        Val::Lit(i as f64)
    }
}

impl From<i32> for Val<f64> {
    fn from(i: i32) -> Self {
        Val::Lit(f64::from(i))
    }
}

impl<T> From<Vec<T>> for Val<Vec<T>> {
    fn from(v: Vec<T>) -> Self {
        Val::Lit(v)
    }
}

impl<T> From<IndexMap<String, T>> for Val<IndexMap<String, T>> {
    fn from(m: IndexMap<String, T>) -> Self {
        Val::Lit(m)
    }
}

impl From<Pseudo> for Val<String> {
    fn from(p: Pseudo) -> Self {
        Val::Expr(Value::pseudo(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_detection_looks_inside_collections() {
        assert!(Value::list([Value::from("a"), Value::from(1)]).is_literal());
        assert!(!Value::map([("k", Value::pseudo(Pseudo::Region))]).is_literal());
    }

    #[test]
    fn referenced_nodes_are_found_in_nested_intrinsics() {
        let mut app = crate::App::new();
        let a = app.stack("A").unwrap().node();
        let b = app.stack("B").unwrap().node();
        let v = Value::join(
            "-",
            [
                Value::reference(a),
                Value::sub_with("${X}", [("X", Value::get_att(b, "Arn"))]),
            ],
        );
        let mut out = Vec::new();
        v.referenced_nodes(&mut out);
        assert_eq!(out, vec![a, b]);
    }

    #[test]
    fn typed_values_convert() {
        let v: Val<Vec<Val<String>>> = vec![Val::from("a"), Val::from(Value::sub("b"))].into();
        assert_eq!(v.to_value(), Value::List(vec![Value::from("a"), Value::sub("b")]));
    }
}
