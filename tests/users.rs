//! People in the station database, as the web UI and `xiangyin user` meet them: users and
//! passwords, sessions, API tokens, the one-time setup link, roles, the audit trail, no secret in
//! the file, and a V1 database (as-run log only) upgraded to V2 without losing its log.

use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use xiangyin::commands::{Paths, user};
use xiangyin::domain::{Action, Role};
use xiangyin::store::{self, Filter, SCHEMA_VERSION, Store, StoreError};

const HOUR: Duration = Duration::from_secs(3600);

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&store::default_path(dir.path())).unwrap();
    (dir, store)
}

/// Rows in `table`, read by a connection of our own.
fn rows(dir: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(store::default_path(dir)).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

/// Every byte the database has on disk: the file and its write-ahead log.
fn file_bytes(dir: &Path) -> Vec<u8> {
    let db = store::default_path(dir);
    let mut bytes = std::fs::read(&db).unwrap();
    bytes.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

// ---------------------------------------------------------------------------------------------
// Users and passwords

#[test]
fn a_user_logs_in_with_their_password_and_not_with_another() {
    let (_dir, s) = temp_store();
    assert_eq!(s.user_count().unwrap(), 0);
    s.add_user("wang.fang", Role::Operator, "correct horse").unwrap();
    let u = s.verify_password("wang.fang", "correct horse").unwrap().expect("the right password");
    assert_eq!((u.name.as_str(), u.role, u.disabled), ("wang.fang", Role::Operator, false));
    assert!((Utc::now() - u.created).num_seconds() < 60);
    assert_eq!(s.verify_password("wang.fang", "correct horsE").unwrap(), None);
    assert_eq!(s.verify_password("wang.fang", "").unwrap(), None);
    assert_eq!(s.verify_password("nobody", "correct horse").unwrap(), None);
    assert_eq!(s.user_count().unwrap(), 1);
    assert_eq!(s.user("wang.fang").unwrap(), Some(u));
    assert_eq!(s.user("nobody").unwrap(), None);
}

#[test]
fn an_unknown_name_costs_about_as_much_as_a_wrong_password() {
    let (_dir, s) = temp_store();
    s.add_user("admin", Role::Admin, "long enough").unwrap();
    // The first unknown name makes the dummy hash: leave it out of the timing.
    s.verify_password("nobody", "x").unwrap();
    let fastest = |name: &str| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(s.verify_password(name, "wrong password").unwrap(), None);
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    let (wrong, unknown) = (fastest("admin"), fastest("nobody"));
    assert!(unknown * 3 > wrong, "unknown name {unknown:?}, wrong password {wrong:?}");
}

#[test]
fn a_taken_name_a_bad_name_and_short_passwords_are_refused_and_change_nothing() {
    let (_dir, s) = temp_store();
    s.add_user("admin", Role::Admin, "first password").unwrap();
    let e = s.add_user("admin", Role::Uploader, "other password").unwrap_err();
    assert!(matches!(e, StoreError::UserExists { .. }) && e.is_refusal() && !e.needs_operator(), "{e:?}");
    assert_eq!(e.to_string(), "there is already a user named `admin`");
    assert!(s.verify_password("admin", "first password").unwrap().is_some());
    assert_eq!(s.user("admin").unwrap().unwrap().role, Role::Admin);

    for short in ["", "1234567", "七个字的密码啊"] {
        let e = s.add_user("li", Role::Uploader, short).unwrap_err();
        assert!(matches!(e, StoreError::PasswordTooShort { min: 8 }), "{short}: {e:?}");
    }
    assert_eq!(
        s.add_user("li", Role::Uploader, "").unwrap_err().to_string(),
        "the password is too short: use at least 8 characters"
    );
    s.add_user("li", Role::Uploader, "八个字的密码好了").unwrap();
    let long = "x".repeat(store::MAX_PASSWORD_CHARS + 1);
    assert!(matches!(s.add_user("zhao", Role::Uploader, &long), Err(StoreError::PasswordTooLong { .. })));
    for bad in ["", "Admin", "王芳", "a b", "-x"] {
        let e = s.add_user(bad, Role::Uploader, "long enough").unwrap_err();
        assert!(matches!(e, StoreError::BadUserName { .. }) && e.is_refusal(), "{bad}: {e:?}");
    }
    assert!(s.add_user("Admin", Role::Admin, "long enough").unwrap_err().to_string().contains("lower-case"));
    let names: Vec<String> = s.list_users().unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["admin", "li"]);
}

#[test]
fn a_new_password_replaces_the_old_one_and_ends_sessions() {
    let (_dir, s) = temp_store();
    s.add_user("li", Role::Uploader, "old password").unwrap();
    let (token, _) = s.create_session("li", HOUR).unwrap();
    let api = s.create_api_token("li", "phone").unwrap();
    assert!(matches!(s.set_password("li", "short"), Err(StoreError::PasswordTooShort { .. })));
    assert!(s.session(&token).unwrap().is_some(), "a refused change changes nothing");
    s.set_password("li", "new password").unwrap();
    assert_eq!(s.verify_password("li", "old password").unwrap(), None);
    assert!(s.verify_password("li", "new password").unwrap().is_some());
    assert_eq!(s.session(&token).unwrap(), None);
    assert!(s.api_token_user(&api).unwrap().is_some(), "API tokens keep working");
    assert!(matches!(s.set_password("nobody", "new password"), Err(StoreError::NoSuchUser { .. })));
}

#[test]
fn a_disabled_user_cannot_log_in_or_use_sessions_or_tokens_until_enabled() {
    let (_dir, s) = temp_store();
    s.add_user("admin", Role::Admin, "admin password").unwrap();
    s.add_user("li", Role::Uploader, "li password").unwrap();
    let api = s.create_api_token("li", "phone").unwrap();
    let (token, _) = s.create_session("li", HOUR).unwrap();
    s.set_disabled("li", true).unwrap();
    assert!(s.user("li").unwrap().unwrap().disabled);
    assert_eq!(s.verify_password("li", "li password").unwrap(), None);
    assert_eq!(s.session(&token).unwrap(), None);
    assert_eq!(s.api_token_user(&api).unwrap(), None);
    s.set_disabled("li", false).unwrap();
    assert!(s.verify_password("li", "li password").unwrap().is_some());
    assert!(s.api_token_user(&api).unwrap().is_some());
    assert_eq!(s.session(&token).unwrap(), None, "disabling ended the session for good");
}

#[test]
fn the_last_admin_who_can_log_in_cannot_be_removed_demoted_or_disabled() {
    let (dir, s) = temp_store();
    s.add_user("admin", Role::Admin, "admin password").unwrap();
    s.add_user("op", Role::Operator, "op password").unwrap();
    for e in [s.remove_user("admin"), s.set_role("admin", Role::Operator), s.set_disabled("admin", true)] {
        let e = e.unwrap_err();
        assert!(matches!(e, StoreError::LastAdmin { .. }) && e.is_refusal(), "{e:?}");
        assert!(e.to_string().contains("make another user admin first"), "{e}");
    }
    assert_eq!(s.user("admin").unwrap().unwrap().role, Role::Admin);
    s.set_role("op", Role::Admin).unwrap();
    s.create_session("admin", HOUR).unwrap();
    s.create_api_token("admin", "script").unwrap();
    s.remove_user("admin").unwrap();
    assert_eq!(s.user("admin").unwrap(), None);
    assert_eq!((rows(dir.path(), "sessions"), rows(dir.path(), "api_tokens")), (0, 0));
    assert!(matches!(s.remove_user("admin"), Err(StoreError::NoSuchUser { .. })));
    assert!(matches!(s.set_role("admin", Role::Admin), Err(StoreError::NoSuchUser { .. })));
    // Non-admins come and go freely.
    s.add_user("li", Role::Uploader, "li password").unwrap();
    s.remove_user("li").unwrap();
}

// ---------------------------------------------------------------------------------------------
// Sessions, tokens and the setup link

#[test]
fn a_session_carries_its_user_and_csrf_until_it_ends() {
    let (_dir, s) = temp_store();
    s.add_user("op", Role::Operator, "op password").unwrap();
    let (token, csrf) = s.create_session("op", HOUR).unwrap();
    assert_ne!(token, csrf);
    assert_eq!(token.len(), 64);
    let (user, got_csrf) = s.session(&token).unwrap().unwrap();
    assert_eq!((user.name.as_str(), user.role, got_csrf.as_str()), ("op", Role::Operator, csrf.as_str()));
    // A role change applies to the open session.
    s.add_user("admin", Role::Admin, "admin password").unwrap();
    s.set_role("op", Role::Uploader).unwrap();
    assert_eq!(s.session(&token).unwrap().unwrap().0.role, Role::Uploader);
    assert_eq!(s.session("not a token").unwrap(), None);
    assert_eq!(s.session(&csrf).unwrap(), None, "the CSRF token is not a session token");
    assert!(s.end_session(&token).unwrap());
    assert!(!s.end_session(&token).unwrap());
    assert_eq!(s.session(&token).unwrap(), None);
    assert!(matches!(s.create_session("nobody", HOUR), Err(StoreError::NoSuchUser { .. })));
}

#[test]
fn an_expired_session_is_refused_and_forgotten() {
    let (dir, s) = temp_store();
    s.add_user("op", Role::Operator, "op password").unwrap();
    let (expired, _) = s.create_session("op", Duration::ZERO).unwrap();
    let (other_expired, _) = s.create_session("op", Duration::ZERO).unwrap();
    let (live, _) = s.create_session("op", HOUR).unwrap();
    // Making the third forgot the first two.
    assert_eq!(rows(dir.path(), "sessions"), 1);
    assert_eq!(s.session(&expired).unwrap(), None);
    assert_eq!(s.session(&other_expired).unwrap(), None);
    assert!(s.session(&live).unwrap().is_some());

    let (short, _) = s.create_session("op", Duration::from_millis(50)).unwrap();
    assert!(s.session(&short).unwrap().is_some());
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(rows(dir.path(), "sessions"), 2);
    assert_eq!(s.session(&short).unwrap(), None);
    assert_eq!(rows(dir.path(), "sessions"), 1, "meeting the expired session deleted it");
    // A very long session does not overflow the stored time.
    let (forever, _) = s.create_session("op", Duration::MAX).unwrap();
    assert!(s.session(&forever).unwrap().is_some());
}

#[test]
fn an_api_token_works_until_revoked_and_records_its_use() {
    let (_dir, s) = temp_store();
    s.add_user("li", Role::Uploader, "li password").unwrap();
    let token = s.create_api_token("li", "phone").unwrap();
    assert_eq!(token.len(), 64);
    assert!(s.list_api_tokens(Some("li")).unwrap()[0].last_used.is_none());
    let user = s.api_token_user(&token).unwrap().unwrap();
    assert_eq!((user.name.as_str(), user.role), ("li", Role::Uploader));
    let listed = s.list_api_tokens(Some("li")).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].user.as_str(), listed[0].label.as_str()), ("li", "phone"));
    assert!(listed[0].last_used.is_some_and(|t| t >= listed[0].created));
    assert_eq!(s.api_token_user("0".repeat(64).as_str()).unwrap(), None);

    let e = s.create_api_token("li", "phone").unwrap_err();
    assert!(matches!(e, StoreError::TokenLabelTaken { .. }) && e.is_refusal(), "{e:?}");
    assert!(matches!(s.create_api_token("li", "  "), Err(StoreError::BadTokenLabel { .. })));
    assert!(matches!(s.create_api_token("nobody", "phone"), Err(StoreError::NoSuchUser { .. })));
    let laptop = s.create_api_token("li", "laptop").unwrap();
    assert_ne!(laptop, token);

    assert!(s.revoke_api_token("li", "phone").unwrap());
    assert!(!s.revoke_api_token("li", "phone").unwrap());
    assert_eq!(s.api_token_user(&token).unwrap(), None);
    assert!(s.api_token_user(&laptop).unwrap().is_some());
    let labels: Vec<String> = s.list_api_tokens(None).unwrap().into_iter().map(|t| t.label).collect();
    assert_eq!(labels, ["laptop"]);
}

