//! A minimal HTTP/1.1 client, so tests can send the fake what serenity refuses to build (a
//! 2,001-character message, 26 choices, a request without `Authorization`). One request per
//! connection (`Connection: close`); enough for a local test server, nothing more.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The fake's answer to a raw request.
#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; `Value::Null` when empty, a JSON string when not JSON.
    pub body: Value,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request. `path` is the full path (`/api/v10/...`), `headers` are added as given.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> std::io::Result<RawResponse> {
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if body.is_some() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            payload.len()
        ));
    } else if matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str("Content-Length: 0\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");

    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(payload.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    parse(&raw).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed HTTP response")
    })
}

fn parse(raw: &[u8]) -> Option<RawResponse> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body)?;
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A bare gateway client for testing the fake's protocol without serenity (and for reaching a
/// session in tests that only need REST): frames in, frames out, nothing automatic.
pub struct GatewayClient {
    /// The websocket, with per-message zlib frames inflated by [`GatewayClient::recv`].
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
}

/// What [`GatewayClient::recv`] got.
#[derive(Clone, Debug, PartialEq)]
pub enum WsEvent {
    /// A JSON frame (text, or a zlib binary frame inflated).
    Frame(Value),
    /// A close frame (with its code) or the end of the connection (None).
    Closed(Option<u16>),
    /// Nothing arrived in time.
    Timeout,
}

impl GatewayClient {
    /// Connects to `ws://.../ws` with `?v=10` like serenity does.
    pub async fn connect(gateway_url: &str) -> GatewayClient {
        let (ws, _) = tokio_tungstenite::connect_async(format!("{gateway_url}?v=10"))
            .await
            .unwrap_or_else(|e| panic!("connect {gateway_url}: {e}"));
        GatewayClient { ws }
    }

    pub async fn send(&mut self, frame: Value) {
        use futures::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                frame.to_string(),
            ))
            .await
            .expect("send a gateway frame");
    }

    /// The next frame, close, or timeout.
    pub async fn recv(&mut self, timeout: std::time::Duration) -> WsEvent {
        use futures::StreamExt;
        use std::io::Read;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let next = match tokio::time::timeout(timeout, self.ws.next()).await {
                Err(_) => return WsEvent::Timeout,
                Ok(next) => next,
            };
            return match next {
                Some(Ok(Message::Text(text))) => {
                    WsEvent::Frame(serde_json::from_str(&text).expect("gateway frames are JSON"))
                }
                Some(Ok(Message::Binary(bytes))) => {
                    let mut text = String::new();
                    flate2::read::ZlibDecoder::new(bytes.as_slice())
                        .read_to_string(&mut text)
                        .expect("zlib frame inflates");
                    WsEvent::Frame(serde_json::from_str(&text).expect("gateway frames are JSON"))
                }
                Some(Ok(Message::Close(frame))) => {
                    // Finish the close handshake (tungstenite queued our answer; send it).
                    let _ = futures::SinkExt::close(&mut self.ws).await;
                    WsEvent::Closed(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => WsEvent::Closed(None),
            };
        }
    }

    /// The next JSON frame; panics on close or timeout.
    pub async fn frame(&mut self, timeout: std::time::Duration) -> Value {
        match self.recv(timeout).await {
            WsEvent::Frame(v) => v,
            other => panic!("expected a gateway frame, got {other:?}"),
        }
    }

    /// Reads HELLO, sends IDENTIFY as shard `id` of `total`, and returns READY's frame.
    pub async fn identify_shard(
        &mut self,
        token: &str,
        intents: u64,
        id: u32,
        total: u32,
    ) -> Value {
        let timeout = std::time::Duration::from_secs(5);
        let hello = self.frame(timeout).await;
        assert_eq!(hello["op"], 10, "first frame is HELLO: {hello}");
        self.send(serde_json::json!({"op": 2, "d": {
            "token": format!("Bot {token}"), "intents": intents, "shard": [id, total],
            "properties": {"os": "linux", "browser": "fake-test", "device": "fake-test"},
        }}))
        .await;
        let ready = self.frame(timeout).await;
        assert_eq!(
            ready["t"], "READY",
            "IDENTIFY is answered with READY: {ready}"
        );
        ready
    }

    /// Reads HELLO, sends IDENTIFY, and returns READY's frame (GUILD_CREATE follows it).
    pub async fn identify(&mut self, token: &str, intents: u64) -> Value {
        let timeout = std::time::Duration::from_secs(5);
        let hello = self.frame(timeout).await;
        assert_eq!(hello["op"], 10, "first frame is HELLO: {hello}");
        self.send(serde_json::json!({"op": 2, "d": {
            "token": format!("Bot {token}"), "intents": intents, "compress": true,
            "properties": {"os": "linux", "browser": "fake-test", "device": "fake-test"},
        }}))
        .await;
        let ready = self.frame(timeout).await;
        assert_eq!(
            ready["t"], "READY",
            "IDENTIFY is answered with READY: {ready}"
        );
        ready
    }
}
