//! Security groups with typed rules (deduplicated by peer, protocol and ports, as
//! aws-cdk-lib does), and security groups that exist already.

use std::fmt;

use cairn_core::{make_unique_id, App, Construct, NodeId, Res, Result, Val, Value};

use super::{CfnSecurityGroup, CfnSecurityGroupEgress, CfnSecurityGroupIngress, Vpc};
use cairn_cfn::ec2::security_group;

/// The other side of a security group rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    /// An IPv4 CIDR block.
    Ipv4(String),
    /// An IPv6 CIDR block.
    Ipv6(String),
    /// Another security group, by id; `node` is its construct when it is in this app.
    SecurityGroup {
        /// The group id.
        id: Value,
        /// The group's construct node, when known.
        node: Option<NodeId>,
    },
    /// A managed prefix list id.
    PrefixList(String),
}

impl Peer {
    /// An IPv4 CIDR block, e.g. `10.0.0.0/16`.
    pub fn ipv4(cidr: &str) -> Self {
        Peer::Ipv4(cidr.to_string())
    }

    /// Any IPv4 address (`0.0.0.0/0`): flagged by the no-public-ingress rule unless
    /// allow-listed.
    pub fn any_ipv4() -> Self {
        Peer::Ipv4("0.0.0.0/0".into())
    }

    /// An IPv6 CIDR block.
    pub fn ipv6(cidr: &str) -> Self {
        Peer::Ipv6(cidr.to_string())
    }

    /// Any IPv6 address (`::/0`).
    pub fn any_ipv6() -> Self {
        Peer::Ipv6("::/0".into())
    }

    /// A security group of this app. Rules naming it are separate
    /// `AWS::EC2::SecurityGroupIngress`/`Egress` resources, as in the CDK, so two groups
    /// can reference each other without a dependency cycle.
    pub fn security_group(group: &impl SecurityGroupRef) -> Self {
        Peer::SecurityGroup {
            id: group.security_group_id(),
            node: Some(group.node()),
        }
    }

    /// A security group by id (e.g. imported).
    pub fn security_group_id(id: impl Into<Value>) -> Self {
        Peer::SecurityGroup {
            id: id.into(),
            node: None,
        }
    }

    /// A managed prefix list.
    pub fn prefix_list(id: &str) -> Self {
        Peer::PrefixList(id.to_string())
    }

    fn unique_id(&self, app: &App) -> String {
        match self {
            Peer::Ipv4(c) | Peer::Ipv6(c) | Peer::PrefixList(c) => c.clone(),
            Peer::SecurityGroup { node: Some(n), .. } => make_unique_id(&app.path_from(app.root(), *n)),
            Peer::SecurityGroup { id, .. } => match id.as_str() {
                Some(s) => s.to_string(),
                None => format!("{:x}", stable_hash(&format!("{id:?}"))),
            },
        }
    }
}

/// A small stable hash for ids of imported peers given as intrinsics.
fn stable_hash(s: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A protocol and port range of a security group rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// TCP ports `from..=to`.
    Tcp(u16, u16),
    /// UDP ports `from..=to`.
    Udp(u16, u16),
    /// Every protocol and port (`IpProtocol -1`).
    AllTraffic,
}

impl Port {
    /// One TCP port.
    pub fn tcp(port: u16) -> Self {
        Port::Tcp(port, port)
    }

    /// A TCP port range, `from` to `to` inclusive. A reversed range (`from > to`) is
    /// refused when a rule uses it, never swapped.
    pub fn tcp_range(from: u16, to: u16) -> Self {
        Port::Tcp(from, to)
    }

    /// Every TCP port.
    pub fn all_tcp() -> Self {
        Port::Tcp(0, 65535)
    }

    /// One UDP port.
    pub fn udp(port: u16) -> Self {
        Port::Udp(port, port)
    }

    /// Every protocol and port.
    pub fn all_traffic() -> Self {
        Port::AllTraffic
    }

    /// Refuses a reversed range for a rule of the construct `node`.
    fn check(self, app: &App, node: NodeId) -> Result<()> {
        match self {
            Port::Tcp(f, t) | Port::Udp(f, t) if f > t => Err(app.invalid_props(
                node,
                format!("port range {f}-{t} is reversed (from > to); write the lower port first: {t}-{f}"),
            )),
            _ => Ok(()),
        }
    }

    /// `(IpProtocol, FromPort, ToPort)`.
    fn parts(self) -> (&'static str, Option<i64>, Option<i64>) {
        match self {
            Port::Tcp(f, t) => ("tcp", Some(i64::from(f)), Some(i64::from(t))),
            Port::Udp(f, t) => ("udp", Some(i64::from(f)), Some(i64::from(t))),
            Port::AllTraffic => ("-1", None, None),
        }
    }
}

