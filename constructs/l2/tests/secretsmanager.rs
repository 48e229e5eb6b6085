//! secretsmanager::Secret: generation options, validation, dynamic references, grants.

mod common;
use common::checked_app;

use cairn_constructs::assertions::Template;
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_constructs::secretsmanager::{Secret, SecretProps, SecretStringGenerator};
use cairn_core::{App, Output};
use serde_json::json;

#[test]
fn generated_credentials_pass_the_rules_and_resolve_by_reference() {
    let (mut app, stack, findings) = checked_app();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let secret = Secret::new(
        &mut app,
        stack,
        "Db",
        SecretProps {
            description: Some("database".into()),
            encryption_key: Some(key),
            generate_secret_string: Some(SecretStringGenerator {
                secret_string_template: Some(r#"{"username":"admin"}"#.into()),
                generate_string_key: Some("password".into()),
                exclude_characters: Some("\"@/\\".into()),
                password_length: Some(30),
                ..SecretStringGenerator::default()
            }),
            ..SecretProps::default()
        },
    )
    .unwrap();
    let r = Role::new(
        &mut app,
        stack,
        "R",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    secret.grant_read(&mut app, &r).unwrap();
    app.output(
        stack,
        "Password",
        Output::new(secret.secret_value_from_json("password")),
    )
    .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let sid = t.find_resources("AWS::SecretsManager::Secret", json!({}))[0]
        .0
        .clone();
    let kid = t.find_resources("AWS::KMS::Key", json!({}))[0].0.clone();
    t.assert_has_resource(
        "AWS::SecretsManager::Secret",
        json!({ "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {
            "Description": "database",
            "KmsKeyId": { "Fn::GetAtt": [kid, "Arn"] },
            "GenerateSecretString": {
                "SecretStringTemplate": "{\"username\":\"admin\"}",
                "GenerateStringKey": "password",
                "ExcludeCharacters": "\"@/\\",
                "PasswordLength": 30
            }
        } }),
    );
    t.assert_has_output(
        "Password",
        json!({ "Value": { "Fn::Join": ["", ["{{resolve:secretsmanager:", { "Ref": sid }, ":SecretString:password::}}"]] } }),
    );
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [
            { "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": { "Ref": sid } },
            { "Action": "kms:Decrypt", "Resource": { "Fn::GetAtt": [kid, "Arn"] },
              "Condition": { "StringEquals": { "kms:ViaService": { "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com" } } } }
        ] } }),
    );
}

#[test]
fn invalid_generators_are_errors() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let only_template = SecretProps {
        generate_secret_string: Some(SecretStringGenerator {
            secret_string_template: Some("{}".into()),
            ..Default::default()
        }),
        ..SecretProps::default()
    };
    let err = Secret::new(&mut app, stack, "A", only_template)
        .unwrap_err()
        .to_string();
    assert!(err.contains("'S/A'") && err.contains("go together"), "{err}");
    let not_object = SecretProps {
        generate_secret_string: Some(SecretStringGenerator {
            secret_string_template: Some("[1]".into()),
            generate_string_key: Some("p".into()),
            ..Default::default()
        }),
        ..SecretProps::default()
    };
    let err = Secret::new(&mut app, stack, "B", not_object)
        .unwrap_err()
        .to_string();
    assert!(err.contains("JSON object"), "{err}");
    // nothing was added for the refused secrets
    assert!(app.find("S/A").is_none() && app.find("S/B").is_none());
    // the default generates a password
    Secret::new(&mut app, stack, "C", SecretProps::default()).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    t.assert_has_resource_properties(
        "AWS::SecretsManager::Secret",
        json!({ "GenerateSecretString": {} }),
    );
}
