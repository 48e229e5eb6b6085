//! [`Ec2Lookups`] over AWS: EC2's query API (a form-encoded POST signed with SigV4, an
//! XML answer, pages followed by `NextToken`) on the HTTP client the SDK crates already
//! bring, so the toolkit links no EC2 SDK crate; SSM through its SDK client.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use super::{Ec2Lookups, HostedZoneInfo, LookupClients, Route, RouteTable, Subnet, VpcInfo};
use crate::client::{CloudError, CloudResult};
use crate::error::Result;

/// The EC2 API version of the query calls.
const EC2_VERSION: &str = "2016-11-15";

/// The configuration of the standard chain (profile, region, `AWS_ENDPOINT_URL`).
pub(crate) async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Makes [`AwsQuery`] clients from one configuration.
pub(crate) struct AwsLookups {
    base: SdkConfig,
}

impl AwsLookups {
    pub(crate) fn new(base: SdkConfig) -> Self {
        AwsLookups { base }
    }
}

impl LookupClients for AwsLookups {
    type Api = AwsQuery;

    async fn connect(&self, region: &str, role_arn: Option<&str>) -> Result<AwsQuery> {
        let conf = self
            .base
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        let conf = match role_arn {
            None => conf,
            Some(role) => {
                let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name("cairn-lookup")
                    .configure(&conf)
                    .build()
                    .await;
                match provider.provide_credentials().await {
                    Ok(_) => conf
                        .to_builder()
                        .credentials_provider(SharedCredentialsProvider::new(provider))
                        .build(),
                    Err(e) => {
                        eprintln!("could not assume the lookup role {role} ({e}); looking up with the current credentials");
                        conf
                    }
                }
            }
        };
        Ok(AwsQuery::new(conf, region))
    }
}

/// The EC2 query client and SSM client of one region and set of credentials.
pub(crate) struct AwsQuery {
    conf: SdkConfig,
    endpoint: String,
    ssm: aws_sdk_ssm::Client,
}

impl AwsQuery {
    fn new(conf: SdkConfig, region: &str) -> Self {
        // Signed for the lookup's region, whatever the chain's.
        let conf = conf.to_builder().region(Region::new(region.to_string())).build();
        let endpoint = conf
            .endpoint_url()
            .map_or_else(|| crate::aws::service_endpoint("ec2", region), String::from);
        AwsQuery {
            ssm: aws_sdk_ssm::Client::new(&conf),
            conf,
            endpoint,
        }
    }

    /// One EC2 action (every page), the answers' root elements.
    async fn call(&self, action: &str, params: &[(String, String)]) -> CloudResult<Vec<Node>> {
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut form = vec![
                ("Action".to_string(), action.to_string()),
                ("Version".into(), EC2_VERSION.into()),
            ];
            form.extend(params.iter().cloned());
            if let Some(t) = &token {
                form.push(("NextToken".into(), t.clone()));
            }
            let body: String = form
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let (status, text) = self.post(&body).await?;
            let root = parse(&text)
                .map_err(|e| CloudError::Other(format!("{action}: the answer is not XML: {e}")))?;
            if status >= 300 {
                let code = root.find("Code").map(|n| n.text.clone());
                let message = root
                    .find("Message")
                    .map_or_else(|| text.clone(), |n| n.text.clone());
                return Err(CloudError::Service { code, message });
            }
            token = root
                .child("nextToken")
                .map(|n| n.text.clone())
                .filter(|t| !t.is_empty());
            pages.push(root);
            if token.is_none() {
                return Ok(pages);
            }
        }
    }

    async fn post(&self, body: &str) -> CloudResult<(u16, String)> {
        let req = hyper::Request::builder()
            .method("POST")
            .uri(&self.endpoint)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8");
        send(req, body, "ec2", &self.conf, &self.endpoint).await
    }

    /// One Route 53 REST call (`GET <path>`): the answer's root element, or the service's
    /// error. Route 53 is global: the partition's endpoint, signed for its home region.
    async fn route53(&self, path: &str) -> CloudResult<Node> {
        let region = self.conf.region().map(ToString::to_string).unwrap_or_default();
        let partition = cairn_core::Partition::of_region(&region);
        let (endpoint, home) = match self.conf.endpoint_url() {
            Some(custom) => (custom.trim_end_matches('/').to_string(), region.clone()),
            None => (
                format!("https://route53.{}", partition.dns_suffix()),
                ROUTE53_HOME
                    .iter()
                    .find(|(prefix, _)| region.starts_with(prefix))
                    .map_or("us-east-1", |(_, home)| home)
                    .to_string(),
            ),
        };
        let conf = self.conf.to_builder().region(Region::new(home)).build();
        let url = format!("{endpoint}{path}");
        let req = hyper::Request::builder().method("GET").uri(&url);
        let (status, text) = send(req, "", "route53", &conf, &endpoint).await?;
        let root = parse(&text)
            .map_err(|e| CloudError::Other(format!("route53 {path}: the answer is not XML: {e}")))?;
        if status >= 300 {
            return Err(CloudError::Service {
                code: root.find("Code").map(|n| n.text.clone()),
                message: root.find("Message").map_or(text, |n| n.text.clone()),
            });
        }
        Ok(root)
    }

    async fn items(&self, action: &str, params: &[(String, String)], set: &str) -> CloudResult<Vec<Node>> {
        Ok(self
            .call(action, params)
            .await?
            .into_iter()
            .flat_map(|root| root.child(set).map(|s| s.children.clone()).unwrap_or_default())
            .collect())
    }
}

