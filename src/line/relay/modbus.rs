//! Modbus RTU coils on a serial line: function 05 (write single coil), one request per changed
//! channel, each answer checked to be the exact echo of its request.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use rmodbus::client::ModbusRequest;
use rmodbus::{ErrorKind, ModbusProto};
use serialport::{ClearBuffer, SerialPort, TTYPort};

use super::{Relay, RelayError, Who, ms, open_serial, two, write_error};

/// An opened serial line to one Modbus slave.
pub(super) struct ModbusRelay {
    who: Who,
    port: TTYPort,
    unit: u8,
    timeout: Duration,
}

impl ModbusRelay {
    /// Opens the port (8N1 at `baud`); nothing is sent until the first `set`.
    pub(super) fn open(
        name: &str,
        path: &Path,
        baud: u32,
        unit: u8,
        timeout: Duration,
    ) -> Result<ModbusRelay, RelayError> {
        let who = Who::new(
            "Modbus relay",
            "Modbus 继电器",
            name,
            path,
            Some((format!("unit {unit}"), format!("从站 {unit}"))),
        );
        let port = open_serial(&who, path, baud, timeout)?;
        Ok(ModbusRelay { who, port, unit, timeout })
    }

    /// Writes coil `address` (0-based) and checks the echo.
    fn write_coil(&mut self, address: u16, on: bool) -> Result<(), RelayError> {
        let mut request = ModbusRequest::new(self.unit, ModbusProto::Rtu);
        let mut frame: Vec<u8> = Vec::with_capacity(8);
        request.generate_set_coil(address, on, &mut frame).map_err(|e| {
            garbage(
                &self.who,
                &format!("cannot build the request for coil {} ({e:?})", u32::from(address) + 1),
                &format!("无法生成线圈 {} 的请求（{e:?}）", u32::from(address) + 1),
            )
        })?;
        self.port
            .clear(ClearBuffer::Input)
            .map_err(|e| write_error(&self.who, &std::io::Error::from(e), self.timeout))?;
        self.port.write_all(&frame).map_err(|e| write_error(&self.who, &e, self.timeout))?;
        self.port.flush().map_err(|e| write_error(&self.who, &e, self.timeout))?;
        let answer = self.read_answer(u32::from(address) + 1)?;
        check_answer(&self.who, &request, &frame, &answer)
    }

    /// Reads one answer: 5 bytes if it is an exception (function | 0x80), else the 8-byte echo.
    fn read_answer(&mut self, coil: u32) -> Result<Vec<u8>, RelayError> {
        let deadline = Instant::now() + self.timeout;
        let mut answer = Vec::with_capacity(8);
        let mut buf = [0u8; 8];
        loop {
            let want = match answer.get(1) {
                Some(f) if f & 0x80 != 0 => 5,
                _ => 8,
            };
            if answer.len() >= want {
                return Ok(answer);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.short(coil, answer.len(), want));
            }
            self.port.set_timeout(left).map_err(|e| gone_reading(&self.who, &e.to_string()))?;
            match self.port.read(&mut buf[..want - answer.len()]) {
                Ok(0) => return Err(gone_reading(&self.who, "end of file")),
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Err(self.short(coil, answer.len(), want)),
                Err(e) => return Err(gone_reading(&self.who, &e.to_string())),
            }
        }
    }

    /// Nothing (NoAnswer) or too little (Garbage) arrived within the timeout.
    fn short(&self, coil: u32, got: usize, want: usize) -> RelayError {
        let t = ms(self.timeout);
        if got == 0 {
            RelayError::NoAnswer(two(
                format!(
                    "{} does not answer (no reply to writing coil {coil} within {t} ms): is it powered, are the unit address, baud rate and A/B wiring right?",
                    self.who.en
                ),
                format!(
                    "{}没有应答（写线圈 {coil} 后 {t} 毫秒内没有回复）：请检查是否通电，从站地址、波特率和 A/B 接线是否正确。",
                    self.who.zh
                ),
            ))
        } else {
            garbage(
                &self.who,
                &format!("sent only {got} of {want} bytes in {t} ms after writing coil {coil}"),
                &format!("写线圈 {coil} 后 {t} 毫秒内只收到 {got}/{want} 字节"),
            )
        }
    }
}

impl Relay for ModbusRelay {
    fn set(&mut self, changes: &[(u32, bool)]) -> Result<(), RelayError> {
        for &(coil, _) in changes {
            if coil == 0 || coil > 65536 {
                return Err(RelayError::Garbage(two(
                    format!(
                        "{} has no coil {coil} (coils are numbered 1 to 65536): check the hardware profile.",
                        self.who.en
                    ),
                    format!("{}没有线圈 {coil}（线圈编号为 1 到 65536）：请检查硬件配置。", self.who.zh),
                )));
            }
        }
        for &(coil, on) in changes {
            let address = u16::try_from(coil - 1).unwrap_or(u16::MAX);
            self.write_coil(address, on)?;
        }
        Ok(())
    }
}