impl fmt::Display for Port {
    /// As aws-cdk-lib's `Port.toString()`: `443`, `80-90`, `ALL PORTS`, `UDP 53`, `ALL TRAFFIC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Port::Tcp(0, 65535) => f.write_str("ALL PORTS"),
            Port::Tcp(a, b) if a == b => write!(f, "{a}"),
            Port::Tcp(a, b) => write!(f, "{a}-{b}"),
            Port::Udp(0, 65535) => f.write_str("UDP ALL PORTS"),
            Port::Udp(a, b) if a == b => write!(f, "UDP {a}"),
            Port::Udp(a, b) => write!(f, "UDP {a}-{b}"),
            Port::AllTraffic => f.write_str("ALL TRAFFIC"),
        }
    }
}

/// Settings of a [`SecurityGroup`].
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityGroupProps {
    /// The VPC id.
    pub vpc_id: Value,
    /// `GroupDescription` (create-only: changing it replaces the group). Empty means the
    /// group's construct path, aws-cdk-lib's default ([`SecurityGroupProps::for_vpc`]).
    pub description: String,
    /// Allow every outbound connection (the default); when false, only the egress rules
    /// added with [`SecurityGroup::add_egress_rule`] are allowed.
    pub allow_all_outbound: bool,
    /// A physical name; generated when `None` (recommended).
    pub group_name: Option<String>,
}

impl SecurityGroupProps {
    /// A group in a VPC, allowing all outbound traffic, described by its construct path
    /// (aws-cdk-lib's default description: a port keeps its groups).
    pub fn for_vpc(vpc: &Vpc) -> Self {
        Self::new(vpc, "")
    }

    /// A group in a VPC, allowing all outbound traffic.
    pub fn new(vpc: &Vpc, description: &str) -> Self {
        SecurityGroupProps {
            vpc_id: vpc.vpc_id(),
            description: description.to_string(),
            allow_all_outbound: true,
            group_name: None,
        }
    }
}

/// The egress rule written when a group allows no outbound traffic (as aws-cdk-lib does:
/// a group without egress rules would otherwise allow everything).
fn disallow_all_egress() -> security_group::Egress {
    security_group::Egress {
        cidr_ip: Some("255.255.255.255/32".into()),
        description: Some("Disallow all traffic".into()),
        from_port: Some(252.into()),
        to_port: Some(86.into()),
        ..security_group::Egress::new("icmp")
    }
}

/// A security group (`AWS::EC2::SecurityGroup`) with typed rules.
#[derive(Debug, Clone, Copy)]
pub struct SecurityGroup {
    node: NodeId,
    resource: Res<CfnSecurityGroup>,
    allow_all_outbound: bool,
}

