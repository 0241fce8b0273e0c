//! Amplifier relays: the three kinds of hardware that switch the loudspeaker amplifiers on and off.
//!
//! [`open`] turns a [`RelaySpec`] from the hardware profile into a [`Relay`]; every failure is a
//! [`RelayError`] whose [`RelayError::sentence`] tells an operator, in English and Chinese, which
//! relay failed and what to check.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod board;
mod gpio;
mod modbus;

/// Which kind of relay, as the hardware profile says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayKind {
    /// A USB-serial relay board of the common single-byte-command kind (ICStation ICSE012A/013A/014A and clones).
    Board {
        /// The serial device, e.g. `/dev/ttyUSB0`.
        port: PathBuf,
        /// How many relays the profile uses; the board must have at least this many.
        channels: u8,
    },
    /// Modbus RTU coils on a serial line.
    Modbus {
        /// The serial device, e.g. `/dev/ttyUSB1`.
        port: PathBuf,
        /// Line speed; the frame is always 8N1.
        baud: u32,
        /// The slave address (1..=247).
        unit: u8,
    },
    /// Linux GPIO lines through the character device (/dev/gpiochipN).
    Gpio {
        /// The chip device, e.g. `/dev/gpiochip0`.
        chip: PathBuf,
    },
}

/// One relay as the hardware profile describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySpec {
    /// The operator's name for it; it appears in every error sentence.
    pub name: String,
    /// What hardware it is and where.
    pub kind: RelayKind,
    /// How long to wait for an answer.
    pub timeout: Duration,
}

/// One opened relay device. Channel numbers: Board 1..=channels; Modbus coil number 1-based
/// (address n-1); Gpio line offset (0-based, as `gpioinfo` prints).
pub trait Relay: Send {
    /// Sets these channels (others unchanged). Returns Ok only when the device took it: for Modbus
    /// the slave's echo was checked; for the board, the byte was written and flushed (the board
    /// does not answer state bytes); for GPIO the line values were set.
    ///
    /// A channel the device does not have is refused with [`RelayError::Garbage`] before anything
    /// is sent. On an error the driver's idea of the state is unchanged for the board and GPIO;
    /// for Modbus the coils before the failing one were set.
    fn set(&mut self, changes: &[(u32, bool)]) -> Result<(), RelayError>;

    /// What is doubtful about this device although it takes commands (English, Chinese): a board
    /// that did not answer the handshake is driven without confirmation.
    fn warning(&self) -> Option<(String, String)> {
        None
    }
}

/// Opens the device (board: the handshake; Modbus: opens the port; GPIO: requests the given line
/// offsets as outputs, initially off, consumer "xiangyin").
///
/// `channels` is only used by GPIO (the lines to request); the board and Modbus check channel
/// numbers when they are set.
pub fn open(spec: &RelaySpec, channels: &[u32]) -> Result<Box<dyn Relay>, RelayError> {
    match &spec.kind {
        RelayKind::Board { port, channels: n } => {
            Ok(Box::new(board::BoardRelay::open(&spec.name, port, *n, spec.timeout)?))
        }
        RelayKind::Modbus { port, baud, unit } => {
            Ok(Box::new(modbus::ModbusRelay::open(&spec.name, port, *baud, *unit, spec.timeout)?))
        }
        RelayKind::Gpio { chip } => Ok(Box::new(gpio::GpioRelay::open(&spec.name, chip, channels)?)),
    }
}

/// Why a relay could not be opened or set, grouped by what the caller does next: all are retried
/// with back-off by the caller; the variant tells the sentence.
///
/// Each variant's `String` holds the English sentence, a newline, then the Chinese sentence;
/// `Display` shows the English one, [`RelayError::sentence`] gives both apart.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The port or chip cannot be opened or vanished (unplugged USB, wrong path, permission).
    #[error("{}", english(.0))]
    Gone(String),
    /// The device did not answer within the timeout.
    #[error("{}", english(.0))]
    NoAnswer(String),
    /// It answered something that is not the protocol (bad CRC, wrong echo, Modbus exception,
    /// unknown board id), or a channel was asked for that the device does not have.
    #[error("{}", english(.0))]
    Garbage(String),
    /// A GPIO line is held by another program (EBUSY).
    #[error("{}", english(.0))]
    Busy(String),
}

