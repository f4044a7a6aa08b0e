//! The one place every REST call the bot makes goes through. serenity and
//! poise talk plain HTTP to a forwarder on 127.0.0.1 (serenity's `proxy`
//! setting); the forwarder sends each call on to Discord, or to
//! `DISCORD_API_BASE` (a rate-limit proxy, a fake), and applies `policy`:
//! 5xx and network errors are retried with exponential backoff and jitter,
//! 429s wait their `retry_after` (a global one pauses every send), buckets
//! announced empty are waited out, all within a bounded time per call.
//! Error bodies reach serenity in Discord's shape, whatever sent them.
//!
//! serenity's own ratelimiter cannot serve here: it ignores the proxy
//! setting (serenity #1739), and with it off a 429 is just an error.

pub mod policy;

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

pub use policy::Policy;
use policy::Verdict;

/// Discord's API host; serenity builds every URL on it.
pub const DISCORD: &str = "https://discord.com";

/// A running forwarder. Dropping it stops it.
pub struct Rest {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Rest {
    /// Listens on 127.0.0.1 (a free port) and forwards to `upstream`
    /// (`https://discord.com`, or a base URL such as `http://proxy:8080`).
    /// `env_proxy`: whether the system's HTTP proxy settings apply.
    pub async fn start(upstream: &str, policy: Policy, env_proxy: bool) -> std::io::Result<Rest> {
        let mut client = reqwest::Client::builder();
        if !env_proxy {
            client = client.no_proxy();
        }
        let client = client.build().map_err(std::io::Error::other)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let fwd = Arc::new(Forwarder {
            client,
            upstream: upstream.trim_end_matches('/').to_owned(),
            policy,
            paused_until: Mutex::new(None),
            buckets: Mutex::new(HashMap::new()),
            seed: std::collections::hash_map::RandomState::new(),
        });
        info!(%addr, upstream = %fwd.upstream, "REST layer listening");
        let task = tokio::spawn(serve(listener, fwd));
        Ok(Rest { addr, task })
    }

    /// What to give serenity's `HttpBuilder::proxy`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Rest {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: tokio::net::TcpListener, fwd: Arc<Forwarder>) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                warn!(error = %e, "REST layer: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let fwd = fwd.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let fwd = fwd.clone();
                async move { Ok::<_, Infallible>(fwd.forward(req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!(error = %e, "REST layer: connection ended");
            }
        });
    }
}

struct Forwarder {
    client: reqwest::Client,
    upstream: String,
    policy: Policy,
    /// Set by a global 429: no call is sent before then.
    paused_until: Mutex<Option<Instant>>,
    /// Routes whose bucket Discord said is empty, and until when.
    buckets: Mutex<HashMap<String, Instant>>,
    /// Randomness for jitter.
    seed: std::collections::hash_map::RandomState,
}

/// An answer read whole, so it can be judged and then passed on.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

/// Headers that belong to one hop, not to the call. `accept-encoding` is
/// the forwarder's client's to choose (it decodes what it asked for).
const HOP: [&str; 6] = [
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "accept-encoding",
];

