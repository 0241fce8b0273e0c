//! Proof of play: one thread compares, for every monitored zone, what the station sent on the
//! zone's first channel with what its capture tap hears, in 4-second stretches while a cue
//! plays ([`judge`]), and gives each cue its verdict when it has ended.
//!
//! A stretch that comes back silent, weak, distorted or crossed raises the zone's line alarm at
//! once (a dead line is reported a few seconds into the first cue it fails), and a good stretch
//! clears it. A capture input that stops is reported as such; the cues it could not hear get no
//! verdict rather than a wrong one.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::capture::CaptureFeed;
use super::judge::{self, Judgement, Rules, Track};
use crate::config::MonitorConf;
use crate::domain::{CueId, Heard, HeardNote, Text, VillageId, ZoneId};
use crate::station::{LineConcern, LineReport};

/// Length of one judged stretch.
pub const WINDOW: Duration = Duration::from_secs(4);
/// A stretch shorter than this at the end of a cue is not judged on its own.
const MIN_WINDOW: Duration = Duration::from_millis(1500);
/// How much of each signal is kept.
const KEEP: Duration = Duration::from_secs(20);
/// A cue whose capture has not caught up this long after it ended is decided with what there is.
const GIVE_UP: Duration = Duration::from_secs(4);

/// Mono blocks of what was sent, one per monitored zone on an output: (zone index, samples).
pub struct SentBlock {
    /// On the monitor's timeline: when the first frame is heard.
    pub start: Duration,
    /// Rate of the output.
    pub rate: u32,
    /// Per monitored zone (index into the monitor's zone list), its first channel.
    pub zones: Vec<(usize, Vec<f32>)>,
}

/// A cue starting or ending on a monitored zone.
pub enum CueEvent {
    /// Heard from `at` (again, when it resumes after a preemption).
    Started { cue: CueId, village: VillageId, zone: ZoneId, at: Duration, utc: DateTime<Utc> },
    /// Ended at `at`.
    Ended { cue: CueId, zone: ZoneId, at: Duration },
}

struct Watching {
    cue: CueId,
    village: VillageId,
    utc: DateTime<Utc>,
    next: Duration,
    end: Option<Duration>,
    /// Ended because another cue took the zone (it may resume): its stretches are kept for it
    /// rather than reported.
    preempted: bool,
    parts: Vec<Judgement>,
    crossed: Option<String>,
}

/// The stretches of preempted cues, kept until they resume or end (the last few).
const KEEP_PREEMPTED: usize = 32;

struct Zone {
    id: ZoneId,
    conf: MonitorConf,
    sent: Track,
    back: Track,
    rules: Rules,
    /// The cues heard on the zone whose stretches are still being judged, oldest first.
    cues: Vec<Watching>,
    alarm: Option<Heard>,
}

/// Each zone's last verdict and when the cue it is about started (shared with [`super::Line`]).
pub type LastHeard = Arc<Mutex<BTreeMap<ZoneId, (Heard, DateTime<Utc>)>>>;

/// One capture input as the monitor reads it: the feed, frames taken, the last stamp, and the
/// problem last reported.
struct Feed {
    feed: CaptureFeed,
    popped: u64,
    stamp: Option<(u64, Instant)>,
    reported: Option<(String, String)>,
}

/// The monitor thread's state.
pub struct Monitor {
    /// The timeline's zero.
    pub epoch: Instant,
    zones: Vec<Zone>,
    feeds: Vec<Feed>,
    sent: Receiver<SentBlock>,
    events: Receiver<CueEvent>,
    reports: Arc<Mutex<Vec<LineReport>>>,
    last: LastHeard,
    /// Preempted cues' stretches: (cue, its watch) until it resumes or ends.
    preempted: std::collections::VecDeque<Watching>,
    /// The station's time zone (times in sentences).
    tz: chrono_tz::Tz,
}

