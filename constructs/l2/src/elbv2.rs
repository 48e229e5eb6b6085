//! Elastic Load Balancing v2: application load balancers, listeners, rules, target groups.
//!
//! A public ALB opens its listener ports to `0.0.0.0/0`, which the no-public-ingress rule
//! refuses unless allow-listed. [`ApplicationLoadBalancer::public_ingress`] lists the
//! `(port, construct path)` pairs to allow:
//!
//! ```
//! use cairn_aspects::rules::NoPublicIngress;
//! use cairn_aspects::{Mode, RuleSet};
//! use cairn_constructs::ec2::{Vpc, VpcProps};
//! use cairn_constructs::elbv2::{
//!     ApplicationLoadBalancer, ApplicationLoadBalancerProps, ListenerAction, ListenerCondition,
//!     ListenerProps,
//! };
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Web")?;
//! let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
//! let alb = ApplicationLoadBalancer::new(&mut app, stack, "Alb", ApplicationLoadBalancerProps::new(&vpc))?;
//! let cert = "arn:aws:acm:eu-west-1:123456789012:certificate/abc";
//! let https = alb.add_listener(&mut app, "Https", ListenerProps::https(cert,
//!     ListenerAction::fixed_response(404, "text/plain", "not found")))?;
//! https.add_rule(&mut app, 10, vec![ListenerCondition::path_patterns(["/maintenance*"])],
//!     ListenerAction::fixed_response(503, "text/html", "<h1>Back soon</h1>"))?;
//!
//! let mut ingress = NoPublicIngress::default();
//! for (port, path) in alb.public_ingress(&app) {
//!     ingress = ingress.allow(port, &path);                 // (443, "Web/Alb/SecurityGroup")
//! }
//! let root = app.root();
//! RuleSet::recommended().rule(ingress, Mode::Error).apply(&mut app, root);
//! app.synth()?;
//! # Ok(())
//! # }
//! ```

use cairn_core::{App, NodeId, Pseudo, Res, Result, Val, Value};

use crate::ec2::{Instance, Peer, Port, SecurityGroup, SecurityGroupProps, SubnetType, Vpc};
use crate::iam::{PolicyStatement, Principal};
use crate::s3::{Bucket, BucketEncryption, BucketProps};

pub use cairn_cfn::elasticloadbalancingv2::*;

/// The accounts of Elastic Load Balancing that write access logs in the Regions opened
/// before August 2022; newer Regions use the `logdelivery.elasticloadbalancing.amazonaws.com`
/// service principal.
pub const ELB_LOG_ACCOUNTS: &[(&str, &str)] = &[
    ("us-east-1", "127311923021"),
    ("us-east-2", "033677994240"),
    ("us-west-1", "027434742980"),
    ("us-west-2", "797873946194"),
    ("af-south-1", "098369216593"),
    ("ap-east-1", "754344448648"),
    ("ap-southeast-3", "589379963580"),
    ("ap-south-1", "718504428378"),
    ("ap-northeast-3", "383597477331"),
    ("ap-northeast-2", "600734575887"),
    ("ap-southeast-1", "114774131450"),
    ("ap-southeast-2", "783225319266"),
    ("ap-northeast-1", "582318560864"),
    ("ca-central-1", "985666609251"),
    ("eu-central-1", "054676820928"),
    ("eu-west-1", "156460612806"),
    ("eu-west-2", "652711504416"),
    ("eu-south-1", "635631232127"),
    ("eu-west-3", "009996457667"),
    ("eu-north-1", "897822967062"),
    ("me-south-1", "076674570225"),
    ("sa-east-1", "507241528517"),
    ("us-gov-west-1", "048591011584"),
    ("us-gov-east-1", "190560391635"),
    ("cn-north-1", "638102146993"),
    ("cn-northwest-1", "037604701340"),
];

/// Where the access logs go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccessLogs {
    /// The bucket (must use SSE-S3); `None` creates one with the secure defaults of
    /// [`BucketProps`] under the load balancer (`<Alb>/AccessLogsBucket`).
    pub bucket: Option<Bucket>,
    /// A key prefix (without slashes at either end).
    pub prefix: Option<&'static str>,
}

impl AccessLogs {
    /// Access logs to a new bucket.
    pub fn new_bucket() -> Self {
        AccessLogs {
            bucket: None,
            prefix: None,
        }
    }

    /// Access logs to an existing bucket of this app.
    pub fn to_bucket(bucket: Bucket) -> Self {
        AccessLogs {
            bucket: Some(bucket),
            prefix: None,
        }
    }
}

