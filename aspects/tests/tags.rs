//! Tags in every shape the schemas state, with filters, priorities and removal; the
//! mandatory-tags rule.

use cairn_aspects::rules::MandatoryTags;
use cairn_aspects::tags::tag_shape;
use cairn_aspects::{Mode, RuleSet, TagOptions, TagShape, Tags};
use cairn_core::{App, CfnResource, Error, Value};
use serde_json::json;

fn app() -> App {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let g = app.construct(s, "Team").unwrap();
    app.add(g, "Queue", CfnResource::new("AWS::SQS::Queue")).unwrap();
    app.add(
        s,
        "Param",
        CfnResource::new("AWS::SSM::Parameter")
            .with("Type", "String")
            .with("Value", "v"),
    )
    .unwrap();
    app.add(s, "Table", CfnResource::new("AWS::DynamoDB::Table"))
        .unwrap();
    app.add(
        s,
        "Topic",
        CfnResource::new("AWS::SNS::Topic").with(
            "Tags",
            Value::list([Value::map([
                ("Key", Value::from("owner")),
                ("Value", Value::from("me")),
            ])]),
        ),
    )
    .unwrap();
    app.add(
        s,
        "Sub",
        CfnResource::new("AWS::SNS::Subscription").with("Protocol", "sqs"),
    )
    .unwrap();
    app
}

fn resources(app: &mut App) -> serde_json::Value {
    app.synth().unwrap().stack("S").unwrap().template["Resources"].clone()
}

#[test]
fn shapes_come_from_the_schemas() {
    assert_eq!(
        tag_shape("AWS::S3::Bucket"),
        Some(TagShape::KeyValueList {
            property: "Tags".into(),
            propagate_at_launch: false
        })
    );
    assert_eq!(
        tag_shape("AWS::SSM::Parameter"),
        Some(TagShape::Map {
            property: "Tags".into()
        })
    );
    assert_eq!(
        tag_shape("AWS::EKS::Nodegroup"),
        Some(TagShape::Map {
            property: "Tags".into()
        })
    );
    assert_eq!(tag_shape("AWS::SNS::Subscription"), None);
}

#[test]
fn tags_reach_every_taggable_resource_in_its_shape() {
    let mut app = app();
    let s = app.find("S").unwrap();
    Tags::of(&mut app, s).add("env", "prod");
    let r = resources(&mut app);
    assert_eq!(
        r["TeamQueueD9151D72"]["Properties"]["Tags"],
        json!([{ "Key": "env", "Value": "prod" }])
    );
    assert_eq!(r["Param"]["Properties"]["Tags"], json!({ "env": "prod" }));
    assert_eq!(
        r["Table"]["Properties"]["Tags"],
        json!([{ "Key": "env", "Value": "prod" }])
    );
    assert_eq!(
        r["Topic"]["Properties"]["Tags"],
        json!([{ "Key": "owner", "Value": "me" }, { "Key": "env", "Value": "prod" }])
    );
    assert!(r["Sub"]["Properties"].get("Tags").is_none());
}

#[test]
fn lower_scopes_win_priorities_decide_and_removal_works() {
    let mut app = app();
    let s = app.find("S").unwrap();
    let team = app.find("S/Team").unwrap();
    Tags::of(&mut app, s).add("env", "prod").add("cost", "shared");
    Tags::of(&mut app, team).add("env", "dev").remove("cost");
    Tags::of(&mut app, s).add_with(
        "pinned",
        "yes",
        TagOptions {
            priority: 300,
            ..TagOptions::default()
        },
    );
    Tags::of(&mut app, team).add_with(
        "pinned",
        "no",
        TagOptions {
            priority: 100,
            ..TagOptions::default()
        },
    );
    Tags::of(&mut app, s).add_with(
        "queues-only",
        "1",
        TagOptions {
            include_resource_types: vec!["AWS::SQS::Queue".into()],
            ..TagOptions::default()
        },
    );
    Tags::of(&mut app, s).add_with(
        "no-params",
        "1",
        TagOptions {
            exclude_resource_types: vec!["AWS::SSM::Parameter".into()],
            ..TagOptions::default()
        },
    );
    let r = resources(&mut app);
    let queue_tags = &r["TeamQueueD9151D72"]["Properties"]["Tags"];
    let get = |tags: &serde_json::Value, k: &str| {
        tags.as_array()
            .unwrap()
            .iter()
            .find(|t| t["Key"] == k)
            .map(|t| t["Value"].clone())
    };
    assert_eq!(get(queue_tags, "env"), Some(json!("dev")));
    assert_eq!(get(queue_tags, "cost"), None);
    assert_eq!(get(queue_tags, "pinned"), Some(json!("yes")));
    assert_eq!(get(queue_tags, "queues-only"), Some(json!("1")));
    assert_eq!(get(queue_tags, "no-params"), Some(json!("1")));
    let param = &r["Param"]["Properties"]["Tags"];
    assert_eq!(param["cost"], "shared");
    assert!(param.get("queues-only").is_none());
    assert!(param.get("no-params").is_none());
}

#[test]
fn types_whose_schema_is_not_compiled_in_get_a_warning() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    app.add(s, "Asg", CfnResource::new("AWS::AutoScaling::AutoScalingGroup"))
        .unwrap();
    Tags::of(&mut app, s).add("env", "prod");
    let asm = app.synth().unwrap();
    let d = &asm.diagnostics()[0];
    assert_eq!(d.path, "S/Asg");
    assert!(d.message.contains("not compiled in"), "{}", d.message);
}

#[test]
fn mandatory_tags_are_checked_after_tagging() {
    let mut app = app();
    let s = app.find("S").unwrap();
    let team = app.find("S/Team").unwrap();
    Tags::of(&mut app, team).add("owner", "team-a");
    let root = app.root();
    RuleSet::empty()
        .rule(
            MandatoryTags {
                keys: vec!["owner".into()],
            },
            Mode::Error,
        )
        .apply(&mut app, root);
    let Err(Error::Validation { errors }) = app.synth() else {
        panic!("expected missing tags")
    };
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    // The queue got the tag, the topic has it already, the subscription is not taggable.
    assert_eq!(paths, ["S/Param", "S/Table"]);
    assert!(errors[0].message.contains("missing mandatory tag(s) owner"));

    let mut app2 = self::app();
    let s2 = app2.find("S").unwrap();
    Tags::of(&mut app2, s2).add("owner", "platform");
    let root = app2.root();
    RuleSet::empty()
        .rule(
            MandatoryTags {
                keys: vec!["owner".into()],
            },
            Mode::Error,
        )
        .apply(&mut app2, root);
    assert!(app2.synth().is_ok());
    let _ = s;
}
