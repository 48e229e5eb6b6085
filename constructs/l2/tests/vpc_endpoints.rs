//! ec2 VPC endpoints: gateway routes, interface endpoints with private DNS and their
//! security group, subnet choice, errors.

mod common;
use common::{logical_of, of_type, synth_clean};

use cairn_constructs::ec2::{
    GatewayVpcEndpointAwsService, GatewayVpcEndpointOptions, InterfaceVpcEndpointAwsService,
    InterfaceVpcEndpointOptions, SubnetConfiguration, SubnetType, Vpc, VpcProps,
};
use cairn_constructs::iam::{PolicyDocument, PolicyStatement, Principal};
use cairn_core::App;
use serde_json::json;

fn vpc(app: &mut App, stack: cairn_core::Stack, props: VpcProps) -> Vpc {
    Vpc::new(app, stack, "Vpc", props).unwrap()
}

fn isolated() -> VpcProps {
    VpcProps {
        cidr: "10.1.0.0/16".into(),
        subnet_configuration: vec![
            SubnetConfiguration::isolated("Data"),
            SubnetConfiguration::isolated("Other"),
        ],
        nat_gateways: Some(0),
        ..VpcProps::default()
    }
}

#[test]
fn gateway_and_interface_endpoints_of_an_isolated_vpc() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let v = vpc(&mut app, stack, isolated());
    v.add_gateway_endpoint(
        &mut app,
        "S3",
        GatewayVpcEndpointOptions::new(GatewayVpcEndpointAwsService::S3),
    )
    .unwrap();
    v.add_gateway_endpoint(
        &mut app,
        "Ddb",
        GatewayVpcEndpointOptions {
            policy: Some(PolicyDocument::new([PolicyStatement::allow()
                .principal(Principal::Any)
                .actions(["dynamodb:GetItem"])
                .resource("*")])),
            ..GatewayVpcEndpointOptions::new(GatewayVpcEndpointAwsService::DynamoDb)
        },
    )
    .unwrap();
    let kms = v
        .add_interface_endpoint(
            &mut app,
            "Kms",
            InterfaceVpcEndpointOptions::new(InterfaceVpcEndpointAwsService::Kms),
        )
        .unwrap();
    assert_eq!(kms.security_groups().len(), 1);
    v.add_interface_endpoint(
        &mut app,
        "Glue",
        InterfaceVpcEndpointOptions {
            security_groups: kms.security_groups().to_vec(),
            ..InterfaceVpcEndpointOptions::new(InterfaceVpcEndpointAwsService::Glue)
        },
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "endpoints");
    let vpc_id = logical_of(&t, "Vpc", "AWS::EC2::VPC");
    let s3 = &t["Resources"][&logical_of(&t, "VpcS3", "AWS::EC2::VPCEndpoint")]["Properties"];
    assert_eq!(
        s3["ServiceName"],
        json!({ "Fn::Sub": "com.amazonaws.${AWS::Region}.s3" })
    );
    assert_eq!(s3["VpcEndpointType"], "Gateway");
    assert_eq!(s3["VpcId"], json!({ "Ref": vpc_id }));
    // Every subnet's route table: 2 groups x 2 AZs.
    assert_eq!(s3["RouteTableIds"].as_array().unwrap().len(), 4);
    assert!(s3.get("PolicyDocument").is_none());
    let ddb = &t["Resources"][&logical_of(&t, "VpcDdb", "AWS::EC2::VPCEndpoint")]["Properties"];
    assert_eq!(
        ddb["PolicyDocument"]["Statement"][0]["Action"],
        "dynamodb:GetItem"
    );

    let k = &t["Resources"][&logical_of(&t, "VpcKms", "AWS::EC2::VPCEndpoint")]["Properties"];
    assert_eq!(
        k["ServiceName"],
        json!({ "Fn::Sub": "com.amazonaws.${AWS::Region}.kms" })
    );
    assert_eq!(k["VpcEndpointType"], "Interface");
    assert_eq!(k["PrivateDnsEnabled"], true);
    // One subnet per AZ, of the first isolated group.
    let data_subnets: Vec<serde_json::Value> = of_type(&t, "AWS::EC2::Subnet")
        .into_iter()
        .filter(|(id, _)| id.starts_with("VpcDataSubnet"))
        .map(|(id, _)| json!({ "Ref": id }))
        .collect();
    assert_eq!(k["SubnetIds"], json!(data_subnets));
    let sg = logical_of(&t, "VpcKmsSecurityGroup", "AWS::EC2::SecurityGroup");
    assert_eq!(k["SecurityGroupIds"], json!([{ "Fn::GetAtt": [sg, "GroupId"] }]));
    let g = &t["Resources"][&sg]["Properties"];
    assert_eq!(
        g["SecurityGroupIngress"],
        json!([{ "CidrIp": "10.1.0.0/16", "Description": "from 10.1.0.0/16:443", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443 }])
    );
    // No outbound: an endpoint only answers.
    assert_eq!(g["SecurityGroupEgress"][0]["Description"], "Disallow all traffic");
    let glue = &t["Resources"][&logical_of(&t, "VpcGlue", "AWS::EC2::VPCEndpoint")]["Properties"];
    assert_eq!(glue["SecurityGroupIds"], k["SecurityGroupIds"]);
    assert_eq!(of_type(&t, "AWS::EC2::SecurityGroup").len(), 1);
}

