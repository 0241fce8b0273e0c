//! Capture inputs (the taps after the amplifiers) through cpal: one supervised stream per input.
//!
//! The audio callback only converts samples to f32 and pushes them into a lock-free ring, with
//! the instant the last frame of each callback was captured into a second ring; it never locks
//! or allocates. The monitor thread drains both. A stream that fails (the device vanished, the
//! FIFO of a test closed) is dropped and reopened with back-off; the problem is reported once
//! and cleared when it captures again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use rtrb::{Consumer, Producer, RingBuffer};

use crate::config::{InputConf, SampleFormat};

/// Seconds of audio the ring holds before the monitor must have drained it.
const RING_SECONDS: usize = 2;
/// A stream that delivers nothing for this long counts as stopped.
const SILENT_STREAM: Duration = Duration::from_secs(2);

/// The monitor's end of one capture input.
pub struct CaptureFeed {
    /// The input.
    pub spec: InputConf,
    /// Interleaved samples.
    pub samples: Consumer<f32>,
    /// (frames captured in all, instant the last of them was captured), one per callback.
    pub stamps: Consumer<(u64, Instant)>,
    /// Why it is not capturing, when it is not.
    pub status: Arc<CaptureStatus>,
}

/// What the capture thread publishes.
#[derive(Default)]
pub struct CaptureStatus {
    failing: std::sync::Mutex<Option<(String, String)>>,
    last_data_ms: AtomicU64,
    stop: AtomicBool,
}

