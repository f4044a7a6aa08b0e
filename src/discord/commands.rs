//! The slash and context-menu commands. Each one parses its options, calls
//! the engine and hands the reply to `deliver`; staff commands are hidden by
//! `default_member_permissions` and checked against the support role.

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use tracing::{info, instrument};

use super::escalation::{self, Here};
use super::route::Conv;
use super::{blocking, render, text, Context, Data, Error};
use time::OffsetDateTime;

use crate::engine::{Action, Engine, Event, Input, StaffAction, StaffInput, TicketId, UserId};
use crate::kb::{self, KbError, ProductId};
use crate::matcher::{Matcher, Query};
use crate::report::{self, Report};

pub(super) fn all() -> Vec<poise::Command<Arc<Data>, Error>> {
    vec![
        diagnose(),
        diagnose_message(),
        kb(),
        escalate(),
        ticket(),
        stats(),
        super::dashboard::dashboard(),
    ]
}

/// Passes for members with the support role; the bot checks this itself
/// because server admins can change who sees a command.
async fn staff_only(ctx: Context<'_>) -> Result<bool, Error> {
    Ok(ctx.data().is_staff(ctx.guild_id(), member(ctx)))
}

fn member(ctx: Context<'_>) -> Option<&serenity::Member> {
    match ctx {
        poise::Context::Application(a) => a.interaction.member.as_deref(),
        poise::Context::Prefix(_) => None,
    }
}

fn in_thread(ctx: Context<'_>) -> bool {
    match ctx {
        poise::Context::Application(a) => a
            .interaction
            .channel
            .as_ref()
            .is_some_and(|c| is_thread(c.kind)),
        poise::Context::Prefix(_) => false,
    }
}

pub(super) fn is_thread(kind: serenity::ChannelType) -> bool {
    matches!(
        kind,
        serenity::ChannelType::PublicThread
            | serenity::ChannelType::PrivateThread
            | serenity::ChannelType::NewsThread
    )
}

/// The product a command names, among those the guild offers.
fn product_option(
    ctx: Context<'_>,
    engine: &Engine,
    product: Option<String>,
) -> Result<Option<ProductId>, Error> {
    let Some(p) = product.filter(|p| !p.trim().is_empty()) else {
        return Ok(None);
    };
    let p = p.trim();
    let guild = ctx.data().settings(ctx.guild_id());
    let offered = |id: &str| guild.is_none_or(|g| g.offers(id));
    match engine
        .kb()
        .products()
        .iter()
        .filter(|x| offered(x.id.as_str()))
        .find(|x| x.id.as_str() == p || x.name.eq_ignore_ascii_case(p))
    {
        Some(x) => Ok(Some(x.id.clone())),
        None => {
            let known: Vec<&str> = engine
                .kb()
                .products()
                .iter()
                .map(|x| x.id.as_str())
                .filter(|id| offered(id))
                .collect();
            Err(Error::user(format!(
                "I don't know the product '{p}'. Known products: {}.",
                known.join(", ")
            )))
        }
    }
}

/// The product a channel of the command's guild is about: its help
/// channel's, else the guild's only product when it offers one.
fn channel_product(ctx: Context<'_>, channel: u64) -> Option<ProductId> {
    let g = ctx.data().settings(ctx.guild_id())?;
    g.help_channel(channel).cloned().or_else(|| {
        g.products
            .as_ref()
            .filter(|ps| ps.len() == 1)
            .and_then(|ps| ps.first().cloned())
    })
}

/// Find the checklist for a problem, described in your own words.
#[poise::command(slash_command, guild_only)]
#[instrument(skip_all, fields(interaction = ctx.id()))]
async fn diagnose(
    ctx: Context<'_>,
    #[description = "What goes wrong, in your own words, or pick a known problem"]
    #[autocomplete = "autocomplete_symptom"]
    #[max_length = 2000]
    symptom: String,
    #[description = "The product it is about"]
    #[autocomplete = "autocomplete_product"]
    product: Option<String>,
    #[description = "Diagnose for this member (support team)"]
    #[rename = "for"]
    for_user: Option<serenity::User>,
) -> Result<(), Error> {
    let data = ctx.data();
    let engine = data.engine();
    let customer = for_user.as_ref().map_or(ctx.author().id, |u| u.id);
    if customer != ctx.author().id && !data.is_staff(ctx.guild_id(), member(ctx)) {
        return Err(Error::user(
            "Only the support team can diagnose for someone else.",
        ));
    }
    let product = product_option(ctx, &engine, product)?
        .or_else(|| channel_product(ctx, ctx.channel_id().get()));
    let conv = Conv {
        place: ctx.channel_id().get(),
        user: customer.get(),
    };
    // A value picked from the autocomplete list is an entry id.
    let event = match engine.kb().entry(symptom.trim()) {
        Some(e) => Event::Act(Action::PickEntry {
            entry: e.id.clone(),
        }),
        None => Event::Ask {
            text: super::markup::readable(&symptom, &[]).into_owned(),
        },
    };
    let input = Input {
        id: ctx.id().to_string().as_str().into(),
        key: conv.key(),
        author: UserId::new(ctx.author().id.to_string()),
        product,
        offered: None,
        event,
        origin: None,
    };
    // For yourself: only you need to see it. For a customer: they must.
    let ephemeral = customer == ctx.author().id;
    escalation::deliver(
        Here::Command {
            ctx,
            ephemeral,
            in_thread: in_thread(ctx),
        },
        conv,
        input,
    )
    .await
}

