//! The client traits of [`crate::client`] implemented with the AWS SDK for Rust:
//! CloudFormation, S3, SSM and STS clients for one region, the configuration from the
//! standard chain, and the translation of SDK errors into [`CloudError`]s a person can act on
//! (an endpoint that cannot be reached is named with the cause and what to check, and is
//! not retried).

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::primitives::DateTimeFormat;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus as CfnChangeSetStatus, ChangeSetType, Parameter as CfnParameter,
    Replacement as CfnReplacement, Tag, TemplateStage,
};
use aws_sdk_sts::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use cairn_core::Partition;

use crate::client::{
    AccountInfo, ChangeSet, ChangeSetId, ChangeSetKind, ChangeSetStatus, Cloud, CloudError, CloudFormation,
    CloudResult, Clouds, DetectionStatus, DriftDetection, ObjectInfo, ObjectStore, Parameter,
    PropertyDifference, ResourceChange, ResourceDrift, StackRequest, StackState, StackSummary, Template,
};
use crate::diff::Replacement;
use crate::events::StackEvent;
use crate::AwsOptions;

/// The capabilities every create and update acknowledges (the assembly is the user's own
/// code, as with the CDK CLI).
const CAPABILITIES: [Capability; 3] = [
    Capability::CapabilityIam,
    Capability::CapabilityNamedIam,
    Capability::CapabilityAutoExpand,
];

/// The configuration of one command run, and the clients of each region from it.
pub(crate) struct AwsClouds {
    base: SdkConfig,
}

impl AwsClouds {
    /// Loads the configuration (profile, region, endpoint) from the standard chain and
    /// `options`. Makes no call to AWS.
    pub(crate) async fn new(options: &AwsOptions) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                // Throttling and transient errors are retried with exponential backoff
                // (an endpoint that cannot be reached is not: see `NoRetryWhenUnreachable`).
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_max_backoff(Duration::from_secs(20)),
            )
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .build(),
            );
        if let Some(p) = &options.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &options.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(e) = &options.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let base = loader.load().await;
        let base = match &options.role_arn {
            Some(role) => assumed(&base, role).await,
            None => base,
        };
        AwsClouds { base }
    }
}

/// `conf` with the credentials of `role_arn`, assumed with `conf`'s own (lazily: a role
/// that cannot be assumed fails the first call, with STS's reason).
pub(crate) async fn assumed(conf: &SdkConfig, role_arn: &str) -> SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name("cairn")
        .configure(conf)
        .build()
        .await;
    conf.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

impl Clouds for AwsClouds {
    type Cloud = AwsCloud;

    fn default_region(&self) -> Option<String> {
        self.base.region().map(ToString::to_string)
    }

    async fn connect(&self, region: &str) -> AwsCloud {
        let conf = self
            .base
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        AwsCloud::new(&conf, region)
    }

    async fn assume(&self, region: &str, role_arn: &str) -> CloudResult<AwsCloud> {
        let conf = self
            .base
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        let conf = assumed(&conf, role_arn).await;
        // Asked once now, so a role that cannot be assumed is known before any call.
        if let Some(provider) = conf.credentials_provider() {
            provider
                .provide_credentials()
                .await
                .map_err(|e| CloudError::Other(chain(&e)))?;
        }
        Ok(AwsCloud::new(&conf, region))
    }
}

/// The CloudFormation, S3, SSM and STS clients of one region.
pub(crate) struct AwsCloud {
    cfn: aws_sdk_cloudformation::Client,
    s3: aws_sdk_s3::Client,
    ssm: aws_sdk_ssm::Client,
    sts: aws_sdk_sts::Client,
    region: String,
    /// The endpoint every call goes to (`--endpoint-url`), when one is configured.
    custom_endpoint: Option<String>,
    /// Lambda, Step Functions and ECS, for hotswap deployments.
    pub(crate) services: crate::hotswap::aws::AwsServices,
}

