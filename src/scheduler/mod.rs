//! The scheduler: plan + clock → cues (being built).
