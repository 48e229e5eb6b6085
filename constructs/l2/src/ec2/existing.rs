//! VPCs that exist already (`Vpc::from_attributes`) and the selection of subnets
//! (aws-cdk-lib's `SubnetSelection`: by type, by group name, by availability zones, one
//! per zone).

use cairn_core::{App, NodeId, Result, Value};

use super::{Subnet, SubnetType, Vpc};
use crate::imported::{check_name, import_node};

/// What is known of an existing VPC ([`Vpc::from_attributes`]), as aws-cdk-lib's
/// `VpcAttributes`: its id, zones, and the subnets of each type in zone order (a group's
/// subnets take the zones in turn, so each type's count is a multiple of the zone count).
///
/// ```
/// use cairn_constructs::ec2::VpcAttributes;
/// let attrs = VpcAttributes::new("vpc-0abc", ["eu-west-1a", "eu-west-1b"]);
/// assert!(attrs.private_subnet_ids.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VpcAttributes {
    /// The VPC id.
    pub vpc_id: Value,
    /// The VPC's CIDR block, when rules need it.
    pub vpc_cidr_block: Option<String>,
    /// The availability zones, in the subnets' order.
    pub availability_zones: Vec<String>,
    /// Public subnet ids.
    pub public_subnet_ids: Vec<Value>,
    /// Public subnet group names, one per group (default `Public`).
    pub public_subnet_names: Vec<String>,
    /// The public subnets' route table ids (none, or one per subnet).
    pub public_subnet_route_table_ids: Vec<Value>,
    /// Private (with egress) subnet ids.
    pub private_subnet_ids: Vec<Value>,
    /// Private subnet group names (default `Private`).
    pub private_subnet_names: Vec<String>,
    /// The private subnets' route table ids.
    pub private_subnet_route_table_ids: Vec<Value>,
    /// Isolated subnet ids.
    pub isolated_subnet_ids: Vec<Value>,
    /// Isolated subnet group names (default `Isolated`).
    pub isolated_subnet_names: Vec<String>,
    /// The isolated subnets' route table ids.
    pub isolated_subnet_route_table_ids: Vec<Value>,
}

impl VpcAttributes {
    /// A VPC by id and zones, with no subnets yet.
    pub fn new<S: Into<String>>(
        vpc_id: impl Into<Value>,
        availability_zones: impl IntoIterator<Item = S>,
    ) -> Self {
        VpcAttributes {
            vpc_id: vpc_id.into(),
            availability_zones: availability_zones.into_iter().map(Into::into).collect(),
            ..VpcAttributes::default()
        }
    }
}

/// One type's subnets of [`VpcAttributes`].
struct SubnetGroupAttrs<'a> {
    subnet_type: SubnetType,
    default_name: &'static str,
    field: &'static str,
    ids: &'a [Value],
    names: &'a [String],
    route_tables: &'a [Value],
}

