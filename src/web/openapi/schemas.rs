//! The component schemas of the OpenAPI document: every constraint the handlers enforce, said
//! the way JSON Schema says it, so that a request the document calls valid is one the station
//! takes, and one it calls invalid is refused with a 4xx.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::config::Plan;
use crate::domain::ClipKind;
use crate::library::ClipMeta;
use crate::library::edit::{MAX_TITLE_CHARS, MAX_TRANSCRIPT_CHARS};

/// What the running station has, for the lists in the document.
pub(super) struct Known {
    villages: Vec<String>,
    townships: BTreeSet<String>,
    grids: BTreeSet<String>,
    languages: Vec<String>,
    messages: BTreeSet<String>,
}

impl Known {
    pub(super) fn of(plan: &Plan, clips: &[ClipMeta]) -> Self {
        Known {
            villages: plan.villages.iter().map(|v| v.id.to_string()).collect(),
            townships: plan.villages.iter().map(|v| v.township.clone()).collect(),
            grids: plan.villages.iter().flat_map(|v| v.grids.iter().cloned()).collect(),
            languages: plan.station.languages.iter().map(|l| l.to_string()).collect(),
            messages: clips.iter().filter_map(|c| c.message.as_ref().map(|m| m.to_string())).collect(),
        }
    }
}

/// Characters Rust's `char::is_whitespace` calls white space (what `trim` removes).
const WHITE: &str = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// One line of text: not blank, no control characters, at most `max` characters.
fn line(max: usize) -> Value {
    json!({"type": "string", "maxLength": max, "allOf": [
        {"pattern": format!("[^{WHITE}]")},
        {"pattern": r"^[^\u0000-\u001f\u007f-\u009f]*$"}
    ]})
}

/// `values` as an enum (a list that can be empty becomes a schema nothing matches).
fn one_of(values: impl IntoIterator<Item = String>) -> Value {
    let v: Vec<String> = values.into_iter().collect();
    if v.is_empty() { json!({"not": {}}) } else { json!({"type": "string", "enum": v}) }
}

/// A query value: one of `values`, or empty (a filter set to "all" on the pages).
fn filter(values: Vec<String>) -> Value {
    let mut all = vec![String::new()];
    all.extend(values);
    json!({"type": "string", "enum": all})
}

