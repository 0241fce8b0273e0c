//! `GET /api/openapi.json`: the JSON API described as OpenAPI 3.1 (the contract in
//! docs/web-api.md). A test checks that every documented operation is routed.

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use super::AppState;

/// The routes of this file.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(|| async { Json(document()) }))
}

fn op(summary: &str, role: Option<&str>, body: Option<Value>, ok: &str) -> Value {
    let mut o = json!({
        "summary": summary,
        "responses": {
            ok: {"description": "Success"},
            "400": {"$ref": "#/components/responses/Error"},
            "401": {"$ref": "#/components/responses/Error"},
        }
    });
    if let Some(r) = role {
        o["description"] = json!(format!("Needs a role allowing `{r}`; 403 otherwise."));
        o["responses"]["403"] = json!({"$ref": "#/components/responses/Error"});
    }
    if let Some(b) = body {
        o["requestBody"] = json!({"required": true, "content": b});
    }
    o
}

fn json_body(schema: Value) -> Option<Value> {
    Some(json!({"application/json": {"schema": schema}}))
}

fn id_param(name: &str) -> Value {
    json!([{"name": name, "in": "path", "required": true, "schema": {"type": "string"}}])
}

/// The OpenAPI document.
pub fn document() -> Value {
    let obj = |props: Value| json!({"type": "object", "properties": props});
    let s = json!({"type": "string"});
    let targets = obj(json!({
        "villages": {"type": "array", "items": s}, "townships": {"type": "array", "items": s},
        "grids": {"type": "array", "items": s}, "all": {"type": "boolean"}
    }));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "xiangyin (乡音) station API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Clips, review, villages, playlists, broadcast now, as-run log and users of one \
                station. Authenticate with the session cookie (and the X-CSRF-Token header on every \
                non-GET request) or `Authorization: Bearer TOKEN` (`xiangyin user token`). Errors are \
                `{\"error\": sentence}`."
        },
        "components": {
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "xy_session"},
                "bearer": {"type": "http", "scheme": "bearer"}
            },
            "responses": {
                "Error": {"description": "A sentence saying what is wrong", "content": {"application/json": {
                    "schema": obj(json!({"error": s, "problems": {"type": "array", "items": s}}))}}}
            }
        },
        "security": [{"cookie": []}, {"bearer": []}],
        "paths": {
            "/api/session": {
                "post": op("Log in", None, json_body(obj(json!({"name": s, "password": s}))), "200"),
                "get": op("Who am I (name, role, CSRF token)", None, None, "200"),
                "delete": op("Log out", None, None, "204"),
            },
            "/api/setup": {"post": op("Create the first admin with the one-time setup token", None,
                json_body(obj(json!({"token": s, "name": s, "password": s}))), "200")},
            "/api/clips": {
                "get": op("List clips (filters: language, kind, review, q)", None, None, "200"),
                "post": op("Upload a recording (multipart: file, title, language, kind, message, transcript, \
                    expires, max_plays_per_day)", Some("upload"),
                    Some(json!({"multipart/form-data": {"schema": obj(json!({"file": {"type": "string",
                        "format": "binary"}, "title": s, "language": s, "kind": s}))}})), "201"),
            },
            "/api/clips/{id}": {
                "parameters": id_param("id"),
                "get": op("One clip", None, None, "200"),
                "patch": op("Edit a clip's details", Some("edit-own-clips or review"),
                    json_body(obj(json!({"title": s, "transcript": s, "message": s, "expires": s}))), "200"),
                "delete": op("Delete an unused clip (409 when used)", Some("edit-own-clips or review"), None, "204"),
            },
            "/api/clips/{id}/original": {"parameters": id_param("id"),
                "get": op("Download the uploaded file", None, None, "200")},
            "/api/clips/{id}/audio": {"parameters": id_param("id"),
                "get": op("The canonical WAV for preview (Range supported)", None, None, "200")},
            "/api/clips/{id}/review": {"parameters": id_param("id"),
                "post": op("Approve or reject (with a reason)", Some("review"),
                    json_body(obj(json!({"decision": {"enum": ["approve", "reject"]}, "reason": s}))), "200")},
            "/api/villages": {"get": op("Every village's live state", None, None, "200")},
            "/api/villages/{id}/schedule": {"parameters": id_param("id"),
                "get": op("The slots and playlists that reach a village", None, None, "200")},
            "/api/villages/{id}/playlist": {"parameters": id_param("id"),
                "put": op("Replace the village's own playlist and slots (checked like `xiangyin check`; 422 \
                    lists problems as file:line:col)", Some("edit-playlists"), json_body(obj(json!({
                        "mode": {"enum": ["in-order", "rotate", "shuffle"]},
                        "items": {"type": "array", "items": s}, "gap_s": {"type": "number"},
                        "repeat": {"type": "integer"}, "slots": {"type": "array"}}))), "200")},
            "/api/villages/{id}/day": {"parameters": id_param("id"),
                "get": op("A village's day: quiet hours and planned cues (query: date)", None, None, "200")},
            "/api/events": {"get": op("Server-sent events: `villages` whenever their state changes", None, None,
                "200")},
            "/api/broadcasts": {"post": op("Broadcast now to villages, townships, grids or all", Some("broadcast"),
                json_body(obj(json!({"targets": targets, "message": s, "clip": s,
                    "priority": {"enum": ["manual", "emergency"]}}))), "201")},
            "/api/broadcasts/{id}": {"parameters": id_param("id"),
                "delete": op("Stop a broadcast", Some("broadcast"), None, "204")},
            "/api/log": {"get": op("The as-run log (query: village, since, until, limit, format=csv)", None, None,
                "200")},
            "/api/listen/{zone}": {"parameters": id_param("zone"),
                "get": op("Listen in: the zone's live output as an endless 16-bit WAV stream", None, None, "200")},
            "/api/users": {
                "get": op("List users", Some("manage-users"), None, "200"),
                "post": op("Add a user", Some("manage-users"),
                    json_body(obj(json!({"name": s, "role": {"enum": ["admin", "operator", "uploader"]},
                        "password": s}))), "201"),
            },
            "/api/users/{name}": {"parameters": id_param("name"),
                "patch": op("Change role, password or disabled", Some("manage-users"),
                    json_body(obj(json!({"role": s, "password": s, "disabled": {"type": "boolean"}}))), "200"),
                "delete": op("Remove a user", Some("manage-users"), None, "204"),
            },
            "/api/users/{name}/tokens": {"parameters": id_param("name"),
                "post": op("Make an API token (shown once)", Some("manage-users"),
                    json_body(obj(json!({"label": s}))), "201")},
            "/api/users/{name}/tokens/{label}": {
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": s},
                    {"name": "label", "in": "path", "required": true, "schema": s}],
                "delete": op("Revoke an API token", Some("manage-users"), None, "204")},
            "/api/openapi.json": {"get": {"summary": "This document", "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/healthz": {"get": {"summary": "200 when every output plays; 503 otherwise", "security": [],
                "responses": {"200": {"description": "ok"}, "503": {"description": "degraded"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [],
                "responses": {"200": {"description": "text/plain"}}}},
        }
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use tower::ServiceExt;

    use crate::web::WebConfig;
    use crate::web::testkit::TestApp;

    /// Every operation the document lists is routed: an anonymous call gets an answer from a
    /// handler (401, 400, 200…), never the router's own empty 404 or a 405.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_documented_operation_is_routed() {
        let dir = tempfile::tempdir().unwrap();
        crate::web::testkit::copy_demo(dir.path());
        let app = TestApp::new(dir.path(), WebConfig::default());
        let doc = super::document();
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            let uri = path
                .replace("{id}", "dongmen")
                .replace("{zone}", "dongmen")
                .replace("{name}", "operator")
                .replace("{label}", "x");
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                let req = Request::builder()
                    .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
                    .uri(&uri)
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap();
                let res = app.router.clone().oneshot(req).await.unwrap();
                let status = res.status();
                let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap_or_default();
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is not routed");
                assert!(
                    !(status == StatusCode::NOT_FOUND && body.is_empty()),
                    "{method} {path} is not routed (router 404)"
                );
                checked += 1;
            }
        }
        assert!(checked >= 25, "{checked} operations");
    }

    /// The auth matrix: every mutating operation answers 401 to an anonymous caller, and 403 to a
    /// logged-in caller (with the page's CSRF token) whose role does not allow it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_mutating_operation_refuses_anonymous_and_wrong_roles() {
        let dir = tempfile::tempdir().unwrap();
        crate::web::testkit::copy_demo(dir.path());
        let app = TestApp::new(dir.path(), WebConfig::default());
        let clip = "13ec56b0d9870bbd"; // a demo clip, imported from the command line
        let json = |v: serde_json::Value| v.to_string();
        // (method, uri, body, the role that may not do it — None when every role may)
        let ops: Vec<(&str, String, String, Option<&str>)> = vec![
            ("POST", "/api/clips".into(), String::new(), None),
            ("PATCH", format!("/api/clips/{clip}"), json(serde_json::json!({"title": "x"})), Some("uploader")),
            ("DELETE", format!("/api/clips/{clip}"), String::new(), Some("uploader")),
            (
                "POST",
                format!("/api/clips/{clip}/review"),
                json(serde_json::json!({"decision": "approve"})),
                Some("uploader"),
            ),
            ("PUT", "/api/villages/dongmen/playlist".into(), json(serde_json::json!({})), Some("uploader")),
            (
                "POST",
                "/api/broadcasts".into(),
                json(serde_json::json!({"targets": {"all": true}, "message": "fire-safety"})),
                Some("uploader"),
            ),
            ("DELETE", "/api/broadcasts/b1".into(), String::new(), Some("uploader")),
            (
                "POST",
                "/api/users".into(),
                json(serde_json::json!({"name": "x", "role": "admin", "password": "12345678"})),
                Some("operator"),
            ),
            ("PATCH", "/api/users/uploader".into(), json(serde_json::json!({"role": "admin"})), Some("operator")),
            ("DELETE", "/api/users/uploader".into(), String::new(), Some("operator")),
            ("POST", "/api/users/uploader/tokens".into(), json(serde_json::json!({"label": "x"})), Some("operator")),
            ("DELETE", "/api/users/uploader/tokens/x".into(), String::new(), Some("operator")),
            ("DELETE", "/api/session".into(), String::new(), None),
        ];
        let documented: Vec<(String, String)> = super::document()["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(p, item)| {
                ["post", "put", "patch", "delete"]
                    .into_iter()
                    .filter(|m| item.get(*m).is_some())
                    .map(|m| (m.to_uppercase(), p.clone()))
                    .collect::<Vec<_>>()
            })
            .filter(|(m, p)| !(m == "POST" && (p == "/api/session" || p == "/api/setup")))
            .collect();
        assert_eq!(documented.len(), ops.len(), "every documented mutating operation is in the matrix: {documented:?}");
        for (method, uri, body, wrong) in &ops {
            let send = |cookie: Option<(String, String)>| {
                let mut req = Request::builder()
                    .method(Method::from_bytes(method.as_bytes()).unwrap())
                    .uri(uri)
                    .header("content-type", "application/json");
                if let Some((cookie, csrf)) = cookie {
                    req = req.header("cookie", cookie).header("x-csrf-token", csrf);
                }
                app.router.clone().oneshot(req.body(Body::from(body.clone())).unwrap())
            };
            let res = send(None).await.unwrap();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "anonymous {method} {uri}");
            if let Some(role) = wrong {
                let res = send(Some(app.login(role))).await.unwrap();
                assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} {method} {uri}");
            }
        }
    }
}
