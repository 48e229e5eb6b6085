//! CloudFront: distributions in front of a private S3 bucket, reached only through origin
//! access control (OAC).
//!
//! [`Distribution`] creates the distribution, its origin access control (child
//! `OriginAccessControl`, signing every request with SigV4) and a statement in the
//! bucket's policy that lets `cloudfront.amazonaws.com` read objects only on behalf of
//! this distribution (`AWS:SourceArn` is the distribution's ARN). The bucket stays
//! private: its public access block is untouched and no origin access identity or
//! website endpoint is used. Viewers are redirected to HTTPS; the managed
//! `CachingOptimized` cache policy and `SecurityHeadersPolicy` response headers policy
//! apply by default.
//!
//! ```
//! use cairn_constructs::cloudfront::{Distribution, DistributionProps};
//! use cairn_constructs::s3::{Bucket, BucketProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("Site")?;
//! let bucket = Bucket::new(&mut app, stack, "Content", BucketProps::default())?;
//! let cdn = Distribution::new(&mut app, stack, "Cdn", DistributionProps::new(bucket))?;
//! let asm = app.synth()?;
//! let s = asm.stack("Site").unwrap();
//! let policy = &s.template["Resources"][s.resources_of_type("AWS::S3::BucketPolicy")[0]];
//! let statement = &policy["Properties"]["PolicyDocument"]["Statement"][1];
//! assert_eq!(statement["Principal"]["Service"], "cloudfront.amazonaws.com");
//! assert!(statement["Condition"]["StringEquals"]["AWS:SourceArn"].is_object());
//! # let _ = cdn;
//! # Ok(())
//! # }
//! ```
//!
//! The bucket and the distribution must be in one stack: the bucket policy names the
//! distribution and the distribution names the bucket, so across two stacks each would
//! import from the other (a dependency cycle, which synthesis reports).

use cairn_core::{App, Arn, NodeId, Res, Result, Val, Value};

use crate::iam::{grant, Grantable, PolicyStatement, Principal};
use crate::s3::{Bucket, BucketEncryption};

pub use cairn_cfn::cloudfront::*;

/// The id of the managed cache policy `CachingOptimized`.
pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
/// The id of the managed cache policy `CachingDisabled`.
pub const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
/// The id of the managed response headers policy `SecurityHeadersPolicy` (HSTS,
/// `X-Content-Type-Options`, `X-Frame-Options`, `Referrer-Policy`, XSS protection).
pub const SECURITY_HEADERS_POLICY: &str = "67f7725c-6f97-4210-82d7-5512b31e9d03";

/// Which edge locations serve the distribution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PriceClass {
    /// North America and Europe (the default: the cheapest).
    #[default]
    PriceClass100,
    /// Adds Asia, the Middle East and Africa.
    PriceClass200,
    /// Every edge location.
    PriceClassAll,
}

/// A custom domain: its ACM certificate (in `us-east-1`) and the names it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomDomain {
    /// The ACM certificate's ARN.
    pub certificate_arn: Value,
    /// The domain names (`Aliases`).
    pub domain_names: Vec<String>,
}

/// A custom error response: the status returned to viewers for an origin error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The origin's HTTP status (e.g. 403 for a missing object behind OAC).
    pub http_status: i64,
    /// The status sent to the viewer.
    pub response_http_status: i64,
    /// The object served instead, e.g. `/index.html`.
    pub response_page_path: String,
    /// How long CloudFront caches the error, in seconds.
    pub ttl_seconds: i64,
}

