//! Context lookups, as the AWS CDK CLI does them: an app's assembly lists the context it
//! missed (`manifest.json`'s `missing`); [`synthesize`] looks each entry up in its
//! environment (through the environment's lookup role `cdk-<qualifier>-lookup-role-...`
//! when it can be assumed, else the caller's credentials), writes the values to
//! `cdk.context.json` (keys sorted; a provider's error is kept for the next run only,
//! `$dontSaveContext`) and runs the app again, until nothing is missing. Later runs read
//! the file and ask AWS nothing; the app itself links no SDK.
//!
//! The providers (`providers.rs`) work over the `Ec2Lookups` seam; `query.rs` implements
//! it with EC2's query API (form-encoded POSTs, SigV4, XML answers), Route 53's REST API
//! and SSM's SDK client.

pub mod command;
pub(crate) mod providers;
pub(crate) mod query;

use std::future::Future;
use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::app::{AppSource, CONTEXT_FILE};
use crate::client::CloudResult;
use crate::error::{Error, Result};

/// A VPC (`DescribeVpcs`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct VpcInfo {
    pub id: String,
    pub cidr: String,
    pub owner: String,
}

/// A subnet (`DescribeSubnets`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Subnet {
    pub id: String,
    pub arn: String,
    pub availability_zone: String,
    pub cidr: String,
    pub map_public_ip: bool,
    pub tags: Vec<(String, String)>,
}

/// A route of a route table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Route {
    pub destination: Option<String>,
    pub gateway_id: Option<String>,
    pub nat_gateway_id: Option<String>,
    pub transit_gateway_id: Option<String>,
}

/// A route table (`DescribeRouteTables`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RouteTable {
    pub id: String,
    /// Whether it is the VPC's main table.
    pub main: bool,
    /// The subnets explicitly associated with it.
    pub subnet_ids: Vec<String>,
    pub routes: Vec<Route>,
}

/// A Route 53 hosted zone (`ListHostedZonesByName`), as the CDK CLI caches it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HostedZoneInfo {
    /// `/hostedzone/Z...`
    pub id: String,
    /// The domain name with its final dot.
    pub name: String,
    pub caller_reference: String,
    pub comment: Option<String>,
    pub private: bool,
    pub record_count: i64,
}

/// What the providers read of one environment (one region, one set of credentials).
pub(crate) trait Ec2Lookups: Send + Sync {
    /// `DescribeAvailabilityZones`: (name, state) of each zone.
    fn zones(&self) -> impl Future<Output = CloudResult<Vec<(String, String)>>> + Send;
    /// `DescribeVpcs` with filters.
    fn vpcs(
        &self,
        filters: &[(String, Vec<String>)],
    ) -> impl Future<Output = CloudResult<Vec<VpcInfo>>> + Send;
    /// `DescribeSubnets` of a VPC.
    fn subnets(&self, vpc_id: &str) -> impl Future<Output = CloudResult<Vec<Subnet>>> + Send;
    /// `DescribeRouteTables` of a VPC.
    fn route_tables(&self, vpc_id: &str) -> impl Future<Output = CloudResult<Vec<RouteTable>>> + Send;
    /// `DescribeVpnGateways`: the ids of the available gateways attached to a VPC.
    fn vpn_gateways(&self, vpc_id: &str) -> impl Future<Output = CloudResult<Vec<String>>> + Send;
    /// `DescribeImages`: (id, creation date) of the matching images.
    fn images(
        &self,
        owners: &[String],
        filters: &[(String, Vec<String>)],
    ) -> impl Future<Output = CloudResult<Vec<(String, String)>>> + Send;
    /// SSM `GetParameter` (decrypted); `None` when it does not exist.
    fn parameter(&self, name: &str) -> impl Future<Output = CloudResult<Option<String>>> + Send;
    /// Route 53 `ListHostedZonesByName` from `dns_name` (one page, as the CDK CLI reads).
    fn hosted_zones(&self, dns_name: &str) -> impl Future<Output = CloudResult<Vec<HostedZoneInfo>>> + Send;
    /// Route 53 `GetHostedZone`: the ids of the VPCs a zone is associated with.
    fn hosted_zone_vpcs(&self, zone_id: &str) -> impl Future<Output = CloudResult<Vec<String>>> + Send;
}

/// Makes the [`Ec2Lookups`] of an environment.
pub(crate) trait LookupClients: Send + Sync {
    /// The client type.
    type Api: Ec2Lookups;
    /// The clients of `region`, as `role_arn` (the lookup role, placeholders filled in)
    /// when it can be assumed, else with the caller's credentials (with a warning on
    /// standard error, as the CDK CLI falls back).
    fn connect(&self, region: &str, role_arn: Option<&str>)
        -> impl Future<Output = Result<Self::Api>> + Send;
}

/// The missing entries of an assembly's root manifest.
pub(crate) fn missing_of(dir: &Path) -> Result<Vec<cairn_core::MissingContext>> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    let json: Json = serde_json::from_str(&text).map_err(|e| Error::Assembly {
        path: path.clone(),
        message: format!("manifest.json is not JSON: {e}"),
    })?;
    Ok(json
        .get("missing")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some(cairn_core::MissingContext {
                key: m.get("key")?.as_str()?.to_string(),
                provider: m.get("provider")?.as_str()?.to_string(),
                props: m.get("props")?.as_object()?.clone(),
            })
        })
        .collect())
}

