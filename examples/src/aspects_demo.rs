//! `aspects-demo`: the stack from the AWS DevOps blog post "Align with best practices
//! while creating infrastructure using CDK Aspects", with the post's six aspects.
//!
//! The stack: a VPC (10.0.0.0/16, public and private subnets in 3 AZs), a security group
//! allowing SSH from 0.0.0.0/0, an EC2 instance in a private subnet, a MySQL RDS
//! instance without deletion protection, and a plain bucket.
//!
//! The aspects: VPC CIDR must start with `192.168.`, no public ingress, approved AMI
//! (three checks, errors), and bucket versioning, bucket encryption and RDS deletion
//! protection (three fixes). [`build`] therefore fails synthesis with exactly three
//! errors after fixing three things; [`build_compliant`] is the same stack made
//! compliant, with the recommended rule set on top, and synthesizes cleanly.

use cairn::{App, CfnResource, Output, Parameter, RemovalPolicy, Result, Stack, Value};
use cairn_aspects::rules::{
    ApprovedAmi, NoPublicIngress, RdsDeletionProtection, S3Encryption, S3Versioning, VpcCidrPrefix,
};
use cairn_aspects::{Mode, RuleSet};

/// The SSM parameter holding the organisation's approved golden AMI.
pub const GOLDEN_AMI_PARAMETER: &str = "/golden/ami/latest";

struct Shape {
    cidr: &'static str,
    ssh_from: &'static str,
    ami_parameter: &'static str,
}

fn stack(app: &mut App, shape: &Shape) -> Result<Stack> {
    let stack = app.stack("AspectsDemo")?;
    let vpc = app.add(
        stack,
        "Vpc",
        CfnResource::new("AWS::EC2::VPC")
            .with("CidrBlock", shape.cidr)
            .with("EnableDnsHostnames", true)
            .with("EnableDnsSupport", true),
    )?;
    let igw = app.add(
        stack,
        "InternetGateway",
        CfnResource::new("AWS::EC2::InternetGateway"),
    )?;
    app.add(
        stack,
        "GatewayAttachment",
        CfnResource::new("AWS::EC2::VPCGatewayAttachment")
            .with("VpcId", vpc.ref_())
            .with("InternetGatewayId", igw.ref_()),
    )?;
    let public_routes = app.add(
        stack,
        "PublicRoutes",
        CfnResource::new("AWS::EC2::RouteTable").with("VpcId", vpc.ref_()),
    )?;
    app.add(
        stack,
        "PublicDefaultRoute",
        CfnResource::new("AWS::EC2::Route")
            .with("RouteTableId", public_routes.ref_())
            .with("DestinationCidrBlock", "0.0.0.0/0")
            .with("GatewayId", igw.ref_()),
    )?;
    let private_routes = app.add(
        stack,
        "PrivateRoutes",
        CfnResource::new("AWS::EC2::RouteTable").with("VpcId", vpc.ref_()),
    )?;
    let mut private_subnets = Vec::new();
    for az in 0..3i64 {
        for (kind, routes, offset, public) in [
            ("Public", public_routes, 0, true),
            ("Private", private_routes, 3, false),
        ] {
            let subnet = app.add(
                stack,
                &format!("{kind}Subnet{}", az + 1),
                CfnResource::new("AWS::EC2::Subnet")
                    .with("VpcId", vpc.ref_())
                    .with("AvailabilityZone", Value::select(az, Value::get_azs()))
                    .with(
                        "CidrBlock",
                        Value::select(az + offset, Value::cidr(vpc.attr("CidrBlock"), 6, 8)),
                    )
                    .with("MapPublicIpOnLaunch", public),
            )?;
            app.add(
                stack,
                &format!("{kind}Subnet{}Routes", az + 1),
                CfnResource::new("AWS::EC2::SubnetRouteTableAssociation")
                    .with("SubnetId", subnet.ref_())
                    .with("RouteTableId", routes.ref_()),
            )?;
            if !public {
                private_subnets.push(subnet);
            }
        }
    }

    let ssh = app.add(
        stack,
        "SshSecurityGroup",
        CfnResource::new("AWS::EC2::SecurityGroup")
            .with("GroupDescription", "SSH access to the instance")
            .with("VpcId", vpc.ref_())
            .with(
                "SecurityGroupIngress",
                Value::list([Value::map([
                    ("IpProtocol", Value::from("tcp")),
                    ("FromPort", Value::from(22)),
                    ("ToPort", Value::from(22)),
                    ("CidrIp", Value::from(shape.ssh_from)),
                    ("Description", Value::from("SSH")),
                ])]),
            ),
    )?;
    let ami = app.parameter(
        stack,
        "InstanceAmi",
        Parameter::ssm_value("AWS::EC2::Image::Id")
            .default_value(shape.ami_parameter)
            .description("SSM parameter holding the instance's AMI"),
    )?;
    let instance = app.add(
        stack,
        "Instance",
        CfnResource::new("AWS::EC2::Instance")
            .with("ImageId", ami.value())
            .with("InstanceType", "t3.micro")
            .with("SubnetId", private_subnets[0].ref_())
            .with("SecurityGroupIds", Value::list([ssh.attr("GroupId")]))
            .with("Monitoring", true)
            .with("EbsOptimized", true)
            .with(
                "MetadataOptions",
                Value::map([
                    ("HttpTokens", Value::from("required")),
                    ("HttpEndpoint", Value::from("enabled")),
                ]),
            )
            .with(
                "BlockDeviceMappings",
                Value::list([Value::map([
                    ("DeviceName", Value::from("/dev/xvda")),
                    (
                        "Ebs",
                        Value::map([("VolumeSize", Value::from(20)), ("Encrypted", Value::from(true))]),
                    ),
                ])]),
            ),
    )?;

    let db_subnets = app.add(
        stack,
        "DatabaseSubnets",
        CfnResource::new("AWS::RDS::DBSubnetGroup")
            .with("DBSubnetGroupDescription", "Private subnets of the database")
            .with("SubnetIds", Value::list(private_subnets.iter().map(|s| s.ref_()))),
    )?;
    let db_sg = app.add(
        stack,
        "DatabaseSecurityGroup",
        CfnResource::new("AWS::EC2::SecurityGroup")
            .with("GroupDescription", "MySQL from the instance")
            .with("VpcId", vpc.ref_())
            .with(
                "SecurityGroupIngress",
                Value::list([Value::map([
                    ("IpProtocol", Value::from("tcp")),
                    ("FromPort", Value::from(3306)),
                    ("ToPort", Value::from(3306)),
                    ("SourceSecurityGroupId", ssh.attr("GroupId")),
                    ("Description", Value::from("MySQL from the instance")),
                ])]),
            ),
    )?;
    let db = app.add(
        stack,
        "Database",
        CfnResource::new("AWS::RDS::DBInstance")
            .with("Engine", "mysql")
            .with("EngineVersion", "8.4.7")
            .with("DBInstanceClass", "db.t3.micro")
            .with("AllocatedStorage", "20")
            .with("MasterUsername", "admin")
            .with("ManageMasterUserPassword", true)
            .with("DBSubnetGroupName", db_subnets.ref_())
            .with("VPCSecurityGroups", Value::list([db_sg.attr("GroupId")]))
            .with("StorageEncrypted", true)
            .with("PubliclyAccessible", false)
            .with("MultiAZ", true)
            .with("AutoMinorVersionUpgrade", true)
            .with("BackupRetentionPeriod", 7)
            .with("EnableIAMDatabaseAuthentication", true),
    )?;
    let o = app.resource_options_mut(db)?;
    o.deletion_policy = Some(RemovalPolicy::Snapshot);
    o.update_replace_policy = Some(RemovalPolicy::Snapshot);

    let bucket = app.add(stack, "Bucket", CfnResource::new("AWS::S3::Bucket"))?;
    app.output(stack, "InstanceId", Output::new(instance.ref_()))?;
    app.output(stack, "BucketName", Output::new(bucket.ref_()))?;
    Ok(stack)
}

