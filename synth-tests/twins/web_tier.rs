//! Twin pair `web_tier` (cairn side of `web_tier.js`): a VPC with flow logs, an ALB in
//! front of two instances, an Aurora MySQL cluster whose credentials come from a secret,
//! and an SSM parameter; the construct ids are the CDK app's.

use cairn::ec2::{
    flow_log, FlowLogOptions, Instance, InstanceProps, MachineImage, Peer, Port, SecurityGroup,
    SecurityGroupProps, SubnetType, UserData, Vpc, VpcProps,
};
use cairn::elbv2::{
    ApplicationLoadBalancer, ApplicationLoadBalancerProps, ApplicationTargetGroupProps, ListenerAction,
    ListenerProps, Target,
};
use cairn::rds::{Credentials, DatabaseCluster, DatabaseClusterProps};
use cairn::secretsmanager::{Secret, SecretProps, SecretStringGenerator};
use cairn::ssm::{StringParameter, StringParameterProps};
use cairn::App;

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("WebTier")?;

    let vpc = Vpc::new(
        &mut app,
        stack,
        "Vpc",
        VpcProps {
            nat_gateways: Some(1),
            ..VpcProps::default()
        },
    )?;
    vpc.add_flow_log(
        &mut app,
        "FlowLog",
        FlowLogOptions {
            traffic_type: flow_log::TrafficType::Reject,
            ..FlowLogOptions::default()
        },
    )?;

    let alb_sg = SecurityGroup::new(&mut app, stack, "AlbSg", SecurityGroupProps::for_vpc(&vpc))?;
    alb_sg.add_ingress_rule(&mut app, Peer::any_ipv4(), Port::tcp(80), "HTTP from anywhere")?;
    let web_sg = SecurityGroup::new(&mut app, stack, "WebSg", SecurityGroupProps::for_vpc(&vpc))?;
    web_sg.add_ingress_rule(
        &mut app,
        Peer::security_group(&alb_sg),
        Port::tcp(80),
        "HTTP from the ALB",
    )?;
    let db_sg = SecurityGroup::new(
        &mut app,
        stack,
        "DbSg",
        SecurityGroupProps {
            allow_all_outbound: false,
            ..SecurityGroupProps::for_vpc(&vpc)
        },
    )?;
    db_sg.add_ingress_rule(
        &mut app,
        Peer::security_group(&web_sg),
        Port::tcp(3306),
        "MySQL from the web tier",
    )?;

    let user_data = UserData::commands(["yum install -y httpd", "systemctl enable --now httpd"]);
    let mut instances = Vec::new();
    for id in ["Web1", "Web2"] {
        instances.push(Instance::new(
            &mut app,
            stack,
            id,
            InstanceProps {
                subnet_type: SubnetType::PrivateWithEgress,
                security_groups: vec![web_sg],
                user_data: Some(user_data.clone()),
                // The CDK leaves the AMI's root volume alone; mapping it would replace.
                map_root_volume: false,
                ..InstanceProps::new(&vpc, "t3.micro", MachineImage::latest_amazon_linux_2())
            },
        )?);
    }

    let alb = ApplicationLoadBalancer::new(
        &mut app,
        stack,
        "Alb",
        ApplicationLoadBalancerProps {
            security_group: Some(alb_sg),
            ..ApplicationLoadBalancerProps::new(&vpc)
        },
    )?;
    let listener = alb.add_listener(
        &mut app,
        "Http",
        ListenerProps {
            open: false,
            // Replaced by the forward to the targets below, as in the CDK.
            ..ListenerProps::http(ListenerAction::fixed_response(404, "text/plain", "no targets"))
        },
    )?;
    listener.add_targets(
        &mut app,
        "Web",
        ApplicationTargetGroupProps {
            targets: instances
                .iter()
                .map(|i| Target::instance_on_port(i, 80))
                .collect(),
            ..ApplicationTargetGroupProps::new(&vpc, 80)
        },
    )?;

    let db_secret = Secret::new(
        &mut app,
        stack,
        "DbSecret",
        SecretProps {
            generate_secret_string: Some(SecretStringGenerator {
                secret_string_template: Some(r#"{"username":"admin"}"#.into()),
                generate_string_key: Some("password".into()),
                exclude_punctuation: true,
                ..SecretStringGenerator::default()
            }),
            ..SecretProps::default()
        },
    )?;

    DatabaseCluster::new(
        &mut app,
        stack,
        "Db",
        DatabaseClusterProps {
            engine_version: "8.0.mysql_aurora.3.05.2".into(),
            instance_class: "db.t3.medium".into(),
            credentials: Credentials::FromSecret(db_secret),
            subnet_type: Some(SubnetType::PrivateWithEgress),
            security_groups: vec![db_sg],
            default_database_name: Some("app".into()),
            // The CDK's cluster is unencrypted unless asked; StorageEncrypted replaces.
            storage_encrypted: false,
            ..DatabaseClusterProps::new(&vpc)
        },
    )?;

    StringParameter::new(
        &mut app,
        stack,
        "DbEndpointParam",
        StringParameterProps {
            parameter_name: Some("/web-tier/db-secret-arn".into()),
            ..StringParameterProps::new(db_secret.secret_arn())
        },
    )?;
    Ok(app)
}