/// Apps → Diagnose on a message: answers the customer's message in place.
#[poise::command(context_menu_command = "Diagnose", guild_only)]
#[instrument(skip_all, fields(interaction = ctx.id()))]
async fn diagnose_message(ctx: Context<'_>, msg: serenity::Message) -> Result<(), Error> {
    let data = ctx.data();
    if msg.author.id != ctx.author().id && !data.is_staff(ctx.guild_id(), member(ctx)) {
        return Err(Error::user(
            "Only the support team can diagnose someone else's message.",
        ));
    }
    if msg.content.trim().is_empty() {
        return Err(Error::user("That message has no text to diagnose."));
    }
    let conv = Conv {
        place: msg.channel_id.get(),
        user: msg.author.id.get(),
    };
    let input = Input {
        id: ctx.id().to_string().as_str().into(),
        key: conv.key(),
        author: UserId::new(ctx.author().id.to_string()),
        product: channel_product(ctx, msg.channel_id.get()),
        offered: None,
        event: Event::Ask {
            text: super::markup::message_text(&msg),
        },
        origin: None,
    };
    escalation::deliver(
        Here::OnMessage {
            ctx,
            target: &msg,
            in_thread: in_thread(ctx),
        },
        conv,
        input,
    )
    .await
}

/// Talk to a person: opens a ticket thread and asks what support needs.
#[poise::command(slash_command, guild_only)]
#[instrument(skip_all, fields(interaction = ctx.id()))]
async fn escalate(
    ctx: Context<'_>,
    #[description = "The product it is about"]
    #[autocomplete = "autocomplete_product"]
    product: Option<String>,
) -> Result<(), Error> {
    let data = ctx.data();
    let product = product_option(ctx, &data.engine(), product)?
        .or_else(|| channel_product(ctx, ctx.channel_id().get()));
    let conv = Conv {
        place: ctx.channel_id().get(),
        user: ctx.author().id.get(),
    };
    let input = Input::act(ctx.id().to_string(), conv.key(), Action::Escalate).in_product(product);
    escalation::deliver(
        Here::Command {
            ctx,
            ephemeral: true,
            in_thread: in_thread(ctx),
        },
        conv,
        input,
    )
    .await
}