/// Settings of an [`ApplicationLoadBalancer`].
#[derive(Debug, Clone)]
pub struct ApplicationLoadBalancerProps {
    /// The VPC.
    pub vpc: Vpc,
    /// Internet-facing (default) or internal.
    pub internet_facing: bool,
    /// The subnets: public ones for an internet-facing ALB, private-with-egress ones for
    /// an internal one when `None`.
    pub subnet_type: Option<SubnetType>,
    /// The security group; one with no outbound rules is created when `None`, and
    /// listeners open their port on it.
    pub security_group: Option<SecurityGroup>,
    /// Access logs to S3 (off when `None`).
    pub access_logs: Option<AccessLogs>,
    /// Drop HTTP headers with invalid names (default true).
    pub drop_invalid_header_fields: bool,
    /// Deletion protection.
    pub deletion_protection: bool,
    /// Idle timeout in seconds.
    pub idle_timeout_seconds: Option<i64>,
    /// A physical name; generated when `None` (recommended).
    pub name: Option<String>,
}

impl ApplicationLoadBalancerProps {
    /// An internet-facing ALB in the VPC's public subnets.
    pub fn new(vpc: &Vpc) -> Self {
        ApplicationLoadBalancerProps {
            vpc: vpc.clone(),
            internet_facing: true,
            subnet_type: None,
            security_group: None,
            access_logs: None,
            drop_invalid_header_fields: true,
            deletion_protection: false,
            idle_timeout_seconds: None,
            name: None,
        }
    }
}

/// An application load balancer (`AWS::ElasticLoadBalancingV2::LoadBalancer`) with its
/// security group.
#[derive(Debug, Clone, Copy)]
pub struct ApplicationLoadBalancer {
    node: NodeId,
    resource: Res<CfnLoadBalancer>,
    security_group: SecurityGroup,
    access_logs_bucket: Option<Bucket>,
}

fn attr(key: &str, value: &str) -> Val<load_balancer::LoadBalancerAttribute> {
    Val::Lit(load_balancer::LoadBalancerAttribute {
        key: Some(key.into()),
        value: Some(value.into()),
    })
}

