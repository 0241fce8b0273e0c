//! The station database (SQLite): as-run log and persisted scheduler state (being built).