impl AwsCloud {
    fn new(conf: &SdkConfig, region: &str) -> Self {
        let mut s3 = aws_sdk_s3::config::Builder::from(conf).retry_classifier(NoRetryWhenUnreachable);
        if conf.endpoint_url().is_some() {
            // A local endpoint serves buckets by path, not by host name.
            s3 = s3.force_path_style(true);
        }
        AwsCloud {
            cfn: aws_sdk_cloudformation::Client::from_conf(
                aws_sdk_cloudformation::config::Builder::from(conf)
                    .retry_classifier(NoRetryWhenUnreachable)
                    .build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            ssm: aws_sdk_ssm::Client::from_conf(
                aws_sdk_ssm::config::Builder::from(conf)
                    .retry_classifier(NoRetryWhenUnreachable)
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(conf)
                    .retry_classifier(NoRetryWhenUnreachable)
                    .build(),
            ),
            region: region.to_string(),
            custom_endpoint: conf.endpoint_url().map(String::from),
            services: crate::hotswap::aws::AwsServices::new(conf, region),
        }
    }

    /// Translates an SDK error of a call to `service` (`cloudformation`, `s3` ...).
    fn error<E, R>(&self, service: &str, e: SdkError<E, R>) -> CloudError
    where
        E: ProvideErrorMetadata + StdError + 'static,
        R: fmt::Debug + HttpStatus + 'static,
    {
        let endpoint = || endpoint_and_hint(self.custom_endpoint.as_deref(), service, &self.region);
        match &e {
            SdkError::DispatchFailure(failure) => {
                let (endpoint, hint) = endpoint();
                let cause = failure
                    .as_connector_error()
                    .map_or_else(|| chain(&e), connector_cause);
                CloudError::Unreachable {
                    endpoint,
                    cause,
                    hint,
                }
            }
            SdkError::TimeoutError(_) => {
                let (endpoint, hint) = endpoint();
                CloudError::Unreachable {
                    endpoint,
                    cause: "no answer in time".into(),
                    hint,
                }
            }
            SdkError::ServiceError(_) => match (e.code(), e.message()) {
                (code, Some(m)) => CloudError::Service {
                    code: code.map(String::from),
                    message: m.to_string(),
                },
                (code, None) => {
                    let status = e.raw_response().map(HttpStatus::status_code);
                    CloudError::Service {
                        code: code.map(String::from),
                        message: match status {
                            Some(s) if s >= 500 => format!(
                                "the endpoint failed with HTTP {s} and no error message (an internal error of the service or endpoint)"
                            ),
                            Some(s) => format!("HTTP {s} without an error message"),
                            None => chain(&e),
                        },
                    }
                }
            },
            SdkError::ResponseError(_) => {
                let status = e.raw_response().map(HttpStatus::status_code);
                CloudError::Other(format!(
                    "the answer of {} cannot be read{}: {}",
                    endpoint().0,
                    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
                    chain(&e)
                ))
            }
            _ => CloudError::Other(chain(&e)),
        }
    }

    fn cfn_err<E, R>(&self, e: SdkError<E, R>) -> CloudError
    where
        E: ProvideErrorMetadata + StdError + 'static,
        R: fmt::Debug + HttpStatus + 'static,
    {
        self.error("cloudformation", e)
    }
}

/// The endpoint calls to `service` go to (`--endpoint-url` when configured, else the
/// public one of `region`), and what to check when it cannot be reached.
pub(crate) fn endpoint_and_hint(custom: Option<&str>, service: &str, region: &str) -> (String, String) {
    match custom {
        Some(url) => (
            url.to_string(),
            "check that the endpoint is running and that --endpoint-url or AWS_ENDPOINT_URL names it".to_string(),
        ),
        None => (
            service_endpoint(service, region),
            format!(
                "check the network connection (and HTTPS_PROXY if a proxy is needed), and that the region {region} is right (--region, AWS_REGION or the profile's)"
            ),
        ),
    }
}

/// The public endpoint of `service` in `region`, in the region's partition.
pub(crate) fn service_endpoint(service: &str, region: &str) -> String {
    format!(
        "https://{service}.{region}.{}",
        Partition::of_region(region).dns_suffix()
    )
}

/// The messages of an error and its sources, `: `-joined (the SDK's own `Debug` is left out).
fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !text.is_empty() && parts.last() != Some(&text) {
            parts.push(text);
        }
        next = err.source();
    }
    if parts.is_empty() {
        return DisplayErrorContext(e).to_string();
    }
    parts.join(": ")
}

