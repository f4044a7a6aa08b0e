//! The staff dashboard: server-rendered pages over the ticket store and
//! the query log (axum + maud, no JavaScript). Tickets (filter and
//! search), one ticket (fields, match, checks tried, transcript, timeline,
//! claim / close / reopen through the engine's staff path), the report with
//! SVG charts, and the knowledge base's health. `triage run` serves it
//! beside the bot; `triage dashboard` serves it alone. Who gets in is
//! `auth`'s business; what Discord is told after a staff action is the
//! `Notifier`'s.

pub mod auth;
mod charts;
mod layout;
pub mod pages;
mod report;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use time::OffsetDateTime;
use tracing::{error, info, warn};

use crate::archive::{Archive, Redeemed, Session};
use crate::engine::{
    self, Clock, EngineError, InputId, Matching, Output, StaffAction, StaffInput, Store,
    StoreError, TicketId,
};
use crate::tickets::Ticket;

pub use layout::Problem;

/// Tells the chat platform what a staff action taken on the dashboard did,
/// exactly as it would after the slash command: the update in the ticket's
/// thread, and on close the summary with the transcript for staff.
pub trait Notifier: Send + Sync {
    fn staff_action<'a>(
        &'a self,
        ticket: &'a Ticket,
        outputs: &'a [Output],
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// No chat platform (`triage dashboard`): the page itself is the only
/// place the result shows.
pub struct Offline;

impl Notifier for Offline {
    fn staff_action<'a>(
        &'a self,
        _: &'a Ticket,
        _: &'a [Output],
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }
}

/// Everything the pages read and act through.
pub struct Dashboard {
    /// Tickets, the query log and the archive (transcripts, sessions).
    pub store: Arc<dyn Store>,
    /// The knowledge base the tickets and the report refer to.
    pub matcher: Arc<dyn Matching>,
    /// The only source of time (link expiry, sessions, the report's period).
    pub clock: Arc<dyn Clock>,
    /// What Discord is told after a staff action.
    pub notifier: Arc<dyn Notifier>,
    /// The address links point at (`dashboard.public_url`); `https://`
    /// makes the session cookie Secure.
    pub public_url: String,
    /// Where the knowledge base is read from, for its `kb check` problems.
    pub kb_dir: Option<PathBuf>,
    /// When the knowledge base in use was loaded.
    pub kb_loaded_at: OffsetDateTime,
}

impl Dashboard {
    fn archive(&self) -> &dyn Archive {
        // `serve` and `issue_login` refuse a store without an archive
        // before any page is served.
        self.store
            .archive()
            .expect("the dashboard's store keeps an archive (checked by serve)")
    }

    fn secure(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// A one-time login link for `who` (the `/dashboard` command,
    /// `triage dashboard`).
    pub fn login_link(&self, who: &crate::archive::Principal) -> Result<String, StoreError> {
        let archive = self.store.archive().ok_or_else(no_archive)?;
        let token = auth::issue_login(archive, who, self.clock.now())?;
        Ok(auth::login_url(&self.public_url, &token))
    }
}

fn no_archive() -> StoreError {
    StoreError::Corrupt {
        what: "store",
        detail: "this store keeps no transcripts or dashboard sessions".into(),
    }
}

/// The routes.
pub fn router(dash: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/tickets") }))
        .route("/login/{token}", get(login))
        .route("/logout", post(logout))
        .route("/tickets", get(pages::tickets))
        .route("/tickets/{id}", get(pages::ticket))
        .route("/tickets/{id}/transcript.html", get(pages::transcript_file))
        .route("/tickets/{id}/action", post(action))
        .route("/report", get(report::report))
        .route("/knowledge", get(report::knowledge))
        .fallback(|| async { Problem::not_found("There is no such page.") })
        .layer(axum::middleware::map_response(security_headers))
        .with_state(dash)
}

/// Serves the dashboard on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    dash: Arc<Dashboard>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if dash.store.archive().is_none() {
        return Err(std::io::Error::other(no_archive()));
    }
    info!(addr = %listener.local_addr()?, url = %dash.public_url, "dashboard listening");
    axum::serve(listener, router(dash))
        .with_graceful_shutdown(shutdown)
        .await
}

/// No scripts at all, even if escaping ever failed; no framing; the login
/// token in the URL never leaks through a Referer.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Runs blocking store work off the async threads; a failure is logged
/// and becomes the generic error page.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => {
            error!(error = %e, "dashboard task failed");
            Err(Problem::internal())
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        error!(error = format!("{e:#}"), "dashboard store error");
        Problem::internal()
    }
}

impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Self {
        error!(error = format!("{e:#}"), "dashboard engine error");
        Problem::internal()
    }
}

/// The session of a request, or the "sign in" page.
pub(crate) async fn session(
    dash: &Arc<Dashboard>,
    headers: &HeaderMap,
) -> Result<Session, Problem> {
    let Some(id) = session_id(headers) else {
        return Err(Problem::signed_out());
    };
    let d = dash.clone();
    blocking(move || Ok(d.archive().session(&auth::hash(&id), d.clock.now())?))
        .await?
        .ok_or_else(Problem::signed_out)
}

/// The session cookie's value, if the request has one.
fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(auth::cookie_value)
        .map(str::to_owned)
}

