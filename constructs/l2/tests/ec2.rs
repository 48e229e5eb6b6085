//! ec2: VPC layout (CIDRs as the CDK allocates them, routes, NAT gateways, flow logs),
//! security group rules, instances; schema-checked, rule-clean, cfn-lint-clean.

mod common;
use common::{logical, logical_of, of_type, synth_clean};

use cairn_aspects::rules::NoPublicIngress;
use cairn_aspects::{Mode, RuleSet};
use cairn_constructs::ec2::{
    FlowLogOptions, Instance, InstanceProps, MachineImage, Peer, Port, SecurityGroup, SecurityGroupProps,
    SubnetConfiguration, SubnetType, UserData, Vpc, VpcProps,
};
use cairn_constructs::iam::grant;
use cairn_core::{App, Error, Value};
use serde_json::json;

#[test]
fn default_vpc_has_the_cdk_layout_routes_and_nat_gateways() {
    let mut app = App::new();
    let s = app.stack("Net").unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let cidrs: Vec<&str> = vpc.subnets().iter().map(|s| s.cidr.as_str()).collect();
    assert_eq!(
        cidrs,
        ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18", "10.0.192.0/18"]
    );
    assert_eq!(vpc.select_subnets(SubnetType::Public).len(), 2);
    assert_eq!(vpc.select_subnets(SubnetType::PrivateIsolated).len(), 0);
    assert_eq!(vpc.availability_zones()[1], Value::select(1, Value::get_azs()));
    // An environment-agnostic stack has two zones, as the CDK's, whatever max_azs says.
    let mut agnostic = App::new();
    let net = agnostic.stack("Net").unwrap();
    let three = VpcProps {
        max_azs: 3,
        ..VpcProps::default()
    };
    assert_eq!(
        Vpc::new(&mut agnostic, net, "Vpc", three)
            .unwrap()
            .availability_zones()
            .len(),
        2
    );

    let t = synth_clean(app, "Net", &[], "default-vpc");
    assert_eq!(of_type(&t, "AWS::EC2::Subnet").len(), 4);
    assert_eq!(of_type(&t, "AWS::EC2::RouteTable").len(), 4);
    assert_eq!(of_type(&t, "AWS::EC2::SubnetRouteTableAssociation").len(), 4);
    assert_eq!(of_type(&t, "AWS::EC2::NatGateway").len(), 2);
    assert_eq!(of_type(&t, "AWS::EC2::EIP").len(), 2);

    let r = &t["Resources"];
    let vpc_id = logical(&t, "Vpc");
    assert_eq!(r[&vpc_id]["Properties"]["CidrBlock"], "10.0.0.0/16");
    let pub1 = logical(&t, "VpcPublicSubnet1Subnet");
    assert_eq!(r[&pub1]["Properties"]["CidrBlock"], "10.0.0.0/18");
    assert_eq!(r[&pub1]["Properties"]["MapPublicIpOnLaunch"], true);
    assert_eq!(
        r[&pub1]["Properties"]["AvailabilityZone"],
        json!({ "Fn::Select": [0, { "Fn::GetAZs": "" }] })
    );
    let priv2 = logical(&t, "VpcPrivateSubnet2Subnet");
    assert_eq!(r[&priv2]["Properties"]["CidrBlock"], "10.0.192.0/18");
    assert_eq!(r[&priv2]["Properties"]["MapPublicIpOnLaunch"], false);
    let tags = r[&priv2]["Properties"]["Tags"].as_array().unwrap();
    assert!(tags.contains(&json!({ "Key": "aws-cdk:subnet-type", "Value": "Private" })));

    // Public subnets route to the internet gateway, after it is attached.
    let igw = logical(&t, "VpcIGW");
    let gw_attachment = logical(&t, "VpcVPCGW");
    let pub_route = logical(&t, "VpcPublicSubnet1DefaultRoute");
    assert_eq!(r[&pub_route]["Properties"]["GatewayId"], json!({ "Ref": igw }));
    assert_eq!(r[&pub_route]["Properties"]["DestinationCidrBlock"], "0.0.0.0/0");
    assert_eq!(r[&pub_route]["DependsOn"], json!([gw_attachment]));
    // NAT gateways sit in the public subnets, with an EIP, once the route is there.
    let nat1 = logical(&t, "VpcPublicSubnet1NATGateway");
    let eip1 = logical(&t, "VpcPublicSubnet1EIP");
    assert_eq!(r[&nat1]["Properties"]["SubnetId"], json!({ "Ref": pub1 }));
    assert_eq!(
        r[&nat1]["Properties"]["AllocationId"],
        json!({ "Fn::GetAtt": [eip1, "AllocationId"] })
    );
    assert_eq!(r[&nat1]["DependsOn"], json!([pub_route]));
    // Each private subnet routes to the NAT gateway of its own AZ.
    let nat2 = logical(&t, "VpcPublicSubnet2NATGateway");
    let priv_route2 = logical(&t, "VpcPrivateSubnet2DefaultRoute");
    let priv_rt2 = logical(&t, "VpcPrivateSubnet2RouteTable");
    assert_eq!(
        r[&priv_route2]["Properties"]["NatGatewayId"],
        json!({ "Ref": nat2 })
    );
    assert_eq!(
        r[&priv_route2]["Properties"]["RouteTableId"],
        json!({ "Ref": priv_rt2 })
    );
    // No flow logs by default, as in the CDK.
    assert!(of_type(&t, "AWS::EC2::FlowLog").is_empty());
}

