//! End to end in a real browser: headless Chromium as a 360-px-wide phone, driven through
//! chromedriver, against the real `xiangyin serve` on a copy of the demo station (virtual profile).
//!
//! What county staff would do, checked here in both languages:
//! - Chinese (the default): create the first admin with the one-time link `serve` prints; upload a
//!   generated recording and watch the progress bar finish with the measured loudness; approve it;
//!   put it on 东门村's own playlist with a play time and save it without problems; broadcast it now
//!   and find it in the as-run log (the page, and `xiangyin log --csv` with priority `manual`);
//! - English: switch language on the setup page, add an operator on the users page, log out, log in
//!   as the operator, start an emergency broadcast to every village behind its confirmation, stop
//!   it, and find the emergency rows in the as-run log;
//! - every page fits the phone: no horizontal scrolling at 360 px, and no error in the console;
//! - a screenshot of every page in both languages lands in `target/browser-screenshots/`.
//!
//! The browser speaks the W3C WebDriver protocol: a few JSON calls over plain HTTP (reqwest).
//! fantoccini without its TLS features needs a hyper connector type from `hyper-util`, which this
//! package does not depend on directly, so these tests talk to chromedriver themselves.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

/// One browser at a time: two Chromiums on a 2-core CI machine make both tests slow and flaky.
static SERIAL: Mutex<()> = Mutex::new(());

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "chromedriver";
/// The phone's width in CSS pixels.
const PHONE_WIDTH: i64 = 360;
/// How often waits look again, and how long they wait.
const POLL: Duration = Duration::from_millis(100);
const WAIT: Duration = Duration::from_secs(15);
/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the screenshots go: `target/browser-screenshots/`.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target/tmp has a parent").join("browser-screenshots")
}

/// `program` as found on PATH (or as given, when it is a path that exists).
fn on_path(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).exists().then(|| program.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(program)).find(|p| p.is_file())
}

/// The last `n` lines of a text file (for failure messages).
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A running `xiangyin serve` on a temporary copy of the demo station, killed on drop.
struct Serve {
    child: Child,
    root: tempfile::TempDir,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    url: String,
    /// The one-time link that creates the first admin.
    setup_link: String,
    log: PathBuf,
}

