//! A thin SigV4-signed HTTP client for the few calls of services the toolkit has no SDK
//! client for (Lambda, Step Functions and ECS, for `deploy --hotswap`), and for the
//! integration tests' HTTP requests. It is built from the crates the AWS SDK already
//! compiles (hyper, hyper-rustls with aws-lc, aws-sigv4), so it adds no build time: one SDK
//! crate per service would cost minutes of compilation for a handful of JSON calls.
//!
//! Requests are JSON over HTTPS (or HTTP, for a local endpoint): the REST-JSON protocol
//! (Lambda: a method and a path) and the JSON 1.0/1.1 protocols (Step Functions, ECS: a
//! `POST /` with an `X-Amz-Target` header).

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::SdkConfig;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value as Json;

use crate::client::{CloudError, CloudResult};

/// The HTTP(S) client: native root certificates, aws-lc, HTTP/1.1.
pub(crate) type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long a connection may take to open (as the SDK clients are configured).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a whole call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A new HTTP(S) client; the error is a sentence.
pub(crate) fn http_client() -> Result<HttpClient, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| format!("no TLS root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Signs `req` with SigV4 for `service`, with the credentials and region of `config`; the
/// error is a sentence.
pub(crate) async fn sign(
    req: &mut hyper::Request<Full<Bytes>>,
    body: &[u8],
    service: &str,
    config: &SdkConfig,
) -> Result<(), String> {
    use aws_credential_types::provider::ProvideCredentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};

    let url = req.uri().to_string();
    let credentials = config
        .credentials_provider()
        .ok_or("no AWS credentials to sign the request with")?
        .provide_credentials()
        .await
        .map_err(|e| format!("no AWS credentials to sign the request with: {e}"))?;
    let identity = credentials.into();
    let region = config
        .region()
        .map(ToString::to_string)
        .ok_or("no AWS region to sign the request for")?;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("cannot sign {url}: {e}"))?
        .into();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    let signable = SignableRequest::new(
        req.method().as_str(),
        url.as_str(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| format!("cannot sign {url}: {e}"))?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| format!("cannot sign {url}: {e}"))?
        .into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

/// How a service takes its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// REST-JSON: the operation is the method and path (Lambda).
    RestJson,
    /// `POST /` with `X-Amz-Target: <prefix>.<Operation>` and this JSON version.
    AwsJson {
        /// `1.0` or `1.1`.
        version: &'static str,
        /// The target prefix (`AWSStepFunctions`, `AmazonEC2ContainerServiceV20141113`).
        prefix: &'static str,
    },
}

/// One service's signed JSON client, for one region and set of credentials.
pub(crate) struct JsonService {
    /// The signing name and endpoint prefix (`lambda`, `states`, `ecs`).
    service: &'static str,
    protocol: Protocol,
    config: SdkConfig,
    region: String,
    /// `--endpoint-url`, when one is configured.
    custom_endpoint: Option<String>,
    client: OnceLock<Result<HttpClient, String>>,
}

impl JsonService {
    /// The client of `service` with the credentials, region and endpoint of `config`.
    pub(crate) fn new(service: &'static str, protocol: Protocol, config: &SdkConfig, region: &str) -> Self {
        JsonService {
            service,
            protocol,
            config: config.clone(),
            region: region.to_string(),
            custom_endpoint: config.endpoint_url().map(|u| u.trim_end_matches('/').to_string()),
            client: OnceLock::new(),
        }
    }

    /// The endpoint calls go to, and what to check when it cannot be reached.
    fn endpoint(&self) -> (String, String) {
        crate::aws::endpoint_and_hint(self.custom_endpoint.as_deref(), self.service, &self.region)
    }