impl CaptureStatus {
    /// Why the input is not capturing, in English and Chinese, when it is not.
    pub fn problem(&self) -> Option<(String, String)> {
        self.failing.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn set(&self, p: Option<(String, String)>) {
        *self.failing.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = p;
    }

    /// Asks the capture thread to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Starts capturing `spec` on its own supervising thread.
pub fn start(spec: &InputConf) -> std::io::Result<CaptureFeed> {
    let cap = spec.rate as usize * usize::from(spec.channels) * RING_SECONDS;
    let (tx, samples) = RingBuffer::<f32>::new(cap);
    let (stx, stamps) = RingBuffer::<(u64, Instant)>::new(4096);
    let status = Arc::new(CaptureStatus::default());
    let (s, sp) = (status.clone(), spec.clone());
    thread::Builder::new().name(format!("capture-{}", spec.name)).spawn(move || supervise(&sp, tx, stx, &s))?;
    Ok(CaptureFeed { spec: spec.clone(), samples, stamps, status })
}

fn millis(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

fn supervise(spec: &InputConf, tx: Producer<f32>, stx: Producer<(u64, Instant)>, status: &CaptureStatus) {
    let epoch = Instant::now();
    let shared = Arc::new(Callback {
        tx: std::sync::Mutex::new(Some((tx, stx))),
        frames: AtomicU64::new(0),
        failed: AtomicBool::new(false),
        last_data_ms: AtomicU64::new(0),
        epoch,
        channels: usize::from(spec.channels.max(1)),
    });
    let mut backoff = Duration::from_millis(250);
    while !status.stop.load(Ordering::Acquire) {
        shared.failed.store(false, Ordering::Release);
        match open(spec, &shared) {
            Ok(stream) => {
                let opened = millis(epoch);
                shared.last_data_ms.store(opened, Ordering::Release);
                loop {
                    if status.stop.load(Ordering::Acquire) {
                        return;
                    }
                    thread::sleep(Duration::from_millis(100));
                    let last = shared.last_data_ms.load(Ordering::Acquire);
                    status.last_data_ms.store(last, Ordering::Release);
                    let quiet = Duration::from_millis(millis(epoch).saturating_sub(last));
                    if shared.failed.load(Ordering::Acquire) || quiet > SILENT_STREAM {
                        let why = if shared.failed.load(Ordering::Acquire) {
                            (
                                "the capture device reported an error (unplugged?)".to_owned(),
                                "采集设备报错（被拔掉了？）".to_owned(),
                            )
                        } else {
                            let n = quiet.as_secs();
                            (format!("no audio has come from it for {n} s"), format!("已经 {n} 秒没有收到声音"))
                        };
                        tracing::warn!(input = spec.name, "capture stopped: {}", why.0);
                        status.set(Some(why));
                        break;
                    }
                    if last > opened && status.problem().is_some() {
                        tracing::info!(input = spec.name, "capture runs again");
                        status.set(None);
                        backoff = Duration::from_millis(250);
                    }
                }
                drop(stream);
            }
            Err(why) => {
                if status.problem().map(|p| p.0).as_deref() != Some(why.as_str()) {
                    tracing::warn!(input = spec.name, "cannot open the capture input: {why}");
                }
                let zh = format!("打不开：{why}");
                status.set(Some((format!("it cannot be opened: {why}"), zh)));
            }
        }
        thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// The two rings the audio callback fills: samples, and (frames so far, when) stamps.
type Rings = (Producer<f32>, Producer<(u64, Instant)>);

/// What the audio callback writes to.
struct Callback {
    /// Taken by the callback of the stream that runs (only one at a time).
    tx: std::sync::Mutex<Option<Rings>>,
    frames: AtomicU64,
    failed: AtomicBool,
    last_data_ms: AtomicU64,
    epoch: Instant,
    channels: usize,
}

/// The rings live in the callback while a stream runs and go back when it is dropped.
struct Lease {
    shared: Arc<Callback>,
    rings: Option<Rings>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(r) = self.rings.take() {
            *self.shared.tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
        }
    }
}

fn open(spec: &InputConf, shared: &Arc<Callback>) -> Result<cpal::Stream, String> {
    let wanted: cpal::DeviceId = match spec.device.parse() {
        Ok(id) => id,
        Err(_) => cpal::DeviceId::new(cpal::default_host().id(), &spec.device),
    };
    let host = cpal::host_from_id(wanted.host()).map_err(|e| e.to_string())?;
    let device = host
        .device_by_id(&wanted)
        .ok_or_else(|| format!("there is no capture device `{}` (see `xiangyin devices`)", spec.device))?;
    let config =
        cpal::StreamConfig { channels: spec.channels, sample_rate: spec.rate, buffer_size: cpal::BufferSize::Default };
    let rings = shared.tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    let Some(rings) = rings else { return Err("the capture rings are in use".into()) };
    let stream = match spec.format {
        SampleFormat::I16 => build::<i16>(&device, &config, shared, rings),
        SampleFormat::I32 => build::<i32>(&device, &config, shared, rings),
        SampleFormat::F32 => build::<f32>(&device, &config, shared, rings),
        SampleFormat::I24 => {
            *shared.tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(rings);
            return Err("capture in i24 is not supported: use i16, i32 or f32".into());
        }
    }?;
    stream.play().map_err(|e| format!("the capture device would not start: {e}"))?;
    Ok(stream)
}

fn build<T>(
    device: &cpal::Device,
    config: &cpal::StreamConfig,
    shared: &Arc<Callback>,
    rings: Rings,
) -> Result<cpal::Stream, String>
where
    T: cpal::SizedSample + Send + 'static,
    f32: cpal::FromSample<T>,
{
    let mut lease = Lease { shared: shared.clone(), rings: Some(rings) };
    let s = shared.clone();
    let err = shared.clone();
    let channels = shared.channels;
    let data = move |input: &[T], _: &cpal::InputCallbackInfo| {
        let now = Instant::now();
        let Some((tx, stx)) = lease.rings.as_mut() else { return };
        let frames = input.len() / channels;
        let n = (frames * channels).min(tx.slots() / channels * channels);
        if let Ok(mut chunk) = tx.write_chunk_uninit(n) {
            let (a, b) = chunk.as_mut_slices();
            for (slot, x) in a.iter_mut().chain(b.iter_mut()).zip(input) {
                slot.write(cpal::Sample::to_sample::<f32>(*x));
            }
            // SAFETY: every slot of the chunk was written just above (n <= input.len()).
            unsafe { chunk.commit_all() };
        }
        let total = s.frames.fetch_add((n / channels) as u64, Ordering::AcqRel) + (n / channels) as u64;
        let _ = stx.push((total, now));
        s.last_data_ms.store(now.duration_since(s.epoch).as_millis() as u64, Ordering::Release);
    };
    let error = move |e: cpal::Error| {
        if !matches!(e.kind(), cpal::ErrorKind::Xrun) {
            err.failed.store(true, Ordering::Release);
        }
    };
    device.build_input_stream::<T, _, _>(*config, data, error, None).map_err(|e| {
        format!("the capture device refused {} channels at {} Hz: {e}", config.channels, config.sample_rate)
    })
}
