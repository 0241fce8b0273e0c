//! The single-byte USB-serial relay board (ICStation ICSE012A/013A/014A and clones), 9600 8N1.
//!
//! Open: send 0x50, the board answers its id (0xAB = 4, 0xAD = 2, 0xAC = 8 relays); send 0x51 to
//! start. From then on every byte written is the whole state: bit i = relay i+1, 1 = on. The board
//! never answers state bytes, so `set` can only promise that the byte was written and flushed.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serialport::{ClearBuffer, SerialPort, TTYPort};

use super::{Relay, RelayError, Who, ms, open_serial, two, write_error};

const HANDSHAKE: u8 = 0x50;
const START: u8 = 0x51;

/// How many relays a board with this id has, if the id is known.
fn channels_of(id: u8) -> Option<u8> {
    match id {
        0xAB => Some(4),
        0xAD => Some(2),
        0xAC => Some(8),
        _ => None,
    }
}

/// An opened, started board; `state` is the byte last written.
pub(super) struct BoardRelay {
    who: Who,
    port: TTYPort,
    channels: u8,
    state: u8,
    timeout: Duration,
    /// It did not answer the handshake: it is driven as a board started before.
    unconfirmed: bool,
}

impl BoardRelay {
    /// Opens the port, does the handshake, checks the board has at least `channels` relays,
    /// starts it and switches everything off.
    pub(super) fn open(name: &str, path: &Path, channels: u8, timeout: Duration) -> Result<BoardRelay, RelayError> {
        let who = Who::new("relay board", "继电器板", name, path, None);
        let mut port = open_serial(&who, path, 9600, timeout)?;
        // Stale bytes from before would be taken for the id; losing them is harmless.
        let _ = port.clear(ClearBuffer::Input);
        send(&who, &mut port, HANDSHAKE, timeout)?;
        let id = match read_byte(&who, &mut port, timeout) {
            Ok(id) => id,
            Err(RelayError::NoAnswer(_)) => {
                // A board started by an earlier run (xiangyin restarted, the board kept its power)
                // takes 0x50 as a state byte (relays 5 and 7 on) and never answers again: switch
                // everything off at once and drive it as started, saying it is unconfirmed. A
                // board that is really dead cannot be told apart: it never answers state bytes.
                let mut relay = BoardRelay { who, port, channels, state: 0xFF, timeout, unconfirmed: true };
                relay.write_state(0x00)?;
                return Ok(relay);
            }
            Err(e) => return Err(e),
        };
        let Some(has) = channels_of(id) else {
            return Err(RelayError::Garbage(two(
                format!(
                    "{} answered 0x{id:02X} to the handshake, not a known board id (0xAB, 0xAC, 0xAD): is it an ICSE012A/013A/014A board, and was it power-cycled since it was last started?",
                    who.en
                ),
                format!(
                    "{}对握手回答了 0x{id:02X}，不是已知的板子型号（0xAB、0xAC、0xAD）：请检查是否是 ICSE012A/013A/014A 继电器板，以及上次启动后是否断电重启过。",
                    who.zh
                ),
            )));
        };
        if has < channels {
            return Err(RelayError::Garbage(two(
                format!(
                    "{} has {has} relays but the hardware profile uses {channels}: check the profile or the board model.",
                    who.en
                ),
                format!("{}只有 {has} 路继电器，但硬件配置使用了 {channels} 路：请检查配置或板子型号。", who.zh),
            )));
        }
        send(&who, &mut port, START, timeout)?;
        let mut relay = BoardRelay { who, port, channels, state: 0xFF, timeout, unconfirmed: false };
        relay.write_state(0x00)?;
        Ok(relay)
    }

    /// Writes and flushes one state byte, and remembers it only when that worked.
    fn write_state(&mut self, state: u8) -> Result<(), RelayError> {
        send(&self.who, &mut self.port, state, self.timeout)?;
        self.state = state;
        Ok(())
    }
}

impl Relay for BoardRelay {
    fn set(&mut self, changes: &[(u32, bool)]) -> Result<(), RelayError> {
        let mut state = self.state;
        for &(channel, on) in changes {
            if channel == 0 || channel > u32::from(self.channels) {
                return Err(RelayError::Garbage(two(
                    format!(
                        "{} has no channel {channel} (it has 1 to {}): check the hardware profile.",
                        self.who.en, self.channels
                    ),
                    format!("{}没有第 {channel} 路（只有 1 到 {} 路）：请检查硬件配置。", self.who.zh, self.channels),
                )));
            }
            let bit = 1u8 << (channel - 1);
            if on {
                state |= bit;
            } else {
                state &= !bit;
            }
        }
        self.write_state(state)
    }

    fn warning(&self) -> Option<(String, String)> {
        self.unconfirmed.then(|| {
            let (en, zh) = no_answer(&self.who, self.timeout).sentence();
            (
                format!("{en} xiangyin drives it as a board an earlier run started, without confirmation; power-cycle it to check that it answers."),
                format!("{zh}乡音把它当作之前已启动的板子继续控制，但无法确认；请断电重启一次，确认它会应答。"),
            )
        })
    }
}

/// Writes one byte and waits until it has left the port.
fn send(who: &Who, port: &mut TTYPort, byte: u8, timeout: Duration) -> Result<(), RelayError> {
    port.write_all(&[byte]).map_err(|e| write_error(who, &e, timeout))?;
    port.flush().map_err(|e| write_error(who, &e, timeout))
}

/// Reads exactly one byte within `timeout`.
fn read_byte(who: &Who, port: &mut TTYPort, timeout: Duration) -> Result<u8, RelayError> {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 1];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(no_answer(who, timeout));
        }
        port.set_timeout(left).map_err(|e| gone_reading(who, &e.to_string()))?;
        match port.read(&mut buf) {
            Ok(1) => return Ok(buf[0]),
            Ok(_) => return Err(gone_reading(who, "end of file")),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Err(no_answer(who, timeout)),
            Err(e) => return Err(gone_reading(who, &e.to_string())),
        }
    }
}

fn no_answer(who: &Who, timeout: Duration) -> RelayError {
    RelayError::NoAnswer(two(
        format!(
            "{} does not answer (no reply to the handshake within {} ms): is it plugged in and powered? (A board that was started before answers only after a power cycle.)",
            who.en,
            ms(timeout)
        ),
        format!(
            "{}没有应答（{} 毫秒内没有回应握手）：请检查是否已插好并通电。（已启动过的板子要断电重启后才会应答。）",
            who.zh,
            ms(timeout)
        ),
    ))
}

fn gone_reading(who: &Who, why: &str) -> RelayError {
    RelayError::Gone(two(
        format!("{} cannot be read from ({why}): was it unplugged?", who.en),
        format!("{}无法读取（{why}）：是否已被拔出？", who.zh),
    ))
}