/// Every component schema.
pub(super) fn all(k: &Known) -> Map<String, Value> {
    let r = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let slug = json!({"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,63}$"});
    let nullable = |schema: Value| json!({"oneOf": [schema, {"type": "null"}]});
    let kinds: Vec<String> = ClipKind::ALL.iter().map(|c| c.name().to_owned()).collect();
    let date = json!({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"});
    let mut m = Map::new();
    let mut put = |name: &str, v: Value| {
        m.insert(name.to_owned(), v);
    };

    put(
        "Error",
        json!({"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "What is wrong, in one sentence"},
        "problems": {"type": "array", "items": {"type": "string"}}}}),
    );
    put("VillageId", one_of(k.villages.iter().cloned()));
    put("Slug", slug.clone());
    put("ClipId", json!({"type": "string", "pattern": "^[0-9a-f]{16}$"}));
    put("MessageId", slug.clone());
    put("Language", one_of(k.languages.iter().cloned()));
    put("ClipKind", json!({"type": "string", "enum": kinds}));
    put("UserName", json!({"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,31}$"}));
    put(
        "Password",
        json!({"type": "string", "minLength": crate::store::MIN_PASSWORD_CHARS,
        "maxLength": crate::store::MAX_PASSWORD_CHARS}),
    );
    put("Role", json!({"type": "string", "enum": ["admin", "operator", "uploader"]}));
    put(
        "TokenLabel",
        json!({"type": "string", "minLength": 1, "maxLength": crate::store::MAX_TOKEN_LABEL_CHARS,
        "pattern": format!("[^{WHITE}]")}),
    );
    put("Title", line(MAX_TITLE_CHARS));
    put("Transcript", json!({"type": "string", "maxLength": MAX_TRANSCRIPT_CHARS}));
    put("Date", date.clone());

    put(
        "Login",
        json!({"type": "object", "additionalProperties": false, "required": ["name", "password"],
        "properties": {"name": {"type": "string", "maxLength": 200}, "password": {"type": "string", "maxLength": 1000}}}),
    );
    put(
        "Setup",
        json!({"type": "object", "additionalProperties": false, "required": ["token", "name", "password"],
        "properties": {"token": {"type": "string", "maxLength": 200}, "name": r("UserName"), "password": r("Password")}}),
    );
    put(
        "Session",
        json!({"type": "object", "required": ["name", "role"], "properties": {
        "name": {"type": "string"}, "role": r("Role"), "csrf": {"type": ["string", "null"]}}}),
    );

    put(
        "Clip",
        json!({"type": "object", "required": ["id", "title", "language", "kind", "review"], "properties": {
        "id": r("ClipId"), "title": {"type": "string"}, "language": {"type": "string"}, "kind": {"type": "string"},
        "review": {"type": "object"}, "existing": {"type": "boolean"}}}),
    );
    put(
        "Upload",
        json!({"type": "object", "required": ["file", "language"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "title": r("Title"), "language": r("Language"), "kind": r("ClipKind"), "message": r("MessageId"),
        "transcript": r("Transcript"), "expires": date,
        "max_plays_per_day": {"type": "integer", "minimum": 1, "maximum": 1000}}}),
    );
    put(
        "ClipChange",
        json!({"type": "object", "additionalProperties": false, "properties": {
        "title": r("Title"),
        "transcript": nullable(r("Transcript")),
        "message": {"oneOf": [{"const": ""}, r("MessageId"), {"type": "null"}]},
        "expires": {"oneOf": [{"const": ""}, r("Date"), {"type": "null"}]},
        "max_plays_per_day": nullable(json!({"type": "integer", "minimum": 1,
            "maximum": crate::library::edit::MAX_PLAYS_PER_DAY}))}}),
    );
    put(
        "Review",
        json!({"oneOf": [
        {"type": "object", "additionalProperties": false, "required": ["decision"], "properties": {
            "decision": {"const": "approve"}, "reason": {"type": "string", "maxLength": 500}}},
        {"type": "object", "additionalProperties": false, "required": ["decision", "reason"], "properties": {
            "decision": {"const": "reject"}, "reason": line(500)}}]}),
    );
    put(
        "QueuedImport",
        json!({"type": "object", "required": ["id", "name", "state", "ahead"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "owner": {"type": "string"},
        "state": {"enum": ["queued", "importing"]}, "ahead": {"type": "integer"}, "since": {"type": "string"}}}),
    );

    let slot = json!({"type": "object", "additionalProperties": false, "required": ["cron"], "properties": {
        "cron": {"type": "string", "maxLength": 100},
        "in_quiet_hours": {"enum": ["skip", "defer", null]},
        "chime": {"oneOf": [{"type": "boolean"}, {"type": "string", "maxLength": 64}, {"type": "null"}]},
        "from": nullable(r("Date")), "until": nullable(r("Date")),
        "on_holidays": {"enum": ["play", "skip", null]}}});
    put(
        "VillagePlaylist",
        json!({"type": "object", "additionalProperties": false, "properties": {
        "mode": {"enum": ["in-order", "rotate", "shuffle"]},
        "items": {"type": "array", "maxItems": crate::config::write::MAX_ITEMS,
            "items": {"type": "string", "maxLength": 64}},
        "gap_s": {"type": "number", "minimum": 0, "maximum": crate::config::write::MAX_GAP_S},
        "repeat": {"type": "integer", "minimum": 1, "maximum": crate::config::write::MAX_REPEAT},
        "slots": {"type": "array", "maxItems": crate::config::write::MAX_SLOTS, "items": slot}}}),
    );

    let list = |values: &BTreeSet<String>| json!({"type": "array", "items": one_of(values.iter().cloned())});
    put(
        "Targets",
        json!({"type": "object", "additionalProperties": false,
        "properties": {
            "villages": {"type": "array", "items": r("VillageId")},
            "townships": list(&k.townships), "grids": list(&k.grids), "all": {"type": "boolean"}},
        "anyOf": [
            {"required": ["all"], "properties": {"all": {"const": true}}},
            {"required": ["villages"], "properties": {"villages": {"minItems": 1}}},
            {"required": ["townships"], "properties": {"townships": {"minItems": 1}}},
            {"required": ["grids"], "properties": {"grids": {"minItems": 1}}}]}),
    );
    let priority = json!({"enum": ["manual", "emergency"]});
    put(
        "BroadcastRequest",
        json!({"oneOf": [
        {"type": "object", "additionalProperties": false, "required": ["targets", "message"], "properties": {
            "targets": r("Targets"), "message": one_of(k.messages.iter().cloned()), "priority": priority}},
        {"type": "object", "additionalProperties": false, "required": ["targets", "clip"], "properties": {
            "targets": r("Targets"), "clip": r("ClipId"), "priority": priority}}]}),
    );
    put(
        "Broadcast",
        json!({"type": "object", "required": ["id", "cues", "skipped"], "properties": {
        "id": {"type": "string"}, "cues": {"type": "array"}, "skipped": {"type": "array"}}}),
    );
    put(
        "AsRunRow",
        json!({"type": "object", "required": ["cue", "village", "scheduled", "outcome"], "properties": {
        "cue": {"type": "string"}, "village": {"type": "string"}, "scheduled": {"type": "string"},
        "outcome": {"type": "string"}, "detail": {"type": ["string", "null"]},
        "detail_zh": {"type": ["string", "null"]}}}),
    );

    put(
        "LineView",
        json!({"type": "object", "required": ["village", "name", "zone", "forced", "relay_failing", "monitored", "state"],
        "properties": {"village": {"type": "string"}, "name": {"type": "string"}, "zone": {"type": "string"},
        "power": {"type": "boolean"}, "forced": {"type": "boolean"}, "relay_failing": {"type": "boolean"},
        "monitored": {"type": "boolean"}, "heard": r("Heard"), "heard_at": {"type": "string", "format": "date-time"},
        "line_test": {"type": "string"}, "last_good_test": {"type": "string", "format": "date-time"},
        "summary": {"type": "object"}, "state": {"enum": ["ok", "warn", "bad"]}}}),
    );
    put("Heard", json!({"enum": ["yes", "no", "weak", "distorted"]}));
    put(
        "LineTest",
        json!({"type": "object", "required": ["cue", "village", "at"], "properties": {
        "cue": {"type": "string"}, "village": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
        "heard": {"type": "object", "required": ["heard", "detail"], "properties": {"heard": r("Heard"),
        "level_dbfs": {"type": ["number", "null"]}, "delay_ms": {"type": ["integer", "null"]}, "detail": {"type": "object"}}}}}),
    );
    put(
        "PowerRequest",
        json!({"type": "object", "additionalProperties": false, "required": ["on"],
        "properties": {"on": {"type": ["boolean", "null"]}}}),
    );
    put(
        "User",
        json!({"type": "object", "required": ["name", "role"], "properties": {
        "name": {"type": "string"}, "role": r("Role"), "disabled": {"type": "boolean"}}}),
    );
    put(
        "NewUser",
        json!({"type": "object", "additionalProperties": false, "required": ["name", "role", "password"],
        "properties": {"name": r("UserName"), "role": r("Role"), "password": r("Password")}}),
    );
    put(
        "UserChange",
        json!({"type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
        "role": r("Role"), "password": r("Password"), "disabled": {"type": "boolean"}}}),
    );
    put(
        "NewToken",
        json!({"type": "object", "additionalProperties": false, "required": ["label"],
        "properties": {"label": r("TokenLabel")}}),
    );
    put(
        "MadeToken",
        json!({"type": "object", "required": ["user", "label", "token"], "properties": {
        "user": {"type": "string"}, "label": {"type": "string"}, "token": {"type": "string"}}}),
    );
    put(
        "Health",
        json!({"type": "object", "required": ["status", "problems"], "properties": {
        "status": {"enum": ["ok", "degraded"]}, "problems": {"type": "array", "items": {"type": "object",
            "required": ["reason", "message", "message_zh", "since"]}}}}),
    );
    put("LogVillage", json!({"anyOf": [{"const": ""}, slug]}));
    put("ReviewFilter", filter(vec!["pending".into(), "approved".into(), "rejected".into()]));
    put("KindFilter", filter(ClipKind::ALL.iter().map(|c| c.name().to_owned()).collect()));
    put("LanguageFilter", filter(k.languages.clone()));
    m
}