/// The six aspects of the blog post, added to `base`.
fn blog_rules(base: RuleSet) -> RuleSet {
    base.rule(
        VpcCidrPrefix {
            prefixes: vec!["192.168.".into()],
        },
        Mode::Error,
    )
    .rule(NoPublicIngress::default(), Mode::Error)
    .rule(
        ApprovedAmi {
            image_ids: Vec::new(),
            ssm_parameters: vec![GOLDEN_AMI_PARAMETER.into()],
        },
        Mode::Error,
    )
    .rule(S3Versioning, Mode::Fix)
    .rule(S3Encryption::default(), Mode::Fix)
    .rule(RdsDeletionProtection, Mode::Fix)
}

/// The stack as the blog post writes it, with its six aspects: synthesis fails with
/// three errors (VPC CIDR, SSH open to the world, unapproved AMI) and three fixes.
pub fn build() -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());
    let stack = stack(
        &mut app,
        &Shape {
            cidr: "10.0.0.0/16",
            ssh_from: "0.0.0.0/0",
            ami_parameter: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        },
    )?;
    blog_rules(RuleSet::empty()).apply(&mut app, stack);
    Ok(app)
}

/// The same stack made compliant (approved CIDR, SSH from the corporate range, golden
/// AMI), with the six aspects and the recommended rule set in fix mode.
pub fn build_compliant() -> Result<App> {
    let mut app = App::new();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());
    let stack = stack(
        &mut app,
        &Shape {
            cidr: "192.168.0.0/16",
            ssh_from: "192.168.100.0/24",
            ami_parameter: GOLDEN_AMI_PARAMETER,
        },
    )?;
    // checkov's checks that the post's stack answers rather than fixes.
    crate::answer_checks(
        &mut app,
        stack,
        &[
            (
                "CKV_AWS_118",
                "The post's one db.t3.micro is watched through its standard one-minute CloudWatch RDS metrics; enhanced monitoring's OS metrics need a monitoring role this reproduction of the post does not define (a production database sets MonitoringInterval and that role)",
            ),
            (
                "CKV_AWS_18",
                "The post's bucket holds no objects: it is there to show the recommended rules fixing versioning, encryption and public access; a bucket that holds data sets server access logging to a log bucket",
            ),
        ],
    )?;
    blog_rules(RuleSet::recommended()).apply(&mut app, stack);
    Ok(app)
}