impl ApplicationLoadBalancer {
    /// Creates the load balancer as construct `id` under `scope`.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: ApplicationLoadBalancerProps,
    ) -> Result<ApplicationLoadBalancer> {
        let node = app.construct(scope, id)?;
        // aws-cdk-lib's description names the load balancer by its unique id
        // (`GroupDescription` is create-only: a port keeps its group).
        let unique_id = cairn_core::make_unique_id(&app.path_from(app.root(), node));
        let subnet_type = props.subnet_type.unwrap_or(if props.internet_facing {
            SubnetType::Public
        } else {
            SubnetType::PrivateWithEgress
        });
        let subnets: Vec<Value> = props
            .vpc
            .require_subnets(app, node, subnet_type)?
            .iter()
            .map(|s| s.subnet_id())
            .collect();
        if subnets.len() < 2 {
            return Err(app.invalid_props(
                node,
                format!(
                    "an application load balancer needs subnets in at least two AZs, the VPC has {} {subnet_type} subnet(s)",
                    subnets.len()
                ),
            ));
        }
        let security_group = match props.security_group {
            Some(sg) => sg,
            None => SecurityGroup::new(
                app,
                node,
                "SecurityGroup",
                SecurityGroupProps {
                    allow_all_outbound: false,
                    ..SecurityGroupProps::new(
                        &props.vpc,
                        &format!("Automatically created Security Group for ELB {unique_id}"),
                    )
                },
            )?,
        };
        let mut attributes = vec![
            attr(
                "deletion_protection.enabled",
                if props.deletion_protection {
                    "true"
                } else {
                    "false"
                },
            ),
            attr(
                "routing.http.drop_invalid_header_fields.enabled",
                if props.drop_invalid_header_fields {
                    "true"
                } else {
                    "false"
                },
            ),
        ];
        if let Some(t) = props.idle_timeout_seconds {
            attributes.push(attr("idle_timeout.timeout_seconds", &t.to_string()));
        }
        let access_logs_bucket = match props.access_logs {
            Some(logs) => Some(Self::access_logs(app, node, logs, &mut attributes)?),
            None => None,
        };
        let lb = CfnLoadBalancer {
            type_: Some(load_balancer::Type::Application.into()),
            scheme: Some(
                if props.internet_facing {
                    load_balancer::Scheme::InternetFacing
                } else {
                    load_balancer::Scheme::Internal
                }
                .into(),
            ),
            subnets: Some(Val::Lit(subnets.into_iter().map(Val::from).collect())),
            security_groups: Some(Val::Lit(vec![Val::from(security_group.security_group_id())])),
            load_balancer_attributes: Some(Val::Lit(attributes)),
            name: props.name.as_deref().map(Into::into),
            ..Default::default()
        };
        let resource = app.add(node, "Resource", lb)?;
        // The bucket policy must exist before the ALB checks that it may write.
        if let Some(policy) = access_logs_bucket.and_then(|b| b.policy(app)) {
            app.resource_options_mut(resource)?.depends_on.push(policy);
        }
        // An internet-facing ALB needs the internet gateway route in place.
        if props.internet_facing {
            if let Some(att) = app.node(props.vpc.node()).child("VPCGW") {
                app.resource_options_mut(resource)?.depends_on.push(att);
            }
        }
        Ok(ApplicationLoadBalancer {
            node,
            resource,
            security_group,
            access_logs_bucket,
        })
    }

    /// Access logs to `logs.bucket` (or a new `AccessLogsBucket`): the bucket policy lets
    /// the Region's Elastic Load Balancing account write, and the attributes turn them
    /// on; returns the bucket.
    fn access_logs(
        app: &mut App,
        node: NodeId,
        logs: AccessLogs,
        attributes: &mut Vec<Val<load_balancer::LoadBalancerAttribute>>,
    ) -> Result<Bucket> {
        let bucket = match logs.bucket {
            Some(b) => b,
            None => Bucket::new(app, node, "AccessLogsBucket", BucketProps::default())?,
        };
        if bucket.encryption() != BucketEncryption::S3Managed {
            return Err(app.invalid_props(
                node,
                "ALB access logs support only SSE-S3 buckets; give the bucket BucketEncryption::S3Managed",
            ));
        }
        let prefix = logs.prefix.unwrap_or("").trim_matches('/').to_string();
        let object_path = if prefix.is_empty() {
            "AWSLogs/".to_string()
        } else {
            format!("{prefix}/AWSLogs/")
        };
        let objects = Value::join(
            "",
            [
                bucket.arn(),
                Value::from(format!("/{object_path}")),
                Value::pseudo(Pseudo::AccountId),
                Value::from("/*"),
            ],
        );
        let region = app
            .stack_of(node)
            .and_then(|s| app.environment_of(s).region)
            .ok_or_else(|| app.invalid_props(
                node,
                "access logs need the stack's region (the bucket policy names the Region's Elastic Load Balancing account); give the stack an environment with a region",
            ))?;
        let principal = match ELB_LOG_ACCOUNTS.iter().find(|(r, _)| *r == region) {
            Some((_, account)) => Principal::account(*account),
            None => Principal::service("logdelivery.elasticloadbalancing.amazonaws.com"),
        };
        bucket.add_to_resource_policy(
            app,
            PolicyStatement::allow()
                .sid("ElbAccessLogDelivery")
                .principal(principal)
                .actions(["s3:PutObject"])
                .resource(objects),
        )?;
        attributes.push(attr("access_logs.s3.enabled", "true"));
        attributes.push(Val::Lit(load_balancer::LoadBalancerAttribute {
            key: Some("access_logs.s3.bucket".into()),
            value: Some(bucket.bucket_name().into()),
        }));
        if !prefix.is_empty() {
            attributes.push(attr("access_logs.s3.prefix", &prefix));
        }
        Ok(bucket)
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The `AWS::ElasticLoadBalancingV2::LoadBalancer`.
    pub fn resource(&self) -> Res<CfnLoadBalancer> {
        self.resource
    }

    /// The load balancer's ARN (`Ref`).
    pub fn load_balancer_arn(&self) -> Value {
        self.resource.ref_()
    }

    /// The DNS name.
    pub fn dns_name(&self) -> Value {
        self.resource.get_att("DNSName")
    }

    /// The hosted zone id (for alias records).
    pub fn canonical_hosted_zone_id(&self) -> Value {
        self.resource.get_att("CanonicalHostedZoneID")
    }

    /// The security group.
    pub fn security_group(&self) -> SecurityGroup {
        self.security_group
    }

    /// The access logs bucket, when access logs are on.
    pub fn access_logs_bucket(&self) -> Option<Bucket> {
        self.access_logs_bucket
    }

    /// The `(port, security group path)` pairs open to the internet (`0.0.0.0/0` or
    /// `::/0`), for `NoPublicIngress::allow(port, path)`.
    pub fn public_ingress(&self, app: &App) -> Vec<(i64, String)> {
        let path = app.path(self.security_group.node());
        let Some(sg) = app
            .node(self.security_group.resource().node())
            .resource::<crate::ec2::CfnSecurityGroup>()
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(Val::Lit(rules)) = &sg.security_group_ingress {
            for r in rules.iter().filter_map(Val::literal) {
                let open = r.cidr_ip.as_ref().and_then(Val::literal).map(String::as_str) == Some("0.0.0.0/0")
                    || r.cidr_ipv6.as_ref().and_then(Val::literal).map(String::as_str) == Some("::/0");
                if let (true, Some(Val::Lit(port))) = (open, &r.from_port) {
                    if !out.contains(&(*port, path.clone())) {
                        out.push((*port, path.clone()));
                    }
                }
            }
        }
        out
    }

    /// Adds a listener as construct `id` under the load balancer. With `open` (the
    /// default) its port is opened to the world on the load balancer's security group.
    pub fn add_listener(&self, app: &mut App, id: &str, props: ListenerProps) -> Result<ApplicationListener> {
        let node = app.construct(self.node, id)?;
        if props.protocol == ApplicationProtocol::Https && props.certificates.is_empty() {
            return Err(app.invalid_props(node, "an HTTPS listener needs at least one certificate ARN"));
        }
        if props.protocol == ApplicationProtocol::Http && !props.certificates.is_empty() {
            return Err(app.invalid_props(
                node,
                "certificates are only used by HTTPS listeners; use ListenerProps::https",
            ));
        }
        let mut l = CfnListener::new(
            Val::Lit(vec![Val::Lit(props.default_action.to_listener_action())]),
            self.load_balancer_arn(),
        );
        l.port = Some(i64::from(props.port).into());
        l.protocol = Some(
            match props.protocol {
                ApplicationProtocol::Http => listener::Protocol::Http,
                ApplicationProtocol::Https => listener::Protocol::Https,
            }
            .into(),
        );
        if props.protocol == ApplicationProtocol::Https {
            // The first certificate is the default; the others become a ListenerCertificate.
            l.certificates = Some(Val::Lit(vec![Val::Lit(listener::Certificate {
                certificate_arn: Some(props.certificates[0].clone().into()),
            })]));
            l.ssl_policy = Some(
                props
                    .ssl_policy
                    .as_deref()
                    .unwrap_or("ELBSecurityPolicy-TLS13-1-2-2021-06")
                    .into(),
            );
        }
        let resource = app.add(node, "Resource", l)?;
        if props.certificates.len() > 1 {
            let extra: Vec<Val<listener_certificate::Certificate>> = props.certificates[1..]
                .iter()
                .map(|c| {
                    Val::Lit(listener_certificate::Certificate {
                        certificate_arn: Some(c.clone().into()),
                    })
                })
                .collect();
            app.add(
                node,
                "Certificates",
                CfnListenerCertificate::new(Val::Lit(extra), resource.ref_()),
            )?;
        }
        if props.open {
            self.security_group.add_ingress_rule(
                app,
                Peer::any_ipv4(),
                Port::tcp(props.port),
                &format!("Allow from anyone on port {}", props.port),
            )?;
        }
        Ok(ApplicationListener { node, resource })
    }

    /// Lets the load balancer reach targets in `targets` on `port` (egress here, ingress there).
    pub fn allow_to(&self, app: &mut App, targets: &SecurityGroup, port: Port) -> Result<()> {
        self.security_group
            .allow_to(app, targets, port, "Load balancer to target")
    }
}

