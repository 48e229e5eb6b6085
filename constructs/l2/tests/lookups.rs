//! Context lookups: the keys and props a missing lookup reports are aws-cdk-lib's, a value
//! in the context is used as it is, and synthesis is the same twice.

use cairn_constructs::ec2::{
    Instance, InstanceProps, LookupMachineImageProps, MachineImage, SubnetType, Vpc, VpcLookupOptions,
    VpcProps,
};
use cairn_constructs::ssm::StringParameter;
use cairn_core::{App, Environment, Stack, StackProps, Value};
use serde_json::{json, Map, Value as Json};

fn app_with(context: Json) -> (App, Stack) {
    let Json::Object(context) = context else { panic!() };
    let mut app = App::with_context(context);
    let env = Some(Environment::new("123456789012", "eu-west-1"));
    let stack = app
        .stack_with(
            app.root(),
            "Net",
            StackProps {
                env,
                ..StackProps::default()
            },
        )
        .unwrap();
    (app, stack)
}

fn build(app: &mut App, stack: Stack) -> Vpc {
    let vpc = Vpc::from_lookup(
        app,
        stack,
        "Shared",
        VpcLookupOptions {
            tags: vec![("team".into(), "core".into())],
            vpc_name: Some("main".into()),
            ..VpcLookupOptions::default()
        },
    )
    .unwrap();
    let image = MachineImage::lookup(LookupMachineImageProps {
        name: "al2023-ami-*".into(),
        owners: vec!["amazon".into()],
        ..LookupMachineImageProps::default()
    });
    Instance::new(app, stack, "Web", InstanceProps::new(&vpc, "t3.micro", image)).unwrap();
    StringParameter::value_from_lookup(app, stack, "/app/color", Some("blue")).unwrap();
    Vpc::new(app, stack, "Own", VpcProps::default()).unwrap();
    vpc
}

const VPC_KEY: &str =
    "vpc-provider:account=123456789012:filter.tag:Name=main:filter.tag:team=core:region=eu-west-1:returnAsymmetricSubnets=true";
const AMI_KEY: &str = "ami:account=123456789012:filters.image-type.0=machine:filters.name.0=al2023-ami-*:filters.state.0=available:owners.0=amazon:region=eu-west-1";
const SSM_KEY: &str = "ssm:account=123456789012:parameterName=/app/color:region=eu-west-1";
const AZ_KEY: &str = "availability-zones:account=123456789012:region=eu-west-1";

