//! Test-side stand-ins for relay hardware on pseudo-terminals (std + libc only): a relay board
//! and a Modbus RTU slave, each on its own pty and thread. The CRC16 here is the test's own,
//! independent of the driver's (rmodbus).
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a responder behaves from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers as the real device would.
    Answer,
    /// Reads everything but never answers (and, for Modbus, does not act on it).
    Silent,
    /// Board: answers 0x00 to the handshake. Modbus: acts, but replies with a corrupted CRC.
    Garbage,
}

/// Opens a pseudo-terminal; returns the master and the slave's path. Both ends are raw
/// (cfmakeraw), so no echo or line discipline touches the bytes.
pub fn openpty() -> (File, PathBuf) {
    let (master, _slave, path) = openpty_pair();
    (master, path)
}

/// Like [`openpty`] but also returns an open slave: holding it keeps the master from seeing a
/// hang-up (and reads on it from failing at once) before and between the driver's opens.
pub fn openpty_pair() -> (File, File, PathBuf) {
    let (mut m, mut s) = (-1, -1);
    // SAFETY: openpty writes two fds; name, termios and winsize may be null.
    let r = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both fds were just opened and are owned by nobody else.
    let (master, slave) = unsafe { (File::from_raw_fd(m), File::from_raw_fd(s)) };
    make_raw(&master);
    make_raw(&slave);
    let path = std::fs::read_link(format!("/proc/self/fd/{s}")).expect("slave path");
    (master, slave, path)
}

fn make_raw(f: &File) {
    // SAFETY: termios is plain data; the fd is valid for the call.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(f.as_raw_fd(), &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(f.as_raw_fd(), libc::TCSANOW, &t), 0);
    }
}

/// Waits up to 50 ms for input on `f`; true when there is some.
fn readable(f: &File) -> bool {
    let mut p = libc::pollfd { fd: f.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, 50) };
    n == 1 && p.revents & libc::POLLIN != 0
}

/// Shared between a responder and its thread.
struct Shared<T> {
    state: Mutex<(Mode, Vec<T>)>,
    grew: Condvar,
}

impl<T: Clone> Shared<T> {
    fn push(&self, entry: T) {
        if let Ok(mut g) = self.state.lock() {
            g.1.push(entry);
        }
        self.grew.notify_all();
    }
    fn mode(&self) -> Mode {
        self.state.lock().map(|g| g.0).unwrap_or(Mode::Answer)
    }
    fn wait_len(&self, n: usize, timeout: Duration) -> Vec<T> {
        let deadline = Instant::now() + timeout;
        let mut g = self.state.lock().expect("log lock");
        while g.1.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            g = self.grew.wait_timeout(g, left).expect("log lock").0;
        }
        g.1.clone()
    }
}