/// Looks every entry up: its value, or the provider's error as the CDK keeps it
/// (`{"$providerError": ..., "$dontSaveContext": true}`).
pub(crate) async fn resolve<C: LookupClients>(
    clients: &C,
    missing: &[cairn_core::MissingContext],
) -> Map<String, Json> {
    let mut out = Map::new();
    for m in missing {
        let value = match resolve_one(clients, m).await {
            Ok(v) => v,
            Err(e) => serde_json::json!({
                cairn_core::context::PROVIDER_ERROR_KEY: e,
                cairn_core::context::TRANSIENT_CONTEXT_KEY: true,
            }),
        };
        out.insert(m.key.clone(), value);
    }
    out
}

async fn resolve_one<C: LookupClients>(
    clients: &C,
    m: &cairn_core::MissingContext,
) -> std::result::Result<Json, String> {
    let s = |k: &str| m.props.get(k).and_then(Json::as_str);
    let region = s("region").ok_or("the lookup names no region")?;
    let role = match (s("lookupRoleArn"), s("account")) {
        (Some(r), Some(account)) => Some(
            r.replace("${AWS::AccountId}", account)
                .replace("${AWS::Region}", region)
                .replace(
                    "${AWS::Partition}",
                    cairn_core::Partition::of_region(region).name(),
                ),
        ),
        _ => None,
    };
    let api = clients
        .connect(region, role.as_deref())
        .await
        .map_err(|e| e.to_string())?;
    providers::provide(&api, &m.provider, &m.props).await
}

/// Writes `updates` into the `cdk.context.json` of `dir` (kept entries and new ones, keys
/// sorted, two-space indent, as the CDK writes it; transient values left out).
pub(crate) fn save(dir: &Path, updates: &Map<String, Json>) -> Result<()> {
    let path = dir.join(CONTEXT_FILE);
    let mut all = read_file(&path)?;
    for (k, v) in updates {
        if !cairn_core::context::is_transient(v) {
            all.insert(k.clone(), v.clone());
        }
    }
    write_file(&path, all)
}

/// The object in a context file (empty when there is none).
pub(crate) fn read_file(path: &Path) -> Result<Map<String, Json>> {
    match std::fs::read_to_string(path) {
        Ok(text) => match serde_json::from_str::<Json>(&text) {
            Ok(Json::Object(m)) => Ok(m),
            _ => Err(Error::Project {
                path: path.to_path_buf(),
                message: "it is not a JSON object".into(),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes a context file, keys sorted.
pub(crate) fn write_file(path: &Path, mut all: Map<String, Json>) -> Result<()> {
    all.sort_keys();
    let text = serde_json::to_string_pretty(&Json::Object(all)).unwrap_or_default();
    std::fs::write(path, format!("{text}\n")).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// At most this many runs of the app (the CDK stops when a run makes no progress).
const MAX_ROUNDS: usize = 5;

/// Runs the app (nothing for an assembly directory) and, while its assembly misses
/// context, looks it up, saves it and runs the app again; with `lookups` off, a missing
/// entry is an error listing the keys.
pub(crate) async fn synthesize_with<C: LookupClients>(
    source: &mut AppSource,
    lookups: bool,
    clients: impl Fn() -> C,
) -> Result<std::path::PathBuf> {
    let mut previous: Option<Vec<String>> = None;
    let mut made: Option<C> = None;
    for _ in 0..MAX_ROUNDS {
        let dir = source.synthesize()?;
        let AppSource::Command {
            context,
            dir: project,
            ..
        } = source
        else {
            return Ok(dir);
        };
        let missing = missing_of(&dir)?;
        if missing.is_empty() {
            return Ok(dir);
        }
        let keys: Vec<String> = missing.iter().map(|m| m.key.clone()).collect();
        if !lookups {
            return Err(Error::MissingContext {
                keys,
                reason: "context lookups are disabled (--no-lookups): run `cairn synth` where AWS credentials can read the environments and commit cdk.context.json".into(),
            });
        }
        if previous.as_ref() == Some(&keys) {
            return Err(Error::MissingContext {
                keys,
                reason: "they are still missing after a lookup (a provider's error is above, or the app does not read its context: build it with `cairn::Context::from_env()?.into_app()`)".into(),
            });
        }
        eprintln!(
            "Some context information is missing. Fetching... ({})",
            keys.join(", ")
        );
        let clients = made.get_or_insert_with(&clients);
        let updates = resolve(clients, &missing).await;
        for (k, v) in &updates {
            if let Some(e) = cairn_core::context::provider_error(v) {
                eprintln!("context lookup {k} failed: {e}");
            }
        }
        save(project, &updates)?;
        context.extend(updates);
        previous = Some(keys);
    }
    Err(Error::MissingContext {
        keys: previous.unwrap_or_default(),
        reason: format!("they are still missing after {MAX_ROUNDS} runs of the app"),
    })
}

/// The lookup loop (`synthesize_with`) with AWS: the standard credential chain,
/// `AWS_ENDPOINT_URL` honoured.
pub fn synthesize(source: &mut AppSource, lookups: bool) -> Result<std::path::PathBuf> {
    if !matches!(source, AppSource::Command { .. }) {
        return source.synthesize();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let config = query::load_config().await;
        synthesize_with(source, lookups, || query::AwsLookups::new(config.clone())).await
    })
}

#[cfg(test)]
mod tests;
