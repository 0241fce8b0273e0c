//! `GET /api/openapi.json`: the JSON API described as OpenAPI 3.1 (the contract in
//! docs/web-api.md), made from the running plan, so that what it says is valid is what the
//! station accepts: village ids, townships, grids, languages and messages are listed as the
//! station has them, ids carry their patterns, texts their lengths, and every operation lists
//! every status it can answer with. `make test` runs schemathesis against it
//! (`tests/schemathesis.rs`); the tests below check that every operation is routed and that
//! the auth matrix covers every change.

mod schemas;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::AppState;
use crate::config::Plan;
use schemas::Known;

/// The routes of this file.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(serve))
}

async fn serve(State(st): State<AppState>) -> Json<Value> {
    let clips = st.library().list().map(|(c, _)| c).unwrap_or_default();
    let doc = {
        let station = st.station();
        document(station.plan(), &clips)
    };
    Json(doc)
}

/// Error responses by status, with what each means.
fn error_response(code: u16) -> (String, Value) {
    let what = match code {
        400 => "The request is malformed (a value out of range, a query that does not parse)",
        401 => "Nobody is logged in, or the token is not valid",
        403 => "The role may not do this, or the page's CSRF token is missing",
        404 => "There is no such clip, village, user, token or broadcast",
        409 => "It conflicts with the station's state (in use, taken, the last admin…)",
        413 => "The body is too large",
        415 => "The body is not of the media type this operation takes",
        416 => "The range asked for is not in the file",
        422 => "The body is JSON of the wrong shape, or its content does not check",
        429 => "Too many attempts: wait as Retry-After says",
        503 => "The station is degraded (see the problems)",
        507 => "The station's disk is full: the change was not saved (broadcasting goes on)",
        _ => "An error",
    };
    (
        code.to_string(),
        json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
    )
}

/// An operation: `summary`, the success `ok` (status, description, content), the error
/// statuses it can answer with, the request body, and parameters.
struct Op<'a> {
    summary: &'a str,
    ok: Vec<(u16, &'a str, Option<Value>)>,
    errors: &'a [u16],
    body: Option<Value>,
    params: Vec<Value>,
    public: bool,
}

impl<'a> Op<'a> {
    fn new(summary: &'a str, ok: u16, content: Option<Value>) -> Self {
        Op { summary, ok: vec![(ok, "Success", content)], errors: &[], body: None, params: Vec::new(), public: false }
    }

    fn errors(mut self, errors: &'a [u16]) -> Self {
        self.errors = errors;
        self
    }