/// HTTP or HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationProtocol {
    /// HTTP
    Http,
    /// HTTPS
    Https,
}

/// Settings of a listener.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerProps {
    /// The port.
    pub port: u16,
    /// The protocol.
    pub protocol: ApplicationProtocol,
    /// Certificate ARNs (HTTPS): the first is the default.
    pub certificates: Vec<Value>,
    /// What the listener does when no rule matches.
    pub default_action: ListenerAction,
    /// The TLS policy (HTTPS); `ELBSecurityPolicy-TLS13-1-2-2021-06` when `None`.
    pub ssl_policy: Option<String>,
    /// Open the port to the world on the load balancer's security group (default true).
    pub open: bool,
}

impl ListenerProps {
    /// HTTPS on 443 with one certificate.
    pub fn https(certificate_arn: impl Into<Value>, default_action: ListenerAction) -> Self {
        ListenerProps {
            port: 443,
            protocol: ApplicationProtocol::Https,
            certificates: vec![certificate_arn.into()],
            default_action,
            ssl_policy: None,
            open: true,
        }
    }

    /// HTTP on 80.
    pub fn http(default_action: ListenerAction) -> Self {
        ListenerProps {
            port: 80,
            protocol: ApplicationProtocol::Http,
            certificates: Vec::new(),
            default_action,
            ssl_policy: None,
            open: true,
        }
    }

    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

/// What a listener or rule does with a request.
#[derive(Debug, Clone, PartialEq)]
pub enum ListenerAction {
    /// Answer directly (e.g. a maintenance page).
    FixedResponse {
        /// The HTTP status code (2XX, 4XX or 5XX).
        status_code: u16,
        /// `text/plain`, `text/css`, `text/html`, `application/javascript` or `application/json`.
        content_type: Option<String>,
        /// The body (up to 1024 characters).
        body: Option<String>,
    },
    /// Forward to target groups, with weights.
    Forward(Vec<(Value, i64)>),
    /// Redirect (fields left `None` keep the request's: `#{protocol}`, `#{host}` ...).
    Redirect {
        /// `HTTP`, `HTTPS` or `#{protocol}`.
        protocol: Option<String>,
        /// The port.
        port: Option<String>,
        /// The host.
        host: Option<String>,
        /// The path (starting with `/`).
        path: Option<String>,
        /// The query (without `?`).
        query: Option<String>,
        /// 301 when true, else 302.
        permanent: bool,
    },
}

impl ListenerAction {
    /// A fixed response, e.g. `fixed_response(503, "text/html", "<h1>Maintenance</h1>")`.
    pub fn fixed_response(status_code: u16, content_type: &str, body: &str) -> Self {
        ListenerAction::FixedResponse {
            status_code,
            content_type: Some(content_type.to_string()),
            body: Some(body.to_string()),
        }
    }