/// `Filter.N.Name`/`Filter.N.Value.M` parameters.
fn filter_params(filters: &[(String, Vec<String>)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, (name, values)) in filters.iter().enumerate() {
        out.push((format!("Filter.{}.Name", i + 1), name.clone()));
        for (j, v) in values.iter().enumerate() {
            out.push((format!("Filter.{}.Value.{}", i + 1, j + 1), v.clone()));
        }
    }
    out
}

fn by_vpc(vpc_id: &str) -> Vec<(String, String)> {
    filter_params(&[("vpc-id".into(), vec![vpc_id.into()])])
}

impl Ec2Lookups for AwsQuery {
    async fn zones(&self) -> CloudResult<Vec<(String, String)>> {
        let items = self
            .items("DescribeAvailabilityZones", &[], "availabilityZoneInfo")
            .await?;
        Ok(items
            .iter()
            .map(|z| (z.text_of("zoneName"), z.text_of("zoneState")))
            .collect())
    }

    async fn vpcs(&self, filters: &[(String, Vec<String>)]) -> CloudResult<Vec<VpcInfo>> {
        let items = self
            .items("DescribeVpcs", &filter_params(filters), "vpcSet")
            .await?;
        Ok(items
            .iter()
            .map(|v| VpcInfo {
                id: v.text_of("vpcId"),
                cidr: v.text_of("cidrBlock"),
                owner: v.text_of("ownerId"),
            })
            .collect())
    }

    async fn subnets(&self, vpc_id: &str) -> CloudResult<Vec<Subnet>> {
        let items = self
            .items("DescribeSubnets", &by_vpc(vpc_id), "subnetSet")
            .await?;
        Ok(items
            .iter()
            .map(|s| Subnet {
                id: s.text_of("subnetId"),
                arn: s.text_of("subnetArn"),
                availability_zone: s.text_of("availabilityZone"),
                cidr: s.text_of("cidrBlock"),
                map_public_ip: s.text_of("mapPublicIpOnLaunch") == "true",
                tags: s.tags(),
            })
            .collect())
    }

    async fn route_tables(&self, vpc_id: &str) -> CloudResult<Vec<RouteTable>> {
        let items = self
            .items("DescribeRouteTables", &by_vpc(vpc_id), "routeTableSet")
            .await?;
        let opt = |n: &Node, k: &str| n.child(k).map(|c| c.text.clone()).filter(|t| !t.is_empty());
        Ok(items
            .iter()
            .map(|t| {
                let assoc = t
                    .child("associationSet")
                    .map(|a| a.children.clone())
                    .unwrap_or_default();
                RouteTable {
                    id: t.text_of("routeTableId"),
                    main: assoc.iter().any(|a| a.text_of("main") == "true"),
                    subnet_ids: assoc.iter().filter_map(|a| opt(a, "subnetId")).collect(),
                    routes: t
                        .child("routeSet")
                        .map(|r| r.children.clone())
                        .unwrap_or_default()
                        .iter()
                        .map(|r| Route {
                            destination: opt(r, "destinationCidrBlock"),
                            gateway_id: opt(r, "gatewayId"),
                            nat_gateway_id: opt(r, "natGatewayId"),
                            transit_gateway_id: opt(r, "transitGatewayId"),
                        })
                        .collect(),
                }
            })
            .collect())
    }

    async fn vpn_gateways(&self, vpc_id: &str) -> CloudResult<Vec<String>> {
        let params = filter_params(&[
            ("attachment.vpc-id".into(), vec![vpc_id.into()]),
            ("attachment.state".into(), vec!["attached".into()]),
            ("state".into(), vec!["available".into()]),
        ]);
        let items = self
            .items("DescribeVpnGateways", &params, "vpnGatewaySet")
            .await?;
        Ok(items.iter().map(|g| g.text_of("vpnGatewayId")).collect())
    }

    async fn images(
        &self,
        owners: &[String],
        filters: &[(String, Vec<String>)],
    ) -> CloudResult<Vec<(String, String)>> {
        let mut params = filter_params(filters);
        for (i, o) in owners.iter().enumerate() {
            params.push((format!("Owner.{}", i + 1), o.clone()));
        }
        let items = self.items("DescribeImages", &params, "imagesSet").await?;
        Ok(items
            .iter()
            .map(|i| (i.text_of("imageId"), i.text_of("creationDate")))
            .filter(|(id, _)| !id.is_empty())
            .collect())
    }

