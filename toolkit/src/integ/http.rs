//! Calling an HTTP API (the local environment serves them at `http://`, AWS at `https://`).

use http_body_util::Full;
use hyper::body::Bytes;

/// An HTTP request a test sends to an API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST` ...
    pub method: String,
    /// The full URL (e.g. an API's endpoint output followed by the route's path).
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// Sign the request with SigV4 for this service (`execute-api` for an API with IAM
    /// authorization), with the run's credentials and region.
    pub sign_for: Option<String>,
}

impl HttpRequest {
    /// A `POST` of a JSON body (`Content-Type: application/json`).
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> Self {
        HttpRequest {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            sign_for: None,
        }
    }

    /// Signed with SigV4 for API Gateway (`execute-api`), as a route with `AWS_IAM`
    /// authorization needs.
    pub fn signed(mut self) -> Self {
        self.sign_for = Some("execute-api".into());
        self
    }

    /// A `GET`.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: String::new(),
            sign_for: None,
        }
    }
}

/// What an API answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

impl HttpResponse {
    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Sends `request` (signed with the credentials and region of `config` when it asks);
/// the error is a sentence.
pub(crate) async fn send(
    request: &HttpRequest,
    config: &aws_config::SdkConfig,
) -> Result<HttpResponse, String> {
    let method = hyper::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("{} is not an HTTP method", request.method))?;
    let mut builder = hyper::Request::builder().method(method).uri(&request.url);
    for (k, v) in &request.headers {
        builder = builder.header(k, v);
    }
    let mut req = builder
        .body(Full::new(Bytes::from(request.body.clone())))
        .map_err(|e| format!("{} is not a valid request: {e}", request.url))?;
    if let Some(service) = &request.sign_for {
        sign(&mut req, request, service, config).await?;
    }
    let (status, body) = crate::signed::send(req)
        .await
        .map_err(|e| format!("{} {}: {e}", request.method, request.url))?;
    Ok(HttpResponse { status, body })
}

async fn sign(
    req: &mut hyper::Request<Full<Bytes>>,
    request: &HttpRequest,
    service: &str,
    config: &aws_config::SdkConfig,
) -> Result<(), String> {
    let region = config
        .region()
        .map(ToString::to_string)
        .ok_or("no AWS region to sign the request for")?;
    crate::signed::sign(req, request.body.as_bytes(), service, &region, config).await
}
