//! EC2: a VPC with computed subnet CIDRs, security groups with typed rules, instances.
//!
//! ```
//! use cairn_constructs::ec2::{
//!     Instance, InstanceProps, MachineImage, Peer, Port, SecurityGroup, SecurityGroupProps,
//!     SubnetType, Vpc, VpcProps,
//! };
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Net")?;
//! // 10.0.0.0/16 over two AZs: public /18s and private-with-egress /18s, one NAT gateway per AZ.
//! let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
//! assert_eq!(vpc.subnets()[0].cidr, "10.0.0.0/18");
//! assert_eq!(vpc.select_subnets(SubnetType::PrivateWithEgress).len(), 2);
//!
//! let web = SecurityGroup::new(&mut app, stack, "Web", SecurityGroupProps::new(&vpc, "web servers"))?;
//! web.add_ingress_rule(&mut app, Peer::ipv4("10.0.0.0/16"), Port::tcp(443), "HTTPS from the VPC")?;
//!
//! let host = Instance::new(&mut app, stack, "Host", InstanceProps {
//!     security_groups: vec![web],
//!     ..InstanceProps::new(&vpc, "t3.micro", MachineImage::latest_amazon_linux_2023())
//! })?;
//! let t = app.synth()?.stack("Net").unwrap().template.json().clone();
//! let res = &t["Resources"];
//! let id = res.as_object().unwrap().keys().find(|k| k.starts_with("HostInstanceProfile")).unwrap();
//! assert_eq!(res[id]["Type"], "AWS::IAM::InstanceProfile");
//! # let _ = host;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use cairn_core::{format_arn, App, NodeId, Parameter, RemovalPolicy, Res, Result, Val, Value};

use cairn_cfn::logs::CfnLogGroup;

use crate::iam::{CfnInstanceProfile, PolicyStatement, Principal, Role, RoleProps};
use crate::kms::{push_statement, Key, KeyProps};

mod existing;
pub use existing::*;
mod instances;
pub use instances::*;
mod vpc_endpoints;
pub use vpc_endpoints::*;
mod groups;
pub use groups::*;
mod lookup;
pub use lookup::*;

pub use cairn_cfn::ec2::*;

// ---------------------------------------------------------------------------------------
// CIDR arithmetic (the CDK's NetworkBuilder)
// ---------------------------------------------------------------------------------------

