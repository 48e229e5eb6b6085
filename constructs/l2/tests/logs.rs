//! logs::LogGroup: retention, the shared per-stack key (the rule's shape), grants.

mod common;
use common::checked_app;

use cairn_aspects::{Mode, RuleSet};
use cairn_constructs::assertions::Template;
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_constructs::logs::{LogGroup, LogGroupProps, RetentionDays, LOG_GROUP_KEY_ID};
use cairn_core::{App, CfnResource, RemovalPolicy};
use serde_json::json;

#[test]
fn defaults_share_one_stack_key_and_pass_the_rules() {
    let (mut app, stack, findings) = checked_app();
    let a = LogGroup::new(&mut app, stack, "A", LogGroupProps::default()).unwrap();
    LogGroup::new(
        &mut app,
        stack,
        "B",
        LogGroupProps {
            log_group_name: Some("/app/b".into()),
            ..LogGroupProps::default()
        },
    )
    .unwrap();
    let r = Role::new(
        &mut app,
        stack,
        "R",
        RoleProps::new(Principal::service("ecs-tasks.amazonaws.com")),
    )
    .unwrap();
    a.grant_write(&mut app, &r).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    t.assert_resource_count_is("AWS::KMS::Key", 1);
    t.assert_resource_count_is("AWS::Logs::LogGroup", 2);
    t.assert_has_resource(
        "AWS::Logs::LogGroup",
        json!({ "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                "Properties": { "RetentionInDays": 731, "KmsKeyId": { "Fn::GetAtt": [LOG_GROUP_KEY_ID, "Arn"] } } }),
    );
    t.assert_has_resource_properties("AWS::Logs::LogGroup", json!({ "LogGroupName": "/app/b" }));
    let aid = t.find_resources("AWS::Logs::LogGroup", json!({}))[0].0.clone();
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [{ "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": { "Fn::GetAtt": [aid, "Arn"] } }] } }),
    );
}

/// The key the L2 creates is the one the CAIRN-LOGS-ENCRYPTION fix would create.
#[test]
fn the_stack_key_has_the_rule_fix_shape() {
    let mut fixed = App::new();
    let s = fixed.stack("S").unwrap();
    fixed
        .add(
            s,
            "Raw",
            CfnResource::new("AWS::Logs::LogGroup").with("RetentionInDays", 731),
        )
        .unwrap();
    let root = fixed.root();
    RuleSet::empty()
        .rule(cairn_aspects::rules::LogGroupEncryption::default(), Mode::Fix)
        .apply(&mut fixed, root);
    let by_rule = Template::from_stack(&mut fixed, s).unwrap();

    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    LogGroup::new(&mut app, stack, "G", LogGroupProps::default()).unwrap();
    let by_l2 = Template::from_stack(&mut app, stack).unwrap();
    assert_eq!(LOG_GROUP_KEY_ID, cairn_aspects::rules::LOG_GROUP_KEY_ID);
    let k1 = &by_rule.to_json()["Resources"][LOG_GROUP_KEY_ID];
    let k2 = &by_l2.to_json()["Resources"][LOG_GROUP_KEY_ID];
    assert_eq!(k1["Properties"], k2["Properties"]);
    assert_eq!(k1["DeletionPolicy"], k2["DeletionPolicy"]);
    assert_eq!(k1["UpdateReplacePolicy"], k2["UpdateReplacePolicy"]);

    // A raw log group next to an L2 one reuses the L2's key when the rule fixes it.
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    LogGroup::new(&mut app, stack, "G", LogGroupProps::default()).unwrap();
    app.add(
        stack,
        "Raw",
        CfnResource::new("AWS::Logs::LogGroup").with("RetentionInDays", 7),
    )
    .unwrap();
    let root = app.root();
    RuleSet::recommended().apply(&mut app, root);
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_resource_count_is("AWS::KMS::Key", 1);
}

#[test]
fn retention_key_and_removal_policy_are_honoured() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    LogGroup::new(
        &mut app,
        stack,
        "G",
        LogGroupProps {
            retention: RetentionDays::OneWeek,
            encryption_key: Some(key),
            removal_policy: RemovalPolicy::Delete,
            ..LogGroupProps::default()
        },
    )
    .unwrap();
    LogGroup::new(
        &mut app,
        stack,
        "Forever",
        LogGroupProps {
            retention: RetentionDays::Infinite,
            encryption_key: Some(key),
            ..LogGroupProps::default()
        },
    )
    .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    let kid = t.find_resources("AWS::KMS::Key", json!({}))[0].0.clone();
    t.assert_resource_count_is("AWS::KMS::Key", 1);
    t.assert_has_resource(
        "AWS::Logs::LogGroup",
        json!({ "DeletionPolicy": "Delete", "Properties": { "RetentionInDays": 7, "KmsKeyId": { "Fn::GetAtt": [kid, "Arn"] } } }),
    );
    let forever = t.find_resources("AWS::Logs::LogGroup", json!({ "DeletionPolicy": "Retain" }));
    assert_eq!(forever.len(), 1);
    assert!(forever[0].1["Properties"].get("RetentionInDays").is_none());
}