/// A ticket the session may see: unknown and other guilds' tickets are
/// both "no such ticket", so ids of other guilds do not leak.
pub(crate) fn visible_ticket(
    dash: &Dashboard,
    session: &Session,
    raw_id: &str,
) -> Result<Ticket, Problem> {
    let id = parse_ticket_id(raw_id)?;
    let missing = || Problem::not_found(&format!("There is no ticket #{}.", id.0));
    let t = dash.store.ticket(id)?.ok_or_else(missing)?;
    if let Some(g) = &session.principal.guild {
        if dash.archive().ticket_guild(&t)?.as_deref() != Some(g.as_str()) {
            return Err(missing());
        }
    }
    Ok(t)
}

fn parse_ticket_id(raw: &str) -> Result<TicketId, Problem> {
    raw.trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(TicketId)
        .ok_or_else(|| {
            Problem::bad_request(&format!(
                "'{raw}' is not a ticket number: use the number shown in the list, e.g. /tickets/12."
            ))
        })
}

async fn login(
    State(dash): State<Arc<Dashboard>>,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    let d = dash.clone();
    let outcome = blocking(move || Ok(auth::log_in(d.archive(), &token, d.clock.now())?)).await?;
    match outcome {
        Ok((id, s)) => {
            info!(user = %s.principal.user, guild = ?s.principal.guild, "dashboard login");
            let mut res = Redirect::to("/tickets").into_response();
            let cookie = auth::session_cookie(&id, dash.secure());
            res.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).map_err(|_| Problem::internal())?,
            );
            Ok(res)
        }
        Err(why) => {
            warn!(?why, "dashboard login refused");
            let text = match why {
                Redeemed::Used => "This login link was already used. Links work once: run /dashboard in Discord (or restart `triage dashboard`) for a new one.",
                Redeemed::Expired => "This login link has expired (links work for 10 minutes). Run /dashboard in Discord for a new one.",
                _ => "This login link is not valid. Run /dashboard in Discord for a new one.",
            };
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "Login link refused",
                text,
            ))
        }
    }
}

async fn logout(
    State(dash): State<Arc<Dashboard>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let s = session(&dash, &headers).await?;
    if !auth::csrf_ok(&s, form.get("csrf").map(String::as_str)) {
        return Err(Problem::csrf());
    }
    if let Some(id) = session_id(&headers) {
        let d = dash.clone();
        blocking(move || Ok(d.archive().end_session(&auth::hash(&id))?)).await?;
    }
    let mut res = layout::message_page("Signed out", "You are signed out.").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&auth::clear_cookie(dash.secure()))
            .map_err(|_| Problem::internal())?,
    );
    Ok(res)
}

/// Claim, close (with a reason) or reopen: the engine's staff path, as the
/// slash commands take it, then Discord is told.
async fn action(
    State(dash): State<Arc<Dashboard>>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let s = session(&dash, &headers).await?;
    if !auth::csrf_ok(&s, form.get("csrf").map(String::as_str)) {
        warn!(user = %s.principal.user, "dashboard action without a valid CSRF token");
        return Err(Problem::csrf());
    }
    let action = match form.get("action").map(String::as_str) {
        Some("claim") => StaffAction::Claim,
        Some("close") => StaffAction::Close,
        Some("reopen") => StaffAction::Reopen,
        _ => {
            return Err(Problem::bad_request(
                "Unknown action: use the buttons on the ticket page.",
            ))
        }
    };
    let reason = form
        .get("reason")
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(Problem::bad_request(
            "The reason is longer than 500 characters.",
        ));
    }
    // The form's nonce makes a resubmitted form one input, like a
    // redelivered interaction.
    let nonce = form
        .get("nonce")
        .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .cloned()
        .unwrap_or_else(auth::random_token);
    let d = dash.clone();
    let s2 = s.clone();
    let (ticket, reply) = blocking(move || {
        let t = visible_ticket(&d, &s2, &raw_id)?;
        let input = StaffInput {
            id: InputId::new(format!("dashboard:{nonce}")),
            staff: s2.principal.user.clone(),
            ticket: t.id,
            action,
            reason,
        };
        let reply = engine::staff_action(d.store.as_ref(), d.clock.as_ref(), &input)?;
        let after = d.store.ticket(t.id)?.unwrap_or(t);
        Ok((after, (reply, input.id)))
    })
    .await?;
    let (reply, input_id) = reply;
    if reply.undelivered && !reply.outputs.is_empty() {
        match dash.notifier.staff_action(&ticket, &reply.outputs).await {
            Ok(()) => {
                let d = dash.clone();
                blocking(move || Ok(d.store.mark_delivered(&input_id, d.clock.now())?)).await?;
            }
            Err(e) => {
                warn!(ticket = %ticket.id, error = %e, "telling Discord about a dashboard action failed")
            }
        }
    }
    let note = reply
        .outputs
        .iter()
        .find_map(|o| match o {
            Output::TicketUpdated(u) => Some(u.status.as_str()),
            Output::Notice { .. } => Some("unchanged"),
            _ => None,
        })
        .unwrap_or("unchanged");
    Ok(Redirect::to(&format!("/tickets/{}?done={note}", ticket.id.0)).into_response())
}