/// An IPv4 CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address.
    pub address: u32,
    /// The prefix length.
    pub mask: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`; the address is normalised to its network address.
    pub fn parse(text: &str) -> std::result::Result<Cidr, String> {
        let (ip, mask) = text
            .split_once('/')
            .ok_or_else(|| "expected a.b.c.d/n".to_string())?;
        let mask: u8 = mask
            .parse()
            .ok()
            .filter(|m| *m <= 32)
            .ok_or_else(|| format!("mask {mask:?} is not a number from 0 to 32"))?;
        let octets: Vec<&str> = ip.split('.').collect();
        if octets.len() != 4 {
            return Err("expected four dot-separated octets".into());
        }
        let mut address = 0u32;
        for o in octets {
            let b: u8 = o
                .parse()
                .map_err(|_| format!("octet {o:?} is not a number from 0 to 255"))?;
            address = (address << 8) | u32::from(b);
        }
        let size = Cidr::size_of(mask);
        Ok(Cidr {
            address: (u64::from(address) / size * size) as u32,
            mask,
        })
    }

    fn size_of(mask: u8) -> u64 {
        1u64 << (32 - u32::from(mask))
    }

    /// The number of addresses.
    pub fn size(&self) -> u64 {
        Cidr::size_of(self.mask)
    }

    /// The last address, as a number.
    pub fn max_address(&self) -> u64 {
        u64::from(self.address) + self.size() - 1
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.address;
        write!(
            f,
            "{}.{}.{}.{}/{}",
            a >> 24,
            (a >> 16) & 0xff,
            (a >> 8) & 0xff,
            a & 0xff,
            self.mask
        )
    }
}

/// Allocates subnets in a network the way aws-cdk-lib's `NetworkBuilder` does: each block
/// starts at the next free address rounded up to its own alignment.
struct NetworkBuilder {
    network: Cidr,
    next: u64,
}

impl NetworkBuilder {
    fn new(network: Cidr) -> Self {
        NetworkBuilder {
            next: u64::from(network.address),
            network,
        }
    }

    fn add_subnet(&mut self, mask: u8) -> std::result::Result<Cidr, String> {
        if !(16..=28).contains(&mask) {
            return Err(format!(
                "subnet mask /{mask} is outside the range EC2 allows (/16 to /28)"
            ));
        }
        let size = Cidr::size_of(mask);
        let start = self.next.div_ceil(size) * size;
        if start + size - 1 > self.network.max_address() {
            return Err(format!(
                "a /{mask} subnet does not fit in what remains of {} (next free address {}); use a larger VPC CIDR, fewer AZs or smaller subnets",
                self.network,
                Cidr { address: self.next.min(u64::from(u32::MAX)) as u32, mask: 32 }.to_string().trim_end_matches("/32"),
            ));
        }
        self.next = start + size;
        Ok(Cidr {
            address: start as u32,
            mask,
        })
    }

    fn mask_for_remaining(&self, count: usize) -> std::result::Result<u8, String> {
        let remaining = (self.network.max_address() + 1).saturating_sub(self.next);
        let per = remaining / count.max(1) as u64;
        if per < 16 {
            return Err(format!(
                "{count} subnet(s) without a cidr_mask do not fit in what remains of {}",
                self.network
            ));
        }
        let mask = 32 - (63 - per.leading_zeros()) as u8;
        Ok(mask.max(16))
    }
}

// ---------------------------------------------------------------------------------------
// VPC
// ---------------------------------------------------------------------------------------

/// The kind of a subnet group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubnetType {
    /// Routed to the internet gateway; instances may get public IPs. NAT gateways live here.
    Public,
    /// Outbound internet through a NAT gateway, no inbound from the internet.
    PrivateWithEgress,
    /// No route out of the VPC.
    PrivateIsolated,
}

impl SubnetType {
    /// The value of the `aws-cdk:subnet-type` tag (as aws-cdk-lib writes it, so CDK
    /// `Vpc.fromLookup` finds cairn VPCs too).
    pub fn tag_value(self) -> &'static str {
        match self {
            SubnetType::Public => "Public",
            SubnetType::PrivateWithEgress => "Private",
            SubnetType::PrivateIsolated => "Isolated",
        }
    }
}

impl fmt::Display for SubnetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubnetType::Public => "public",
            SubnetType::PrivateWithEgress => "private-with-egress",
            SubnetType::PrivateIsolated => "private-isolated",
        })
    }
}

/// One subnet group: a subnet of this type in each availability zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetConfiguration {
    /// The group name; subnets are `<name>Subnet1`, `<name>Subnet2` ...
    pub name: String,
    /// Public, private with egress, or isolated.
    pub subnet_type: SubnetType,
    /// The prefix length of each subnet; `None` shares the space left over by the groups
    /// with a mask equally among the groups without one.
    pub cidr_mask: Option<u8>,
}

impl SubnetConfiguration {
    /// A group of a type, sized from the remaining space.
    pub fn new(name: &str, subnet_type: SubnetType) -> Self {
        SubnetConfiguration {
            name: name.to_string(),
            subnet_type,
            cidr_mask: None,
        }
    }

    /// A public group.
    pub fn public(name: &str) -> Self {
        Self::new(name, SubnetType::Public)
    }

    /// A private group with egress through NAT gateways.
    pub fn private_with_egress(name: &str) -> Self {
        Self::new(name, SubnetType::PrivateWithEgress)
    }

    /// An isolated group.
    pub fn isolated(name: &str) -> Self {
        Self::new(name, SubnetType::PrivateIsolated)
    }

    /// Sets the prefix length of each subnet.
    pub fn cidr_mask(mut self, mask: u8) -> Self {
        self.cidr_mask = Some(mask);
        self
    }
}

/// VPC flow logs to CloudWatch Logs, with the role the service writes with.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowLogOptions {
    /// Which traffic to log.
    pub traffic_type: flow_log::TrafficType,
    /// Retention of the log group in days (a value CloudWatch accepts).
    pub retention_days: i64,
    /// The KMS key ARN encrypting the log group; a key (rotation on, retained) is created
    /// for the flow logs when `None`.
    pub kms_key: Option<Value>,
    /// What happens to the log group (and a created key) when removed from the stack.
    pub removal_policy: RemovalPolicy,
}

impl Default for FlowLogOptions {
    fn default() -> Self {
        FlowLogOptions {
            traffic_type: flow_log::TrafficType::All,
            retention_days: 731,
            kms_key: None,
            removal_policy: RemovalPolicy::Retain,
        }
    }
}

/// How many zones an environment-agnostic stack has: the CDK's `Stack.availabilityZones`
/// gives two `Fn::Select`s of `Fn::GetAZs` when the region is unknown at synthesis.
const AGNOSTIC_AZS: usize = 2;

/// Settings of a [`Vpc`]. `VpcProps::default()` is the CDK's default VPC: `10.0.0.0/16`,
/// up to three AZs (two in an environment-agnostic stack, whose zones are unknown until
/// deploy), a public and a private-with-egress group, one NAT gateway per AZ, no flow logs.
#[derive(Debug, Clone, PartialEq)]
pub struct VpcProps {
    /// The VPC's IPv4 CIDR block (`/16` to `/28`).
    pub cidr: String,
    /// At most this many AZs (default 3, as the CDK's `maxAzs`): the first of the stack's
    /// zones, looked up for a concrete environment ([`App::availability_zones`](cairn_core::App::availability_zones)); an
    /// environment-agnostic stack has two, picked with `Fn::Select` from `Fn::GetAZs`, as
    /// in the CDK, whatever this says.
    pub max_azs: usize,
    /// Explicit AZ names, instead of `Fn::GetAZs` (the first `max_azs` are used).
    pub availability_zones: Option<Vec<String>>,
    /// The subnet groups, in allocation order.
    pub subnet_configuration: Vec<SubnetConfiguration>,
    /// How many NAT gateways; `None` is one per AZ (when there are private-with-egress
    /// subnets). Each lives in a public subnet with an Elastic IP.
    pub nat_gateways: Option<usize>,
    /// `EnableDnsHostnames`
    pub enable_dns_hostnames: bool,
    /// `EnableDnsSupport`
    pub enable_dns_support: bool,
    /// Flow logs to CloudWatch Logs; off by default, as in the CDK (CloudWatch ingestion
    /// is billed per GB). See [`Vpc::add_flow_log`].
    pub flow_logs: Option<FlowLogOptions>,
}

impl Default for VpcProps {
    fn default() -> Self {
        VpcProps {
            cidr: "10.0.0.0/16".into(),
            max_azs: 3,
            availability_zones: None,
            subnet_configuration: vec![
                SubnetConfiguration::public("Public"),
                SubnetConfiguration::private_with_egress("Private"),
            ],
            nat_gateways: None,
            enable_dns_hostnames: true,
            enable_dns_support: true,
            flow_logs: None,
        }
    }
}

/// One subnet of a [`Vpc`].
#[derive(Debug, Clone)]
pub struct Subnet {
    /// The subnet's construct node (`<Vpc>/<Group>Subnet<n>`).
    pub node: NodeId,
    /// The subnet id (`Ref` of the `AWS::EC2::Subnet`, or the id of an existing subnet).
    pub subnet_id: Value,
    /// Its route table's id (`Ref` of its `AWS::EC2::RouteTable`); `None` for an existing
    /// subnet whose route table was not given.
    pub route_table_id: Option<Value>,
    /// The group name.
    pub group: String,
    /// The group type.
    pub subnet_type: SubnetType,
    /// The index of its AZ in [`Vpc::availability_zones`].
    pub az_index: usize,
    /// The AZ (a literal or `Fn::Select` of `Fn::GetAZs`).
    pub availability_zone: Value,
    /// The CIDR computed at synthesis.
    pub cidr: String,
}

impl Subnet {
    /// The subnet id.
    pub fn subnet_id(&self) -> Value {
        self.subnet_id.clone()
    }
}

/// A VPC (`AWS::EC2::VPC`) with its subnets, route tables, internet and NAT gateways.
///
/// Subnet CIDRs are computed at synthesis exactly as aws-cdk-lib computes them (groups with
/// a `cidr_mask` first, in order; the rest share what remains equally, each block aligned
/// to its size), so a VPC ported from the CDK keeps its addresses. The handle carries the
/// subnet layout, so it is `Clone` rather than `Copy`.
#[derive(Debug, Clone)]
pub struct Vpc {
    node: NodeId,
    resource: Option<Res<CfnVPC>>,
    vpc_id: Value,
    cidr: String,
    subnets: Vec<Subnet>,
    azs: Vec<Value>,
    internet_gateway: Option<Res<CfnInternetGateway>>,
    nat_gateways: Vec<Res<CfnNatGateway>>,
}

/// A `Val<String>` of a value: a literal when it is a string, else the expression.
fn sval(v: &Value) -> Val<String> {
    match v {
        Value::String(s) => Val::Lit(s.clone()),
        other => Val::Expr(other.clone()),
    }
}

/// A tag list of an L1 type from `(key, value)` pairs.
fn tag_list<T>(
    pairs: &[(&str, Value)],
    make: impl Fn(Val<String>, Val<String>) -> T,
) -> Option<Val<Vec<Val<T>>>> {
    Some(Val::Lit(
        pairs
            .iter()
            .map(|(k, v)| Val::Lit(make(Val::Lit((*k).to_string()), sval(v))))
            .collect(),
    ))
}

/// NAT gateways with the index of their AZ.
type NatGateways = Vec<(usize, Res<CfnNatGateway>)>;

/// A checked VPC layout: the block, the AZs, the NAT gateway count and every subnet's
/// CIDR (allocated as aws-cdk-lib's `IpAddresses.cidr(..).allocateSubnetsCidr` does).
struct VpcLayout {
    cidr: Cidr,
    azs: Vec<Value>,
    nat_count: usize,
    /// (group index, AZ index, block) in the CDK's order: group by group, AZ by AZ.
    blocks: Vec<(usize, usize, Cidr)>,
}

impl VpcLayout {
    /// Checks the props and allocates the subnet blocks.
    fn plan(app: &App, node: NodeId, props: &VpcProps, stack_zones: Option<Vec<Value>>) -> Result<VpcLayout> {
        let invalid = |problem: String| app.invalid_props(node, problem);
        let cidr = Cidr::parse(&props.cidr)
            .map_err(|reason| invalid(format!("invalid CIDR {:?}: {reason}", props.cidr)))?;
        if !(16..=28).contains(&cidr.mask) {
            return Err(invalid(format!(
                "invalid CIDR {:?}: a VPC block must be between /16 and /28",
                props.cidr
            )));
        }
        if props.subnet_configuration.is_empty() {
            return Err(invalid(
                "no subnet groups configured; add at least one SubnetConfiguration".into(),
            ));
        }
        for (i, c) in props.subnet_configuration.iter().enumerate() {
            if c.name.is_empty() || c.name.contains('/') {
                return Err(invalid(format!(
                    "subnet group name {:?} is empty or contains '/'",
                    c.name
                )));
            }
            if props.subnet_configuration[..i].iter().any(|o| o.name == c.name) {
                return Err(invalid(format!(
                    "two subnet groups are named {:?}; give each group its own name",
                    c.name
                )));
            }
        }
        let has = |t: SubnetType| props.subnet_configuration.iter().any(|c| c.subnet_type == t);
        let azs: Vec<Value> = match &props.availability_zones {
            Some(names) => names
                .iter()
                .take(props.max_azs.max(1))
                .map(|n| Value::from(n.as_str()))
                .collect(),
            // A concrete environment's zones, as the CDK's `Stack.availabilityZones`
            // (looked up); an agnostic stack keeps `Fn::Select` of `Fn::GetAZs`.
            None => match stack_zones {
                Some(mut zones) => {
                    zones.truncate(props.max_azs.max(1));
                    zones
                }
                None => (0..props.max_azs.clamp(1, AGNOSTIC_AZS))
                    .map(|i| Value::select(i as i64, Value::get_azs()))
                    .collect(),
            },
        };
        if azs.is_empty() {
            return Err(invalid("availability_zones is empty".into()));
        }
        let nat_count = if has(SubnetType::PrivateWithEgress) {
            props.nat_gateways.unwrap_or(azs.len())
        } else {
            props.nat_gateways.unwrap_or(0)
        };
        if has(SubnetType::PrivateWithEgress) && nat_count == 0 {
            return Err(invalid(
                "private-with-egress subnets need at least one NAT gateway; set nat_gateways to 1 or more, or use PrivateIsolated subnets".into(),
            ));
        }
        if nat_count > 0 && !has(SubnetType::Public) {
            return Err(invalid(
                "NAT gateways live in public subnets, and none are configured; add a public subnet group or set nat_gateways to 0 with isolated subnets".into(),
            ));
        }
        // The first public group has one subnet per AZ, each holding at most one.
        if nat_count > azs.len() {
            return Err(invalid(format!(
                "{nat_count} NAT gateways requested but there are only {} public subnets to hold them; lower nat_gateways or use more AZs",
                azs.len()
            )));
        }
        let requested: Vec<(usize, usize)> = (0..props.subnet_configuration.len())
            .flat_map(|g| (0..azs.len()).map(move |a| (g, a)))
            .collect();
        let mut builder = NetworkBuilder::new(cidr);
        let mut cidrs: Vec<Option<Cidr>> = vec![None; requested.len()];
        for (i, (g, _)) in requested.iter().enumerate() {
            if let Some(mask) = props.subnet_configuration[*g].cidr_mask {
                cidrs[i] = Some(builder.add_subnet(mask).map_err(invalid)?);
            }
        }
        let unmasked = cidrs.iter().filter(|c| c.is_none()).count();
        if unmasked > 0 {
            let mask = builder.mask_for_remaining(unmasked).map_err(invalid)?;
            for c in cidrs.iter_mut().filter(|c| c.is_none()) {
                *c = Some(builder.add_subnet(mask).map_err(invalid)?);
            }
        }
        let blocks = requested
            .into_iter()
            .zip(cidrs)
            .filter_map(|((g, a), c)| c.map(|c| (g, a, c)))
            .collect();
        Ok(VpcLayout {
            cidr,
            azs,
            nat_count,
            blocks,
        })
    }

    /// Whether a subnet group of the type is configured.
    fn has(&self, props: &VpcProps, subnet_type: SubnetType) -> bool {
        props
            .subnet_configuration
            .iter()
            .any(|c| c.subnet_type == subnet_type)
    }

    /// The subnets (`<Group>Subnet<n>`), each with its route table and association.
    fn subnets(
        &self,
        app: &mut App,
        node: NodeId,
        vpc: Res<CfnVPC>,
        props: &VpcProps,
    ) -> Result<Vec<Subnet>> {
        let mut subnets = Vec::new();
        for &(g, a, block) in &self.blocks {
            let conf = &props.subnet_configuration[g];
            let sid = format!("{}Subnet{}", conf.name, a + 1);
            let snode = app.construct(node, &sid)?;
            let spath = app.path(snode);
            let mut s = CfnSubnet::new(vpc.ref_());
            s.availability_zone = Some(self.azs[a].clone().into());
            s.cidr_block = Some(block.to_string().into());
            s.map_public_ip_on_launch = Some((conf.subnet_type == SubnetType::Public).into());
            s.tags = tag_list(
                &[
                    ("aws-cdk:subnet-name", Value::from(conf.name.as_str())),
                    ("aws-cdk:subnet-type", Value::from(conf.subnet_type.tag_value())),
                    ("Name", Value::from(spath.as_str())),
                ],
                subnet::Tag::new,
            );
            let s = app.add(snode, "Subnet", s)?;
            let mut rt = CfnRouteTable::new(vpc.ref_());
            rt.tags = tag_list(&[("Name", Value::from(spath.as_str()))], route_table::Tag::new);
            let rt = app.add(snode, "RouteTable", rt)?;
            app.add(
                snode,
                "RouteTableAssociation",
                CfnSubnetRouteTableAssociation::new(rt.ref_(), s.ref_()),
            )?;
            subnets.push(Subnet {
                node: snode,
                subnet_id: s.ref_(),
                route_table_id: Some(rt.ref_()),
                group: conf.name.clone(),
                subnet_type: conf.subnet_type,
                az_index: a,
                availability_zone: self.azs[a].clone(),
                cidr: block.to_string(),
            });
        }
        Ok(subnets)
    }
}

impl Vpc {
    /// Creates the VPC as construct `id` under `scope`.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: VpcProps) -> Result<Vpc> {
        let node = app.construct(scope, id)?;
        // The zones of a concrete environment are looked up (only when none are given).
        let stack_zones = match app.stack_of(node) {
            Some(stack) if props.availability_zones.is_none() => {
                let env = app.environment_of(stack);
                match (env.account, env.region) {
                    (Some(_), Some(_)) => Some(app.availability_zones(stack)?),
                    _ => None,
                }
            }
            _ => None,
        };
        let layout = VpcLayout::plan(app, node, &props, stack_zones)?;
        let path = app.path(node);
        let mut vpc_l1 = CfnVPC {
            cidr_block: Some(layout.cidr.to_string().into()),
            enable_dns_hostnames: Some(props.enable_dns_hostnames.into()),
            enable_dns_support: Some(props.enable_dns_support.into()),
            instance_tenancy: Some(vpc::InstanceTenancy::Default.into()),
            ..Default::default()
        };
        vpc_l1.tags = tag_list(&[("Name", Value::from(path.as_str()))], vpc::Tag::new);
        let resource = app.add(node, "Resource", vpc_l1)?;
        let subnets = layout.subnets(app, node, resource, &props)?;
        let (internet_gateway, nat_gateways) = if layout.has(&props, SubnetType::Public) {
            let (igw, nats) = Self::internet_access(app, node, resource, &subnets, layout.nat_count)?;
            (Some(igw), nats)
        } else {
            (None, Vec::new())
        };
        Self::private_routes(app, &subnets, &nat_gateways)?;
        let vpc = Vpc {
            node,
            resource: Some(resource),
            vpc_id: resource.ref_(),
            cidr: layout.cidr.to_string(),
            subnets,
            azs: layout.azs,
            internet_gateway,
            nat_gateways: nat_gateways.into_iter().map(|(_, n)| n).collect(),
        };
        if let Some(options) = props.flow_logs {
            vpc.add_flow_log(app, "FlowLogs", options)?;
        }
        Ok(vpc)
    }

    /// The internet gateway (`IGW`, attached as `VPCGW`), the public subnets' default
    /// routes to it, and `nat_count` NAT gateways in the first public group, one per AZ;
    /// returns the gateway and the NAT gateways with their AZ index.
    fn internet_access(
        app: &mut App,
        node: NodeId,
        vpc: Res<CfnVPC>,
        subnets: &[Subnet],
        nat_count: usize,
    ) -> Result<(Res<CfnInternetGateway>, NatGateways)> {
        let path = app.path(node);
        let igw = CfnInternetGateway {
            tags: tag_list(
                &[("Name", Value::from(path.as_str()))],
                internet_gateway::Tag::new,
            ),
        };
        let igw = app.add(node, "IGW", igw)?;
        let mut att = CfnVPCGatewayAttachment::new(vpc.ref_());
        att.internet_gateway_id = Some(igw.ref_().into());
        let att = app.add(node, "VPCGW", att)?;
        let mut nat_gateways = Vec::new();
        let publics: Vec<&Subnet> = subnets
            .iter()
            .filter(|s| s.subnet_type == SubnetType::Public)
            .collect();
        let first_group = publics.first().map(|s| s.group.clone());
        for s in publics {
            let Some(route_table) = s.route_table_id.clone() else {
                continue;
            };
            let mut route = CfnRoute::new(route_table);
            route.destination_cidr_block = Some("0.0.0.0/0".into());
            route.gateway_id = Some(igw.ref_().into());
            let route = app.add(s.node, "DefaultRoute", route)?;
            app.resource_options_mut(route)?.depends_on.push(att.node());
            if Some(&s.group) == first_group.as_ref() && nat_gateways.len() < nat_count {
                let mut eip = CfnEIP {
                    domain: Some("vpc".into()),
                    ..Default::default()
                };
                let spath = app.path(s.node);
                eip.tags = tag_list(&[("Name", Value::from(spath.as_str()))], eip::Tag::new);
                let eip = app.add(s.node, "EIP", eip)?;
                let mut nat = CfnNatGateway {
                    allocation_id: Some(eip.attr_allocation_id().into()),
                    subnet_id: Some(s.subnet_id().into()),
                    ..Default::default()
                };
                nat.tags = tag_list(&[("Name", Value::from(spath.as_str()))], nat_gateway::Tag::new);
                let nat = app.add(s.node, "NATGateway", nat)?;
                app.resource_options_mut(nat)?.depends_on.push(route.node());
                nat_gateways.push((s.az_index, nat));
            }
        }
        Ok((igw, nat_gateways))
    }

    /// The private-with-egress subnets' default routes, to the NAT gateway of their AZ
    /// (or the first one).
    fn private_routes(
        app: &mut App,
        subnets: &[Subnet],
        nat_gateways: &[(usize, Res<CfnNatGateway>)],
    ) -> Result<()> {
        for s in subnets
            .iter()
            .filter(|s| s.subnet_type == SubnetType::PrivateWithEgress)
        {
            let nat = nat_gateways
                .iter()
                .find(|(az, _)| *az == s.az_index)
                .or_else(|| nat_gateways.first())
                .map(|(_, n)| *n);
            if let (Some(nat), Some(route_table)) = (nat, s.route_table_id.clone()) {
                let mut route = CfnRoute::new(route_table);
                route.destination_cidr_block = Some("0.0.0.0/0".into());
                route.nat_gateway_id = Some(nat.ref_().into());
                app.add(s.node, "DefaultRoute", route)?;
            }
        }
        Ok(())
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The `AWS::EC2::VPC`; `None` for an existing VPC ([`Vpc::from_attributes`]).
    pub fn resource(&self) -> Option<Res<CfnVPC>> {
        self.resource
    }

    /// The VPC id (`Ref`, or the id of an existing VPC).
    pub fn vpc_id(&self) -> Value {
        self.vpc_id.clone()
    }

    /// The VPC's CIDR block (known at synthesis; empty for an existing VPC whose block
    /// was not given).
    pub fn vpc_cidr_block(&self) -> &str {
        &self.cidr
    }

    /// The AZs, in subnet order: literals, or `Fn::Select` of `Fn::GetAZs`.
    pub fn availability_zones(&self) -> Vec<Value> {
        self.azs.clone()
    }

    /// Every subnet, group by group, AZ by AZ.
    pub fn subnets(&self) -> &[Subnet] {
        &self.subnets
    }

    /// The ids of the subnets of a type, in group then AZ order.
    pub fn select_subnets(&self, subnet_type: SubnetType) -> Vec<Value> {
        self.subnets
            .iter()
            .filter(|s| s.subnet_type == subnet_type)
            .map(Subnet::subnet_id)
            .collect()
    }

    /// The ids of the subnets of one group, by name.
    pub fn select_subnets_by_group(&self, group: &str) -> Vec<Value> {
        self.subnets
            .iter()
            .filter(|s| s.group == group)
            .map(Subnet::subnet_id)
            .collect()
    }

    /// The subnets of a type, or an [`Error::InvalidProps`](cairn_core::Error::InvalidProps)
    /// naming `user` when there are none.
    pub fn require_subnets(&self, app: &App, user: NodeId, subnet_type: SubnetType) -> Result<Vec<&Subnet>> {
        let found: Vec<&Subnet> = self
            .subnets
            .iter()
            .filter(|s| s.subnet_type == subnet_type)
            .collect();
        if found.is_empty() {
            return Err(app.invalid_props(
                user,
                format!(
                    "the VPC has no {subnet_type} subnets; add a subnet group of that type or select another type"
                ),
            ));
        }
        Ok(found)
    }

    /// The internet gateway, when the VPC has public subnets.
    pub fn internet_gateway(&self) -> Option<Res<CfnInternetGateway>> {
        self.internet_gateway
    }

    /// The NAT gateways.
    pub fn nat_gateways(&self) -> &[Res<CfnNatGateway>] {
        &self.nat_gateways
    }

    /// Adds flow logs of the whole VPC to a new CloudWatch log group (encrypted with the
    /// given key or a created one, with retention), written through a new IAM role that
    /// only `vpc-flow-logs.amazonaws.com` of this account may assume.
    pub fn add_flow_log(&self, app: &mut App, id: &str, options: FlowLogOptions) -> Result<FlowLog> {
        let node = app.construct(self.node, id)?;
        let key = match options.kms_key {
            Some(k) => k,
            None => {
                let key = Key::new(
                    app,
                    node,
                    "Key",
                    KeyProps {
                        description: Some("Encrypts the VPC flow log group".into()),
                        removal_policy: options.removal_policy,
                        ..KeyProps::default()
                    },
                )?;
                // CloudWatch Logs uses the key through its regional principal, only for log
                // groups of this account and region.
                let mut logs_use = PolicyStatement::allow()
                    .sid("CloudWatchLogsUse")
                    .actions([
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ])
                    .resource("*")
                    .condition(
                        "ArnLike",
                        "kms:EncryptionContext:aws:logs:arn",
                        format_arn("logs", "*"),
                    )
                    .to_value();
                if let Some(m) = logs_use.as_map_mut() {
                    m.insert(
                        "Principal".into(),
                        Value::map([("Service", Value::sub("logs.${AWS::Region}.amazonaws.com"))]),
                    );
                }
                if let Some(k) = app
                    .node_mut(key.resource().node())
                    .resource_mut::<cairn_cfn::kms::CfnKey>()
                {
                    if let Some(doc) = k.key_policy.as_mut() {
                        push_statement(doc, logs_use);
                    }
                }
                key.key_arn()
            }
        };
        let group_node = app.construct(node, "LogGroup")?;
        let group = CfnLogGroup {
            kms_key_id: Some(key.into()),
            retention_in_days: Some(options.retention_days.into()),
            ..Default::default()
        };
        let group = app.add(group_node, "Resource", group)?;
        app.apply_removal_policy(group, options.removal_policy)?;

        let role = Role::new(
            app,
            node,
            "IAMRole",
            RoleProps {
                assume_conditions: crate::iam::source_conditions(format_arn("ec2", "vpc-flow-log/*")),
                ..RoleProps::new(Principal::service("vpc-flow-logs.amazonaws.com"))
            },
        )?;
        role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions([
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ])
                .resource(group.attr_arn()),
        )?;
        role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(["iam:PassRole"])
                .resource(role.arn()),
        )?;

        let mut fl = CfnFlowLog::new(self.vpc_id(), flow_log::ResourceType::Vpc);
        fl.traffic_type = Some(options.traffic_type.into());
        fl.log_destination_type = Some(flow_log::LogDestinationType::CloudWatchLogs.into());
        fl.log_group_name = Some(group.ref_().into());
        fl.deliver_logs_permission_arn = Some(role.arn().into());
        fl.tags = tag_list(&[("Name", Value::from(app.path(node)))], flow_log::Tag::new);
        let resource = app.add(node, "FlowLog", fl)?;
        Ok(FlowLog {
            node,
            resource,
            log_group: group,
            role,
        })
    }
}

/// A flow log created by [`Vpc::add_flow_log`].
#[derive(Debug, Clone, Copy)]
pub struct FlowLog {
    node: NodeId,
    resource: Res<CfnFlowLog>,
    log_group: Res<CfnLogGroup>,
    role: Role,
}

impl FlowLog {
    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The `AWS::EC2::FlowLog`.
    pub fn resource(&self) -> Res<CfnFlowLog> {
        self.resource
    }

    /// The log group.
    pub fn log_group(&self) -> Res<CfnLogGroup> {
        self.log_group
    }

    /// The role the flow log service writes with.
    pub fn role(&self) -> Role {
        self.role
    }
}

construct!(
    Subnet,
    Vpc,
    FlowLog,
    Instance,
    GatewayVpcEndpoint,
    InterfaceVpcEndpoint
);
node_from!(Subnet, FlowLog);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parsing_and_alignment() {
        assert_eq!(
            Cidr::parse("10.0.0.0/16").map(|c| c.to_string()),
            Ok("10.0.0.0/16".into())
        );
        assert_eq!(
            Cidr::parse("10.0.3.7/16").map(|c| c.to_string()),
            Ok("10.0.0.0/16".into())
        );
        assert!(Cidr::parse("10.0.0/16").is_err());
        assert!(Cidr::parse("10.0.0.256/16").is_err());
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        let mut b = NetworkBuilder::new(Cidr::parse("10.0.0.0/16").unwrap_or(Cidr { address: 0, mask: 16 }));
        assert_eq!(b.add_subnet(26).map(|c| c.to_string()), Ok("10.0.0.0/26".into()));
        // The next /24 is aligned up to 10.0.1.0, as aws-cdk-lib's CidrBlock does.
        assert_eq!(b.add_subnet(24).map(|c| c.to_string()), Ok("10.0.1.0/24".into()));
        assert_eq!(b.mask_for_remaining(4), Ok(19));
    }
}
