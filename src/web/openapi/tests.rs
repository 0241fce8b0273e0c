//! The document against the router: every operation routed, the auth matrix complete.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tower::ServiceExt;

use crate::web::WebConfig;
use crate::web::testkit::TestApp;

fn doc_of(app: &TestApp) -> serde_json::Value {
    let clips = app.state.library().list().unwrap().0;
    super::document(app.state.station().plan(), &clips)
}

/// Every operation the document lists is routed: an anonymous call gets an answer from a
/// handler (401, 400, 200…), never the router's own empty 404 or a 405.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed() {
    let dir = tempfile::tempdir().unwrap();
    crate::web::testkit::copy_demo(dir.path());
    let app = TestApp::new(dir.path(), WebConfig::default());
    let doc = doc_of(&app);
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
        ("POST", "/api/lines/dongmen/test".into(), String::new(), Some("uploader")),
        ("PUT", "/api/lines/dongmen/power".into(), json(serde_json::json!({"on": true})), Some("uploader")),
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
    let documented: Vec<(String, String)> = doc_of(&app)["paths"]
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
