//! `xiangyin serve` as a process for the tests that attack it: start it with any arguments and
//! environment, talk HTTP to the address it printed, read its as-run log, stop it.
//!
//! Include it with `#[path = "common/daemon.rs"] mod daemon;` beside `mod common;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A running `xiangyin serve` (killed when dropped).
pub struct Daemon {
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub stderr: PathBuf,
    /// The one-time setup link, when serve printed one.
    pub setup: Option<String>,
}

/// How to start one.
pub struct Start<'a> {
    pub root: &'a Path,
    pub state: Option<&'a Path>,
    pub profile: &'a str,
    pub env: Vec<(&'a str, String)>,
    /// Wrap the command: `sh -c "<prefix> exec xiangyin …"` (e.g. `ulimit -n 1024;`).
    pub shell_prefix: Option<&'a str>,
    pub extra: Vec<&'a str>,
    /// Name of the log file under the root.
    pub log: &'a str,
}

impl<'a> Start<'a> {
    pub fn new(root: &'a Path, profile: &'a str) -> Self {
        Start { root, state: None, profile, env: Vec::new(), shell_prefix: None, extra: Vec::new(), log: "serve.log" }
    }
}

impl Daemon {
    pub fn start(s: Start<'_>) -> Daemon {
        let stderr = s.root.join(s.log);
        // `XY_SERVE_BIN` runs another build (an older one, to see a test fail before its fix).
        let bin_override = std::env::var("XY_SERVE_BIN").ok();
        let bin = bin_override.as_deref().unwrap_or(env!("CARGO_BIN_EXE_xiangyin"));
        let mut args: Vec<String> = vec!["--root".into(), s.root.display().to_string()];
        if let Some(st) = s.state {
            args.extend(["--state".into(), st.display().to_string()]);
        }
        args.extend(["serve", "--profile", s.profile, "--listen", "127.0.0.1:0"].map(String::from));
        args.extend(s.extra.iter().map(|a| a.to_string()));
        let mut cmd = match s.shell_prefix {
            Some(prefix) => {
                let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
                let mut c = Command::new("sh");
                c.arg("-c").arg(format!("{prefix} exec '{bin}' {}", quoted.join(" ")));
                c
            }
            None => {
                let mut c = Command::new(bin);
                c.args(&args);
                c
            }
        };
        cmd.env("RUST_LOG", "info,tokio_cron_scheduler=warn");
        for (k, v) in &s.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("run xiangyin serve");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("xiangyin: serving on http://").and_then(|a| a.strip_suffix('/'));
        let Some(addr) = addr.map(str::to_owned) else {
            let _ = child.kill();
            panic!("serve did not start: {line:?}\n{}", std::fs::read_to_string(&stderr).unwrap_or_default());
        };
        // The setup link comes next when there are no users; then keep reading, as a terminal would.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut l = String::new();
            while out.read_line(&mut l).unwrap_or(0) > 0 {
                if let Some(i) = l.find("http://") {
                    let _ = tx.send(l[i..].trim().to_owned());
                }
                l.clear();
            }
        });
        let setup = rx.recv_timeout(Duration::from_millis(500)).ok();
        Daemon { child, addr, stderr, setup }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig}");
    }

    pub fn kill9(mut self) {
        self.signal("-KILL");
        self.child.wait().unwrap();
    }

    /// SIGTERM; waits up to 20 s for the exit.
    pub fn term(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "serve did not stop within 20 s of SIGTERM:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET /healthz`: (status, JSON).
    pub fn health(&self) -> (u16, serde_json::Value) {
        let r = client().get(self.url("/healthz")).send().expect("healthz answers");
        (r.status().as_u16(), r.json().expect("healthz is JSON"))
    }

    /// Waits up to `timeout` for `/healthz` to satisfy `want`; returns the last JSON.
    pub fn wait_health(
        &self,
        timeout: Duration,
        what: &str,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (_, v) = self.health();
            if want(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "no {what} within {timeout:?}: {v}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Logs in as the first admin through the setup link: a client holding the session cookie,
    /// and the CSRF token.
    pub fn first_admin(&self, name: &str, password: &str) -> (reqwest::blocking::Client, String) {
        let link = self.setup.clone().expect("a setup link");
        let token = link.split("token=").nth(1).unwrap().to_owned();
        let c =
            reqwest::blocking::Client::builder().cookie_store(true).timeout(Duration::from_secs(20)).build().unwrap();
        let r = c
            .post(self.url("/api/setup"))
            .json(&serde_json::json!({"token": token, "name": name, "password": password}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "setup: {}", r.text().unwrap_or_default());
        let v: serde_json::Value = r.json().unwrap();
        (c, v["csrf"].as_str().unwrap().to_owned())
    }

    /// Logs in with a password: a client holding the session cookie, and the CSRF token.
    pub fn login(&self, name: &str, password: &str) -> Result<(reqwest::blocking::Client, String), (u16, String)> {
        let c =
            reqwest::blocking::Client::builder().cookie_store(true).timeout(Duration::from_secs(20)).build().unwrap();
        let r = c
            .post(self.url("/api/session"))
            .json(&serde_json::json!({"name": name, "password": password}))
            .send()
            .map_err(|e| (0, e.to_string()))?;
        let code = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        if code != 200 {
            return Err((code, text));
        }
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        Ok((c, v["csrf"].as_str().unwrap().to_owned()))
    }

    /// The metric `name` (a line `name VALUE` or `name{labels} VALUE` whose start is `name`).
    pub fn metric(&self, name: &str) -> Option<f64> {
        let text = client().get(self.url("/metrics")).send().ok()?.text().ok()?;
        text.lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client with a 20 s timeout.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

/// One as-run row, from `xiangyin log --csv`.
#[derive(Debug, Clone)]
pub struct Row {
    pub cue: String,
    pub village: String,
    pub clip: String,
    pub priority: String,
    pub slot: String,
    pub scheduled: DateTime<Utc>,
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    pub late_ms: Option<u64>,
    pub outcome: String,
    pub detail: String,
}

/// The as-run log of the station at `root` (state in `state`, or `root/var`).
pub fn rows(root: &Path, state: Option<&Path>) -> Vec<Row> {
    let mut args = vec!["log", "--csv"];
    let st;
    if let Some(s) = state {
        st = s.display().to_string();
        args = vec!["--state", st.as_str(), "log", "--csv"];
    }
    let o = super::common::xiangyin(root, &args);
    assert!(o.status.success(), "log: {}{}", super::common::stdout(&o), super::common::stderr(&o));
    let time = |s: &str| (!s.is_empty()).then(|| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
    super::common::csv_records(&super::common::stdout(&o))
        .into_iter()
        .map(|r| {
            let g = |k: &str| r.get(k).cloned().unwrap_or_default();
            Row {
                cue: g("cue"),
                village: g("village"),
                clip: g("clip"),
                priority: g("priority"),
                slot: g("slot"),
                scheduled: time(&g("scheduled")).unwrap(),
                started: time(&g("started")),
                ended: time(&g("ended")),
                late_ms: g("late_ms").parse().ok(),
                outcome: g("outcome"),
                detail: g("detail"),
            }
        })
        .collect()
}

/// A station folder: the demo content without quiet hours (tests run at any hour), without the
/// demo's schedules, with `schedule` as `schedules/test.yaml`.
pub fn station(schedule: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    super::common::copy_demo_awake(dir.path());
    for f in ["morning.yaml", "campaigns.yaml"] {
        std::fs::remove_file(dir.path().join("schedules").join(f)).unwrap();
    }
    std::fs::write(dir.path().join("schedules/test.yaml"), schedule).unwrap();
    dir
}

/// A tmpfs of `mb` MiB mounted on a new folder (the test runs as root); unmounted when dropped.
pub struct SmallDisk {
    pub dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(mb: u64) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs", dir.path().to_str().unwrap()])
            .status()
            .expect("run mount");
        assert!(ok.success(), "mounting a {mb} MiB tmpfs needs root (the tests run as root, as CI does)");
        SmallDisk { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk with one file until it is full; returns the file.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0x5a_u8; 1 << 20];
        loop {
            match f.write_all(&block) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        // Whatever room was left below a block.
        let mut small = vec![0x5a_u8; 4096];
        while f.write_all(&small).is_ok() {}
        small.truncate(1);
        while f.write_all(&small).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}
