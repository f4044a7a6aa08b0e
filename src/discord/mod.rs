//! The Discord front end: builds the serenity client with poise commands,
//! routes gateway events and component clicks to the engine (in arrival
//! order per channel and user), and renders the engine's outputs within
//! Discord's limits. Nothing outside this module knows Discord.

mod catch_up;
mod commands;
mod components;
pub mod dashboard;
mod deliver;
mod escalation;
mod flood;
mod guilds;
mod help_channels;
mod lifecycle;
mod markup;
mod order;
mod parts;
pub mod render;
pub mod rest;
pub mod route;
mod shards;
pub mod text;
mod transcripts;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio::sync::Semaphore;
use tracing::{error, info, instrument, warn};

use crate::config::Config;
use crate::engine::{
    Clock, Engine, EngineError, Input, InputId, Matching, Reply, StaffInput, Store,
};

/// The gateway intents the bot needs. MESSAGE_CONTENT is privileged: it must
/// be switched on in the Developer Portal, or Discord closes the gateway
/// with 4014 and `run` fails with `RunError::DisallowedIntents`.
pub fn intents() -> serenity::GatewayIntents {
    serenity::GatewayIntents::GUILDS
        | serenity::GatewayIntents::GUILD_MESSAGES
        | serenity::GatewayIntents::MESSAGE_CONTENT
}

/// What the bot needs in the channels it serves: read and answer (with
/// embeds), open ticket threads and post in them, and ping the support role
/// even when the role is not set "mentionable" (allowed_mentions still
/// limits every message to that one role). 377957338112.
pub fn invite_permissions() -> serenity::Permissions {
    use serenity::Permissions as P;
    P::VIEW_CHANNEL
        | P::SEND_MESSAGES
        | P::EMBED_LINKS
        | P::READ_MESSAGE_HISTORY
        | P::MENTION_EVERYONE
        | P::CREATE_PUBLIC_THREADS
        | P::CREATE_PRIVATE_THREADS
        | P::SEND_MESSAGES_IN_THREADS
}

/// The URL that adds the bot to a server with its commands and permissions.
pub fn invite_url(application_id: u64) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot+applications.commands&permissions={}",
        invite_permissions().bits()
    )
}

/// The bot token. It is never printed: `Debug` shows `Token(<redacted>)`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Accepts a token as found in `DISCORD_TOKEN` (with or without a
    /// `Bot ` prefix); refuses an empty one.
    pub fn new(raw: &str) -> Result<Self, RunError> {
        let t = raw.trim();
        let t = t.strip_prefix("Bot ").unwrap_or(t).trim();
        if t.is_empty() || t.chars().any(char::is_whitespace) {
            return Err(RunError::MalformedToken);
        }
        Ok(Self(t.to_owned()))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// How to reach Discord.
#[derive(Clone, Debug)]
pub struct Connection {
    pub token: Token,
    /// When set (`DISCORD_API_BASE`, e.g. `http://127.0.0.1:PORT`), every REST
    /// call and, through `GET /gateway`, the gateway go there instead of
    /// discord.com: a rate-limit proxy, or a fake Discord in tests.
    pub api_base: Option<String>,
    /// How the REST layer retries (`rest::Policy::default()` in production).
    pub rest: rest::Policy,
}

/// What the engine is made of. The bot builds its engine from these, and
/// `/kb reload` rebuilds it with a new matcher over the same store and clock.
#[derive(Clone)]
pub struct Core {
    /// The matcher; also answers autocomplete.
    pub matcher: Arc<dyn Matching>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}

impl Core {
    fn engine(&self, policy: &crate::engine::Policy) -> Engine {
        Engine::new(self.matcher.clone(), self.store.clone(), self.clock.clone())
            .with_policy(policy.clone())
    }
}

/// Everything `run` needs besides the core.
#[derive(Clone, Debug)]
pub struct Settings {
    pub config: Config,
    pub connection: Connection,
    /// Where `/kb reload` reads the knowledge base from.
    pub kb_dir: PathBuf,
}

/// Why the bot stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("DISCORD_TOKEN is empty or malformed")]
    MalformedToken,
    #[error("Discord rejected the bot token (check DISCORD_TOKEN; reset it in the Developer Portal if it leaked)")]
    InvalidToken,
    #[error(
        "Discord refused the gateway intents: enable MESSAGE CONTENT INTENT for the bot in the Developer Portal (Bot → Privileged Gateway Intents)"
    )]
    DisallowedIntents,
    #[error("cannot reach Discord ({0}); check the network, or DISCORD_API_BASE if it is set")]
    Unreachable(String),
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    #[error("Discord error: {0}")]
    Discord(Box<serenity::Error>),
}

