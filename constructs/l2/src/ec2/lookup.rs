//! What the environment is asked at synthesis (aws-cdk-lib's context lookups): a VPC
//! (`Vpc::from_lookup`) and the newest AMI matching filters (`MachineImage::lookup`).
//! The answers come from the context (`cdk.context.json`, written by the `cairn` CLI);
//! on a miss the construct gets the CDK's dummy value and the key is reported missing.

use cairn_core::context::{ContextQuery, AMI_PROVIDER, VPC_PROVIDER};
use cairn_core::{App, NodeId, Result, Value};
use serde_json::{json, Map, Value as Json};

use super::{ImageSource, MachineImage, Subnet, SubnetType, Vpc};
use crate::imported::import_node;

/// Which VPC [`Vpc::from_lookup`] finds, as aws-cdk-lib's `VpcLookupOptions`: every
/// option given must match, and exactly one VPC must.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VpcLookupOptions {
    /// The VPC's id.
    pub vpc_id: Option<String>,
    /// The VPC's `Name` tag.
    pub vpc_name: Option<String>,
    /// Tags the VPC has, in order.
    pub tags: Vec<(String, String)>,
    /// Whether it is the region's default VPC.
    pub is_default: Option<bool>,
    /// The account that owns it (a shared VPC).
    pub owner_account_id: Option<String>,
    /// Another region than the stack's to look in.
    pub region: Option<String>,
    /// The tag whose value names a subnet's group (default `aws-cdk:subnet-name`).
    pub subnet_group_name_tag: Option<String>,
    /// Whether to read the VPC's VPN gateway (the CDK's default: yes).
    pub return_vpn_gateways: Option<bool>,
}

/// The CDK's stand-in VPC while the lookup is missing (`DUMMY_VPC_PROPS`).
fn dummy_vpc() -> Json {
    let subnets = |prefix: &str, rt: [&str; 2]| {
        json!([
            {"availabilityZone": "dummy1a", "subnetId": format!("{prefix}-12345"), "routeTableId": rt[0], "cidr": "1.2.3.4/5"},
            {"availabilityZone": "dummy1b", "subnetId": format!("{prefix}-67890"), "routeTableId": rt[1], "cidr": "1.2.3.4/5"}
        ])
    };
    json!({
        "vpcId": "vpc-12345",
        "vpcCidrBlock": "1.2.3.4/5",
        "availabilityZones": [],
        "subnetGroups": [
            {"name": "Public", "type": "Public", "subnets": subnets("s", ["rtb-12345s", "rtb-67890s"])},
            {"name": "Private", "type": "Private", "subnets": subnets("p", ["rtb-12345p", "rtb-57890p"])},
            {"name": "Isolated", "type": "Isolated", "subnets": subnets("p", ["rtb-12345p", "rtb-57890p"])}
        ]
    })
}