impl SecurityGroup {
    /// Creates the group as construct `id` under `scope`.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: SecurityGroupProps,
    ) -> Result<SecurityGroup> {
        let node = app.construct(scope, id)?;
        let description = if props.description.is_empty() {
            app.path(node)
        } else {
            props.description.clone()
        };
        let mut sg = CfnSecurityGroup::new(description.as_str());
        sg.vpc_id = Some(props.vpc_id.into());
        sg.group_name = props.group_name.map(Into::into);
        sg.security_group_egress = Some(Val::Lit(vec![if props.allow_all_outbound {
            security_group::Egress {
                cidr_ip: Some("0.0.0.0/0".into()),
                description: Some("Allow all outbound traffic by default".into()),
                ..security_group::Egress::new("-1")
            }
            .into()
        } else {
            disallow_all_egress().into()
        }]));
        let resource = app.add(node, "Resource", sg)?;
        Ok(SecurityGroup {
            node,
            resource,
            allow_all_outbound: props.allow_all_outbound,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The `AWS::EC2::SecurityGroup`.
    pub fn resource(&self) -> Res<CfnSecurityGroup> {
        self.resource
    }

    /// The group id (`Fn::GetAtt GroupId`).
    pub fn security_group_id(&self) -> Value {
        self.resource.attr_group_id()
    }

    /// Whether all outbound traffic is allowed.
    pub fn allows_all_outbound(&self) -> bool {
        self.allow_all_outbound
    }

    /// Allows inbound traffic from `peer` on `port`. CIDR and prefix-list peers are inline
    /// rules of the group; a security group peer becomes an `AWS::EC2::SecurityGroupIngress`
    /// resource under this group (`from <peer>:<port>`), as in the CDK. A rule for the same
    /// peer, protocol and ports as one already added is not added again (its description
    /// stays the first one's, as aws-cdk-lib keeps it).
    pub fn add_ingress_rule(&self, app: &mut App, peer: Peer, port: Port, description: &str) -> Result<()> {
        port.check(app, self.node)?;
        let description = rule_description(app, Direction::Ingress, &peer, port, description);
        if matches!(peer, Peer::SecurityGroup { .. }) {
            let group_id = self.security_group_id();
            return separate_rule(
                app,
                self.node,
                group_id,
                Direction::Ingress,
                &peer,
                port,
                description,
            );
        }
        let (proto, from, to) = port.parts();
        let mut rule = security_group::Ingress::new(proto);
        match &peer {
            Peer::Ipv4(c) => rule.cidr_ip = Some(c.as_str().into()),
            Peer::Ipv6(c) => rule.cidr_ipv6 = Some(c.as_str().into()),
            Peer::PrefixList(p) => rule.source_prefix_list_id = Some(p.as_str().into()),
            Peer::SecurityGroup { .. } => {}
        }
        rule.from_port = from.map(Into::into);
        rule.to_port = to.map(Into::into);
        if let Some(sg) = app
            .node_mut(self.resource.node())
            .resource_mut::<CfnSecurityGroup>()
        {
            let mut list = match sg.security_group_ingress.take() {
                Some(Val::Lit(l)) => l,
                Some(Val::Expr(e)) => vec![Val::Expr(e)],
                None => Vec::new(),
            };
            let same = |r: &Val<security_group::Ingress>| match r {
                Val::Lit(r) => {
                    security_group::Ingress {
                        description: None,
                        ..r.clone()
                    } == rule
                }
                Val::Expr(_) => false,
            };
            if !list.iter().any(same) {
                rule.description = Some(description.into());
                list.push(Val::Lit(rule));
            }
            sg.security_group_ingress = Some(Val::Lit(list));
        }
        Ok(())
    }

    /// Allows outbound traffic to `peer` on `port`. Has no effect when the group allows all
    /// outbound traffic. A security group peer becomes an `AWS::EC2::SecurityGroupEgress`
    /// resource (`to <peer>:<port>`). Deduplicated like ingress rules.
    pub fn add_egress_rule(&self, app: &mut App, peer: Peer, port: Port, description: &str) -> Result<()> {
        port.check(app, self.node)?;
        if self.allow_all_outbound {
            return Ok(());
        }
        let description = rule_description(app, Direction::Egress, &peer, port, description);
        if matches!(peer, Peer::SecurityGroup { .. }) {
            let group_id = self.security_group_id();
            return separate_rule(
                app,
                self.node,
                group_id,
                Direction::Egress,
                &peer,
                port,
                description,
            );
        }
        let (proto, from, to) = port.parts();
        let mut rule = security_group::Egress::new(proto);
        match &peer {
            Peer::Ipv4(c) => rule.cidr_ip = Some(c.as_str().into()),
            Peer::Ipv6(c) => rule.cidr_ipv6 = Some(c.as_str().into()),
            Peer::PrefixList(p) => rule.destination_prefix_list_id = Some(p.as_str().into()),
            Peer::SecurityGroup { .. } => {}
        }
        rule.from_port = from.map(Into::into);
        rule.to_port = to.map(Into::into);
        if let Some(sg) = app
            .node_mut(self.resource.node())
            .resource_mut::<CfnSecurityGroup>()
        {
            let placeholder: Val<security_group::Egress> = disallow_all_egress().into();
            let mut list = match sg.security_group_egress.take() {
                Some(Val::Lit(l)) => l,
                Some(Val::Expr(e)) => vec![Val::Expr(e)],
                None => Vec::new(),
            };
            list.retain(|r| *r != placeholder);
            let same = |r: &Val<security_group::Egress>| match r {
                Val::Lit(r) => {
                    security_group::Egress {
                        description: None,
                        ..r.clone()
                    } == rule
                }
                Val::Expr(_) => false,
            };
            if !list.iter().any(same) {
                rule.description = Some(description.into());
                list.push(Val::Lit(rule));
            }
            sg.security_group_egress = Some(Val::Lit(list));
        }
        Ok(())
    }

    /// Allows `other` (of this app or imported) to connect to this group on `port`: an
    /// ingress rule here, and an egress rule on `other` when it restricts outbound traffic
    /// (the CDK's `connections.allowFrom`).
    pub fn allow_from(
        &self,
        app: &mut App,
        other: &impl SecurityGroupRef,
        port: Port,
        description: &str,
    ) -> Result<()> {
        SecurityGroupRef::allow_from(self, app, other, port, description)
    }

    /// Allows this group to connect to `other` on `port` (see [`SecurityGroup::allow_from`]).
    pub fn allow_to(
        &self,
        app: &mut App,
        other: &impl SecurityGroupRef,
        port: Port,
        description: &str,
    ) -> Result<()> {
        SecurityGroupRef::allow_to(self, app, other, port, description)
    }
}

/// The direction of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        }
    }
}