impl From<serenity::Error> for RunError {
    fn from(e: serenity::Error) -> Self {
        RunError::Discord(Box::new(e))
    }
}

/// What a handler failed with. `User` errors are shown to the user as they
/// are; `Internal` ones are logged with their chain and the user gets a
/// short generic reply.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    User(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub(crate) fn user(msg: impl Into<String>) -> Self {
        Error::User(msg.into())
    }
}

impl From<EngineError> for Error {
    fn from(e: EngineError) -> Self {
        Error::Internal(e.into())
    }
}

impl From<crate::engine::StoreError> for Error {
    fn from(e: crate::engine::StoreError) -> Self {
        Error::Internal(e.into())
    }
}

impl From<serenity::Error> for Error {
    fn from(e: serenity::Error) -> Self {
        Error::Internal(e.into())
    }
}

/// What every handler reaches: the engine and the settings.
pub(crate) struct Data {
    /// Swapped whole by `/kb reload`; read by cloning, so the lock is held
    /// for a pointer copy only, never across an await.
    slot: RwLock<Slot>,
    config: Config,
    kb_dir: PathBuf,
    /// Questions per member and help channel in the current minute.
    flood: flood::Flood,
    /// Guilds not served whose events were ignored (logged once each).
    strangers: std::sync::Mutex<std::collections::HashSet<u64>>,
}

#[derive(Clone)]
struct Slot {
    core: Core,
    engine: Arc<Engine>,
}

