//! The browser harness of tests/browser.rs: the real `xiangyin serve`, chromedriver driving
//! headless Chromium at phone width (WebDriver JSON over HTTP), waits, screenshots.
#![allow(dead_code)]

use reqwest::Method;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::common;

/// One browser at a time: two Chromiums on a 2-core CI machine make both tests slow and flaky.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "chromedriver";
/// The phone's width in CSS pixels.
pub const PHONE_WIDTH: i64 = 360;
/// How often waits look again, and how long they wait.
pub const POLL: Duration = Duration::from_millis(100);
pub const WAIT: Duration = Duration::from_secs(15);
/// The W3C key of an element reference.
pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the screenshots go: `target/browser-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target/tmp has a parent").join("browser-screenshots")
}

/// `program` as found on PATH (or as given, when it is a path that exists).
pub fn on_path(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).exists().then(|| program.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(program)).find(|p| p.is_file())
}

/// The last `n` lines of a text file (for failure messages).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A running `xiangyin serve` on a temporary copy of the demo station, killed on drop.
pub struct Serve {
    pub child: Child,
    pub root: tempfile::TempDir,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
    /// The one-time link that creates the first admin.
    pub setup_link: String,
    pub log: PathBuf,
}

impl Serve {
    pub fn start() -> Serve {
        Serve::start_on("virtual", |_| {})
    }

    /// `serve --profile <profile>` on a copy of the demo that `prepare` may change first.
    pub fn start_on(profile: &str, prepare: impl FnOnce(&Path)) -> Serve {
        let root = tempfile::tempdir().unwrap();
        // Awake: the browser tests broadcast now, whatever the hour.
        common::copy_demo_awake(root.path());
        prepare(root.path());
        let log = root.path().join("serve.log");
        // `XY_SERVE_BIN` runs another build (an older one, to see a test fail before its fix).
        let bin = std::env::var("XY_SERVE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_xiangyin").to_owned());
        let mut child = Command::new(bin)
            .arg("--root")
            .arg(root.path())
            .args(["serve", "--profile", profile, "--listen", "127.0.0.1:0"])
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

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The as-run log as `xiangyin log --csv` prints it: one map per row, by column name.
    pub fn log_rows(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        let o = common::xiangyin(self.root(), &["log", "--csv"]);
        assert!(o.status.success(), "xiangyin log --csv: {}", common::stderr(&o));
        common::csv_records(&common::stdout(&o))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Chromium session through its own chromedriver; closed, and chromedriver killed, on drop.
pub struct Browser {
    pub http: reqwest::blocking::Client,
    pub driver: Child,
    /// `http://127.0.0.1:PORT/session/ID`.
    pub session: String,
    /// The site under test (no trailing slash).
    pub site: String,
    /// `zh` or `en`: the language the pages must be in.
    pub lang: &'static str,
    /// The screenshots' prefix: the language, or `red-zh` for the red states.
    pub prefix: String,
    pub serve_log: PathBuf,
    pub driver_log: PathBuf,
    pub shots: Vec<PathBuf>,
    pub _profile: tempfile::TempDir,
}

impl Browser {
    pub fn start(serve: &Serve, lang: &'static str) -> Browser {
        Browser::start_as(serve, lang, lang)
    }

    /// A browser whose screenshots are `PREFIX-NAME.png` (those of an earlier run are removed).
    pub fn start_as(serve: &Serve, lang: &'static str, prefix: &str) -> Browser {
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
            if name.starts_with(&format!("{prefix}-")) || name.starts_with(&format!("FAILED-{prefix}-")) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Browser {
            http,
            driver,
            session: format!("{base}/session/{id}"),
            site: serve.url.clone(),
            lang,
            prefix: prefix.to_owned(),
            serve_log: serve.log.clone(),
            driver_log,
            shots: Vec::new(),
            _profile: profile,
        }
    }

    /* ------------------------------------------------------------ the protocol */

    /// One WebDriver command: its `value`, or the driver's error as `error: message`.
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
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

