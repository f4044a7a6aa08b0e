//! What to do with one answer from Discord, as pure functions: pass it on,
//! wait and retry (a 5xx, a network error, a 429 with its `retry_after`,
//! global or not), or count it done (a retried interaction callback that
//! Discord says was already acknowledged). Also the shape every error body
//! is given before serenity reads it, and the keys rate-limit buckets are
//! tracked by.

use std::time::Duration;

use hyper::header::HeaderMap;
use serde_json::Value;

/// How hard the REST layer tries. `Default` is what the bot runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The most time one call may take, retries and waits included; then
    /// the last answer (or a 502 for a network error) goes to the caller.
    pub budget: Duration,
    /// The same for interaction callbacks: Discord drops an interaction not
    /// answered within 3 s, so retrying later is pointless.
    pub callback_budget: Duration,
    /// The first backoff after a 5xx or a network error; it doubles per
    /// attempt, with jitter, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// One attempt longer than this is a network error.
    pub attempt_timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            budget: Duration::from_secs(30),
            callback_budget: Duration::from_millis(2500),
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(15),
        }
    }
}

impl Policy {
    /// The budget for a call to `path` (below the API root).
    pub fn budget_for(&self, path: &str) -> Duration {
        if is_callback(path) {
            self.callback_budget
        } else {
            self.budget
        }
    }

    /// The wait before attempt `attempt + 1` after a 5xx or network error:
    /// `base · 2^(attempt-1)`, capped, scaled by `jitter` in [0, 1) to
    /// between half and all of it (so bots failing together spread out).
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_backoff);
        capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// What to do with an answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Give it to the caller as it is.
    Done,
    /// Wait `after`, then send again; `global` pauses every send meanwhile.
    RateLimited { after: Duration, global: bool },
    /// A 5xx: back off and send again.
    ServerError,
    /// A retried interaction callback refused as "already acknowledged"
    /// (40060): an earlier attempt reached Discord, so the call succeeded.
    AlreadyAcknowledged,
}

/// Judges an answer to attempt number `attempt` (1-based) of a call to
/// `path`.
pub fn judge(path: &str, attempt: u32, status: u16, headers: &HeaderMap, body: &[u8]) -> Verdict {
    match status {
        429 => {
            let (after, global) = retry_after(headers, body);
            Verdict::RateLimited { after, global }
        }
        500..=599 => Verdict::ServerError,
        400 if attempt > 1 && is_callback(path) && error_code(body) == Some(40060) => {
            Verdict::AlreadyAcknowledged
        }
        _ => Verdict::Done,
    }
}

/// How long a 429 asks to wait and whether it is global. The body's
/// `retry_after` (seconds, fractional) is the most precise; then
/// `X-RateLimit-Reset-After` / `Retry-After` headers; a second when none
/// says. Global when the body says `global: true` or the headers say
/// `X-RateLimit-Global: true` or `X-RateLimit-Scope: global`.
pub fn retry_after(headers: &HeaderMap, body: &[u8]) -> (Duration, bool) {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let secs = json
        .as_ref()
        .and_then(|j| j.get("retry_after"))
        .and_then(Value::as_f64)
        .or_else(|| header("x-ratelimit-retry-after").and_then(|v| v.parse().ok()))
        .or_else(|| header("x-ratelimit-reset-after").and_then(|v| v.parse().ok()))
        .or_else(|| header("retry-after").and_then(|v| v.parse().ok()))
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .unwrap_or(1.0);
    let global = json
        .as_ref()
        .and_then(|j| j.get("global"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || header("x-ratelimit-global").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || header("x-ratelimit-scope").is_some_and(|v| v.eq_ignore_ascii_case("global"));
    // Far beyond any budget; keeps Duration::from_secs_f64 in range.
    (Duration::from_secs_f64(secs.min(86_400.0)), global)
}

/// The proactive wait a successful answer announces for its bucket: the
/// bucket is empty (`X-RateLimit-Remaining: 0`) until
/// `X-RateLimit-Reset-After` seconds from now.
pub fn bucket_empty_for(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("x-ratelimit-remaining")?.trim() != "0" {
        return None;
    }
    let secs: f64 = header("x-ratelimit-reset-after")?.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

/// Discord's JSON error code of a body, if it has one.
pub fn error_code(body: &[u8]) -> Option<i64> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get("code")?
        .as_i64()
}

/// An error body in the shape serenity reads (`{"code": int, "message":
/// str, ...}`), or `None` when it already is one. Rate-limit proxies
/// (twilight-http-proxy, nirn-proxy) and load balancers answer without a
/// `code`, or without JSON; serenity then fails with "missing field
/// `code`" and the real cause is lost.
pub fn normalise_error_body(status: u16, body: &[u8]) -> Option<Vec<u8>> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut obj = match parsed {
        Some(Value::Object(o)) => {
            if o.get("code").is_some_and(Value::is_i64)
                && o.get("message").is_some_and(Value::is_string)
            {
                return None;
            }
            o
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(200).collect();
            let mut o = serde_json::Map::new();
            let message = if text.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {text}")
            };
            o.insert("message".into(), Value::String(message));
            o
        }
    };
    if !obj.get("code").is_some_and(Value::is_i64) {
        obj.insert("code".into(), Value::from(0));
    }
    if !obj.get("message").is_some_and(Value::is_string) {
        obj.insert("message".into(), Value::String(format!("HTTP {status}")));
    }
    serde_json::to_vec(&Value::Object(obj)).ok()
}

/// Whether `path` (below the API root, e.g. `/api/v10/interactions/1/t/callback`)
/// is an interaction callback.
pub fn is_callback(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    matches!(
        segs.iter().position(|s| *s == "interactions"),
        Some(i) if segs.len() == i + 4 && segs[i + 3] == "callback"
    )
}

