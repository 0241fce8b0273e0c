//! Checks a hardware profile: outputs, zone wiring and trims.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::check_station::At;
use super::files::ProfileFile;
use super::model::{ChannelRef, MIB, Output, OutputKind, Profile, RecorderBudget, SampleFormat};
use super::problem::Problems;
use super::yaml::{self, Doc};
use crate::domain::{GainDb, OutputName, Say, Text, ZoneId};
use crate::yaml_path;

/// Highest channel count an output may declare.
const MAX_CHANNELS: u16 = 256;

pub(super) fn profile(name: &str, file: &Path, text: &str, problems: &mut Problems) -> Option<Profile> {
    let (f, doc): (ProfileFile, Doc) = match yaml::parse(file, text) {
        Ok(v) => v,
        Err(p) => {
            problems.push(p);
            return None;
        }
    };
    let at = At { file, doc: &doc };
    let before = problems.len();

    let mut outputs: Vec<Output> = Vec::new();
    for (i, o) in f.outputs.iter().enumerate() {
        let oname = match OutputName::new(&o.name) {
            Ok(n) => n,
            Err(e) => {
                problems.push(at.at(yaml_path!["outputs", i, "name"], e.text()));
                continue;
            }
        };
        if outputs.iter().any(|x| x.name == oname) {
            problems.push(at.at(
                yaml_path!["outputs", i, "name"],
                (format!("output `{}` is named twice", o.name), format!("输出 `{}` 的名字重复了", o.name)),
            ));
        }
        let kind = match o.kind.as_str() {
            "device" => match &o.device {
                Some(id) if !id.trim().is_empty() => {
                    Some(OutputKind::Device { id: id.clone(), period_frames: o.period_frames })
                }
                _ => {
                    problems.push(at.at(
                        yaml_path!["outputs", i, "kind"],
                        (
                            "a `device` output needs `device:` — an id as `xiangyin devices` prints it, e.g. alsa:default",
                            "`device` 类型的输出要写 `device:`，填 `xiangyin devices` 列出的设备编号，例如 alsa:default",
                        ),
                    ));
                    None
                }
            },
            "wav" => match o.split.as_deref() {
                None | Some("run") => Some(OutputKind::Wav { hourly: false, budget: Some(budget_of(o)) }),
                Some("hour") => Some(OutputKind::Wav { hourly: true, budget: Some(budget_of(o)) }),
                Some(other) => {
                    problems.push(at.at(
                        yaml_path!["outputs", i, "split"],
                        (
                            format!("split `{other}` is not `run` or `hour`"),
                            format!("split 写成了 `{other}`，只能是 `run` 或 `hour`"),
                        ),
                    ));
                    None
                }
            },
            "null" => Some(OutputKind::Null),
            other => {
                problems.push(at.at(
                    yaml_path!["outputs", i, "kind"],
                    (
                        format!("output kind `{other}` is not one of device, wav, null"),
                        format!("输出类型 `{other}` 不对：只能是 device、wav、null 之一"),
                    ),
                ));
                None
            }
        };
        if o.kind != "wav" {
            for (key, given) in [
                ("split", o.split.is_some()),
                ("budget_mb", o.budget_mb.is_some()),
                ("keep_free_mb", o.keep_free_mb.is_some()),
            ] {
                if given {
                    problems.push(at.at_key(
                        yaml_path!["outputs", i, key],
                        (format!("`{key}:` only applies to kind `wav`"), format!("`{key}:` 只用于 `wav` 类型的输出")),
                    ));
                }
            }
        } else if o.budget_mb == Some(0) {
            problems.push(at.at(
                yaml_path!["outputs", i, "budget_mb"],
                ("a recorder needs a budget of at least 1 MiB", "录音输出的存储空间至少要给 1 MiB"),
            ));
        }
        if o.kind != "device" && o.device.is_some() {
            problems.push(at.at_key(
                yaml_path!["outputs", i, "device"],
                ("`device:` only applies to kind `device`", "`device:` 只用于 `device` 类型的输出"),
            ));
        }
        let format = match o.format.as_str() {
            "i16" => Some(SampleFormat::I16),
            "i24" => Some(SampleFormat::I24),
            "i32" => Some(SampleFormat::I32),
            "f32" => Some(SampleFormat::F32),
            other => {
                problems.push(at.at(
                    yaml_path!["outputs", i, "format"],
                    (
                        format!("sample format `{other}` is not one of i16, i24, i32, f32"),
                        format!("采样格式 `{other}` 不对：只能是 i16、i24、i32、f32 之一"),
                    ),
                ));
                None
            }
        };
        if !(8_000..=192_000).contains(&o.rate) {
            problems.push(at.at(
                yaml_path!["outputs", i, "rate"],
                (
                    format!("rate {} Hz is outside 8000..192000", o.rate),
                    format!("采样率 {} Hz 超出 8000..192000 的范围", o.rate),
                ),
            ));
        }
        if o.channels == 0 || o.channels > MAX_CHANNELS {
            problems.push(at.at(
                yaml_path!["outputs", i, "channels"],
                (
                    format!("channel count {} is outside 1..{MAX_CHANNELS}", o.channels),
                    format!("声道数 {} 超出 1..{MAX_CHANNELS} 的范围", o.channels),
                ),
            ));
        }
        if let (Some(kind), Some(format)) = (kind, format) {
            outputs.push(Output { name: oname, kind, rate: o.rate, format, channels: o.channels });
        }
    }
    if f.outputs.is_empty() {
        problems
            .push(at.at(yaml_path!["outputs"], ("a profile needs at least one output", "硬件配置至少要有一个输出")));
    }

    // A channel reference: `output:N`, N from 1.
    let parse_channel = |s: &str| -> Result<(usize, u16), Text> {
        let (o, n) = s.rsplit_once(':').ok_or_else(|| {
            Text::new(
                format!("`{s}` is not a channel: write output:N, e.g. rec:1"),
                format!("`{s}` 不是声道：请写成“输出名:声道号”，例如 rec:1"),
            )
        })?;
        let oi = outputs.iter().position(|x| x.name.as_str() == o).ok_or_else(|| {
            let names: Vec<&str> = outputs.iter().map(|x| x.name.as_str()).collect();
            Text::new(
                format!("no output named `{o}` (outputs: {})", names.join(", ")),
                format!("没有叫 `{o}` 的输出（现有输出：{}）", names.join("、")),
            )
        })?;
        let n: u16 = n.parse().map_err(|_| {
            Text::new(format!("`{s}`: channel number must be 1 or more"), format!("`{s}`：声道号要写 1 或以上的数字"))
        })?;
        if n == 0 || n > outputs[oi].channels {
            return Err(Text::new(
                format!("`{s}`: output `{o}` has channels 1..{}", outputs[oi].channels),
                format!("`{s}`：输出 `{o}` 只有 1..{} 号声道", outputs[oi].channels),
            ));
        }
        Ok((oi, n - 1))
    };

    let mut trims: BTreeMap<(usize, u16), GainDb> = BTreeMap::new();
    for (k, db) in &f.trim_db {
        match parse_channel(k) {
            Ok(c) if (-60.0..=12.0).contains(db) => {
                trims.insert(c, GainDb(*db));
            }
            Ok(_) => problems.push(at.at(
                yaml_path!["trim_db", k.as_str()],
                (format!("trim {db} dB is outside -60..+12"), format!("微调 {db} dB 超出 -60..+12 的范围")),
            )),
            Err(e) => problems.push(at.at_key(yaml_path!["trim_db", k.as_str()], e)),
        }
    }

    let mut zones = BTreeMap::new();
    let mut fed_by: BTreeMap<(usize, u16), String> = BTreeMap::new();
    for (z, chans) in &f.zones {
        let zid = match ZoneId::new(z) {
            Ok(id) => id,
            Err(e) => {
                problems.push(at.at_key(yaml_path!["zones", z.as_str()], e.text()));
                continue;
            }
        };
        if chans.is_empty() {
            problems.push(at.at(
                yaml_path!["zones", z.as_str()],
                (format!("zone `{z}` feeds no channel"), format!("分区 `{z}` 没有接任何声道")),
            ));
        }
        let mut refs = Vec::new();
        let mut mine = BTreeSet::new();
        for (j, c) in chans.iter().enumerate() {
            match parse_channel(c) {
                Ok(key) => {
                    if !mine.insert(key) {
                        problems.push(at.at(
                            yaml_path!["zones", z.as_str(), j],
                            (format!("channel `{c}` is listed twice"), format!("声道 `{c}` 写了两次")),
                        ));
                    } else if let Some(other) = fed_by.insert(key, z.clone()) {
                        problems.push(at.at(
                            yaml_path!["zones", z.as_str(), j],
                            (
                                format!(
                                    "channel `{c}` already carries zone `{other}`; one channel feeds one amplifier"
                                ),
                                format!("声道 `{c}` 已经接了分区 `{other}`；一个声道只能接一台功放"),
                            ),
                        ));
                    }
                    refs.push(ChannelRef {
                        output: key.0,
                        channel: key.1,
                        trim: trims.get(&key).copied().unwrap_or(GainDb::UNITY),
                    });
                }
                Err(e) => problems.push(at.at(yaml_path!["zones", z.as_str(), j], e)),
            }
        }
        zones.insert(zid, refs);
    }
    if !(-20.0..=0.0).contains(&f.max_level_dbfs) {
        problems.push(at.at(
            yaml_path!["max_level_dbfs"],
            (
                format!("max_level_dbfs {} is outside -20..0", f.max_level_dbfs),
                format!("max_level_dbfs {} 超出 -20..0 的范围", f.max_level_dbfs),
            ),
        ));
    }

    let line = super::check_line::line(&f, &at, &zones, problems);
    (problems.len() == before).then(|| Profile {
        name: name.to_owned(),
        outputs,
        zones,
        max_level_dbfs: f.max_level_dbfs,
        line,
    })
}

/// The recorder budget an output asks for (defaults where it says nothing).
fn budget_of(o: &super::files::OutputFile) -> RecorderBudget {
    let d = RecorderBudget::default();
    RecorderBudget {
        max_bytes: o.budget_mb.map_or(d.max_bytes, |m| m.max(1) * MIB),
        keep_free_bytes: o.keep_free_mb.map_or(d.keep_free_bytes, |m| m * MIB),
    }
}