impl Data {
    fn slot(&self) -> Slot {
        self.slot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn engine(&self) -> Arc<Engine> {
        self.slot().engine
    }

    pub(crate) fn matcher(&self) -> Arc<dyn Matching> {
        self.slot().core.matcher
    }

    /// Switches to a new matcher (a reloaded knowledge base), keeping the
    /// store and the clock.
    pub(crate) fn replace_matcher(&self, matcher: Arc<dyn Matching>) {
        let mut core = self.slot().core;
        core.matcher = Arc::new(crate::ops::Counted::new(matcher));
        let engine = Arc::new(core.engine(&self.config.policy));
        *self.slot.write().unwrap_or_else(PoisonError::into_inner) = Slot { core, engine };
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Runs one input through the engine off the async threads (it does
    /// blocking SQLite I/O).
    pub(crate) async fn handle(&self, input: Input) -> Result<Reply, Error> {
        let engine = self.engine();
        let kind = match &input.event {
            crate::engine::Event::Ask { .. } => "ask",
            crate::engine::Event::Say { .. } => "say",
            crate::engine::Event::Act(_) => "act",
        };
        let reply = blocking(move || engine.handle(&input)).await??;
        count(kind, &reply);
        Ok(reply)
    }

    pub(crate) async fn staff(&self, input: StaffInput) -> Result<Reply, Error> {
        let engine = self.engine();
        let reply = blocking(move || engine.staff(&input)).await??;
        count("staff", &reply);
        Ok(reply)
    }

    /// Records that the reply to `id` was posted.
    pub(crate) async fn delivered(&self, id: InputId) -> Result<(), Error> {
        let engine = self.engine();
        Ok(blocking(move || engine.mark_delivered(&id)).await??)
    }

    /// Whether to answer another question from `user` in `channel` this
    /// minute; logs once when a member goes over the limit.
    pub(crate) fn admit(&self, channel: u64, user: u64) -> bool {
        match self.flood.admit(channel, user, self.engine().now()) {
            flood::Admit::Yes => true,
            flood::Admit::NoFirst => {
                info!(
                    %channel,
                    %user,
                    limit = self.config.help_answers_per_minute,
                    "a member is flooding a help channel; ignoring their questions for the rest of the minute"
                );
                false
            }
            flood::Admit::No => false,
        }
    }

    /// Whether a member holds the support role of the guild the event
    /// came from.
    pub(crate) fn is_staff(
        &self,
        guild: Option<serenity::GuildId>,
        member: Option<&serenity::Member>,
    ) -> bool {
        member.is_some_and(|m| self.has_support_role(guild, &m.roles))
    }

    pub(crate) fn has_support_role(
        &self,
        guild: Option<serenity::GuildId>,
        roles: &[serenity::RoleId],
    ) -> bool {
        self.settings(guild)
            .is_some_and(|g| roles.contains(&serenity::RoleId::new(g.support_role_id.get())))
    }
}

/// Counts an input and the tickets its reply filed (a duplicate counts
/// nothing: it changed nothing).
fn count(kind: &str, reply: &Reply) {
    if reply.duplicate {
        return;
    }
    let m = crate::ops::metrics();
    m.inputs.with_label_values(&[kind]).inc();
    for o in &reply.outputs {
        if let crate::engine::Output::TicketFiled(card) = o {
            m.escalations
                .with_label_values(&[card.product.as_str()])
                .inc();
        }
    }
}

/// Runs blocking work (engine calls, knowledge-base loading) on tokio's
/// blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("blocking task failed: {e}")))
}

type Framework = poise::Framework<Arc<Data>, Error>;
pub(crate) type Context<'a> = poise::Context<'a, Arc<Data>, Error>;

/// How many handlers may run at once; shutdown takes all permits, which
/// waits for the handlers in flight and keeps new ones from starting.
const MAX_IN_FLIGHT: u32 = 1024;
/// How long shutdown waits for handlers in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// poise's framework, with every event counted in flight so that shutdown
/// can let them finish their writes, and handled in arrival order per
/// channel and user (`order`).
struct Tracked {
    inner: Framework,
    in_flight: Arc<Semaphore>,
    /// Turns handed out in gateway order by each shard's collector.
    turns: Arc<order::Turns>,
    /// The settings, to drop events from guilds not served.
    data: Arc<Data>,
}

#[serenity::async_trait]
impl serenity::Framework for Tracked {
    async fn init(&mut self, client: &serenity::Client) {
        self.inner.init(client).await;
    }

    async fn dispatch(&self, ctx: serenity::Context, event: serenity::FullEvent) {
        // A new session is a new shard runner, with no collectors yet.
        if let serenity::FullEvent::Ready { .. } = &event {
            ctx.shard
                .add_collector(order::collector(self.turns.clone()));
        }
        // Held until the event is handled: the next one from the same user
        // in the same channel waits for it. Waited for before taking a
        // permit, so shutdown never waits on an event stuck in line.
        let mut turn = self.turns.take(&event);
        if let Some(t) = turn.as_mut() {
            t.wait().await;
        }
        // A guild the bot was invited to but does not serve: nothing is
        // answered or recorded there (its turn passes on when dropped).
        if !self.data.serves(guilds::event_guild(&event)) {
            return;
        }
        // Closed: shutting down; the event is dropped unhandled, and Discord
        // redelivers what matters (interactions time out for the user).
        let Ok(_permit) = self.in_flight.acquire().await else {
            return;
        };
        self.inner.dispatch(ctx, event).await;
        drop(turn);
    }
}

/// The HTTP client. Every call goes through the REST layer (`rest`), which
/// forwards to discord.com or `api_base`; serenity's ratelimiter is off
/// because the layer does its work (and serenity ignores its proxy setting
/// otherwise). The returned `Rest` must live as long as the client.
pub async fn build_http(conn: &Connection) -> Result<(serenity::Http, rest::Rest), RunError> {
    let upstream = conn.api_base.as_deref().unwrap_or(rest::DISCORD);
    let layer = rest::Rest::start(upstream, conn.rest.clone(), conn.api_base.is_none())
        .await
        .map_err(|e| RunError::HttpClient(e.to_string()))?;
    // To the layer on 127.0.0.1: never through a system proxy.
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| RunError::HttpClient(e.to_string()))?;
    let http = serenity::HttpBuilder::new(conn.token.expose())
        .default_allowed_mentions(serenity::CreateAllowedMentions::new())
        .client(client)
        .proxy(layer.base_url())
        .ratelimiter_disabled(true)
        .build();
    Ok((http, layer))
}

fn framework(data: Arc<Data>, in_flight: Arc<Semaphore>) -> Framework {
    let options = poise::FrameworkOptions {
        commands: commands::all(),
        on_error: |err| Box::pin(on_error(err)),
        event_handler: |fw, event| Box::pin(on_event(fw, event)),
        // Owners come from GET /oauth2/applications/@me; the bot has no
        // owner-only commands, so skip the call.
        initialize_owners: false,
        // Nothing the bot sends pings anyone unless it says so per message.
        allowed_mentions: Some(serenity::CreateAllowedMentions::new()),
        ..Default::default()
    };
    poise::Framework::builder()
        .options(options)
        .setup(move |ctx, ready, fw| {
            Box::pin(async move {
                info!(
                    user = %ready.user.name,
                    guilds = ready.guilds.len(),
                    invite = %invite_url(ready.application.id.get()),
                    "connected to Discord"
                );
                register(ctx, fw, &data.config).await;
                // Before any event is handled: poise holds them until setup
                // returns, so late replies come before newer answers.
                escalation::redeliver(ctx, &data).await;
                // Timers: missed deadlines first, then every second.
                tokio::spawn(lifecycle::poll(
                    ctx.clone(),
                    data.clone(),
                    in_flight.clone(),
                ));
                Ok(data)
            })
        })
        .build()
}

/// Registers the commands in the configured guild (instant) or globally.
/// A failure is logged, not fatal: the commands registered last time keep
/// working, and the bot still answers help channels.
async fn register(ctx: &serenity::Context, fw: &Framework, cfg: &Config) {
    let commands = &fw.options().commands;
    let guilds = cfg.command_guilds();
    if guilds.is_empty() {
        match poise::builtins::register_globally(ctx, commands).await {
            Ok(()) => info!(count = commands.len(), "commands registered globally"),
            Err(e) => error!(error = %e, "registering commands failed"),
        }
    }
    for g in guilds {
        let id = serenity::GuildId::new(g.get());
        match poise::builtins::register_in_guild(ctx, commands, id).await {
            Ok(()) => info!(
                count = commands.len(),
                guild = g.get(),
                "commands registered"
            ),
            Err(e) => error!(guild = g.get(), error = %e, "registering commands failed"),
        }
    }
}

/// Runs the bot until `shutdown` completes or Discord ends the session.
/// On shutdown it closes the gateway, then waits (up to 10 s) for handlers in
/// flight so their writes and replies finish.
#[instrument(skip_all)]
pub async fn run(
    settings: Settings,
    core: Core,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RunError> {
    let (http, _rest) = build_http(&settings.connection).await?;
    check_token(&http).await?;

    let mut core = core;
    core.matcher = Arc::new(crate::ops::Counted::new(core.matcher));
    let shard_plan = settings.config.shards;
    let engine = Arc::new(core.engine(&settings.config.policy));
    let data = Arc::new(Data {
        slot: RwLock::new(Slot { core, engine }),
        flood: flood::Flood::new(settings.config.help_answers_per_minute),
        config: settings.config,
        kb_dir: settings.kb_dir,
        strangers: Default::default(),
    });
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT as usize));
    let tracked = Tracked {
        data: data.clone(),
        inner: framework(data, in_flight.clone()),
        in_flight: in_flight.clone(),
        turns: Arc::default(),
    };
    let mut client = serenity::ClientBuilder::new_with_http(http, intents())
        .framework(tracked)
        .await?;
    let shards = client.shard_manager.clone();
    let status = tokio::spawn(shards::watch(shards.clone(), shard_plan));
    let mut running = tokio::spawn(async move {
        match shard_plan {
            // serenity's range is first..last with last included.
            Some(p) => {
                info!(
                    total = p.total,
                    first = p.first,
                    last = p.last,
                    "running shards"
                );
                client.start_shard_range(p.first..p.last, p.total).await
            }
            None => client.start().await,
        }
    });

