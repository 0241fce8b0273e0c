//! Outputs: sound cards (cpal), WAV recorders and null sinks (being built).