impl Serve {
    fn start() -> Serve {
        let root = tempfile::tempdir().unwrap();
        for sub in ["schedules", "hardware-profiles", "audio-library"] {
            common::copy_dir(&common::repo().join(sub), &root.path().join(sub));
        }
        let log = root.path().join("serve.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_xiangyin"))
            .arg("--root")
            .arg(root.path())
            .args(["serve", "--profile", "virtual", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info,tokio_cron_scheduler=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start xiangyin serve");
        // Lines of stdout arrive on a channel; the thread keeps draining so serve never writes
        // into a closed pipe.
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut next_line = |secs| match rx.recv_timeout(Duration::from_secs(secs)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("`xiangyin serve` printed no line within {secs} s:\n{}", tail(&log, 40))
            }
        };
        let first = next_line(60);
        let url = first
            .strip_prefix("xiangyin: serving on ")
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| panic!("serve did not start: {first:?}\n{}", tail(&log, 40)));
        let second = next_line(10);
        let setup_link = second
            .split_once("create the first admin: ")
            .map(|(_, link)| link.trim().to_owned())
            .unwrap_or_else(|| panic!("serve printed no first-admin link: {second:?}"));
        Serve { child, root, url, setup_link, log }
    }

    fn root(&self) -> &Path {
        self.root.path()
    }

    /// The as-run log as `xiangyin log --csv` prints it: one map per row, by column name.
    fn log_rows(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        let o = common::xiangyin(self.root(), &["log", "--csv"]);
        assert!(o.status.success(), "xiangyin log --csv: {}", common::stderr(&o));
        let text = common::stdout(&o);
        let mut lines = text.lines();
        let head: Vec<String> = lines.next().unwrap_or_default().split(',').map(str::to_owned).collect();
        lines.map(|l| head.iter().cloned().zip(l.splitn(head.len(), ',').map(str::to_owned)).collect()).collect()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Chromium session through its own chromedriver; closed, and chromedriver killed, on drop.
struct Browser {
    http: reqwest::blocking::Client,
    driver: Child,
    /// `http://127.0.0.1:PORT/session/ID`.
    session: String,
    /// The site under test (no trailing slash).
    site: String,
    /// `zh` or `en`: the screenshots' prefix and the language pages must be in.
    lang: &'static str,
    serve_log: PathBuf,
    driver_log: PathBuf,
    shots: Vec<PathBuf>,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start(serve: &Serve, lang: &'static str) -> Browser {
        let driver_path = on_path(CHROMEDRIVER);
        if !Path::new(CHROMIUM).exists() || driver_path.is_none() {
            panic!(
                "The browser tests need Chromium ({CHROMIUM}) and chromedriver on PATH, and {} missing: `make test` \
                 installs them (Debian packages chromium and chromium-driver).",
                match (Path::new(CHROMIUM).exists(), driver_path.is_some()) {
                    (false, false) => "both are",
                    (false, true) => "Chromium is",
                    _ => "chromedriver is",
                }
            );
        }
        let profile = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver_log = profile.path().join("chromedriver.log");
        let log_file = std::fs::File::create(&driver_log).unwrap();
        let mut driver = Command::new(driver_path.unwrap())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = http.get(format!("{base}/status")).send().ok().and_then(|r| r.json::<Value>().ok());
            if ready.is_some_and(|v| v["value"]["ready"] == true) {
                break;
            }
            if let Ok(Some(status)) = driver.try_wait() {
                panic!("chromedriver stopped at once ({status}):\n{}", tail(&driver_log, 40));
            }
            if Instant::now() > deadline {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver did not answer on port {port} within 15 s:\n{}", tail(&driver_log, 40));
            }
            std::thread::sleep(POLL);
        }
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--user-data-dir={}", profile.path().join("chromium").display()),
            format!("--window-size={PHONE_WIDTH},800"),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            // Chromium keeps a desktop window at least 500 px wide: the phone is emulated as well.
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args, "mobileEmulation": {
                "deviceMetrics": { "width": PHONE_WIDTH, "height": 800, "pixelRatio": 1.0, "mobile": true, "touch": true },
            }},
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let answer: Value = match http.post(format!("{base}/session")).json(&caps).send().and_then(|r| r.json()) {
            Ok(v) => v,
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("chromedriver did not open a session: {e}\n{}", tail(&driver_log, 40));
            }
        };
        let Some(id) = answer["value"]["sessionId"].as_str() else {
            let _ = driver.kill();
            let _ = driver.wait();
            panic!("Chromium did not start: {}\n{}", answer["value"]["message"], tail(&driver_log, 40));
        };
        std::fs::create_dir_all(screenshot_dir()).unwrap();
        // Fresh screenshots for this language (a failed run's leftovers go too).
        for entry in std::fs::read_dir(screenshot_dir()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{lang}-")) || name.starts_with(&format!("FAILED-{lang}-")) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Browser {
            http,
            driver,
            session: format!("{base}/session/{id}"),
            site: serve.url.clone(),
            lang,
            serve_log: serve.log.clone(),
            driver_log,
            shots: Vec::new(),
            _profile: profile,
        }
    }

    /* ------------------------------------------------------------ the protocol */

    /// One WebDriver command: its `value`, or the driver's error as `error: message`.
    fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().map_err(|e| format!("webdriver request {path}: {e}"))?;
        let ok = res.status().is_success();
        let v: Value = res.json().map_err(|e| format!("webdriver answer to {path}: {e}"))?;
        if ok {
            Ok(v["value"].clone())
        } else {
            let msg = v["value"]["message"].as_str().unwrap_or("").lines().next().unwrap_or("").to_owned();
            Err(format!("{}: {msg}", v["value"]["error"].as_str().unwrap_or("error")))
        }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.call(Method::POST, path, Some(body)).unwrap_or_else(|e| self.fail(&format!("POST {path}: {e}")))
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    fn try_js(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call(Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    fn js(&self, script: &str) -> Value {
        self.try_js(script, json!([])).unwrap_or_else(|e| self.fail(&format!("script failed: {e}\n{script}")))
    }

    /// Polls `f` every 100 ms until it gives a value; fails after 15 s saying what it waited for.
    fn wait<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() > deadline {
                self.fail(&format!("waited {} s for {what}", WAIT.as_secs()));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until `script` returns something truthy (errors while a page loads count as not yet).
    fn wait_js(&self, what: &str, script: &str) -> Value {
        let mut last = String::new();
        let what = |last: &str| if last.is_empty() { what.to_owned() } else { format!("{what} (last error: {last})") };
        let deadline = Instant::now() + WAIT;
        loop {
            match self.try_js(script, json!([])) {
                Ok(v) if truthy(&v) => return v,
                Ok(_) => {}
                Err(e) => last = e,
            }
            if Instant::now() > deadline {
                self.fail(&format!("waited {} s for {}", WAIT.as_secs(), what(&last)));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The element `css` now, if there is one.
    fn find(&self, css: &str) -> Option<String> {
        match self.call(Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))) {
            Ok(v) => v[ELEMENT].as_str().map(str::to_owned),
            Err(e) if e.starts_with("no such element") => None,
            Err(e) => self.fail(&format!("looking for {css}: {e}")),
        }
    }

    /// Waits for the element `css` to be shown, and gives it.
    fn shown(&self, css: &str) -> String {
        self.wait(&format!("`{css}` to be shown"), || {
            let id = self.find(css)?;
            let shown = self.call(Method::GET, &format!("/element/{id}/displayed"), None).ok()?;
            (shown == true).then_some(id)
        })
    }

    /// Clicks `css` once it is shown (again while something covers it for a moment).
    fn click(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let id = self.shown(css);
            let last = match self.call(Method::POST, &format!("/element/{id}/click"), Some(json!({}))) {
                Ok(_) => return,
                Err(e) => e,
            };
            if Instant::now() > deadline {
                self.fail(&format!("could not click `{css}`: {last}"));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Clicks `css`, which leads to another page (or reloads this one), and waits for it to load.
    fn open(&self, css: &str) {
        self.js("window.xyOldPage = true; return true");
        self.click(css);
        self.wait_js(
            &format!("a new page after clicking `{css}`"),
            "return !window.xyOldPage && document.readyState === 'complete'",
        );
    }

    /// Types `text` into the field `css` (emptied first).
    fn fill(&self, css: &str, text: &str) {
        let id = self.shown(css);
        self.post(&format!("/element/{id}/clear"), json!({}));
        self.post(&format!("/element/{id}/value"), json!({ "text": text }));
    }

    /// Chooses the option `value` of the select `css` by clicking it, as a person would.
    fn choose(&self, css: &str, value: &str) {
        let option = format!("{css} option[value=\"{value}\"]");
        let id = self.wait(&format!("an option `{value}` in `{css}`"), || self.find(&option));
        self.post(&format!("/element/{id}/click"), json!({}));
        let now = self.try_js("return document.querySelector(arguments[0]).value", json!([css]));
        if now.as_ref().ok().and_then(Value::as_str) != Some(value) {
            self.fail(&format!("`{css}` shows {now:?} after choosing `{value}`"));
        }
    }

    fn text(&self, css: &str) -> String {
        let id = self.shown(css);
        let v = self.call(Method::GET, &format!("/element/{id}/text"), None);
        v.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// Opens `path` of the site (or a whole URL).
    fn goto(&self, path: &str) {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.site) };
        self.post("/url", json!({ "url": url }));
    }

    /* ------------------------------------------------------------ pages */

    /// Waits until the page `id` is shown in the test's language with every word of `words`,
    /// then checks that it fits the phone and that the console has no error.
    fn arrive(&self, id: &str, words: &[&str]) {
        let html_lang = if self.lang == "zh" { "zh-CN" } else { "en" };
        let script = format!(
            "return document.readyState === 'complete' && document.body && document.body.dataset.page === '{id}' \
             && document.documentElement.lang === '{html_lang}'"
        );
        self.wait_js(&format!("the page `{id}` in {html_lang}"), &script);
        for w in words {
            self.wait_js(
                &format!("the words {w:?} on the page `{id}`"),
                &format!("return document.body.innerText.includes({})", json!(w)),
            );
        }
        self.check_fits();
        self.check_console();
    }

    /// No horizontal scrolling on the phone: the page is no wider than its 360-px window.
    fn check_fits(&self) {
        let m = self.js("const d = document.documentElement; \
             return {sw: d.scrollWidth, cw: d.clientWidth, iw: window.innerWidth, bw: document.body.scrollWidth}");
        let n = |k: &str| m[k].as_i64().unwrap_or(i64::MAX);
        // (A page too wide for the phone also makes Chromium zoom out, so this comes first.)
        if n("sw") > PHONE_WIDTH || n("bw") > PHONE_WIDTH || n("sw") > n("cw") {
            let wide = self.js(&format!(
                "const out = []; for (const e of document.querySelectorAll('body *')) {{ \
                   const r = e.getBoundingClientRect(); \
                   if (r.right > {PHONE_WIDTH}.5 && out.length < 8) out.push(e.tagName.toLowerCase() \
                     + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? \
                     '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' right=' + Math.round(r.right)); }} \
                 return out.join('\\n')"
            ));
            self.fail(&format!(
                "the page needs horizontal scrolling on a {PHONE_WIDTH}-px phone: it is {} px wide; too wide:\n{}",
                n("sw").max(n("bw")),
                wide.as_str().unwrap_or("")
            ));
        }
        if n("cw") != PHONE_WIDTH || n("iw") != PHONE_WIDTH {
            self.fail(&format!(
                "the page is laid out {} px wide in a {} px window, not the phone's {PHONE_WIDTH}",
                n("cw"),
                n("iw")
            ));
        }
    }

    /// The console's errors since the last look (script errors, CSP refusals, failed loads).
    fn console_errors(&self) -> Vec<String> {
        let Ok(v) = self.call(Method::POST, "/se/log", Some(json!({ "type": "browser" }))) else { return Vec::new() };
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    fn check_console(&self) {
        let errors = self.console_errors();
        if !errors.is_empty() {
            self.fail(&format!("the console has errors:\n{}", errors.join("\n")));
        }
    }

    /// The page as a person sees it now, saved as `target/browser-screenshots/LANG-NAME.png` (the
    /// whole page, not only the window).
    fn shot(&mut self, name: &str) {
        self.check_fits();
        let path = screenshot_dir().join(format!("{}-{name}.png", self.lang));
        let png = self.png().unwrap_or_else(|e| self.fail(&format!("screenshot {name}: {e}")));
        std::fs::write(&path, png).unwrap();
        self.shots.push(path);
    }

    fn png(&self) -> Result<Vec<u8>, String> {
        let size = self.try_js(
            "return [document.documentElement.clientWidth, \
             Math.min(8000, Math.ceil(document.documentElement.scrollHeight))]",
            json!([]),
        )?;
        let params = json!({ "format": "png", "captureBeyondViewport": true,
            "clip": { "x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1 } });
        let data = match self.call(
            Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": "Page.captureScreenshot", "params": params })),
        ) {
            Ok(v) => v["data"].as_str().map(str::to_owned),
            Err(_) => None,
        };
        let data = match data {
            Some(d) => d,
            None => self.call(Method::GET, "/screenshot", None)?.as_str().unwrap_or("").to_owned(),
        };
        base64_decode(&data)
    }

    /// Fails the test with what was awaited, where the browser is, what `#main` says, the
    /// console, the station's log, and a screenshot.
    fn fail(&self, what: &str) -> ! {
        let url = self.call(Method::GET, "/url", None).map(|v| v.to_string()).unwrap_or_else(|e| e);
        let main = self
            .try_js(
                "const m = document.getElementById('main'); return m ? m.innerText : (document.body ? \
                 document.body.innerText : '')",
                json!([]),
            )
            .map(|v| v.as_str().unwrap_or("").chars().take(3000).collect::<String>())
            .unwrap_or_else(|e| format!("({e})"));
        let shot = screenshot_dir().join(format!("FAILED-{}-{}.png", self.lang, self.shots.len()));
        let saved = match self.png() {
            Ok(png) => {
                std::fs::write(&shot, png).map(|()| shot.display().to_string()).unwrap_or_else(|e| e.to_string())
            }
            Err(e) => format!("no screenshot: {e}"),
        };
        panic!(
            "{what}\n--- at {url}\n--- #main says:\n{main}\n--- screenshot: {saved}\n--- console:\n{}\n--- serve log \
             (last lines):\n{}\n--- chromedriver:\n{}",
            self.console_errors().join("\n"),
            tail(&self.serve_log, 25),
            tail(&self.driver_log, 10),
        );
    }

    /// Fails (as [`Browser::fail`] does) unless `ok`.
    fn ensure(&self, ok: bool, what: &str) {
        if !ok {
            self.fail(&format!("not so: {what}"));
        }
    }

    /// Fails (as [`Browser::fail`] does) unless `seen` is `expected`.
    fn same<A, B>(&self, seen: A, expected: B, what: &str)
    where
        A: PartialEq<B> + std::fmt::Debug,
        B: std::fmt::Debug,
    {
        if seen != expected {
            self.fail(&format!("{what}: expected {expected:?}, saw {seen:?}"));
        }
    }

    /// Prints the screenshots taken and checks each is a PNG file.
    fn report_shots(&self) {
        println!("screenshots ({}) in {}:", self.shots.len(), screenshot_dir().display());
        for p in &self.shots {
            let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("screenshot {}: {e}", p.display()));
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", p.display());
            println!("  {} ({} KB)", p.file_name().unwrap().to_string_lossy(), bytes.len() / 1024);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call(Method::DELETE, "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// Standard base64 (the screenshots' encoding).
fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("not base64: {:?}", char::from(c))),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if out.is_empty() { Err("an empty screenshot".into()) } else { Ok(out) }
}

/// A 3-second 440 Hz tone, as a WAV file the library will take.
fn tone(dir: &Path) -> PathBuf {
    let path = dir.join("test-tone.wav");
    common::write_wav(&path, &common::sine(440.0, 0.3, 48_000, 1, 3.0), 48_000, 1, 16, false);
    path
}

/// Chinese, the default: first admin, upload with progress and loudness, approval, a village's
/// playlist, broadcast now, and the as-run log (page and CLI); every page screenshotted.
#[test]
fn chinese_upload_approve_schedule_broadcast_and_log() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let started = Instant::now();
    let serve = Serve::start();
    let mut b = Browser::start(&serve, "zh");

    // Anonymous: the login page, then the one-time setup link.
    b.goto("/login");
    b.arrive("login", &["登录"]);
    b.shot("login");
    b.goto(&serve.setup_link);
    b.arrive("setup", &["创建第一个管理员"]);
    b.shot("setup");
    b.fill("#setup-name", "admin");
    b.fill("#setup-password", "correct horse battery");
    b.open("#setup-submit");

    // Logged in, on the dashboard: the eight demo villages.
    b.arrive("dashboard", &["各村广播", "东门村", "下贝村"]);
    b.same(b.text("#me-name"), "admin", "the logged-in name");
    let cards = b.js("return document.querySelectorAll('.village-card[data-village]').length");
    b.same(cards, 8, "village cards (the demo station has 8 villages)");
    b.shot("dashboard");

    // Upload a recording: the bar fills, the result shows the measured loudness.
    let title = "测试通知";
    let wav = tone(serve.root());
    b.open("a[data-nav=library]");
    b.arrive("library", &["录音库", "上传"]);
    let input = b.wait("the file input", || b.find("#upload-input"));
    b.post(&format!("/element/{input}/value"), json!({ "text": wav.to_str().unwrap() }));
    b.wait_js(
        "the chosen file's name",
        "return document.getElementById('upload-file-name').textContent.includes('test-tone.wav')",
    );
    b.fill("#upload-title", title);
    b.choose("#upload-language", "cmn");
    b.choose("#upload-kind", "notice");
    b.fill("#upload-message", "test-notice");
    b.fill("#upload-transcript", "这是一条测试通知。");
    // Every value the bar shows, as it changes (null: indeterminate while the loudness is measured).
    b.js("const p = document.getElementById('upload-progress'); window.xyProgress = []; \
         new MutationObserver(() => window.xyProgress.push(p.getAttribute('value'))) \
         .observe(p, {attributes: true, attributeFilter: ['value']}); return true");
    b.click("#upload-submit");
    let lufs = b.wait_js(
        "the progress bar to reach its end and the loudness to show",
        "const p = document.getElementById('upload-progress'); const l = document.querySelector('#upload-result .lufs'); \
         const e = document.querySelector('#upload-result .error'); if (e) return 'refused: ' + e.textContent; \
         return !p.hidden && p.hasAttribute('value') && p.value === p.max && l && l.textContent",
    );
    let lufs = lufs.as_str().unwrap_or("").to_owned();
    if lufs.starts_with("refused") {
        b.fail(&format!("the upload was {lufs}"));
    }
    let measured: f64 = lufs.trim_end_matches("LUFS").trim().parse().unwrap_or(f64::NAN);
    b.ensure(lufs.ends_with("LUFS") && (-40.0..0.0).contains(&measured), &format!("the loudness shown: {lufs:?}"));
    b.ensure(b.text("#upload-result").contains(title), "the result names the clip");
    let seen = b.js("return window.xyProgress");
    let seen: Vec<Option<&str>> = seen.as_array().into_iter().flatten().map(Value::as_str).collect();
    b.ensure(
        seen.first() == Some(&Some("0")) && seen.contains(&None) && seen.last() == Some(&Some("1")),
        &format!("the bar starts at 0, waits (indeterminate) while the station measures, and ends full: {seen:?}"),
    );
    b.shot("library-uploaded");

    // Approve it in the list.
    b.open("#upload-refresh");
    b.arrive("library", &[title]);
    let clip = b.js(&format!(
        "const li = [...document.querySelectorAll('#clip-list [data-clip-id]')].find(li => \
         li.querySelector('.clip-title').textContent === {}); return li && li.dataset.clipId",
        json!(title)
    ));
    let clip = clip.as_str().unwrap_or_else(|| b.fail("the new clip is not in the list")).to_owned();
    let li = format!("#clip-list [data-clip-id=\"{clip}\"]");
    let state = b.js(&format!("return document.querySelector('{li} .review-state').dataset.state"));
    b.same(state, "pending", "a new clip's review state");
    b.click(&format!("{li} .approve"));
    b.wait_js(
        "the clip to show approved",
        &format!(
            "return document.querySelector('{li} .review-state').dataset.state === 'approved' && \
             document.querySelector('{li} .clip-msg').textContent === '完成。'"
        ),
    );
    b.goto("/library?review=approved");
    b.arrive("library", &[title]);
    b.shot("library");

    // Put it on 东门村's own playlist with a play time, and save.
    b.goto("/villages/dongmen");
    b.arrive("village", &["东门村", "一天的安排"]);
    b.wait_js("the playlist editor to load", "return document.getElementById('playlist-file').textContent");
    b.choose("#playlist-choice", "test-notice");
    b.click("#playlist-add");
    b.shown("#playlist-items li.item[data-item=\"test-notice\"]");
    b.click("#slot-add");
    b.shown("#playlist-slots li.slot-row .slot-time");
    b.click("#playlist-save");
    let saved = b.wait_js(
        "the playlist to be saved or refused",
        "const s = document.getElementById('playlist-status'); \
         return (s.classList.contains('ok') || s.classList.contains('error')) && {ok: s.classList.contains('ok'), \
         text: s.textContent, problems: [...document.querySelectorAll('#playlist-problems li')].map(l => l.textContent)}",
    );
    if saved["ok"] != true || saved["problems"].as_array().is_some_and(|p| !p.is_empty()) {
        b.fail(&format!("the playlist was not saved: {saved}"));
    }
    b.same(&saved["text"], "已保存。", "the playlist's status");
    // The saved state is drawn back from the station: the item, the time, and the slot.
    b.wait_js(
        "the saved playlist in the editor and the schedule",
        &format!(
            "return document.querySelectorAll('#playlist-items li.item[data-item=\"test-notice\"]').length === 1 && \
             document.querySelectorAll('#playlist-slots li.slot-row').length === 1 && \
             document.querySelector('#playlist-slots .slot-time').value === '07:00' && \
             document.getElementById('schedule').innerText.includes({})",
            json!(title)
        ),
    );
    let own = std::fs::read_dir(serve.root().join("schedules"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains("dongmen")))
        .unwrap_or_else(|| b.fail("no schedule file for dongmen was written"));
    let text = std::fs::read_to_string(&own).unwrap();
    b.ensure(text.contains("test-notice"), &format!("{} names test-notice:\n{text}", own.display()));
    b.shot("village");

    // Broadcast it now to 东门村.
    b.open("a[data-nav=broadcast]");
    b.arrive("broadcast", &["立即广播", "紧急广播"]);
    b.click("input.target-village[value=\"dongmen\"]");
    b.choose("#broadcast-what", "message:test-notice");
    b.click("#broadcast-submit");
    let summary = b.wait_js(
        "the broadcast's result",
        "const e = document.getElementById('broadcast-error'); if (!e.hidden && e.textContent) return 'error: ' + \
         e.textContent; return !document.getElementById('broadcast-result').hidden && \
         document.getElementById('broadcast-summary').textContent",
    );
    b.same(summary, "已开始在 1 个村播放。", "the broadcast's summary");
    let cues = b.text("#broadcast-cues");
    b.ensure(
        cues.contains("东门村") && cues.contains(title),
        &format!("the result lists the village and clip: {cues}"),
    );
    b.shot("broadcast");

    // The as-run log has it: on the page (reloaded until it shows) and from the command line.
    b.wait("the broadcast in the as-run log page", || {
        b.goto("/log?village=dongmen");
        b.arrive("log", &["播出记录"]);
        let found = b.js(&format!(
            "return [...document.querySelectorAll('#log-table tbody tr')].some(tr => tr.innerText.includes({}) && \
             tr.innerText.includes('东门村') && tr.innerText.includes('手动'))",
            json!(title)
        ));
        (found == true).then_some(())
    });
    b.shot("log");
    let rows = serve.log_rows();
    b.ensure(
        rows.iter().any(|r| r["village"] == "dongmen" && r["clip"] == clip && r["priority"] == "manual"),
        &format!("xiangyin log --csv has the broadcast of {clip} in dongmen with priority manual: {rows:#?}"),
    );

    // The users page (admin only).
    b.open("a[data-nav=users]");
    b.arrive("users", &["用户管理", "admin"]);
    b.shown("#users-table tr[data-user=\"admin\"]");
    b.shot("users");

    b.report_shots();
    println!("chinese flow: {:.1} s", started.elapsed().as_secs_f64());
}

/// English: switch language, add an operator, log out and in as the operator, emergency broadcast
/// to every village behind its confirmation, stop it, and find the emergency rows in the log.
#[test]
fn english_operator_emergency_broadcast_and_stop() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let started = Instant::now();
    let serve = Serve::start();
    let mut b = Browser::start(&serve, "en");

    // The setup page opens in Chinese; the switch makes it English (and remembers it).
    b.goto(&serve.setup_link);
    b.wait_js(
        "the setup page in Chinese",
        "return document.body.dataset.page === 'setup' && document.documentElement.lang === 'zh-CN' && \
         document.body.innerText.includes('创建第一个管理员')",
    );
    b.open("#lang-switch a[data-lang=en]");
    b.arrive("setup", &["Create the first admin"]);
    b.shot("setup");
    b.fill("#setup-name", "admin");
    b.fill("#setup-password", "correct horse battery");
    b.open("#setup-submit");

    b.arrive("dashboard", &["Villages", "Library", "Broadcast", "As-run log", "Users"]);
    b.same(b.js("return document.querySelectorAll('.village-card[data-village]').length"), 8, "village cards");
    b.shot("dashboard");
    b.open("a[data-nav=library]");
    b.arrive("library", &["Clip library", "Upload"]);
    b.shot("library");
    b.goto("/villages/dongmen");
    b.arrive("village", &["东门村", "The day"]);
    b.wait_js("the playlist editor to load", "return document.getElementById('playlist-file').textContent");
    b.shot("village");

    // An operator, added on the users page.
    b.open("a[data-nav=users]");
    b.arrive("users", &["Users", "Add a user"]);
    b.fill("#user-name", "olga");
    b.choose("#user-role", "operator");
    b.fill("#user-password", "operator password");
    b.open("#user-add");
    b.shown("#users-table tr[data-user=\"olga\"]");
    b.arrive("users", &["olga"]);
    b.same(b.js("return document.querySelector('tr[data-user=\"olga\"] .user-role').value"), "operator", "olga's role");
    b.shot("users");

    // Log out, and in again as the operator.
    b.open("#logout");
    b.arrive("login", &["Log in"]);
    b.shot("login");
    b.fill("#login-name", "olga");
    b.fill("#login-password", "operator password");
    b.open("#login-submit");
    b.arrive("dashboard", &["Villages"]);
    b.same(b.text("#me-name"), "olga", "the logged-in name");
    b.ensure(b.find("a[data-nav=users]").is_none(), "an operator has no users page in the nav");

    // Emergency broadcast to every village, behind its confirmation; then stop it.
    b.open("a[data-nav=broadcast]");
    b.arrive("broadcast", &["Broadcast now", "Emergency broadcast"]);
    b.click("#target-all");
    b.same(b.js("return document.querySelectorAll('input.target-village:checked').length"), 8, "villages ticked");
    b.choose("#broadcast-what", "message:fire-safety");
    b.click("#emergency-button");
    b.wait_js("the confirmation dialog", "return document.getElementById('emergency-dialog').open");
    b.arrive("broadcast", &["Start an emergency broadcast?"]);
    b.shot("broadcast-confirm");
    b.click("#emergency-confirm");
    let summary = b.wait_js(
        "the emergency broadcast's result",
        "const e = document.getElementById('broadcast-error'); if (!e.hidden && e.textContent) return 'error: ' + \
         e.textContent; return !document.getElementById('broadcast-result').hidden && \
         document.getElementById('broadcast-summary').textContent",
    );
    b.same(summary, "Playing in 8 villages.", "the broadcast's summary");
    b.same(b.js("return document.querySelectorAll('#broadcast-cues li').length"), 8, "villages listed as playing");
    b.shot("broadcast");
    b.click("#broadcast-stop");
    b.wait_js(
        "the broadcast to stop",
        "return document.getElementById('broadcast-summary').textContent === 'Stopped.' && \
         document.getElementById('broadcast-stop').hidden",
    );

    // The as-run log: an emergency row for every village.
    b.wait("eight emergency rows in the as-run log page", || {
        b.goto("/log");
        b.arrive("log", &["As-run log"]);
        let n = b.js("return [...document.querySelectorAll('#log-table tbody tr')].filter(tr => \
             tr.innerText.includes('emergency')).length");
        (n.as_i64() >= Some(8)).then_some(())
    });
    b.shot("log");
    let rows = serve.log_rows();
    let villages: std::collections::BTreeSet<&str> =
        rows.iter().filter(|r| r["priority"] == "emergency").map(|r| r["village"].as_str()).collect();
    b.ensure(villages.len() == 8, &format!("xiangyin log --csv has emergency rows for every village: {rows:#?}"));

    b.report_shots();
    println!("english flow: {:.1} s", started.elapsed().as_secs_f64());
}
