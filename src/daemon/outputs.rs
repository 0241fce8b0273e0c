//! Opening the station's outputs, and the fallback when its sound card is missing.

use anyhow::{Context, bail};
use chrono::Utc;

use crate::commands::Paths;
use crate::config::{self, Plan};
use crate::library::{ClipMeta, catalog_of};
use crate::output::{self, Sink};

/// Each run records to its own files (`recordings/serve-20261129T070000-rec.wav`): a restart
/// never overwrites what an earlier run recorded, not even one within the same second
/// (`serve-20261129T070000-2-rec.wav`).
pub(super) fn run_name(recordings: &std::path::Path, base: &str) -> String {
    let taken = |run: &str| {
        std::fs::read_dir(recordings)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(&format!("{run}-"))))
    };
    std::iter::once(base.to_owned()).chain((2..).map(|n| format!("{base}-{n}"))).find(|r| !taken(r)).unwrap_or_default()
}

/// Opens every output of the plan's profile. When a sound device is missing at start, says so
/// loudly and falls back to the `virtual` profile (every zone recorded to WAV under the state
/// folder), so the station still runs and keeps its log.
/// Returns the plan actually played, its sinks, and why it fell back (if it did).
#[allow(clippy::type_complexity)]
pub(super) fn open_outputs(
    paths: &Paths,
    plan: Plan,
    clips: &[ClipMeta],
) -> anyhow::Result<(Plan, Vec<Box<dyn Sink>>, Option<crate::domain::Text>)> {
    let start = Utc::now().with_timezone(&plan.station.timezone);
    let run = run_name(&paths.state.join("recordings"), &start.format("serve-%Y%m%dT%H%M%S").to_string());
    let run = run.as_str();
    let mut sinks = Vec::new();
    let mut failure = None;
    for spec in &plan.profile.outputs {
        match output::open(spec, &paths.state, run, start) {
            // A device sink opens degraded when its card is missing (it would retry in the
            // background): at start, that means the profile does not fit this machine. A
            // recorder that cannot record yet (a full disk) is no reason to fall back: it says
            // so in health and records when there is room.
            Ok(s) => match s.health() {
                output::Health::Degraded { reason, .. } if s.is_realtime() => {
                    failure = Some(format!("output `{}`: {reason}", spec.name));
                    break;
                }
                _ => sinks.push(s),
            },
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let Some(e) = failure else {
        if plan.profile.outputs.iter().all(|o| !matches!(o.kind, config::OutputKind::Device { .. })) {
            tracing::warn!(
                "profile `{}` has no sound card: every zone is recorded to WAV under {}",
                plan.profile.name,
                paths.state.join("recordings").display()
            );
        }
        return Ok((plan, sinks, None));
    };
    if plan.profile.name == "virtual" {
        bail!("the virtual profile's outputs cannot be opened: {e}");
    }
    drop(sinks);
    tracing::error!("!!! {e}");
    tracing::error!(
        "!!! NO SOUND CARD: profile `{}` cannot play; falling back to the `virtual` profile — villages hear \
         NOTHING; every zone is recorded to WAV under {} instead",
        plan.profile.name,
        paths.state.join("recordings").display()
    );
    let virt = config::load(&paths.layout, Some("virtual"), &catalog_of(clips))
        .map_err(|p| anyhow::anyhow!("the sound card is missing and the virtual profile cannot be used:\n{p}"))?;
    let mut sinks = Vec::new();
    for spec in &virt.profile.outputs {
        sinks.push(output::open(spec, &paths.state, run, start).context("opening the virtual profile")?);
    }
    let zh = match e.split_once("no sound device ") {
        Some((_, rest)) => {
            let id = rest.split(';').next().unwrap_or(rest);
            format!("硬件配置 `{}` 的声卡 {id} 不在这台电脑上：只录音", plan.profile.name)
        }
        None => format!("硬件配置 `{}` 的声卡用不了（{}）：只录音", plan.profile.name, crate::output::reason_zh(&e)),
    };
    Ok((
        virt,
        sinks,
        Some(crate::domain::Text::new(
            format!("no sound card for profile `{}` ({e}): recording to WAV", plan.profile.name),
            zh,
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_within_the_same_second_records_to_new_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(run_name(dir.path(), "serve-20261204T070000"), "serve-20261204T070000");
        std::fs::write(dir.path().join("serve-20261204T070000-rec.wav"), b"").unwrap();
        assert_eq!(run_name(dir.path(), "serve-20261204T070000"), "serve-20261204T070000-2");
        std::fs::write(dir.path().join("serve-20261204T070000-2-rec.wav"), b"").unwrap();
        assert_eq!(run_name(dir.path(), "serve-20261204T070000"), "serve-20261204T070000-3");
    }
}
