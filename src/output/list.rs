//! Finding sound devices: the list `xiangyin devices` prints, and lookup by id for `open`.

use cpal::traits::{DeviceTrait, HostTrait};

use super::{OutputError, format_name};
use crate::config::SampleFormat;

/// One output device cpal sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// What to paste into a profile's `device:` (e.g. `alsa:hw:CARD=PCH,DEV=0`, `alsa:default`).
    pub id: String,
    /// What the sound system says the device is.
    pub description: String,
    /// Sample formats among those a profile can name (i16, i24, i32, f32) that it accepts.
    pub formats: Vec<SampleFormat>,
    /// Rate ranges in Hz it accepts with those formats, `(min, max)`, sorted, without repeats.
    pub rates: Vec<(u32, u32)>,
    /// Most channels it accepts (0 when unknown).
    pub max_channels: u16,
    /// Why the device could not be asked what it accepts (e.g. it is busy), if so.
    pub problem: Option<String>,
}

impl DeviceInfo {
    /// The formats as a profile spells them, e.g. `i16 i32 f32`.
    pub fn format_names(&self) -> String {
        self.formats.iter().map(|f| format_name(*f)).collect::<Vec<_>>().join(" ")
    }

    /// The rate ranges for people, e.g. `8000–192000 Hz`, `44100, 48000 Hz` or `any rate`.
    pub fn rate_text(&self) -> String {
        if self.rates.is_empty() {
            return "?".into();
        }
        if self.rates.iter().any(|&(lo, hi)| lo <= 8_000 && hi >= 1_000_000) {
            return "any rate".into();
        }
        let parts: Vec<String> =
            self.rates.iter().map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") }).collect();
        format!("{} Hz", parts.join(", "))
    }
}

/// Every output device cpal sees, on every available host (ALSA on Linux), the host's default
/// output first. Devices that cannot be asked what they accept are listed with a `problem`.
pub fn devices() -> Result<Vec<DeviceInfo>, OutputError> {
    super::alsa_log::quiet("listing the sound devices", list_devices)
}

fn list_devices() -> Result<Vec<DeviceInfo>, OutputError> {
    let mut list: Vec<DeviceInfo> = Vec::new();
    let mut hosts_failed = Vec::new();
    let hosts = cpal::available_hosts();
    for host_id in &hosts {
        let host = match cpal::host_from_id(*host_id) {
            Ok(h) => h,
            Err(e) => {
                hosts_failed.push(format!("{host_id}: {e}"));
                continue;
            }
        };
        let mut found = output_devices(&host).map_err(|e| OutputError::Sound {
            context: format!("listing {host_id} devices"),
            message: e.to_string(),
        })?;
        for d in found.drain(..) {
            let Ok(id) = d.id() else { continue };
            let id = id.to_string();
            if list.iter().any(|x| x.id == id) {
                continue;
            }
            list.push(describe(&d, id));
        }
    }
    if list.is_empty() && !hosts_failed.is_empty() {
        return Err(OutputError::Sound { context: "listing sound devices".into(), message: hosts_failed.join("; ") });
    }
    Ok(list)
}

