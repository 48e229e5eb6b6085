//! Route 53 hosted zones that exist: by id and name, or looked up by domain name at
//! synthesis (the CDK's `HostedZone.fromHostedZoneAttributes` and `HostedZone.fromLookup`).
//!
//! A looked-up zone is a context value, as in the CDK: the `cairn` CLI asks Route 53
//! (`ListHostedZonesByName`) when the value is missing, caches it in `cdk.context.json`
//! under the CDK's key, and synthesis is offline from then on.

use cairn_core::context::{ContextQuery, HOSTED_ZONE_PROVIDER};
use cairn_core::{App, NodeId, Result, Value};
use serde_json::{Map, Value as Json};

use crate::imported::import_node;

/// A hosted zone that exists: its id and name. Records and grants refer to it through
/// these; nothing is added to the template.
#[derive(Debug, Clone, PartialEq)]
pub struct HostedZoneRef {
    node: NodeId,
    hosted_zone_id: String,
    zone_name: String,
}

impl HostedZoneRef {
    /// The imported construct's node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The zone's id (`Z0123456789ABC`, without `/hostedzone/`).
    pub fn hosted_zone_id(&self) -> &str {
        &self.hosted_zone_id
    }

    /// The zone's domain name, without the final dot (`example.com`).
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// `arn:<partition>:route53:::hostedzone/<id>`, for policies (`route53:ChangeResourceRecordSets`).
    pub fn hosted_zone_arn(&self) -> Value {
        Value::sub(&format!(
            "arn:${{AWS::Partition}}:route53:::hostedzone/{}",
            self.hosted_zone_id
        ))
    }
}

/// What [`HostedZone::from_lookup`] looks for (the CDK's `HostedZoneProviderProps`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostedZoneLookup {
    /// The zone's domain name (`example.com`).
    pub domain_name: String,
    /// Only private zones (`true`) or only public ones (`false`); either when `None`.
    pub private_zone: Option<bool>,
    /// Only the private zone associated with this VPC.
    pub vpc_id: Option<String>,
}

impl HostedZoneLookup {
    /// The zone of `domain_name`, public or private.
    pub fn domain(domain_name: impl Into<String>) -> Self {
        HostedZoneLookup {
            domain_name: domain_name.into(),
            ..HostedZoneLookup::default()
        }
    }
}

/// Route 53 hosted zones that exist. (cairn creates no hosted zone yet.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostedZone;

impl HostedZone {
    /// A zone by its id and domain name (the CDK's `fromHostedZoneAttributes`). An empty
    /// id or name is an [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn from_hosted_zone_attributes(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        hosted_zone_id: &str,
        zone_name: &str,
    ) -> Result<HostedZoneRef> {
        let node = import_node(app, scope, id)?;
        for (what, value) in [("hosted zone id", hosted_zone_id), ("zone name", zone_name)] {
            if value.trim().is_empty() {
                return Err(app.invalid_props(node, format!("the {what} is empty; pass the existing zone's")));
            }
        }
        Ok(HostedZoneRef {
            node,
            hosted_zone_id: hosted_zone_id.trim_start_matches("/hostedzone/").to_string(),
            zone_name: zone_name.trim_end_matches('.').to_string(),
        })
    }

    /// The zone of a domain name in the stack's account, looked up at synthesis (the CDK's
    /// `HostedZone.fromLookup`, same context key and value). While the value is missing,
    /// the CDK's dummy zone (id `DUMMY`) stands in and the key is reported missing. The
    /// stack needs a concrete account and region; an empty domain name is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::route53::{HostedZone, HostedZoneLookup};
    /// use cairn_core::{App, Environment, StackProps};
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let env = Some(Environment::new("123456789012", "eu-west-1"));
    /// let stack = app.stack_with(app.root(), "S", StackProps { env, ..StackProps::default() })?;
    /// let zone = HostedZone::from_lookup(&mut app, stack, "Zone", HostedZoneLookup::domain("example.com"))?;
    /// // Not looked up yet: the CDK's dummy zone, and the key in the manifest.
    /// assert_eq!((zone.hosted_zone_id(), zone.zone_name()), ("DUMMY", "example.com"));
    /// assert_eq!(
    ///     app.synth()?.missing()[0].key,
    ///     "hosted-zone:account=123456789012:domainName=example.com:region=eu-west-1"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_lookup(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        lookup: HostedZoneLookup,
    ) -> Result<HostedZoneRef> {
        let node = import_node(app, scope, id)?;
        if lookup.domain_name.trim().is_empty() {
            return Err(app.invalid_props(
                node,
                "the domain name is empty; pass the zone's domain name (example.com)",
            ));
        }
        let mut props = Map::new();
        props.insert("domainName".into(), Json::String(lookup.domain_name.clone()));
        if let Some(private) = lookup.private_zone {
            props.insert("privateZone".into(), Json::Bool(private));
        }
        if let Some(vpc) = &lookup.vpc_id {
            props.insert("vpcId".into(), Json::String(vpc.clone()));
        }
        let mut query = ContextQuery::new(HOSTED_ZONE_PROVIDER, props);
        let dummy = serde_json::json!({"Id": "DUMMY", "Name": lookup.domain_name});
        query.dummy_value = Some(dummy.clone());
        let value = app.lookup_context(node, &query)?;
        let value = if value.is_null() { dummy } else { value };
        let field = |name: &str| value.get(name).and_then(Json::as_str).map(str::to_string);
        match (field("Id"), field("Name")) {
            (Some(zone_id), Some(name)) => Ok(HostedZoneRef {
                node,
                hosted_zone_id: zone_id.trim_start_matches("/hostedzone/").to_string(),
                zone_name: name.trim_end_matches('.').to_string(),
            }),
            _ => Err(app.invalid_props(
                node,
                format!(
                    "the context value of the hosted zone lookup is not a zone ({{\"Id\", \"Name\"}}): {value}; \
                     reset it with `cairn context --reset` and synthesize again"
                ),
            )),
        }
    }
}
