//! VPC endpoints: gateway and interface endpoints and their policies.

use super::*;

/// AWS services reachable through a gateway endpoint (route table entries, no charge).
///
/// ```
/// use cairn_constructs::ec2::GatewayVpcEndpointAwsService;
/// assert_eq!(GatewayVpcEndpointAwsService::S3.short_name(), "s3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatewayVpcEndpointAwsService {
    /// Amazon S3.
    S3,
    /// Amazon DynamoDB.
    DynamoDb,
}

impl GatewayVpcEndpointAwsService {
    /// The service's short name (`s3`, `dynamodb`).
    pub fn short_name(self) -> &'static str {
        match self {
            GatewayVpcEndpointAwsService::S3 => "s3",
            GatewayVpcEndpointAwsService::DynamoDb => "dynamodb",
        }
    }

    /// `com.amazonaws.<region>.<name>`, for the stack's region.
    pub fn service_name(self) -> Value {
        Value::sub(&format!("com.amazonaws.${{AWS::Region}}.{}", self.short_name()))
    }
}

/// AWS services reachable through an interface endpoint (PrivateLink network interfaces
/// in the VPC's subnets).
///
/// ```
/// use cairn_constructs::ec2::InterfaceVpcEndpointAwsService;
/// assert_eq!(InterfaceVpcEndpointAwsService::SecretsManager.short_name(), "secretsmanager");
/// assert_eq!(InterfaceVpcEndpointAwsService::Other("glue".into()).short_name(), "glue");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InterfaceVpcEndpointAwsService {
    /// AWS Glue (`glue`).
    Glue,
    /// AWS KMS (`kms`).
    Kms,
    /// AWS Secrets Manager (`secretsmanager`).
    SecretsManager,
    /// CloudWatch Logs (`logs`).
    CloudWatchLogs,
    /// CloudWatch metrics (`monitoring`).
    CloudWatchMonitoring,
    /// AWS STS (`sts`).
    Sts,
    /// Systems Manager (`ssm`).
    Ssm,
    /// Step Functions (`states`).
    StepFunctions,
    /// Amazon SNS (`sns`).
    Sns,
    /// Amazon SQS (`sqs`).
    Sqs,
    /// AWS Lambda (`lambda`).
    Lambda,
    /// Amazon Athena (`athena`).
    Athena,
    /// Amazon ECR API (`ecr.api`).
    EcrApi,
    /// Amazon ECR image pulls (`ecr.dkr`).
    EcrDocker,
    /// Amazon S3 as an interface endpoint (`s3`; needs `private_dns_enabled: false`
    /// unless a gateway endpoint exists too).
    S3,
    /// Any other service by the part of its name after `com.amazonaws.<region>.`, e.g.
    /// `events`.
    Other(String),
}

impl InterfaceVpcEndpointAwsService {
    /// The service's short name.
    pub fn short_name(&self) -> &str {
        match self {
            InterfaceVpcEndpointAwsService::Glue => "glue",
            InterfaceVpcEndpointAwsService::Kms => "kms",
            InterfaceVpcEndpointAwsService::SecretsManager => "secretsmanager",
            InterfaceVpcEndpointAwsService::CloudWatchLogs => "logs",
            InterfaceVpcEndpointAwsService::CloudWatchMonitoring => "monitoring",
            InterfaceVpcEndpointAwsService::Sts => "sts",
            InterfaceVpcEndpointAwsService::Ssm => "ssm",
            InterfaceVpcEndpointAwsService::StepFunctions => "states",
            InterfaceVpcEndpointAwsService::Sns => "sns",
            InterfaceVpcEndpointAwsService::Sqs => "sqs",
            InterfaceVpcEndpointAwsService::Lambda => "lambda",
            InterfaceVpcEndpointAwsService::Athena => "athena",
            InterfaceVpcEndpointAwsService::EcrApi => "ecr.api",
            InterfaceVpcEndpointAwsService::EcrDocker => "ecr.dkr",
            InterfaceVpcEndpointAwsService::S3 => "s3",
            InterfaceVpcEndpointAwsService::Other(name) => name,
        }
    }

    /// `com.amazonaws.<region>.<name>`, for the stack's region.
    pub fn service_name(&self) -> Value {
        Value::sub(&format!("com.amazonaws.${{AWS::Region}}.{}", self.short_name()))
    }
}

/// Options of [`Vpc::add_gateway_endpoint`].
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayVpcEndpointOptions {
    /// The service.
    pub service: GatewayVpcEndpointAwsService,
    /// The subnet types whose route tables get the route; every subnet when empty (the
    /// CDK's default).
    pub subnet_types: Vec<SubnetType>,
    /// An endpoint policy; the service's default (full access) when `None`.
    pub policy: Option<crate::iam::PolicyDocument>,
}

impl GatewayVpcEndpointOptions {
    /// A gateway endpoint of `service` for every subnet.
    pub fn new(service: GatewayVpcEndpointAwsService) -> Self {
        GatewayVpcEndpointOptions {
            service,
            subnet_types: Vec::new(),
            policy: None,
        }
    }
}