    async fn hosted_zones(&self, dns_name: &str) -> CloudResult<Vec<HostedZoneInfo>> {
        let root = self
            .route53(&format!(
                "/2013-04-01/hostedzonesbyname?dnsname={}",
                encode(dns_name)
            ))
            .await?;
        let zones = root
            .child("HostedZones")
            .map_or(&[][..], |z| z.children.as_slice());
        Ok(zones
            .iter()
            .map(|z| {
                let config = z.child("Config");
                HostedZoneInfo {
                    id: z.text_of("Id"),
                    name: z.text_of("Name"),
                    caller_reference: z.text_of("CallerReference"),
                    comment: config.and_then(|c| c.child("Comment")).map(|c| c.text.clone()),
                    private: config.is_some_and(|c| c.text_of("PrivateZone") == "true"),
                    record_count: z.text_of("ResourceRecordSetCount").parse().unwrap_or(0),
                }
            })
            .collect())
    }

    async fn hosted_zone_vpcs(&self, zone_id: &str) -> CloudResult<Vec<String>> {
        let id = zone_id.trim_start_matches("/hostedzone/");
        let root = self
            .route53(&format!(
                "/2013-04-01/hostedzone/{}",
                crate::signed::path_segment(id)
            ))
            .await?;
        let vpcs = root.child("VPCs").map_or(&[][..], |v| v.children.as_slice());
        Ok(vpcs.iter().map(|v| v.text_of("VPCId")).collect())
    }

    async fn parameter(&self, name: &str) -> CloudResult<Option<String>> {
        use aws_sdk_ssm::error::ProvideErrorMetadata;
        match self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
            Err(e) if e.code() == Some("ParameterNotFound") => Ok(None),
            Err(e) => Err(CloudError::Service {
                code: e.code().map(String::from),
                message: e.message().map_or_else(|| format!("{e:?}"), String::from),
            }),
        }
    }
}

/// Route 53's signing region by the partition's region prefix (the global endpoint's home).
const ROUTE53_HOME: [(&str, &str); 3] = [
    ("cn-", "cn-northwest-1"),
    ("us-gov-", "us-gov-west-1"),
    ("us-iso", "us-iso-east-1"),
];

/// Signs and sends one request (`body` for a POST, empty for a GET) for `service`; the
/// status and the answer's text. `endpoint` names the host in an unreachable error.
async fn send(
    req: hyper::http::request::Builder,
    body: &str,
    service: &str,
    conf: &SdkConfig,
    endpoint: &str,
) -> CloudResult<(u16, String)> {
    let unreachable = |cause: String| CloudError::Unreachable {
        endpoint: endpoint.to_string(),
        cause,
        hint: "check the network (or AWS_ENDPOINT_URL) and the region".into(),
    };
    let mut req = req
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| CloudError::Other(format!("{endpoint} is not a valid endpoint: {e}")))?;
    crate::signed::sign(&mut req, body.as_bytes(), service, conf)
        .await
        .map_err(CloudError::Other)?;
    let client = crate::signed::http_client().map_err(CloudError::Other)?;
    let response = client
        .request(req)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| unreachable(e.to_string()))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Percent-encoding of a form value (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An XML element: its name, text, children.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Node {
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn text_of(&self, name: &str) -> String {
        self.child(name).map(|c| c.text.clone()).unwrap_or_default()
    }

    /// The first element of that name at any depth.
    fn find(&self, name: &str) -> Option<&Node> {
        self.children
            .iter()
            .find_map(|c| if c.name == name { Some(c) } else { c.find(name) })
    }

    fn tags(&self) -> Vec<(String, String)> {
        self.child("tagSet")
            .map(|t| {
                t.children
                    .iter()
                    .map(|i| (i.text_of("key"), i.text_of("value")))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The root element of an XML text.
pub(crate) fn parse(text: &str) -> std::result::Result<Node, String> {
    use xmlparser::{ElementEnd, Token, Tokenizer};
    let mut stack: Vec<Node> = vec![Node::default()];
    for token in Tokenizer::from(text) {
        match token.map_err(|e| e.to_string())? {
            Token::ElementStart { local, .. } => stack.push(Node {
                name: local.as_str().to_string(),
                ..Node::default()
            }),
            Token::ElementEnd { end, .. } => match end {
                ElementEnd::Open => {}
                ElementEnd::Close(..) | ElementEnd::Empty => {
                    let done = stack.pop().ok_or("unbalanced elements")?;
                    stack.last_mut().ok_or("unbalanced elements")?.children.push(done);
                }
            },
            Token::Text { text } | Token::Cdata { text, .. } => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&unescape(text.as_str()));
                }
            }
            _ => {}
        }
    }
    let mut top = stack.pop().ok_or("no document")?;
    if !stack.is_empty() {
        return Err("unclosed elements".into());
    }
    top.children.pop().ok_or_else(|| "no root element".to_string())
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