    let result = tokio::select! {
        r = &mut running => r,
        () = shutdown => {
            info!("shutting down");
            shards.shutdown_all().await;
            match tokio::time::timeout(DRAIN_TIMEOUT, in_flight.acquire_many(MAX_IN_FLIGHT)).await {
                Ok(_) => info!("handlers in flight finished"),
                Err(_) => warn!("handlers still running after {DRAIN_TIMEOUT:?}; stopping anyway"),
            }
            in_flight.close();
            running.await
        }
    };
    status.abort();
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(classify(e)),
        Err(join) => Err(serenity::Error::Other(if join.is_panic() {
            "the gateway task panicked"
        } else {
            "the gateway task was cancelled"
        })
        .into()),
    }
}

/// One authenticated call before connecting: a wrong token otherwise makes
/// serenity fall back to the public gateway URL and retry forever.
async fn check_token(http: &serenity::Http) -> Result<(), RunError> {
    match http.get_current_user().await {
        Ok(me) => {
            info!(bot = %me.name, "token accepted");
            Ok(())
        }
        Err(e) => Err(classify(e)),
    }
}

fn classify(e: serenity::Error) -> RunError {
    use serenity::{Error as E, GatewayError as G};
    match &e {
        E::Gateway(G::InvalidAuthentication) => RunError::InvalidToken,
        E::Gateway(G::DisallowedGatewayIntents | G::InvalidGatewayIntents) => {
            RunError::DisallowedIntents
        }
        E::Http(serenity::HttpError::Request(r)) => {
            let mut why = r.to_string();
            let mut cause = std::error::Error::source(r);
            while let Some(c) = cause {
                why = format!("{why}: {c}");
                cause = c.source();
            }
            RunError::Unreachable(why)
        }
        E::Http(h) if h.status_code() == Some(serenity::StatusCode::UNAUTHORIZED) => {
            RunError::InvalidToken
        }
        _ => e.into(),
    }
}

