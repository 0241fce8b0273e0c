//! The "sound card without a sound card" harness shared by the ALSA test targets.
//!
//! ALSA is pointed at `tests/alsa/asoundrc`, whose PCMs are ALSA's `file` plugin writing what
//! cpal plays into `$XY_ALSA_DIR/NAME.raw`. The tests make those paths FIFOs and read them, at
//! the byte rate where a real-time device clock matters, so a FIFO reader is the "sound card":
//! closing it unplugs the card, reopening it plugs it back in. cpal reads the ALSA configuration
//! once per process, so [`setup`] sets the environment before any test touches cpal.
//!
//! Include it with `#[path = "common/alsa.rs"] mod alsa;` (each test target is its own process,
//! with its own folder under `target/tmp/`).
#![allow(dead_code)]

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use xiangyin::config::{Output, OutputKind, SampleFormat};
use xiangyin::domain::OutputName;

static SETUP: Once = Once::new();
static DIR: OnceLock<PathBuf> = OnceLock::new();
static LOG: Mutex<String> = Mutex::new(String::new());

/// The value of `ALSA_CONFIG_PATH` that adds the test PCMs to ALSA's own configuration.
pub fn alsa_config_path() -> OsString {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alsa/asoundrc");
    let system = Path::new("/usr/share/alsa/alsa.conf");
    assert!(system.is_file(), "{} is missing: install libasound2 (ALSA's runtime)", system.display());
    assert!(conf.is_file(), "{} is missing", conf.display());
    format!("{}:{}", system.display(), conf.display()).into()
}

/// Points ALSA at the test asoundrc and the PCM files at a fresh folder (named after the test
/// target, under `target/tmp/`); captures logs. Returns that folder (`$XY_ALSA_DIR`).
pub fn setup() -> &'static Path {
    SETUP.call_once(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&base).unwrap();
        let prefix = format!("{}-", env!("CARGO_CRATE_NAME"));
        let dir = tempfile::Builder::new().prefix(&prefix).tempdir_in(&base).unwrap().keep();
        let config = alsa_config_path();
        // SAFETY: runs once, inside `Once`, before any test thread calls cpal or reads these
        // variables; every test calls `setup()` first.
        unsafe {
            std::env::set_var("XY_ALSA_DIR", &dir);
            std::env::set_var("ALSA_CONFIG_PATH", config);
        }
        tracing_subscriber::fmt()
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .init();
        DIR.set(dir).unwrap();
    });
    DIR.get().unwrap()
}

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        LOG.lock().unwrap().push_str(&text);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captured log lines at `level` mentioning `needle`.
pub fn log_lines(level: &str, needle: &str) -> Vec<String> {
    LOG.lock().unwrap().lines().filter(|l| l.contains(level) && l.contains(needle)).map(str::to_owned).collect()
}

/// A device output on `id` (e.g. `alsa:xy_i16x8`).
pub fn device(name: &str, id: &str, channels: u16, rate: u32, format: SampleFormat, period: Option<u32>) -> Output {
    Output {
        name: OutputName::new(name).unwrap(),
        kind: OutputKind::Device { id: id.into(), period_frames: period },
        rate,
        format,
        channels,
    }
}

/// Makes `$XY_ALSA_DIR/NAME.raw` a FIFO.
pub fn fifo(name: &str) -> PathBuf {
    let path = setup().join(format!("{name}.raw"));
    let _ = std::fs::remove_file(&path);
    let ok = std::process::Command::new("mkfifo").arg(&path).status().expect("run mkfifo");
    assert!(ok.success(), "mkfifo {}", path.display());
    path
}

/// What a FIFO reader received, from the first frame that is not silence.
pub struct Captured {
    pub data: Vec<u8>,
    /// Bytes of leading silence skipped.
    pub skipped: u64,
}

impl Captured {
    /// The captured data as little-endian i16 frames of `channels` channels (a trailing partial
    /// frame is dropped): one `Vec` per channel.
    pub fn i16_channels(&self, channels: usize) -> Vec<Vec<i16>> {
        let frame_bytes = 2 * channels;
        let frames = self.data.len() / frame_bytes;
        let mut out = vec![Vec::with_capacity(frames); channels];
        for frame in self.data.chunks_exact(frame_bytes) {
            for (c, s) in frame.chunks_exact(2).enumerate() {
                out[c].push(i16::from_le_bytes([s[0], s[1]]));
            }
        }
        out
    }
}

/// The test's "sound card": reads a FIFO (at `bytes_per_sec`, or as fast as it can) until the
/// writer closes it or `unplug` is called.
pub struct Reader {
    unplugged: Arc<AtomicBool>,
    hung: Arc<AtomicBool>,
    handle: JoinHandle<Captured>,
}

impl Reader {
    pub fn start(path: &Path, frame_bytes: usize, bytes_per_sec: Option<u64>) -> Self {
        let unplugged = Arc::new(AtomicBool::new(false));
        let flag = unplugged.clone();
        let hung = Arc::new(AtomicBool::new(false));
        let hang = hung.clone();
        let path = path.to_path_buf();
        let handle = thread::spawn(move || {
            let mut f = File::open(&path).expect("open fifo"); // waits for the writer
            let started = Instant::now();
            let mut got = Captured { data: Vec::new(), skipped: 0 };
            let mut total: u64 = 0;
            let mut buf = vec![0u8; 16 * 1024];
            let mut hung_for = Duration::ZERO;
            let mut hung_at: Option<Instant> = None;
            while !flag.load(Ordering::Acquire) {
                if hang.load(Ordering::Acquire) {
                    // A stuck driver: the device stays open and takes nothing. The card's clock
                    // does not count the time it hung.
                    hung_at.get_or_insert_with(Instant::now);
                    thread::sleep(Duration::from_millis(2));
                    continue;
                }
                if let Some(t) = hung_at.take() {
                    hung_for += t.elapsed();
                }
                let mut want = buf.len();
                if let Some(rate) = bytes_per_sec {
                    let allowed = ((started.elapsed().saturating_sub(hung_for)).as_secs_f64() * rate as f64) as u64;
                    let allowed = allowed.saturating_sub(total) as usize;
                    if allowed < frame_bytes {
                        thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                    want = want.min(allowed);
                }
                let n = match f.read(&mut buf[..want]) {
                    Ok(0) => break, // every writer closed
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => panic!("reading the fifo: {e}"),
                };
                let chunk = &buf[..n];
                if got.data.is_empty() {
                    match chunk.iter().position(|&b| b != 0) {
                        None => got.skipped += n as u64,
                        Some(i) => {
                            // Keep whole frames: back up to the frame the first sound is in.
                            let first = total + i as u64;
                            let frame_start = first - first % frame_bytes as u64;
                            got.data.resize((first - frame_start) as usize, 0);
                            got.data.extend_from_slice(&chunk[i..]);
                            got.skipped = frame_start;
                        }
                    }
                } else {
                    got.data.extend_from_slice(chunk);
                }
                total += n as u64;
            }
            got
        });
        Self { unplugged, hung, handle }
    }

    /// The card hangs: it stays open but takes no more audio, as a stuck driver does.
    pub fn hang(&self) {
        self.hung.store(true, Ordering::Release);
    }

    /// The hung card takes audio again.
    pub fn resume(&self) {
        self.hung.store(false, Ordering::Release);
    }

    /// Closes the FIFO: the card is gone.
    pub fn unplug(self) -> Captured {
        self.unplugged.store(true, Ordering::Release);
        self.handle.join().unwrap()
    }

    /// Waits until the writer closes the FIFO.
    pub fn finish(self) -> Captured {
        self.handle.join().unwrap()
    }
}
