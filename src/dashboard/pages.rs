//! The Tickets page (filters and search over fields and transcripts) and
//! the Ticket page (fields, match, checks tried, transcript, timeline and
//! the staff buttons), plus the standalone transcript download.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};

use super::layout::{page, Nav, Problem};
use super::{auth, blocking, session, visible_ticket, Dashboard};
use crate::archive::{html as transcript_html, Session, TicketFilter, TicketPage};
use crate::engine::ticket_card;
use crate::kb::ProductId;
use crate::tickets::{TicketStatus, UserId};

/// Tickets per page.
pub const PAGE_SIZE: usize = 50;

/// The list's filters as typed in the URL, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListQuery {
    pub status: Option<TicketStatus>,
    pub product: Option<ProductId>,
    pub guild: Option<String>,
    pub claimed_by: Option<UserId>,
    pub q: Option<String>,
    pub page: usize,
}

/// Reads the filters; anything malformed is a clear error naming it.
pub fn parse_list_query(
    raw: &HashMap<String, String>,
    products: &[&str],
) -> Result<ListQuery, String> {
    let mut q = ListQuery {
        page: 1,
        ..ListQuery::default()
    };
    for (k, v) in raw {
        let v = v.trim();
        match k.as_str() {
            _ if v.is_empty() => {}
            "status" => {
                q.status =
                    Some(TicketStatus::parse(v).ok_or_else(|| {
                        format!("status '{v}' is not one of open, claimed, closed")
                    })?)
            }
            "product" => {
                if !products.contains(&v) {
                    return Err(format!(
                        "product '{v}' is not one of {}",
                        products.join(", ")
                    ));
                }
                q.product = Some(ProductId::new(v));
            }
            "guild" => {
                if !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 20 {
                    return Err(format!("guild '{v}' is not a Discord server id (digits)"));
                }
                q.guild = Some(v.to_owned());
            }
            "claimed_by" => q.claimed_by = Some(UserId::new(v)),
            "q" => {
                if v.chars().count() > 200 {
                    return Err("the search text is longer than 200 characters".into());
                }
                q.q = Some(v.to_owned());
            }
            "page" => {
                q.page = v
                    .parse::<usize>()
                    .ok()
                    .filter(|p| (1..=100_000).contains(p))
                    .ok_or_else(|| format!("page '{v}' is not a page number (1, 2, ...)"))?
            }
            other => return Err(format!("unknown filter '{other}'")),
        }
    }
    Ok(q)
}