impl Forwarder {
    async fn forward(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                return reply(
                    400,
                    &HeaderMap::new(),
                    error_json(&format!("reading the request: {e}")),
                )
            }
        };
        let path = parts.uri.path().to_owned();
        let target = format!(
            "{}{}",
            self.upstream,
            parts.uri.path_and_query().map_or("/", |p| p.as_str())
        );
        let route = policy::route_key(parts.method.as_str(), &path);
        let mut headers = parts.headers;
        for h in HOP {
            headers.remove(h);
        }
        let started = Instant::now();
        let deadline = started + self.policy.budget_for(&path);
        let mut attempt = 0u32;
        loop {
            self.wait_turn(&route, deadline).await;
            attempt += 1;
            let sent = self
                .client
                .request(parts.method.clone(), &target)
                .headers(headers.clone())
                .body(body.clone())
                .timeout(self.policy.attempt_timeout)
                .send()
                .await;
            let answer = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let headers = r.headers().clone();
                    r.bytes().await.map(|body| Answer {
                        status,
                        headers,
                        body,
                    })
                }
                Err(e) => Err(e),
            };
            let answer = match answer {
                Ok(a) => a,
                Err(e) => {
                    // The URL may hold an interaction token: never logged.
                    let why = chain(&e.without_url());
                    let wait = self.policy.backoff(attempt, self.jitter());
                    if Instant::now() + wait >= deadline {
                        warn!(%route, attempt, error = %why, "Discord unreachable; giving up");
                        return reply(
                            502,
                            &HeaderMap::new(),
                            error_json(&format!("network error: {why}")),
                        );
                    }
                    warn!(%route, attempt, wait_ms = wait.as_millis() as u64, error = %why, "network error; retrying");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            if let Some(empty) = policy::bucket_empty_for(&answer.headers) {
                self.lock_buckets()
                    .insert(route.clone(), Instant::now() + empty);
            }
            let (wait, sleep_here) = match policy::judge(
                &path,
                attempt,
                answer.status,
                &answer.headers,
                &answer.body,
            ) {
                Verdict::Done => {
                    if attempt > 1 {
                        info!(%route, attempt, status = answer.status, added_ms = started.elapsed().as_millis() as u64, "Discord call went through after retrying");
                    }
                    return pass_on(answer);
                }
                Verdict::AlreadyAcknowledged => {
                    info!(%route, attempt, "an earlier attempt of this callback reached Discord");
                    return reply(204, &HeaderMap::new(), Bytes::new());
                }
                Verdict::RateLimited { after, global } => {
                    let until = Instant::now() + after;
                    if global {
                        let mut p = self
                            .paused_until
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner);
                        *p = Some(p.map_or(until, |u| u.max(until)));
                    } else {
                        self.lock_buckets().insert(route.clone(), until);
                    }
                    warn!(%route, attempt, global, retry_after_ms = after.as_millis() as u64, "rate limited by Discord; waiting");
                    // Waited in `wait_turn`, with every call the pause holds.
                    (after, false)
                }
                Verdict::ServerError => {
                    let wait = self.policy.backoff(attempt, self.jitter());
                    warn!(%route, attempt, status = answer.status, wait_ms = wait.as_millis() as u64, "Discord failed; retrying");
                    (wait, true)
                }
            };
            if Instant::now() + wait >= deadline {
                warn!(%route, attempt, status = answer.status, "giving up: the call's time budget is spent");
                return pass_on(answer);
            }
            if sleep_here {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Waits out a global pause and this route's empty bucket, but never
    /// past `deadline` (the call then goes and gets its answer).
    async fn wait_turn(&self, route: &str, deadline: Instant) {
        loop {
            let paused = *self
                .paused_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let bucket = self.lock_buckets().get(route).copied();
            let until = match (paused, bucket) {
                (Some(a), Some(b)) => a.max(b),
                (a, b) => match a.or(b) {
                    Some(u) => u,
                    None => return,
                },
            };
            let now = Instant::now();
            if until <= now {
                return;
            }
            tokio::time::sleep(until.min(deadline).saturating_duration_since(now)).await;
            if Instant::now() >= deadline {
                return;
            }
        }
    }

    fn lock_buckets(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A number in [0, 1).
    fn jitter(&self) -> f64 {
        let mut h = self.seed.build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        (h.finish() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The answer as serenity should see it: error bodies in Discord's shape.
fn pass_on(a: Answer) -> Response<Full<Bytes>> {
    let body = if a.status >= 400 {
        policy::normalise_error_body(a.status, &a.body).map_or(a.body, Bytes::from)
    } else {
        a.body
    };
    reply(a.status, &a.headers, body)
}

fn reply(status: u16, headers: &HeaderMap, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (k, v) in headers {
        // The body is passed on as received: a `content-encoding` the
        // client did not decode stays with it.
        if !HOP.contains(&k.as_str()) {
            r.headers_mut().append(k.clone(), v.clone());
        }
    }
    if status >= 400 {
        crate::ops::metrics()
            .rest_errors
            .with_label_values(&[&status.to_string()])
            .inc();
        r.headers_mut().insert(
            HeaderName::from_static("content-type"),
            HeaderValue::from_static("application/json"),
        );
    }
    r
}

fn error_json(message: &str) -> Bytes {
    Bytes::from(serde_json::json!({"code": 0, "message": message}).to_string())
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s = format!("{s}: {c}");
        cause = c.source();
    }
    s
}