    /// Forward to one target group.
    pub fn forward(target_group: &ApplicationTargetGroup) -> Self {
        ListenerAction::Forward(vec![(target_group.target_group_arn(), 1)])
    }

    /// Forward to several target groups by weight.
    pub fn weighted_forward(groups: &[(&ApplicationTargetGroup, i64)]) -> Self {
        ListenerAction::Forward(groups.iter().map(|(g, w)| (g.target_group_arn(), *w)).collect())
    }

    /// A redirect; see [`ListenerAction::redirect_to_https`] for the usual one.
    pub fn redirect(
        protocol: Option<&str>,
        port: Option<&str>,
        host: Option<&str>,
        path: Option<&str>,
        permanent: bool,
    ) -> Self {
        ListenerAction::Redirect {
            protocol: protocol.map(str::to_string),
            port: port.map(str::to_string),
            host: host.map(str::to_string),
            path: path.map(str::to_string),
            query: None,
            permanent,
        }
    }

    /// A permanent redirect to HTTPS on 443, keeping host, path and query.
    pub fn redirect_to_https() -> Self {
        Self::redirect(Some("HTTPS"), Some("443"), None, None, true)
    }
}

/// Renders a [`ListenerAction`] into one of the two (identically shaped) L1 action types.
macro_rules! render_action {
    ($action:expr, $m:ident) => {{
        match $action {
            ListenerAction::FixedResponse {
                status_code,
                content_type,
                body,
            } => {
                let mut c = $m::FixedResponseConfig::new(status_code.to_string());
                c.content_type = content_type.as_deref().map(Into::into);
                c.message_body = body.as_deref().map(Into::into);
                $m::Action {
                    fixed_response_config: Some(c.into()),
                    ..$m::Action::new($m::Type::FixedResponse)
                }
            }
            ListenerAction::Forward(groups) if groups.len() == 1 => $m::Action {
                target_group_arn: Some(groups[0].0.clone().into()),
                ..$m::Action::new($m::Type::Forward)
            },
            ListenerAction::Forward(groups) => $m::Action {
                forward_config: Some(
                    $m::ForwardConfig {
                        target_groups: Some(Val::Lit(
                            groups
                                .iter()
                                .map(|(arn, w)| {
                                    Val::Lit($m::TargetGroupTuple {
                                        target_group_arn: Some(arn.clone().into()),
                                        weight: Some((*w).into()),
                                    })
                                })
                                .collect(),
                        )),
                        ..Default::default()
                    }
                    .into(),
                ),
                ..$m::Action::new($m::Type::Forward)
            },
            ListenerAction::Redirect {
                protocol,
                port,
                host,
                path,
                query,
                permanent,
            } => {
                let mut c = $m::RedirectConfig::new(if *permanent {
                    $m::StatusCode::Http301
                } else {
                    $m::StatusCode::Http302
                });
                c.protocol = protocol.as_deref().map(Into::into);
                c.port = port.as_deref().map(Into::into);
                c.host = host.as_deref().map(Into::into);
                c.path = path.as_deref().map(Into::into);
                c.query = query.as_deref().map(Into::into);
                $m::Action {
                    redirect_config: Some(c.into()),
                    ..$m::Action::new($m::Type::Redirect)
                }
            }
        }
    }};
}

impl ListenerAction {
    fn to_listener_action(&self) -> listener::Action {
        render_action!(self, listener)
    }

