//! schemathesis (every check, every phase, stateful included) against a real `xiangyin serve` on
//! a copy of the demo station: the API must keep every promise its OpenAPI document makes —
//! every status it answers with is documented, every request the document calls valid is taken,
//! every one it calls invalid is refused with a 4xx and a sentence, no 5xx, auth enforced.
//! What is left out, and why, is in tests/schemathesis.toml. `XY_ST_SEED` picks another seed
//! (the default one keeps CI runs repeatable); the report is in target/schemathesis/.

mod common;

#[path = "common/daemon.rs"]
mod daemon;

use std::process::Command;

use daemon::{Daemon, Start};

#[test]
fn the_api_keeps_every_promise_its_openapi_document_makes() {
    let st = Command::new("st").arg("--version").output();
    assert!(
        st.as_ref().is_ok_and(|o| o.status.success()),
        "schemathesis (`st`) is missing: `make test` installs it with pip ({st:?})"
    );
    let station = daemon::station("playlists: {}\nslots: []\n");
    let root = station.path();
    let mut add = Command::new(env!("CARGO_BIN_EXE_xiangyin"))
        .args(["--root", root.to_str().unwrap(), "user", "add", "admin", "--role", "admin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
    assert!(add.wait().unwrap().success());
    let out = common::xiangyin(root, &["user", "token", "admin", "--label", "schemathesis"]);
    let text = common::stdout(&out);
    let token =
        text.split_whitespace().find(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit())).expect("a token");
    let d = Daemon::start(Start::new(root, "virtual"));
    let seed = std::env::var("XY_ST_SEED").unwrap_or_else(|_| "20261204".into());
    let report = common::repo().join("target/schemathesis");
    // schemathesis keeps a cache (known crashes to replay) in its working folder: a fresh folder
    // each run, so no run depends on what an earlier one left, and the checkout stays clean.
    let scratch = tempfile::tempdir().unwrap();
    let run = Command::new("st")
        .current_dir(scratch.path())
        .arg("--config-file")
        .arg(common::repo().join("tests/schemathesis.toml"))
        .args(["run", &d.url("/api/openapi.json"), "--checks", "all", "--max-examples", "60", "--seed", &seed])
        .args(["--no-color", "--report", "junit", "--report-dir"])
        .arg(&report)
        .env("ST_TOKEN", token)
        .output()
        .expect("run schemathesis");
    let said = format!("{}{}", common::stdout(&run), common::stderr(&run));
    println!("{}", said.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"));
    assert!(
        run.status.success(),
        "schemathesis found failures (seed {seed}):\n{said}\n--- serve's log ---\n{}",
        d.log()
    );
    assert!(said.contains("Stateful"), "the stateful phase ran: {said}");
    // The station came through it: still answering, and stopping cleanly.
    let (code, _) = d.health();
    assert!(code == 200 || code == 503, "{code}");
    assert!(d.term().success());
}
