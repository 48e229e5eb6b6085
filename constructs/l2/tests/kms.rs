//! kms::Key: rotation, retention, key policy, aliases, grants.

mod common;
use common::checked_app;

use cairn_constructs::assertions::Template;
use cairn_constructs::iam::{PolicyStatement, Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_core::{App, RemovalPolicy};
use serde_json::json;

#[test]
fn defaults_rotation_retain_and_account_admin() {
    let (mut app, stack, findings) = checked_app();
    let key = Key::new(
        &mut app,
        stack,
        "Key",
        KeyProps {
            alias: Some("orders".into()),
            ..KeyProps::default()
        },
    )
    .unwrap();
    key.add_alias(&mut app, "alias/orders-2").unwrap();
    key.add_to_resource_policy(
        &mut app,
        PolicyStatement::allow()
            .principal(Principal::service("events.amazonaws.com"))
            .actions(["kms:Decrypt"])
            .resource("*"),
    )
    .unwrap();
    let r = Role::new(
        &mut app,
        stack,
        "R",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    key.grant_encrypt_decrypt(&mut app, &r).unwrap();
    key.grant_encrypt(&mut app, &r).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    t.assert_has_resource(
        "AWS::KMS::Key",
        json!({
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "EnableKeyRotation": true,
                "KeyPolicy": { "Version": "2012-10-17", "Statement": [
                    { "Effect": "Allow", "Action": "kms:*", "Resource": "*",
                      "Principal": { "AWS": { "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, ":iam::", { "Ref": "AWS::AccountId" }, ":root"]] } } },
                    { "Principal": { "Service": "events.amazonaws.com" } }
                ] }
            }
        }),
    );
    t.assert_resource_count_is("AWS::KMS::Alias", 2);
    t.assert_has_resource_properties("AWS::KMS::Alias", json!({ "AliasName": "alias/orders" }));
    t.assert_has_resource_properties("AWS::KMS::Alias", json!({ "AliasName": "alias/orders-2" }));
    let kid = t.find_resources("AWS::KMS::Key", json!({}))[0].0.clone();
    assert!(kid.starts_with("Key") && kid.len() == 11, "{kid}");
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [
            { "Action": ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], "Resource": { "Fn::GetAtt": [kid, "Arn"] } },
            { "Action": ["kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"] }
        ] } }),
    );
}

#[test]
fn removal_policy_and_no_rotation_are_honoured() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    Key::new(
        &mut app,
        stack,
        "Key",
        KeyProps {
            enable_key_rotation: false,
            removal_policy: RemovalPolicy::Delete,
            pending_window_in_days: Some(7),
            ..KeyProps::default()
        },
    )
    .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_has_resource(
        "AWS::KMS::Key",
        json!({ "DeletionPolicy": "Delete", "Properties": { "EnableKeyRotation": false, "PendingWindowInDays": 7 } }),
    );
}