impl Vpc {
    /// An existing VPC found by id, name or tags in the stack's environment (aws-cdk-lib's
    /// `Vpc.fromLookup`): the context value under the `vpc-provider` key (the VPC, its
    /// subnets grouped by the `aws-cdk:subnet-type`/`aws-cdk:subnet-name` tags or their
    /// routes, their route tables), looked up by the `cairn` CLI. Its subnets are
    /// constructs `<Group>Subnet<n>` under it, selected as a created VPC's are. While the
    /// value is missing, the CDK's dummy VPC (`vpc-12345`, two zones `dummy1a`/`dummy1b`)
    /// stands in and the key is reported missing. The stack needs a concrete account and
    /// region.
    ///
    /// ```
    /// use cairn_constructs::ec2::{SubnetType, Vpc, VpcLookupOptions};
    /// use cairn_core::{App, Environment, StackProps};
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let env = Some(Environment::new("123456789012", "eu-west-1"));
    /// let stack = app.stack_with(app.root(), "S", StackProps { env, ..StackProps::default() })?;
    /// let vpc = Vpc::from_lookup(&mut app, stack, "Shared", VpcLookupOptions {
    ///     vpc_id: Some("vpc-0abc".into()),
    ///     ..VpcLookupOptions::default()
    /// })?;
    /// // Not looked up yet: the CDK's dummy VPC, and the key in the manifest.
    /// assert_eq!(vpc.vpc_id(), "vpc-12345".into());
    /// assert_eq!(vpc.select_subnets(SubnetType::Public).len(), 2);
    /// assert_eq!(
    ///     app.synth()?.missing()[0].key,
    ///     "vpc-provider:account=123456789012:filter.vpc-id=vpc-0abc:region=eu-west-1:returnAsymmetricSubnets=true"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_lookup(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        options: VpcLookupOptions,
    ) -> Result<Vpc> {
        let scope = scope.into();
        let node = import_node(app, scope, id)?;
        let mut filter = Map::new();
        for (k, v) in &options.tags {
            filter.insert(format!("tag:{k}"), Json::String(v.clone()));
        }
        if let Some(v) = &options.vpc_id {
            filter.insert("vpc-id".into(), Json::String(v.clone()));
        }
        if let Some(v) = &options.vpc_name {
            filter.insert("tag:Name".into(), Json::String(v.clone()));
        }
        if let Some(v) = &options.owner_account_id {
            filter.insert("owner-id".into(), Json::String(v.clone()));
        }
        if let Some(d) = options.is_default {
            filter.insert("isDefault".into(), Json::String(d.to_string()));
        }
        let mut props = Map::new();
        if let Some(r) = &options.region {
            props.insert("region".into(), Json::String(r.clone()));
        }
        props.insert("filter".into(), Json::Object(filter));
        props.insert("returnAsymmetricSubnets".into(), Json::Bool(true));
        if let Some(v) = options.return_vpn_gateways {
            props.insert("returnVpnGateways".into(), Json::Bool(v));
        }
        if let Some(t) = &options.subnet_group_name_tag {
            props.insert("subnetGroupNameTag".into(), Json::String(t.clone()));
        }
        let value = app.lookup_context(node, &ContextQuery::new(VPC_PROVIDER, props))?;
        let value = if value.is_null() { dummy_vpc() } else { value };
        vpc_of_value(app, node, &value)
    }
}

/// The VPC of a `vpc-provider` value (the asymmetric subnet groups).
fn vpc_of_value(app: &mut App, node: NodeId, value: &Json) -> Result<Vpc> {
    let bad = |app: &App, what: &str| {
        app.invalid_props(
            node,
            format!("the looked-up VPC in the context {what}; reset it with `cairn context --reset` and synthesize again"),
        )
    };
    let Some(vpc_id) = value.get("vpcId").and_then(Json::as_str) else {
        return Err(bad(app, "has no vpcId"));
    };
    let groups = value
        .get("subnetGroups")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let mut azs: Vec<String> = Vec::new();
    for g in &groups {
        for s in g.get("subnets").and_then(Json::as_array).into_iter().flatten() {
            if let Some(az) = s.get("availabilityZone").and_then(Json::as_str) {
                if !azs.iter().any(|a| a == az) {
                    azs.push(az.to_string());
                }
            }
        }
    }
    azs.sort();
    let mut subnets = Vec::new();
    for g in &groups {
        let name = g.get("name").and_then(Json::as_str).unwrap_or_default();
        let subnet_type = match g.get("type").and_then(Json::as_str) {
            Some("Public") => SubnetType::Public,
            Some("Private") => SubnetType::PrivateWithEgress,
            Some("Isolated") => SubnetType::PrivateIsolated,
            _ => return Err(bad(app, &format!("has a subnet group {name:?} of no known type"))),
        };
        for (i, s) in g
            .get("subnets")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let field = |k: &str| s.get(k).and_then(Json::as_str).map(String::from);
            let (Some(subnet_id), Some(az)) = (field("subnetId"), field("availabilityZone")) else {
                return Err(bad(
                    app,
                    &format!("has a subnet of group {name:?} without id or zone"),
                ));
            };
            let snode = app.construct(node, &format!("{name}Subnet{}", i + 1))?;
            subnets.push(Subnet {
                node: snode,
                subnet_id: Value::from(subnet_id),
                route_table_id: field("routeTableId").map(Value::from),
                group: name.to_string(),
                subnet_type,
                az_index: azs.iter().position(|a| *a == az).unwrap_or_default(),
                availability_zone: Value::from(az),
                cidr: field("cidr").unwrap_or_default(),
            });
        }
    }
    Ok(Vpc {
        node,
        resource: None,
        vpc_id: Value::from(vpc_id),
        cidr: value
            .get("vpcCidrBlock")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string(),
        subnets,
        azs: azs.into_iter().map(Value::from).collect(),
        internet_gateway: None,
        nat_gateways: Vec::new(),
    })
}