/// Why a connection could not be made, in words.
fn connector_cause(e: &ConnectorError) -> String {
    match unreachable_kind(e) {
        None if e.is_timeout() => "the connection timed out".into(),
        _ => unreachable_cause(e),
    }
}

/// Why a connection could not be made, in words, from any error chain.
pub(crate) fn unreachable_cause(e: &(dyn StdError + 'static)) -> String {
    match unreachable_kind(e) {
        Some(Unreachable::Refused) => "connection refused: nothing listens there".into(),
        Some(Unreachable::UnknownHost) => format!("the host name does not resolve: {}", deepest(e)),
        None => deepest(e),
    }
}

fn deepest(e: &(dyn StdError + 'static)) -> String {
    let mut last = e.to_string();
    let mut next = e.source();
    while let Some(err) = next {
        let text = err.to_string();
        if !text.is_empty() {
            last = text;
        }
        next = err.source();
    }
    last
}

/// Failures that a retry does not cure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unreachable {
    /// Nothing listens at the address.
    Refused,
    /// The host name does not resolve.
    UnknownHost,
}

fn unreachable_kind(e: &(dyn StdError + 'static)) -> Option<Unreachable> {
    let mut next: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return Some(Unreachable::Refused);
            }
        }
        let text = err.to_string();
        if text.starts_with("dns error") || text.contains("failed to lookup address") {
            return Some(Unreachable::UnknownHost);
        }
        next = err.source();
    }
    None
}

/// Forbids retrying a call whose endpoint refused the connection or whose host name does
/// not resolve: the standard strategy would retry it for seconds and then report the same.
#[derive(Debug, Clone, Copy)]
struct NoRetryWhenUnreachable;

impl ClassifyRetry for NoRetryWhenUnreachable {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(e)) => match e.as_connector_error() {
                Some(c) if unreachable_kind(c).is_some() => RetryAction::RetryForbidden,
                _ => RetryAction::NoActionIndicated,
            },
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "no retry when the endpoint is unreachable"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// The HTTP status of a raw response.
trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn sdk_parameters(parameters: &[Parameter]) -> Vec<CfnParameter> {
    parameters
        .iter()
        .map(|p| match &p.value {
            Some(v) => CfnParameter::builder()
                .parameter_key(&p.key)
                .parameter_value(v)
                .build(),
            None => CfnParameter::builder()
                .parameter_key(&p.key)
                .use_previous_value(true)
                .build(),
        })
        .collect()
}

fn sdk_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn replacement(r: Option<&CfnReplacement>) -> Replacement {
    match r.map(CfnReplacement::as_str) {
        Some("True") => Replacement::Always,
        Some("Conditional") => Replacement::Conditional,
        _ => Replacement::Never,
    }
}

/// A token that makes a retried request idempotent (`ClientRequestToken`).
fn request_token(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("cairn-{what}-{}-{nanos}", std::process::id())
}

fn sdk_resources_to_import(
    resources: &[crate::client::ResourceToImport],
) -> CloudResult<Vec<aws_sdk_cloudformation::types::ResourceToImport>> {
    resources
        .iter()
        .map(|r| {
            Ok(aws_sdk_cloudformation::types::ResourceToImport::builder()
                .resource_type(&r.resource_type)
                .logical_resource_id(&r.logical_id)
                .set_resource_identifier(Some(
                    r.identifier.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                ))
                .build())
        })
        .collect()
}

/// Sets the template of a request builder (body or URL).
macro_rules! with_template {
    ($req:expr, $template:expr) => {
        match $template {
            Template::Body(b) => $req.template_body(b),
            Template::Url(u) => $req.template_url(u),
        }
    };
}