/// Options of [`Vpc::add_interface_endpoint`].
#[derive(Debug, Clone)]
pub struct InterfaceVpcEndpointOptions {
    /// The service.
    pub service: InterfaceVpcEndpointAwsService,
    /// Resolve the service's public DNS name to the endpoint (default: on; the VPC needs
    /// DNS support and DNS hostnames).
    pub private_dns_enabled: bool,
    /// The subnet type the network interfaces go in, one subnet per AZ; by default
    /// private with egress, else isolated, else public.
    pub subnet_type: Option<SubnetType>,
    /// The port the service listens on (default 443).
    pub port: u16,
    /// Security groups; when empty one is created (child `SecurityGroup`) allowing
    /// `port` from the VPC's CIDR and no outbound traffic (an endpoint only answers).
    pub security_groups: Vec<SecurityGroup>,
    /// An endpoint policy; the service's default (full access) when `None`.
    pub policy: Option<crate::iam::PolicyDocument>,
}

impl InterfaceVpcEndpointOptions {
    /// An interface endpoint of `service` with the defaults above.
    pub fn new(service: InterfaceVpcEndpointAwsService) -> Self {
        InterfaceVpcEndpointOptions {
            service,
            private_dns_enabled: true,
            subnet_type: None,
            port: 443,
            security_groups: Vec::new(),
            policy: None,
        }
    }
}

/// A gateway VPC endpoint (`AWS::EC2::VPCEndpoint`, type `Gateway`).
#[derive(Debug, Clone, Copy)]
pub struct GatewayVpcEndpoint {
    pub(super) node: NodeId,
    resource: Res<CfnVPCEndpoint>,
}

impl GatewayVpcEndpoint {
    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnVPCEndpoint> {
        self.resource
    }

    /// The endpoint id (`Ref`), e.g. for an `aws:sourceVpce` condition.
    pub fn vpc_endpoint_id(&self) -> Value {
        self.resource.ref_()
    }
}

/// An interface VPC endpoint (`AWS::EC2::VPCEndpoint`, type `Interface`) and its
/// security groups.
#[derive(Debug, Clone)]
pub struct InterfaceVpcEndpoint {
    pub(super) node: NodeId,
    resource: Res<CfnVPCEndpoint>,
    security_groups: Vec<SecurityGroup>,
}

impl InterfaceVpcEndpoint {
    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnVPCEndpoint> {
        self.resource
    }

    /// The endpoint id (`Ref`).
    pub fn vpc_endpoint_id(&self) -> Value {
        self.resource.ref_()
    }

    /// The endpoint's security groups.
    pub fn security_groups(&self) -> &[SecurityGroup] {
        &self.security_groups
    }
}

impl From<GatewayVpcEndpoint> for NodeId {
    fn from(e: GatewayVpcEndpoint) -> NodeId {
        e.node
    }
}

impl From<InterfaceVpcEndpoint> for NodeId {
    fn from(e: InterfaceVpcEndpoint) -> NodeId {
        e.node
    }
}

