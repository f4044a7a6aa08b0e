//! The page frame (navigation, styles) and the error pages: every refusal
//! and every bad input gets a page that says what happened and what to do,
//! never a stack trace.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::archive::{html::STYLE as TRANSCRIPT_STYLE, Session};

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1b}
header{background:#24292f;color:#fff;padding:.6em 1em;display:flex;gap:1.2em;align-items:center}
header a{color:#fff;text-decoration:none}header a.here{text-decoration:underline}
header form{margin-left:auto}
main{padding:1em;max-width:72em}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}
form.filters{display:flex;flex-wrap:wrap;gap:.6em;align-items:end;margin-bottom:1em}
form.filters label{display:flex;flex-direction:column;font-size:.85em}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1em}dl.fields dt{font-weight:600}
dl.fields dd{margin:0;white-space:pre-wrap;word-break:break-word}
.status{padding:.1em .5em;border-radius:1em;font-size:.85em;background:#eee}
.status.open{background:#fff3cd}.status.claimed{background:#cfe2ff}.status.closed{background:#d1e7dd}
.actions{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}.actions form{display:flex;gap:.4em}
.flash{background:#d1e7dd;padding:.5em 1em;border-radius:.3em}
.problem{background:#f8d7da;padding:1em;border-radius:.3em}
.chart{max-width:100%;height:auto;border:1px solid #eee}
.figures{display:flex;gap:2em;flex-wrap:wrap}.figures div{font-size:1.4em}.figures small{display:block;font-size:.6em;color:#555}
";

/// Which navigation link is the current page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Tickets,
    Report,
    Knowledge,
    None,
}

/// A full page with the navigation (signed in).
pub fn page(title: &str, nav: Nav, session: &Session, body: Markup) -> Html<String> {
    let link = |href: &str, label: &str, this: Nav| {
        html! { a href=(href) class=[(nav == this).then_some("here")] { (label) } }
    };
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · triage" }
                    style { (PreEscaped(STYLE)) (PreEscaped(TRANSCRIPT_STYLE)) }
                }
                body {
                    header {
                        strong { "triage" }
                        (link("/tickets", "Tickets", Nav::Tickets))
                        (link("/report", "Report", Nav::Report))
                        (link("/knowledge", "Knowledge", Nav::Knowledge))
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(session.csrf);
                            span { (session.principal.user) " " }
                            button type="submit" { "Sign out" }
                        }
                    }
                    main { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

/// A page without navigation (signed out, errors).
pub fn message_page(title: &str, text: &str) -> Html<String> {
    bare(title, html! { p { (text) } })
}

fn bare(title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { (title) " · triage" }
                    style { (PreEscaped(STYLE)) }
                }
                body { main { h1 { (title) } (body) p { a href="/tickets" { "Back to the tickets" } } } }
            }
        }
        .into_string(),
    )
}

/// A refusal or a bad input, shown as a page with its status code.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub title: &'static str,
    pub text: String,
}

impl Problem {
    pub fn new(status: StatusCode, title: &'static str, text: &str) -> Self {
        Self {
            status,
            title,
            text: text.to_owned(),
        }
    }

    pub fn not_found(text: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", text)
    }

    pub fn bad_request(text: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", text)
    }

    pub fn signed_out() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Please sign in",
            "You are not signed in, or your session has expired (sessions last 12 hours). Run /dashboard in Discord for a one-time login link.",
        )
    }

    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This request did not carry the page's security token, so nothing was changed. Reload the ticket page and use its buttons.",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side. It has been logged; please try again in a moment.",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = bare(self.title, html! { p.problem { (self.text) } });
        (self.status, body).into_response()
    }
}