/// What reaches the monitor: what the outputs sent, and the cues' starts and ends.
pub struct Inbox {
    /// From the send taps.
    pub sent: Receiver<SentBlock>,
    /// From the station, through [`super::Line`].
    pub events: Receiver<CueEvent>,
}

impl Monitor {
    /// A monitor of `zones` (in the order [`SentBlock`] indexes them) hearing `feeds`.
    pub fn new(
        epoch: Instant,
        zones: Vec<(ZoneId, MonitorConf)>,
        feeds: Vec<CaptureFeed>,
        inbox: Inbox,
        reports: Arc<Mutex<Vec<LineReport>>>,
        last: LastHeard,
        tz: chrono_tz::Tz,
    ) -> Self {
        let Inbox { sent, events } = inbox;
        let zones = zones
            .into_iter()
            .map(|(id, conf)| Zone {
                rules: Rules { expect_gain_db: conf.expect_db as f32, ..Rules::default() },
                id,
                conf,
                sent: Track::new(KEEP),
                back: Track::new(KEEP),
                cues: Vec::new(),
                alarm: None,
            })
            .collect();
        let feeds = feeds.into_iter().map(|feed| Feed { feed, popped: 0, stamp: None, reported: None }).collect();
        Self { epoch, zones, feeds, sent, events, reports, last, preempted: Default::default(), tz }
    }

    fn report(&self, r: LineReport) {
        self.reports.lock().unwrap_or_else(PoisonError::into_inner).push(r);
    }

