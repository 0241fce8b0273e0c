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

use std::sync::PoisonError;
use std::time::Instant;

use serde_json::{Value, json};

#[path = "common/webdriver.rs"]
mod webdriver;

use webdriver::*;

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
    // The header leaves the phone's screen to the villages: brand, station and who is logged in,
    // then one row of navigation (it once took 237 of 800 px in two rows of links).
    let header = b.js("return document.querySelector('header.top').getBoundingClientRect().height");
    println!("header: {header} px of 800");
    b.ensure(header.as_f64().is_some_and(|h| h <= 140.0), &format!("the header is {header} px high at 360 px wide"));
    b.same(
        b.js("const n = [...document.querySelectorAll('#nav a')].map(a => a.getBoundingClientRect().top); \
              return new Set(n).size"),
        1,
        "the navigation's rows",
    );
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
    // The language is a deliberate choice, offered by name.
    b.same(b.js("return document.getElementById('upload-language').value"), "", "no language chosen for you");
    b.same(
        b.js("return [...document.querySelectorAll('#upload-language option')].map(o => o.textContent).join('|')"),
        "请选择录音里说的语言|青溪话|普通话|音乐/无语言",
        "the languages, by name",
    );
    b.click("#upload-submit");
    b.wait_js(
        "the language refusal",
        "return document.getElementById('upload-status').textContent === '请选择录音里说的语言。'",
    );
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

    // It is at the top of the list at once (newest first), its language by name; approve it there.
    let clip = b.wait_js(
        "the new clip at the top of the list",
        &format!(
            "const li = document.querySelector('#clip-list [data-clip-id]'); \
             return li && li.querySelector('.clip-title').textContent === {} && li.dataset.clipId",
            json!(title)
        ),
    );
    let clip = clip.as_str().unwrap_or_else(|| b.fail("the new clip is not in the list")).to_owned();
    b.same(b.text(&format!("#clip-list [data-clip-id=\"{clip}\"] .clip-language")), "普通话", "the clip's language");
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
    b.ensure(
        b.js(&format!("return document.querySelector('{li} .approve').hidden")) == true,
        "nothing left to approve",
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
    let mut serve = Serve::start();
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
    // The virtual profile was chosen: nothing is wrong, and every card says it only records.
    b.wait_js("the first health event", "return document.getElementById('station-alert').dataset.state === 'ok'");
    b.same(b.js("return document.getElementById('station-alert').hidden"), true, "no banner while all is well");
    b.same(
        b.js(
            "return [...new Set([...document.querySelectorAll('.village-card .output-word')].map(w => w.textContent))]",
        ),
        json!(["recorded only, no loudspeaker (the profile has no sound card)"]),
        "what the village cards say of the virtual profile",
    );
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
    b.same(summary, "Emergency sent: playing in 8 villages (quiet hours do not apply).", "the broadcast's summary");
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

    // The station stops: the page says so in English.
    let _ = serve.child.kill();
    let _ = serve.child.wait();
    let gone = b.wait_js(
        "the page to say it lost the station",
        "const a = document.getElementById('station-alert'); return !a.hidden && a.dataset.state === 'lost' && \
         a.querySelector('.alert-head').textContent",
    );
    b.ensure(
        gone.as_str()
            .is_some_and(|s| s.starts_with("Lost contact with the station: what this page shows may be out of date")),
        &format!("the lost banner: {gone}"),
    );

    b.report_shots();
    println!("english flow: {:.1} s", started.elapsed().as_secs_f64());
}

