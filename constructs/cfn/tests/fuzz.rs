//! Property-based tests of the schema validator with arbitrary property maps: any resource
//! type compiled into this build, its own property names and random ones, any values
//! (intrinsics included). The validator never panics, every error names a path inside the
//! resource's properties and says what is wrong, and the same input gives the same errors
//! (its compiled schemas are reused, not changed, by later checks). Cases per property:
//! `CASES`, or `PROPTEST_CASES`; a failing case is shrunk and kept in
//! `fuzz.proptest-regressions`, replayed first on every run.

use cairn_cfn::schema::{facts, known_types};
use cairn_cfn::{IndexMap, SchemaValidator, Value};
use cairn_core::Target;
use proptest::prelude::*;
use proptest::test_runner::Config;

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

fn types() -> Vec<&'static str> {
    known_types().filter(|t| facts(t).is_some()).collect()
}

/// The top-level property names of a type's schema.
fn property_names(type_name: &str) -> Vec<String> {
    let Some(f) = facts(type_name) else {
        return Vec::new();
    };
    let schema: serde_json::Value = serde_json::from_str(f.schema_json).unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        "[ -~]{0,16}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
        "[A-Za-z]{1,8}".prop_map(|id| Value::reference(Target::logical_id(id))),
        Just(Value::get_azs()),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::List),
            prop::collection::vec(("[A-Za-z]{1,10}", inner.clone()), 0..5)
                .prop_map(|e| Value::Map(e.into_iter().collect())),
            (inner.clone(), inner).prop_map(|(a, b)| Value::join(",", [a, b])),
        ]
    })
}

/// A type index, the type's own property names (by index) with values, random names with values.
type Case = (usize, Vec<(usize, Value)>, Vec<(String, Value)>);

fn case() -> impl Strategy<Value = Case> {
    (
        any::<usize>(),
        prop::collection::vec((any::<usize>(), value()), 0..6),
        prop::collection::vec((any::<String>(), value()), 0..2),
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_property_map_is_checked_without_panic((t, own, random) in case()) {
        let types = types();
        prop_assume!(!types.is_empty());
        let type_name = types[t % types.len()];
        let names = property_names(type_name);
        let mut props = IndexMap::new();
        for (i, v) in own {
            if !names.is_empty() {
                props.insert(names[i % names.len()].clone(), v);
            }
        }
        props.extend(random);
        let validator = SchemaValidator::new();
        let errors = validator.check(type_name, &props);
        for e in &errors {
            prop_assert!(e.path.starts_with("Properties"), "{type_name}: path {:?}", e.path);
            prop_assert!(!e.message.trim().is_empty(), "{type_name}: empty message at {}", e.path);
        }
        let again = validator.check(type_name, &props);
        prop_assert_eq!(
            errors.iter().map(|e| (&e.path, &e.message)).collect::<Vec<_>>(),
            again.iter().map(|e| (&e.path, &e.message)).collect::<Vec<_>>()
        );
    }
}