impl CloudFormation for AwsCloud {
    async fn describe_stack(&self, stack: &str) -> CloudResult<Option<StackState>> {
        let out = match self.cfn.describe_stacks().stack_name(stack).send().await {
            Ok(o) => o,
            Err(e) => {
                let e = self.cfn_err(e);
                return if e.is_not_found() { Ok(None) } else { Err(e) };
            }
        };
        Ok(out.stacks().first().map(|s| StackState {
            id: s.stack_id().unwrap_or(stack).to_string(),
            status: s
                .stack_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            status_reason: s.stack_status_reason().map(String::from),
            parameters: s
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_string(),
                        p.parameter_value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
            tags: s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
            termination_protection: s.enable_termination_protection().unwrap_or(false),
            outputs: s
                .outputs()
                .iter()
                .filter_map(|o| {
                    Some((
                        o.output_key()?.to_string(),
                        o.output_value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
        }))
    }

    async fn get_template(&self, stack: &str) -> CloudResult<String> {
        let out = self
            .cfn
            .get_template()
            .stack_name(stack)
            .template_stage(TemplateStage::Original)
            .send()
            .await
            .map_err(|e| self.cfn_err(e))?;
        Ok(out.template_body().unwrap_or("{}").to_string())
    }

    async fn stack_events(&self, stack: &str) -> CloudResult<Vec<StackEvent>> {
        let out = self
            .cfn
            .describe_stack_events()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| self.cfn_err(e))?;
        Ok(out
            .stack_events()
            .iter()
            .map(|e| StackEvent {
                id: e.event_id().unwrap_or_default().to_string(),
                timestamp: e
                    .timestamp()
                    .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok())
                    .unwrap_or_default(),
                logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: e.resource_type().unwrap_or_default().to_string(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(String::from),
            })
            .collect())
    }

    async fn stack_resources(&self, stack: &str) -> CloudResult<Vec<(String, String)>> {
        let out = self
            .cfn
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| self.cfn_err(e))?;
        Ok(out
            .stack_resources()
            .iter()
            .filter_map(|r| {
                Some((
                    r.logical_resource_id()?.to_string(),
                    r.physical_resource_id().unwrap_or_default().to_string(),
                ))
            })
            .collect())
    }

    async fn validate_template(&self, template: &Template) -> CloudResult<()> {
        let req = self.cfn.validate_template();
        with_template!(req, template)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.cfn_err(e))
    }

    async fn create_change_set(
        &self,
        request: &StackRequest,
        name: &str,
        kind: ChangeSetKind,
    ) -> CloudResult<ChangeSetId> {
        let req = self
            .cfn
            .create_change_set()
            .stack_name(&request.stack)
            .change_set_name(name)
            .change_set_type(match kind {
                ChangeSetKind::Create => ChangeSetType::Create,
                ChangeSetKind::Update => ChangeSetType::Update,
                ChangeSetKind::Import => ChangeSetType::Import,
            })
            .set_resources_to_import(
                (!request.resources_to_import.is_empty())
                    .then(|| sdk_resources_to_import(&request.resources_to_import))
                    .transpose()?,
            )
            .set_parameters(Some(sdk_parameters(&request.parameters)))
            .set_tags(Some(sdk_tags(&request.tags)))
            .set_notification_arns(Some(request.notification_arns.clone()))
            .set_capabilities(Some(CAPABILITIES.to_vec()))
            .set_role_arn(request.role_arn.clone())
            .description("cairn deploy");
        let out = with_template!(req, &request.template)
            .send()
            .await
            .map_err(|e| self.cfn_err(e))?;
        Ok(ChangeSetId {
            id: out.id().unwrap_or(name).to_string(),
            stack_id: out.stack_id().unwrap_or(&request.stack).to_string(),
        })
    }

    async fn describe_change_set(&self, id: &ChangeSetId) -> CloudResult<ChangeSet> {
        let out = self
            .cfn
            .describe_change_set()
            .change_set_name(&id.id)
            .stack_name(&id.stack_id)
            .send()
            .await
            .map_err(|e| self.cfn_err(e))?;
        let status = match out.status() {
            Some(CfnChangeSetStatus::CreateComplete) => ChangeSetStatus::Ready,
            Some(CfnChangeSetStatus::Failed) => {
                ChangeSetStatus::Failed(out.status_reason().unwrap_or("no reason given").to_string())
            }
            _ => ChangeSetStatus::Pending,
        };
        let changes = out
            .changes()
            .iter()
            .filter_map(|c| c.resource_change())
            .map(|rc| ResourceChange {
                action: rc.action().map_or("?", |a| a.as_str()).to_string(),
                logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                resource_type: rc.resource_type().unwrap_or_default().to_string(),
                replacement: replacement(rc.replacement()),
            })
            .collect();
        Ok(ChangeSet { status, changes })
    }

    async fn execute_change_set(&self, id: &ChangeSetId, disable_rollback: bool) -> CloudResult<()> {
        let mut req = self
            .cfn
            .execute_change_set()
            .change_set_name(&id.id)
            .stack_name(&id.stack_id);
        if disable_rollback {
            req = req.disable_rollback(true);
        }
        req.send().await.map(|_| ()).map_err(|e| self.cfn_err(e))
    }

    async fn delete_change_set(&self, id: &ChangeSetId) -> CloudResult<()> {
        self.cfn
            .delete_change_set()
            .change_set_name(&id.id)
            .stack_name(&id.stack_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.cfn_err(e))
    }

    async fn create_stack(&self, request: &StackRequest) -> CloudResult<String> {
        let req = self
            .cfn
            .create_stack()
            .stack_name(&request.stack)
            .set_parameters(Some(sdk_parameters(&request.parameters)))
            .set_tags(Some(sdk_tags(&request.tags)))
            .set_notification_arns(Some(request.notification_arns.clone()))
            .set_capabilities(Some(CAPABILITIES.to_vec()))
            .set_role_arn(request.role_arn.clone())
            .disable_rollback(request.disable_rollback)
            .enable_termination_protection(request.termination_protection);
        let out = with_template!(req, &request.template)
            .send()
            .await
            .map_err(|e| self.cfn_err(e))?;
        Ok(out.stack_id().unwrap_or(&request.stack).to_string())
    }

    async fn update_stack(&self, request: &StackRequest) -> CloudResult<()> {
        let req = self
            .cfn
            .update_stack()
            .stack_name(&request.stack)
            .set_parameters(Some(sdk_parameters(&request.parameters)))
            .set_tags(Some(sdk_tags(&request.tags)))
            .set_notification_arns(Some(request.notification_arns.clone()))
            .set_capabilities(Some(CAPABILITIES.to_vec()))
            .set_role_arn(request.role_arn.clone())
            .disable_rollback(request.disable_rollback);
        with_template!(req, &request.template)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.cfn_err(e))
    }

