//! Checks the JSON bodies the bot sends against Discord's OpenAPI description, so a body the real
//! API would refuse gets the real API's 400 "Invalid Form Body" here too, instead of passing.
//!
//! The spec is vendored at `tests/support/discord-api-spec/openapi.json` (Discord's MIT-licensed
//! discord-api-spec, see the README there), or the file named by `DISCORD_OPENAPI_SPEC`. It is parsed once per test binary; the validator for an operation is
//! compiled from a self-contained bundle (its requestBody schema plus every component schema it
//! reaches through `$ref`) on first use and cached. Where the spec rejects a body Discord accepts,
//! a narrow patch in [`QUIRKS`] says why; validation is never switched off.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::{json, Map, Value};

/// Where the spec lives unless `DISCORD_OPENAPI_SPEC` says otherwise.
const DEFAULT_SPEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/support/discord-api-spec/openapi.json"
);

/// The parsed spec plus the cache of compiled validators.
pub struct OpenApi {
    /// Every path template, pre-split, to resolve a concrete path to its operation.
    templates: Vec<Template>,
    /// The spec's `paths` object: operations and their `requestBody`.
    paths: Map<String, Value>,
    /// `components.schemas` after the [`QUIRKS`] patches; bundles are cut from here.
    schemas: Map<String, Value>,
    /// Compiled validators by (METHOD, template); `None` when the operation takes no JSON body.
    cache: Mutex<ValidatorCache>,
}

type ValidatorCache = HashMap<(String, String), Option<Arc<Validator>>>;

/// One path template such as `/channels/{channel_id}/messages`.
struct Template {
    /// The template as written in the spec (the key into `paths`).
    text: String,
    /// `Some(literal)` or `None` for a `{parameter}` segment.
    segments: Vec<Option<String>>,
}

/// The spec operation a request resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Upper-case HTTP method.
    pub method: String,
    /// The spec's path template, e.g. `/channels/{channel_id}/messages`.
    pub template: String,
    /// The spec's `operationId`, e.g. `create_message`.
    pub operation_id: String,
}

/// Why a body was refused.
#[derive(Clone, Debug)]
pub struct Invalid {
    /// Discord's nested `errors` object (`{"content": {"_errors": [{code, message}]}}`).
    pub errors: Value,
    /// One line per problem, `"/data/content: ..."`, for test failure messages.
    pub messages: Vec<String>,
}

/// A patch for a place where the spec is stricter than Discord. Each one names its target so a
/// newer spec that no longer has the quirk makes loading fail loudly instead of hiding a change.
pub struct Quirk {
    pub name: &'static str,
    /// Why the patch exists: what Discord really accepts and who sends it.
    pub why: &'static str,
    apply: fn(&mut Map<String, Value>) -> Result<(), String>,
}

/// The spec quirks the fake patches, narrowly.
pub const QUIRKS: &[Quirk] = &[
    Quirk {
        name: "default_member_permissions is a string",
        why: "The spec types `default_member_permissions` in command create/update requests as an \
          integer, but Discord documents it as a string bitfield (its own response schema says \
          string) and serenity's CreateCommand sends a string such as \"8\". The patch accepts a \
          decimal string as well; the integer form keeps its limits.",
        apply: |schemas| {
            for name in [
                "ApplicationCommandCreateRequest",
                "ApplicationCommandUpdateRequest",
                "ApplicationCommandPatchRequestPartial",
            ] {
                let prop = schemas
                    .get_mut(name)
                    .and_then(|s| s.pointer_mut("/properties/default_member_permissions"))
                    .ok_or_else(|| format!("{name}.default_member_permissions not found"))?;
                if prop.get("type") != Some(&json!(["integer", "null"])) {
                    return Err(format!(
                        "{name}.default_member_permissions is no longer an integer: {prop}"
                    ));
                }
                let original = prop.take();
                *prop =
                    json!({"anyOf": [original, {"type": "string", "pattern": "^[0-9]{1,20}$"}]});
            }
            Ok(())
        },
    },
    Quirk {
        name: "snowflakes may be sent as integers",
        why: "The spec's SnowflakeType is a string, but Discord parses a snowflake in a request \
              body from a JSON integer too (discord-api-docs PR #1078, 'Integer serialization \
              clarification'), and its docs give a new attachment's `id` as the integer index of \
              its `files[n]` part. serenity sends integers in both places: `attachments[].id` \
              (0, 1, ...) and select menus' `default_values[].id`. The patch accepts a \
              non-negative 64-bit integer besides the string; strings keep their pattern.",
        apply: |schemas| {
            let snowflake = schemas
                .get_mut("SnowflakeType")
                .ok_or("SnowflakeType not found")?;
            if snowflake.get("type") != Some(&json!("string")) {
                return Err(format!(
                    "SnowflakeType is no longer a plain string: {snowflake}"
                ));
            }
            let original = snowflake.take();
            *snowflake = json!({"anyOf": [original, {"type": "integer", "minimum": 0, "maximum": i64::MAX}]});
            Ok(())
        },
    },
];