    /// Calls `operation`: for REST-JSON, `method` and `path` (escaped by the caller); for
    /// the JSON protocols, `operation` names the target. The answer's JSON (`{}` when empty),
    /// or the service's error (`__type`/`x-amzn-ErrorType` and `message`).
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        operation: &str,
        body: &Json,
    ) -> CloudResult<Json> {
        let (endpoint, hint) = self.endpoint();
        let url = format!("{endpoint}{path}");
        let body_text = match (self.protocol, method, body) {
            (Protocol::RestJson, "GET", _) => String::new(),
            _ => body.to_string(),
        };
        let method = hyper::Method::from_bytes(method.as_bytes())
            .map_err(|_| CloudError::Other(format!("{method} is not an HTTP method")))?;
        let mut builder = hyper::Request::builder().method(method).uri(&url);
        builder = match self.protocol {
            Protocol::RestJson => builder.header("content-type", "application/json"),
            Protocol::AwsJson { version, prefix } => builder
                .header("content-type", format!("application/x-amz-json-{version}"))
                .header("x-amz-target", format!("{prefix}.{operation}")),
        };
        let mut req = builder
            .body(Full::new(Bytes::from(body_text.clone())))
            .map_err(|e| CloudError::Other(format!("{url} is not a valid request: {e}")))?;
        sign(&mut req, body_text.as_bytes(), self.service, &self.config)
            .await
            .map_err(CloudError::Other)?;
        let client = self
            .client
            .get_or_init(http_client)
            .as_ref()
            .map_err(|e| CloudError::Other(e.clone()))?;
        let unreachable = |cause: String| CloudError::Unreachable {
            endpoint: endpoint.clone(),
            cause,
            hint: hint.clone(),
        };
        let response = match tokio::time::timeout(CALL_TIMEOUT, client.request(req)).await {
            Err(_) => return Err(unreachable("no answer in time".into())),
            Ok(Err(e)) => return Err(unreachable(crate::aws::unreachable_cause(&e))),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| CloudError::Other(format!("the answer of {endpoint} cannot be read: {e}")))?
            .to_bytes();
        let json: Option<Json> = if bytes.is_empty() {
            Some(Json::Object(Default::default()))
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        if status < 300 {
            return json.ok_or_else(|| {
                CloudError::Other(format!(
                    "the answer of {endpoint} to {operation} is not JSON: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ))
            });
        }
        Err(service_error(status, error_type, json.as_ref(), &bytes))
    }
}

/// The error a service answered with: its code (`__type` or `x-amzn-ErrorType`, without
/// the namespace and the `:` suffix) and message.
fn service_error(status: u16, error_type: Option<String>, json: Option<&Json>, bytes: &[u8]) -> CloudError {
    let field = |k: &str| {
        json.and_then(|j| j.get(k))
            .and_then(Json::as_str)
            .map(String::from)
    };
    let code = field("__type")
        .or(error_type)
        .or_else(|| field("code"))
        .map(|c| {
            let c = c.split(':').next().unwrap_or_default();
            c.rsplit('#').next().unwrap_or_default().to_string()
        })
        .filter(|c| !c.is_empty());
    let message = field("message").or_else(|| field("Message")).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(bytes);
        match text.trim() {
            "" => format!("HTTP {status} without an error message"),
            t => format!("HTTP {status}: {}", &t[..t.len().min(300)]),
        }
    });
    CloudError::Service { code, message }
}

/// `text` escaped for a URL path segment (a function name or ARN).
pub(crate) fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_errors_keep_the_code_without_its_namespace() {
        let e = service_error(
            400,
            None,
            Some(&json!({"__type": "com.amazonaws.ecs#ClientException", "message": "bad image"})),
            b"",
        );
        assert_eq!(e.message(), "ClientException: bad image");
        let e = service_error(
            404,
            Some("ResourceNotFoundException:http://internal.amazon.com/".into()),
            Some(&json!({"Message": "Function not found"})),
            b"",
        );
        assert_eq!(e.message(), "ResourceNotFoundException: Function not found");
        assert_eq!(
            service_error(500, None, None, b"").message(),
            "HTTP 500 without an error message"
        );
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(
            path_segment("arn:aws:lambda:us-east-1:1:function:f"),
            "arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af"
        );
        assert_eq!(path_segment("my-fn_1.x"), "my-fn_1.x");
    }
}