impl RelayError {
    /// The sentence for people, English and Chinese (简体中文), naming the relay/port and what to check.
    pub fn sentence(&self) -> (String, String) {
        let both = match self {
            RelayError::Gone(s) | RelayError::NoAnswer(s) | RelayError::Garbage(s) | RelayError::Busy(s) => s,
        };
        match both.split_once('\n') {
            Some((en, zh)) => (en.to_string(), zh.to_string()),
            None => (both.clone(), both.clone()),
        }
    }
}

/// The English half of a variant's text.
fn english(both: &str) -> &str {
    both.split_once('\n').map_or(both, |(en, _)| en)
}

/// Joins the two sentences the way [`RelayError`] keeps them.
fn two(en: String, zh: String) -> String {
    format!("{en}\n{zh}")
}

/// How a driver names its device in sentences: "relay board amps on /dev/ttyUSB0" /
/// "继电器板 amps（/dev/ttyUSB0）".
struct Who {
    en: String,
    zh: String,
}

impl Who {
    fn new(en_kind: &str, zh_kind: &str, name: &str, path: &Path, extra: Option<(String, String)>) -> Who {
        let p = path.display();
        match extra {
            None => Who { en: format!("{en_kind} {name} on {p}"), zh: format!("{zh_kind} {name}（{p}）") },
            Some((en_x, zh_x)) => Who {
                en: format!("{en_kind} {name} on {p} ({en_x})"),
                zh: format!("{zh_kind} {name}（{p}，{zh_x}）"),
            },
        }
    }
}

/// Milliseconds for sentences.
fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Opens a serial port 8N1, no flow control, raw, exclusive, with `timeout` for reads and writes.
/// Works for USB-serial adapters and for pseudo-terminal slaves (tested).
fn open_serial(who: &Who, path: &Path, baud: u32, timeout: Duration) -> Result<serialport::TTYPort, RelayError> {
    use serialport::{DataBits, FlowControl, Parity, StopBits};
    serialport::new(path.to_string_lossy(), baud)
        .data_bits(DataBits::Eight)
        .parity(Parity::None)
        .stop_bits(StopBits::One)
        .flow_control(FlowControl::None)
        .timeout(timeout)
        .open_native()
        .map_err(|e| {
            let (en_hint, zh_hint) = match e.kind() {
                serialport::ErrorKind::Io(std::io::ErrorKind::NotFound) => (
                    "is it plugged in, and is the path in the hardware profile right?",
                    "请检查是否已插好，硬件配置里的路径是否正确。",
                ),
                serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => (
                    "may the daemon's user open it (group dialout)?",
                    "请检查守护进程的用户是否有权限打开它（dialout 组）。",
                ),
                serialport::ErrorKind::NoDevice => {
                    ("is another program using it, or was it unplugged?", "请检查是否有其他程序占用，或者已被拔出。")
                }
                _ => ("is it plugged in and is it a serial port?", "请检查是否已插好，是否是串口设备。"),
            };
            RelayError::Gone(two(
                format!("{} cannot be opened ({}): {en_hint}", who.en, e.description),
                format!("{}无法打开（{}）：{zh_hint}", who.zh, e.description),
            ))
        })
}

/// The error for a failed write or flush on a serial port: a timeout means the device does not
/// take bytes (NoAnswer), anything else means the port is gone (unplugged, or the line hung up).
fn write_error(who: &Who, e: &std::io::Error, timeout: Duration) -> RelayError {
    if e.kind() == std::io::ErrorKind::TimedOut {
        RelayError::NoAnswer(two(
            format!(
                "{} does not take data (writing blocked for {} ms): is it plugged in and powered?",
                who.en,
                ms(timeout)
            ),
            format!("{}不接收数据（写入阻塞 {} 毫秒）：请检查是否已插好并通电。", who.zh, ms(timeout)),
        ))
    } else {
        RelayError::Gone(two(
            format!("{} cannot be written to ({e}): was it unplugged?", who.en),
            format!("{}无法写入（{e}）：是否已被拔出？", who.zh),
        ))
    }
}
