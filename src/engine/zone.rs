//! One zone: a layer per priority level, first-come-first-served queues within a level, preemption
//! with pause and resume, ducking of background, fades at every transition.

use std::collections::VecDeque;

use super::item::{AtZero, Item};
use super::{Event, EventKind};
use crate::domain::{CueId, Priority};

const LEVELS: usize = 5;

/// How long before it is due a cue's streamed audio starts being fetched, in samples (2 s).
const OPEN_AHEAD: u64 = 2 * super::ENGINE_RATE as u64;

fn level(p: Priority) -> usize {
    usize::from(p.level() - 1)
}

/// The mixer of one zone.
pub(super) struct Zone {
    /// Cues not yet due: (start sample, arrival order, item), kept sorted.
    pending: Vec<(u64, u64, Item)>,
    /// Due cues waiting for their level to be free, per level.
    waiting: [VecDeque<Item>; LEVELS],
    /// The item each level is playing (or has paused).
    current: [Option<Item>; LEVELS],
    /// Items fading out to be removed.
    stopping: Vec<Item>,
    arrivals: u64,
    /// Zone volume (linear) now, target and per-sample step.
    volume: f32,
    volume_target: f32,
    volume_step: f32,
    /// Streamed frames that came too late (played as silence), in all.
    starved: u64,
}

/// Timing settings shared by all zones.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// Fade length in samples.
    pub fade: u64,
    /// Linear gain of ducked background.
    pub duck: f32,
}

impl Zone {
    pub fn new() -> Self {
        Self {
            pending: Vec::new(),
            waiting: Default::default(),
            current: Default::default(),
            stopping: Vec::new(),
            arrivals: 0,
            volume: 1.0,
            volume_target: 1.0,
            volume_step: 0.0,
            starved: 0,
        }
    }