/// A route's rate-limit key and its name in logs: ids kept only where
/// Discord buckets by them (channels, guilds, webhooks, interactions), and
/// interaction and webhook tokens never shown.
pub fn route_key(method: &str, path: &str) -> String {
    let segs: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let mut out = String::from(method);
    let mut prev = "";
    let mut before_prev = "";
    for s in &segs {
        let major = matches!(prev, "channels" | "guilds" | "webhooks" | "interactions");
        let token = matches!(before_prev, "webhooks" | "interactions");
        let shown = if token {
            "{token}"
        } else if s.bytes().all(|b| b.is_ascii_digit()) && !major {
            "{id}"
        } else {
            s
        };
        out.push('/');
        out.push_str(shown);
        before_prev = prev;
        prev = s;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn a_429_waits_what_the_body_says_and_knows_global() {
        let body = br#"{"message":"You are being rate limited.","retry_after":0.25,"global":true}"#;
        let v = judge(
            "/api/v10/channels/1/messages",
            1,
            429,
            &HeaderMap::new(),
            body,
        );
        assert_eq!(
            v,
            Verdict::RateLimited {
                after: Duration::from_millis(250),
                global: true
            }
        );
    }

    #[test]
    fn a_429_without_a_body_reads_the_headers() {
        let h = headers(&[("retry-after", "2"), ("x-ratelimit-global", "true")]);
        assert_eq!(retry_after(&h, b""), (Duration::from_secs(2), true));
        let h = headers(&[
            ("x-ratelimit-reset-after", "0.5"),
            ("x-ratelimit-scope", "user"),
        ]);
        assert_eq!(
            retry_after(&h, b"not json"),
            (Duration::from_millis(500), false)
        );
        assert_eq!(
            retry_after(&HeaderMap::new(), b"{}"),
            (Duration::from_secs(1), false)
        );
        let h = headers(&[("retry-after", "-3")]);
        assert_eq!(retry_after(&h, b""), (Duration::from_secs(1), false));
    }

    #[test]
    fn server_errors_retry_and_client_errors_do_not() {
        let h = HeaderMap::new();
        assert_eq!(judge("/x", 1, 500, &h, b""), Verdict::ServerError);
        assert_eq!(judge("/x", 3, 503, &h, b""), Verdict::ServerError);
        assert_eq!(judge("/x", 1, 403, &h, b""), Verdict::Done);
        assert_eq!(judge("/x", 1, 200, &h, b""), Verdict::Done);
    }

    #[test]
    fn already_acknowledged_counts_only_on_a_retried_callback() {
        let body = br#"{"code":40060,"message":"Interaction has already been acknowledged."}"#;
        let cb = "/api/v10/interactions/123/tok/callback";
        let h = HeaderMap::new();
        assert_eq!(judge(cb, 1, 400, &h, body), Verdict::Done);
        assert_eq!(judge(cb, 2, 400, &h, body), Verdict::AlreadyAcknowledged);
        assert_eq!(
            judge("/api/v10/channels/1/messages", 2, 400, &h, body),
            Verdict::Done
        );
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let p = Policy::default();
        assert_eq!(p.backoff(1, 1.0), p.base_backoff);
        assert_eq!(p.backoff(2, 1.0), p.base_backoff * 2);
        assert_eq!(p.backoff(1, 0.0), p.base_backoff / 2);
        assert_eq!(p.backoff(40, 1.0), p.max_backoff);
        for j in [0.0, 0.3, 0.99] {
            let b = p.backoff(3, j);
            assert!(b >= p.base_backoff * 2 && b <= p.base_backoff * 4);
        }
    }

    #[test]
    fn error_bodies_without_a_code_get_one() {
        let proxy =
            br#"{"message":"You are being rate limited.","retry_after":1.5,"global":false}"#;
        let fixed: Value =
            serde_json::from_slice(&normalise_error_body(429, proxy).unwrap()).unwrap();
        assert_eq!(fixed["code"], 0);
        assert_eq!(fixed["retry_after"], 1.5);
        let html: Value = serde_json::from_slice(
            &normalise_error_body(502, b"<html>Bad gateway</html>").unwrap(),
        )
        .unwrap();
        assert_eq!(fixed["message"], "You are being rate limited.");
        assert!(html["message"].as_str().unwrap().contains("Bad gateway"));
        assert_eq!(
            normalise_error_body(404, br#"{"code":10003,"message":"Unknown Channel"}"#),
            None
        );
    }

    #[test]
    fn empty_buckets_are_announced_by_their_headers() {
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset-after", "1.25"),
        ]);
        assert_eq!(bucket_empty_for(&h), Some(Duration::from_millis(1250)));
        let h = headers(&[
            ("x-ratelimit-remaining", "3"),
            ("x-ratelimit-reset-after", "1.25"),
        ]);
        assert_eq!(bucket_empty_for(&h), None);
    }

    #[test]
    fn route_keys_hide_tokens_and_minor_ids() {
        assert_eq!(
            route_key("POST", "/api/v10/interactions/123/secret-token/callback"),
            "POST/api/v10/interactions/123/{token}/callback"
        );
        assert_eq!(
            route_key("PATCH", "/api/v10/webhooks/9/tok/messages/@original"),
            "PATCH/api/v10/webhooks/9/{token}/messages/@original"
        );
        assert_eq!(
            route_key("DELETE", "/api/v10/channels/5/messages/77?x=1"),
            "DELETE/api/v10/channels/5/messages/{id}"
        );
        assert!(is_callback("/api/v10/interactions/1/t/callback"));
        assert!(!is_callback("/api/v10/webhooks/1/t"));
    }
}