    fn to_rule_action(&self) -> listener_rule::Action {
        render_action!(self, listener_rule)
    }
}

/// A condition of a listener rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerCondition {
    /// The request path matches one of the patterns (`*` and `?` wildcards).
    PathPatterns(Vec<String>),
    /// The `Host` header matches one of the names.
    HostHeaders(Vec<String>),
    /// A header matches one of the values.
    HttpHeader(String, Vec<String>),
    /// The method is one of these.
    HttpRequestMethods(Vec<String>),
    /// The source IP is in one of these CIDRs.
    SourceIps(Vec<String>),
}

fn strings<S: Into<String>>(v: impl IntoIterator<Item = S>) -> Vec<String> {
    v.into_iter().map(Into::into).collect()
}

fn val_list(v: &[String]) -> Option<Val<Vec<Val<String>>>> {
    Some(Val::Lit(v.iter().map(|s| Val::from(s.as_str())).collect()))
}

impl ListenerCondition {
    /// Path patterns, e.g. `["/api/*"]`.
    pub fn path_patterns<S: Into<String>>(patterns: impl IntoIterator<Item = S>) -> Self {
        ListenerCondition::PathPatterns(strings(patterns))
    }

    /// Host headers, e.g. `["www.example.com"]`.
    pub fn host_headers<S: Into<String>>(hosts: impl IntoIterator<Item = S>) -> Self {
        ListenerCondition::HostHeaders(strings(hosts))
    }

    /// A header and its accepted values.
    pub fn http_header<S: Into<String>>(name: &str, values: impl IntoIterator<Item = S>) -> Self {
        ListenerCondition::HttpHeader(name.to_string(), strings(values))
    }

    /// Request methods, e.g. `["GET", "HEAD"]`.
    pub fn http_request_methods<S: Into<String>>(methods: impl IntoIterator<Item = S>) -> Self {
        ListenerCondition::HttpRequestMethods(strings(methods))
    }

    /// Source CIDRs.
    pub fn source_ips<S: Into<String>>(cidrs: impl IntoIterator<Item = S>) -> Self {
        ListenerCondition::SourceIps(strings(cidrs))
    }

    fn value_count(&self) -> usize {
        match self {
            ListenerCondition::PathPatterns(v)
            | ListenerCondition::HostHeaders(v)
            | ListenerCondition::HttpHeader(_, v)
            | ListenerCondition::HttpRequestMethods(v)
            | ListenerCondition::SourceIps(v) => v.len(),
        }
    }

    fn to_l1(&self) -> listener_rule::RuleCondition {
        use listener_rule as m;
        match self {
            ListenerCondition::PathPatterns(v) => m::RuleCondition {
                field: Some("path-pattern".into()),
                path_pattern_config: Some(
                    m::PathPatternConfig {
                        values: val_list(v),
                        ..Default::default()
                    }
                    .into(),
                ),
                ..Default::default()
            },
            ListenerCondition::HostHeaders(v) => m::RuleCondition {
                field: Some("host-header".into()),
                host_header_config: Some(
                    m::HostHeaderConfig {
                        values: val_list(v),
                        ..Default::default()
                    }
                    .into(),
                ),
                ..Default::default()
            },
            ListenerCondition::HttpHeader(name, v) => m::RuleCondition {
                field: Some("http-header".into()),
                http_header_config: Some(
                    m::HttpHeaderConfig {
                        http_header_name: Some(name.as_str().into()),
                        values: val_list(v),
                        ..Default::default()
                    }
                    .into(),
                ),
                ..Default::default()
            },
            ListenerCondition::HttpRequestMethods(v) => m::RuleCondition {
                field: Some("http-request-method".into()),
                http_request_method_config: Some(m::HttpRequestMethodConfig { values: val_list(v) }.into()),
                ..Default::default()
            },
            ListenerCondition::SourceIps(v) => m::RuleCondition {
                field: Some("source-ip".into()),
                source_ip_config: Some(
                    m::SourceIpConfig {
                        values: val_list(v),
                        ..Default::default()
                    }
                    .into(),
                ),
                ..Default::default()
            },
        }
    }
}

/// A listener (`AWS::ElasticLoadBalancingV2::Listener`).
#[derive(Debug, Clone, Copy)]
pub struct ApplicationListener {
    node: NodeId,
    resource: Res<CfnListener>,
}

impl ApplicationListener {
    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The `AWS::ElasticLoadBalancingV2::Listener`.
    pub fn resource(&self) -> Res<CfnListener> {
        self.resource
    }

    /// The listener's ARN (`Ref`).
    pub fn listener_arn(&self) -> Value {
        self.resource.ref_()
    }

