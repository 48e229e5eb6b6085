//! dynamodb::Table: keys, billing, PITR, KMS, streams, TTL, GSIs and grants.

mod common;
use common::checked_app;

use cairn_constructs::assertions::Template;
use cairn_constructs::dynamodb::{
    Attribute, Billing, GlobalSecondaryIndexProps, Projection, StreamViewType, Table, TableEncryption,
    TableProps,
};
use cairn_constructs::iam::{Principal, Role, RoleProps};
use cairn_constructs::kms::{Key, KeyProps};
use cairn_core::App;
use serde_json::json;

#[test]
fn defaults_pass_the_recommended_rules() {
    let (mut app, stack, findings) = checked_app();
    Table::new(
        &mut app,
        stack,
        "Orders",
        TableProps {
            sort_key: Some(Attribute::number("ts")),
            ..TableProps::new(Attribute::string("pk"))
        },
    )
    .unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    t.assert_has_resource(
        "AWS::DynamoDB::Table",
        json!({
            "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }, { "AttributeName": "ts", "KeyType": "RANGE" }],
                "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }, { "AttributeName": "ts", "AttributeType": "N" }],
                "PointInTimeRecoverySpecification": { "PointInTimeRecoveryEnabled": true },
                "SSESpecification": { "SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": "alias/aws/dynamodb" }
            }
        }),
    );
    // the failure message names the path and both values
    let err = t
        .has_resource_properties("AWS::DynamoDB::Table", json!({ "BillingMode": "PROVISIONED" }))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"Properties.BillingMode: expected "PROVISIONED", found "PAY_PER_REQUEST""#),
        "{err}"
    );
}

#[test]
fn provisioned_stream_ttl_gsis_and_grants() {
    let (mut app, stack, findings) = checked_app();
    let key = Key::new(&mut app, stack, "Key", KeyProps::default()).unwrap();
    let table = Table::new(
        &mut app,
        stack,
        "Orders",
        TableProps {
            billing: Billing::Provisioned {
                read_capacity: 5,
                write_capacity: 2,
            },
            stream: Some(StreamViewType::NewAndOldImages),
            time_to_live_attribute: Some("expiresAt".into()),
            encryption: TableEncryption::CustomerManaged(key),
            global_secondary_indexes: vec![GlobalSecondaryIndexProps {
                projection: Projection::Include(vec!["total".into()]),
                capacity: Some((1, 1)),
                sort_key: Some(Attribute::number("ts")),
                ..GlobalSecondaryIndexProps::new("byCustomer", Attribute::string("customer"))
            }],
            ..TableProps::new(Attribute::string("pk"))
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
    table.grant_read_data(&mut app, &r).unwrap();
    table.grant_write_data(&mut app, &r).unwrap();
    table.grant_stream_read(&mut app, &r).unwrap();
    table.grant_read_write_data(&mut app, &r).unwrap();
    let t = Template::from_stack(&mut app, stack).unwrap();
    assert!(findings.borrow().is_empty(), "{:?}", findings.borrow());
    let tid = t.find_resources("AWS::DynamoDB::Table", json!({}))[0].0.clone();
    let kid = t.find_resources("AWS::KMS::Key", json!({}))[0].0.clone();
    t.assert_has_resource_properties(
        "AWS::DynamoDB::Table",
        json!({
            "BillingMode": "PROVISIONED",
            "ProvisionedThroughput": { "ReadCapacityUnits": 5, "WriteCapacityUnits": 2 },
            "StreamSpecification": { "StreamViewType": "NEW_AND_OLD_IMAGES" },
            "TimeToLiveSpecification": { "AttributeName": "expiresAt", "Enabled": true },
            "SSESpecification": { "KMSMasterKeyId": { "Fn::GetAtt": [kid, "Arn"] } },
            "AttributeDefinitions": [
                { "AttributeName": "pk", "AttributeType": "S" },
                { "AttributeName": "customer", "AttributeType": "S" },
                { "AttributeName": "ts", "AttributeType": "N" }
            ],
            "GlobalSecondaryIndexes": [{
                "IndexName": "byCustomer",
                "KeySchema": [{ "AttributeName": "customer", "KeyType": "HASH" }, { "AttributeName": "ts", "KeyType": "RANGE" }],
                "Projection": { "ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"] },
                "ProvisionedThroughput": { "ReadCapacityUnits": 1, "WriteCapacityUnits": 1 }
            }]
        }),
    );
    let data = json!([{ "Fn::GetAtt": [tid, "Arn"] }, { "Fn::Join": ["", [{ "Fn::GetAtt": [tid, "Arn"] }, "/index/*"]] }]);
    t.assert_has_resource_properties(
        "AWS::IAM::Policy",
        json!({ "PolicyDocument": { "Statement": [
            { "Action": ["dynamodb:BatchGetItem", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:Query",
                         "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"],
              "Resource": data },
            { "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": { "Fn::GetAtt": [kid, "Arn"] } },
            { "Action": ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable"] },
            { "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"] },
            { "Action": "dynamodb:ListStreams", "Resource": "*" },
            { "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
              "Resource": { "Fn::GetAtt": [tid, "StreamArn"] } },
            { "Action": "kms:Decrypt" },
            { "Action": ["dynamodb:BatchGetItem", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:Query",
                         "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable",
                         "dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"] }
        ] } }),
    );
    assert!(table.table_stream_arn().is_some());
}

#[test]
fn invalid_props_are_errors_naming_the_path() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let err = Table::new(
        &mut app,
        stack,
        "T",
        TableProps {
            global_secondary_indexes: vec![GlobalSecondaryIndexProps::new("g", Attribute::number("pk"))],
            ..TableProps::new(Attribute::string("pk"))
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("'S/T'") && err.contains("two types"), "{err}");

    let table = Table::new(&mut app, stack, "U", TableProps::new(Attribute::string("pk"))).unwrap();
    let r = Role::new(
        &mut app,
        stack,
        "R",
        RoleProps::new(Principal::service("lambda.amazonaws.com")),
    )
    .unwrap();
    let err = table.grant_stream_read(&mut app, &r).unwrap_err().to_string();
    assert!(err.contains("no stream"), "{err}");
    let err = table
        .add_global_secondary_index(
            &mut app,
            GlobalSecondaryIndexProps {
                capacity: Some((1, 1)),
                ..GlobalSecondaryIndexProps::new("g", Attribute::string("x"))
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("bills per request"), "{err}");
}