#[test]
fn explicit_masks_are_allocated_first_and_aligned_like_the_cdk() {
    let mut app = App::new();
    let s = app.stack("Net").unwrap();
    let vpc = Vpc::new(
        &mut app,
        s,
        "Vpc",
        VpcProps {
            max_azs: 3,
            availability_zones: Some(vec![
                "eu-west-1a".into(),
                "eu-west-1b".into(),
                "eu-west-1c".into(),
            ]),
            subnet_configuration: vec![
                SubnetConfiguration::public("Ingress").cidr_mask(24),
                SubnetConfiguration::private_with_egress("App"),
                SubnetConfiguration::isolated("Data").cidr_mask(28),
            ],
            nat_gateways: Some(1),
            ..VpcProps::default()
        },
    )
    .unwrap();
    let cidrs: Vec<(&str, &str)> = vpc
        .subnets()
        .iter()
        .map(|s| (s.group.as_str(), s.cidr.as_str()))
        .collect();
    // Masked groups first, in order; the App group shares the rest (/18s, aligned up).
    assert_eq!(
        cidrs,
        [
            ("Ingress", "10.0.0.0/24"),
            ("Ingress", "10.0.1.0/24"),
            ("Ingress", "10.0.2.0/24"),
            ("App", "10.0.64.0/18"),
            ("App", "10.0.128.0/18"),
            ("App", "10.0.192.0/18"),
            ("Data", "10.0.3.0/28"),
            ("Data", "10.0.3.16/28"),
            ("Data", "10.0.3.32/28"),
        ]
    );
    assert_eq!(vpc.nat_gateways().len(), 1);
    let t = synth_clean(app, "Net", &[], "masked-vpc");
    let r = &t["Resources"];
    let nat = logical(&t, "VpcIngressSubnet1NATGateway");
    for i in 1..=3 {
        let route = logical(&t, &format!("VpcAppSubnet{i}DefaultRoute"));
        assert_eq!(r[&route]["Properties"]["NatGatewayId"], json!({ "Ref": nat }));
        let sub = logical(&t, &format!("VpcAppSubnet{i}Subnet"));
        assert_eq!(
            r[&sub]["Properties"]["AvailabilityZone"],
            format!("eu-west-1{}", ['a', 'b', 'c'][i - 1])
        );
    }
    // Isolated subnets have no default route.
    assert!(!r
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.starts_with("VpcDataSubnet1DefaultRoute")));
}

