//! What the fake records: every REST request with its answer, every gateway frame in both
//! directions, and every request body Discord would have refused. Tests assert on these.

use std::time::Instant;

use serde_json::Value;

/// One REST request the bot made, with the fake's answer.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Position in the order of arrival (0-based), to ask for "requests after this one".
    pub index: usize,
    /// Upper-case HTTP method.
    pub method: String,
    /// The path below `/api/v10`, e.g. `/channels/123/messages`.
    pub path: String,
    /// The raw query string without `?` (serenity sends a leading `&`), empty when none.
    pub query: String,
    /// Request headers, names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The JSON body (`payload_json` for multipart), `Value::Null` when there was none.
    pub body: Value,
    /// File names of multipart file parts (serenity sends multipart when attaching files).
    pub files: Vec<String>,
    /// The spec operation the path resolved to (`create_message`, ...), if any.
    pub operation: Option<String>,
    /// The status the fake answered.
    pub status: u16,
    /// The JSON the fake answered with (`Value::Null` for 204).
    pub response: Value,
    /// When it arrived (for the interaction deadline and latency checks).
    pub at: Instant,
}

impl Recorded {
    /// True when the method matches and the path matches `pattern` (see [`path_matches`]).
    pub fn is(&self, method: &str, pattern: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && path_matches(pattern, &self.path)
    }

    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query parameters, skipping empty pieces.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (p.to_string(), String::new()),
            })
            .collect()
    }

    /// Path segment `i` (0-based, below `/api/v10`), e.g. the channel id of `/channels/{id}/...`.
    pub fn segment(&self, i: usize) -> Option<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).nth(i)
    }
}

/// Which way a gateway frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the fake to the bot.
    Sent,
    /// From the bot to the fake.
    Received,
}

/// One gateway frame.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Position in the order of frames (0-based).
    pub index: usize,
    pub direction: Direction,
    /// Which websocket connection (1 = the first), to tell a RESUME's new socket from the old.
    pub connection: usize,
    /// The JSON payload; `Value::Null` for a close frame.
    pub payload: Value,
    /// The close code of a close frame (None when the socket closed without one).
    pub close: Option<u16>,
    /// True for a close frame or an abrupt end of the socket.
    pub is_close: bool,
}

impl Frame {
    /// The gateway opcode (`op`), if this is a JSON frame.
    pub fn op(&self) -> Option<u64> {
        self.payload.get("op").and_then(Value::as_u64)
    }

    /// The dispatch name (`t`), if this is a dispatch.
    pub fn t(&self) -> Option<&str> {
        self.payload.get("t").and_then(Value::as_str)
    }

    /// The sequence number (`s`), if this is a dispatch.
    pub fn seq(&self) -> Option<u64> {
        self.payload.get("s").and_then(Value::as_u64)
    }

    /// The payload's `d`.
    pub fn d(&self) -> &Value {
        &self.payload["d"]
    }
}

/// A request Discord would have refused: its body broke the OpenAPI schema or one of Discord's
/// documented rules. The fake answered 400 with `errors`.
#[derive(Clone, Debug)]
pub struct Violation {
    pub method: String,
    pub path: String,
    /// The spec operation (`create_interaction_response`, ...), or the rule's name.
    pub operation: String,
    pub body: Value,
    /// Discord's nested `errors` object as the fake sent it.
    pub errors: Value,
    /// One readable line per problem.
    pub messages: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} {} ({}):", self.method, self.path, self.operation)?;
        for m in &self.messages {
            writeln!(f, "  {m}")?;
        }
        write!(f, "  body: {}", self.body)
    }
}

/// Matches a path (below `/api/v10`) against a pattern with the same number of segments, where
/// `*` or `{anything}` matches one segment and `**` as the last segment matches the rest. A
/// leading `/api/v10` on the pattern is ignored.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.strip_prefix("/api/v10").unwrap_or(pattern);
    let pat: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if pat.last() == Some(&"**") {
        let fixed = &pat[..pat.len() - 1];
        return segs.len() >= fixed.len()
            && fixed.iter().zip(&segs).all(|(p, s)| segment_matches(p, s));
    }
    pat.len() == segs.len() && pat.iter().zip(&segs).all(|(p, s)| segment_matches(p, s))
}

fn segment_matches(pattern: &str, segment: &str) -> bool {
    pattern == "*" || (pattern.starts_with('{') && pattern.ends_with('}')) || pattern == segment
}
