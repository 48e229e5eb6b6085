//! Typed L1 use: build an app with generated resources, synthesize, read the template.

use cairn_cfn::dynamodb::{table, CfnTable};
use cairn_cfn::s3::{bucket, CfnBucket};
use cairn_cfn::{SchemaValidator, Val, Value};
use cairn_core::{App, Resource, TypedResource};

#[test]
fn bucket_and_table_synthesize_with_typed_properties_and_attributes() {
    let mut app = App::new();
    app.add_validator(Box::new(SchemaValidator::new()));
    let stack = app.stack("Data").unwrap();

    let encryption = bucket::BucketEncryption::new(vec![bucket::ServerSideEncryptionRule {
        server_side_encryption_by_default: Some(
            bucket::ServerSideEncryptionByDefault::new(bucket::SSEAlgorithm::AwsKms).into(),
        ),
        bucket_key_enabled: Some(true.into()),
        ..Default::default()
    }
    .into()]);
    let logs = app
        .add(
            stack,
            "Logs",
            CfnBucket {
                bucket_encryption: Some(encryption.into()),
                versioning_configuration: Some(
                    bucket::VersioningConfiguration::new(bucket::VersioningConfigurationStatus::Enabled)
                        .into(),
                ),
                ..Default::default()
            },
        )
        .unwrap();

    let table = app
        .add(
            stack,
            "Table",
            CfnTable {
                billing_mode: Some(table::BillingMode::PayPerRequest.into()),
                attribute_definitions: Some(
                    vec![table::AttributeDefinition::new("pk", table::AttributeType::S).into()].into(),
                ),
                tags: Some(vec![table::Tag::new("logs", logs.attr_arn()).into()].into()),
                ..CfnTable::new(vec![table::KeySchemaItem::new("pk", "HASH").into()])
            },
        )
        .unwrap();
    assert_eq!(table.attr_arn(), Value::get_att(table.node(), "Arn"));
    assert_eq!(logs.ref_(), Value::reference(logs.node()));

    let assembly = app.synth().unwrap();
    let template: serde_json::Value =
        serde_json::from_str(assembly.stack("Data").unwrap().template_json()).unwrap();
    let resources = template["Resources"].as_object().unwrap();
    let (bucket_id, bucket) = resources
        .iter()
        .find(|(_, r)| r["Type"] == "AWS::S3::Bucket")
        .unwrap();
    assert_eq!(
        bucket["Properties"],
        serde_json::json!({
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                "BucketKeyEnabled": true,
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}
            }]},
            "VersioningConfiguration": {"Status": "Enabled"}
        })
    );
    let (_, table) = resources
        .iter()
        .find(|(_, r)| r["Type"] == "AWS::DynamoDB::Table")
        .unwrap();
    assert_eq!(
        table["Properties"],
        serde_json::json!({
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "Tags": [{"Key": "logs", "Value": {"Fn::GetAtt": [bucket_id, "Arn"]}}]
        })
    );
}

#[test]
fn every_field_takes_an_intrinsic_and_enums_take_unknown_values() {
    let t = CfnTable {
        billing_mode: Some(Val::Expr(Value::sub("${Mode}"))),
        table_class: Some(table::TableClass::Other("STANDARD_FUTURE".into()).into()),
        ..CfnTable::new(Value::sub("${Keys}"))
    };
    let props = t.properties();
    assert_eq!(props["BillingMode"], Value::sub("${Mode}"));
    assert_eq!(props["TableClass"], Value::from("STANDARD_FUTURE"));
    assert_eq!(props["KeySchema"], Value::sub("${Keys}"));
    assert_eq!(CfnTable::TYPE, "AWS::DynamoDB::Table");
    assert_eq!(t.resource_type(), "AWS::DynamoDB::Table");
}

#[test]
fn nested_read_only_properties_become_dotted_get_atts() {
    use cairn_cfn::rds::CfnDBInstance;
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let db = app.add(stack, "Db", CfnDBInstance::default()).unwrap();
    assert_eq!(
        db.attr_endpoint_address(),
        Value::get_att(db.node(), "Endpoint.Address")
    );
}

#[test]
fn facts_are_reachable_by_type_name() {
    let f = cairn_cfn::schema::facts("AWS::S3::Bucket").unwrap();
    assert_eq!(f.primary_identifier, ["/properties/BucketName"]);
    assert!(f.create_only.contains(&"/properties/BucketName"));
    assert!(f.read_only.contains(&"/properties/Arn"));
    assert!(f.is_create_only("BucketName"));
    let ddb = cairn_cfn::schema::facts("AWS::DynamoDB::Table").unwrap();
    assert_eq!(ddb.required, ["KeySchema"]);
    assert!(cairn_cfn::schema::facts("Custom::X").is_none());
}
