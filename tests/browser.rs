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
