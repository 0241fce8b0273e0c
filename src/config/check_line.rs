//! Checks the village-line part of a hardware profile: relays that power amplifiers (`relays:`,
//! `power:`) and capture inputs that listen back to the lines (`inputs:`, `monitor:`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use super::check_station::At;
use super::files::{MonitorFile, ProfileFile};
use super::model::{ChannelRef, InputConf, LineWiring, MonitorConf, PowerConf, RelayConf, RelayKindConf, SampleFormat};
use super::problem::Problems;
use crate::domain::{Text, ZoneId};
use crate::yaml_path;

/// Longest lead-in. The station plans this much further ahead than
/// [`crate::station::PLAN_AHEAD`] for a profile with lead-ins, so an edit takes that much longer
/// to be heard: longer warm-ups are for `always_on`.
pub const MAX_LEAD_IN_S: f64 = 8.0;
/// Longest hang time (an hour; "always on" is for longer).
const MAX_HANG_S: f64 = 3600.0;

/// The line wiring of `f`, whose zones are `zones`; problems go to `problems`.
pub(super) fn line(
    f: &ProfileFile,
    at: &At<'_>,
    zones: &BTreeMap<ZoneId, Vec<ChannelRef>>,
    problems: &mut Problems,
) -> LineWiring {
    let mut w = LineWiring::default();
    for (i, r) in f.relays.iter().enumerate() {
        if w.relays.iter().any(|x| x.name == r.name) || r.name.trim().is_empty() || r.name.contains(':') {
            problems.push(at.at(
                yaml_path!["relays", i, "name"],
                (
                    format!("relay name `{}` is empty, has a colon or is used twice", r.name),
                    format!("继电器名字 `{}` 是空的、含冒号或重复了", r.name),
                ),
            ));
            continue;
        }
        let port = |problems: &mut Problems| match &r.port {
            Some(p) if !p.trim().is_empty() => Some(PathBuf::from(p)),
            _ => {
                problems.push(at.at(
                    yaml_path!["relays", i, "kind"],
                    (
                        format!("relay `{}` needs `port:` — its serial port, e.g. /dev/ttyUSB0", r.name),
                        format!("继电器 `{}` 要写 `port:`，即它的串口，例如 /dev/ttyUSB0", r.name),
                    ),
                ));
                None
            }
        };
        let kind = match r.kind.as_str() {
            "board" => port(problems).map(|port| RelayKindConf::Board { port, channels: r.channels.unwrap_or(8) }),
            "modbus" => port(problems).map(|port| RelayKindConf::Modbus {
                port,
                baud: r.baud.unwrap_or(9600),
                unit: r.unit.unwrap_or(1),
            }),
            "gpio" => match &r.chip {
                Some(c) if !c.trim().is_empty() => Some(RelayKindConf::Gpio { chip: PathBuf::from(c) }),
                _ => {
                    problems.push(at.at(
                        yaml_path!["relays", i, "kind"],
                        (
                            format!("relay `{}` needs `chip:` — e.g. /dev/gpiochip0", r.name),
                            format!("继电器 `{}` 要写 `chip:`，例如 /dev/gpiochip0", r.name),
                        ),
                    ));
                    None
                }
            },
            other => {
                problems.push(at.at(
                    yaml_path!["relays", i, "kind"],
                    (
                        format!("relay kind `{other}` is not one of board, modbus, gpio"),
                        format!("继电器类型 `{other}` 不对：只能是 board、modbus、gpio 之一"),
                    ),
                ));
                None
            }
        };
        if let Some(kind) = kind {
            let timeout = Duration::from_millis(r.timeout_ms.unwrap_or(500).clamp(20, 10_000));
            w.relays.push(RelayConf { name: r.name.clone(), kind, timeout });
        }
    }

    let zone_of = |z: &str| ZoneId::new(z).ok().filter(|id| zones.contains_key(id));
    for (z, p) in &f.power {
        let Some(zone) = zone_of(z) else {
            problems.push(unknown_zone(at, "power", z, zones));
            continue;
        };
        let here = yaml_path!["power", z.as_str(), "relay"];
        let Some((name, n)) = p.relay.rsplit_once(':') else {
            problems.push(at.at(
                here,
                (
                    format!("`{}` is not a relay channel: write relay:N, e.g. amps:3", p.relay),
                    format!("`{}` 不是继电器通道：请写成“继电器名:通道号”，例如 amps:3", p.relay),
                ),
            ));
            continue;
        };
        let Some(ri) = w.relays.iter().position(|r| r.name == name) else {
            let names: Vec<&str> = w.relays.iter().map(|r| r.name.as_str()).collect();
            problems.push(at.at(
                here,
                (
                    format!("no relay named `{name}` (relays: {})", names.join(", ")),
                    format!("没有叫 `{name}` 的继电器（现有：{}）", names.join("、")),
                ),
            ));
            continue;
        };
        let gpio = matches!(w.relays[ri].kind, RelayKindConf::Gpio { .. });
        let max = match w.relays[ri].kind {
            RelayKindConf::Board { channels, .. } => u32::from(channels),
            RelayKindConf::Modbus { .. } => 65_536,
            RelayKindConf::Gpio { .. } => 1023,
        };
        let channel = match n.parse::<u32>() {
            Ok(c) if (gpio || c >= 1) && c <= max => c,
            _ => {
                let range = if gpio { format!("0..{max}") } else { format!("1..{max}") };
                problems.push(at.at(
                    here,
                    (
                        format!("`{}`: relay `{name}` has channels {range}", p.relay),
                        format!("`{}`：继电器 `{name}` 的通道号是 {range}", p.relay),
                    ),
                ));
                continue;
            }
        };
        let lead_in = p.lead_in_s.unwrap_or(2.0);
        if !(0.0..=MAX_LEAD_IN_S).contains(&lead_in) {
            problems.push(at.at(
                yaml_path!["power", z.as_str(), "lead_in_s"],
                (
                    format!(
                        "lead_in_s {lead_in} is outside 0..{MAX_LEAD_IN_S} (for amplifiers that need longer, use \
                         always_on)"
                    ),
                    format!("lead_in_s {lead_in} 超出 0..{MAX_LEAD_IN_S} 的范围（预热更久的功放请用 always_on）"),
                ),
            ));
            continue;
        }
        let hang = p.hang_s.unwrap_or(30.0);
        if !(0.0..=MAX_HANG_S).contains(&hang) {
            problems.push(at.at(
                yaml_path!["power", z.as_str(), "hang_s"],
                (
                    format!("hang_s {hang} is outside 0..{MAX_HANG_S}"),
                    format!("hang_s {hang} 超出 0..{MAX_HANG_S} 的范围"),
                ),
            ));
            continue;
        }
        w.power.insert(
            zone,
            PowerConf {
                relay: ri,
                channel,
                lead_in: Duration::from_secs_f64(lead_in),
                hang: Duration::from_secs_f64(hang),
                always_on: p.always_on,
            },
        );
    }
    // One relay channel may power an amplifier shared by several zones: it is on while any needs it.

    for (i, inp) in f.inputs.iter().enumerate() {
        if w.inputs.iter().any(|x| x.name == inp.name) || inp.name.trim().is_empty() || inp.name.contains(':') {
            problems.push(at.at(
                yaml_path!["inputs", i, "name"],
                (
                    format!("input name `{}` is empty, has a colon or is used twice", inp.name),
                    format!("输入名字 `{}` 是空的、含冒号或重复了", inp.name),
                ),
            ));
            continue;
        }
        let format = match inp.format.as_str() {
            "i16" => SampleFormat::I16,
            "i32" => SampleFormat::I32,
            "f32" => SampleFormat::F32,
            other => {
                problems.push(at.at(
                    yaml_path!["inputs", i, "format"],
                    (
                        format!("capture format `{other}` is not one of i16, i32, f32"),
                        format!("采集格式 `{other}` 不对：只能是 i16、i32、f32 之一"),
                    ),
                ));
                continue;
            }
        };
        if !(8_000..=192_000).contains(&inp.rate) || inp.channels == 0 || inp.channels > 256 {
            problems.push(at.at(
                yaml_path!["inputs", i],
                (
                    format!("input `{}`: rate must be 8000..192000 Hz and channels 1..256", inp.name),
                    format!("输入 `{}`：采样率要在 8000..192000 Hz，声道数 1..256", inp.name),
                ),
            ));
            continue;
        }
        w.inputs.push(InputConf {
            name: inp.name.clone(),
            device: inp.device.clone(),
            rate: inp.rate,
            format,
            channels: inp.channels,
        });
    }

    let mut heard_by: BTreeSet<(usize, u16)> = BTreeSet::new();
    for (z, m) in &f.monitor {
        let Some(zone) = zone_of(z) else {
            problems.push(unknown_zone(at, "monitor", z, zones));
            continue;
        };
        let (spec, expect_db) = match m {
            MonitorFile::Channel(s) => (s.as_str(), 0.0),
            MonitorFile::Full { input, expect_db } => (input.as_str(), *expect_db),
        };
        let here = yaml_path!["monitor", z.as_str()];
        let found = spec.rsplit_once(':').and_then(|(name, n)| {
            let ii = w.inputs.iter().position(|x| x.name == name)?;
            let n: u16 = n.parse().ok()?;
            (n >= 1 && n <= w.inputs[ii].channels).then_some((ii, n - 1))
        });
        let Some((input, channel)) = found else {
            let names: Vec<String> = w.inputs.iter().map(|x| format!("{} (1..{})", x.name, x.channels)).collect();
            problems.push(at.at(
                here,
                (
                    format!("`{spec}` is not a capture channel: write input:N (inputs: {})", names.join(", ")),
                    format!("`{spec}` 不是采集声道：请写成“输入名:声道号”（现有输入：{}）", names.join("、")),
                ),
            ));
            continue;
        };
        if !heard_by.insert((input, channel)) {
            problems.push(at.at(
                here,
                (
                    format!("capture channel `{spec}` already listens to another zone; one tap per line"),
                    format!("采集声道 `{spec}` 已经在听另一个分区了；一条线路一个回采点"),
                ),
            ));
            continue;
        }
        if !(-60.0..=20.0).contains(&expect_db) {
            problems.push(at.at(
                here,
                (
                    format!("expect_db {expect_db} is outside -60..+20"),
                    format!("expect_db {expect_db} 超出 -60..+20 的范围"),
                ),
            ));
            continue;
        }
        w.monitor.insert(zone, MonitorConf { input, channel, expect_db });
    }
    w
}

fn unknown_zone(at: &At<'_>, key: &str, z: &str, zones: &BTreeMap<ZoneId, Vec<ChannelRef>>) -> super::problem::Problem {
    let names: Vec<&str> = zones.keys().map(|z| z.as_str()).collect();
    at.at_key(
        yaml_path![key, z],
        Text::new(
            format!("`{key}:` names zone `{z}`, which `zones:` does not wire (zones: {})", names.join(", ")),
            format!("`{key}:` 写的分区 `{z}` 在 `zones:` 里没有接线（现有分区：{}）", names.join("、")),
        ),
    )
}
