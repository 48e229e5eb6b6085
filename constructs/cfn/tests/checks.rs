//! One test per kind of schema check, with the exact error text.

use cairn_cfn::SchemaValidator;
use cairn_core::{App, CfnResource, Error, Value};
use indexmap::IndexMap;

/// The errors for a resource whose properties are written as JSON, as `path: message`.
fn errors(resource_type: &str, props: serde_json::Value) -> Vec<String> {
    let props: IndexMap<String, Value> = match Value::from_json(&props) {
        Value::Map(m) => m,
        _ => panic!("properties must be an object"),
    };
    SchemaValidator::new()
        .check(resource_type, &props)
        .into_iter()
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect()
}

fn one(resource_type: &str, props: serde_json::Value) -> String {
    let e = errors(resource_type, props);
    assert_eq!(e.len(), 1, "expected one error, got {e:#?}");
    e[0].clone()
}

use serde_json::json;

const ROLE: &str = "arn:aws:iam::123456789012:role/fn";

#[test]
fn valid_properties_pass() {
    assert_eq!(
        errors(
            "AWS::DynamoDB::Table",
            json!({"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"})
        ),
        Vec::<String>::new()
    );
    assert_eq!(errors("AWS::S3::Bucket", json!({})), Vec::<String>::new());
}

#[test]
fn enum_value() {
    assert_eq!(
        one(
            "AWS::DynamoDB::Table",
            json!({"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQ"})
        ),
        "Properties.BillingMode: \"PAY_PER_REQ\" is not one of PAY_PER_REQUEST, PROVISIONED"
    );
}

#[test]
fn unknown_property() {
    assert_eq!(
        one("AWS::S3::Bucket", json!({"BucketNam": "logs"})),
        "Properties.BucketNam: \"BucketNam\" is not a property of this type (additional properties are not allowed)"
    );
}

#[test]
fn wrong_type() {
    assert_eq!(
        one("AWS::SQS::Queue", json!({"DelaySeconds": ["5"]})),
        "Properties.DelaySeconds: [\"5\"] is not of type integer"
    );
    // CloudFormation's scalar conversions are accepted, as cfn-lint does.
    assert_eq!(
        errors(
            "AWS::SQS::Queue",
            json!({"DelaySeconds": "5", "FifoQueue": "true", "QueueName": 7})
        )
        .len(),
        0
    );
}

#[test]
fn missing_required_top_level_and_nested() {
    assert_eq!(
        one("AWS::DynamoDB::Table", json!({})),
        "Properties: required property \"KeySchema\" is missing"
    );
    assert_eq!(
        one(
            "AWS::DynamoDB::Table",
            json!({"KeySchema": [{"KeyType": "HASH"}]})
        ),
        "Properties.KeySchema[0]: required property \"AttributeName\" is missing"
    );
}

#[test]
fn nested_const_in_list_item() {
    assert_eq!(
        one(
            "AWS::DynamoDB::Table",
            json!({"KeySchema": [{"AttributeName": "pk", "KeyType": "RANGE"}]})
        ),
        "Properties.KeySchema[0].KeyType: \"RANGE\" is not \"HASH\""
    );
}

#[test]
fn string_pattern() {
    assert_eq!(
        one("AWS::S3::Bucket", json!({"BucketName": "Logs_Bucket"})),
        "Properties.BucketName: \"Logs_Bucket\" does not match pattern ^([a-z0-9][a-z0-9.-]*[a-z0-9])?$"
    );
}

#[test]
fn string_length() {
    let long = "a".repeat(64);
    assert_eq!(
        one("AWS::S3::Bucket", json!({ "BucketName": long })),
        format!("Properties.BucketName: \"{long}\" is longer than 63 characters")
    );
    assert_eq!(
        one(
            "AWS::Lambda::Function",
            json!({"Code": {"S3Bucket": "ab", "S3Key": "k"}, "Role": ROLE})
        ),
        "Properties.Code.S3Bucket: \"ab\" is shorter than 3 characters"
    );
}

#[test]
fn number_range() {
    assert_eq!(
        one("AWS::SQS::Queue", json!({"DelaySeconds": 901})),
        "Properties.DelaySeconds: 901 is greater than the maximum of 900"
    );
    assert_eq!(
        one(
            "AWS::Lambda::Function",
            json!({"Code": {}, "Role": ROLE, "MemorySize": 64})
        ),
        "Properties.MemorySize: 64 is less than the minimum of 128"
    );
}

