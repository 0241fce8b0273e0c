//! Configuration: the YAML files of `schedules/` and `hardware-profiles/`, read, checked and turned
//! into the types of [`model`]. Every problem is reported as `file:line:col: message`, and all of
//! them are reported in one pass. This module reads configuration files and nothing else.

mod check_line;
mod check_profile;
mod check_schedule;
mod check_station;
mod files;
mod model;
mod problem;
pub mod write;
pub mod yaml;

use std::path::{Path, PathBuf};

use crate::domain::Text;

pub use model::*;
pub use problem::{Problem, Problems};

/// Where the content folders are.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The station root (holds `schedules/`, `hardware-profiles/`, `audio-library/`).
    pub root: PathBuf,
}

impl Layout {
    /// Name of the station settings file inside `schedules/`.
    pub const STATION: &'static str = "station.yaml";
    /// Name of the villages file inside `schedules/`.
    pub const VILLAGES: &'static str = "villages.yaml";
    /// Name of the (optional) holiday calendar inside `schedules/`.
    pub const HOLIDAYS: &'static str = "holidays.yaml";

    /// A layout rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// `ROOT/schedules`.
    pub fn schedules(&self) -> PathBuf {
        self.root.join("schedules")
    }
    /// `ROOT/hardware-profiles`.
    pub fn profiles(&self) -> PathBuf {
        self.root.join("hardware-profiles")
    }
    /// `ROOT/audio-library`.
    pub fn library(&self) -> PathBuf {
        self.root.join("audio-library")
    }
    /// `ROOT/hardware-profiles/NAME.yaml`.
    pub fn profile(&self, name: &str) -> PathBuf {
        self.profiles().join(format!("{name}.yaml"))
    }

    /// `path` as people should see it: relative to the root when it is inside.
    pub fn shown(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root).map(Path::to_path_buf).unwrap_or_else(|_| path.to_owned())
    }

    /// The schedule files: every `*.yaml` / `*.yml` in `schedules/` except the station and villages
    /// files, sorted by name.
    pub fn schedule_files(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.schedules())? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let is_yaml = name.ends_with(".yaml") || name.ends_with(".yml");
            let reserved = [Self::STATION, Self::VILLAGES, Self::HOLIDAYS];
            if is_yaml && !name.starts_with('.') && !reserved.contains(&name) {
                out.push(path);
            }
        }
        out.sort();
        Ok(out)
    }

    /// The profile names: stems of `hardware-profiles/*.yaml`, sorted.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.profiles())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                (p.extension()? == "yaml").then(|| p.file_stem()?.to_str().map(str::to_owned))?
            })
            .collect();
        names.sort();
        names
    }
}

/// Reads a file for checking; a missing or unreadable file is a problem at 1:1.
fn read(layout: &Layout, path: &Path) -> Result<String, Problem> {
    std::fs::read_to_string(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => Text::new("the file does not exist", "文件不存在"),
            std::io::ErrorKind::InvalidData => Text::new("the file is not UTF-8 text", "文件不是 UTF-8 文本"),
            // The system's own wording cannot be translated; say what failed around it.
            _ => Text::new(e.to_string(), format!("读不了这个文件：{e}")),
        };
        Problem::whole_file(&layout.shown(path), why)
    })
}

/// Reads and checks `schedules/station.yaml` alone (what `import` needs).
pub fn load_station(layout: &Layout) -> Result<Station, Problems> {
    let path = layout.schedules().join(Layout::STATION);
    let shown = layout.shown(&path);
    let text = read(layout, &path).map_err(|p| Problems(vec![p]))?;
    let mut problems = Problems::default();
    let station = check_station::station(&shown, &text, &mut problems);
    match station {
        Some(s) if problems.is_empty() => Ok(s),
        _ => Err(problems.sorted()),
    }
}

/// Reads and checks everything: station, villages, schedules, and the hardware profile `profile`
/// (or the station's default profile), resolving messages against `catalog`.
///
/// Returns every problem found; a file that cannot be parsed stops only the checks that depend on it.
pub fn load(layout: &Layout, profile: Option<&str>, catalog: &Catalog) -> Result<Plan, Problems> {
    let mut problems = Problems::default();

    let station_path = layout.schedules().join(Layout::STATION);
    let (station, named_profile) = match read(layout, &station_path) {
        Ok(text) => {
            let station = check_station::station(&layout.shown(&station_path), &text, &mut problems);
            // A station.yaml with a mistake elsewhere still says which profile it means, so the
            // villages are checked against that wiring, not another's.
            let named = serde_yaml::from_str::<serde_yaml::Value>(&text)
                .ok()
                .and_then(|v| v.get("hardware_profile")?.as_str().map(str::to_owned))
                .filter(|p| !p.is_empty() && !p.contains(['/', '\\']));
            (station, named)
        }
        Err(p) => {
            problems.push(p);
            (None, None)
        }
    };

    let profile_name = profile
        .map(str::to_owned)
        .or_else(|| station.as_ref().map(|s| s.hardware_profile.clone()))
        .or(named_profile)
        .unwrap_or_else(|| "default".to_owned());
    let profile_path = layout.profile(&profile_name);
    let profile = if profile_path.exists() {
        match read(layout, &profile_path) {
            Ok(text) => check_profile::profile(&profile_name, &layout.shown(&profile_path), &text, &mut problems),
            Err(p) => {
                problems.push(p);
                None
            }
        }
    } else {
        let known = layout.profile_names();
        problems.push(Problem::whole_file(
            &layout.shown(&profile_path),
            (
                format!("no hardware profile named `{profile_name}` (known: {})", known.join(", ")),
                format!("没有叫 `{profile_name}` 的硬件配置（已有：{}）", known.join("、")),
            ),
        ));
        None
    };

    let villages_path = layout.schedules().join(Layout::VILLAGES);
    let villages = match read(layout, &villages_path) {
        Ok(text) => check_station::villages(
            &layout.shown(&villages_path),
            &text,
            station.as_ref(),
            profile.as_ref(),
            &mut problems,
        ),
        Err(p) => {
            problems.push(p);
            None
        }
    };

    let holidays_path = layout.schedules().join(Layout::HOLIDAYS);
    let calendar = if holidays_path.exists() {
        match read(layout, &holidays_path) {
            Ok(text) => check_station::calendar(&layout.shown(&holidays_path), &text, &mut problems),
            Err(p) => {
                problems.push(p);
                Calendar::default()
            }
        }
    } else {
        Calendar::default()
    };

    let mut schedule = check_schedule::Schedule::default();
    match layout.schedule_files() {
        Ok(files) => {
            for path in files {
                match read(layout, &path) {
                    Ok(text) => schedule.add_file(&layout.shown(&path), &text, &mut problems),
                    Err(p) => problems.push(p),
                }
            }
        }
        Err(e) => problems.push(Problem::whole_file(
            &layout.shown(&layout.schedules()),
            (e.to_string(), format!("读不了这个文件夹：{e}")),
        )),
    }
    let ctx = check_schedule::Context { station: station.as_ref(), villages: villages.as_deref(), catalog };
    let (playlists, slots) = schedule.resolve(&ctx, &mut problems);

    match (station, villages, profile) {
        (Some(station), Some(villages), Some(profile)) if problems.is_empty() => {
            Ok(Plan { station, villages, playlists, slots, profile, calendar })
        }
        _ => Err(problems.sorted()),
    }
}
