//! triage: a support bot that matches customer questions to a
//! troubleshooting knowledge base and escalates to humans with complete
//! tickets. The core (`kb`, `search`, `matcher`, `engine`, `tickets`,
//! `report`) knows nothing of Discord or the terminal; `cli` and `discord`
//! are thin front ends over it.

pub mod archive;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod discord;
pub mod engine;
pub mod fnv;
pub mod kb;
pub mod matcher;
pub mod ops;
pub mod report;
pub mod search;
pub mod service;
pub mod telemetry;
pub mod tickets;
