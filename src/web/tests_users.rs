//! Router tests of the users API: who may call it, CSRF, what it refuses and what it audits.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::web::testkit::{As, PASSWORD, TestApp, demo_app, send};

fn error(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["error"].as_str().unwrap_or_else(|| panic!("no error sentence: {body}")).to_owned()
}

fn audit_actions(app: &TestApp) -> Vec<(Option<String>, String, Option<String>)> {
    app.state.db().audit_log(100).unwrap().into_iter().map(|e| (e.user, e.action, e.detail)).collect()
}

#[tokio::test]
async fn anonymous_callers_get_401_and_other_roles_403() {
    let (_dir, app) = demo_app();
    let (status, _, body) = send(&app, As::Anonymous, Method::GET, "/api/users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error(&body), "Please log in first.");
    let new = json!({"name": "li.ming", "role": "uploader", "password": PASSWORD});
    let (status, _, _) = send(&app, As::Anonymous, Method::POST, "/api/users", Some(new.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for user in ["operator", "uploader"] {
        let (status, _, body) = send(&app, As::Session(user), Method::GET, "/api/users", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
        assert!(error(&body).contains("may not do this (manage-users)"), "{body}");
        let (status, _, _) = send(&app, As::Session(user), Method::POST, "/api/users", Some(new.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
        let (status, _, _) = send(&app, As::Bearer(user), Method::DELETE, "/api/users/admin", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
    }
    assert!(app.state.db().user("li.ming").unwrap().is_none());
}

#[tokio::test]
async fn a_cookie_without_the_csrf_header_changes_nothing() {
    let (_dir, app) = demo_app();
    let new = json!({"name": "li.ming", "role": "uploader", "password": PASSWORD});
    let (status, _, body) = send(&app, As::SessionNoCsrf("admin"), Method::POST, "/api/users", Some(new)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error(&body).contains("CSRF"), "{body}");
    let (status, _, _) = send(&app, As::SessionNoCsrf("admin"), Method::DELETE, "/api/users/operator", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(app.state.db().user("li.ming").unwrap().is_none());
    assert!(app.state.db().user("operator").unwrap().is_some());
    // A GET needs no CSRF token.
    let (status, _, _) = send(&app, As::SessionNoCsrf("admin"), Method::GET, "/api/users", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_adds_changes_and_removes_a_user_and_each_change_is_audited() {
    let (_dir, app) = demo_app();
    let admin = As::Session("admin");
    let new = json!({"name": "li.ming", "role": "uploader", "password": PASSWORD});
    let (status, _, body) = send(&app, admin, Method::POST, "/api/users", Some(new)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["name"].as_str(), v["role"].as_str(), v["disabled"].as_bool()),
        (Some("li.ming"), Some("uploader"), Some(false))
    );
    assert!(app.state.db().verify_password("li.ming", PASSWORD).unwrap().is_some());

    let (status, _, body) = send(&app, admin, Method::GET, "/api/users", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<String> = serde_json::from_str::<Vec<Value>>(&body)
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["admin", "li.ming", "operator", "uploader"]);

    let change = json!({"role": "operator", "password": "another long password", "disabled": true});
    let (status, _, body) = send(&app, admin, Method::PATCH, "/api/users/li.ming", Some(change)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((v["role"].as_str(), v["disabled"].as_bool()), (Some("operator"), Some(true)));
    let (status, _, _) = send(&app, admin, Method::PATCH, "/api/users/li.ming", Some(json!({"disabled": false}))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(app.state.db().verify_password("li.ming", "another long password").unwrap().is_some());

    let (status, _, body) = send(&app, admin, Method::DELETE, "/api/users/li.ming", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(app.state.db().user("li.ming").unwrap().is_none());
    let (status, _, body) = send(&app, admin, Method::DELETE, "/api/users/li.ming", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error(&body), "There is no user named `li.ming`.");

    let audit = audit_actions(&app);
    let by_admin: Vec<(&str, &str)> = audit
        .iter()
        .rev()
        .filter(|(u, _, _)| u.as_deref() == Some("admin"))
        .map(|(_, a, d)| (a.as_str(), d.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        by_admin,
        [
            ("user-add", "li.ming as uploader"),
            ("user-role", "li.ming to operator"),
            ("user-disable", "li.ming"),
            ("user-passwd", "li.ming"),
            ("user-enable", "li.ming"),
            ("user-remove", "li.ming"),
        ]
    );
}

#[tokio::test]
async fn an_api_token_works_without_csrf_and_tokens_are_made_and_revoked() {
    let (_dir, app) = demo_app();
    let bearer = As::Bearer("admin");
    let (status, _, body) = send(&app, bearer, Method::GET, "/api/users", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new = json!({"name": "script", "role": "operator", "password": PASSWORD});
    let (status, _, body) = send(&app, bearer, Method::POST, "/api/users", Some(new)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, _, body) =
        send(&app, bearer, Method::POST, "/api/users/script/tokens", Some(json!({"label": "cron"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = serde_json::from_str::<Value>(&body).unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(app.state.db().api_token_user(&token).unwrap().map(|u| u.name), Some("script".into()));
    let (_, _, body) = send(&app, bearer, Method::GET, "/api/users", None).await;
    assert!(body.contains(r#""label":"cron""#) && !body.contains(&token), "{body}");

    let (status, _, body) =
        send(&app, bearer, Method::POST, "/api/users/script/tokens", Some(json!({"label": "cron"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error(&body).starts_with("`script` already has an API token labelled `cron`"), "{body}");
    let (status, _, body) =
        send(&app, bearer, Method::POST, "/api/users/script/tokens", Some(json!({"label": " "}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error(&body).contains("label"), "{body}");

    let (status, _, _) = send(&app, bearer, Method::DELETE, "/api/users/script/tokens/cron", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(app.state.db().api_token_user(&token).unwrap().is_none());
    let (status, _, body) = send(&app, bearer, Method::DELETE, "/api/users/script/tokens/cron", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error(&body), "There is no API token labelled `cron` for `script`.");
    let actions: Vec<String> = audit_actions(&app).into_iter().map(|(_, a, _)| a).collect();
    assert!(actions.contains(&"token-create".into()) && actions.contains(&"token-revoke".into()), "{actions:?}");
}

#[tokio::test]
async fn bad_input_is_refused_with_a_sentence_and_changes_nothing() {
    let (_dir, app) = demo_app();
    let admin = As::Session("admin");
    let cases = [
        (
            json!({"name": "li.ming", "role": "uploader", "password": "short"}),
            StatusCode::BAD_REQUEST,
            "The password is too short: use at least 8 characters.",
        ),
        (
            json!({"name": "li.ming", "role": "boss", "password": PASSWORD}),
            StatusCode::BAD_REQUEST,
            "`boss` is not a role (one of: admin, operator, uploader).",
        ),
        (
            json!({"name": "Li Ming", "role": "uploader", "password": PASSWORD}),
            StatusCode::BAD_REQUEST,
            "`Li Ming` is not a user name",
        ),
        (
            json!({"name": "operator", "role": "uploader", "password": PASSWORD}),
            StatusCode::CONFLICT,
            "There is already a user named `operator`.",
        ),
        (
            json!({"name": "li.ming", "role": "uploader"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "The request body is not a new user",
        ),
    ];
    for (body, want_status, want) in cases {
        let (status, _, text) = send(&app, admin, Method::POST, "/api/users", Some(body)).await;
        assert_eq!(status, want_status, "{text}");
        assert!(error(&text).starts_with(want), "{text} (wanted {want})");
    }
    assert!(app.state.db().user("li.ming").unwrap().is_none());
    let (status, _, text) = send(&app, admin, Method::PATCH, "/api/users/operator", Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&text), "Nothing to change: give a role, a password or disabled.");
    let (status, _, text) =
        send(&app, admin, Method::PATCH, "/api/users/operator", Some(json!({"role": "admin", "password": "short"})))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(app.state.db().user("operator").unwrap().unwrap().role, crate::domain::Role::Operator);
    let (status, _, _) = send(&app, admin, Method::PATCH, "/api/users/nobody", Some(json!({"disabled": true}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_cannot_delete_or_disable_themself_nor_demote_the_last_admin() {
    let (_dir, app) = demo_app();
    let admin = As::Session("admin");
    let (status, _, body) = send(&app, admin, Method::DELETE, "/api/users/admin", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error(&body), "You cannot delete yourself; another admin can.");
    let (status, _, body) = send(&app, admin, Method::PATCH, "/api/users/admin", Some(json!({"disabled": true}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error(&body), "You cannot disable yourself; another admin can.");
    let (status, _, body) =
        send(&app, admin, Method::PATCH, "/api/users/admin", Some(json!({"role": "operator"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error(&body).contains("is the last admin who can log in"), "{body}");
    let u = app.state.db().user("admin").unwrap().unwrap();
    assert_eq!((u.role, u.disabled), (crate::domain::Role::Admin, false));
}