    async fn delete_stack(&self, stack: &str, role_arn: Option<&str>) -> CloudResult<()> {
        self.cfn
            .delete_stack()
            .stack_name(stack)
            .set_role_arn(role_arn.map(String::from))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.cfn_err(e))
    }

    async fn continue_update_rollback(
        &self,
        stack: &str,
        role_arn: Option<&str>,
        skip: &[String],
    ) -> CloudResult<()> {
        self.cfn
            .continue_update_rollback()
            .stack_name(stack)
            .set_role_arn(role_arn.map(String::from))
            .set_resources_to_skip((!skip.is_empty()).then(|| skip.to_vec()))
            .client_request_token(request_token("continue"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.cfn_err(e))
    }

    async fn rollback_stack(&self, stack: &str, role_arn: Option<&str>) -> CloudResult<()> {
        self.cfn
            .rollback_stack()
            .stack_name(stack)
            .set_role_arn(role_arn.map(String::from))
            .retain_except_on_create(true)
            .client_request_token(request_token("rollback"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.cfn_err(e))
    }

    async fn detect_stack_drift(&self, stack: &str) -> CloudResult<String> {
        let out = self
            .cfn
            .detect_stack_drift()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| self.cfn_err(e))?;
        out.stack_drift_detection_id()
            .map(String::from)
            .ok_or_else(|| CloudError::Other("DetectStackDrift returned no detection id".into()))
    }

    async fn drift_detection_status(&self, detection_id: &str) -> CloudResult<DriftDetection> {
        let out = self
            .cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(detection_id)
            .send()
            .await
            .map_err(|e| self.cfn_err(e))?;
        let status = match out.detection_status().map(|s| s.as_str()) {
            Some("DETECTION_COMPLETE") => DetectionStatus::Complete,
            Some("DETECTION_FAILED") => DetectionStatus::Failed(
                out.detection_status_reason()
                    .unwrap_or("no reason given")
                    .to_string(),
            ),
            _ => DetectionStatus::InProgress,
        };
        Ok(DriftDetection {
            status,
            stack_drift_status: out.stack_drift_status().map(|s| s.as_str().to_string()),
        })
    }

    async fn stack_resource_drifts(&self, stack: &str) -> CloudResult<Vec<ResourceDrift>> {
        let mut drifts = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .cfn
                .describe_stack_resource_drifts()
                .stack_name(stack)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.cfn_err(e))?;
            for d in out.stack_resource_drifts() {
                drifts.push(ResourceDrift {
                    logical_id: d.logical_resource_id().unwrap_or_default().to_string(),
                    physical_id: d.physical_resource_id().unwrap_or_default().to_string(),
                    resource_type: d.resource_type().unwrap_or_default().to_string(),
                    status: d
                        .stack_resource_drift_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    differences: d
                        .property_differences()
                        .iter()
                        .map(|p| PropertyDifference {
                            path: p.property_path().unwrap_or_default().to_string(),
                            expected: p.expected_value().unwrap_or_default().to_string(),
                            actual: p.actual_value().unwrap_or_default().to_string(),
                            kind: p
                                .difference_type()
                                .map(|t| t.as_str().to_string())
                                .unwrap_or_default(),
                        })
                        .collect(),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(drifts),
            }
        }
    }

    async fn list_stacks(&self) -> CloudResult<Vec<StackSummary>> {
        let mut stacks = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .cfn
                .list_stacks()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| self.cfn_err(e))?;
            for s in out.stack_summaries() {
                stacks.push(StackSummary {
                    id: s.stack_id().unwrap_or_default().to_string(),
                    name: s.stack_name().unwrap_or_default().to_string(),
                    status: s
                        .stack_status()
                        .map(|x| x.as_str().to_string())
                        .unwrap_or_default(),
                });
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(stacks),
            }
        }
    }

    async fn update_termination_protection(&self, stack: &str, enabled: bool) -> CloudResult<()> {
        self.cfn
            .update_termination_protection()
            .stack_name(stack)
            .enable_termination_protection(enabled)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.cfn_err(e))
    }
}

