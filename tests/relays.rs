//! The relay drivers against pty stand-ins for the board and the Modbus slave.

#[path = "common/pty.rs"]
mod pty;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pty::{BoardResponder, ModbusResponder, Mode};
use xiangyin::line::relay::{Relay, RelayError, RelayKind, RelaySpec, open};

const T: Duration = Duration::from_millis(300);
const WAIT: Duration = Duration::from_secs(2);

fn board_spec(r: &BoardResponder, channels: u8) -> RelaySpec {
    RelaySpec { name: "amps".into(), kind: RelayKind::Board { port: r.path().into(), channels }, timeout: T }
}

fn modbus_spec(r: &ModbusResponder, unit: u8) -> RelaySpec {
    RelaySpec { name: "amps".into(), kind: RelayKind::Modbus { port: r.path().into(), baud: 19200, unit }, timeout: T }
}

fn bytes(log: &[(Instant, u8)]) -> Vec<u8> {
    log.iter().map(|&(_, b)| b).collect()
}

fn err(r: Result<Box<dyn Relay>, RelayError>) -> RelayError {
    match r {
        Ok(_) => panic!("open succeeded but should have failed"),
        Err(e) => e,
    }
}

#[test]
fn board_handshake_then_state_bytes() {
    let b = BoardResponder::spawn(0xAB);
    let mut relay = open(&board_spec(&b, 4), &[]).expect("open");
    assert_eq!(bytes(&b.wait_log(1, WAIT)), [0x00], "all off after open");
    relay.set(&[(3, true)]).expect("set 3");
    relay.set(&[(1, true)]).expect("set 1");
    relay.set(&[(3, false), (2, true)]).expect("set 3 off 2 on");
    relay.set(&[(1, false), (2, false)]).expect("all off");
    let log = b.wait_log(5, WAIT);
    assert_eq!(bytes(&log), [0x00, 0b100, 0b101, 0b011, 0b000]);
    assert!(log.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn board_refuses_channel_it_does_not_have() {
    let b = BoardResponder::spawn(0xAD); // 2 relays
    let e = err(open(&board_spec(&b, 4), &[]));
    assert!(matches!(e, RelayError::Garbage(_)), "{e:?}");
    let (en, zh) = e.sentence();
    assert!(en.contains("has 2 relays but the hardware profile uses 4"), "{en}");
    assert!(zh.contains("只有 2 路"), "{zh}");

    let b = BoardResponder::spawn(0xAD);
    let mut relay = open(&board_spec(&b, 2), &[]).expect("open");
    let e = relay.set(&[(3, true)]).expect_err("channel 3");
    assert!(e.to_string().contains("no channel 3"), "{e}");
    assert_eq!(bytes(&b.wait_log(1, WAIT)), [0x00], "nothing sent for a bad channel");
}

#[test]
fn a_board_that_does_not_answer_the_handshake_is_driven_as_started_and_said_so() {
    // A board started by an earlier run never answers 0x50 again: it is switched all off at once
    // and driven without confirmation, with a sentence.
    let b = BoardResponder::spawn(0xAC);
    b.set_mode(Mode::Silent);
    let start = Instant::now();
    let mut relay = open(&board_spec(&b, 8), &[]).expect("driven without its handshake");
    let took = start.elapsed();
    assert!(took >= T && took < T * 3, "it waited for the answer first: {took:?}");
    let (en, zh) = relay.warning().expect("it says the board is unconfirmed");
    let p = b.path().display().to_string();
    assert!(
        en.starts_with(&format!(
            "relay board amps on {p} does not answer (no reply to the handshake within 300 ms): is it plugged in and \
             powered?"
        )) && en.contains("without confirmation; power-cycle it"),
        "{en}"
    );
    assert!(zh.starts_with(&format!("继电器板 amps（{p}）没有应答")) && zh.contains("无法确认"), "{zh}");
    relay.set(&[(2, true)]).expect("a state byte is written");
}

#[test]
fn board_garbage_handshake() {
    let b = BoardResponder::spawn(0xAB);
    b.set_mode(Mode::Garbage);
    let e = err(open(&board_spec(&b, 4), &[]));
    assert!(matches!(e, RelayError::Garbage(_)), "{e:?}");
    assert!(e.to_string().contains("answered 0x00 to the handshake, not a known board id"), "{e}");
}

#[test]
fn board_closed_is_gone() {
    let mut b = BoardResponder::spawn(0xAB);
    let mut relay = open(&board_spec(&b, 4), &[]).expect("open");
    b.close();
    let e = relay.set(&[(1, true)]).expect_err("after close");
    assert!(matches!(e, RelayError::Gone(_)), "{e:?}");
    assert!(e.to_string().contains("cannot be written to"), "{e}");
}

#[test]
fn board_missing_port_is_gone() {
    let spec = RelaySpec {
        name: "amps".into(),
        kind: RelayKind::Board { port: PathBuf::from("/dev/ttyUSB99-nope"), channels: 4 },
        timeout: T,
    };
    let e = err(open(&spec, &[]));
    assert!(matches!(e, RelayError::Gone(_)), "{e:?}");
    let (en, zh) = e.sentence();
    assert!(en.starts_with("relay board amps on /dev/ttyUSB99-nope cannot be opened"), "{en}");
    assert!(zh.contains("无法打开"), "{zh}");
}

#[test]
fn modbus_sets_coils() {
    let m = ModbusResponder::spawn(7);
    let mut relay = open(&modbus_spec(&m, 7), &[]).expect("open");
    relay.set(&[(2, true)]).expect("coil 2 on");
    assert!(m.coil(1));
    assert!(!m.coil(0));
    relay.set(&[(1, true), (2, false)]).expect("coil 1 on, 2 off");
    assert!(m.coil(0) && !m.coil(1));
    let log: Vec<(u16, bool)> = m.log().iter().map(|&(_, a, on)| (a, on)).collect();
    assert_eq!(log, [(1, true), (0, true), (1, false)]);
    assert!(relay.set(&[(0, true)]).is_err(), "coil 0 does not exist");
}

#[test]
fn modbus_wrong_unit_is_no_answer_and_silent_too() {
    let m = ModbusResponder::spawn(7);
    let mut relay = open(&modbus_spec(&m, 8), &[]).expect("open");
    let e = relay.set(&[(1, true)]).expect_err("wrong unit");
    assert!(matches!(e, RelayError::NoAnswer(_)), "{e:?}");

    let m = ModbusResponder::spawn(7);
    let mut relay = open(&modbus_spec(&m, 7), &[]).expect("open");
    m.set_mode(Mode::Silent);
    let start = Instant::now();
    let e = relay.set(&[(2, true)]).expect_err("silent");
    let took = start.elapsed();
    assert!(matches!(e, RelayError::NoAnswer(_)), "{e:?}");
    assert!(took >= T && took < T * 3, "took {took:?}");
    let (en, zh) = e.sentence();
    assert!(en.contains("(unit 7) does not answer (no reply to writing coil 2 within 300 ms)"), "{en}");
    assert!(zh.contains("从站 7") && zh.contains("没有应答"), "{zh}");
    // After the silence it works again (stale input drained).
    m.set_mode(Mode::Answer);
    relay.set(&[(2, true)]).expect("answers again");
    assert!(m.coil(1));
}

#[test]
fn modbus_bad_crc_is_garbage() {
    let m = ModbusResponder::spawn(1);
    let mut relay = open(&modbus_spec(&m, 1), &[]).expect("open");
    m.set_mode(Mode::Garbage);
    let e = relay.set(&[(3, true)]).expect_err("bad crc");
    assert!(matches!(e, RelayError::Garbage(_)), "{e:?}");
    assert!(e.to_string().contains("bad CRC"), "{e}");
}

#[test]
fn modbus_exception_is_named() {
    let m = ModbusResponder::spawn(1);
    let mut relay = open(&modbus_spec(&m, 1), &[]).expect("open");
    let e = relay.set(&[(101, true)]).expect_err("address 100");
    assert!(matches!(e, RelayError::Garbage(_)), "{e:?}");
    let (en, zh) = e.sentence();
    assert!(en.contains("Modbus exception 02 (illegal data address)"), "{en}");
    assert!(zh.contains("非法数据地址"), "{zh}");
    relay.set(&[(100, true)]).expect("address 99 exists");
    assert!(m.coil(99));
}

#[test]
fn modbus_closed_is_gone() {
    let mut m = ModbusResponder::spawn(1);
    let mut relay = open(&modbus_spec(&m, 1), &[]).expect("open");
    m.close();
    let e = relay.set(&[(1, true)]).expect_err("after close");
    assert!(matches!(e, RelayError::Gone(_)), "{e:?}");
    assert!(e.to_string().contains("unplugged"), "{e}");
}

#[test]
fn gpio_missing_chip_is_gone() {
    let spec =
        RelaySpec { name: "amps".into(), kind: RelayKind::Gpio { chip: PathBuf::from("/dev/gpiochip99") }, timeout: T };
    let e = err(open(&spec, &[17]));
    assert!(matches!(e, RelayError::Gone(_)), "{e:?}");
    let (en, zh) = e.sentence();
    assert!(en.contains("GPIO relay amps on /dev/gpiochip99 cannot be opened"), "{en}");
    assert!(en.contains("does the GPIO chip exist"), "{en}");
    assert!(zh.starts_with("GPIO 继电器 amps（/dev/gpiochip99）无法打开"), "{zh}");
}