    pub fn post(&self, path: &str, body: Value) -> Value {
        self.call(Method::POST, path, Some(body)).unwrap_or_else(|e| self.fail(&format!("POST {path}: {e}")))
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub fn try_js(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call(Method::POST, "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    pub fn js(&self, script: &str) -> Value {
        self.try_js(script, json!([])).unwrap_or_else(|e| self.fail(&format!("script failed: {e}\n{script}")))
    }

    /// Polls `f` every 100 ms until it gives a value; fails after 15 s saying what it waited for.
    pub fn wait<T>(&self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
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
    pub fn wait_js(&self, what: &str, script: &str) -> Value {
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
    pub fn find(&self, css: &str) -> Option<String> {
        match self.call(Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))) {
            Ok(v) => v[ELEMENT].as_str().map(str::to_owned),
            Err(e) if e.starts_with("no such element") => None,
            Err(e) => self.fail(&format!("looking for {css}: {e}")),
        }
    }

    /// Waits for the element `css` to be shown, and gives it.
    pub fn shown(&self, css: &str) -> String {
        self.wait(&format!("`{css}` to be shown"), || {
            let id = self.find(css)?;
            let shown = self.call(Method::GET, &format!("/element/{id}/displayed"), None).ok()?;
            (shown == true).then_some(id)
        })
    }

    /// Clicks `css` once it is shown (again while something covers it for a moment).
    pub fn click(&self, css: &str) {
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
    pub fn open(&self, css: &str) {
        self.js("window.xyOldPage = true; return true");
        self.click(css);
        self.wait_js(
            &format!("a new page after clicking `{css}`"),
            "return !window.xyOldPage && document.readyState === 'complete'",
        );
    }

    /// Types `text` into the field `css` (emptied first).
    pub fn fill(&self, css: &str, text: &str) {
        let id = self.shown(css);
        self.post(&format!("/element/{id}/clear"), json!({}));
        self.post(&format!("/element/{id}/value"), json!({ "text": text }));
    }

    /// Chooses the option `value` of the select `css` by clicking it, as a person would.
    pub fn choose(&self, css: &str, value: &str) {
        let option = format!("{css} option[value=\"{value}\"]");
        let id = self.wait(&format!("an option `{value}` in `{css}`"), || self.find(&option));
        self.post(&format!("/element/{id}/click"), json!({}));
        let now = self.try_js("return document.querySelector(arguments[0]).value", json!([css]));
        if now.as_ref().ok().and_then(Value::as_str) != Some(value) {
            self.fail(&format!("`{css}` shows {now:?} after choosing `{value}`"));
        }
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.shown(css);
        let v = self.call(Method::GET, &format!("/element/{id}/text"), None);
        v.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    }

    /// Opens `path` of the site (or a whole URL).
    pub fn goto(&self, path: &str) {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.site) };
        self.post("/url", json!({ "url": url }));
    }

    /* ------------------------------------------------------------ pages */

    /// Waits until the page `id` is shown in the test's language with every word of `words`,
    /// then checks that it fits the phone and that the console has no error.
    pub fn arrive(&self, id: &str, words: &[&str]) {
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
    pub fn check_fits(&self) {
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
    pub fn console_errors(&self) -> Vec<String> {
        let Ok(v) = self.call(Method::POST, "/se/log", Some(json!({ "type": "browser" }))) else { return Vec::new() };
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    pub fn check_console(&self) {
        let errors = self.console_errors();
        if !errors.is_empty() {
            self.fail(&format!("the console has errors:\n{}", errors.join("\n")));
        }
    }

    /// The page as a person sees it now, saved as `target/browser-screenshots/LANG-NAME.png` (the
    /// whole page, not only the window).
    pub fn shot(&mut self, name: &str) {
        self.check_fits();
        let path = screenshot_dir().join(format!("{}-{name}.png", self.prefix));
        let png = self.png().unwrap_or_else(|e| self.fail(&format!("screenshot {name}: {e}")));
        std::fs::write(&path, png).unwrap();
        self.shots.push(path);
    }

    pub fn png(&self) -> Result<Vec<u8>, String> {
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
    pub fn fail(&self, what: &str) -> ! {
        let url = self.call(Method::GET, "/url", None).map(|v| v.to_string()).unwrap_or_else(|e| e);
        let main = self
            .try_js(
                "const m = document.getElementById('main'); return m ? m.innerText : (document.body ? \
                 document.body.innerText : '')",
                json!([]),
            )
            .map(|v| v.as_str().unwrap_or("").chars().take(3000).collect::<String>())
            .unwrap_or_else(|e| format!("({e})"));
        let shot = screenshot_dir().join(format!("FAILED-{}-{}.png", self.prefix, self.shots.len()));
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
    pub fn ensure(&self, ok: bool, what: &str) {
        if !ok {
            self.fail(&format!("not so: {what}"));
        }
    }

    /// Fails (as [`Browser::fail`] does) unless `seen` is `expected`.
    pub fn same<A, B>(&self, seen: A, expected: B, what: &str)
    where
        A: PartialEq<B> + std::fmt::Debug,
        B: std::fmt::Debug,
    {
        if seen != expected {
            self.fail(&format!("{what}: expected {expected:?}, saw {seen:?}"));
        }
    }

    /// Prints the screenshots taken and checks each is a PNG file.
    pub fn report_shots(&self) {
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

pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// Standard base64 (the screenshots' encoding).
pub fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
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
pub fn tone(dir: &Path) -> PathBuf {
    let path = dir.join("test-tone.wav");
    common::write_wav(&path, &common::sine(440.0, 0.3, 48_000, 1, 3.0), 48_000, 1, 16, false);
    path
}
