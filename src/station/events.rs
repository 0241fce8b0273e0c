//! What the station does with what the playout reports: cue starts, ends, preemptions and
//! refusals become as-run writes (through the journal), and an output that stops playing marks
//! the cues its villages no longer hear `failed-output` and raises its problem in health.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::journal::Write;
use super::{Air, CLOCK_STEP_WINDOW, Concern, LATE_AFTER, OnAir, Station};
use crate::domain::{CueId, Text, ZoneId};
use crate::engine::EventKind;
use crate::playout::PlayoutEvent;
use crate::store::{AsRunOutcome, StoreError};

impl<A: Air> Station<A> {
    /// Records what the player reports.
    pub fn on_event(&mut self, ev: PlayoutEvent) -> Result<(), StoreError> {
        let now = Utc::now();
        match ev {
            PlayoutEvent::Cue { event, at } => match event.kind {
                EventKind::Started(id) => self.started(id, at),
                EventKind::Preempted(id) => {
                    self.outcome(id, AsRunOutcome::Preempted, None, at);
                }
                EventKind::Resumed(id) => {
                    if let Some(o) = self.on_air.get(&id) {
                        self.line.started(id, &o.cue.village, &o.cue.zone, at);
                    }
                    self.outcome(id, AsRunOutcome::Resumed, None, at);
                    if let Some(o) = self.on_air.get_mut(&id) {
                        o.resumed = true;
                    }
                }
                EventKind::Ended(id) => {
                    if let Some(o) = self.on_air.get(&id) {
                        self.line.ended(id, &o.cue.zone, at);
                    }
                    self.broadcast_cue_done(id);
                    self.prune_audio();
                    let (outcome, counted) = match self.on_air.remove(&id) {
                        Some(OnAir { failed: Some(_), cue, .. }) => {
                            (AsRunOutcome::FailedOutput, Some((cue.village, AsRunOutcome::FailedOutput)))
                        }
                        Some(OnAir { resumed: true, cue, .. }) => {
                            (AsRunOutcome::Resumed, Some((cue.village, AsRunOutcome::Resumed)))
                        }
                        Some(OnAir { late: true, cue, .. }) => {
                            (AsRunOutcome::Played, Some((cue.village, AsRunOutcome::Late)))
                        }
                        Some(OnAir { cue, .. }) => (AsRunOutcome::Played, Some((cue.village, AsRunOutcome::Played))),
                        None => (AsRunOutcome::Played, None),
                    };
                    if self.journal.write(Write::Ended { id, at, outcome }, at)
                        && let Some((v, o)) = counted
                    {
                        self.metrics.count(&v, o);
                    }
                }
                EventKind::Stopped(id) => {
                    if let Some(o) = self.on_air.get(&id) {
                        self.line.ended(id, &o.cue.zone, at);
                    }
                    self.broadcast_cue_done(id);
                    self.prune_audio();
                    // Every start goes through `started`, so a cue not on air never started (a
                    // waiting cue an operator stopped).
                    let on_air = self.on_air.remove(&id);
                    let done = match &on_air {
                        Some(_) => self.journal.write(Write::Ended { id, at, outcome: AsRunOutcome::Stopped }, at),
                        None => self.outcome(
                            id,
                            AsRunOutcome::Stopped,
                            Some(Text::new("stopped before it started", "还没开始就被停下了")),
                            at,
                        ),
                    };
                    self.forget(id);
                    if let (true, Some(o)) = (done, on_air) {
                        self.metrics.count(&o.cue.village, AsRunOutcome::Stopped);
                    }
                }
            },
            PlayoutEvent::Late { id, by } => {
                tracing::info!(cue = %id, late_ms = by.as_millis() as u64, "cue starts late")
            }
            PlayoutEvent::Refused { id, why } => {
                tracing::error!(cue = %id, "the engine refused a cue: {why}");
                let zh = format!("播出引擎没有接受：{}", crate::output::reason_zh(&why));
                self.outcome(id, AsRunOutcome::FailedOutput, Some(Text::new(why, zh)), now);
                // Not waiting any more, manual or scheduled (its amplifier need not stay on for it).
                self.manual.remove(&id);
                self.forget(id);
            }
            PlayoutEvent::OutputDegraded { output, reason } => {
                tracing::error!(output, "output degraded: {reason}");
                self.metrics.outputs.insert(output.clone(), false);
                let zones = self.zones_of(&output);
                let detail = Text::new(
                    format!("output {output}: {reason}"),
                    format!("输出 {output}：{}", crate::output::reason_zh(&reason)),
                );
                let failing: Vec<CueId> = self
                    .on_air
                    .iter()
                    .filter(|(_, o)| zones.contains(&o.cue.zone) && o.failed.is_none())
                    .map(|(id, _)| *id)
                    .collect();
                self.degraded.insert(output.clone(), reason.clone());
                for id in failing {
                    if let Some(zone) = self.on_air.get(&id).map(|o| o.cue.zone.clone())
                        && self.zone_unheard(&zone).is_some()
                    {
                        if let Some(o) = self.on_air.get_mut(&id) {
                            o.failed = Some(detail.en.clone());
                        }
                        self.outcome(id, AsRunOutcome::FailedOutput, Some(detail.clone()), now);
                    }
                }
                let reason_zh = crate::output::reason_zh(&reason);
                let (concern, en, zh) = if self.is_recorder(&output) {
                    (
                        Concern::Recorder(output.clone()),
                        format!("recorder `{output}` is not recording (playing goes on): {reason}"),
                        format!("录音 `{output}` 暂停了（播出不受影响）：{reason_zh}"),
                    )
                } else {
                    (
                        Concern::Output(output.clone()),
                        format!("output `{output}` is not playing: {reason}"),
                        format!("输出 `{output}` 没有在播：{reason_zh}"),
                    )
                };
                self.health.raise(concern, now, en, zh);
            }
            PlayoutEvent::OutputRecovered { output } => {
                tracing::info!(output, "output plays again");
                self.metrics.outputs.insert(output.clone(), true);
                self.degraded.remove(&output);
                self.health.clear(&Concern::Recorder(output.clone()));
                self.health.clear(&Concern::Output(output));
            }
            PlayoutEvent::Underruns { output, total } => {
                tracing::warn!(output, total, "output underrun");
                self.metrics.underruns.insert(output, total);
            }
            PlayoutEvent::AudioStarved { seconds } => {
                let more = seconds - self.metrics.audio_starved_s;
                self.metrics.audio_starved_s = seconds;
                tracing::error!(seconds = more, "clip audio came from the disk too late and played as silence");
                self.health.raise_for(
                    Concern::AudioLate,
                    now,
                    CLOCK_STEP_WINDOW,
                    format!(
                        "the disk did not deliver clip audio in time: {more:.1} s played as silence at {} \
                         (a slow or failing disk?)",
                        now.format("%H:%M:%S")
                    ),
                    format!(
                        "硬盘没能及时读出录音：{} 有 {more:.1} 秒播成了静音（硬盘慢或坏了？）",
                        now.format("%H:%M:%S")
                    ),
                );
            }
            PlayoutEvent::ClockStepped { by, at } => {
                self.metrics.clock_steps += 1;
                self.metrics.last_clock_step = Some((at, by));
                let secs = by.num_milliseconds() as f64 / 1000.0;
                let lasts = CLOCK_STEP_WINDOW.max(by.abs().to_std().unwrap_or_default());
                self.health.raise_for(
                    Concern::ClockStep,
                    now,
                    lasts,
                    format!(
                        "the wall clock was stepped by {secs:+.1} s at {}: cues around it may start late or early; \
                         the log records when each really played",
                        at.format("%H:%M:%S")
                    ),
                    format!(
                        "系统时钟在 {} 跳变了 {secs:+.1} 秒：前后的节目可能提前或推迟，播出记录按实际时间记",
                        at.format("%H:%M:%S")
                    ),
                );
            }
        }
        Ok(())
    }

