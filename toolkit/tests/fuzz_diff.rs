//! Property-based tests of the template diff with arbitrary templates: any resources (known
//! and unknown types, deletion policies, properties of any shape), parameters and outputs,
//! and sections of the wrong JSON type. The diff never panics and renders; a template
//! compared with itself has no difference; a removed resource that holds data and is not
//! retained is always reported as data loss. Cases: `CASES`, or `PROPTEST_CASES`; a failing
//! case is shrunk and kept in `fuzz_diff.proptest-regressions`, replayed first.

use cairn_toolkit::diff::{diff_templates, ChangeKind};
use cairn_toolkit::facts::SchemaFacts;
use cairn_toolkit::style::Style;
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Map, Value as Json};

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

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        "[ -~]{0,10}".prop_map(Json::String),
        "[A-Za-z]{1,6}".prop_map(|id| json!({ "Ref": id })),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::vec(("[A-Za-z]{1,8}", inner), 0..4)
                .prop_map(|e| Json::Object(e.into_iter().collect())),
        ]
    })
}

fn resource() -> impl Strategy<Value = Json> {
    (
        prop::sample::select(vec![
            "AWS::S3::Bucket",
            "AWS::DynamoDB::Table",
            "AWS::RDS::DBInstance",
            "AWS::SQS::Queue",
            "AWS::IAM::Role",
            "AWS::EC2::SecurityGroup",
            "AWS::Lambda::Function",
            "Custom::Thing",
            "",
        ]),
        prop::option::of(prop::sample::select(vec![
            "Retain", "Delete", "Snapshot", "Bogus",
        ])),
        prop::option::of(prop::sample::select(vec!["Retain", "Delete"])),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "BucketName",
                    "TableName",
                    "KeySchema",
                    "Engine",
                    "GroupDescription",
                    "SecurityGroupIngress",
                    "AssumeRolePolicyDocument",
                    "Policies",
                    "Other",
                ]),
                json_value(),
            ),
            0..4,
        ),
        prop::option::of(json_value()),
    )
        .prop_map(|(ty, deletion, replace, props, odd)| {
            let mut r = Map::new();
            r.insert("Type".into(), json!(ty));
            if let Some(d) = deletion {
                r.insert("DeletionPolicy".into(), json!(d));
            }
            if let Some(u) = replace {
                r.insert("UpdateReplacePolicy".into(), json!(u));
            }
            let props: Map<String, Json> = props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            r.insert("Properties".into(), Json::Object(props));
            if let Some(v) = odd {
                r.insert("Metadata".into(), v);
            }
            Json::Object(r)
        })
}

fn template() -> impl Strategy<Value = Json> {
    (
        prop::collection::vec(("R[a-c]", resource()), 0..5),
        prop::collection::vec(("P[a-b]", json_value()), 0..2),
        prop::collection::vec(("O[a-b]", json_value()), 0..2),
        prop::option::of(json_value()),
    )
        .prop_map(|(resources, parameters, outputs, odd)| {
            let mut t = Map::new();
            t.insert("Resources".into(), Json::Object(resources.into_iter().collect()));
            t.insert(
                "Parameters".into(),
                Json::Object(parameters.into_iter().collect()),
            );
            t.insert("Outputs".into(), Json::Object(outputs.into_iter().collect()));
            if let Some(v) = odd {
                // A section of the wrong JSON type.
                t.insert("Conditions".into(), v);
            }
            Json::Object(t)
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_two_templates_diff_and_render(old in template(), new in template()) {
        let diff = diff_templates(&old, &new, &SchemaFacts);
        let _ = diff.render(Style::plain());
        let _ = diff.render_security(Style::plain());
        let _ = diff.broadens_security();
        for r in &diff.resources {
            let in_old = old["Resources"].get(&r.logical_id).is_some();
            let in_new = new["Resources"].get(&r.logical_id).is_some();
            match r.kind {
                ChangeKind::Added => prop_assert!(!in_old && in_new),
                ChangeKind::Removed => prop_assert!(in_old && !in_new),
                ChangeKind::Modified => prop_assert!(in_old && in_new),
            }
            if r.kind == ChangeKind::Removed && r.holds_data {
                let keeps = matches!(r.deletion_policy.as_deref(), Some("Retain" | "Snapshot" | "RetainExceptOnCreate"));
                prop_assert_eq!(r.loses_data(), !keeps, "{}", r.logical_id);
            }
        }
        let same = diff_templates(&old, &old, &SchemaFacts);
        prop_assert!(same.is_empty(), "a template differs from itself: {}", same.render(Style::plain()));
    }
}
