//! Listen-in: a sink wrapper that copies one channel of what an output plays to whoever listens
//! (the web page's "listen" button), at no cost while nobody does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Health, OutputError, Sink};
use crate::config::Output;

/// Blocks a listener may fall behind by before blocks are dropped for it (each 10 ms).
const BACKLOG: usize = 100;

struct Listener {
    output: usize,
    channel: usize,
    tx: tokio::sync::mpsc::Sender<Vec<i16>>,
}

/// The listeners of every output. Cheap to clone.
#[derive(Clone, Default)]
pub struct Taps {
    inner: Arc<TapsInner>,
}

#[derive(Default)]
struct TapsInner {
    count: AtomicUsize,
    listeners: Mutex<Vec<Listener>>,
}

impl Taps {
    /// No listeners yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts listening to channel `channel` (0-based) of output `output` (profile order): 16-bit
    /// samples at the output's rate, in blocks as the playout writes them. Dropping the receiver
    /// stops it.
    pub fn listen(&self, output: usize, channel: usize) -> tokio::sync::mpsc::Receiver<Vec<i16>> {
        let (tx, rx) = tokio::sync::mpsc::channel(BACKLOG);
        let mut l = self.inner.listeners.lock().unwrap_or_else(PoisonError::into_inner);
        l.push(Listener { output, channel, tx });
        self.inner.count.store(l.len(), Ordering::Release);
        rx
    }

    /// How many listen now.
    pub fn count(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }

    /// Wraps `sink` (output number `index` in profile order) so its listeners hear what it plays.
    pub fn wrap(&self, index: usize, sink: Box<dyn Sink>) -> Box<dyn Sink> {
        Box::new(TapSink { inner: sink, index, taps: self.clone() })
    }

    fn feed(&self, output: usize, channels: usize, interleaved: &[f32]) {
        let mut l = self.inner.listeners.lock().unwrap_or_else(PoisonError::into_inner);
        l.retain(|x| {
            if x.output != output || x.channel >= channels {
                return !x.tx.is_closed();
            }
            let block: Vec<i16> = interleaved
                .chunks_exact(channels)
                .map(|f| (f[x.channel].clamp(-1.0, 1.0) * 32767.0).round() as i16)
                .collect();
            // A listener too slow to keep up loses blocks, never the station's time.
            !matches!(x.tx.try_send(block), Err(tokio::sync::mpsc::error::TrySendError::Closed(_)))
        });
        self.inner.count.store(l.len(), Ordering::Release);
    }
}

struct TapSink {
    inner: Box<dyn Sink>,
    index: usize,
    taps: Taps,
}

impl TapSink {
    fn tap(&self, interleaved: &[f32]) {
        if self.taps.count() > 0 {
            self.taps.feed(self.index, usize::from(self.inner.spec().channels.max(1)), interleaved);
        }
    }
}

impl Sink for TapSink {
    fn spec(&self) -> &Output {
        self.inner.spec()
    }

    fn write(&mut self, interleaved: &[f32]) -> Result<(), OutputError> {
        self.tap(interleaved);
        self.inner.write(interleaved)
    }

    fn write_at(&mut self, interleaved: &[f32], heard_at: Instant) -> Result<(), OutputError> {
        self.tap(interleaved);
        self.inner.write_at(interleaved, heard_at)
    }

    fn latency(&self) -> Duration {
        self.inner.latency()
    }

    fn is_realtime(&self) -> bool {
        self.inner.is_realtime()
    }

    fn health(&self) -> Health {
        self.inner.health()
    }

    fn underruns(&self) -> u64 {
        self.inner.underruns()
    }

    fn finish(self: Box<Self>) -> Result<(), OutputError> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::NullSink;

    #[test]
    fn a_listener_hears_its_channel_and_a_dropped_one_is_forgotten() {
        let spec = Output {
            name: crate::domain::OutputName::new("rec").unwrap(),
            kind: crate::config::OutputKind::Null,
            rate: 48000,
            format: crate::config::SampleFormat::I16,
            channels: 2,
        };
        let taps = Taps::new();
        let mut sink = taps.wrap(0, Box::new(NullSink::new(&spec)));
        let mut rx = taps.listen(0, 1);
        sink.write(&[0.0, 0.5, 0.0, -0.5, 0.0, 1.5]).unwrap();
        assert_eq!(rx.try_recv().unwrap(), vec![16384, -16384, 32767], "channel 2 only, clipped");
        drop(rx);
        sink.write(&[0.0, 0.0]).unwrap();
        assert_eq!(taps.count(), 0);
    }
}