#[test]
fn missing_lookups_are_reported_with_the_cdks_keys_and_props() {
    let (mut app, stack) = app_with(json!({}));
    build(&mut app, stack);
    let asm = app.synth().unwrap();
    let missing: Vec<Json> = asm
        .missing()
        .iter()
        .map(|m| serde_json::to_value(m).unwrap())
        .collect();
    let role =
        "arn:${AWS::Partition}:iam::123456789012:role/cdk-hnb659fds-lookup-role-123456789012-eu-west-1";
    assert_eq!(
        Json::Array(missing),
        json!([
            {"key": VPC_KEY, "provider": "vpc-provider", "props": {
                "account": "123456789012", "region": "eu-west-1",
                "filter": {"tag:team": "core", "tag:Name": "main"},
                "returnAsymmetricSubnets": true, "lookupRoleArn": role}},
            {"key": AMI_KEY, "provider": "ami", "props": {
                "dummyValue": "ami-1234", "account": "123456789012", "region": "eu-west-1",
                "owners": ["amazon"],
                "filters": {"name": ["al2023-ami-*"], "state": ["available"], "image-type": ["machine"]},
                "lookupRoleArn": role}},
            {"key": SSM_KEY, "provider": "ssm", "props": {
                "dummyValue": "blue", "ignoreErrorOnMissingContext": true,
                "account": "123456789012", "region": "eu-west-1", "parameterName": "/app/color",
                "lookupRoleArn": role}},
            {"key": AZ_KEY, "provider": "availability-zones", "props": {
                "dummyValue": ["dummy1a", "dummy1b", "dummy1c"],
                "account": "123456789012", "region": "eu-west-1", "lookupRoleArn": role}},
        ])
    );
    // The props keep the CDK's order (the manifest's text is compared with the CDK's).
    let text = serde_json::to_string(&asm.missing()[1].props).unwrap();
    assert!(
        text.starts_with(r#"{"dummyValue":"ami-1234","account""#),
        "{text}"
    );
    let dir = std::env::temp_dir().join(format!("cairn-lookups-{}", std::process::id()));
    asm.write(&dir, cairn_core::TemplateFormat::Json).unwrap();
    let manifest: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["missing"].as_array().map(Vec::len), Some(4));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn values_in_the_context_are_used_and_nothing_is_missing() {
    let context = json!({
        VPC_KEY: {
            "vpcId": "vpc-0real", "vpcCidrBlock": "10.1.0.0/16", "availabilityZones": [],
            "subnetGroups": [
                {"name": "Ingress", "type": "Public", "subnets": [
                    {"subnetId": "subnet-b", "cidr": "10.1.1.0/24", "availabilityZone": "eu-west-1b", "routeTableId": "rtb-b"},
                    {"subnetId": "subnet-a", "cidr": "10.1.0.0/24", "availabilityZone": "eu-west-1a", "routeTableId": "rtb-a"}]},
                {"name": "App", "type": "Private", "subnets": [
                    {"subnetId": "subnet-p", "cidr": "10.1.2.0/24", "availabilityZone": "eu-west-1a", "routeTableId": "rtb-p"}]}
            ]
        },
        AMI_KEY: "ami-0feedface",
        SSM_KEY: "green",
        AZ_KEY: ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d"],
    });
    let (mut app, stack) = app_with(context.clone());
    let vpc = build(&mut app, stack);
    assert_eq!(vpc.vpc_id(), Value::from("vpc-0real"));
    assert_eq!(
        vpc.select_subnets(SubnetType::PrivateWithEgress),
        vec![Value::from("subnet-p")]
    );
    assert_eq!(
        vpc.subnets().iter().map(|s| s.group.as_str()).collect::<Vec<_>>(),
        ["Ingress", "Ingress", "App"]
    );
    assert_eq!(
        vpc.availability_zones(),
        vec![Value::from("eu-west-1a"), Value::from("eu-west-1b")]
    );
    assert_eq!(
        StringParameter::value_from_lookup(&mut app, stack, "/app/color", Some("blue")).unwrap(),
        "green"
    );
    let asm = app.synth().unwrap();
    assert!(asm.missing().is_empty(), "{:?}", asm.missing());
    let t = asm.stack("Net").unwrap().template.json().clone();
    let resources = t["Resources"].as_object().unwrap();
    let instance = resources
        .values()
        .find(|r| r["Type"] == "AWS::EC2::Instance")
        .unwrap();
    assert_eq!(instance["Properties"]["ImageId"], "ami-0feedface");
    let zones: Vec<&Json> = resources
        .values()
        .filter(|r| r["Type"] == "AWS::EC2::Subnet")
        .map(|r| &r["Properties"]["AvailabilityZone"])
        .collect();
    assert!(
        ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
            .iter()
            .all(|z| zones.contains(&&json!(z))),
        "{zones:?}"
    );
    assert!(
        !zones.contains(&&json!("eu-west-1d")),
        "the default max_azs takes the first three zones, as the CDK's maxAzs: {zones:?}"
    );

    // The same context synthesizes the same text.
    let (mut again, stack) = app_with(context);
    build(&mut again, stack);
    assert_eq!(
        again.synth().unwrap().stack("Net").unwrap().template.text(),
        asm.stack("Net").unwrap().template.text()
    );
}

#[test]
fn a_provider_error_in_the_context_stops_synthesis_and_lookups_need_an_environment() {
    let (mut app, stack) = app_with(
        json!({SSM_KEY: {"$providerError": "SSM parameter not available", "$dontSaveContext": true}}),
    );
    StringParameter::value_from_lookup(&mut app, stack, "/app/color", Some("blue")).unwrap();
    let e = app.synth().unwrap_err().to_string();
    assert!(e.contains("SSM parameter not available"), "{e}");

    let mut agnostic = App::with_context(Map::new());
    let s = agnostic.stack("Anywhere").unwrap();
    let e = StringParameter::value_from_lookup(&mut agnostic, s, "/p", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("account and region are not specified"), "{e}");
    // An agnostic VPC keeps Fn::GetAZs.
    let vpc = Vpc::new(&mut agnostic, s, "Vpc", VpcProps::default()).unwrap();
    assert_eq!(vpc.availability_zones()[0], Value::select(0, Value::get_azs()));
    assert!(agnostic.synth().unwrap().missing().is_empty());
}

const ZONE_KEY: &str = "hosted-zone:account=123456789012:domainName=example.com:region=eu-west-1";

#[test]
fn a_looked_up_hosted_zone_is_its_id_and_name_as_the_cdk_strips_them() {
    use cairn_constructs::route53::{HostedZone, HostedZoneLookup};
    // The value the CLI caches: ListHostedZonesByName's zone, as the CDK CLI writes it.
    let (mut app, stack) = app_with(json!({
        ZONE_KEY: {"Id": "/hostedzone/Z0123", "Name": "example.com.", "CallerReference": "r",
                   "Config": {"PrivateZone": false}, "ResourceRecordSetCount": 2}
    }));
    let zone =
        HostedZone::from_lookup(&mut app, stack, "Zone", HostedZoneLookup::domain("example.com")).unwrap();
    assert_eq!(
        (zone.hosted_zone_id(), zone.zone_name()),
        ("Z0123", "example.com")
    );
    assert!(app.synth().unwrap().missing().is_empty());

    let (mut app, stack) = app_with(json!({}));
    let err = HostedZone::from_lookup(&mut app, stack, "Empty", HostedZoneLookup::domain(" ")).unwrap_err();
    assert!(
        err.to_string().contains("Net/Empty") && err.to_string().contains("domain name is empty"),
        "{err}"
    );

    let (mut app, stack) = app_with(json!({ZONE_KEY: ["not", "a", "zone"]}));
    let err = HostedZone::from_lookup(&mut app, stack, "Zone", HostedZoneLookup::domain("example.com"))
        .unwrap_err();
    assert!(err.to_string().contains("cairn context --reset"), "{err}");
}