#[test]
fn the_setup_link_works_once_only_while_there_are_no_users() {
    let (_dir, s) = temp_store();
    let token = s.create_setup_token(HOUR).unwrap();
    assert!(!s.use_setup_token("wrong").unwrap());
    assert!(s.use_setup_token(&token).unwrap());
    assert!(!s.use_setup_token(&token).unwrap(), "single use");

    // A new link replaces the old one.
    let old = s.create_setup_token(HOUR).unwrap();
    let new = s.create_setup_token(HOUR).unwrap();
    assert!(!s.use_setup_token(&old).unwrap());
    assert!(s.use_setup_token(&new).unwrap());
    // An expired link does nothing.
    let expired = s.create_setup_token(Duration::ZERO).unwrap();
    assert!(!s.use_setup_token(&expired).unwrap());
    // Once there is a user, no link works.
    let late = s.create_setup_token(HOUR).unwrap();
    s.add_user("admin", Role::Admin, "admin password").unwrap();
    assert!(!s.use_setup_token(&late).unwrap());
}

#[test]
fn no_password_or_token_is_stored_in_clear() {
    let (dir, s) = temp_store();
    let password = "a very memorable password";
    s.add_user("admin", Role::Admin, password).unwrap();
    let (session, csrf) = s.create_session("admin", HOUR).unwrap();
    let api = s.create_api_token("admin", "script").unwrap();
    let setup = s.create_setup_token(HOUR).unwrap();
    let bytes = file_bytes(dir.path());
    assert!(contains(&bytes, "admin"), "the file holds the user (the check reads the right bytes)");
    assert!(contains(&bytes, &csrf), "the CSRF token is kept, bound to its session");
    for secret in [password, &session, &api, &setup] {
        assert!(!contains(&bytes, secret), "`{secret}` is in the database file");
        // Nor in upper case, nor its first half.
        assert!(!contains(&bytes, &secret.to_uppercase()));
        assert!(!contains(&bytes, &secret[..secret.len() / 2]));
    }
    let conn = rusqlite::Connection::open(store::default_path(dir.path())).unwrap();
    let hash: String = conn.query_row("SELECT hash FROM users", [], |r| r.get(0)).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    // Still usable after all that.
    assert!(s.session(&session).unwrap().is_some() && s.api_token_user(&api).unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// Roles and the audit trail

#[test]
fn roles_allow_the_documented_actions() {
    use Action::*;
    let table = [
        (Role::Admin, vec![Upload, EditOwnClips, Review, EditPlaylists, Broadcast, ManageUsers, ManageStation]),
        (Role::Operator, vec![Upload, EditOwnClips, Review, EditPlaylists, Broadcast]),
        (Role::Uploader, vec![Upload, EditOwnClips]),
    ];
    for (role, allowed) in table {
        for action in Action::ALL {
            assert_eq!(role.allows(action), allowed.contains(&action), "{role} {action}");
        }
    }
    let names: Vec<String> = Role::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["admin", "operator", "uploader"]);
    assert_eq!("uploader".parse::<Role>(), Ok(Role::Uploader));
    assert!("root".parse::<Role>().is_err());
    assert_eq!(serde_json::from_str::<Role>("\"operator\"").unwrap(), Role::Operator);
    assert_eq!(serde_json::to_string(&Action::EditOwnClips).unwrap(), "\"edit-own-clips\"");
}

#[test]
fn the_audit_trail_lists_the_latest_entries_first() {
    let (_dir, s) = temp_store();
    s.audit(Some("op"), "login", None).unwrap();
    s.audit(Some("op"), "broadcast", Some("emergency to dongmen: flood warning")).unwrap();
    s.audit(None, "user-add", Some("li as uploader")).unwrap();
    let log = s.audit_log(2).unwrap();
    let got: Vec<(Option<&str>, &str)> = log.iter().map(|e| (e.user.as_deref(), e.action.as_str())).collect();
    assert_eq!(got, [(None, "user-add"), (Some("op"), "broadcast")]);
    assert!(log[0].id > log[1].id && log[0].at >= log[1].at);
    assert_eq!(log[1].detail.as_deref(), Some("emergency to dongmen: flood warning"));
    assert_eq!(s.audit_log(100).unwrap().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Migration

/// The V1 schema as xiangyin 0.1 wrote it (migrations are never edited, so this stays true).
const V1: &str = "
CREATE TABLE as_run (
    cue INTEGER PRIMARY KEY, village TEXT NOT NULL, zone TEXT NOT NULL, clip TEXT, language TEXT,
    priority TEXT, slot TEXT, scheduled TEXT NOT NULL, started TEXT, ended TEXT, late_ms INTEGER,
    outcome TEXT, detail TEXT
) STRICT;
CREATE INDEX as_run_village_scheduled ON as_run (village, scheduled);
CREATE INDEX as_run_scheduled ON as_run (scheduled);
CREATE TABLE state (key TEXT PRIMARY KEY, json TEXT NOT NULL, saved TEXT NOT NULL) STRICT;
PRAGMA user_version = 1;
INSERT INTO as_run (cue, village, zone, clip, language, priority, slot, scheduled, started, ended, outcome)
VALUES (7, 'dongmen', 'dongmen', '0123456789abcdef', 'cmn', 'scheduled', 'morning',
        '2026-12-01T07:00:00.000Z', '2026-12-01T07:00:00.000Z', '2026-12-01T07:00:30.000Z', 'played');
INSERT INTO state (key, json, saved) VALUES ('playlists', '[1,2,3]', '2026-12-01T07:00:30.000Z');
";

#[test]
fn a_v1_database_moves_to_v2_and_keeps_its_as_run_log() {
    const { assert!(SCHEMA_VERSION >= 2) };
    let dir = tempfile::tempdir().unwrap();
    let path = store::default_path(dir.path());
    let v1 = rusqlite::Connection::open(&path).unwrap();
    v1.execute_batch(V1).unwrap();
    // xiangyin's mark, ascii `xyng`.
    v1.pragma_update(None, "application_id", 0x7879_6e67_i64).unwrap();
    drop(v1);

    let s = Store::open(&path).unwrap();
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let log = s.query(&Filter::default()).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].cue.0, log[0].village.as_str(), log[0].state()), (7, "dongmen", "played"));
    assert_eq!(log[0].scheduled, Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap());
    assert_eq!(s.load_json::<Vec<u32>>("playlists").unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(s.user_count().unwrap(), 0);
    s.add_user("admin", Role::Admin, "admin password").unwrap();
    s.check_integrity().unwrap();
    drop(s);
    // Reopening a V2 file migrates nothing and keeps the user.
    let s = Store::open(&path).unwrap();
    assert_eq!((s.user_count().unwrap(), s.query(&Filter::default()).unwrap().len()), (1, 1));
}

// ---------------------------------------------------------------------------------------------
// `xiangyin user`

fn paths(state: &Path) -> Paths {
    Paths::new(state, Some(state))
}

fn run(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<bool>) -> (bool, String) {
    let mut out = Vec::new();
    let ok = f(&mut out).unwrap();
    (ok, String::from_utf8(out).unwrap())
}

#[test]
fn user_commands_add_list_change_and_remove_people() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let (ok, said) = run(|o| user::list(&p, o));
    assert!(ok && said.contains("no users yet"), "{said}");
    assert!(!store::default_path(dir.path()).exists(), "listing created a database");
    let (ok, said) = run(|o| user::remove(&p, "admin", o));
    assert!(!ok && said.contains("no users yet"), "{said}");

    let (ok, said) = run(|o| user::add(&p, "admin", Role::Admin, &mut Cursor::new("admin password\r\n"), o));
    assert!(ok, "{said}");
    assert_eq!(said, "added admin as admin\n");
    let s = Store::open(&store::default_path(dir.path())).unwrap();
    assert!(s.verify_password("admin", "admin password").unwrap().is_some(), "the line ending was stripped");

    for (input, expect) in [("", "no password"), ("\n", "no password"), ("short\n", "too short")] {
        let (ok, said) = run(|o| user::add(&p, "li", Role::Uploader, &mut Cursor::new(input), o));
        assert!(!ok && said.contains(expect), "{input:?}: {said}");
    }
    let (ok, said) = run(|o| user::add(&p, "admin", Role::Uploader, &mut Cursor::new("other password\n"), o));
    assert!(!ok && said.contains("already a user named `admin`"), "{said}");
    // Only the first line is the password.
    let (ok, _) = run(|o| user::add(&p, "li", Role::Uploader, &mut Cursor::new("li password\nmore\n"), o));
    assert!(ok);
    assert!(s.verify_password("li", "li password").unwrap().is_some());

    let (ok, token) = run(|o| user::token(&p, "li", "phone", o));
    assert!(ok);
    let token = token.trim_end();
    assert_eq!(token.len(), 64, "{token}");
    assert_eq!(s.api_token_user(token).unwrap().unwrap().name, "li");

    let (ok, said) = run(|o| user::list(&p, o));
    assert!(ok);
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 3, "{said}");
    assert!(lines[0].starts_with("name") && lines[0].contains("role"), "{said}");
    assert!(lines[1].starts_with("admin") && lines[1].contains("active"), "{said}");
    assert!(lines[2].starts_with("li") && lines[2].contains("uploader") && lines[2].contains("phone"), "{said}");

    let (ok, said) = run(|o| user::passwd(&p, "li", &mut Cursor::new("new li password\n"), o));
    assert!(ok, "{said}");
    assert!(s.verify_password("li", "new li password").unwrap().is_some());
    let (ok, said) = run(|o| user::passwd(&p, "nobody", &mut Cursor::new("new password\n"), o));
    assert!(!ok && said.trim_end() == "there is no user named `nobody`", "{said}");

    let (ok, said) = run(|o| user::role(&p, "admin", Role::Operator, o));
    assert!(!ok && said.contains("last admin"), "{said}");
    let (ok, said) = run(|o| user::role(&p, "li", Role::Operator, o));
    assert!(ok && said.contains("li is now operator"), "{said}");

    let (ok, said) = run(|o| user::revoke(&p, "li", "phone", o));
    assert!(ok, "{said}");
    assert_eq!(s.api_token_user(token).unwrap(), None);
    let (ok, said) = run(|o| user::revoke(&p, "li", "phone", o));
    assert!(!ok && said.contains("no API token labelled `phone`"), "{said}");

    let (ok, said) = run(|o| user::remove(&p, "admin", o));
    assert!(!ok && said.contains("last admin"), "{said}");
    let (ok, _) = run(|o| user::remove(&p, "li", o));
    assert!(ok);
    assert_eq!(s.user_count().unwrap(), 1);

    let actions: Vec<String> = s.audit_log(100).unwrap().into_iter().rev().map(|e| e.action).collect();
    assert_eq!(
        actions,
        ["user-add", "user-add", "token-create", "user-passwd", "user-role", "token-revoke", "user-remove"]
    );
}