/// The host's output devices, its default output first.
fn output_devices(host: &cpal::Host) -> Result<Vec<cpal::Device>, cpal::Error> {
    let mut out = Vec::new();
    if let Some(d) = host.default_output_device() {
        out.push(d);
    }
    for d in host.output_devices()? {
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

fn describe(d: &cpal::Device, id: String) -> DeviceInfo {
    let description = match d.description() {
        Ok(desc) => {
            let lines: Vec<&str> = desc.extended().filter(|l| !l.is_empty()).collect();
            if lines.is_empty() { desc.name().to_owned() } else { lines.join(" — ") }
        }
        Err(e) => format!("({e})"),
    };
    let mut info =
        DeviceInfo { id, description, formats: Vec::new(), rates: Vec::new(), max_channels: 0, problem: None };
    match d.supported_output_configs() {
        Ok(configs) => {
            fold(&mut info, configs);
            if info.formats.is_empty() {
                info.problem = Some("accepts none of i16, i24, i32, f32".into());
            }
        }
        Err(e) => info.problem = Some(cpal_problem(&e)),
    }
    info
}

/// Adds what `configs` accept to `info`.
fn fold(info: &mut DeviceInfo, configs: impl IntoIterator<Item = cpal::SupportedStreamConfigRange>) {
    for c in configs {
        let Some(f) = from_cpal(c.sample_format()) else { continue };
        if !info.formats.contains(&f) {
            info.formats.push(f);
        }
        let r = (c.min_sample_rate(), c.max_sample_rate());
        if !info.rates.contains(&r) {
            info.rates.push(r);
        }
        info.max_channels = info.max_channels.max(c.channels());
    }
    info.formats.sort_by_key(|f| format_rank(*f));
    info.rates.sort_unstable();
}

/// What a device accepts, in words: `it takes i16 i32 at 44100, 48000 Hz with up to 8 channels`.
pub(super) fn accepts_text(configs: &[cpal::SupportedStreamConfigRange]) -> String {
    let mut info = DeviceInfo {
        id: String::new(),
        description: String::new(),
        formats: Vec::new(),
        rates: Vec::new(),
        max_channels: 0,
        problem: None,
    };
    fold(&mut info, configs.iter().copied());
    if info.formats.is_empty() {
        return "it takes none of i16, i24, i32, f32".into();
    }
    format!("it takes {} at {} with up to {} channels", info.format_names(), info.rate_text(), info.max_channels)
}

fn format_rank(f: SampleFormat) -> u8 {
    match f {
        SampleFormat::I16 => 0,
        SampleFormat::I24 => 1,
        SampleFormat::I32 => 2,
        SampleFormat::F32 => 3,
    }
}

/// A cpal error in words for the operator.
pub(super) fn cpal_problem(e: &cpal::Error) -> String {
    use cpal::ErrorKind as K;
    let what = match e.kind() {
        K::DeviceBusy => "busy (another program, or another output of this station, is using it)",
        K::DeviceNotAvailable => "not available (unplugged?)",
        K::PermissionDenied => "permission denied (is the user in the `audio` group?)",
        K::UnsupportedConfig => "refuses this configuration",
        K::UnsupportedOperation => "cannot play audio",
        _ => "",
    };
    match (what.is_empty(), e.message()) {
        (true, _) => e.to_string(),
        (false, None) => what.to_owned(),
        (false, Some(msg)) => format!("{what}: {msg}"),
    }
}

/// The profile format for a cpal format, if a profile can name it.
pub(super) fn from_cpal(f: cpal::SampleFormat) -> Option<SampleFormat> {
    match f {
        cpal::SampleFormat::I16 => Some(SampleFormat::I16),
        cpal::SampleFormat::I24 => Some(SampleFormat::I24),
        cpal::SampleFormat::I32 => Some(SampleFormat::I32),
        cpal::SampleFormat::F32 => Some(SampleFormat::F32),
        _ => None,
    }
}

/// The cpal format for a profile format.
pub(super) fn to_cpal(f: SampleFormat) -> cpal::SampleFormat {
    match f {
        SampleFormat::I16 => cpal::SampleFormat::I16,
        SampleFormat::I24 => cpal::SampleFormat::I24,
        SampleFormat::I32 => cpal::SampleFormat::I32,
        SampleFormat::F32 => cpal::SampleFormat::F32,
    }
}

/// Finds the output device a profile names: `host:device` as cpal prints ids (`alsa:NAME`), or a
/// bare name for the default host (`hw:CARD=PCH,DEV=0`, `default`). Returns the device and its
/// canonical id.
pub(super) fn find_output(output: &str, id: &str) -> Result<(cpal::Device, String), OutputError> {
    let wanted: cpal::DeviceId = match id.parse() {
        Ok(parsed) => parsed,
        // Not `host:device` with a host cpal knows: a name on the default host (ALSA on Linux).
        Err(_) => cpal::DeviceId::new(cpal::default_host().id(), id),
    };
    let host = cpal::host_from_id(wanted.host())
        .map_err(|e| OutputError::Sound { context: format!("output `{output}`"), message: e.to_string() })?;
    let found = host.device_by_id(&wanted).or_else(|| {
        // The default device is not always among the enumerated ones (ALSA lists hints only).
        host.default_output_device().filter(|d| d.id().is_ok_and(|x| x == wanted))
    });
    match found {
        Some(d) => {
            let canonical = d.id().map_or_else(|_| wanted.to_string(), |x| x.to_string());
            Ok((d, canonical))
        }
        None => {
            let available = output_devices(&host)
                .unwrap_or_default()
                .iter()
                .filter_map(|d| d.id().ok().map(|x| x.to_string()))
                .collect();
            Err(OutputError::DeviceNotFound { output: output.to_owned(), id: id.to_owned(), available })
        }
    }
}