/// Settings of a [`Distribution`]. Start from [`DistributionProps::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct DistributionProps {
    /// The private bucket served.
    pub bucket: Bucket,
    /// A key prefix served as the root, e.g. `/site` (no trailing `/`).
    pub origin_path: Option<String>,
    /// The object served for `/` (default `index.html`).
    pub default_root_object: Option<String>,
    /// `Comment` (at most 128 characters).
    pub comment: Option<String>,
    /// Edge locations (default: North America and Europe).
    pub price_class: PriceClass,
    /// A custom domain; without one the `*.cloudfront.net` certificate serves.
    pub domain: Option<CustomDomain>,
    /// A WAF web ACL's ARN.
    pub web_acl_id: Option<Value>,
    /// Countries (ISO 3166-1 alpha-2) the distribution serves; all when empty.
    pub allowed_countries: Vec<String>,
    /// Custom error responses.
    pub error_responses: Vec<ErrorResponse>,
    /// The cache policy id (default `CachingOptimized`).
    pub cache_policy_id: String,
    /// The response headers policy id (default `SecurityHeadersPolicy`).
    pub response_headers_policy_id: Option<String>,
    /// Serve over IPv6 too (default on).
    pub ipv6: bool,
    /// The ARN of a CloudFront Function (`AWS::CloudFront::Function`'s `FunctionARN`) run
    /// on every viewer request of the default behavior, e.g. one that refuses viewers
    /// outside an allow-list or without credentials; none by default.
    pub viewer_request_function: Option<Value>,
}

impl DistributionProps {
    /// A distribution of `bucket` with the secure defaults.
    pub fn new(bucket: Bucket) -> Self {
        DistributionProps {
            bucket,
            origin_path: None,
            default_root_object: Some("index.html".into()),
            comment: None,
            price_class: PriceClass::PriceClass100,
            domain: None,
            web_acl_id: None,
            allowed_countries: Vec::new(),
            error_responses: Vec::new(),
            cache_policy_id: CACHING_OPTIMIZED.into(),
            response_headers_policy_id: Some(SECURITY_HEADERS_POLICY.into()),
            ipv6: true,
            viewer_request_function: None,
        }
    }
}

/// A CloudFront distribution (`AWS::CloudFront::Distribution`, child `Resource`) serving
/// a private S3 bucket through origin access control (child
/// `OriginAccessControl/Resource`).
///
/// ```
/// use cairn_constructs::cloudfront::{Distribution, DistributionProps, ErrorResponse};
/// use cairn_constructs::s3::{Bucket, BucketProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("Site")?;
/// let bucket = Bucket::new(&mut app, stack, "Content", BucketProps::default())?;
/// let cdn = Distribution::new(&mut app, stack, "Cdn", DistributionProps {
///     comment: Some("status pages".into()),
///     error_responses: vec![ErrorResponse {
///         http_status: 403, response_http_status: 404,
///         response_page_path: "/404.html".into(), ttl_seconds: 60,
///     }],
///     ..DistributionProps::new(bucket)
/// })?;
/// let url = cdn.url();
/// # let _ = url;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Distribution {
    node: NodeId,
    resource: Res<CfnDistribution>,
    origin_access_control: Res<CfnOriginAccessControl>,
    bucket: Bucket,
}