/// Checks an answer to `frame`: CRC and unit (by rmodbus), exception, then the exact echo.
fn check_answer(who: &Who, request: &ModbusRequest, frame: &[u8], answer: &[u8]) -> Result<(), RelayError> {
    let hex = hex(answer);
    match request.parse_ok(answer) {
        Ok(()) => {}
        Err(ErrorKind::FrameCRCError) => {
            return Err(garbage(
                who,
                &format!("answered with a bad CRC ({hex})"),
                &format!("回复的 CRC 校验错误（{hex}）"),
            ));
        }
        Err(e) if e.is_modbus_error() || e == ErrorKind::UnknownError => {
            // rmodbus reports any function mismatch as an exception; look at the bytes ourselves.
            if answer.get(1).is_some() && answer.get(1).copied() == frame.get(1).map(|f| f | 0x80) {
                let code = answer.get(2).copied().unwrap_or(0);
                let (en, zh) = exception_name(code);
                return Err(garbage(
                    who,
                    &format!("refused the request with Modbus exception {code:02} ({en})"),
                    &format!("以 Modbus 异常 {code:02}（{zh}）拒绝了请求"),
                ));
            }
            return Err(garbage(
                who,
                &format!("answered another function ({hex})"),
                &format!("回复了其他功能码（{hex}）"),
            ));
        }
        Err(e) => {
            return Err(garbage(
                who,
                &format!("answered a broken frame ({hex}, {e:?})"),
                &format!("回复的帧无效（{hex}，{e:?}）"),
            ));
        }
    }
    if answer != frame {
        return Err(garbage(
            who,
            &format!("answered {hex}, not the echo {} of the request", self::hex(frame)),
            &format!("回复 {hex}，不是请求 {} 的回显", self::hex(frame)),
        ));
    }
    Ok(())
}

/// The standard names of Modbus exception codes.
fn exception_name(code: u8) -> (&'static str, &'static str) {
    match code {
        0x01 => ("illegal function", "非法功能"),
        0x02 => ("illegal data address", "非法数据地址"),
        0x03 => ("illegal data value", "非法数据值"),
        0x04 => ("slave device failure", "从站设备故障"),
        0x05 => ("acknowledge, still working", "已确认，正在处理"),
        0x06 => ("slave device busy", "从站设备忙"),
        0x08 => ("memory parity error", "存储奇偶校验错误"),
        0x0A => ("gateway path unavailable", "网关路径不可用"),
        0x0B => ("gateway target device failed to respond", "网关目标设备无响应"),
        _ => ("unknown exception", "未知异常"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

fn garbage(who: &Who, en: &str, zh: &str) -> RelayError {
    RelayError::Garbage(two(
        format!("{} {en}: are the unit address and baud rate right, and is only one master on the line?", who.en),
        format!("{}{zh}：请检查从站地址和波特率是否正确，总线上是否只有一个主站。", who.zh),
    ))
}

fn gone_reading(who: &Who, why: &str) -> RelayError {
    RelayError::Gone(two(
        format!("{} cannot be read from ({why}): was the adapter unplugged?", who.en),
        format!("{}无法读取（{why}）：串口适配器是否已被拔出？", who.zh),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc(data: &[u8]) -> [u8; 2] {
        let mut crc: u16 = 0xFFFF;
        for &b in data {
            crc ^= u16::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
            }
        }
        crc.to_le_bytes()
    }

    fn who() -> Who {
        Who::new("Modbus relay", "Modbus 继电器", "amps", Path::new("/dev/x"), None)
    }

    #[test]
    fn exception_0b_is_named_and_wrong_echo_is_refused() {
        let mut request = ModbusRequest::new(1, ModbusProto::Rtu);
        let mut frame = Vec::new();
        assert!(request.generate_set_coil(4u16, true, &mut frame).is_ok());
        assert_eq!(&frame[..6], &[1, 5, 0, 4, 0xFF, 0]);
        // Exception 0x0B with a valid CRC (rmodbus itself maps 0x0B to UnknownError).
        let mut exc = vec![1, 0x85, 0x0B];
        let c = crc(&exc);
        exc.extend_from_slice(&c);
        let (en, _) = check_answer(&who(), &request, &frame, &exc).map_err(|e| e.sentence()).err().unwrap_or_default();
        assert!(en.contains("gateway target device failed to respond"), "{en}");
        // Valid CRC, right function, but the value says off: not the echo.
        let mut wrong = vec![1, 5, 0, 4, 0, 0];
        let c = crc(&wrong);
        wrong.extend_from_slice(&c);
        let (en, zh) =
            check_answer(&who(), &request, &frame, &wrong).map_err(|e| e.sentence()).err().unwrap_or_default();
        assert!(en.contains("not the echo"), "{en}");
        assert!(zh.contains("回显"), "{zh}");
        assert!(check_answer(&who(), &request, &frame, &frame).is_ok());
    }
}