pub async fn tickets(
    State(dash): State<Arc<Dashboard>>,
    headers: HeaderMap,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Html<String>, Problem> {
    let s = session(&dash, &headers).await?;
    let products: Vec<String> = dash
        .matcher
        .kb()
        .products()
        .iter()
        .map(|p| p.id.to_string())
        .collect();
    let refs: Vec<&str> = products.iter().map(String::as_str).collect();
    let q = parse_list_query(&raw, &refs)
        .map_err(|e| Problem::bad_request(&format!("Malformed filter: {e}.")))?;
    let d = dash.clone();
    let (q2, s2) = (q.clone(), s.clone());
    let found = blocking(move || Ok(d.archive().find_tickets(&filter(&q2, &s2))?)).await?;
    Ok(page(
        "Tickets",
        Nav::Tickets,
        &s,
        list_body(&q, &refs, &found, s.principal.guild.is_none()),
    ))
}

/// The store filter for a list query: a guild's staff see their guild only.
pub fn filter(q: &ListQuery, s: &Session) -> TicketFilter {
    TicketFilter {
        status: q.status,
        product: q.product.clone(),
        guild: s.principal.guild.clone().or_else(|| q.guild.clone()),
        claimed_by: q.claimed_by.clone(),
        text: q.q.clone(),
        limit: PAGE_SIZE,
        offset: (q.page - 1) * PAGE_SIZE,
    }
}

/// The list page's body (also what the benchmark renders).
pub fn list_body(q: &ListQuery, products: &[&str], found: &TicketPage, any_guild: bool) -> Markup {
    let status = q.status.map(|s| s.as_str()).unwrap_or("");
    let product = q.product.as_ref().map(|p| p.as_str()).unwrap_or("");
    let pages = found.total.div_ceil(PAGE_SIZE).max(1);
    let link = |page: usize| {
        let mut parts = vec![format!("page={page}")];
        for (k, v) in [
            ("status", status),
            ("product", product),
            ("guild", q.guild.as_deref().unwrap_or("")),
            (
                "claimed_by",
                q.claimed_by.as_ref().map(|u| u.as_str()).unwrap_or(""),
            ),
            ("q", q.q.as_deref().unwrap_or("")),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", url_encode(v)));
            }
        }
        format!("/tickets?{}", parts.join("&"))
    };
    html! {
        form.filters method="get" action="/tickets" {
            label { "Search" input type="search" name="q" value=[q.q.as_deref()] placeholder="fields and transcript text"; }
            label { "Status"
                select name="status" {
                    option value="" selected[status.is_empty()] { "any" }
                    @for s in ["open", "claimed", "closed"] {
                        option value=(s) selected[status == s] { (s) }
                    }
                }
            }
            label { "Product"
                select name="product" {
                    option value="" selected[product.is_empty()] { "any" }
                    @for p in products {
                        option value=(p) selected[product == *p] { (p) }
                    }
                }
            }
            @if any_guild {
                label { "Server id" input type="text" name="guild" value=[q.guild.as_deref()]; }
            }
            label { "Claimed by" input type="text" name="claimed_by" value=[q.claimed_by.as_ref().map(|u| u.as_str())]; }
            button type="submit" { "Filter" }
        }
        p { (found.total) " ticket(s)" @if pages > 1 { " · page " (q.page) " of " (pages) } }
        table {
            thead { tr { th { "#" } th { "Status" } th { "Product" } th { "Question" } th { "Customer" } th { "Claimed by" } th { "Opened" } } }
            tbody {
                @for t in &found.tickets {
                    tr {
                        td { a href=(format!("/tickets/{}", t.id.0)) { (t.id) } }
                        td { span.status.(t.status.as_str()) { (t.status) } }
                        td { (t.product) }
                        td { (snippet(t.question.as_deref().unwrap_or(""), 100)) }
                        td { (t.customer) }
                        td { @if let Some(c) = &t.claimed_by { (c) } }
                        td { (transcript_html::when(t.created_at)) }
                    }
                }
            }
        }
        p {
            @if q.page > 1 { a href=(link(q.page - 1)) { "← newer" } " " }
            @if q.page < pages { a href=(link(q.page + 1)) { "older →" } }
        }
    }
}