    fn json_body(mut self, schema: Value) -> Self {
        self.body = Some(json!({"required": true, "content": {"application/json": {"schema": schema}}}));
        self
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn param(mut self, p: Value) -> Self {
        self.params.push(p);
        self
    }

    fn also(mut self, code: u16, description: &'a str, content: Option<Value>) -> Self {
        self.ok.push((code, description, content));
        self
    }

    fn public(mut self) -> Self {
        self.public = true;
        self
    }

    fn build(self) -> Value {
        let mut responses = Map::new();
        for (code, description, content) in self.ok {
            let mut r = json!({"description": description});
            if let Some(c) = content {
                r["content"] = c;
            }
            responses.insert(code.to_string(), r);
        }
        let mut errors: Vec<u16> = self.errors.to_vec();
        if !self.public {
            errors.extend([401, 403]);
        }
        if self.body.as_ref().is_some_and(|b| b["content"].get("application/json").is_some()) {
            errors.extend([400, 413, 415, 422]);
        }
        errors.sort_unstable();
        errors.dedup();
        for code in errors {
            let (k, v) = error_response(code);
            responses.insert(k, v);
        }
        let mut o = json!({"summary": self.summary, "responses": responses});
        if let Some(b) = self.body {
            o["requestBody"] = b;
        }
        if !self.params.is_empty() {
            o["parameters"] = Value::Array(self.params);
        }
        if self.public {
            o["security"] = json!([]);
        }
        o
    }
}

fn json_content(schema: Value) -> Option<Value> {
    Some(json!({"application/json": {"schema": schema}}))
}

fn path_param(name: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

/// The OpenAPI document for a station running `plan` with `clips` in its library.
pub fn document(plan: &Plan, clips: &[crate::library::ClipMeta]) -> Value {
    let k = Known::of(plan, clips);
    let r = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let obj = json!({"type": "object"});
    let arr = |items: Value| json!({"type": "array", "items": items});
    let village = path_param("id", r("VillageId"));
    let clip = path_param("id", r("ClipId"));
    let user = path_param("name", r("UserName"));
    let wav_or_bytes = Some(json!({"audio/wav": {}, "application/octet-stream": {}, "audio/mpeg": {},
        "audio/flac": {}, "audio/ogg": {}, "audio/opus": {}, "audio/mp4": {}}));
    let mut paths = Map::new();
    let mut add = |path: &str, method: &str, op: Op<'_>| {
        let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        item[method] = op.build();
    };

    add(
        "/api/session",
        "post",
        Op::new("Log in (a session cookie)", 200, json_content(r("Session")))
            .public()
            .errors(&[401, 429, 507])
            .json_body(r("Login")),
    );
    add("/api/session", "get", Op::new("Who am I (name, role, CSRF token)", 200, json_content(r("Session"))));
    add("/api/session", "delete", Op::new("Log out", 204, None));
    add(
        "/api/setup",
        "post",
        Op::new("Create the first admin with the one-time setup token", 200, json_content(r("Session")))
            .public()
            .errors(&[403, 409, 507])
            .json_body(r("Setup")),
    );

    add(
        "/api/clips",
        "get",
        Op::new("List clips", 200, json_content(arr(r("Clip"))))
            .errors(&[400])
            .param(query("language", r("LanguageFilter"), "only this language (empty: all)"))
            .param(query("kind", r("KindFilter"), "only this kind (empty: all)"))
            .param(query("review", r("ReviewFilter"), "only this review state (empty: all)"))
            .param(query(
                "q",
                json!({"type": "string", "maxLength": 200}),
                "text in the title, transcript, message or id",
            )),
    );
    add(
        "/api/clips",
        "post",
        Op::new("Upload a recording; it is imported like `xiangyin import`", 201, json_content(r("Clip")))
            .also(200, "The same bytes are already in the library", json_content(r("Clip")))
            .errors(&[400, 413, 415, 422, 429, 507])
            .body(json!({"required": true, "content": {"multipart/form-data": {"schema": r("Upload")}}})),
    );
    add(
        "/api/clips/{id}",
        "get",
        Op::new("One clip, with what uses it", 200, json_content(r("Clip"))).errors(&[400, 404]).param(clip.clone()),
    );
    add(
        "/api/clips/{id}",
        "patch",
        Op::new("Edit a clip's details (uploaders: their own)", 200, json_content(r("Clip")))
            .errors(&[404, 409, 507])
            .param(clip.clone())
            .json_body(r("ClipChange")),
    );
    add(
        "/api/clips/{id}",
        "delete",
        Op::new("Delete a clip nothing uses (409 names what does)", 204, None)
            .errors(&[400, 404, 409, 507])
            .param(clip.clone()),
    );
    add(
        "/api/clips/{id}/original",
        "get",
        Op::new("Download the file as uploaded", 200, wav_or_bytes.clone())
            .also(206, "Part of the file (Range)", wav_or_bytes.clone())
            .errors(&[400, 404, 416])
            .param(clip.clone()),
    );
    add(
        "/api/clips/{id}/audio",
        "get",
        Op::new("The canonical WAV for preview", 200, Some(json!({"audio/wav": {}})))
            .also(206, "Part of the file (Range)", Some(json!({"audio/wav": {}})))
            .errors(&[400, 404, 416])
            .param(clip.clone()),
    );
    add(
        "/api/clips/{id}/review",
        "post",
        Op::new("Approve, or reject with a reason", 200, json_content(r("Clip")))
            .errors(&[404, 507])
            .param(clip)
            .json_body(r("Review")),
    );
    add(
        "/api/imports",
        "get",
        Op::new("Uploads waiting to be imported, or importing now", 200, json_content(arr(r("QueuedImport")))),
    );

    add("/api/villages", "get", Op::new("Every village's live state", 200, json_content(arr(obj.clone()))));
    add(
        "/api/villages/{id}/schedule",
        "get",
        Op::new("The slots and playlists that reach a village", 200, json_content(obj.clone()))
            .errors(&[404])
            .param(village.clone()),
    );
    add(
        "/api/villages/{id}/playlist",
        "put",
        Op::new(
            "Replace the village's own playlist and slots; checked like `xiangyin check` (422 lists the problems)",
            200,
            json_content(obj.clone()),
        )
        .errors(&[404, 507])
        .param(village.clone())
        .json_body(r("VillagePlaylist")),
    );
    add(
        "/api/villages/{id}/day",
        "get",
        Op::new("A village's day: quiet hours and planned cues", 200, json_content(obj.clone()))
            .errors(&[400, 404])
            .param(village)
            .param(query(
                "date",
                json!({"type": "string", "format": "date"}),
                "the station-time date (default today); at most 400 days after today, farther is 400",
            )),
    );
    add(
        "/api/events",
        "get",
        Op::new(
            "Server-sent events: `villages` whenever their state changes",
            200,
            Some(json!({"text/event-stream": {}})),
        ),
    );
    add(
        "/api/broadcasts",
        "post",
        Op::new("Broadcast now to villages, townships, grids or all", 201, json_content(r("Broadcast")))
            .errors(&[404, 409])
            .json_body(r("BroadcastRequest")),
    );
    add(
        "/api/broadcasts/{id}",
        "delete",
        Op::new("Stop a broadcast", 204, None)
            .errors(&[404])
            .param(path_param("id", json!({"type": "string", "maxLength": 100}))),
    );
    let line_village = path_param("village", r("VillageId"));
    add(
        "/api/lines",
        "get",
        Op::new(
            "Every village's line: amplifier power, what its tap heard, its last good test",
            200,
            json_content(arr(r("LineView"))),
        ),
    );
    add(
        "/api/lines/{village}/test",
        "post",
        Op::new(
            "Play the line test tone on a village now; with wait=true, answer with what came back",
            201,
            json_content(r("LineTest")),
        )
        .errors(&[400, 404])
        .param(line_village.clone())
        .param(query(
            "wait",
            json!({"type": "boolean"}),
            "wait (up to 25 s) for the verdict of a monitored line",
        )),
    );
    add(
        "/api/lines/{village}/power",
        "put",
        Op::new("Force a village's amplifier on or off, or (null) give it back to the schedule", 204, None)
            .errors(&[404])
            .param(line_village)
            .json_body(r("PowerRequest")),
    );
    add(
        "/api/log",
        "get",
        Op::new(
            "The as-run log, oldest first",
            200,
            Some(json!({
        "application/json": {"schema": arr(r("AsRunRow"))}, "text/csv": {}})),
        )
        .errors(&[400])
        .param(query("village", r("LogVillage"), "only this village (empty: all)"))
        .param(query("since", json!({"type": "string", "format": "date-time"}), "scheduled at or after"))
        .param(query("until", json!({"type": "string", "format": "date-time"}), "scheduled before"))
        .param(query("limit", json!({"type": "integer", "minimum": 0, "maximum": 100_000}), "at most this many rows"))
        .param(query("format", json!({"enum": ["json", "csv"]}), "csv for a spreadsheet")),
    );
    add(
        "/api/listen/{zone}",
        "get",
        Op::new(
            "Listen in: the zone's live output as an endless 16-bit WAV stream",
            200,
            Some(json!({"audio/wav": {}})),
        )
        .errors(&[400, 404])
        .param(path_param("zone", r("VillageId"))),
    );

    add("/api/users", "get", Op::new("List users", 200, json_content(arr(r("User")))));
    add(
        "/api/users",
        "post",
        Op::new("Add a user", 201, json_content(r("User"))).errors(&[409, 507]).json_body(r("NewUser")),
    );
    add(
        "/api/users/{name}",
        "patch",
        Op::new("Change role, password or disabled", 200, json_content(r("User")))
            .errors(&[404, 409, 507])
            .param(user.clone())
            .json_body(r("UserChange")),
    );
    add(
        "/api/users/{name}",
        "delete",
        Op::new("Remove a user", 204, None).errors(&[404, 409, 507]).param(user.clone()),
    );
    add(
        "/api/users/{name}/tokens",
        "post",
        Op::new("Make an API token (shown once)", 201, json_content(r("MadeToken")))
            .errors(&[404, 409, 507])
            .param(user.clone())
            .json_body(r("NewToken")),
    );
    add(
        "/api/users/{name}/tokens/{label}",
        "delete",
        Op::new("Revoke an API token", 204, None)
            .errors(&[404, 507])
            .param(user)
            .param(path_param("label", r("TokenLabel"))),
    );

    add("/api/openapi.json", "get", Op::new("This document", 200, json_content(obj.clone())).public());
    add(
        "/healthz",
        "get",
        Op::new("ok when nothing a village would notice is wrong", 200, json_content(r("Health")))
            .also(503, "degraded: the problems say what", json_content(r("Health")))
            .public(),
    );
    add("/metrics", "get", Op::new("Prometheus metrics", 200, Some(json!({"text/plain": {}}))).public());

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "xiangyin (乡音) station API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Clips, review, villages, playlists, broadcast now, as-run log and users of one \
                station. Authenticate with the session cookie (and the X-CSRF-Token header on every \
                non-GET request) or `Authorization: Bearer TOKEN` (`xiangyin user token`). Every error is \
                `{\"error\": sentence}`. Lists of villages, townships, grids, languages and messages are the \
                running station's."
        },
        "components": {
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "xy_session"},
                "bearer": {"type": "http", "scheme": "bearer"}
            },
            "schemas": schemas::all(&k),
        },
        "security": [{"cookie": []}, {"bearer": []}],
        "paths": paths,
    })
}

#[cfg(test)]
mod tests;