impl Vpc {
    /// Adds a gateway endpoint (S3 or DynamoDB) as construct `id` under the VPC: a route
    /// to the service's prefix list in the route table of every subnet (or of the subnets
    /// of `subnet_types`).
    ///
    /// ```
    /// use cairn_constructs::ec2::{GatewayVpcEndpointAwsService, GatewayVpcEndpointOptions, Vpc, VpcProps};
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = cairn_core::App::new();
    /// let stack = app.stack("Net")?;
    /// let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
    /// vpc.add_gateway_endpoint(&mut app, "S3Endpoint",
    ///     GatewayVpcEndpointOptions::new(GatewayVpcEndpointAwsService::S3))?;
    /// let t = app.synth()?.stack("Net").unwrap().template.json().clone();
    /// let e = t["Resources"].as_object().unwrap().values()
    ///     .find(|r| r["Type"] == "AWS::EC2::VPCEndpoint").unwrap();
    /// assert_eq!(e["Properties"]["VpcEndpointType"], "Gateway");
    /// assert_eq!(e["Properties"]["RouteTableIds"].as_array().unwrap().len(), 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_gateway_endpoint(
        &self,
        app: &mut App,
        id: &str,
        options: GatewayVpcEndpointOptions,
    ) -> Result<GatewayVpcEndpoint> {
        let node = app.construct(self.node, id)?;
        let tables: Vec<Val<String>> = self
            .subnets
            .iter()
            .filter(|s| options.subnet_types.is_empty() || options.subnet_types.contains(&s.subnet_type))
            .filter_map(|s| s.route_table_id.clone())
            .map(Into::into)
            .collect();
        if tables.is_empty() {
            return Err(app.invalid_props(
                node,
                format!(
                    "no subnets of types {:?} to route to the endpoint; choose types the VPC has",
                    options.subnet_types
                ),
            ));
        }
        let mut e = CfnVPCEndpoint::new(self.vpc_id());
        e.service_name = Some(options.service.service_name().into());
        e.vpc_endpoint_type = Some(vpc_endpoint::VpcEndpointType::Gateway.into());
        e.route_table_ids = Some(tables.into());
        e.policy_document = options.policy.as_ref().map(|p| p.to_value());
        let resource = app.add(node, "Resource", e)?;
        Ok(GatewayVpcEndpoint { node, resource })
    }

    /// Adds an interface endpoint as construct `id` under the VPC: network interfaces in
    /// one subnet per AZ, private DNS on, and (unless groups are given) a security group
    /// allowing HTTPS from the VPC's CIDR.
    ///
    /// Errors: the VPC has no subnets of the type; private DNS without the VPC's DNS
    /// hostnames and support.
    ///
    /// ```
    /// use cairn_constructs::ec2::{InterfaceVpcEndpointAwsService, InterfaceVpcEndpointOptions, Vpc, VpcProps};
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = cairn_core::App::new();
    /// let stack = app.stack("Net")?;
    /// let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
    /// let kms = vpc.add_interface_endpoint(&mut app, "KmsEndpoint",
    ///     InterfaceVpcEndpointOptions::new(InterfaceVpcEndpointAwsService::Kms))?;
    /// assert_eq!(kms.security_groups().len(), 1);
    /// let t = app.synth()?.stack("Net").unwrap().template.json().clone();
    /// let id = t["Resources"].as_object().unwrap().iter()
    ///     .find(|(_, r)| r["Type"] == "AWS::EC2::VPCEndpoint").unwrap().0.clone();
    /// assert_eq!(t["Resources"][&id]["Properties"]["PrivateDnsEnabled"], true);
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_interface_endpoint(
        &self,
        app: &mut App,
        id: &str,
        options: InterfaceVpcEndpointOptions,
    ) -> Result<InterfaceVpcEndpoint> {
        let node = app.construct(self.node, id)?;
        let subnet_type = match options.subnet_type {
            Some(t) => t,
            None => [
                SubnetType::PrivateWithEgress,
                SubnetType::PrivateIsolated,
                SubnetType::Public,
            ]
            .into_iter()
            .find(|t| self.subnets.iter().any(|s| s.subnet_type == *t))
            .unwrap_or(SubnetType::PrivateWithEgress),
        };
        let candidates = self.require_subnets(app, node, subnet_type)?;
        // One subnet per AZ: the first group of the type.
        let group = candidates[0].group.clone();
        let subnets: Vec<Val<String>> = candidates
            .iter()
            .filter(|s| s.group == group)
            .map(|s| s.subnet_id().into())
            .collect();
        if options.private_dns_enabled {
            // An existing VPC's settings are not known here: AWS checks them.
            let dns = match self.resource {
                None => true,
                Some(resource) => app
                    .node(resource.node())
                    .resource::<CfnVPC>()
                    .map(|v| {
                        let on = |f: &Option<Val<bool>>| matches!(f, Some(Val::Lit(true)));
                        on(&v.enable_dns_hostnames) && on(&v.enable_dns_support)
                    })
                    .unwrap_or(false),
            };
            if !dns {
                return Err(app.invalid_props(
                    node,
                    "private DNS needs the VPC's enable_dns_hostnames and enable_dns_support; turn them on or set private_dns_enabled: false",
                ));
            }
        }
        let groups = if options.security_groups.is_empty() {
            if self.cidr.is_empty() {
                return Err(app.invalid_props(
                    node,
                    "the endpoint's security group allows the VPC's CIDR block, which this existing VPC was imported without; set VpcAttributes.vpc_cidr_block or pass security_groups",
                ));
            }
            let sg = SecurityGroup::new(
                app,
                node,
                "SecurityGroup",
                SecurityGroupProps {
                    allow_all_outbound: false,
                    ..SecurityGroupProps::new(
                        self,
                        &format!("VPC endpoint of {}", options.service.short_name()),
                    )
                },
            )?;
            sg.add_ingress_rule(
                app,
                Peer::ipv4(&self.cidr),
                Port::tcp(options.port),
                &format!("from {}:{}", self.cidr, options.port),
            )?;
            vec![sg]
        } else {
            options.security_groups.clone()
        };
        let mut e = CfnVPCEndpoint::new(self.vpc_id());
        e.service_name = Some(options.service.service_name().into());
        e.vpc_endpoint_type = Some(vpc_endpoint::VpcEndpointType::Interface.into());
        e.private_dns_enabled = Some(options.private_dns_enabled.into());
        e.subnet_ids = Some(subnets.into());
        e.security_group_ids = Some(
            groups
                .iter()
                .map(|g| g.security_group_id().into())
                .collect::<Vec<_>>()
                .into(),
        );
        e.policy_document = options.policy.as_ref().map(|p| p.to_value());
        let resource = app.add(node, "Resource", e)?;
        Ok(InterfaceVpcEndpoint {
            node,
            resource,
            security_groups: groups,
        })
    }
}