/// The description given, or aws-cdk-lib's default: `from <peer>:<port>` / `to <peer>:<port>`.
fn rule_description(app: &App, direction: Direction, peer: &Peer, port: Port, given: &str) -> String {
    if given.is_empty() {
        format!("{} {}:{port}", direction.word(), peer.unique_id(app))
    } else {
        given.to_string()
    }
}

/// A rule as its own resource (`AWS::EC2::SecurityGroupIngress`/`Egress`) under `scope`,
/// with aws-cdk-lib's id `from <peer>:<port>` (its first `/` written `_`), once per id.
fn separate_rule(
    app: &mut App,
    scope: NodeId,
    group_id: Value,
    direction: Direction,
    peer: &Peer,
    port: Port,
    description: String,
) -> Result<()> {
    let rule_id = format!("{} {}:{port}", direction.word(), peer.unique_id(app)).replacen('/', "_", 1);
    if app.node(scope).child(&rule_id).is_some() {
        return Ok(());
    }
    let (proto, from, to) = port.parts();
    match direction {
        Direction::Ingress => {
            let mut r = CfnSecurityGroupIngress::new(proto);
            r.group_id = Some(group_id.into());
            match peer {
                Peer::Ipv4(c) => r.cidr_ip = Some(c.as_str().into()),
                Peer::Ipv6(c) => r.cidr_ipv6 = Some(c.as_str().into()),
                Peer::PrefixList(p) => r.source_prefix_list_id = Some(p.as_str().into()),
                Peer::SecurityGroup { id, .. } => r.source_security_group_id = Some(id.clone().into()),
            }
            r.from_port = from.map(Into::into);
            r.to_port = to.map(Into::into);
            r.description = Some(description.into());
            app.add(scope, &rule_id, r)?;
        }
        Direction::Egress => {
            let mut r = CfnSecurityGroupEgress::new(group_id, proto);
            match peer {
                Peer::Ipv4(c) => r.cidr_ip = Some(c.as_str().into()),
                Peer::Ipv6(c) => r.cidr_ipv6 = Some(c.as_str().into()),
                Peer::PrefixList(p) => r.destination_prefix_list_id = Some(p.as_str().into()),
                Peer::SecurityGroup { id, .. } => r.destination_security_group_id = Some(id.clone().into()),
            }
            r.from_port = from.map(Into::into);
            r.to_port = to.map(Into::into);
            r.description = Some(description.into());
            app.add(scope, &rule_id, r)?;
        }
    }
    Ok(())
}

/// A security group, created by this app ([`SecurityGroup`]) or existing
/// ([`ImportedSecurityGroup`]): rules and connections work on either.
pub trait SecurityGroupRef: Construct {
    /// The group id.
    fn security_group_id(&self) -> Value;
    /// Whether all outbound traffic is allowed (egress rules are then not written).
    fn allows_all_outbound(&self) -> bool;
    /// Allows inbound traffic from `peer` on `port`.
    fn add_ingress_rule(&self, app: &mut App, peer: Peer, port: Port, description: &str) -> Result<()>;
    /// Allows outbound traffic to `peer` on `port`.
    fn add_egress_rule(&self, app: &mut App, peer: Peer, port: Port, description: &str) -> Result<()>;

    /// Allows `other` to connect to this group on `port`: an ingress rule here, and an
    /// egress rule on `other` when it restricts outbound traffic.
    fn allow_from(
        &self,
        app: &mut App,
        other: &impl SecurityGroupRef,
        port: Port,
        description: &str,
    ) -> Result<()>
    where
        Self: Sized,
    {
        self.add_ingress_rule(app, Peer::security_group(other), port, description)?;
        other.add_egress_rule(app, Peer::security_group(self), port, description)
    }

    /// Allows this group to connect to `other` on `port`.
    fn allow_to(
        &self,
        app: &mut App,
        other: &impl SecurityGroupRef,
        port: Port,
        description: &str,
    ) -> Result<()>
    where
        Self: Sized,
    {
        other.allow_from(app, self, port, description)
    }
}

impl SecurityGroupRef for SecurityGroup {
    fn security_group_id(&self) -> Value {
        SecurityGroup::security_group_id(self)
    }