impl Vpc {
    /// A VPC that exists, by its attributes: no resource is added; its subnets are
    /// constructs `<Group>Subnet<n>` under it (as aws-cdk-lib names them), selected as a
    /// created VPC's are, so instances, services, endpoints and security groups take it.
    /// An empty id, subnets without zones, a subnet count that is not a multiple of the
    /// zone count, or route tables that do not match the subnets one to one, is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::ec2::{SubnetType, Vpc, VpcAttributes};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let vpc = Vpc::from_attributes(&mut app, stack, "Shared", VpcAttributes {
    ///     private_subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
    ///     ..VpcAttributes::new("vpc-0abc", ["eu-west-1a", "eu-west-1b"])
    /// })?;
    /// assert_eq!(vpc.select_subnets(SubnetType::PrivateWithEgress), vec!["subnet-a".into(), "subnet-b".into()]);
    /// assert_eq!(vpc.subnets()[1].availability_zone, "eu-west-1b".into());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_attributes(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        attrs: VpcAttributes,
    ) -> Result<Vpc> {
        let node = import_node(app, scope, id)?;
        check_name(app, node, "VPC id", &attrs.vpc_id)?;
        let groups = [
            SubnetGroupAttrs {
                subnet_type: SubnetType::Public,
                default_name: "Public",
                field: "public_subnet",
                ids: &attrs.public_subnet_ids,
                names: &attrs.public_subnet_names,
                route_tables: &attrs.public_subnet_route_table_ids,
            },
            SubnetGroupAttrs {
                subnet_type: SubnetType::PrivateWithEgress,
                default_name: "Private",
                field: "private_subnet",
                ids: &attrs.private_subnet_ids,
                names: &attrs.private_subnet_names,
                route_tables: &attrs.private_subnet_route_table_ids,
            },
            SubnetGroupAttrs {
                subnet_type: SubnetType::PrivateIsolated,
                default_name: "Isolated",
                field: "isolated_subnet",
                ids: &attrs.isolated_subnet_ids,
                names: &attrs.isolated_subnet_names,
                route_tables: &attrs.isolated_subnet_route_table_ids,
            },
        ];
        let azs = &attrs.availability_zones;
        let mut problems = Vec::new();
        for g in &groups {
            if g.ids.is_empty() {
                continue;
            }
            if azs.is_empty() {
                problems.push(format!(
                    "{}_ids are given without availability_zones; list the zones of the subnets",
                    g.field
                ));
            } else if g.ids.len() % azs.len() != 0 {
                problems.push(format!(
                    "{} {}_ids for {} availability zones: the count must be a multiple of the zones (one subnet per zone and group)",
                    g.ids.len(),
                    g.field,
                    azs.len()
                ));
            } else if !g.names.is_empty() && g.names.len() != g.ids.len() / azs.len() {
                problems.push(format!(
                    "{} {}_names for {} groups of subnets; give one name per group",
                    g.names.len(),
                    g.field,
                    g.ids.len() / azs.len()
                ));
            }
            if !g.route_tables.is_empty() && g.route_tables.len() != g.ids.len() {
                problems.push(format!(
                    "{} {}_route_table_ids for {} subnets; give one per subnet, or none",
                    g.route_tables.len(),
                    g.field,
                    g.ids.len()
                ));
            }
        }
        crate::check_props(app, node, problems)?;
        let mut subnets = Vec::new();
        for g in &groups {
            for (i, subnet_id) in g.ids.iter().enumerate() {
                let group = g.names.get(i / azs.len()).map_or(g.default_name, String::as_str);
                let snode = app.construct(node, &format!("{group}Subnet{}", i + 1))?;
                let az_index = i % azs.len();
                subnets.push(Subnet {
                    node: snode,
                    subnet_id: subnet_id.clone(),
                    route_table_id: g.route_tables.get(i).cloned(),
                    group: group.to_string(),
                    subnet_type: g.subnet_type,
                    az_index,
                    availability_zone: Value::from(azs[az_index].as_str()),
                    cidr: String::new(),
                });
            }
        }
        Ok(Vpc {
            node,
            resource: None,
            vpc_id: attrs.vpc_id,
            cidr: attrs.vpc_cidr_block.unwrap_or_default(),
            subnets,
            azs: azs.iter().map(|a| Value::from(a.as_str())).collect(),
            internet_gateway: None,
            nat_gateways: Vec::new(),
        })
    }

    /// The subnets a [`SubnetSelection`] picks, for the construct `user`: by group name or
    /// type (default: private with egress, else isolated, else public, as aws-cdk-lib
    /// picks), then those in `availability_zones`, then the first per zone with
    /// `one_per_az`. A selection that picks nothing, or names both a type and a group, is
    /// an [`Error::InvalidProps`](cairn_core::Error::InvalidProps) naming `user`.
    ///
    /// ```
    /// use cairn_constructs::ec2::{SubnetSelection, SubnetType, Vpc, VpcProps};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
    /// let picked = vpc.select(&app, stack.node(), &SubnetSelection {
    ///     subnet_group_name: Some("Public".into()),
    ///     one_per_az: true,
    ///     ..SubnetSelection::default()
    /// })?;
    /// assert!(picked.iter().all(|s| s.subnet_type == SubnetType::Public));
    /// # Ok(())
    /// # }
    /// ```
    pub fn select(&self, app: &App, user: NodeId, selection: &SubnetSelection) -> Result<Vec<&Subnet>> {
        if selection.subnet_type.is_some() && selection.subnet_group_name.is_some() {
            return Err(app.invalid_props(
                user,
                "a subnet selection names both a subnet type and a group name; keep one",
            ));
        }
        let mut picked: Vec<&Subnet> = match (&selection.subnet_group_name, selection.subnet_type) {
            (Some(group), _) => self.subnets.iter().filter(|s| &s.group == group).collect(),
            (None, Some(t)) => self.subnets.iter().filter(|s| s.subnet_type == t).collect(),
            (None, None) => [
                SubnetType::PrivateWithEgress,
                SubnetType::PrivateIsolated,
                SubnetType::Public,
            ]
            .iter()
            .map(|t| {
                self.subnets
                    .iter()
                    .filter(|s| s.subnet_type == *t)
                    .collect::<Vec<_>>()
            })
            .find(|found| !found.is_empty())
            .unwrap_or_default(),
        };
        if !selection.availability_zones.is_empty() {
            if self.azs.iter().any(|a| a.as_str().is_none()) {
                return Err(app.invalid_props(
                    user,
                    "the subnet selection names availability zones, but the VPC's zones are only known at deploy time; give the VPC its availability_zones",
                ));
            }
            picked.retain(|s| {
                s.availability_zone
                    .as_str()
                    .is_some_and(|az| selection.availability_zones.iter().any(|z| z == az))
            });
        }
        if selection.one_per_az {
            let mut seen = Vec::new();
            picked.retain(|s| {
                let new = !seen.contains(&s.az_index);
                seen.push(s.az_index);
                new
            });
        }
        if picked.is_empty() {
            let groups: Vec<String> = self
                .subnets
                .iter()
                .map(|s| format!("{} ({})", s.group, s.subnet_type))
                .fold(Vec::new(), |mut acc, g| {
                    if !acc.contains(&g) {
                        acc.push(g);
                    }
                    acc
                });
            return Err(app.invalid_props(
                user,
                format!(
                    "no subnet of the VPC matches the selection {selection:?}; its groups are: {}",
                    if groups.is_empty() {
                        "none".to_string()
                    } else {
                        groups.join(", ")
                    }
                ),
            ));
        }
        Ok(picked)
    }
}

/// Which subnets of a VPC to use, as aws-cdk-lib's `SubnetSelection` (see [`Vpc::select`]).
///
/// ```
/// use cairn_constructs::ec2::{SubnetSelection, SubnetType};
/// let s = SubnetSelection::of_type(SubnetType::PrivateIsolated);
/// assert_eq!(s.subnet_type, Some(SubnetType::PrivateIsolated));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubnetSelection {
    /// The subnets of one type.
    pub subnet_type: Option<SubnetType>,
    /// The subnets of one group, by name (`SubnetConfiguration::name`).
    pub subnet_group_name: Option<String>,
    /// Only the subnets in these zones (literal zone names).
    pub availability_zones: Vec<String>,
    /// Only the first picked subnet of each zone.
    pub one_per_az: bool,
}

impl SubnetSelection {
    /// The subnets of one type.
    pub fn of_type(subnet_type: SubnetType) -> Self {
        SubnetSelection {
            subnet_type: Some(subnet_type),
            ..SubnetSelection::default()
        }
    }

    /// The subnets of one group.
    pub fn of_group(name: &str) -> Self {
        SubnetSelection {
            subnet_group_name: Some(name.to_string()),
            ..SubnetSelection::default()
        }
    }
}
