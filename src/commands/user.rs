//! `xiangyin user`: the people who may use the web UI — add, list, remove, change password or
//! role, and make or revoke API tokens, in the station database (`STATE/station.db`).
//!
//! Every function prints one sentence on `out` and returns `Ok(false)` when it refuses (bad name
//! or password, unknown user, the last admin, a database an operator must look at), `Ok(true)`
//! when it did what was asked. Changes are written to the audit trail with no user (the command
//! line). Passwords are read from a reader (standard input), never from the command line, where
//! other users of the computer could see them in the process list.

use std::io::{BufRead, Write};

use super::Paths;
use crate::domain::Role;
use crate::store::{self, Store, StoreError};

const NO_USERS: &str = "no users yet: add the first admin with `xiangyin user add NAME --role admin`";

/// Adds user `name` with `role`, reading the password as one line from `password_from` (trailing
/// newline stripped). Refuses an empty or short password, a bad or taken name.
pub fn add(
    paths: &Paths,
    name: &str,
    role: Role,
    password_from: &mut dyn BufRead,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let Some(password) = read_password(password_from, out)? else {
        return Ok(false);
    };
    let Some(store) = open(paths, true, out)? else {
        return Ok(false);
    };
    let done = store
        .add_user(name, role, &password)
        .and_then(|()| store.audit(None, "user-add", Some(&format!("{name} as {role}, from the command line"))));
    finish(done, out, || format!("added {name} as {role}"))
}

/// Prints every user: name, role, when added (UTC date), whether disabled, and their API token
/// labels. Creates no database when there is none.
pub fn list(paths: &Paths, out: &mut dyn Write) -> std::io::Result<bool> {
    if !store::default_path(&paths.state).exists() {
        writeln!(out, "{NO_USERS}")?;
        return Ok(true);
    }
    let Some(store) = open(paths, false, out)? else {
        return Ok(false);
    };
    let listed = store.list_users().and_then(|users| Ok((users, store.list_api_tokens(None)?)));
    let (users, tokens) = match listed {
        Ok(found) => found,
        Err(e) => return finish(Err(e), out, String::new),
    };
    if users.is_empty() {
        writeln!(out, "{NO_USERS}")?;
        return Ok(true);
    }
    let rows: Vec<[String; 5]> = users
        .iter()
        .map(|u| {
            let labels: Vec<&str> = tokens.iter().filter(|t| t.user == u.name).map(|t| t.label.as_str()).collect();
            [
                u.name.clone(),
                u.role.to_string(),
                u.created.format("%Y-%m-%d").to_string(),
                if u.disabled { "disabled" } else { "active" }.to_owned(),
                if labels.is_empty() { "-".to_owned() } else { labels.join(", ") },
            ]
        })
        .collect();
    let header = ["name", "role", "added", "state", "api tokens"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<w$}  "));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(true)
}

/// Removes user `name` with their sessions and API tokens. Refuses the last admin.
pub fn remove(paths: &Paths, name: &str, out: &mut dyn Write) -> std::io::Result<bool> {
    let Some(store) = open(paths, false, out)? else {
        return Ok(false);
    };
    let done = store
        .remove_user(name)
        .and_then(|()| store.audit(None, "user-remove", Some(&format!("{name}, from the command line"))));
    finish(done, out, || format!("removed {name}"))
}

/// Sets `name`'s password, read as one line from `password_from`; ends their browser sessions.
pub fn passwd(
    paths: &Paths,
    name: &str,
    password_from: &mut dyn BufRead,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let Some(password) = read_password(password_from, out)? else {
        return Ok(false);
    };
    let Some(store) = open(paths, false, out)? else {
        return Ok(false);
    };
    let done = store
        .set_password(name, &password)
        .and_then(|()| store.audit(None, "user-passwd", Some(&format!("{name}, from the command line"))));
    finish(done, out, || format!("changed the password of {name}; their browsers must log in again"))
}

