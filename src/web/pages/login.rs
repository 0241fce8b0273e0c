//! `/login` and `/setup?token=`: the two pages anonymous people may see.

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::{Ctx, Nav, Page, PageResult, esc, query_value};
use crate::web::i18n::M;

/// Where to go after logging in: a path of this station from `?next=`, else the dashboard.
fn next_page(ctx: &Ctx) -> String {
    query_value(ctx.query.as_deref(), "next").and_then(|n| same_origin_path(&n)).unwrap_or_else(|| "/".to_owned())
}

/// `next` as a path on this station (`/villages/x?date=…`), or `None` when it could lead
/// anywhere else. Browsers drop TAB, CR and LF from URLs and read `\` as `/`, so a text with any
/// control character or backslash is refused outright; the rest is parsed as a URL against this
/// station and kept only when it stays here, and what is returned is the parsed path, not the
/// text as given.
pub(crate) fn same_origin_path(next: &str) -> Option<String> {
    if !next.starts_with('/') || next.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let base = url::Url::parse("http://station.invalid/").expect("a valid base");
    let u = base.join(next).ok()?;
    if u.origin() != base.origin() || u.path().starts_with("//") || u.path().starts_with("/login") {
        return None;
    }
    let mut out = u.path().to_owned();
    if let Some(q) = u.query() {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

/// `GET /login`: the login form (a logged-in caller goes on to the dashboard).
pub(crate) async fn login(ctx: Ctx) -> PageResult {
    let next = next_page(&ctx);
    if ctx.caller.is_some() {
        return Ok((StatusCode::FOUND, [(header::LOCATION, next)]).into_response());
    }
    let body = format!(
        r#"<section class="panel narrow">
<h1>{title}</h1>
<form id="login-form" data-next="{next}" novalidate>
<label for="login-name">{name}</label>
<input id="login-name" name="name" autocomplete="username" autocapitalize="none" spellcheck="false" required>
<label for="login-password">{password}</label>
<input id="login-password" name="password" type="password" autocomplete="current-password" required>
<p class="error" id="login-error" role="alert" hidden></p>
<button type="submit" id="login-submit" class="primary wide">{submit}</button>
</form>
</section>"#,
        title = esc(ctx.t(M::LoginTitle)),
        next = esc(&next),
        name = esc(ctx.t(M::Name)),
        password = esc(ctx.t(M::Password)),
        submit = esc(ctx.t(M::LoginSubmit)),
    );
    Ok(ctx.render(Page::new("login", ctx.t(M::LoginTitle), Nav::None, body)))
}

/// `GET /setup?token=`: the form that creates the first admin with the link `serve` printed.
pub(crate) async fn setup(ctx: Ctx) -> PageResult {
    let users = ctx.state.db().user_count();
    let users = users.map_err(|e| ctx.fail(e.into()))?;
    if users > 0 {
        let sentence = ctx.t(M::SetupDone);
        let body = format!(
            r#"<section class="panel narrow"><h1>{}</h1><p class="sentence" id="setup-error">{}</p><p><a class="button primary" href="/login">{}</a></p></section>"#,
            esc(ctx.t(M::SetupTitle)),
            esc(sentence),
            esc(ctx.t(M::LoginTitle))
        );
        return Ok(ctx.render(Page::new("setup", ctx.t(M::SetupTitle), Nav::None, body)));
    }
    let token = query_value(ctx.query.as_deref(), "token").unwrap_or_default();
    let body = if token.trim().is_empty() {
        format!(
            r#"<section class="panel narrow"><h1>{}</h1><p class="error" id="setup-error">{}</p></section>"#,
            esc(ctx.t(M::SetupTitle)),
            esc(ctx.t(M::SetupNoToken))
        )
    } else {
        format!(
            r#"<section class="panel narrow">
<h1>{title}</h1>
<p>{intro}</p>
<form id="setup-form" data-token="{token}" novalidate>
<label for="setup-name">{name} <small>{name_hint}</small></label>
<input id="setup-name" name="name" autocomplete="username" autocapitalize="none" spellcheck="false" required>
<label for="setup-password">{password} <small>{hint}</small></label>
<input id="setup-password" name="password" type="password" autocomplete="new-password" minlength="8" required>
<p class="error" id="setup-error" role="alert" hidden></p>
<button type="submit" id="setup-submit" class="primary wide">{submit}</button>
</form>
</section>"#,
            title = esc(ctx.t(M::SetupTitle)),
            intro = esc(ctx.t(M::SetupIntro)),
            token = esc(&token),
            name = esc(ctx.t(M::Name)),
            name_hint = esc(ctx.t(M::NameHint)),
            password = esc(ctx.t(M::Password)),
            hint = esc(ctx.t(M::PasswordHint)),
            submit = esc(ctx.t(M::SetupSubmit)),
        )
    };
    Ok(ctx.render(Page::new("setup", ctx.t(M::SetupTitle), Nav::None, body)))
}

#[cfg(test)]
mod tests {
    use super::same_origin_path;

    #[test]
    fn only_paths_of_this_station_are_followed_after_login() {
        for good in ["/", "/villages/dongmen?date=2026-12-04", "/log", "/broadcast#x"] {
            assert!(same_origin_path(good).is_some(), "{good}");
        }
        assert_eq!(same_origin_path("/a/../log").as_deref(), Some("/log"));
        for bad in [
            "//evil.example/",
            "/%09/evil.example/",
            "/\t/evil.example/",
            "/\\evil.example/",
            "/\r\n/evil.example",
            "https://evil.example/",
            "evil.example",
            "/login?next=/x",
            "",
        ] {
            let decoded = bad.replace("%09", "\t");
            assert_eq!(same_origin_path(&decoded), None, "{bad:?}");
            assert_eq!(same_origin_path(bad).filter(|p| !p.starts_with('/') || p.starts_with("//")), None, "{bad:?}");
        }
    }
}
