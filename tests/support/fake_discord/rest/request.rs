//! A request as the pipeline sees it: method, path below `/api/v10`, query, headers, and the JSON
//! body (or a multipart body's `payload_json` and file names).

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use serde_json::Value;

/// A parsed request.
pub(super) struct Incoming {
    pub(super) method: String,
    /// Below `/api/v10`; `None` when the request was outside it.
    pub(super) path: Option<String>,
    pub(super) full_path: String,
    pub(super) query: String,
    pub(super) headers: Vec<(String, String)>,
    /// JSON body (`payload_json` of a multipart body); Null when none.
    pub(super) body: Value,
    pub(super) files: Vec<String>,
    /// The body was not empty.
    pub(super) had_body: bool,
    /// The body claimed to be JSON and was not.
    pub(super) bad_json: bool,
}

impl Incoming {
    pub(super) fn parse(method: &Method, uri: &Uri, headers: &HeaderMap, raw: &Bytes) -> Self {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let content_type = headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let (mut body, mut files, mut bad_json) = (Value::Null, Vec::new(), false);
        if content_type.starts_with("multipart/form-data") {
            let (payload, names) = parse_multipart(&content_type, raw);
            bad_json = payload.as_ref().is_some_and(Result::is_err);
            body = payload.and_then(Result::ok).unwrap_or(Value::Null);
            files = names;
        } else if !raw.is_empty() {
            match serde_json::from_slice(raw) {
                Ok(v) => body = v,
                Err(_) => bad_json = true,
            }
        }
        Incoming {
            method: method.as_str().to_ascii_uppercase(),
            path: uri.path().strip_prefix("/api/v10").map(|p| {
                if p.is_empty() {
                    "/".into()
                } else {
                    p.to_string()
                }
            }),
            full_path: uri.path().to_string(),
            query: uri.query().unwrap_or("").to_string(),
            headers,
            body,
            files,
            had_body: !raw.is_empty(),
            bad_json,
        }
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn path(&self) -> &str {
        self.path.as_deref().unwrap_or(&self.full_path)
    }

    pub(super) fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }
}

// ---------------------------------------------------------------------------------------------
// Multipart.
// ---------------------------------------------------------------------------------------------

/// Extracts `payload_json` (parsed) and the file names from a multipart body. Minimal: enough
/// for what reqwest sends for serenity's attachments.
fn parse_multipart(content_type: &str, body: &[u8]) -> (Option<Result<Value, ()>>, Vec<String>) {
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
    else {
        return (Some(Err(())), Vec::new());
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let mut payload = None;
    let mut files = Vec::new();
    for part in split_bytes(body, delimiter.as_bytes()).into_iter().skip(1) {
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let content = &part[split + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or("");
        let param = |key: &str| {
            disposition.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix(&format!("{key}="))
                    .map(|v| v.trim_matches('"').to_string())
            })
        };
        if let Some(filename) = param("filename") {
            files.push(filename);
        } else if param("name").as_deref() == Some("payload_json") {
            payload = Some(serde_json::from_slice(content).map_err(|_| ()));
        }
    }
    (payload, files)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut hay: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    while let Some(i) = find(hay, delimiter) {
        parts.push(&hay[..i]);
        hay = &hay[i + delimiter.len()..];
    }
    parts.push(hay);
    parts
}