#[test]
fn bad_layouts_are_errors_naming_the_vpc() {
    let mut app = App::new();
    let s = app.stack("Net").unwrap();
    let err = Vpc::new(
        &mut app,
        s,
        "A",
        VpcProps {
            cidr: "10.0.0/16".into(),
            ..VpcProps::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidProps { .. }), "{err}");
    assert!(err.to_string().starts_with("'Net/A': invalid CIDR"), "{err}");
    assert_eq!(
        err.to_string().matches("Net/A").count(),
        1,
        "the path once: {err}"
    );

    let err = Vpc::new(
        &mut app,
        s,
        "B",
        VpcProps {
            cidr: "10.0.0.0/24".into(),
            subnet_configuration: vec![SubnetConfiguration::isolated("Data").cidr_mask(25)],
            availability_zones: Some(vec![
                "eu-west-1a".into(),
                "eu-west-1b".into(),
                "eu-west-1c".into(),
            ]),
            ..VpcProps::default()
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("'Net/B'") && err.to_string().contains("does not fit"),
        "{err}"
    );

    let err = Vpc::new(
        &mut app,
        s,
        "C",
        VpcProps {
            subnet_configuration: vec![SubnetConfiguration::private_with_egress("App")],
            ..VpcProps::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("public subnet"), "{err}");

    let err = Vpc::new(
        &mut app,
        s,
        "D",
        VpcProps {
            nat_gateways: Some(0),
            ..VpcProps::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("PrivateIsolated"), "{err}");
    assert!(err.to_string().starts_with("'Net/D': "), "{err}");
    assert_eq!(
        err.to_string().matches("Net/D").count(),
        1,
        "the path once: {err}"
    );

    // More NAT gateways than public subnets is refused before anything is added.
    let err = Vpc::new(
        &mut app,
        s,
        "E",
        VpcProps {
            max_azs: 2,
            nat_gateways: Some(3),
            ..VpcProps::default()
        },
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("3 NAT gateways requested but there are only 2 public subnets"),
        "{err}"
    );
    assert!(app.find("Net/E/PublicSubnet1").is_none());
}

#[test]
fn flow_logs_write_to_an_encrypted_group_through_their_own_role() {
    let mut app = App::new();
    let s = app.stack("Net").unwrap();
    Vpc::new(
        &mut app,
        s,
        "Vpc",
        VpcProps {
            flow_logs: Some(FlowLogOptions::default()),
            subnet_configuration: vec![SubnetConfiguration::isolated("Data")],
            ..VpcProps::default()
        },
    )
    .unwrap();
    let t = synth_clean(app, "Net", &[], "flow-logs");
    let r = &t["Resources"];
    let fl = &r[&logical(&t, "VpcFlowLogsFlowLog")];
    let role = logical(&t, "VpcFlowLogsIAMRole");
    let group = logical(&t, "VpcFlowLogsLogGroup");
    let key = logical(&t, "VpcFlowLogsKey");
    let policy = logical(&t, "VpcFlowLogsIAMRoleDefaultPolicy");
    assert_eq!(fl["Properties"]["ResourceType"], "VPC");
    assert_eq!(fl["Properties"]["TrafficType"], "ALL");
    assert_eq!(fl["Properties"]["LogDestinationType"], "cloud-watch-logs");
    assert_eq!(fl["Properties"]["LogGroupName"], json!({ "Ref": group }));
    assert_eq!(
        fl["Properties"]["DeliverLogsPermissionArn"],
        json!({ "Fn::GetAtt": [role, "Arn"] })
    );

    let trust = &r[&role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["Service"], "vpc-flow-logs.amazonaws.com");
    assert!(trust["Condition"]["StringEquals"]["aws:SourceAccount"].is_object());
    let statements = &r[&policy]["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(
        statements[0]["Action"],
        json!([
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams"
        ])
    );
    assert_eq!(statements[0]["Resource"], json!({ "Fn::GetAtt": [group, "Arn"] }));
    assert_eq!(statements[1]["Action"], "iam:PassRole");

    assert_eq!(
        r[&group]["Properties"]["KmsKeyId"],
        json!({ "Fn::GetAtt": [key, "Arn"] })
    );
    assert_eq!(r[&group]["Properties"]["RetentionInDays"], 731);
    assert_eq!(r[&group]["DeletionPolicy"], "Retain");
    let key_statements = r[&key]["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap();
    assert!(key_statements
        .iter()
        .any(|s| s["Principal"]["Service"] == json!({ "Fn::Sub": "logs.${AWS::Region}.amazonaws.com" })));
}

#[test]
fn security_group_rules_inline_cidrs_and_reference_groups_by_separate_resources() {
    let mut app = App::new();
    let s = app.stack("Net").unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let lb = SecurityGroup::new(
        &mut app,
        s,
        "Lb",
        SecurityGroupProps {
            allow_all_outbound: false,
            ..SecurityGroupProps::new(&vpc, "load balancer")
        },
    )
    .unwrap();
    let app_sg =
        SecurityGroup::new(&mut app, s, "App", SecurityGroupProps::new(&vpc, "app servers")).unwrap();
    lb.add_ingress_rule(
        &mut app,
        Peer::ipv4("10.0.0.0/8"),
        Port::tcp(443),
        "corporate network",
    )
    .unwrap();
    lb.add_ingress_rule(
        &mut app,
        Peer::ipv4("10.0.0.0/8"),
        Port::tcp(443),
        "corporate network",
    )
    .unwrap();
    app_sg
        .allow_from(&mut app, &lb, Port::tcp(8080), "from the load balancer")
        .unwrap();
    // The reverse reference too: two groups naming each other must not make a cycle.
    lb.add_ingress_rule(
        &mut app,
        Peer::security_group(&app_sg),
        Port::tcp_range(9000, 9100),
        "",
    )
    .unwrap();

    let t = synth_clean(app, "Net", &[], "security-groups");
    let r = &t["Resources"];
    let lb_id = logical(&t, "Lb");
    let app_id = logical(&t, "App");
    let ingress = r[&lb_id]["Properties"]["SecurityGroupIngress"]
        .as_array()
        .unwrap();
    assert_eq!(ingress.len(), 1, "identical rules are added once");
    assert_eq!(
        ingress[0],
        json!({ "CidrIp": "10.0.0.0/8", "Description": "corporate network", "FromPort": 443,
                "IpProtocol": "tcp", "ToPort": 443 })
    );
    // App allows 8080 from Lb: a SecurityGroupIngress resource under App.
    let rule = logical_of(&t, "AppfromNetLb", "AWS::EC2::SecurityGroupIngress");
    assert_eq!(r[&rule]["Type"], "AWS::EC2::SecurityGroupIngress");
    assert_eq!(
        r[&rule]["Properties"]["GroupId"],
        json!({ "Fn::GetAtt": [app_id, "GroupId"] })
    );
    assert_eq!(
        r[&rule]["Properties"]["SourceSecurityGroupId"],
        json!({ "Fn::GetAtt": [lb_id, "GroupId"] })
    );
    assert_eq!(r[&rule]["Properties"]["FromPort"], 8080);
    // Lb restricts egress: the egress resource to App replaced the "disallow all" placeholder.
    let egress = logical_of(&t, "LbtoNetApp", "AWS::EC2::SecurityGroupEgress");
    assert_eq!(r[&egress]["Type"], "AWS::EC2::SecurityGroupEgress");
    assert_eq!(
        r[&egress]["Properties"]["DestinationSecurityGroupId"],
        json!({ "Fn::GetAtt": [app_id, "GroupId"] })
    );
    assert_eq!(
        r[&lb_id]["Properties"]["SecurityGroupEgress"][0]["CidrIp"],
        "255.255.255.255/32"
    );
    let back = logical_of(&t, "LbfromNetApp", "AWS::EC2::SecurityGroupIngress");
    assert_eq!(r[&back]["Properties"]["FromPort"], 9000);
    assert_eq!(r[&back]["Properties"]["ToPort"], 9100);
    // The app group allows all outbound traffic.
    assert_eq!(
        r[&app_id]["Properties"]["SecurityGroupEgress"][0]["IpProtocol"],
        "-1"
    );
    assert_eq!(Port::all_traffic().to_string(), "ALL TRAFFIC");
}

#[test]
fn public_ingress_is_flagged_unless_allow_listed() {
    let build = || {
        let mut app = App::new();
        let s = app.stack("Net").unwrap();
        let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
        let web = SecurityGroup::new(&mut app, s, "Web", SecurityGroupProps::new(&vpc, "web")).unwrap();
        web.add_ingress_rule(&mut app, Peer::any_ipv4(), Port::tcp(443), "HTTPS")
            .unwrap();
        app
    };
    // Allow-listed by the group's path: clean.
    synth_clean(build(), "Net", &[(443, "Net/Web".into())], "public-443-allowed");
    // Not allow-listed: the rule refuses it.
    let mut app = build();
    let root = app.root();
    RuleSet::empty()
        .rule(NoPublicIngress::default(), Mode::Error)
        .apply(&mut app, root);
    let err = app.synth().unwrap_err();
    assert!(err.to_string().contains("Net/Web/Resource"), "{err}");
}

#[test]
fn instances_have_a_profile_encrypted_root_volume_and_imdsv2() {
    let dir = std::env::temp_dir().join(format!("cairn-l2-ec2-ud-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("boot.sh");
    std::fs::write(&script, "#!/bin/bash\ndnf install -y nginx\n").unwrap();

    let mut app = App::new();
    let s = app.stack("Compute").unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let host = Instance::new(
        &mut app,
        s,
        "Host",
        InstanceProps {
            ssm_managed: true,
            user_data: Some(UserData::from_file(&script)),
            root_volume_size: Some(20),
            ..InstanceProps::new(&vpc, "t3.micro", MachineImage::latest_amazon_linux_2023())
        },
    )
    .unwrap();
    let other = Instance::new(
        &mut app,
        s,
        "Other",
        InstanceProps {
            subnet_type: SubnetType::Public,
            availability_zone: Some(1),
            user_data: Some(UserData::commands(["echo hello"])),
            ..InstanceProps::new(&vpc, "t3.micro", MachineImage::latest_amazon_linux_2023())
        },
    )
    .unwrap();
    grant(
        &mut app,
        &host,
        ["s3:GetObject"],
        [Value::from("arn:aws:s3:::artifacts/*")],
    )
    .unwrap();
    let _ = other;
    let t = synth_clean(app, "Compute", &[], "instances");
    let r = &t["Resources"];
    let inst = logical(&t, "Host");
    let profile = logical(&t, "HostInstanceProfile");
    let role = logical(&t, "HostInstanceRole");
    let sg = logical(&t, "HostInstanceSecurityGroup");
    let p = &r[&inst]["Properties"];
    assert_eq!(p["IamInstanceProfile"], json!({ "Ref": profile }));
    assert_eq!(r[&profile]["Properties"]["Roles"], json!([{ "Ref": role }]));
    assert_eq!(p["SecurityGroupIds"], json!([{ "Fn::GetAtt": [sg, "GroupId"] }]));
    assert_eq!(
        p["BlockDeviceMappings"],
        json!([{ "DeviceName": "/dev/xvda",
                 "Ebs": { "DeleteOnTermination": true, "Encrypted": true, "VolumeSize": 20, "VolumeType": "gp3" } }])
    );
    assert_eq!(p["MetadataOptions"]["HttpTokens"], "required");
    assert_eq!(
        p["UserData"],
        json!({ "Fn::Base64": "#!/bin/bash\ndnf install -y nginx\n" })
    );
    let private1 = logical(&t, "VpcPrivateSubnet1Subnet");
    assert_eq!(p["SubnetId"], json!({ "Ref": private1 }));
    // The AMI comes from an SSM parameter through a typed template parameter.
    let param = p["ImageId"]["Ref"].as_str().unwrap();
    assert_eq!(
        t["Parameters"][param]["Type"],
        "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    );
    assert_eq!(
        t["Parameters"][param]["Default"],
        "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    );
    // Two instances share the one parameter.
    let other_id = &logical(&t, "Other");
    assert_eq!(r[other_id]["Properties"]["ImageId"]["Ref"], param);
    let public2 = logical(&t, "VpcPublicSubnet2Subnet");
    assert_eq!(r[other_id]["Properties"]["SubnetId"], json!({ "Ref": public2 }));
    assert_eq!(
        r[other_id]["Properties"]["UserData"],
        json!({ "Fn::Base64": "#!/bin/bash\necho hello" })
    );
    // SSM managed policy, and the grant went to the instance role.
    let managed = r[&role]["Properties"]["ManagedPolicyArns"][0]["Fn::Join"][1][2]
        .as_str()
        .unwrap();
    assert!(managed.ends_with("AmazonSSMManagedInstanceCore"), "{managed}");
    let policy = logical(&t, "HostInstanceRoleDefaultPolicy");
    assert_eq!(
        r[&policy]["Properties"]["PolicyDocument"]["Statement"][0]["Action"],
        "s3:GetObject"
    );
    // The grant came after the instance was created: the instance still waits for it
    // (the dependency is on the role construct, expanded at synthesis).
    let mut waits = vec![role.clone(), policy.clone()];
    waits.sort();
    assert_eq!(r[&inst]["DependsOn"], json!(waits));
    let other_role = logical(&t, "OtherInstanceRole");
    assert_eq!(
        r[other_id]["DependsOn"],
        json!([other_role]),
        "no grant, no policy"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_user_data_file_is_an_error_naming_file_and_construct() {
    let mut app = App::new();
    let s = app.stack("Compute").unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let err = Instance::new(
        &mut app,
        s,
        "Host",
        InstanceProps {
            user_data: Some(UserData::from_file("/nonexistent/cairn/boot.sh")),
            ..InstanceProps::new(&vpc, "t3.micro", MachineImage::literal("ami-0123456789abcdef0"))
        },
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::InvalidProps { .. }), "{msg}");
    assert_eq!(msg.matches("Compute/Host").count(), 1, "the path once: {msg}");
    assert!(
        msg.contains("'Compute/Host'") && msg.contains("/nonexistent/cairn/boot.sh"),
        "{msg}"
    );

    let isolated = Vpc::new(
        &mut app,
        s,
        "Iso",
        VpcProps {
            subnet_configuration: vec![SubnetConfiguration::isolated("Data")],
            ..VpcProps::default()
        },
    )
    .unwrap();
    let err = Instance::new(
        &mut app,
        s,
        "Nowhere",
        InstanceProps::new(
            &isolated,
            "t3.micro",
            MachineImage::literal("ami-0123456789abcdef0"),
        ),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no private-with-egress subnets"),
        "{err}"
    );
}

#[test]
fn a_port_of_cdk_instances_keeps_the_ami_root_volume_parameter_and_group_description() {
    let mut app = App::new();
    let s = app.stack("WebTier").unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let sg = SecurityGroup::new(&mut app, s, "WebSg", SecurityGroupProps::for_vpc(&vpc)).unwrap();
    Instance::new(
        &mut app,
        s,
        "Web1",
        InstanceProps {
            security_groups: vec![sg],
            map_root_volume: false,
            user_data: Some(UserData::commands(["yum install -y httpd"])),
            ..InstanceProps::new(&vpc, "t3.micro", MachineImage::latest_amazon_linux_2())
        },
    )
    .unwrap();
    let err = Instance::new(
        &mut app,
        s,
        "Web2",
        InstanceProps {
            map_root_volume: false,
            root_volume_size: Some(20),
            ..InstanceProps::new(&vpc, "t3.micro", MachineImage::latest_amazon_linux_2())
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("WebTier/Web2") && err.contains("map_root_volume"),
        "{err}"
    );
    let asm = app.synth().unwrap();
    let t = &asm.stack("WebTier").unwrap().template;
    // aws-cdk-lib's ids and texts (MachineImage.latestAmazonLinux2(), UserData.forLinux()).
    let param = "SsmParameterValueawsserviceamiamazonlinuxlatestamzn2amikernel510hvmx8664gp2C96584B6F00A464EAD1953AFF4B05118Parameter";
    let p = &t["Resources"]["Web1EEBE43FB"]["Properties"];
    assert_eq!(p["ImageId"], json!({ "Ref": param }));
    assert!(p.get("BlockDeviceMappings").is_none());
    assert_eq!(
        p["UserData"],
        json!({ "Fn::Base64": "#!/bin/bash\nyum install -y httpd" })
    );
    assert_eq!(
        t["Resources"]["WebSg75AA54D5"]["Properties"]["GroupDescription"],
        "WebTier/WebSg"
    );
}

#[test]
fn a_reversed_port_range_is_refused_not_swapped() {
    let mut app = App::new();
    let s = app.stack("S").unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let sg = SecurityGroup::new(&mut app, s, "Sg", SecurityGroupProps::for_vpc(&vpc)).unwrap();
    let err = sg
        .add_ingress_rule(
            &mut app,
            Peer::ipv4("10.0.0.0/8"),
            Port::tcp_range(443, 80),
            "web",
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("S/Sg") && err.contains("443-80 is reversed"),
        "{err}"
    );
    let err = sg
        .add_egress_rule(&mut app, Peer::ipv4("10.0.0.0/8"), Port::Udp(60, 50), "x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("60-50 is reversed"), "{err}");
    sg.add_ingress_rule(
        &mut app,
        Peer::ipv4("10.0.0.0/8"),
        Port::tcp_range(80, 443),
        "web",
    )
    .unwrap();
}

#[test]
fn rules_for_the_same_peer_protocol_and_ports_are_added_once_whatever_their_description() {
    let mut app = App::new();
    let s = app.stack("Net").unwrap();
    let vpc = Vpc::new(&mut app, s, "Vpc", VpcProps::default()).unwrap();
    let lb = SecurityGroup::new(
        &mut app,
        s,
        "Lb",
        SecurityGroupProps {
            allow_all_outbound: false,
            ..SecurityGroupProps::for_vpc(&vpc)
        },
    )
    .unwrap();
    // A listener opening its port and a user rule for the same peer and port: one rule,
    // described as the first (aws-cdk-lib keeps one; CloudFormation would too).
    lb.add_ingress_rule(
        &mut app,
        Peer::any_ipv4(),
        Port::tcp(443),
        "Allow from anyone on port 443",
    )
    .unwrap();
    lb.add_ingress_rule(&mut app, Peer::any_ipv4(), Port::tcp(443), "public HTTPS")
        .unwrap();
    lb.add_ingress_rule(&mut app, Peer::any_ipv4(), Port::udp(443), "QUIC")
        .unwrap();
    lb.add_egress_rule(&mut app, Peer::ipv4("10.0.0.0/16"), Port::tcp(8080), "to targets")
        .unwrap();
    lb.add_egress_rule(
        &mut app,
        Peer::ipv4("10.0.0.0/16"),
        Port::tcp(8080),
        "health checks",
    )
    .unwrap();
    let asm = app.synth().unwrap();
    let t = asm.stack("Net").unwrap().template.json().clone();
    let sg = &of_type(&t, "AWS::EC2::SecurityGroup")[0].1["Properties"];
    assert_eq!(
        sg["SecurityGroupIngress"],
        json!([
            {"CidrIp": "0.0.0.0/0", "Description": "Allow from anyone on port 443", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443},
            {"CidrIp": "0.0.0.0/0", "Description": "QUIC", "FromPort": 443, "IpProtocol": "udp", "ToPort": 443}
        ])
    );
    assert_eq!(
        sg["SecurityGroupEgress"],
        json!([{"CidrIp": "10.0.0.0/16", "Description": "to targets", "FromPort": 8080, "IpProtocol": "tcp", "ToPort": 8080}])
    );
}