/// The screens tell the truth when the villages hear nothing, in Chinese at phone width: the
/// station started without its sound card (fell back to recording) shows a red banner on every
/// page and "听不到" on every village card; an upload the station cannot read and a playlist it
/// would refuse are explained in Chinese, in the editor's words; a broken hand edit of
/// villages.yaml shows its position until it is fixed; and when the station stops, the open
/// page says it lost the station and greys out what it can no longer vouch for.
#[test]
fn red_when_the_villages_hear_nothing_and_grey_when_the_station_is_gone() {
    let _one = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let started = Instant::now();
    // The default profile's card is not on this computer (nor on any: the name is made up).
    let mut serve = Serve::start_on("default", |root| {
        let p = root.join("hardware-profiles/default.yaml");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("alsa:default"), "{text}");
        std::fs::write(&p, text.replace("alsa:default", "alsa:xiangyin-unplugged")).unwrap();
    });
    let mut b = Browser::start_as(&serve, "zh", "red-zh");
    // The server's own refusals on the first pages are Chinese too (they were English).
    b.goto("/login");
    b.arrive("login", &["登录"]);
    b.fill("#login-name", "admin");
    b.fill("#login-password", "not the password");
    b.click("#login-submit");
    b.wait_js(
        "the login refusal",
        "return document.getElementById('login-error').textContent === '用户名或密码不对。'",
    );
    expected_refusals(&b);
    b.goto(&serve.setup_link);
    b.arrive("setup", &["创建第一个管理员"]);
    b.fill("#setup-name", "王站长");
    b.fill("#setup-password", "correct horse battery");
    b.click("#setup-submit");
    let refused = b.wait_js("the setup refusal", "return document.getElementById('setup-error').textContent");
    b.ensure(
        refused.as_str().is_some_and(|s| s.starts_with("`王站长` 不能用作用户名：")),
        &format!("the user name refusal: {refused}"),
    );
    expected_refusals(&b);
    b.fill("#setup-name", "admin");
    b.fill("#setup-password", "correct horse battery");
    b.open("#setup-submit");
    b.arrive("dashboard", &["各村广播"]);

    // Red, with the reason, on the dashboard and on every village card.
    let banner = |b: &Browser| {
        b.js("const a = document.getElementById('station-alert'); return !a.hidden && a.dataset.state + '|' + \
              a.querySelector('.alert-head').textContent + '|' + [...a.querySelectorAll('li')].map(li => \
              li.dataset.reason + ':' + li.textContent).join('|')")
    };
    let red = b.wait("the red banner", || {
        let v = banner(&b);
        v.as_str().filter(|s| s.contains("fallback:")).map(str::to_owned)
    });
    b.ensure(
        red.starts_with("degraded|各村听不到广播|fallback:没有声卡——各村听不到广播："),
        &format!("the banner: {red}"),
    );
    b.same(
        b.js("return getComputedStyle(document.getElementById('station-alert')).backgroundColor"),
        "rgb(208, 0, 0)",
        "the banner's colour",
    );
    let cards = b.wait_js(
        "every village card to say it is not heard",
        "const w = [...document.querySelectorAll('.village-card .output-state')]; return w.length === 8 && \
         w.every(o => o.dataset.reaching === 'false' && o.querySelector('.output-word').textContent.startsWith('听不到')) \
         && w.map(o => o.querySelector('.output-word').textContent)",
    );
    b.ensure(!cards.to_string().contains("正常"), &format!("no card says 正常: {cards}"));
    b.shot("dashboard-not-heard");
    b.open("a[data-nav=library]");
    b.arrive("library", &["录音库"]);
    b.ensure(banner(&b).as_str().is_some_and(|s| s.contains("fallback:")), "the library page's banner");

    // Uploads the station refuses, one of each kind a person sends by mistake: each said in
    // Chinese, and nothing is added.
    let silent = {
        let mut w = b"RIFF".to_vec();
        let data = 2 * 48_000 * 2; // 2 s of 16-bit mono zeros
        w.extend_from_slice(&(36 + data as u32).to_le_bytes());
        w.extend_from_slice(b"WAVEfmt ");
        w.extend_from_slice(&16u32.to_le_bytes());
        w.extend_from_slice(&[1, 0, 1, 0]);
        w.extend_from_slice(&48_000u32.to_le_bytes());
        w.extend_from_slice(&96_000u32.to_le_bytes());
        w.extend_from_slice(&[2, 0, 16, 0]);
        w.extend_from_slice(b"data");
        w.extend_from_slice(&(data as u32).to_le_bytes());
        w.resize(w.len() + data, 0);
        w
    };
    // A recording cut short in copying: the header promises more than the file holds.
    let cut = {
        let whole = std::fs::read(tone(serve.root())).unwrap();
        whole[..whole.len() / 2].to_vec()
    };
    let mistakes: [(&str, Vec<u8>, &str); 4] = [
        ("空文件.wav", Vec::new(), "文件是空的"),
        ("通知.mp3", "this is a text file, not a recording\n".repeat(200).into_bytes(), "这不是能读取的音频文件"),
        ("没开麦克风.wav", silent, "录音没有声音"),
        ("没拷完.wav", cut, "就结束了"),
    ];
    b.choose("#upload-language", "cmn");
    for (name, bytes, expected) in mistakes {
        let path = serve.root().join(name);
        std::fs::write(&path, bytes).unwrap();
        let input = b.wait("the file input", || b.find("#upload-input"));
        b.post(&format!("/element/{input}/value"), json!({ "text": path.to_str().unwrap() }));
        b.wait_js(
            "the chosen file's name",
            &format!("return document.getElementById('upload-file-name').textContent.includes({})", json!(name)),
        );
        b.fill("#upload-title", "坏文件");
        b.click("#upload-submit");
        let said = b.wait_js(
            &format!("the refusal of {name}"),
            &format!(
                "const e = document.querySelector('#upload-result p.error'); return e && \
                 e.textContent.includes({}) && e.textContent",
                json!(expected)
            ),
        );
        let said = said.as_str().unwrap_or_default().to_owned();
        b.ensure(!has_english(&said), &format!("no English in the refusal of {name}: {said}"));
    }
    b.ensure(
        b.js("return [...document.querySelectorAll('#clip-list .clip-title')].some(t => t.textContent === '坏文件')")
            == false,
        "no refused file is in the library",
    );
    b.shot("library-refused");
    expected_refusals(&b);

    // A playlist the station would refuse: said in Chinese, in the editor's words.
    b.goto("/villages/dongmen");
    b.arrive("village", &["东门村"]);
    b.wait_js("the playlist editor to load", "return document.getElementById('playlist-file').textContent");
    let item = b.js("return [...document.querySelectorAll('#playlist-choice option')].map(o => o.value).find(v => v)");
    b.choose("#playlist-choice", item.as_str().unwrap_or_else(|| b.fail("nothing to put on a playlist")));
    b.click("#playlist-add");
    b.click("#slot-add");
    let slot = b.js("return document.querySelectorAll('#playlist-slots li.slot-row').length").as_i64().unwrap_or(0);
    let last = format!("#playlist-slots li.slot-row:nth-child({slot})");
    b.choose(&format!("{last} .slot-days"), "custom");
    // A time that is not a time, and one that never comes (30 February).
    for (cron, expected) in [("61 7 * * *", ""), ("0 7 30 2 *", "一次也不会触发")] {
        b.fill(&format!("{last} .slot-cron"), cron);
        b.click("#playlist-save");
        let status = b.wait_js(
            &format!("the refusal of cron {cron}"),
            "const s = document.getElementById('playlist-status'); return s.classList.contains('error') && s.textContent",
        );
        b.same(status, "播放单没有保存：有 1 处问题；什么都没改。", "the playlist's refusal");
        let problem = b.text("#playlist-problems li");
        b.ensure(
            problem.starts_with(&format!("第 {slot} 个播放时间：")) && problem.contains(expected),
            &format!("where, in the editor's words: {problem}"),
        );
        b.ensure(!problem.contains(".yaml") && !has_english(&problem), &format!("no file, no English: {problem}"));
    }
    // A gap no playlist may have, with a time that is right.
    b.fill(&format!("{last} .slot-cron"), "0 7 * * *");
    b.fill("#playlist-gap", "9999");
    b.click("#playlist-save");
    let status = b.wait_js(
        "the refusal of the gap",
        "const s = document.getElementById('playlist-status'); return s.classList.contains('error') && s.textContent",
    );
    b.same(status, "两项之间的间隔是 0 到 600 秒，不能是 9999 秒。", "the gap's refusal");
    b.shot("village-refused");
    expected_refusals(&b);

    // A broken hand edit of villages.yaml: on the page, with its position, until it is fixed.
    let villages = serve.root().join("schedules/villages.yaml");
    let good = std::fs::read_to_string(&villages).unwrap();
    let broken = good.replacen("    name: 西门村\n    township:", "    name: 西门村\n    twonship:", 1);
    assert_ne!(broken, good);
    let line = 1 + broken.lines().position(|l| l.contains("twonship")).unwrap();
    std::fs::write(&villages, &broken).unwrap();
    b.goto("/");
    b.arrive("dashboard", &["各村广播"]);
    let refused = b.wait("the refused edit on the dashboard", || {
        banner(&b).as_str().and_then(|s| s.split('|').find(|p| p.starts_with("reload:")).map(str::to_owned))
    });
    b.ensure(
        refused.starts_with(&format!(
            "reload:修改未生效，继续按上一次正确的安排播出：schedules/villages.yaml:{line}:5：villages[1]：不认识的键 `twonship`（可能是拼写错误），可写的有 `id`、`name`、`township`"
        )),
        &format!("the refused edit, with its position: {refused}"),
    );
    b.shot("dashboard-reload-refused");
    std::fs::write(&villages, &good).unwrap();
    b.wait("the banner to drop the fixed edit", || {
        banner(&b).as_str().filter(|s| s.contains("fallback:") && !s.contains("reload:")).map(|_| ())
    });

    // The station stops under the open page: it says so at once and greys everything out.
    let _ = serve.child.kill();
    let _ = serve.child.wait();
    let gone = b.wait_js(
        "the page to say it lost the station",
        "const a = document.getElementById('station-alert'); return !a.hidden && a.dataset.state === 'lost' && \
         document.body.classList.contains('stale') && a.querySelector('.alert-head').textContent",
    );
    b.ensure(gone.as_str().is_some_and(|s| s.starts_with("与广播站失去联系")), &format!("the lost banner: {gone}"));
    b.same(b.text("#live-state"), "更新中断，正在重试…", "the dashboard's live label");
    b.same(
        b.js("return getComputedStyle(document.querySelector('main')).opacity"),
        "0.45",
        "what the page can no longer vouch for is greyed out",
    );
    b.shot("dashboard-station-lost");
    b.report_shots();
    println!("red and grey: {:.1} s", started.elapsed().as_secs_f64());
}

/// The console's errors, which must be only the refusals the test asked for (Chromium logs
/// every 4xx answer as an error).
fn expected_refusals(b: &Browser) {
    let errors = b.console_errors();
    b.ensure(
        errors.iter().all(|e| e.contains("the server responded with a status of 4")),
        &format!("only the refusals in the console: {errors:#?}"),
    );
}

/// Whether `text` has an English word in it (a Chinese sentence may still name WAV, MP3 or the
/// `cron` notation, as the editor's field is labelled).
fn has_english(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .any(|w| w.len() >= 2 && w != "cron" && w.chars().all(|c| c.is_ascii_lowercase()))
}
