//! The context providers, as the AWS CDK CLI's: each turns a missing entry's props into
//! the value the app reads (the CDK's value shapes), over the [`Ec2Lookups`] seam.

use serde_json::{json, Map, Value as Json};

use super::{Ec2Lookups, HostedZoneInfo, RouteTable, Subnet};

/// The value of one missing entry, or the provider's error (a sentence).
pub(crate) async fn provide<L: Ec2Lookups>(
    api: &L,
    provider: &str,
    props: &Map<String, Json>,
) -> Result<Json, String> {
    match provider {
        cairn_core::context::AVAILABILITY_ZONE_PROVIDER => {
            let zones = api.zones().await.map_err(|e| e.message())?;
            Ok(json!(zones
                .into_iter()
                .filter(|(_, state)| state == "available")
                .map(|(name, _)| name)
                .collect::<Vec<_>>()))
        }
        cairn_core::context::SSM_PARAMETER_PROVIDER => ssm(api, props).await,
        cairn_core::context::AMI_PROVIDER => ami(api, props).await,
        cairn_core::context::VPC_PROVIDER => vpc(api, props).await,
        cairn_core::context::HOSTED_ZONE_PROVIDER => hosted_zone(api, props).await,
        other => Err(format!(
            "unrecognized context provider name: {other}; cairn looks up availability-zones, vpc-provider, ami, ssm and hosted-zone"
        )),
    }
}

fn str_prop<'a>(props: &'a Map<String, Json>, name: &str) -> Option<&'a str> {
    props.get(name).and_then(Json::as_str)
}

async fn ssm<L: Ec2Lookups>(api: &L, props: &Map<String, Json>) -> Result<Json, String> {
    let name = str_prop(props, "parameterName")
        .ok_or("parameterName must be provided in props for the ssm provider")?;
    match api.parameter(name).await.map_err(|e| e.message())? {
        Some(v) => Ok(Json::String(v)),
        None if props.get("ignoreErrorOnMissingContext") == Some(&Json::Bool(true))
            && props.contains_key("dummyValue") =>
        {
            Ok(props["dummyValue"].clone())
        }
        None => Err(format!(
            "SSM parameter not available in account {}, region {}: {name}",
            str_prop(props, "account").unwrap_or("?"),
            str_prop(props, "region").unwrap_or("?")
        )),
    }
}

/// The one zone of `domainName` (public unless `privateZone`; associated with `vpcId` when
/// given), as the CDK CLI's hosted-zone provider picks it, in its value shape.
async fn hosted_zone<L: Ec2Lookups>(api: &L, props: &Map<String, Json>) -> Result<Json, String> {
    let domain = str_prop(props, "domainName")
        .ok_or("domainName must be provided in props for the hosted-zone provider")?;
    let private = props.get("privateZone").and_then(Json::as_bool).unwrap_or(false);
    let vpc_id = str_prop(props, "vpcId");
    let dotted = if domain.ends_with('.') {
        domain.to_string()
    } else {
        format!("{domain}.")
    };
    let mut zones: Vec<HostedZoneInfo> = api
        .hosted_zones(domain)
        .await
        .map_err(|e| e.message())?
        .into_iter()
        .filter(|z| z.name == dotted && z.private == private)
        .collect();
    if let Some(vpc) = vpc_id {
        let mut associated = Vec::new();
        for zone in zones {
            if api
                .hosted_zone_vpcs(&zone.id)
                .await
                .map_err(|e| e.message())?
                .iter()
                .any(|v| v == vpc)
            {
                associated.push(zone);
            }
        }
        zones = associated;
    }
    let values: Vec<Json> = zones.iter().map(zone_value).collect();
    match values.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "Found zones: {} for dns:{domain}, privateZone:{}, vpcId:{}, but wanted exactly 1 zone",
            Json::Array(values.clone()),
            props
                .get("privateZone")
                .map_or_else(|| "undefined".into(), Json::to_string),
            vpc_id.unwrap_or("undefined"),
        )),
    }
}

/// A zone as `ListHostedZonesByName` returns it (the value the CDK CLI caches).
fn zone_value(z: &HostedZoneInfo) -> Json {
    let mut config = Map::new();
    if let Some(c) = &z.comment {
        config.insert("Comment".into(), Json::String(c.clone()));
    }
    config.insert("PrivateZone".into(), Json::Bool(z.private));
    json!({
        "Id": z.id,
        "Name": z.name,
        "CallerReference": z.caller_reference,
        "Config": config,
        "ResourceRecordSetCount": z.record_count,
    })
}