    fn allows_all_outbound(&self) -> bool {
        self.allow_all_outbound
    }

    fn add_ingress_rule(&self, app: &mut App, peer: Peer, port: Port, description: &str) -> Result<()> {
        SecurityGroup::add_ingress_rule(self, app, peer, port, description)
    }

    fn add_egress_rule(&self, app: &mut App, peer: Peer, port: Port, description: &str) -> Result<()> {
        SecurityGroup::add_egress_rule(self, app, peer, port, description)
    }
}

/// Options of [`SecurityGroup::from_security_group_id`].
///
/// ```
/// use cairn_constructs::ec2::SecurityGroupImportOptions;
/// let o = SecurityGroupImportOptions::default();
/// assert!(o.allow_all_outbound && o.mutable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityGroupImportOptions {
    /// Whether the group allows all outbound traffic (default `true`, as aws-cdk-lib
    /// assumes): egress rules added to it are then not written.
    pub allow_all_outbound: bool,
    /// Whether rules may be added to the group (default `true`); when false, rules added
    /// to it are left out (the other side of a connection is still written).
    pub mutable: bool,
}

impl Default for SecurityGroupImportOptions {
    fn default() -> Self {
        SecurityGroupImportOptions {
            allow_all_outbound: true,
            mutable: true,
        }
    }
}

/// A security group that exists outside the app. Its rules are resources of their own
/// (`AWS::EC2::SecurityGroupIngress`/`Egress` under the imported group, ids as
/// aws-cdk-lib's); the group itself adds nothing to the template.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedSecurityGroup {
    node: NodeId,
    id: Value,
    options: SecurityGroupImportOptions,
}

impl SecurityGroup {
    /// A security group that exists, by id (`sg-...`). An empty id, or a literal that is
    /// not `sg-...`, is an [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::ec2::{Peer, Port, SecurityGroup, SecurityGroupImportOptions, SecurityGroupRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let shared = SecurityGroup::from_security_group_id(&mut app, stack, "Shared", "sg-0123456789abcdef0",
    ///     SecurityGroupImportOptions::default())?;
    /// shared.add_ingress_rule(&mut app, Peer::ipv4("10.0.0.0/16"), Port::tcp(443), "")?;
    /// let asm = app.synth()?;
    /// let s = asm.stack("S").unwrap();
    /// assert_eq!(s.resources_of_type("AWS::EC2::SecurityGroupIngress").len(), 1);
    /// assert!(s.resources_of_type("AWS::EC2::SecurityGroup").is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_security_group_id(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        security_group_id: impl Into<Value>,
        options: SecurityGroupImportOptions,
    ) -> Result<ImportedSecurityGroup> {
        let node = crate::imported::import_node(app, scope, id)?;
        let group_id = security_group_id.into();
        if let Some(text) = group_id.as_str() {
            if !text.starts_with("sg-") || text.len() <= 3 {
                return Err(app.invalid_props(
                    node,
                    format!("{text:?} is not a security group id; pass the group's id, such as sg-0123456789abcdef0"),
                ));
            }
        }
        Ok(ImportedSecurityGroup {
            node,
            id: group_id,
            options,
        })
    }
}

impl SecurityGroupRef for ImportedSecurityGroup {
    fn security_group_id(&self) -> Value {
        self.id.clone()
    }

    fn allows_all_outbound(&self) -> bool {
        self.options.allow_all_outbound
    }

    fn add_ingress_rule(&self, app: &mut App, peer: Peer, port: Port, description: &str) -> Result<()> {
        self.add_rule(app, Direction::Ingress, peer, port, description)
    }

    fn add_egress_rule(&self, app: &mut App, peer: Peer, port: Port, description: &str) -> Result<()> {
        self.add_rule(app, Direction::Egress, peer, port, description)
    }
}

impl ImportedSecurityGroup {
    /// A rule of its own under the imported group; none when the group is immutable, and no
    /// egress rule when it allows all outbound traffic.
    fn add_rule(
        &self,
        app: &mut App,
        direction: Direction,
        peer: Peer,
        port: Port,
        description: &str,
    ) -> Result<()> {
        port.check(app, self.node)?;
        let all_outbound = matches!(direction, Direction::Egress) && self.options.allow_all_outbound;
        if !self.options.mutable || all_outbound {
            return Ok(());
        }
        let description = rule_description(app, direction, &peer, port, description);
        separate_rule(
            app,
            self.node,
            self.id.clone(),
            direction,
            &peer,
            port,
            description,
        )
    }
}

imported_handle!(ImportedSecurityGroup);

construct!(SecurityGroup);
