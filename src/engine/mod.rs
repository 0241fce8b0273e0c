//! The playout engine (being built).