    /// Runs until the event channel closes.
    pub fn run(mut self) {
        loop {
            match self.sent.recv_timeout(Duration::from_millis(50)) {
                Ok(b) => self.take_sent(b),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            while let Ok(b) = self.sent.try_recv() {
                self.take_sent(b);
            }
            loop {
                match self.events.try_recv() {
                    Ok(e) => self.take_event(e),
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                }
            }
            self.drain_captures();
            self.judge_due();
        }
    }

    fn take_sent(&mut self, b: SentBlock) {
        for (zi, samples) in &b.zones {
            if let Some(z) = self.zones.get_mut(*zi) {
                z.sent.push(b.start, b.rate, samples);
            }
        }
    }

    fn take_event(&mut self, e: CueEvent) {
        match e {
            CueEvent::Started { cue, village, zone, at, utc } => {
                let Some(zi) = self.zones.iter().position(|z| z.id == zone) else { return };
                // The cue it takes the zone from ends here (and may resume later).
                for w in self.zones[zi].cues.iter_mut().filter(|w| w.end.is_none()) {
                    w.end = Some(at);
                    w.preempted = true;
                }
                // A cue that resumes carries on with the stretches it had.
                let (parts, crossed, utc) = match self.preempted.iter().position(|w| w.cue == cue) {
                    Some(i) => {
                        let w = self.preempted.remove(i).expect("position is in range");
                        (w.parts, w.crossed, w.utc)
                    }
                    None => (Vec::new(), None, utc),
                };
                let w = Watching { cue, village, utc, next: at, end: None, preempted: false, parts, crossed };
                self.zones[zi].cues.push(w);
            }
            CueEvent::Ended { cue, zone, at } => {
                let Some(zi) = self.zones.iter().position(|z| z.id == zone) else { return };
                if let Some(w) = self.zones[zi].cues.iter_mut().rev().find(|w| w.cue == cue) {
                    if w.end.is_none() {
                        w.end = Some(at);
                    }
                    w.preempted = false;
                } else if let Some(i) = self.preempted.iter().position(|w| w.cue == cue) {
                    // Stopped while preempted: what it played is all there is.
                    let w = self.preempted.remove(i).expect("position is in range");
                    self.report_verdict(zi, w);
                }
            }
        }
    }

    fn drain_captures(&mut self) {
        let epoch = self.epoch;
        for fi in 0..self.feeds.len() {
            let Feed { feed, popped, stamp, reported } = &mut self.feeds[fi];
            while let Ok(s) = feed.stamps.pop() {
                *stamp = Some(s);
            }
            let channels = usize::from(feed.spec.channels.max(1));
            let n = feed.samples.slots() / channels * channels;
            if n > 0
                && let Ok(chunk) = feed.samples.read_chunk(n)
            {
                let (a, b) = chunk.as_slices();
                let data: Vec<f32> = a.iter().chain(b).copied().collect();
                chunk.commit_all();
                let frames = (n / channels) as u64;
                // The first frame's instant, from the last stamp (frames counted, when captured).
                let start = match stamp {
                    Some((total, at)) => {
                        let behind = total.saturating_sub(*popped);
                        at.checked_sub(Duration::from_secs_f64(behind as f64 / f64::from(feed.spec.rate)))
                            .unwrap_or(*at)
                    }
                    None => Instant::now(),
                };
                *popped += frames;
                let start = start.saturating_duration_since(epoch);
                for z in self.zones.iter_mut().filter(|z| z.conf.input == fi) {
                    z.back.push_interleaved(start, feed.spec.rate, &data, channels, usize::from(z.conf.channel));
                }
            }
            let problem = feed.status.problem();
            if problem != *reported {
                let name = feed.spec.name.clone();
                let text = problem.as_ref().map(|(en, zh)| {
                    Text::new(
                        format!(
                            "capture input `{name}` ({}) is not capturing: {en}; its lines are not checked",
                            feed.spec.device
                        ),
                        format!("回采输入 `{name}`（{}）没有在采集：{zh}；它所听的线路现在无法确认", feed.spec.device),
                    )
                });
                *reported = problem;
                self.reports
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(LineReport::Problem { concern: LineConcern::Capture(name), problem: text });
            }
        }
    }

    fn judge_due(&mut self) {
        let now = self.epoch.elapsed();
        for zi in 0..self.zones.len() {
            let mut i = 0;
            while i < self.zones[zi].cues.len() {
                let z = &self.zones[zi];
                let w = &z.cues[i];
                let until = w.end.map_or(w.next + WINDOW, |e| e.min(w.next + WINDOW));
                let short = until.saturating_sub(w.next) < MIN_WINDOW;
                if w.end.is_some() && (short || w.next >= until) {
                    self.finish(zi, i);
                    continue;
                }
                let need = until + z.rules.max_delay + Duration::from_millis(50);
                if z.back.known_until() < need || z.sent.known_until() < until {
                    if let Some(e) = w.end
                        && now > e + z.rules.max_delay + GIVE_UP
                    {
                        self.finish(zi, i);
                        continue;
                    }
                    i += 1;
                    continue;
                }
                let (from, to) = (w.next, until);
                let verdict = judge::judge(&z.sent, &z.back, from, to, &z.rules);
                let crossed = match &verdict {
                    Some(j) if matches!(j.heard, Heard::No | Heard::Distorted) => {
                        // The own zone is among the candidates: another must explain it clearly better.
                        let all: Vec<(&str, &Track)> = self.zones.iter().map(|o| (o.id.as_str(), &o.sent)).collect();
                        judge::heard_instead(&z.back, &all, from, to, &z.rules)
                            .map(|(n, _)| n.to_owned())
                            .filter(|n| n != z.id.as_str())
                    }
                    _ => None,
                };
                let w = &mut self.zones[zi].cues[i];
                w.next = until;
                if let Some(mut j) = verdict {
                    if crossed.is_some() {
                        j.heard = Heard::No;
                        w.crossed.clone_from(&crossed);
                    }
                    let heard = j.heard;
                    w.parts.push(j);
                    self.alarm(zi, heard, crossed);
                }
            }
        }
    }

    /// Raises or clears the zone's line alarm after a judged stretch.
    fn alarm(&mut self, zi: usize, heard: Heard, crossed: Option<String>) {
        let z = &mut self.zones[zi];
        let was = z.alarm;
        z.alarm = (heard != Heard::Yes).then_some(heard);
        if z.alarm == was && crossed.is_none() {
            return;
        }
        let at = Utc::now().with_timezone(&self.tz).format("%H:%M:%S");
        let zone = z.id.clone();
        let problem = match (heard, crossed) {
            (Heard::Yes, _) => None,
            (_, Some(other)) => Some(Text::new(
                format!("its line carries zone `{other}`'s audio instead of its own (crossed wires?), at {at}"),
                format!("它的线路上听到的是分区 `{other}` 的声音（接线接错了？），{at}"),
            )),
            (Heard::No, None) => Some(Text::new(
                format!(
                    "nothing came back from its line while it played, at {at}: check the amplifier, cable and speakers"
                ),
                format!("播出时线路上没有回来声音（{at}）：请检查功放、线路和喇叭"),
            )),
            (Heard::Weak, None) => Some(Text::new(
                format!("its line came back much weaker than expected, at {at}"),
                format!("线路回采的声音比正常弱很多（{at}）"),
            )),
            (Heard::Distorted, None) => Some(Text::new(
                format!("its line came back distorted (clipped or noise), at {at}"),
                format!("线路回采的声音失真了（削波或噪声），{at}"),
            )),
        };
        self.report(LineReport::Problem { concern: LineConcern::Line(zone), problem });
    }

    /// Done judging cue `i` of zone `zi`: a preempted one waits for its resumption, any other
    /// gets its verdict.
    fn finish(&mut self, zi: usize, i: usize) {
        let w = self.zones[zi].cues.remove(i);
        if w.preempted {
            if self.preempted.len() >= KEEP_PREEMPTED {
                // The oldest never resumed nor ended as far as we heard: say what it played.
                if let Some(old) = self.preempted.pop_front() {
                    self.report_verdict(zi, old);
                }
            }
            self.preempted.push_back(w);
            return;
        }
        self.report_verdict(zi, w);
    }

    /// The verdict of a watched cue from its stretches (none when nothing could be judged).
    fn report_verdict(&mut self, zi: usize, w: Watching) {
        let z = &self.zones[zi];
        let Some(j) = judge::summarize(&w.parts) else { return };
        let delay_ms = j.delay.as_millis() as i64;
        let level = f64::from(j.level_dbfs);
        let detail = match (&w.crossed, j.heard) {
            (Some(other), _) if j.heard == Heard::No => Text::new(
                format!("the line carried zone `{other}`'s audio instead (crossed wires?)"),
                format!("线路上听到的是分区 `{other}` 的声音（接线接错了？）"),
            ),
            (_, Heard::Yes) => Text::new(
                format!("heard back at {level:.0} dBFS, {delay_ms} ms after it was sent"),
                format!("回采听到了：电平 {level:.0} dBFS，延迟 {delay_ms} 毫秒"),
            ),
            (_, Heard::No) => Text::new(
                format!("nothing came back from the line ({level:.0} dBFS)"),
                format!("线路上没有回来声音（{level:.0} dBFS）"),
            ),
            (_, Heard::Weak) => Text::new(
                format!(
                    "came back {:.0} dB weaker than expected ({level:.0} dBFS)",
                    z.rules.expect_gain_db - j.gain_db
                ),
                format!("回采声音比正常弱 {:.0} dB（{level:.0} dBFS）", z.rules.expect_gain_db - j.gain_db),
            ),
            (_, Heard::Distorted) => Text::new(
                format!(
                    "came back distorted: {:.1} % of samples clipped, correlation {:.2}",
                    j.clipped * 100.0,
                    j.correlation
                ),
                format!("回采声音失真：{:.1}% 的采样削波，相关度 {:.2}", j.clipped * 100.0, j.correlation),
            ),
        };
        let note = HeardNote { heard: j.heard, level_dbfs: Some(level), delay_ms: Some(delay_ms), detail };
        self.last.lock().unwrap_or_else(PoisonError::into_inner).insert(z.id.clone(), (j.heard, w.utc));
        self.report(LineReport::Heard { cue: w.cue, village: w.village, note, last: true });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::line::tone::line_test_tone;

    const RATE: u32 = 48_000;

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    /// A monitor of one zone `a` whose tap hears what was sent 200 ms later, 20 dB down.
    fn monitor(secs: f32) -> (Monitor, mpsc::Sender<CueEvent>, mpsc::SyncSender<SentBlock>) {
        let (etx, erx) = mpsc::channel();
        let (stx, srx) = mpsc::sync_channel(10);
        let conf = MonitorConf { input: 0, channel: 0, expect_db: -20.0 };
        let zones = vec![(ZoneId::new("a").unwrap(), conf)];
        let mut m = Monitor::new(
            Instant::now(),
            zones,
            Vec::new(),
            Inbox { sent: srx, events: erx },
            Arc::default(),
            Arc::default(),
            chrono_tz::Asia::Shanghai,
        );
        // Long enough that nothing of interest scrolls out of the 20 s tracks.
        let mut sent = Vec::new();
        while sent.len() < (secs * RATE as f32) as usize {
            sent.extend(line_test_tone(RATE, 4.0, -12.0));
        }
        let back: Vec<f32> = std::iter::repeat_n(0.0, 9600).chain(sent.iter().map(|x| x * 0.1)).collect();
        m.zones[0].sent = Track::new(s(60.0));
        m.zones[0].back = Track::new(s(60.0));
        m.zones[0].sent.push(Duration::ZERO, RATE, &sent);
        m.zones[0].back.push(Duration::ZERO, RATE, &back);
        (m, etx, stx)
    }

    fn started(cue: u64, at: f64) -> CueEvent {
        CueEvent::Started {
            cue: CueId(cue),
            village: VillageId::new("a").unwrap(),
            zone: ZoneId::new("a").unwrap(),
            at: s(at),
            utc: Utc::now(),
        }
    }

    fn ended(cue: u64, at: f64) -> CueEvent {
        CueEvent::Ended { cue: CueId(cue), zone: ZoneId::new("a").unwrap(), at: s(at) }
    }

    fn verdicts(m: &Monitor) -> Vec<(CueId, Heard)> {
        m.reports
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| match r {
                LineReport::Heard { cue, note, .. } => Some((*cue, note.heard)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn back_to_back_preempted_and_resumed_cues_each_get_one_verdict() {
        let (mut m, _e, _s) = monitor(40.0);
        // A plays 0–8 s, B preempts it 8–16 s, A resumes 16–24 s; C follows straight away.
        for e in [started(1, 0.0), started(2, 8.0), ended(2, 16.0), started(1, 16.0), ended(1, 24.0), started(3, 24.0)]
        {
            m.take_event(e);
            m.judge_due();
        }
        m.take_event(ended(3, 32.0));
        m.judge_due();
        let v = verdicts(&m);
        assert_eq!(v, vec![(CueId(2), Heard::Yes), (CueId(1), Heard::Yes), (CueId(3), Heard::Yes)], "{v:?}");
        assert!(m.preempted.is_empty() && m.zones[0].cues.is_empty());
    }

    #[test]
    fn a_cue_stopped_while_preempted_is_judged_on_what_it_played() {
        let (mut m, _e, _s) = monitor(30.0);
        for e in [started(1, 0.0), started(2, 8.0), ended(2, 16.0)] {
            m.take_event(e);
            m.judge_due();
        }
        assert_eq!(verdicts(&m), vec![(CueId(2), Heard::Yes)], "A waits for its resumption");
        m.take_event(ended(1, 16.0)); // stopped by an operator while B played
        assert_eq!(verdicts(&m), vec![(CueId(2), Heard::Yes), (CueId(1), Heard::Yes)]);
    }
}