impl ObjectStore for AwsCloud {
    async fn object_exists(&self, bucket: &str, key: &str) -> CloudResult<bool> {
        match self.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) => match self.error("s3", e) {
                // Not found, or not readable (403 without ListBucket): upload it.
                CloudError::Service { .. } => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> CloudResult<()> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.error("s3", e))
    }

    async fn list_objects(&self, bucket: &str) -> CloudResult<Vec<ObjectInfo>> {
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("s3", e))?;
            for o in out.contents() {
                objects.push(ObjectInfo {
                    key: o.key().unwrap_or_default().to_string(),
                    size: o.size().unwrap_or_default().try_into().unwrap_or_default(),
                    last_modified: o.last_modified().map_or(0, |t| t.secs()),
                });
            }
            match out.next_continuation_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(objects),
            }
        }
    }

    async fn object_tags(&self, bucket: &str, key: &str) -> CloudResult<Vec<(String, String)>> {
        let out = self
            .s3
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.error("s3", e))?;
        Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }

    async fn set_object_tags(&self, bucket: &str, key: &str, tags: &[(String, String)]) -> CloudResult<()> {
        if tags.is_empty() {
            return self
                .s3
                .delete_object_tagging()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.error("s3", e));
        }
        let tag_set = tags
            .iter()
            .map(|(k, v)| aws_sdk_s3::types::Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CloudError::Other(e.to_string()))?;
        let tagging = aws_sdk_s3::types::Tagging::builder()
            .set_tag_set(Some(tag_set))
            .build()
            .map_err(|e| CloudError::Other(e.to_string()))?;
        self.s3
            .put_object_tagging()
            .bucket(bucket)
            .key(key)
            .tagging(tagging)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.error("s3", e))
    }

    async fn delete_objects(&self, bucket: &str, keys: &[String]) -> CloudResult<Vec<(String, String)>> {
        let objects = keys
            .iter()
            .map(|k| aws_sdk_s3::types::ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CloudError::Other(e.to_string()))?;
        let delete = aws_sdk_s3::types::Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| CloudError::Other(e.to_string()))?;
        let out = self
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| self.error("s3", e))?;
        Ok(out
            .errors()
            .iter()
            .map(|e| {
                (
                    e.key().unwrap_or_default().to_string(),
                    format!(
                        "{}: {}",
                        e.code().unwrap_or("Error"),
                        e.message().unwrap_or("no message")
                    ),
                )
            })
            .collect())
    }
}