    fn started(&mut self, id: CueId, at: DateTime<Utc>) {
        let Some(pos) = self.saved.pending.iter().position(|p| p.cue.id == id) else {
            // A manual cue (on air from now), or one a reload forgot: log the start, and — as
            // for a scheduled cue — that its village cannot hear it, when it cannot.
            if self.manual_started(id) {
                self.journal.write(Write::Started { id, at, late: None }, at);
                let zone = self.on_air.get(&id).map(|o| o.cue.zone.clone());
                if let Some(o) = self.on_air.get(&id) {
                    self.line.started(id, &o.cue.village, &o.cue.zone, at);
                }
                if let Some(detail) = zone.and_then(|z| self.zone_unheard(&z)) {
                    if let Some(o) = self.on_air.get_mut(&id) {
                        o.failed = Some(detail.en.clone());
                    }
                    self.outcome(id, AsRunOutcome::FailedOutput, Some(detail), at);
                }
            } else {
                self.journal.write(Write::Started { id, at, late: None }, at);
            }
            return;
        };
        let p = self.saved.pending.remove(pos);
        self.handed.remove(&id);
        self.dirty = true;
        let late = (at - p.cue.at).to_std().ok().filter(|d| *d > LATE_AFTER);
        self.journal.write(Write::Started { id, at, late }, at);
        let unheard = self.zone_unheard(&p.cue.zone);
        let failed = unheard.as_ref().map(|t| t.en.clone());
        if let Some(detail) = unheard {
            self.outcome(id, AsRunOutcome::FailedOutput, Some(detail), at);
        }
        self.line.started(id, &p.cue.village, &p.cue.zone, at);
        self.on_air.insert(id, OnAir { cue: p.cue, resumed: false, failed, late: late.is_some() });
    }

    /// True when `output` is a WAV recorder of the profile.
    fn is_recorder(&self, output: &str) -> bool {
        self.plan
            .profile
            .outputs
            .iter()
            .any(|o| o.name.as_str() == output && matches!(o.kind, crate::config::OutputKind::Wav { .. }))
    }

    /// The zones an output feeds.
    fn zones_of(&self, output: &str) -> HashSet<ZoneId> {
        let profile = &self.plan.profile;
        profile
            .zones
            .iter()
            .filter(|(_, chans)| chans.iter().any(|c| profile.outputs[c.output].name.to_string() == output))
            .map(|(z, _)| z.clone())
            .collect()
    }
}
