//! xiangyin (乡音): the village broadcast controller.
//!
//! The parts and who owns what are described in DESIGN.md: [`domain`] types, [`config`] (YAML →
//! checked plan), [`library`] (the clip store), [`scheduler`] (plan → cues), [`engine`] (cues →
//! samples), [`output`] (samples → sound cards and recorders), and [`commands`] (what the command
//! line runs).

pub mod commands;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod engine;
pub mod library;
pub mod line;
pub mod os;
pub mod output;
pub mod playout;
pub mod scheduler;
pub mod station;
pub mod store;
pub mod web;
