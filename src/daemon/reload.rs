//! Reloads (SIGHUP and file changes) and the slot wake-ups that follow the plan.

use std::path::PathBuf;

use chrono::Utc;
use notify::Watcher;
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};
use uuid::Uuid;

use super::{Shared, lock};
use crate::commands::Paths;
use crate::config;
use crate::library::catalog_of;
use crate::station::Concern;

/// One wake-up job per slot at its cron, in the station's time zone. The tick has planned the
/// firing a minute ahead and the engine starts it to the sample; the wake-up makes sure nothing
/// waits for the next tick and says in the log that the slot fired.
pub(super) async fn add_slot_jobs(sched: &JobScheduler, station: &Shared) -> Vec<Uuid> {
    let (tz, slots): (_, Vec<(String, String)>) = {
        let s = lock(station);
        let p = s.plan();
        (p.station.timezone, p.slots.iter().map(|s| (s.name.clone(), s.cron.as_str().to_owned())).collect())
    };
    let mut ids = Vec::new();
    for (name, cron) in slots {
        // tokio-cron-scheduler wants seconds; people write 5 fields.
        let six = if cron.split_whitespace().count() == 5 { format!("0 {cron}") } else { cron.clone() };
        let station = station.clone();
        let job = Job::new_async_tz(six.as_str(), tz, move |_, _| {
            let station = station.clone();
            let name = name.clone();
            Box::pin(async move {
                let mut s = lock(&station);
                if let Err(e) = s.tick(Utc::now()) {
                    tracing::error!("planning: {e}");
                }
                tracing::info!(slot = %name, on_air = s.on_air_count(), "slot fired");
            })
        });
        match job {
            Ok(job) => match sched.add(job).await {
                Ok(id) => ids.push(id),
                Err(e) => tracing::warn!("slot wake-up `{cron}`: {e}"),
            },
            // The station's own scheduler still plans the slot; only the wake-up is lost.
            Err(e) => tracing::warn!("slot wake-up for `{cron}` not registered: {e}"),
        }
    }
    ids
}

/// Re-reads and checks everything; on success the station switches plans for firings not yet
/// planned, on failure every problem is logged with file:line:col and the last good plan keeps
/// running. Returns true when the plan changed.
pub(super) fn reload(paths: &Paths, station: &Shared, why: &str) -> bool {
    let library = paths.library();
    let clips = match library.list() {
        Ok((c, _)) => c,
        Err(e) => {
            tracing::error!(
                "reload ({why}) refused: the clip library cannot be read: {e}; the last good plan keeps running"
            );
            let mut s = lock(station);
            s.count_reload(false);
            s.set_problem(
                Concern::Reload,
                Some((
                    format!("the clip library cannot be read ({e}); the last good plan keeps playing"),
                    format!("音频库无法读取（{e}）；继续按上一次正确的安排播出"),
                )),
                Utc::now(),
            );
            return false;
        }
    };
    let profile = lock(station).plan().profile.name.clone();
    match config::load(&paths.layout, Some(&profile), &catalog_of(&clips)) {
        Ok(plan) => {
            let mut s = lock(station);
            let summary =
                format!("{} villages, {} slots, {} clips", plan.villages.len(), plan.slots.len(), clips.len());
            s.set_plan(plan, &clips);
            s.count_reload(true);
            s.set_problem(Concern::Reload, None, Utc::now());
            tracing::info!("reloaded ({why}): {summary}");
            true
        }
        Err(problems) => {
            for p in &problems.0 {
                tracing::error!("{p}");
            }
            tracing::error!(
                "reload ({why}) refused: {} problem(s) above; the last good plan keeps running",
                problems.0.len()
            );
            let mut s = lock(station);
            s.count_reload(false);
            let first = problems.0.first().map(ToString::to_string).unwrap_or_default();
            let first_zh = problems
                .0
                .first()
                .map(|p| format!("{}:{}:{}：{}", p.file.display(), p.line, p.col, p.message_zh))
                .unwrap_or_default();
            let more = problems.0.len().saturating_sub(1);
            let (en_more, zh_more) = if more > 0 {
                (format!(" (and {more} more)"), format!("（另有 {more} 处）"))
            } else {
                (String::new(), String::new())
            };
            s.set_problem(
                Concern::Reload,
                Some((
                    format!("an edit was refused, the last good plan keeps playing: {first}{en_more}"),
                    format!("修改未生效，继续按上一次正确的安排播出：{first_zh}{zh_more}"),
                )),
                Utc::now(),
            );
            false
        }
    }
}

/// Watches the content folders; every change asks for a reload. Returns the watcher (dropping it
/// stops watching), or `None` when the system cannot watch (SIGHUP still works).
pub(super) fn watch(paths: &Paths, tx: mpsc::UnboundedSender<&'static str>) -> Option<notify::RecommendedWatcher> {
    let dirs: Vec<PathBuf> = [paths.layout.schedules(), paths.layout.profiles(), paths.layout.library()]
        .into_iter()
        .filter(|d| d.is_dir())
        .collect();
    let roots = dirs.clone();
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Work in progress happens in dot files and folders (an import's stage, an atomic
        // write's temporary file): only what lands under a real name is a change.
        let hidden = |p: &std::path::Path| {
            let rel = roots.iter().find_map(|r| p.strip_prefix(r).ok()).unwrap_or(p);
            rel.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
        };
        if let Ok(ev) = res
            && !matches!(ev.kind, notify::EventKind::Access(_))
            && (ev.paths.is_empty() || !ev.paths.iter().all(|p| hidden(p)))
        {
            let _ = tx.send("files changed");
        }
    })
    .map_err(|e| tracing::warn!("cannot watch the content folders ({e}); reload with SIGHUP"))
    .ok()?;
    for d in &dirs {
        if let Err(e) = w.watch(d, notify::RecursiveMode::Recursive) {
            tracing::warn!("cannot watch {} ({e}); reload with SIGHUP", d.display());
        }
    }
    Some(w)
}