/// Gateway events other than commands: component clicks and messages.
async fn on_event(
    fw: poise::FrameworkContext<'_, Arc<Data>, Error>,
    event: &serenity::FullEvent,
) -> Result<(), Error> {
    let ctx = fw.serenity_context;
    let data = fw.user_data;
    match event {
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(click),
        } => {
            if lifecycle::on_click(ctx, data, click).await? {
                return Ok(());
            }
            components::handle(ctx, data, click).await
        }
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Modal(modal),
        } => lifecycle::on_modal(ctx, data, modal).await.map(|_| ()),
        serenity::FullEvent::Message { new_message } => {
            if let Err(e) = lifecycle::on_message(data, new_message).await {
                warn!(error = %e, "recording a ticket message failed");
            }
            transcripts::on_message(ctx, data, new_message).await;
            help_channels::on_message(ctx, data, new_message).await
        }
        serenity::FullEvent::MessageUpdate { event, .. } => {
            transcripts::on_update(data, event).await;
            Ok(())
        }
        serenity::FullEvent::MessageDelete {
            deleted_message_id, ..
        } => {
            transcripts::on_delete(data, *deleted_message_id).await;
            Ok(())
        }
        serenity::FullEvent::Resume { .. } => {
            info!("gateway session resumed");
            Ok(())
        }
        // A new session: Discord replays nothing from before it.
        serenity::FullEvent::Ready { .. } => {
            catch_up::catch_up(ctx, data).await;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Shows user errors as they are; logs everything else with its chain and
/// gives the user a short generic reply.
async fn on_error(err: poise::FrameworkError<'_, Arc<Data>, Error>) {
    match err {
        poise::FrameworkError::Command { error, ctx, .. } => {
            let text = match &error {
                Error::User(msg) => msg.clone(),
                Error::Internal(e) => {
                    error!(command = %ctx.command().qualified_name, error = format!("{e:#}"), "command failed");
                    GENERIC_FAILURE.to_owned()
                }
            };
            if let Err(e) = ctx.send(render::ephemeral(&text)).await {
                warn!(error = %e, "could not tell the user about an error");
            }
        }
        poise::FrameworkError::CommandCheckFailed { error, ctx, .. } => {
            if let Some(e) = error {
                error!(error = format!("{e:#}"), "command check failed");
            }
            if let Err(e) = ctx.send(render::ephemeral(STAFF_ONLY)).await {
                warn!(error = %e, "could not refuse a command");
            }
        }
        poise::FrameworkError::EventHandler { error, event, .. } => match error {
            Error::User(msg) => info!(event = event.snake_case_name(), "{msg}"),
            Error::Internal(e) => error!(
                event = event.snake_case_name(),
                error = format!("{e:#}"),
                "event handler failed"
            ),
        },
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                error!(error = %e, "while handling an error");
            }
        }
    }
}

/// What the user sees when something failed on our side.
pub(crate) const GENERIC_FAILURE: &str =
    "Sorry, something went wrong on our side. It has been logged; please try again in a moment.";
/// What a non-staff member sees for a staff command.
pub(crate) const STAFF_ONLY: &str = "Only the support team can use this command.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invite_asks_for_exactly_what_the_bot_uses() {
        assert_eq!(invite_permissions().bits(), 377_957_338_112);
        assert!(invite_url(42)
            .contains("client_id=42&scope=bot+applications.commands&permissions=377957338112"));
    }

    #[test]
    fn the_token_is_never_shown() {
        let t = Token::new("Bot abc.def.ghi").unwrap();
        assert_eq!(t.expose(), "abc.def.ghi");
        let conn = Connection {
            token: t,
            api_base: None,
            rest: rest::Policy::default(),
        };
        assert!(!format!("{conn:?}").contains("abc"));
        assert!(matches!(Token::new("  "), Err(RunError::MalformedToken)));
        assert!(matches!(Token::new("a b"), Err(RunError::MalformedToken)));
    }
}