/// Which AMI [`MachineImage::lookup`] finds, as aws-cdk-lib's `LookupMachineImageProps`:
/// the newest available machine image whose name matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupMachineImageProps {
    /// The name pattern (`*` matches anything), e.g. `al2023-ami-2023.*-x86_64`.
    pub name: String,
    /// The owners (`amazon`, an account id ...); any when empty.
    pub owners: Vec<String>,
    /// More `DescribeImages` filters, by name, replacing the defaults of the same name.
    pub filters: Vec<(String, Vec<String>)>,
    /// A Windows image.
    pub windows: bool,
    /// A string added to the context key, to keep two otherwise identical lookups apart.
    pub additional_cache_key: Option<String>,
}

impl MachineImage {
    /// The newest AMI matching `props` in the environment of the instance's stack
    /// (aws-cdk-lib's `MachineImage.lookup`), looked up by the `cairn` CLI and kept in
    /// `cdk.context.json`, so the image stays the same until the entry is reset; while it
    /// is missing, the CDK's dummy `ami-1234`. Root device `/dev/xvda` (Windows:
    /// `/dev/sda1`).
    ///
    /// ```
    /// use cairn_constructs::ec2::{ImageSource, LookupMachineImageProps, MachineImage};
    /// let image = MachineImage::lookup(LookupMachineImageProps {
    ///     name: "al2023-ami-2023.*-x86_64".into(),
    ///     owners: vec!["amazon".into()],
    ///     ..LookupMachineImageProps::default()
    /// });
    /// assert!(matches!(image.source, ImageSource::Lookup(_)));
    /// ```
    pub fn lookup(props: LookupMachineImageProps) -> Self {
        let root = if props.windows { "/dev/sda1" } else { "/dev/xvda" };
        MachineImage {
            source: ImageSource::Lookup(props),
            root_device_name: root.into(),
        }
    }
}

/// The AMI id of a lookup, for the construct `node` (the dummy `ami-1234` while missing).
pub(super) fn lookup_image(app: &mut App, node: NodeId, props: &LookupMachineImageProps) -> Result<Value> {
    let mut filters = Map::new();
    filters.insert("name".into(), json!([props.name]));
    filters.insert("state".into(), json!(["available"]));
    filters.insert("image-type".into(), json!(["machine"]));
    if props.windows {
        filters.insert("platform".into(), json!(["windows"]));
    }
    for (k, v) in &props.filters {
        filters.insert(k.clone(), json!(v));
    }
    let mut query_props = Map::new();
    if !props.owners.is_empty() {
        query_props.insert("owners".into(), json!(props.owners));
    }
    query_props.insert("filters".into(), Json::Object(filters));
    let mut query = ContextQuery::new(AMI_PROVIDER, query_props);
    query.dummy_value = Some(json!("ami-1234"));
    query.additional_cache_key = props.additional_cache_key.clone();
    match app.lookup_context(node, &query)? {
        Json::String(id) => Ok(Value::from(id)),
        other => Err(app.invalid_props(
            node,
            format!("the AMI lookup's context value is {other}, not an image id; reset it with `cairn context --reset` and synthesize again"),
        )),
    }
}
