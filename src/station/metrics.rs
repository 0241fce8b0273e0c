//! Counters the station keeps for `GET /metrics` (Prometheus text format 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::domain::{Heard, VillageId};
use crate::store::AsRunOutcome;

/// What `/metrics` shows. Counters count since the daemon started.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    /// Final as-run outcomes written, by village and outcome.
    pub cues: BTreeMap<(VillageId, AsRunOutcome), u64>,
    /// Per output: healthy (true) or degraded.
    pub outputs: BTreeMap<String, bool>,
    /// Per output: audio callbacks that ran dry.
    pub underruns: BTreeMap<String, u64>,
    /// Successful reloads.
    pub reloads: u64,
    /// Reloads refused because the edited files had problems.
    pub reloads_failed: u64,
    /// Free and total bytes of the state disk, as last measured.
    pub disk: Option<(u64, u64)>,
    /// As-run writes held in memory because the database could not take them.
    pub asrun_held: u64,
    /// Wall-clock steps the playout followed.
    pub clock_steps: u64,
    /// Seconds of streamed audio the disk delivered too late (played as silence).
    pub audio_starved_s: f64,
    /// The last one: when, and by how much.
    pub last_clock_step: Option<(DateTime<Utc>, chrono::Duration)>,
    /// Final proof-of-play verdicts, by village and verdict.
    pub heard: BTreeMap<(VillageId, Heard), u64>,
}

impl Metrics {
    /// Counts one final outcome for a village.
    pub fn count(&mut self, village: &VillageId, outcome: AsRunOutcome) {
        *self.cues.entry((village.clone(), outcome)).or_default() += 1;
    }

    /// Counts one cue's final proof-of-play verdict for a village.
    pub fn count_heard(&mut self, village: &VillageId, heard: Heard) {
        *self.heard.entry((village.clone(), heard)).or_default() += 1;
    }

    /// The Prometheus text exposition, with `next_cue` as seconds from `now` and one
    /// `xiangyin_degraded` gauge per reason of `health`.
    pub fn render(
        &self,
        now: DateTime<Utc>,
        next_cue: Option<DateTime<Utc>>,
        on_air: usize,
        health: &super::Health,
    ) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP xiangyin_up 1 when nothing a village would notice is wrong (/healthz says ok).");
        let _ = writeln!(s, "# TYPE xiangyin_up gauge");
        let _ = writeln!(s, "xiangyin_up {}", u8::from(health.is_ok()));
        let _ = writeln!(s, "# HELP xiangyin_degraded Problems now, by reason (see /healthz for the sentences).");
        let _ = writeln!(s, "# TYPE xiangyin_degraded gauge");
        for (reason, n) in health.counts() {
            let _ = writeln!(s, "xiangyin_degraded{{reason=\"{reason}\"}} {n}");
        }
        if let Some((free, total)) = self.disk {
            let _ = writeln!(s, "# HELP xiangyin_state_disk_free_bytes Free space on the state directory's disk.");
            let _ = writeln!(s, "# TYPE xiangyin_state_disk_free_bytes gauge");
            let _ = writeln!(s, "xiangyin_state_disk_free_bytes {free}");
            let _ = writeln!(s, "# HELP xiangyin_state_disk_size_bytes Size of the state directory's disk.");
            let _ = writeln!(s, "# TYPE xiangyin_state_disk_size_bytes gauge");
            let _ = writeln!(s, "xiangyin_state_disk_size_bytes {total}");
        }
        let _ =
            writeln!(s, "# HELP xiangyin_asrun_held_writes As-run writes kept in memory until the disk takes them.");
        let _ = writeln!(s, "# TYPE xiangyin_asrun_held_writes gauge");
        let _ = writeln!(s, "xiangyin_asrun_held_writes {}", self.asrun_held);
        let _ = writeln!(
            s,
            "# HELP xiangyin_audio_starved_seconds_total Seconds of clip audio (all villages) the disk did not \
             deliver in time, played as silence."
        );
        let _ = writeln!(s, "# TYPE xiangyin_audio_starved_seconds_total counter");
        let _ = writeln!(s, "xiangyin_audio_starved_seconds_total {:.3}", self.audio_starved_s);
        let _ = writeln!(s, "# HELP xiangyin_clock_steps_total Wall-clock steps the playout followed.");
        let _ = writeln!(s, "# TYPE xiangyin_clock_steps_total counter");
        let _ = writeln!(s, "xiangyin_clock_steps_total {}", self.clock_steps);
        if let Some((_, by)) = self.last_clock_step {
            let _ = writeln!(s, "# HELP xiangyin_clock_last_step_seconds Size of the last wall-clock step (signed).");
            let _ = writeln!(s, "# TYPE xiangyin_clock_last_step_seconds gauge");
            let _ = writeln!(s, "xiangyin_clock_last_step_seconds {:.3}", by.num_milliseconds() as f64 / 1000.0);
        }
        let _ = writeln!(s, "# HELP xiangyin_cues_total Cues that reached a final as-run outcome, by village.");
        let _ = writeln!(s, "# TYPE xiangyin_cues_total counter");
        for ((village, outcome), n) in &self.cues {
            let _ = writeln!(s, "xiangyin_cues_total{{village=\"{village}\",outcome=\"{}\"}} {n}", outcome.name());
        }
        let _ = writeln!(
            s,
            "# HELP xiangyin_line_heard_total Cues whose line was heard back, by village and verdict (yes, no, \
             weak, distorted)."
        );
        let _ = writeln!(s, "# TYPE xiangyin_line_heard_total counter");
        for ((village, heard), n) in &self.heard {
            let _ = writeln!(s, "xiangyin_line_heard_total{{village=\"{village}\",heard=\"{heard}\"}} {n}");
        }
        let _ = writeln!(s, "# HELP xiangyin_output_up 1 when the output plays, 0 when it is degraded.");
        let _ = writeln!(s, "# TYPE xiangyin_output_up gauge");
        for (output, up) in &self.outputs {
            let _ = writeln!(s, "xiangyin_output_up{{output=\"{}\"}} {}", escape(output), u8::from(*up));
        }
        let _ = writeln!(s, "# HELP xiangyin_output_underruns_total Times an output's audio callback ran dry.");
        let _ = writeln!(s, "# TYPE xiangyin_output_underruns_total counter");
        for (output, n) in &self.underruns {
            let _ = writeln!(s, "xiangyin_output_underruns_total{{output=\"{}\"}} {n}", escape(output));
        }
        let _ = writeln!(s, "# HELP xiangyin_seconds_to_next_cue Seconds until the next planned cue starts.");
        let _ = writeln!(s, "# TYPE xiangyin_seconds_to_next_cue gauge");
        if let Some(t) = next_cue {
            let secs = (t - now).num_milliseconds() as f64 / 1000.0;
            let _ = writeln!(s, "xiangyin_seconds_to_next_cue {secs:.3}");
        }
        let _ = writeln!(s, "# HELP xiangyin_cues_on_air Cues playing now.");
        let _ = writeln!(s, "# TYPE xiangyin_cues_on_air gauge");
        let _ = writeln!(s, "xiangyin_cues_on_air {on_air}");
        let _ = writeln!(s, "# HELP xiangyin_reloads_total Configuration reloads, by result.");
        let _ = writeln!(s, "# TYPE xiangyin_reloads_total counter");
        let _ = writeln!(s, "xiangyin_reloads_total{{result=\"ok\"}} {}", self.reloads);
        let _ = writeln!(s, "xiangyin_reloads_total{{result=\"refused\"}} {}", self.reloads_failed);
        s
    }
}

/// Escapes a label value (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