/// Gives `name` another role. Refuses to demote the last admin.
pub fn role(paths: &Paths, name: &str, role: Role, out: &mut dyn Write) -> std::io::Result<bool> {
    let Some(store) = open(paths, false, out)? else {
        return Ok(false);
    };
    let done = store
        .set_role(name, role)
        .and_then(|()| store.audit(None, "user-role", Some(&format!("{name} to {role}, from the command line"))));
    finish(done, out, || format!("{name} is now {role}"))
}

/// Makes an API token for `name` labelled `label` and prints it, alone on one line, so that a
/// script can capture it. It is shown this once: the station keeps only its hash.
pub fn token(paths: &Paths, name: &str, label: &str, out: &mut dyn Write) -> std::io::Result<bool> {
    let Some(store) = open(paths, false, out)? else {
        return Ok(false);
    };
    let made = store.create_api_token(name, label).and_then(|token| {
        store.audit(None, "token-create", Some(&format!("{name} `{label}`, from the command line")))?;
        Ok(token)
    });
    match made {
        Ok(token) => {
            writeln!(out, "{token}")?;
            Ok(true)
        }
        Err(e) => finish(Err(e), out, String::new),
    }
}

/// Revokes `name`'s API token labelled `label`.
pub fn revoke(paths: &Paths, name: &str, label: &str, out: &mut dyn Write) -> std::io::Result<bool> {
    let Some(store) = open(paths, false, out)? else {
        return Ok(false);
    };
    match store.revoke_api_token(name, label) {
        Ok(true) => {
            let done = store.audit(None, "token-revoke", Some(&format!("{name} `{label}`, from the command line")));
            finish(done, out, || format!("revoked {name}'s API token `{label}`"))
        }
        Ok(false) => {
            writeln!(out, "{name} has no API token labelled `{label}` (see `xiangyin user list`)")?;
            Ok(false)
        }
        Err(e) => finish(Err(e), out, String::new),
    }
}

/// One line from `from`, without its line ending; `None` (after saying so) when there is none.
/// The password's own rules are the store's.
fn read_password(from: &mut dyn BufRead, out: &mut dyn Write) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    from.read_line(&mut line)?;
    let password = line.strip_suffix('\n').map_or(line.as_str(), |l| l.strip_suffix('\r').unwrap_or(l));
    if password.is_empty() {
        writeln!(
            out,
            "no password: give it as one line on standard input \
             (e.g. `read -rs PW; printf '%s\\n' \"$PW\" | xiangyin user …`)"
        )?;
        return Ok(None);
    }
    Ok(Some(password.to_owned()))
}

/// The station database; `None` after one sentence on `out` when it cannot be used, or when it
/// does not exist and `create` is false (nothing to change yet).
fn open(paths: &Paths, create: bool, out: &mut dyn Write) -> std::io::Result<Option<Store>> {
    let db = store::default_path(&paths.state);
    if !create && !db.exists() {
        writeln!(out, "no users yet (no station database at {}): add one with `xiangyin user add`", db.display())?;
        return Ok(None);
    }
    match Store::open(&db) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.needs_operator() => {
            writeln!(out, "{e}")?;
            Ok(None)
        }
        Err(e) => Err(std::io::Error::other(e)),
    }
}

/// Prints `said()` on success, the refusal's sentence otherwise; a failure that is not a refusal
/// is an error (or a sentence, when an operator must look at the file).
fn finish(done: Result<(), StoreError>, out: &mut dyn Write, said: impl FnOnce() -> String) -> std::io::Result<bool> {
    match done {
        Ok(()) => {
            writeln!(out, "{}", said())?;
            Ok(true)
        }
        Err(e) if e.is_refusal() || e.needs_operator() => {
            writeln!(out, "{e}")?;
            Ok(false)
        }
        Err(e) => Err(std::io::Error::other(e)),
    }
}
