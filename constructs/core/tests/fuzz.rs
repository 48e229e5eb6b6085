//! Property-based tests of the core with arbitrary input: value trees through synthesis and the
//! writer, and construct ids through the tree, the names synthesis derives from them and the
//! assembly. Each property runs a bounded number of generated cases (`CASES`, or the
//! `PROPTEST_CASES` environment variable); a failing case is shrunk to a minimal one and
//! written to `proptest-regressions/`, which is committed and replayed first on every run.

use cairn_core::{App, CfnResource, Error, StackProps, Value};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value as Json;

/// Cases per property: a few hundred keep each property well under a second.
const CASES: u32 = 256;

fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(CASES),
        ..Config::default()
    }
}

/// Any text: ASCII, control characters, quotes, backslashes, and any Unicode scalar.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,12}",
        "[\\x00-\\x1f\"\\\\/]{0,6}",
        any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

/// Any literal value tree (no intrinsics), floats included (NaN and infinities too).
fn literal() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|entries| Value::Map(entries.into_iter().collect())),
        ]
    })
}

/// What a literal becomes in a template: map entries that are `Null` are left out (a property
/// that is not set); `Null` in a list stays.
fn expected(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => Json::from(*f),
        Value::String(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(items.iter().map(expected).collect()),
        Value::Map(m) => Json::Object(
            m.iter()
                .filter(|(_, v)| !matches!(v, Value::Null))
                .map(|(k, v)| (k.clone(), expected(v)))
                .collect(),
        ),
        Value::Intrinsic(_) => unreachable!("the strategy makes literals only"),
    }
}

fn has_non_finite(v: &Value) -> bool {
    match v {
        Value::Float(f) => !f.is_finite(),
        Value::List(items) => items.iter().any(has_non_finite),
        Value::Map(m) => m.values().any(has_non_finite),
        _ => false,
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any literal tree synthesizes to valid JSON that reads back as the same tree, twice
    /// byte-identical; a number JSON cannot carry (NaN, infinity) is an error naming the
    /// stack, never a silent `null`.
    #[test]
    fn literal_values_round_trip_through_synthesis(value in literal()) {
        let mut app = App::new();
        let stack = app.stack("Fuzz").unwrap();
        app.add(stack, "Thing", CfnResource::new("AWS::SNS::Topic").with("Value", value.clone()))
            .unwrap();
        match app.synth() {
            Ok(assembly) => {
                prop_assert!(!has_non_finite(&value), "a non-finite number was written");
                let template = &assembly.stack("Fuzz").unwrap().template;
                let parsed: Json = serde_json::from_str(template.text()).unwrap();
                let props = &parsed["Resources"]["Thing"]["Properties"];
                // Both sides through the same parser (which rounds some long floats), so
                // this compares what the writer wrote.
                let want = expected(&value);
                let want: Json = serde_json::from_str(&serde_json::to_string(&want).unwrap()).unwrap();
                if want.is_null() {
                    prop_assert!(props.get("Value").is_none());
                } else {
                    prop_assert_eq!(&props["Value"], &want);
                }
                let again = app.synth().unwrap();
                prop_assert_eq!(again.stack("Fuzz").unwrap().template.text(), template.text());
            }
            Err(e) => {
                prop_assert!(has_non_finite(&value), "unexpected error: {e}");
                let message = e.to_string();
                prop_assert!(message.contains("Fuzz"), "the error names the stack: {message}");
                prop_assert!(message.contains("finite"), "the error says why: {message}");
            }
        }
    }

    /// Any construct ids: the tree either refuses an id with a clear error, or synthesis
    /// succeeds with CloudFormation-valid logical IDs and stack names, or refuses with an
    /// error that names the construct. Never a panic.
    #[test]
    fn arbitrary_ids_are_refused_clearly_or_synthesize(
        stack_id in text(),
        construct_id in text(),
        resource_id in text(),
    ) {
        let mut app = App::new();
        let stack = match app.stack(&stack_id) {
            Ok(s) => s,
            Err(e) => {
                prop_assert!(matches!(e, Error::InvalidId { .. }), "{e}");
                return Ok(());
            }
        };
        let scope = match app.construct(stack, &construct_id) {
            Ok(c) => c,
            Err(e) => {
                prop_assert!(matches!(e, Error::InvalidId { .. }), "{e}");
                return Ok(());
            }
        };
        for parent in [scope, stack.into()] {
            if let Err(e) = app.add(parent, &resource_id, CfnResource::new("AWS::SNS::Topic")) {
                prop_assert!(matches!(e, Error::InvalidId { .. } | Error::DuplicateId { .. }), "{e}");
            }
        }
        match app.synth() {
            Ok(assembly) => {
                let artifact = assembly.stack(&stack_id).unwrap();
                let t = artifact.template.json();
                for id in t["Resources"].as_object().into_iter().flat_map(|r| r.keys()) {
                    prop_assert!(valid_logical_id(id), "invalid logical ID {id:?}");
                }
                let name = app.stack_name(stack);
                prop_assert!(valid_stack_name(&name), "invalid stack name {name:?}");
            }
            Err(e) => {
                let message = e.to_string();
                match &e {
                    Error::InvalidStackName { name, .. } => {
                        prop_assert!(!valid_stack_name(name), "{message}");
                        prop_assert_eq!(name, &app.stack_name(stack));
                    }
                    Error::InvalidLogicalId { logical_id, .. } => {
                        prop_assert!(!valid_logical_id(logical_id), "{message}");
                    }
                    Error::InvalidId { .. } => prop_assert!(message.contains("artifact"), "{message}"),
                    _ => prop_assert!(false, "unexpected error: {message}"),
                }
            }
        }
    }

    /// A stack name given in the props is checked as CloudFormation checks it.
    #[test]
    fn explicit_stack_names_are_checked(name in text()) {
        let mut app = App::new();
        let props = StackProps { stack_name: Some(name.clone()), ..StackProps::default() };
        let root = app.root();
        app.stack_with(root, "Fuzz", props).unwrap();
        match app.synth() {
            Ok(_) => prop_assert!(valid_stack_name(&name), "accepted {name:?}"),
            Err(e) => {
                prop_assert!(!valid_stack_name(&name), "refused {name:?}: {e}");
                prop_assert!(matches!(e, Error::InvalidStackName { .. }), "{e}");
            }
        }
    }
}

/// CloudFormation: 1 to 255 ASCII letters and digits.
fn valid_logical_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// CloudFormation: `^[A-Za-z][A-Za-z0-9-]*$`, at most 128 characters.
fn valid_stack_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.len() <= 128
}
