//! The Discord front end: builds the serenity client with poise commands,
//! routes gateway events and component clicks to the engine, and renders the
//! engine's outputs within Discord's limits. Nothing outside this module knows Discord.

pub mod route;
pub mod text;
