//! The bundled demo station as the repository has it, for tests (included by tests/common and
//! by the library's test kit).
//!
//! Tests must not see what a person did with `make run` in the working tree — clips uploaded,
//! clips approved, playlists saved, files removed: they take the demo content as git has it in
//! its index (`git checkout-index`, which is what is committed plus what a developer has
//! deliberately staged with `git add`). Outside a git checkout (a source tarball) they take the
//! working tree's copy.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The content folders of the demo station.
pub const CONTENT: [&str; 3] = ["schedules", "hardware-profiles", "audio-library"];

/// Copies the demo content of the repository at `repo` into `dest` (which ends up holding
/// `schedules/`, `hardware-profiles/`, `audio-library/`).
pub fn copy_demo_from(repo: &Path, dest: &Path) {
    if from_git_index(repo, dest) {
        for sub in CONTENT {
            std::fs::create_dir_all(dest.join(sub)).expect("create a content folder");
        }
        return;
    }
    for sub in CONTENT {
        copy_tree(&repo.join(sub), &dest.join(sub));
    }
}

/// [`copy_demo_from`] without the villages' quiet hours, for tests that play at the wall
/// clock's time, whatever the hour (the demo villages sleep at noon and at night).
pub fn copy_demo_awake_from(repo: &Path, dest: &Path) {
    copy_demo_from(repo, dest);
    let villages = dest.join("schedules/villages.yaml");
    let text = std::fs::read_to_string(&villages).expect("villages.yaml");
    let text: String =
        text.lines().filter(|l| !l.trim_start().starts_with("quiet_hours:")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&villages, text).expect("villages.yaml");
}

/// `git ls-files -- CONTENT | git checkout-index --stdin --prefix=DEST/`; false when `repo` is
/// not a git checkout (or git is missing).
fn from_git_index(repo: &Path, dest: &Path) -> bool {
    let listed = Command::new("git").arg("-C").arg(repo).args(["ls-files", "-z", "--"]).args(CONTENT).output();
    let Some(listed) = listed.ok().filter(|o| o.status.success() && !o.stdout.is_empty()) else { return false };
    let mut prefix = std::path::absolute(dest).expect("an absolute path").into_os_string();
    prefix.push("/");
    let mut prefix_arg = std::ffi::OsString::from("--prefix=");
    prefix_arg.push(&prefix);
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["checkout-index", "-z", "--stdin", "--force"])
        .arg(prefix_arg)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run git checkout-index");
    child.stdin.take().expect("stdin").write_all(&listed.stdout).expect("list the demo files");
    let ok = child.wait().expect("git checkout-index").success();
    assert!(ok, "git checkout-index of the demo content failed in {}", repo.display());
    true
}

/// Copies the folder `from` to `to` (canonical WAVs hard-linked when the file system allows).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("folder entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&src, &dst);
        } else if src.extension().is_some_and(|e| e == "wav") {
            if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst).expect("copy");
            }
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}