    /// Adds a target group as construct `<id>Group` under the listener and makes it the
    /// listener's default action (forward), replacing the one given in its props: aws-cdk-lib's
    /// `listener.addTargets(id, ..)` without conditions, with its construct ids (so a ported
    /// `AlbHttpWebGroup...` keeps its logical ID).
    pub fn add_targets(
        &self,
        app: &mut App,
        id: &str,
        props: ApplicationTargetGroupProps,
    ) -> Result<ApplicationTargetGroup> {
        let group = ApplicationTargetGroup::new(app, self.node, &format!("{id}Group"), props)?;
        let action = ListenerAction::forward(&group).to_listener_action();
        match app.node_mut(self.resource.node()).resource_mut::<CfnListener>() {
            Some(l) => l.default_actions = Val::Lit(vec![Val::Lit(action)]),
            None => {
                return Err(app.invalid_props(
                    self.node,
                    "the listener's resource is not an AWS::ElasticLoadBalancingV2::Listener; add targets to a listener made by add_listener",
                ))
            }
        }
        Ok(group)
    }

    /// Adds a rule (construct `Rule<priority>` under the listener): when all `conditions`
    /// match, `action` runs. Priorities are unique per listener, 1 to 50000.
    pub fn add_rule(
        &self,
        app: &mut App,
        priority: u16,
        conditions: Vec<ListenerCondition>,
        action: ListenerAction,
    ) -> Result<Res<CfnListenerRule>> {
        let problem = |problem: String| app.invalid_props(self.node, problem);
        if priority == 0 || priority > 50000 {
            return Err(problem(format!("rule priority {priority} is outside 1..=50000")));
        }
        let id = format!("Rule{priority}");
        if app.node(self.node).child(&id).is_some() {
            return Err(problem(format!(
                "a rule with priority {priority} already exists on this listener; priorities are unique"
            )));
        }
        if conditions.is_empty() {
            return Err(problem("a rule needs at least one condition".into()));
        }
        let values: usize = conditions.iter().map(ListenerCondition::value_count).sum();
        if values > 5 {
            return Err(problem(format!(
                "the rule's conditions have {values} values; ELB allows 5 per rule"
            )));
        }
        let mut rule = CfnListenerRule::new(
            Val::Lit(vec![Val::Lit(action.to_rule_action())]),
            Val::Lit(conditions.iter().map(|c| Val::Lit(c.to_l1())).collect()),
            i64::from(priority),
        );
        rule.listener_arn = Some(self.listener_arn().into());
        app.add(self.node, &id, rule)
    }
}

/// How targets are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetType {
    /// EC2 instance ids.
    Instance,
    /// IP addresses.
    Ip,
    /// A Lambda function ARN.
    Lambda,
}

/// A target of a target group.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An instance id (on the group's port).
    Instance(Value),
    /// An instance id on its own port (aws-cdk-lib's `new InstanceTarget(instance, port)`
    /// writes the port).
    InstanceOnPort(Value, u16),
    /// An IP address (and optional port).
    Ip(String, Option<u16>),
    /// A Lambda function ARN (the function must allow `elasticloadbalancing.amazonaws.com`
    /// to invoke it).
    Lambda(Value),
}

impl Target {
    /// An instance of this app.
    pub fn instance(instance: &Instance) -> Self {
        Target::Instance(instance.instance_id())
    }

    /// An instance of this app on `port`.
    pub fn instance_on_port(instance: &Instance, port: u16) -> Self {
        Target::InstanceOnPort(instance.instance_id(), port)
    }

    fn target_type(&self) -> TargetType {
        match self {
            Target::Instance(_) | Target::InstanceOnPort(..) => TargetType::Instance,
            Target::Ip(..) => TargetType::Ip,
            Target::Lambda(_) => TargetType::Lambda,
        }
    }
}

/// Health check settings of a target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// The path (default `/`).
    pub path: String,
    /// Seconds between checks.
    pub interval_seconds: i64,
    /// Seconds before a check fails.
    pub timeout_seconds: i64,
    /// Successes before healthy.
    pub healthy_threshold: i64,
    /// Failures before unhealthy.
    pub unhealthy_threshold: i64,
    /// Accepted HTTP codes, e.g. `200` or `200-399`.
    pub healthy_http_codes: String,
    /// The port (`traffic-port` when `None`).
    pub port: Option<u16>,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            path: "/".into(),
            interval_seconds: 30,
            timeout_seconds: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            healthy_http_codes: "200".into(),
            port: None,
        }
    }
}

/// Settings of an [`ApplicationTargetGroup`].
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationTargetGroupProps {
    /// The VPC id (not used for Lambda targets).
    pub vpc_id: Value,
    /// The port targets listen on.
    pub port: u16,
    /// The protocol to targets.
    pub protocol: ApplicationProtocol,
    /// How targets are addressed.
    pub target_type: TargetType,
    /// Registered targets.
    pub targets: Vec<Target>,
    /// Health checks.
    pub health_check: HealthCheck,
    /// Seconds to drain a deregistered target (ELB's default 300 when `None`).
    pub deregistration_delay_seconds: Option<i64>,
}