/// `name -> [values]` filters of a props object (`{"name": ["a"]}` or `{"vpc-id": "v"}`).
fn filters(v: Option<&Json>) -> Vec<(String, Vec<String>)> {
    v.and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let values = match v {
                        Json::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
                        Json::String(s) => vec![s.clone()],
                        other => vec![other.to_string()],
                    };
                    (k.clone(), values)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn ami<L: Ec2Lookups>(api: &L, props: &Map<String, Json>) -> Result<Json, String> {
    let owners: Vec<String> = props
        .get("owners")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let mut images = api
        .images(&owners, &filters(props.get("filters")))
        .await
        .map_err(|e| e.message())?;
    // The newest first (ISO 8601 dates sort as text); ties keep the answer's order.
    images.sort_by(|a, b| b.1.cmp(&a.1));
    match images.into_iter().next() {
        Some((id, _)) => Ok(Json::String(id)),
        None => Err("No AMI found that matched the search criteria".into()),
    }
}

fn tag<'a>(tags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn table_of<'a>(tables: &'a [RouteTable], subnet: &str) -> Option<&'a RouteTable> {
    tables
        .iter()
        .find(|t| t.subnet_ids.iter().any(|s| s == subnet))
        .or_else(|| tables.iter().find(|t| t.main))
}

fn subnet_type(s: &Subnet, tables: &[RouteTable]) -> Result<&'static str, String> {
    if let Some(t) = tag(&s.tags, "aws-cdk:subnet-type") {
        return match t {
            "Public" => Ok("Public"),
            "Private" => Ok("Private"),
            "Isolated" => Ok("Isolated"),
            other => Err(format!(
                "Subnet {} has invalid subnet type {other} (must be Public, Private or Isolated)",
                s.arn
            )),
        };
    }
    if s.map_public_ip {
        return Ok("Public");
    }
    let routes = table_of(tables, &s.id)
        .map(|t| t.routes.as_slice())
        .unwrap_or_default();
    let default = |r: &&super::Route| r.destination.as_deref() == Some("0.0.0.0/0");
    if routes
        .iter()
        .any(|r| r.gateway_id.as_deref().is_some_and(|g| g.starts_with("igw-")))
    {
        Ok("Public")
    } else if routes
        .iter()
        .filter(default)
        .any(|r| r.nat_gateway_id.is_some() || r.transit_gateway_id.is_some())
    {
        Ok("Private")
    } else {
        Ok("Isolated")
    }
}

async fn vpc<L: Ec2Lookups>(api: &L, props: &Map<String, Json>) -> Result<Json, String> {
    let described = Json::Object(props.clone());
    let vpcs = api
        .vpcs(&filters(props.get("filter")))
        .await
        .map_err(|e| e.message())?;
    let vpc = match vpcs.as_slice() {
        [] => return Err(format!("Could not find any VPCs matching {described}")),
        [one] => one,
        many => {
            return Err(format!(
                "Found {} VPCs matching {described}; please narrow the search criteria",
                many.len()
            ))
        }
    };
    let subnets = api.subnets(&vpc.id).await.map_err(|e| e.message())?;
    let tables = api.route_tables(&vpc.id).await.map_err(|e| e.message())?;
    let name_tag = str_prop(props, "subnetGroupNameTag");
    // (type, name, az, subnet id, cidr, route table), grouped by (type, name) in order.
    let mut groups: Vec<((&str, String), Vec<Json>)> = Vec::new();
    for s in &subnets {
        let kind = subnet_type(s, &tables)?;
        if let Some(t) = name_tag {
            if tag(&s.tags, t).is_none() {
                return Err(format!(
                    "Invalid subnetGroupNameTag: Subnet {} does not have an associated tag with Key='{t}'",
                    s.arn
                ));
            }
        }
        let name = tag(&s.tags, name_tag.unwrap_or("aws-cdk:subnet-name"))
            .unwrap_or(kind)
            .to_string();
        let Some(table) = table_of(&tables, &s.id) else {
            return Err(format!(
                "Subnet {} does not have an associated route table (and there is no \"main\" table)",
                s.arn
            ));
        };
        let entry = json!({"subnetId": s.id, "cidr": s.cidr, "availabilityZone": s.availability_zone, "routeTableId": table.id});
        match groups.iter_mut().find(|(k, _)| k.0 == kind && k.1 == name) {
            Some((_, list)) => list.push(entry),
            None => groups.push(((kind, name), vec![entry])),
        }
    }
    let subnet_groups: Vec<Json> = groups
        .into_iter()
        .map(|((kind, name), mut list)| {
            list.sort_by(|a, b| {
                a["availabilityZone"]
                    .as_str()
                    .cmp(&b["availabilityZone"].as_str())
            });
            json!({"name": name, "type": kind, "subnets": list})
        })
        .collect();
    let vpn = if props.get("returnVpnGateways") == Some(&Json::Bool(false)) {
        None
    } else {
        let ids = api.vpn_gateways(&vpc.id).await.map_err(|e| e.message())?;
        if ids.len() == 1 {
            ids.into_iter().next()
        } else {
            None
        }
    };
    // The CDK's order: the VPN gateway (when there is one) before the subnet groups.
    let mut value = Map::new();
    value.insert("vpcId".into(), json!(vpc.id));
    value.insert("vpcCidrBlock".into(), json!(vpc.cidr));
    value.insert("ownerAccountId".into(), json!(vpc.owner));
    value.insert("availabilityZones".into(), json!([]));
    if let Some(id) = vpn {
        value.insert("vpnGatewayId".into(), Json::String(id));
    }
    value.insert("subnetGroups".into(), Json::Array(subnet_groups));
    let value = Json::Object(value);
    Ok(value)
}
