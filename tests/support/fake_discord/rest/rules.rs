//! Refusals: a refused body is recorded as a violation and answered with the 400 Discord would
//! send. Also Discord's rules that the OpenAPI description does not state.

use serde_json::{json, Value};

use super::super::payloads;
use super::super::record::Violation;
use super::super::state::{Shared, State};
use super::reply::Reply;
use super::request::Incoming;

/// Records a refused body as a violation and builds the 400 Discord would send.
pub(super) fn refuse(
    shared: &Shared,
    req: &Incoming,
    rule: &str,
    status: u16,
    body: Value,
    messages: Vec<String>,
) -> Reply {
    shared.with(|st| refuse_locked(st, req, rule, status, body, messages))
}

pub(super) fn refuse_locked(
    st: &mut State,
    req: &Incoming,
    rule: &str,
    status: u16,
    body: Value,
    messages: Vec<String>,
) -> Reply {
    st.violations.push(Violation {
        method: req.method.clone(),
        path: req.path().to_string(),
        operation: rule.to_string(),
        body: req.body.clone(),
        errors: body.get("errors").cloned().unwrap_or_else(|| body.clone()),
        messages,
    });
    Reply::new(status, body)
}

/// Checks a message body (create, edit, interaction response, follow-up) for what Discord
/// refuses beyond the schema: an empty message (50006) and duplicate component custom_ids.
pub(super) fn message_rules(
    st: &mut State,
    req: &Incoming,
    body: &Value,
    creating: bool,
) -> Option<Reply> {
    let has = |field: &str| match body.get(field) {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    };
    let empty = ![
        "content",
        "embeds",
        "components",
        "sticker_ids",
        "attachments",
        "poll",
    ]
    .iter()
    .any(|f| has(f))
        && req.files.is_empty();
    if creating && empty {
        return Some(refuse_locked(
            st,
            req,
            "empty message",
            400,
            payloads::error_body(50006, "Cannot send an empty message"),
            vec!["message has no content, embeds, components, stickers, files or poll".into()],
        ));
    }
    let ids = payloads::custom_ids(body);
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = ids.iter().find(|(id, _)| !seen.insert(id.clone())) {
        let errors = json!({"components": {"_errors": [{"code": "COMPONENT_CUSTOM_ID_DUPLICATED", "message": "Component custom id cannot be duplicated"}]}});
        return Some(refuse_locked(
            st,
            req,
            "duplicate custom_id",
            400,
            payloads::invalid_form_body(errors),
            vec![format!("custom_id `{dup}` appears more than once")],
        ));
    }
    None
}