impl ApplicationTargetGroupProps {
    /// HTTP to instances on `port`.
    pub fn new(vpc: &Vpc, port: u16) -> Self {
        ApplicationTargetGroupProps {
            vpc_id: vpc.vpc_id(),
            port,
            protocol: ApplicationProtocol::Http,
            target_type: TargetType::Instance,
            targets: Vec::new(),
            health_check: HealthCheck::default(),
            deregistration_delay_seconds: None,
        }
    }
}

/// A target group (`AWS::ElasticLoadBalancingV2::TargetGroup`).
#[derive(Debug, Clone, Copy)]
pub struct ApplicationTargetGroup {
    node: NodeId,
    resource: Res<CfnTargetGroup>,
}

impl ApplicationTargetGroup {
    /// Creates the target group as construct `id` under `scope`.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: ApplicationTargetGroupProps,
    ) -> Result<ApplicationTargetGroup> {
        let node = app.construct(scope, id)?;
        if let Some(t) = props
            .targets
            .iter()
            .find(|t| t.target_type() != props.target_type)
        {
            return Err(app.invalid_props(
                node,
                format!(
                    "target {t:?} does not match the group's target type {:?}",
                    props.target_type
                ),
            ));
        }
        let hc = &props.health_check;
        let lambda = props.target_type == TargetType::Lambda;
        let mut tg = CfnTargetGroup {
            target_type: Some(
                match props.target_type {
                    TargetType::Instance => target_group::TargetType::Instance,
                    TargetType::Ip => target_group::TargetType::Ip,
                    TargetType::Lambda => target_group::TargetType::Lambda,
                }
                .into(),
            ),
            health_check_enabled: Some(true.into()),
            health_check_path: Some(hc.path.as_str().into()),
            health_check_interval_seconds: Some(hc.interval_seconds.into()),
            health_check_timeout_seconds: Some(hc.timeout_seconds.into()),
            healthy_threshold_count: Some(hc.healthy_threshold.into()),
            unhealthy_threshold_count: Some(hc.unhealthy_threshold.into()),
            matcher: Some(
                target_group::Matcher {
                    http_code: Some(hc.healthy_http_codes.as_str().into()),
                    ..Default::default()
                }
                .into(),
            ),
            ..Default::default()
        };
        if !lambda {
            tg.vpc_id = Some(props.vpc_id.clone().into());
            tg.port = Some(i64::from(props.port).into());
            let proto = match props.protocol {
                ApplicationProtocol::Http => target_group::Protocol::Http,
                ApplicationProtocol::Https => target_group::Protocol::Https,
            };
            tg.protocol = Some(proto.into());
            tg.health_check_port = Some(
                hc.port
                    .map_or("traffic-port".to_string(), |p| p.to_string())
                    .into(),
            );
        }
        if let Some(d) = props.deregistration_delay_seconds {
            tg.target_group_attributes = Some(Val::Lit(vec![Val::Lit(target_group::TargetGroupAttribute {
                key: Some("deregistration_delay.timeout_seconds".into()),
                value: Some(d.to_string().into()),
            })]));
        }
        if !props.targets.is_empty() {
            tg.targets = Some(Val::Lit(
                props
                    .targets
                    .iter()
                    .map(|t| {
                        Val::Lit(match t {
                            Target::Instance(id) | Target::Lambda(id) => {
                                target_group::TargetDescription::new(id.clone())
                            }
                            Target::Ip(ip, port) => target_group::TargetDescription {
                                port: port.map(|p| i64::from(p).into()),
                                ..target_group::TargetDescription::new(ip.as_str())
                            },
                            Target::InstanceOnPort(id, port) => target_group::TargetDescription {
                                port: Some(i64::from(*port).into()),
                                ..target_group::TargetDescription::new(id.clone())
                            },
                        })
                    })
                    .collect(),
            ));
        }
        let resource = app.add(node, "Resource", tg)?;
        Ok(ApplicationTargetGroup { node, resource })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The `AWS::ElasticLoadBalancingV2::TargetGroup`.
    pub fn resource(&self) -> Res<CfnTargetGroup> {
        self.resource
    }

    /// The target group's ARN (`Ref`).
    pub fn target_group_arn(&self) -> Value {
        self.resource.ref_()
    }
}

construct!(
    ApplicationLoadBalancer,
    ApplicationListener,
    ApplicationTargetGroup
);
node_from!(
    ApplicationLoadBalancer,
    ApplicationListener,
    ApplicationTargetGroup
);