/// The pty, the thread and the stop flag, common to both responders.
struct Runner {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Runner {
    /// Runs `on_bytes(master, bytes)` for every chunk read until stopped; then drops the master.
    fn spawn(mut on_bytes: impl FnMut(&mut File, &[u8]) + Send + 'static) -> Runner {
        let (mut master, slave, path) = openpty_pair();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let _keep = slave;
            let mut buf = [0u8; 256];
            while !flag.load(Ordering::SeqCst) {
                if !readable(&master) {
                    continue;
                }
                match master.read(&mut buf) {
                    Ok(n) if n > 0 => on_bytes(&mut master, &buf[..n]),
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Runner { path, stop, thread: Some(thread) }
    }
    fn close(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.close();
    }
}

/// A stand-in ICSE01xA relay board: answers 0x50 with its id, takes 0x51, then logs every
/// following byte as a state byte.
pub struct BoardResponder {
    runner: Runner,
    shared: Arc<Shared<(Instant, u8)>>,
}

impl BoardResponder {
    /// Starts a board that answers the handshake with `channels_id` (0xAB, 0xAD, 0xAC).
    pub fn spawn(channels_id: u8) -> BoardResponder {
        let shared = Arc::new(Shared { state: Mutex::new((Mode::Answer, Vec::new())), grew: Condvar::new() });
        let s = shared.clone();
        let (mut greeted, mut started) = (false, false);
        let runner = Runner::spawn(move |master, bytes| {
            for &b in bytes {
                if started {
                    s.push((Instant::now(), b));
                } else if b == 0x50 {
                    match s.mode() {
                        Mode::Answer => greeted = master.write_all(&[channels_id]).is_ok(),
                        Mode::Garbage => {
                            let _ = master.write_all(&[0x00]);
                        }
                        Mode::Silent => {}
                    }
                } else if b == 0x51 && greeted {
                    started = true;
                }
            }
        });
        BoardResponder { runner, shared }
    }
    /// The slave's path, for the driver.
    pub fn path(&self) -> &Path {
        &self.runner.path
    }
    /// The state bytes received so far.
    pub fn log(&self) -> Vec<(Instant, u8)> {
        self.shared.wait_len(0, Duration::ZERO)
    }
    /// Waits up to `timeout` until at least `n` state bytes arrived; returns the log.
    pub fn wait_log(&self, n: usize, timeout: Duration) -> Vec<(Instant, u8)> {
        self.shared.wait_len(n, timeout)
    }
    /// Changes how it behaves from now on.
    pub fn set_mode(&self, mode: Mode) {
        if let Ok(mut g) = self.shared.state.lock() {
            g.0 = mode;
        }
    }
    /// Stops the thread and closes the master (and its own slave): the driver's writes fail.
    pub fn close(&mut self) {
        self.runner.close();
    }
}

/// The Modbus RTU CRC16 (poly 0xA001 reflected, init 0xFFFF), sent low byte first.
pub fn crc16(data: &[u8]) -> [u8; 2] {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
        }
    }
    crc.to_le_bytes()
}

/// A stand-in Modbus RTU slave for function 05 (write single coil): keeps coil states, echoes
/// the request, answers exception 02 (illegal data address) for addresses ≥ 100.
pub struct ModbusResponder {
    runner: Runner,
    shared: Arc<Shared<(Instant, u16, bool)>>,
    coils: Arc<Mutex<Vec<bool>>>,
}

impl ModbusResponder {
    /// Starts a slave with address `unit`.
    pub fn spawn(unit: u8) -> ModbusResponder {
        let shared = Arc::new(Shared { state: Mutex::new((Mode::Answer, Vec::new())), grew: Condvar::new() });
        let coils = Arc::new(Mutex::new(vec![false; 100]));
        let (s, c) = (shared.clone(), coils.clone());
        let mut pending: Vec<u8> = Vec::new();
        let runner = Runner::spawn(move |master, bytes| {
            pending.extend_from_slice(bytes);
            while pending.len() >= 8 {
                let f: Vec<u8> = pending[..8].to_vec();
                if f[0] != unit || crc16(&f[..6]) != [f[6], f[7]] {
                    pending.remove(0); // resynchronise byte by byte
                    continue;
                }
                pending.drain(..8);
                let mode = s.mode();
                if mode == Mode::Silent {
                    continue;
                }
                let address = u16::from_be_bytes([f[2], f[3]]);
                let mut reply = if f[1] != 0x05 {
                    vec![unit, f[1] | 0x80, 0x01]
                } else if address >= 100 {
                    vec![unit, 0x85, 0x02]
                } else if f[4..6] != [0xFF, 0x00] && f[4..6] != [0, 0] {
                    vec![unit, 0x85, 0x03]
                } else {
                    let on = f[4] == 0xFF;
                    if let Ok(mut c) = c.lock() {
                        c[usize::from(address)] = on;
                    }
                    s.push((Instant::now(), address, on));
                    f[..6].to_vec()
                };
                let mut crc = crc16(&reply);
                if mode == Mode::Garbage {
                    crc[1] ^= 0x5A;
                }
                reply.extend_from_slice(&crc);
                let _ = master.write_all(&reply);
            }
        });
        ModbusResponder { runner, shared, coils }
    }
    /// The slave's path, for the driver.
    pub fn path(&self) -> &Path {
        &self.runner.path
    }
    /// The coil writes carried out so far: (when, address, on).
    pub fn log(&self) -> Vec<(Instant, u16, bool)> {
        self.shared.wait_len(0, Duration::ZERO)
    }
    /// The state of coil `addr` (0-based address); addresses ≥ 100 do not exist and read false.
    pub fn coil(&self, addr: u16) -> bool {
        self.coils.lock().map(|c| c.get(usize::from(addr)).copied().unwrap_or(false)).unwrap_or(false)
    }
    /// Changes how it behaves from now on.
    pub fn set_mode(&self, mode: Mode) {
        if let Ok(mut g) = self.shared.state.lock() {
            g.0 = mode;
        }
    }
    /// Stops the thread and closes the master (and its own slave): the driver's I/O fails.
    pub fn close(&mut self) {
        self.runner.close();
    }
}