/// The knowledge base.
#[poise::command(
    slash_command,
    guild_only,
    subcommands("kb_show", "kb_reload"),
    subcommand_required
)]
async fn kb(_: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Show an entry's checklist.
#[poise::command(slash_command, rename = "show")]
async fn kb_show(
    ctx: Context<'_>,
    #[description = "The entry"]
    #[autocomplete = "autocomplete_entry"]
    entry: String,
) -> Result<(), Error> {
    let engine = ctx.data().engine();
    let kb = engine.kb();
    let entry = kb.entry(entry.trim()).ok_or_else(|| {
        Error::user(format!(
            "There is no entry '{}'. Start typing to pick one.",
            entry.trim()
        ))
    })?;
    let msg = render::entry(kb, entry);
    ctx.send(msg.reply(true)).await?;
    Ok(())
}

/// Reload the knowledge base from disk; keeps the current one if the new one has problems (staff).
#[poise::command(slash_command, rename = "reload", check = "staff_only", ephemeral)]
#[instrument(skip_all, fields(interaction = ctx.id()))]
async fn kb_reload(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let data = ctx.data();
    let dir = data.kb_dir.clone();
    let loaded = blocking(move || kb::load_dir(&dir)).await?;
    let new_kb = match loaded {
        Ok(k) => k,
        Err(KbError::Invalid(problems)) => {
            let list: Vec<String> = problems.iter().map(|p| format!("• {p}")).collect();
            let msg = format!(
                "**Kept the current knowledge base**: the files on disk have {} problem(s).\n{}",
                problems.len(),
                list.join("\n")
            );
            for (i, piece) in text::split(&msg, text::CONTENT_MAX)
                .into_iter()
                .take(5)
                .enumerate()
            {
                escalation::respond(ctx, &render::Message::text(piece), true, i == 0).await?;
            }
            return Ok(());
        }
        Err(e) => {
            return Err(Error::user(format!(
                "**Kept the current knowledge base**: {e}"
            )))
        }
    };
    if let Err(problem) = data.config().validate(&new_kb) {
        return Err(Error::user(format!(
            "**Kept the current knowledge base**: the config no longer fits it: {problem}"
        )));
    }
    let summary = format!(
        "{} products, {} entries",
        new_kb.products().len(),
        new_kb.entries().len()
    );
    let matcher = blocking(move || Matcher::new(Arc::new(new_kb))).await??;
    data.replace_matcher(Arc::new(matcher));
    info!(%summary, "knowledge base reloaded");
    let done = render::Message::text(format!("Reloaded the knowledge base: {summary}."));
    escalation::respond(ctx, &done, true, true).await?;
    Ok(())
}

/// Tickets (support team).
#[poise::command(
    slash_command,
    guild_only,
    subcommands(
        "ticket_claim",
        "ticket_close",
        "ticket_reopen",
        "ticket_close_request",
        "ticket_hold"
    ),
    subcommand_required,
    default_member_permissions = "MANAGE_THREADS",
    check = "staff_only"
)]
async fn ticket(_: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Take this ticket.
#[poise::command(slash_command, rename = "claim")]
async fn ticket_claim(
    ctx: Context<'_>,
    #[description = "Ticket number (default: this thread's ticket)"] ticket: Option<i64>,
) -> Result<(), Error> {
    staff_action(ctx, ticket, StaffAction::Claim, None).await
}

/// Close this ticket; the customer is told.
#[poise::command(slash_command, rename = "close")]
async fn ticket_close(
    ctx: Context<'_>,
    #[description = "Why (shown to the customer)"]
    #[max_length = 500]
    reason: Option<String>,
    #[description = "Ticket number (default: this thread's ticket)"] ticket: Option<i64>,
) -> Result<(), Error> {
    staff_action(ctx, ticket, StaffAction::Close, reason).await
}

/// Reopen a closed ticket.
#[poise::command(slash_command, rename = "reopen")]
async fn ticket_reopen(
    ctx: Context<'_>,
    #[description = "Ticket number (default: this thread's ticket)"] ticket: Option<i64>,
) -> Result<(), Error> {
    staff_action(ctx, ticket, StaffAction::Reopen, None).await
}

/// Ask the customer whether this ticket can be closed (Close / Keep open).
#[poise::command(slash_command, rename = "close-request")]
async fn ticket_close_request(
    ctx: Context<'_>,
    #[description = "Why (shown to the customer)"]
    #[max_length = 500]
    reason: Option<String>,
    #[description = "Ticket number (default: this thread's ticket)"] ticket: Option<i64>,
) -> Result<(), Error> {
    let action = crate::engine::TicketAction::RequestClose;
    super::lifecycle::staff_command(ctx, ticket, action, reason).await
}

/// Turn stale reminders and auto-close off (or back on) for this ticket.
#[poise::command(slash_command, rename = "hold")]
async fn ticket_hold(
    ctx: Context<'_>,
    #[description = "Off again (default: put on hold)"] off: Option<bool>,
    #[description = "Ticket number (default: this thread's ticket)"] ticket: Option<i64>,
) -> Result<(), Error> {
    let action = crate::engine::TicketAction::Hold {
        on: !off.unwrap_or(false),
    };
    super::lifecycle::staff_command(ctx, ticket, action, None).await
}

#[instrument(skip(ctx, reason), fields(interaction = ctx.id()))]
async fn staff_action(
    ctx: Context<'_>,
    ticket: Option<i64>,
    action: StaffAction,
    reason: Option<String>,
) -> Result<(), Error> {
    let channel_name = match ctx {
        poise::Context::Application(a) => {
            a.interaction.channel.as_ref().and_then(|c| c.name.clone())
        }
        poise::Context::Prefix(_) => None,
    };
    let data = ctx.data();
    let work = async {
        let ticket = match ticket {
            Some(n) => TicketId(n),
            None => escalation::ticket_of_channel(data, ctx.channel_id(), channel_name.as_deref())
                .await?
                .ok_or_else(|| {
                    Error::user("This is not a ticket thread: run it in the ticket's thread, or give the ticket number.")
                })?,
        };
        if !data.ticket_in_guild(ticket, ctx.guild_id()).await? {
            return Err(not_here(ticket));
        }
        let input = StaffInput {
            id: ctx.id().to_string().as_str().into(),
            staff: UserId::new(ctx.author().id.to_string()),
            ticket,
            action,
            reason,
        };
        data.staff(input).await
    };
    let (reply, acked) = escalation::command_in_time(ctx, false, work).await?;
    let reply = reply?;
    if !reply.undelivered {
        return Ok(());
    }
    escalation::announce_staff(ctx, &reply.outputs, acked).await?;
    let core = data.slot().core;
    super::transcripts::after_staff_action(
        &ctx.serenity_context().http,
        data.config(),
        core.store,
        core.matcher,
        &reply.outputs,
    )
    .await;
    data.delivered(ctx.id().to_string().as_str().into()).await
}

/// What staff read for a ticket number of another guild (or none): the
/// same words either way, so a number tells nothing about other guilds.
pub(super) fn not_here(ticket: TicketId) -> Error {
    Error::user(format!("There is no ticket {ticket} in this server."))
}

const STATS_IN_GUILD: &str = "Run /stats in the server whose figures you want.";

/// Questions, answers, self-service and escalations (support team).
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_THREADS",
    check = "staff_only",
    ephemeral
)]
async fn stats(
    ctx: Context<'_>,
    #[description = "Over the last N days (default 7)"]
    #[min = 1]
    #[max = 365]
    days: Option<u32>,
) -> Result<(), Error> {
    let days = days.unwrap_or(7);
    let engine = ctx.data().engine();
    let until = OffsetDateTime::now_utc();
    let since = until - time::Duration::days(i64::from(days));
    // With `guilds:`, only this guild's questions and tickets count.
    let scope = match (&ctx.data().config().guilds, ctx.guild_id()) {
        (crate::config::Guilds::Many(_), Some(g)) => Some(g.to_string()),
        (crate::config::Guilds::Many(_), None) => return Err(Error::user(STATS_IN_GUILD)),
        (crate::config::Guilds::One { .. }, _) => None,
    };
    let work = blocking(move || -> Result<(Report, Vec<String>), Error> {
        let d = crate::archive::ReportData::load(engine.store().as_ref(), since, scope.as_deref())?;
        let service = crate::service::compute(
            &d.tickets,
            &d.lifecycles,
            &d.surveys,
            engine.policy().hours.as_ref(),
            since,
            until,
        );
        Ok((
            report::compute(&d.records, engine.kb(), since, until),
            crate::service::lines(&service),
        ))
    });
    let (report, acked) = escalation::command_in_time(ctx, true, work).await?;
    let (report, service) = report??;
    let mut msg = render::report(&report, days);
    // Satisfaction and response times, per product and staff member.
    msg.content =
        crate::discord::text::truncate(&service.join("\n"), crate::discord::text::CONTENT_MAX);
    escalation::respond(ctx, &msg, true, acked).await
}