fn snippet(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the ticket page shows, read in one blocking call.
pub struct TicketView {
    pub ticket: crate::tickets::Ticket,
    pub card: crate::engine::TicketCard,
    pub ranking: Vec<crate::tickets::LoggedResult>,
    pub transcript: Vec<crate::archive::TranscriptMessage>,
    pub events: Vec<crate::archive::EventRecord>,
}

pub fn load_view(dash: &Dashboard, s: &Session, raw_id: &str) -> Result<TicketView, Problem> {
    let ticket = visible_ticket(dash, s, raw_id)?;
    let archive = dash.archive();
    Ok(TicketView {
        card: ticket_card(dash.matcher.kb(), &ticket),
        ranking: archive.ranking_of(ticket.id)?,
        transcript: archive.transcript(&ticket)?,
        events: archive.ticket_events(ticket.id)?,
        ticket,
    })
}

pub async fn ticket(
    State(dash): State<Arc<Dashboard>>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    Query(raw): Query<HashMap<String, String>>,
) -> Result<Html<String>, Problem> {
    let s = session(&dash, &headers).await?;
    let d = dash.clone();
    let s2 = s.clone();
    let view = blocking(move || load_view(&d, &s2, &raw_id)).await?;
    let done = raw
        .get("done")
        .map(String::as_str)
        .filter(|d| matches!(*d, "claimed" | "closed" | "open" | "unchanged"));
    let title = format!("Ticket {}", view.ticket.id);
    Ok(page(
        &title,
        Nav::None,
        &s,
        ticket_body(&view, &s.csrf, &auth::random_token(), done),
    ))
}

/// The ticket page's body (also what the benchmark renders).
pub fn ticket_body(v: &TicketView, csrf: &str, nonce: &str, done: Option<&str>) -> Markup {
    let t = &v.ticket;
    let score = t
        .entry
        .as_ref()
        .and_then(|e| v.ranking.iter().find(|r| &r.id == e))
        .map(|r| r.score);
    let action = format!("/tickets/{}/action", t.id.0);
    html! {
        @if let Some(d) = done {
            p.flash { @if d == "unchanged" { "Nothing changed: the ticket was already in that state." } @else { "Done: the ticket is now " (d) "." } }
        }
        dl.fields {
            dt { "Status" } dd { span.status.(t.status.as_str()) { (t.status) } }
            dt { "Product" } dd { (v.card.product_name) }
            dt { "Matched entry" }
            dd {
                @match (&t.entry, &v.card.entry_title) {
                    (Some(e), Some(title)) => { (title) " (" (e) ")" },
                    (Some(e), None) => { (e) },
                    _ => { "none (escalated directly)" },
                }
                @if let Some(s) = score { " · confidence " (format!("{:.0}%", s * 100.0)) }
            }
            dt { "Question" } dd { (t.question.as_deref().unwrap_or("")) }
            dt { "Checks already tried" }
            dd {
                @if v.card.tried.is_empty() { "none" }
                @else { ul { @for c in &v.card.tried { li { (c.cause) " (" (c.id) ")" } } } }
            }
            @for f in &t.fields { dt { (f.label) } dd { (f.value) } }
            dt { "Customer" } dd { (t.customer) }
            dt { "Opened by" } dd { (t.opened_by) }
            dt { "Claimed by" } dd { @if let Some(c) = &t.claimed_by { (c) } @else { "nobody" } }
            @if let Some(r) = &t.close_reason { dt { "Close reason" } dd { (r) } }
            dt { "Opened" } dd { (transcript_html::when(t.created_at)) }
            dt { "Updated" } dd { (transcript_html::when(t.updated_at)) }
        }
        div.actions {
            @if t.status != crate::tickets::TicketStatus::Closed {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="nonce" value=(nonce);
                    input type="hidden" name="action" value="claim";
                    button type="submit" id="claim" { "Claim" }
                }
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="nonce" value=(nonce);
                    input type="hidden" name="action" value="close";
                    input type="text" name="reason" id="reason" maxlength="500" placeholder="reason (shown to the customer)";
                    button type="submit" id="close" { "Close" }
                }
            } @else {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="nonce" value=(nonce);
                    input type="hidden" name="action" value="reopen";
                    button type="submit" id="reopen" { "Reopen" }
                }
            }
            a href=(format!("/tickets/{}/transcript.html", t.id.0)) { "Download the transcript" }
        }
        h2 { "Transcript" }
        (transcript_html::messages(&v.transcript))
        h2 { "Timeline" }
        table {
            thead { tr { th { "When" } th { "What" } th { "Who" } th { "Details" } } }
            tbody {
                @for e in &v.events {
                    tr {
                        td { (transcript_html::when(e.at)) }
                        td { (e.kind) }
                        td { (e.author) }
                        td { @if let Some(r) = e.detail.get("reason").and_then(|r| r.as_str()) { (r) } }
                    }
                }
            }
        }
    }
}

/// The standalone HTML transcript, as attached to the close summary.
pub async fn transcript_file(
    State(dash): State<Arc<Dashboard>>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let s = session(&dash, &headers).await?;
    let d = dash.clone();
    let (name, doc) = blocking(move || {
        let v = load_view(&d, &s, &raw_id)?;
        Ok((
            crate::archive::transcript_file_name(v.ticket.id),
            transcript_html::document(
                &v.ticket,
                &v.card.product_name,
                v.card.entry_title.as_deref(),
                &v.transcript,
                &v.events,
            ),
        ))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        doc,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<ListQuery, String> {
        let raw = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_list_query(&raw, &["convot", "c2c"])
    }

    #[test]
    fn malformed_filters_are_named() {
        assert!(q(&[("status", "opne")])
            .unwrap_err()
            .contains("status 'opne'"));
        assert!(q(&[("product", "x")]).unwrap_err().contains("product 'x'"));
        assert!(q(&[("page", "0")]).unwrap_err().contains("page '0'"));
        assert!(q(&[("guild", "abc")]).unwrap_err().contains("guild"));
        assert!(q(&[("sort", "x")])
            .unwrap_err()
            .contains("unknown filter 'sort'"));
        let ok = q(&[
            ("status", "open"),
            ("product", "c2c"),
            ("q", "csp"),
            ("page", "2"),
        ])
        .unwrap();
        assert_eq!(ok.status, Some(TicketStatus::Open));
        assert_eq!(ok.page, 2);
    }
}