#[test]
fn interface_endpoints_prefer_private_subnets_and_take_a_port() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let v = vpc(
        &mut app,
        stack,
        VpcProps {
            nat_gateways: Some(1),
            ..VpcProps::default()
        },
    );
    v.add_interface_endpoint(
        &mut app,
        "Secrets",
        InterfaceVpcEndpointOptions {
            port: 8443,
            ..InterfaceVpcEndpointOptions::new(InterfaceVpcEndpointAwsService::SecretsManager)
        },
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "private endpoint");
    let e = &t["Resources"][&logical_of(&t, "VpcSecrets", "AWS::EC2::VPCEndpoint")]["Properties"];
    let private: Vec<serde_json::Value> = of_type(&t, "AWS::EC2::Subnet")
        .into_iter()
        .filter(|(id, _)| id.starts_with("VpcPrivateSubnet"))
        .map(|(id, _)| json!({ "Ref": id }))
        .collect();
    assert_eq!(e["SubnetIds"], json!(private));
    let sg = logical_of(&t, "VpcSecretsSecurityGroup", "AWS::EC2::SecurityGroup");
    assert_eq!(
        t["Resources"][&sg]["Properties"]["SecurityGroupIngress"][0]["FromPort"],
        8443
    );
}

#[test]
fn missing_subnets_and_dns_are_errors_naming_the_endpoint() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let v = vpc(&mut app, stack, isolated());
    let err = v
        .add_interface_endpoint(
            &mut app,
            "Public",
            InterfaceVpcEndpointOptions {
                subnet_type: Some(SubnetType::Public),
                ..InterfaceVpcEndpointOptions::new(InterfaceVpcEndpointAwsService::CloudWatchLogs)
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("S/Vpc/Public"), "{err}");
    let err = v
        .add_gateway_endpoint(
            &mut app,
            "Gw",
            GatewayVpcEndpointOptions {
                subnet_types: vec![SubnetType::PrivateWithEgress],
                ..GatewayVpcEndpointOptions::new(GatewayVpcEndpointAwsService::S3)
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("S/Vpc/Gw") && err.contains("no subnets"), "{err}");

    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let v = vpc(
        &mut app,
        stack,
        VpcProps {
            enable_dns_hostnames: false,
            ..isolated()
        },
    );
    let err = v
        .add_interface_endpoint(
            &mut app,
            "Kms",
            InterfaceVpcEndpointOptions::new(InterfaceVpcEndpointAwsService::Kms),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("S/Vpc/Kms") && err.contains("enable_dns_hostnames"),
        "{err}"
    );
    // Without private DNS the same VPC is fine.
    v.add_interface_endpoint(
        &mut app,
        "Kms2",
        InterfaceVpcEndpointOptions {
            private_dns_enabled: false,
            ..InterfaceVpcEndpointOptions::new(InterfaceVpcEndpointAwsService::Kms)
        },
    )
    .unwrap();
}