    /// True when nothing is playing, paused, queued or pending.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
            && self.stopping.is_empty()
            && self.current.iter().all(Option::is_none)
            && self.waiting.iter().all(VecDeque::is_empty)
    }

    /// Streamed frames that were not there in time, in all.
    pub fn starved(&self) -> u64 {
        self.starved
    }

    /// Schedules an item to become due at sample `start`.
    pub fn add(&mut self, start: u64, item: Item) {
        self.arrivals += 1;
        let key = (start, self.arrivals);
        let at = self.pending.partition_point(|(s, a, _)| (*s, *a) <= key);
        self.pending.insert(at, (start, self.arrivals, item));
    }

    /// Moves the cues not yet due by `delta` samples, none before `now`; keeps their order.
    pub fn shift_pending(&mut self, delta: i64, now: u64) -> usize {
        for (start, _, _) in &mut self.pending {
            *start = start.saturating_add_signed(delta).max(now);
        }
        // Equal shifts keep the order; clamping to `now` can only make neighbours equal, and
        // equal starts keep their arrival order.
        self.pending.sort_by_key(|(s, a, _)| (*s, *a));
        self.pending.len()
    }

    /// Stops a cue wherever it is: pending and queued cues are dropped, a playing one fades out.
    /// Returns true when the cue was found.
    pub fn stop(&mut self, id: CueId, now: u64, fade: u64, events: &mut Vec<Event>) -> bool {
        if let Some(i) = self.pending.iter().position(|(_, _, it)| it.id == id) {
            self.pending.remove(i);
            events.push(Event { sample: now, kind: EventKind::Stopped(id) });
            return true;
        }
        for q in &mut self.waiting {
            if let Some(i) = q.iter().position(|it| it.id == id) {
                q.remove(i);
                events.push(Event { sample: now, kind: EventKind::Stopped(id) });
                return true;
            }
        }
        for slot in &mut self.current {
            if slot.as_ref().is_some_and(|it| it.id == id) {
                let mut it = slot.take().expect("checked");
                Self::begin_stop(&mut it, fade);
                self.stopping.push(it);
                return true;
            }
        }
        false
    }

    /// Stops everything on the zone.
    pub fn stop_all(&mut self, now: u64, fade: u64, events: &mut Vec<Event>) {
        for (_, _, it) in self.pending.drain(..) {
            events.push(Event { sample: now, kind: EventKind::Stopped(it.id) });
        }
        for q in &mut self.waiting {
            for it in q.drain(..) {
                events.push(Event { sample: now, kind: EventKind::Stopped(it.id) });
            }
        }
        for slot in &mut self.current {
            if let Some(mut it) = slot.take() {
                Self::begin_stop(&mut it, fade);
                self.stopping.push(it);
            }
        }
    }

    fn begin_stop(it: &mut Item, fade: u64) {
        it.ending = true;
        it.at_zero = AtZero::Remove;
        if it.paused || it.env == 0.0 {
            it.env = 0.0;
            it.fade_to(0.0, 1);
        } else {
            it.fade_to(0.0, fade.min(it.remaining().max(1)));
        }
        it.paused = false;
    }

    /// Sets the zone volume, ramping over one fade.
    pub fn set_volume(&mut self, linear: f32, fade: u64) {
        self.volume_target = linear;
        self.volume_step = (linear - self.volume) / fade.max(1) as f32;
    }

    /// Decides who plays: the most urgent level plays, background under it is ducked, everything
    /// else fades to a pause. Emits start / preempt / resume events at `now`.
    fn reconcile(&mut self, now: u64, t: Timing, events: &mut Vec<Event>) {
        for l in 0..LEVELS {
            if self.current[l].is_none() {
                self.current[l] = self.waiting[l].pop_front();
            }
        }
        let top = self.current.iter().position(Option::is_some);
        let bg = level(Priority::Background);
        for l in 0..LEVELS {
            let Some(it) = self.current[l].as_mut() else { continue };
            if it.ending {
                continue;
            }
            let want = if Some(l) == top {
                1.0
            } else if l == bg && top.is_some_and(|t| t < bg) {
                t.duck
            } else {
                0.0
            };
            if want > 0.0 {
                if !it.started {
                    it.started = true;
                    it.paused = false;
                    it.env = 0.0;
                    it.at_zero = AtZero::Pause;
                    it.fade_to(want, t.fade);
                    events.push(Event { sample: now, kind: EventKind::Started(it.id) });
                } else if it.paused || it.target != want {
                    let was_silenced = it.paused || it.target == 0.0;
                    it.paused = false;
                    it.at_zero = AtZero::Pause;
                    it.fade_to(want, t.fade);
                    if was_silenced {
                        events.push(Event { sample: now, kind: EventKind::Resumed(it.id) });
                    }
                }
            } else if it.started && !it.paused && it.target != 0.0 {
                it.at_zero = AtZero::Pause;
                it.fade_to(0.0, t.fade);
                events.push(Event { sample: now, kind: EventKind::Preempted(it.id) });
            }
        }
    }

    fn audible(&mut self) -> impl Iterator<Item = &mut Item> {
        self.current.iter_mut().flatten().filter(|it| it.started && !it.paused).chain(self.stopping.iter_mut())
    }

    /// Renders `out.len()` samples starting at sample `now` (mono, overwriting `out`).
    pub fn render(&mut self, now: u64, out: &mut [f32], t: Timing, events: &mut Vec<Event>) {
        let n = out.len();
        // Streamed audio is fetched from a little before its cue is due.
        let horizon = now + n as u64 + OPEN_AHEAD;
        for (_, _, it) in self.pending.iter_mut().take_while(|(s, _, _)| *s <= horizon) {
            it.open();
        }
        let mut pos = 0usize;
        while pos < n {
            let at = now + pos as u64;
            while self.pending.first().is_some_and(|(s, _, _)| *s <= at) {
                let (_, _, it) = self.pending.remove(0);
                self.waiting[level(it.priority)].push_back(it);
            }
            self.reconcile(at, t, events);

            // The span ends at the next thing that changes: a due cue, a fade end, a clip end.
            let mut span = (n - pos) as u64;
            if let Some((s, _, _)) = self.pending.first() {
                span = span.min(s - at);
            }
            for it in self.audible() {
                if !it.ending && it.remaining() <= t.fade {
                    it.ending = true;
                    it.at_zero = AtZero::Remove;
                    it.fade_to(0.0, it.remaining());
                }
                if !it.ending {
                    span = span.min(it.remaining() - t.fade);
                }
                let f = it.fade_left();
                if f > 0 {
                    span = span.min(f);
                }
                span = span.min(it.remaining().max(1));
            }
            let span = span.max(1) as usize;
            let mut first = true;
            let mut starved = 0;
            for it in self.audible() {
                it.mix_into(&mut out[pos..pos + span], span, !first);
                starved += std::mem::take(&mut it.starved);
                first = false;
            }
            self.starved += starved;
            if first {
                out[pos..pos + span].fill(0.0);
            }
            let end = at + span as u64;
            self.settle(end, events);
            pos += span;
        }
        self.apply_volume(out);
    }

    /// After a span: pause or remove items whose fade to zero finished or whose audio ran out.
    fn settle(&mut self, at: u64, events: &mut Vec<Event>) {
        for slot in &mut self.current {
            let Some(it) = slot.as_mut() else { continue };
            if !it.started || it.paused {
                continue;
            }
            let done = it.pos >= it.len;
            let silent = it.env == 0.0 && it.target == 0.0 && it.step == 0.0;
            if done || (silent && it.at_zero == AtZero::Remove) {
                events.push(Event { sample: at, kind: EventKind::Ended(it.id) });
                *slot = None;
            } else if silent {
                it.paused = true;
            }
        }
        self.stopping.retain(|it| {
            let finished = it.pos >= it.len || (it.env == 0.0 && it.step == 0.0);
            if finished {
                events.push(Event { sample: at, kind: EventKind::Stopped(it.id) });
            }
            !finished
        });
    }

    fn apply_volume(&mut self, out: &mut [f32]) {
        if self.volume_step == 0.0 {
            if self.volume != 1.0 {
                out.iter_mut().for_each(|s| *s *= self.volume);
            }
            return;
        }
        for s in out.iter_mut() {
            if self.volume_step != 0.0 {
                self.volume += self.volume_step;
                if (self.volume_step > 0.0 && self.volume >= self.volume_target)
                    || (self.volume_step < 0.0 && self.volume <= self.volume_target)
                {
                    self.volume = self.volume_target;
                    self.volume_step = 0.0;
                }
            }
            *s *= self.volume;
        }
    }
}