/// The spec, loaded once per test binary. Panics (at the first fake start) when the file is
/// missing: running without the check would let invalid bodies pass silently.
pub fn spec() -> &'static OpenApi {
    static SPEC: OnceLock<OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| {
        OpenApi::from_document(spec_document())
            .unwrap_or_else(|e| panic!("fake_discord: {}: {e}", spec_path().display()))
    })
}

/// Where the spec is read from.
pub fn spec_path() -> PathBuf {
    std::env::var_os("DISCORD_OPENAPI_SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|| DEFAULT_SPEC.into())
}

/// The spec document as published (no quirks applied).
pub fn spec_document() -> Value {
    let path = spec_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("fake_discord: cannot read Discord's OpenAPI spec at {}: {e} (set DISCORD_OPENAPI_SPEC)", path.display())
    });
    serde_json::from_str(&text).expect("openapi.json is valid JSON")
}

impl OpenApi {
    /// Builds the checker from a parsed OpenAPI document, applying [`QUIRKS`].
    pub fn from_document(doc: Value) -> Result<Self, String> {
        Self::from_document_with(doc, QUIRKS)
    }

    /// Builds the checker applying only `quirks` (tests use `&[]` to show a quirk is needed).
    pub fn from_document_with(mut doc: Value, quirks: &[Quirk]) -> Result<Self, String> {
        let paths = doc
            .get_mut("paths")
            .and_then(|p| p.as_object_mut())
            .map(std::mem::take)
            .ok_or("no `paths`")?;
        let mut schemas = doc
            .pointer_mut("/components/schemas")
            .and_then(|s| s.as_object_mut())
            .map(std::mem::take)
            .ok_or("no `components.schemas`")?;
        for quirk in quirks {
            (quirk.apply)(&mut schemas)
                .map_err(|e| format!("quirk `{}` no longer applies: {e}", quirk.name))?;
        }
        let templates = paths
            .keys()
            .map(|text| Template {
                text: text.clone(),
                segments: split(text)
                    .map(|s| (!s.starts_with('{')).then(|| s.to_string()))
                    .collect(),
            })
            .collect();
        Ok(OpenApi {
            templates,
            paths,
            schemas,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The operation for a concrete request path (relative to `/api/v10`), preferring the template
    /// with the most literal segments (`.../messages/@original` over `.../messages/{message_id}`).
    pub fn operation(&self, method: &str, path: &str) -> Option<Operation> {
        let method = method.to_ascii_uppercase();
        let segs: Vec<&str> = split(path).collect();
        let best = self
            .templates
            .iter()
            .filter(|t| t.segments.len() == segs.len())
            .filter(|t| {
                t.segments
                    .iter()
                    .zip(&segs)
                    .all(|(t, s)| t.as_deref().is_none_or(|lit| lit == *s))
            })
            .filter(|t| {
                self.paths[&t.text]
                    .get(method.to_ascii_lowercase())
                    .is_some()
            })
            .max_by_key(|t| t.segments.iter().filter(|s| s.is_some()).count())?;
        let op = &self.paths[&best.text][method.to_ascii_lowercase()];
        Some(Operation {
            method,
            template: best.text.clone(),
            operation_id: op
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        })
    }

    /// The request body schema of an operation, bundled with every component it references so
    /// it stands alone. `None` when the operation takes no JSON body.
    pub fn request_schema(&self, method: &str, template: &str) -> Option<Value> {
        let body = self
            .paths
            .get(template)?
            .get(method.to_ascii_lowercase())?
            .get("requestBody")?;
        let content = body.get("content")?;
        let schema = content
            .get("application/json")
            .or_else(|| content.get("multipart/form-data"))?
            .get("schema")?
            .clone();
        let mut needed = HashSet::new();
        self.collect_refs(&schema, &mut needed);
        let components: Map<String, Value> = needed
            .into_iter()
            .map(|name| (name.clone(), self.schemas[&name].clone()))
            .collect();
        Some(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
            "components": {"schemas": components},
        }))
    }

    /// Adds to `out` the names of all component schemas reachable from `v`.
    fn collect_refs(&self, v: &Value, out: &mut HashSet<String>) {
        match v {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    if self.schemas.contains_key(name) && out.insert(name.to_string()) {
                        self.collect_refs(&self.schemas[name], out);
                    }
                }
                map.values().for_each(|child| self.collect_refs(child, out));
            }
            Value::Array(items) => items.iter().for_each(|child| self.collect_refs(child, out)),
            _ => {}
        }
    }

    /// The compiled validator for an operation, compiled on first use.
    fn validator(&self, op: &Operation) -> Option<Arc<Validator>> {
        let key = (op.method.clone(), op.template.clone());
        let mut cache = self
            .cache
            .lock()
            .expect("validator cache lock is never poisoned");
        cache
            .entry(key)
            .or_insert_with(|| {
                let schema = self.request_schema(&op.method, &op.template)?;
                let validator = jsonschema::options()
                    .with_draft(Draft::Draft202012)
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|e| {
                        panic!(
                            "spec schema for {} {} does not compile: {e}",
                            op.method, op.template
                        )
                    });
                Some(Arc::new(validator))
            })
            .clone()
    }

    /// Checks a JSON body against the operation's request schema.
    pub fn validate(&self, op: &Operation, body: &Value) -> Result<(), Invalid> {
        let Some(validator) = self.validator(op) else {
            return Ok(());
        };
        let mut found = Vec::new();
        for error in validator.iter_errors(body) {
            explain(&error, &mut found);
        }
        if found.is_empty() {
            return Ok(());
        }
        let messages = found
            .iter()
            .map(|(path, _, msg)| format!("/{}: {msg}", path.join("/")))
            .collect();
        Err(Invalid {
            errors: nest_errors(&found),
            messages,
        })
    }

    /// Resolves and checks in one go; `Ok(None)` when the path is not in the spec.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Result<Option<Operation>, Invalid> {
        let Some(op) = self.operation(method, path) else {
            return Ok(None);
        };
        self.validate(&op, body)?;
        Ok(Some(op))
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// One problem: the path into the body, Discord's error code, and a message.
type Problem = (Vec<String>, String, String);