/// Top entries for what the user has typed so far; the value is the entry
/// id, so a pick answers directly. Free text stays possible.
async fn autocomplete_symptom(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    if partial.trim().chars().count() < 3 {
        return autocomplete_choices(std::iter::empty());
    }
    let data = ctx.data();
    let product = channel_product(ctx, ctx.channel_id().get());
    let offered = data.settings(ctx.guild_id()).and_then(|g| g.offered());
    let m = data.matcher().find(&Query {
        text: partial,
        product: product.as_ref(),
        among: offered.as_deref(),
    });
    autocomplete_choices(m.results.iter().map(|c| (c.title.clone(), c.id.as_str())))
}

async fn autocomplete_product(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let engine = ctx.data().engine();
    let guild = ctx.data().settings(ctx.guild_id());
    let p = partial.to_lowercase();
    autocomplete_choices(
        engine
            .kb()
            .products()
            .iter()
            .filter(|x| guild.is_some_and(|g| g.offers(x.id.as_str())))
            .filter(|x| x.id.as_str().contains(&p) || x.name.to_lowercase().contains(&p))
            .map(|x| (x.name.clone(), x.id.as_str())),
    )
}

async fn autocomplete_entry(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let engine = ctx.data().engine();
    let p = partial.to_lowercase();
    autocomplete_choices(
        engine
            .kb()
            .entries()
            .iter()
            .filter(|e| e.id.as_str().contains(&p) || e.title.to_lowercase().contains(&p))
            .map(|e| (format!("{} ({})", e.title, e.id), e.id.as_str())),
    )
}

/// Autocomplete choices from (label, value) pairs, within Discord's limits
/// on their number and label length.
fn autocomplete_choices<'a>(
    items: impl Iterator<Item = (String, &'a str)>,
) -> serenity::CreateAutocompleteResponse {
    let choices = items
        .take(text::CHOICES_MAX)
        .map(|(label, value)| {
            serenity::AutocompleteChoice::new(text::truncate(&label, text::LABEL_MAX), value)
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}