impl PartialEq for Distribution {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

/// The last `n` characters of `s`.
fn tail(s: &str, n: usize) -> String {
    let count = s.chars().count();
    s.chars().skip(count.saturating_sub(n)).collect()
}

impl Distribution {
    /// Creates the distribution as construct `id` under `scope`, with its origin access
    /// control and the bucket policy statement. Invalid settings are one
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps) listing every problem.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: DistributionProps,
    ) -> Result<Distribution> {
        let node = app.construct(scope, id)?;
        let problems = Self::problems(app, node, &props);
        crate::check_props(app, node, problems)?;
        let bucket = props.bucket;
        let oac = Self::add_origin_access_control(app, node)?;
        let resource = app.add(node, "Resource", CfnDistribution::new(Self::config(&props, oac)))?;
        let d = Distribution {
            node,
            resource,
            origin_access_control: oac,
            bucket,
        };
        d.allow_reads(app)?;
        Ok(d)
    }

    /// What CloudFront or the bucket would refuse, all of it.
    fn problems(app: &App, node: NodeId, props: &DistributionProps) -> Vec<String> {
        let mut problems: Vec<String> = Vec::new();
        if app.stack_of(props.bucket.node()) != app.stack_of(node) {
            problems.push(
                "the bucket is in another stack: its policy and the distribution would reference each other across stacks (a cycle); create the distribution in the bucket's stack".into(),
            );
        }
        if let Some(path) = &props.origin_path {
            if !path.starts_with('/') || path.ends_with('/') {
                problems.push(format!(
                    "origin_path {path:?} must start with '/' and not end with '/', e.g. \"/site\""
                ));
            }
        }
        if props.comment.as_ref().is_some_and(|c| c.chars().count() > 128) {
            problems.push("comment must be at most 128 characters".into());
        }
        if props.domain.as_ref().is_some_and(|d| d.domain_names.is_empty()) {
            problems.push("a custom domain needs at least one domain name".into());
        }
        for c in &props.allowed_countries {
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                problems.push(format!(
                    "allowed country {c:?} is not an ISO 3166-1 alpha-2 code (two capital letters)"
                ));
            }
        }
        if props.bucket.encryption() == BucketEncryption::KmsManaged {
            problems.push(
                "the bucket is encrypted with the AWS managed key alias/aws/s3, which CloudFront cannot use; give the bucket SSE-S3 or a customer managed kms::Key".into(),
            );
        }
        problems
    }

    /// The origin access control (`OriginAccessControl`), named after the construct path
    /// (unique per account, at most 64 characters).
    fn add_origin_access_control(app: &mut App, node: NodeId) -> Result<Res<CfnOriginAccessControl>> {
        let oac_holder = app.construct(node, "OriginAccessControl")?;
        let unique = cairn_core::make_unique_id(&app.path_from(app.root(), oac_holder));
        let mut oac_config =
            origin_access_control::OriginAccessControlConfig::new(tail(&unique, 64), "s3", "always", "sigv4");
        oac_config.description = Some("Signs CloudFront's requests to the S3 origin (SigV4)".into());
        app.add(oac_holder, "Resource", CfnOriginAccessControl::new(oac_config))
    }

    /// The distribution: the bucket origin through `oac`, the default behavior, domain
    /// and certificate, geo restriction, error responses.
    fn config(
        props: &DistributionProps,
        oac: Res<CfnOriginAccessControl>,
    ) -> distribution::DistributionConfig {
        let origin_id = "S3Origin";
        let mut origin = distribution::Origin::new(props.bucket.regional_domain_name(), origin_id);
        origin.origin_access_control_id = Some(oac.attr_id().into());
        // OAC needs an S3 origin config without an origin access identity.
        origin.s3_origin_config = Some(
            distribution::S3OriginConfig {
                origin_access_identity: Some("".into()),
                ..Default::default()
            }
            .into(),
        );
        origin.origin_path = props.origin_path.as_deref().map(Into::into);

        let mut behavior = distribution::DefaultCacheBehavior::new(
            origin_id,
            distribution::ViewerProtocolPolicy::RedirectToHttps,
        );
        behavior.cache_policy_id = Some(props.cache_policy_id.as_str().into());
        behavior.response_headers_policy_id = props.response_headers_policy_id.as_deref().map(Into::into);
        behavior.compress = Some(true.into());
        behavior.allowed_methods = Some(vec![Val::from("GET"), Val::from("HEAD")].into());
        if let Some(arn) = &props.viewer_request_function {
            behavior.function_associations = Some(
                vec![Val::from(distribution::FunctionAssociation {
                    event_type: Some("viewer-request".into()),
                    function_arn: Some(arn.clone().into()),
                })]
                .into(),
            );
        }

        let mut config = distribution::DistributionConfig::new(behavior, true);
        config.origins = Some(vec![Val::from(origin)].into());
        config.default_root_object = props.default_root_object.as_deref().map(Into::into);
        config.comment = props.comment.as_deref().map(Into::into);
        config.price_class = Some(
            match props.price_class {
                PriceClass::PriceClass100 => distribution::PriceClass::PriceClass100,
                PriceClass::PriceClass200 => distribution::PriceClass::PriceClass200,
                PriceClass::PriceClassAll => distribution::PriceClass::PriceClassAll,
            }
            .into(),
        );
        config.http_version = Some(distribution::HttpVersion::Http2and3.into());
        config.ipv6_enabled = Some(props.ipv6.into());
        config.web_acl_id = props.web_acl_id.clone().map(Into::into);
        match &props.domain {
            Some(d) => {
                config.aliases = Some(
                    d.domain_names
                        .iter()
                        .map(|n| Val::from(n.as_str()))
                        .collect::<Vec<_>>()
                        .into(),
                );
                config.viewer_certificate = Some(
                    distribution::ViewerCertificate {
                        acm_certificate_arn: Some(d.certificate_arn.clone().into()),
                        minimum_protocol_version: Some(
                            distribution::MinimumProtocolVersion::TlSv122021.into(),
                        ),
                        ssl_support_method: Some(distribution::SslSupportMethod::SniOnly.into()),
                        ..Default::default()
                    }
                    .into(),
                );
            }
            None => {
                config.viewer_certificate = Some(
                    distribution::ViewerCertificate {
                        cloud_front_default_certificate: Some(true.into()),
                        ..Default::default()
                    }
                    .into(),
                );
            }
        }
        if !props.allowed_countries.is_empty() {
            let mut geo = distribution::GeoRestriction::new(distribution::RestrictionType::Whitelist);
            geo.locations = Some(
                props
                    .allowed_countries
                    .iter()
                    .map(|c| Val::from(distribution::LocationsItem::Other(c.clone())))
                    .collect::<Vec<_>>()
                    .into(),
            );
            config.restrictions = Some(distribution::Restrictions::new(geo).into());
        }
        if !props.error_responses.is_empty() {
            config.custom_error_responses = Some(
                props
                    .error_responses
                    .iter()
                    .map(|e| {
                        let mut r = distribution::CustomErrorResponse::new(e.http_status);
                        r.response_code = Some(e.response_http_status.into());
                        r.response_page_path = Some(e.response_page_path.as_str().into());
                        r.error_caching_min_ttl = Some((e.ttl_seconds as f64).into());
                        Val::from(r)
                    })
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        config
    }

    /// The bucket's policy: reads on behalf of this distribution only; and the bucket's
    /// customer managed key lets CloudFront decrypt.
    fn allow_reads(&self, app: &mut App) -> Result<()> {
        let bucket = self.bucket;
        bucket.add_to_resource_policy(
            app,
            PolicyStatement::allow()
                .sid("AllowCloudFrontServicePrincipalReadOnly")
                .principal(Principal::service("cloudfront.amazonaws.com"))
                .actions(["s3:GetObject"])
                .resource(bucket.arn_for_objects("*"))
                .condition("StringEquals", "AWS:SourceArn", self.distribution_arn()),
        )?;
        // The key cannot name the distribution: the distribution names the bucket, which
        // names the key (a cycle). As the CDK does, the key lets CloudFront decrypt for
        // the account's distributions; the bucket policy still admits only this one.
        if let BucketEncryption::Kms(key) = bucket.encryption() {
            key.add_to_resource_policy(
                app,
                PolicyStatement::allow()
                    .sid("AllowCloudFrontServicePrincipalDecrypt")
                    .principal(Principal::service("cloudfront.amazonaws.com"))
                    .actions(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"])
                    .resource("*")
                    .condition(
                        "ArnLike",
                        "AWS:SourceArn",
                        Arn::new("cloudfront", "distribution/*").no_region().format(),
                    ),
            )?;
        }
        Ok(())
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnDistribution> {
        self.resource
    }

    /// The origin access control's L1.
    pub fn origin_access_control(&self) -> Res<CfnOriginAccessControl> {
        self.origin_access_control
    }

    /// The bucket served.
    pub fn bucket(&self) -> Bucket {
        self.bucket
    }

    /// The distribution id (`Ref`).
    pub fn distribution_id(&self) -> Value {
        self.resource.ref_()
    }

    /// The `*.cloudfront.net` domain name.
    pub fn domain_name(&self) -> Value {
        self.resource.attr_domain_name()
    }

    /// `https://<domain name>`.
    pub fn url(&self) -> Value {
        Value::join("", [Value::from("https://"), self.domain_name()])
    }

    /// `arn:<partition>:cloudfront::<account>:distribution/<id>`.
    pub fn distribution_arn(&self) -> Value {
        Arn::new(
            "cloudfront",
            Value::join("", [Value::from("distribution/"), self.distribution_id()]),
        )
        .no_region()
        .format()
    }

    /// Grants `cloudfront:CreateInvalidation` and `GetInvalidation` on this distribution.
    pub fn grant_create_invalidation(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        grant(
            app,
            grantee,
            ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"],
            [self.distribution_arn()],
        )
    }
}

impl From<Distribution> for NodeId {
    fn from(d: Distribution) -> NodeId {
        d.node
    }
}

construct!(Distribution);
