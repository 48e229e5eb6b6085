//! A receiver on this machine for what a system posts out: a Slack incoming webhook or any
//! other HTTP callback, recorded for [`Probe::Webhook`](super::Probe::Webhook).

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The largest request a receiver takes (headers and body).
const MAX_REQUEST: usize = 1 << 20;

/// An HTTP/1.1 listener on 127.0.0.1 that answers every request `200 ok` and keeps it as
/// `{"method", "path", "body"}` (the body parsed as JSON when it is JSON, else text). It
/// stops when dropped.
pub(super) struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Listens on a free port; the URL ends in `path` (e.g. `/hook`).
    pub(super) async fn start(path: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}{path}", listener.local_addr()?);
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&received);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    if let Some(request) = serve(stream).await {
                        record
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(request);
                    }
                });
            }
        });
        Ok(Receiver { url, received, task })
    }

    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// What was received so far, in order.
    pub(super) fn requests(&self) -> Value {
        Value::Array(
            self.received
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request from `stream`, answers it, and returns it; None when the client sent
/// no complete request.
async fn serve(mut stream: TcpStream) -> Option<Value> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, length) = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break (end + 4, content_length(&buf[..end]));
        }
        if buf.len() > MAX_REQUEST {
            return None;
        }
    };
    if head_end + length > MAX_REQUEST {
        return None;
    }
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let text = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    let answer =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
    // The request counts once read, whether or not the answer reaches the client.
    let _ = stream.write_all(answer).await;
    let _ = stream.shutdown().await;
    Some(json!({"method": method, "path": path, "body": body}))
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_post_is_answered_and_kept_with_its_json_body() {
        let receiver = Receiver::start("/hook").await.unwrap();
        assert!(receiver.url().starts_with("http://127.0.0.1:") && receiver.url().ends_with("/hook"));
        let address = receiver
            .url()
            .trim_start_matches("http://")
            .trim_end_matches("/hook")
            .to_string();
        let body = r#"{"text": "job net *Stop*: SUCCEEDED"}"#;
        let mut stream = TcpStream::connect(&address).await.unwrap();
        // The request in two writes: the body arrives after the head.
        let head = format!(
            "POST /hook HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert_eq!(
            receiver.requests(),
            json!([{"method": "POST", "path": "/hook", "body": {"text": "job net *Stop*: SUCCEEDED"}}])
        );
    }

    #[tokio::test]
    async fn a_connection_closed_before_its_body_is_not_a_request() {
        let receiver = Receiver::start("/hook").await.unwrap();
        let address = receiver
            .url()
            .trim_start_matches("http://")
            .trim_end_matches("/hook")
            .to_string();
        let mut stream = TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"POST /hook HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
            .await
            .unwrap();
        stream.shutdown().await.unwrap();
        drop(stream);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(receiver.requests(), json!([]));
    }
}
