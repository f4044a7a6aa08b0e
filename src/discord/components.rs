//! Button and select-menu clicks, routed by `custom_id` alone (no
//! collectors): decode the route, check who clicked, feed the engine the
//! action with the interaction id as input id, deliver the reply.

use poise::serenity_prelude as serenity;
use serenity::{ComponentInteraction, ComponentInteractionDataKind, CreateInteractionResponse};
use tracing::{debug, instrument};

use super::escalation::{self, Here};
use super::render::Message;
use super::route::{self, Route};
use super::{commands, help_channels, Data, Error};
use crate::engine::{Action, Input, UserId};

#[instrument(skip_all, fields(interaction = %click.id, custom_id = %click.data.custom_id))]
pub(super) async fn handle(
    ctx: &serenity::Context,
    data: &Data,
    click: &ComponentInteraction,
) -> Result<(), Error> {
    let Some(route) = Route::decode(&click.data.custom_id) else {
        debug!("not ours");
        return Ok(());
    };
    let conv = route.conv();
    let clicker = click.user.id;
    let ephemeral = click
        .message
        .flags
        .is_some_and(|f| f.contains(serenity::MessageFlags::EPHEMERAL));
    // custom_ids are stateless: a button naming a conversation of another
    // guild is refused, whoever presses it.
    if !data
        .place_in_guild(conv.place, click.channel_id.get(), click.guild_id)
        .await?
    {
        debug!(
            place = conv.place,
            "a button of another guild's conversation"
        );
        let refuse = Message::text("This button does not belong to this server.");
        click
            .create_response(
                ctx,
                CreateInteractionResponse::Message(refuse.interaction(true)),
            )
            .await?;
        return Ok(());
    }
    if clicker.get() != conv.user && !data.is_staff(click.guild_id, click.member.as_ref()) {
        let refuse = Message::text(format!(
            "These buttons belong to <@{}>'s question. Ask your own with `/diagnose`.",
            conv.user
        ));
        click
            .create_response(
                ctx,
                CreateInteractionResponse::Message(refuse.interaction(true)),
            )
            .await?;
        return Ok(());
    }
    let Some(action) = action_of(&route, &click.data.kind) else {
        debug!("click without a usable value");
        click
            .create_response(ctx, CreateInteractionResponse::Acknowledge)
            .await?;
        return Ok(());
    };
    // "Which checks have you tried" re-renders the checklist in place.
    let update = matches!(route, Route::Tried { .. });
    let mut input = Input::act(click.id.to_string(), conv.key(), action).in_product(
        data.settings(click.guild_id)
            .and_then(|g| g.help_channel(conv.place).cloned()),
    );
    if clicker.get() != conv.user {
        input = input.by(UserId::new(clicker.to_string()));
    }
    // The partial channel says whether this is a thread; when it does not
    // (or says "text"), the cache or one REST call settles it, since
    // opening a thread inside a thread fails.
    let in_thread = click
        .channel
        .as_ref()
        .is_some_and(|c| commands::is_thread(c.kind))
        || match click.guild_id {
            Some(g) => help_channels::thread_of(ctx, g, click.channel_id)
                .await?
                .is_some(),
            None => false,
        };
    escalation::deliver(
        Here::Click {
            ctx,
            data,
            click,
            ephemeral,
            update,
            in_thread,
        },
        conv,
        input,
    )
    .await
}

fn action_of(route: &Route, kind: &ComponentInteractionDataKind) -> Option<Action> {
    let values = match kind {
        ComponentInteractionDataKind::StringSelect { values } => Some(values),
        _ => None,
    };
    match route {
        Route::Act { action, .. } => Some(action.clone()),
        Route::Menu { .. } => route::decode_action(values?.first()?),
        Route::Tried { .. } => {
            let mut checks: Vec<usize> = values?.iter().filter_map(|v| v.parse().ok()).collect();
            checks.sort_unstable();
            Some(Action::Tried { checks })
        }
    }
}