#[test]
fn array_length_and_uniqueness() {
    assert_eq!(
        one(
            "AWS::Lambda::Function",
            json!({"Code": {}, "Role": ROLE, "Architectures": ["x86_64", "arm64"]})
        ),
        "Properties.Architectures: has 2 items, more than the maximum of 1"
    );
    assert_eq!(
        one(
            "AWS::Lambda::Function",
            json!({"Code": {}, "Role": ROLE, "Architectures": []})
        ),
        "Properties.Architectures: has 0 items, fewer than the minimum of 1"
    );
}

#[test]
fn one_of_mutual_exclusion() {
    assert_eq!(
        one(
            "AWS::EC2::VPCBlockPublicAccessExclusion",
            json!({"InternetGatewayExclusionMode": "allow-egress", "VpcId": "vpc-1", "SubnetId": "subnet-1"})
        ),
        "Properties: only one of \"VpcId\", \"SubnetId\" may be set, found \"VpcId\", \"SubnetId\""
    );
    assert_eq!(
        one(
            "AWS::EC2::VPCBlockPublicAccessExclusion",
            json!({"InternetGatewayExclusionMode": "allow-egress"})
        ),
        "Properties: exactly one of \"VpcId\", \"SubnetId\" must be set, found none"
    );
}

#[test]
fn any_of_required() {
    assert_eq!(
        one(
            "AWS::IAM::Policy",
            json!({"PolicyName": "p", "PolicyDocument": {}})
        ),
        "Properties: at least one of \"Users\", \"Groups\", \"Roles\" must be set"
    );
}

#[test]
fn required_xor_and_dependent_excluded() {
    assert_eq!(
        one("AWS::EC2::VPC", json!({"CidrBlock": "10.0.0.0/16", "Ipv4IpamPoolId": "ipam-pool-1", "Ipv4NetmaskLength": 16})),
        "Properties: exactly one of \"CidrBlock\", \"Ipv4IpamPoolId\" must be set, found \"CidrBlock\", \"Ipv4IpamPoolId\""
    );
    let e = errors(
        "AWS::EC2::Subnet",
        json!({"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "us-east-1a", "AvailabilityZoneId": "use1-az1"}),
    );
    assert!(
        e.contains(
            &"Properties: \"AvailabilityZone\" and \"AvailabilityZoneId\" cannot be set together".to_string()
        ),
        "{e:#?}"
    );
}

#[test]
fn intrinsics_are_not_checked() {
    let mut props = IndexMap::new();
    props.insert("BillingMode".to_string(), Value::sub("${Mode}"));
    props.insert(
        "KeySchema".to_string(),
        Value::get_att(cairn_core::Target::logical_id("Other"), "Keys"),
    );
    assert!(SchemaValidator::new()
        .check("AWS::DynamoDB::Table", &props)
        .is_empty());
    // A list with an Fn::If item may shrink: its minimum is not checked.
    let e = errors(
        "AWS::Lambda::Function",
        json!({"Code": {}, "Role": {"Fn::GetAtt": ["R", "Arn"]}, "Architectures": [{"Fn::If": ["C", "arm64", {"Ref": "AWS::NoValue"}]}]}),
    );
    assert!(e.is_empty(), "{e:#?}");
}

#[test]
fn unknown_types_pass_and_synth_reports_errors_with_construct_paths() {
    assert!(errors("Custom::Thing", json!({"Anything": 1})).is_empty());
    let mut app = App::new();
    app.add_validator(Box::new(SchemaValidator::new()));
    let stack = app.stack("S").unwrap();
    app.add(
        stack,
        "Q",
        CfnResource::new("AWS::SQS::Queue").with("DelaySeconds", 1000),
    )
    .unwrap();
    match app.synth() {
        Err(Error::Validation { errors }) => {
            assert_eq!(errors.len(), 1);
            assert_eq!(
                errors[0].message,
                "Properties.DelaySeconds: 1000 is greater than the maximum of 900"
            );
            assert!(errors[0].path.ends_with("Q"), "{}", errors[0].path);
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn many_resources_validate_quickly_schemas_and_regexes_are_cached() {
    let v = SchemaValidator::new();
    let bucket: IndexMap<String, Value> =
        match Value::from_json(&json!({"BucketName": "logs-1", "Tags": [{"Key": "a", "Value": "b"}]})) {
            Value::Map(m) => m,
            _ => unreachable!(),
        };
    let start = std::time::Instant::now();
    for _ in 0..3000 {
        assert!(v.check("AWS::S3::Bucket", &bucket).is_empty());
    }
    // Generous bound for unoptimized builds on a busy machine; typical is well under 1 s.
    assert!(
        start.elapsed().as_secs() < 20,
        "3000 buckets took {:?}",
        start.elapsed()
    );
}
