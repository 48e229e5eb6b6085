//! Signed HTTP calls outside the SDK clients (EC2's query API for lookups; an API with IAM
//! authorization in integration tests): one HTTPS client builder and one SigV4 signer.

use aws_credential_types::provider::ProvideCredentials;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A request body.
pub(crate) type Body = Full<Bytes>;

/// Sends `req` over HTTPS (or plain HTTP, for a local endpoint); the status and the body
/// as text, or what went wrong (a sentence).
pub(crate) async fn send(req: hyper::Request<Body>) -> Result<(u16, String), String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| format!("no TLS root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Body> = Client::builder(TokioExecutor::new()).build(connector);
    let response = client.request(req).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Signs `req` (whose body is `body`) with SigV4 for `service` in `region`, with the
/// credentials of `config`.
pub(crate) async fn sign(
    req: &mut hyper::Request<Body>,
    body: &[u8],
    service: &str,
    region: &str,
    config: &aws_config::SdkConfig,
) -> Result<(), String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};

    let credentials = config
        .credentials_provider()
        .ok_or("no AWS credentials to sign the request with")?
        .provide_credentials()
        .await
        .map_err(|e| format!("no AWS credentials to sign the request with: {e}"))?;
    let identity = credentials.into();
    let url = req.uri().to_string();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
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