impl AccountInfo for AwsCloud {
    async fn account(&self) -> CloudResult<String> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| self.error("sts", e))?;
        Ok(out.account().unwrap_or_default().to_string())
    }

    async fn parameter(&self, name: &str) -> CloudResult<Option<String>> {
        match self.ssm.get_parameter().name(name).send().await {
            Ok(out) => Ok(Some(
                out.parameter()
                    .and_then(|p| p.value())
                    .unwrap_or_default()
                    .to_string(),
            )),
            Err(e) => match self.error("ssm", e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }
}

impl Cloud for AwsCloud {
    fn region(&self) -> &str {
        &self.region
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn endpoints_follow_the_partition() {
        assert_eq!(
            service_endpoint("cloudformation", "eu-west-1"),
            "https://cloudformation.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            service_endpoint("cloudformation", "cn-north-1"),
            "https://cloudformation.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            service_endpoint("s3", "us-gov-west-1"),
            "https://s3.us-gov-west-1.amazonaws.com"
        );
    }

    #[test]
    fn refused_connections_are_recognised_through_the_chain() {
        #[derive(Debug)]
        struct Wrap(std::io::Error);
        impl fmt::Display for Wrap {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("tcp connect error")
            }
        }
        impl StdError for Wrap {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let refused = ConnectorError::io(Box::new(Wrap(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        ))));
        assert_eq!(unreachable_kind(&refused), Some(Unreachable::Refused));
        assert!(connector_cause(&refused).starts_with("connection refused"));
        let reset = ConnectorError::io(Box::new(Wrap(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        ))));
        assert_eq!(unreachable_kind(&reset), None, "a reset is transient: retried");
    }

    /// A real SDK client against a local port where nothing listens: the call fails at
    /// once (no retries for seconds) and the error names the endpoint, the cause and
    /// what to check, without the SDK's debug structure. No server is needed.
    #[tokio::test]
    async fn an_endpoint_that_refuses_fails_fast_and_says_what_to_check() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        }; // dropped: nothing listens there now
        let endpoint = format!("http://127.0.0.1:{port}");
        let conf = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5))
            .load()
            .await;
        let cloud = AwsCloud::new(&conf, "us-east-1");
        let started = Instant::now();
        let err = cloud.describe_stack("Hello").await.unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(900), "retried for {took:?}");
        let text = err.clone().at("Hello", "DescribeStacks").to_string();
        assert!(
            matches!(&err, CloudError::Unreachable { cause, .. } if cause.starts_with("connection refused")),
            "{err:?}"
        );
        assert!(text.contains(&endpoint), "{text}");
        assert!(text.contains("--endpoint-url or AWS_ENDPOINT_URL"), "{text}");
        assert!(!text.contains("DispatchFailure"), "{text}");
        assert!(!text.contains("ConnectorError"), "{text}");
    }
}