/// Turns a validation error into Discord-style problems. For `oneOf`/`anyOf` it descends into the
/// branch the body was evidently meant for (the one whose `type` discriminator matched, ignoring
/// the `{"type":"null"}` alternative), so the message points at the real field.
fn explain(error: &ValidationError<'_>, out: &mut Vec<Problem>) {
    let path: Vec<String> = split(error.instance_path.as_str())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let base = error.instance_path.as_str();
    let (code, message) = match &error.kind {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            let candidates: Vec<&Vec<ValidationError<'static>>> = context
                .iter()
                .filter(|branch| !branch.iter().any(|e| is_discriminator_miss(e, base)))
                .filter(|branch| {
                    !(branch.len() == 1
                        && branch[0].instance_path.as_str() == base
                        && matches!(branch[0].kind, ValidationErrorKind::Type { .. }))
                })
                .collect();
            // Without a discriminator (autocomplete's integer/number/string choice lists), the
            // branch with the fewest errors is the one the body was written for.
            let fewest = candidates.iter().map(|b| b.len()).min().unwrap_or(0);
            let closest: Vec<_> = candidates.iter().filter(|b| b.len() == fewest).collect();
            if let [branch] = closest.as_slice() {
                branch.iter().for_each(|e| explain(e, out));
                return;
            }
            (
                "UNION_TYPE_CHOICES".to_string(),
                "Value does not match any of the allowed shapes.".to_string(),
            )
        }
        ValidationErrorKind::MaxLength { limit } | ValidationErrorKind::MaxItems { limit } => (
            "BASE_TYPE_MAX_LENGTH".into(),
            format!("Must be {limit} or fewer in length."),
        ),
        ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MinItems { limit } => (
            "BASE_TYPE_MIN_LENGTH".into(),
            format!("Must be {limit} or more in length."),
        ),
        ValidationErrorKind::Maximum { limit } => (
            "NUMBER_TYPE_MAX".into(),
            format!("Must be less than or equal to {limit}."),
        ),
        ValidationErrorKind::Minimum { limit } => (
            "NUMBER_TYPE_MIN".into(),
            format!("Must be greater than or equal to {limit}."),
        ),
        ValidationErrorKind::Required { property } => {
            let mut p = path.clone();
            p.push(property.as_str().unwrap_or_default().to_string());
            out.push((
                p,
                "BASE_TYPE_REQUIRED".into(),
                "This field is required".into(),
            ));
            return;
        }
        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => (
            "BASE_TYPE_CHOICES".into(),
            format!("Value must be one of the allowed values ({error})."),
        ),
        ValidationErrorKind::Type { .. } => ("BASE_TYPE_BAD_TYPE".into(), error.to_string()),
        ValidationErrorKind::Pattern { .. } => ("STRING_TYPE_REGEX".into(), error.to_string()),
        ValidationErrorKind::Format { .. } => ("BASE_TYPE_BAD_FORMAT".into(), error.to_string()),
        _ => ("BASE_TYPE_INVALID".into(), error.to_string()),
    };
    out.push((path, code, message));
}

/// True when the error says "this branch's `type` is not the body's `type`".
fn is_discriminator_miss(e: &ValidationError<'_>, base: &str) -> bool {
    e.instance_path.as_str() == format!("{base}/type")
        && matches!(
            e.kind,
            ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. }
        )
}

/// Discord's nested form-error object from flat problems: path `a/0/b` becomes
/// `{"a": {"0": {"b": {"_errors": [{code, message}]}}}}`.
pub fn nest_errors(problems: &[Problem]) -> Value {
    let mut root = json!({});
    for (path, code, message) in problems {
        let mut cursor = &mut root;
        for seg in path {
            cursor = cursor
                .as_object_mut()
                .expect("error tree nodes are objects")
                .entry(seg.clone())
                .or_insert_with(|| json!({}));
        }
        cursor
            .as_object_mut()
            .expect("error tree nodes are objects")
            .entry("_errors")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("_errors is an array")
            .push(json!({"code": code, "message": message}));
    }
    root
}
