//! The people-facing web pages: server-rendered HTML with a little vanilla JavaScript
//! (`static/app.js`, and `static/village.js` on the village page; no build step) that talks to
//! the JSON API of `docs/web-api.md`.
//!
//! - Chinese (zh-CN) by default, English with `?lang=en` (remembered in the cookie `xy_lang`);
//!   every page shows a 中文/English switch and sets `<html lang>`. The words are in `i18n.rs`.
//! - Every string that comes from people or files (titles, transcripts, names, reasons) goes
//!   through [`esc`] in HTML, or through `textContent` in the JavaScript; data for the script is
//!   JSON in `<script type="application/json">` with `<`, `>` and `&` escaped (`json_script`).
//!   Pages are sent with a Content-Security-Policy that allows only the station's own scripts.
//! - Anonymous callers are sent to `/login?next=…` (302), except on `/login` and `/setup`; a role
//!   that may not use a page gets a 403 page with a sentence.
//! - Each page of a logged-in user carries `<meta name="csrf">` for the script's `X-CSRF-Token`.
//! - Static assets are embedded and served at `/static/NAME?v=VERSION` (VERSION: a hash of the
//!   content; a matching request may be cached for a year).
//!
//! # Element ids for end-to-end tests
//!
//! Every page: `body[data-page=NAME]`, `#nav` (links `a[data-nav=dashboard|library|broadcast|log|
//! users]`), `#me-name`, `#logout`, `#lang-switch` (links `a[data-lang=zh|en]`), `#main`.
//!
//! - `/login`: `#login-form`, `#login-name`, `#login-password`, `#login-submit`, `#login-error`.
//! - `/setup?token=`: `#setup-form`, `#setup-name`, `#setup-password`, `#setup-submit`, `#setup-error`.
//! - `/` dashboard: `#live-state`; one `.village-card[data-village=ID]` per village holding
//!   `.village-name`, `.now-playing`, `.next-cue`, `.output-state` (`data-up=true|false`),
//!   `.listen[data-zone=ZONE]` (▶ listen-in toggle) and `audio.listen-audio`.
//! - `/library`: `#upload-form`, `#upload-drop`, `#upload-input`, `#upload-file-name`,
//!   `#upload-title`, `#upload-language`, `#upload-kind`, `#upload-message`, `#upload-transcript`,
//!   `#upload-expires`, `#upload-submit`, `#upload-progress`, `#upload-status`, `#upload-result`
//!   (after an import: `.lufs`, `.true-peak`, `.gain`; a refusal: `.error`); filters `#clip-filters`
//!   (`#filter-language`, `#filter-kind`, `#filter-review`, `#filter-q`); `#clip-list` with one
//!   `[data-clip-id=ID]` per clip holding `.clip-title`, `.review-state`, `audio.preview`, and for
//!   reviewers `.approve`, `.reject-reason`, `.reject`, `.clip-msg`.
//! - `/villages/{id}`: `#schedule` (slots: `.slot[data-slot=NAME]`), `#day-date`, `#day-timeline`
//!   (`.quiet`, `.cue[data-outcome=…]`), `#day-list`; for editors `#playlist-editor`,
//!   `#playlist-mode`, `#playlist-gap`, `#playlist-repeat`, `#playlist-items` (`li.item` with
//!   `.item-up`, `.item-down`, `.item-remove`), `#playlist-choice`, `#playlist-add`,
//!   `#playlist-slots` (`li.slot-row` with `.slot-time`, `.slot-days`, `.slot-cron`,
//!   `.slot-quiet`, `.slot-chime`, `.slot-remove`), `#slot-add`, `#playlist-save`,
//!   `#playlist-status`, `#playlist-problems`.
//! - `/broadcast`: `#target-all`, `.township-toggle[data-township=NAME]`,
//!   `input.target-village[value=ID]`, `#broadcast-what`, `#broadcast-submit`, `#emergency-button`,
//!   `#emergency-dialog`, `#emergency-confirm`, `#emergency-cancel`, `#broadcast-result`,
//!   `#broadcast-stop`.
//! - `/log`: `#log-filters`, `#log-village`, `#log-since`, `#log-table`, `#log-csv`.
//! - `/users`: `#user-add-form`, `#user-name`, `#user-role`, `#user-password`, `#user-add`,
//!   `#users-msg`, `#token-result`, `#users-table` with one `tr[data-user=NAME]` holding
//!   `.user-role`, `.user-disable`, `.user-delete`, `.user-password`, `.user-set-password`,
//!   `.token-label`, `.user-token`, `.token-revoke[data-label=LABEL]`.

mod assets;
mod broadcast;
mod dashboard;
mod library;
mod log;
mod login;
mod people;
mod village;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde_json::Value;

use super::auth::{self, Caller};
use super::i18n::{LANG_COOKIE, Lang, M, Words, fill};
use super::{ApiError, AppState};
use crate::domain::Action;
use crate::library::ClipMeta;

/// What a page handler returns: the page, or a redirect / error page.
pub(crate) type PageResult = Result<Response, Refusal>;

/// A page not shown: the redirect to the login page, or an error page (boxed: a response is large).
pub(crate) struct Refusal(Box<Response>);

impl From<Response> for Refusal {
    fn from(res: Response) -> Self {
        Refusal(Box::new(res))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// Every page route and the static assets.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::login))
        .route("/setup", get(login::setup))
        .route("/", get(dashboard::page))
        .route("/library", get(library::page))
        .route("/villages/{id}", get(village::page))
        .route("/broadcast", get(broadcast::page))
        .route("/log", get(log::page))
        .route("/users", get(people::page))
        .route("/static/{file}", get(assets::serve))
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped: safe as HTML text and inside quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `value` as a `<script type="application/json" id=ID>` element; `<`, `>` and `&` are written as
/// JSON escapes so that no text inside can end the element.
pub(crate) fn json_script(id: &str, value: &Value) -> String {
    let json = value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    format!(r#"<script type="application/json" id="{}">{json}</script>"#, esc(id))
}

/// `s` percent-encoded for a URL query value.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value of `key` in a raw query string, percent-decoded (`+` as a space).
pub(crate) fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    let raw = query?.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == key)?.1;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Which nav entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    /// `/` (and the village pages reached from it).
    Dashboard,
    /// `/library`.
    Library,
    /// `/broadcast`.
    Broadcast,
    /// `/log`.
    Log,
    /// `/users`.
    Users,
    /// No entry (login, setup, error pages).
    None,
}

/// One page to send: the layout is added by [`Ctx::render`].
pub(crate) struct Page {
    /// `body[data-page]`, which the script uses to pick the page's code.
    pub id: &'static str,
    /// The `<title>` and the heading.
    pub title: String,
    /// The highlighted nav entry.
    pub nav: Nav,
    /// The HTML inside `<main>` (already escaped).
    pub body: String,
    /// Data for the script (`#xy-data`).
    pub data: Option<Value>,
    /// The status (200 unless an error page).
    pub status: StatusCode,
}

impl Page {
    /// A 200 page.
    pub fn new(id: &'static str, title: impl Into<String>, nav: Nav, body: String) -> Page {
        Page { id, title: title.into(), nav, body, data: None, status: StatusCode::OK }
    }

    /// With data for the script.
    pub fn data(mut self, data: Value) -> Page {
        self.data = Some(data);
        self
    }
}

/// What people call the station's languages (`station.yaml` `language_names`), in one page
/// language: forms and tables show these names, not the tags.
pub(crate) struct LangNames {
    names: std::collections::BTreeMap<String, String>,
}

impl LangNames {
    /// The names of the running plan's languages in `lang`.
    pub fn of(state: &AppState, lang: Lang) -> LangNames {
        let station = state.station();
        let s = &station.plan().station;
        let names = s.languages.iter().map(|l| (l.to_string(), s.language_name(l).get(lang).to_owned())).collect();
        LangNames { names }
    }

    /// The name of language tag `code` (the tag itself when it has none, or is not the station's).
    pub fn name(&self, code: &str) -> String {
        self.names.get(code).cloned().unwrap_or_else(|| code.to_owned())
    }

    /// Tag → name, for the script.
    pub fn json(&self) -> Value {
        serde_json::to_value(&self.names).unwrap_or_default()
    }
}

/// What every page handler knows about the request: the language, who calls, where they are.
pub(crate) struct Ctx {
    /// The page language.
    pub lang: Lang,
    /// True when `?lang=` chose it (the response remembers it in the cookie).
    set_lang: bool,
    /// Who is calling.
    pub caller: Option<Caller>,
    /// The request path.
    path: String,
    /// The raw query string.
    query: Option<String>,
    /// The app.
    pub state: AppState,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().map(str::to_owned);
        let from_query = query_value(query.as_deref(), "lang").and_then(|l| Lang::parse(&l));
        let lang =
            from_query.or_else(|| auth::cookie(&parts.headers, LANG_COOKIE).and_then(Lang::parse)).unwrap_or_default();
        let caller = match auth::identify(parts, state) {
            Ok(c) => c,
            Err(e) if e.status == StatusCode::UNAUTHORIZED => None,
            Err(e) => return Err(e.into_response()),
        };
        Ok(Ctx {
            lang,
            set_lang: from_query.is_some(),
            caller,
            path: parts.uri.path().to_owned(),
            query,
            state: state.clone(),
        })
    }
}

impl Ctx {
    /// The text of `m` in the page language.
    pub fn t(&self, m: M) -> &'static str {
        self.lang.t(m)
    }

    /// The names of the station's languages in the page language.
    pub fn languages(&self) -> LangNames {
        LangNames::of(&self.state, self.lang)
    }

    /// The logged-in caller, when their role allows `action` (any role for `None`); otherwise the
    /// redirect to the login page (anonymous) or the 403 page.
    pub fn user(&self, action: Option<Action>) -> Result<&Caller, Refusal> {
        let Some(caller) = &self.caller else {
            let here = match &self.query {
                Some(q) => format!("{}?{q}", self.path),
                None => self.path.clone(),
            };
            let to = format!("/login?next={}", url_encode(&here));
            return Err(self
                .with_lang_cookie(
                    (StatusCode::FOUND, [(header::LOCATION, to), (header::CACHE_CONTROL, "no-store".into())])
                        .into_response(),
                )
                .into());
        };
        match action {
            Some(a) if !caller.role().allows(a) => Err(self.forbidden(caller).into()),
            _ => Ok(caller),
        }
    }

    /// The 403 page for `caller`.
    fn forbidden(&self, caller: &Caller) -> Response {
        let role = self.lang.name_of(caller.role().name());
        let sentence = fill(self.t(M::ForbiddenPage), &[("role", &role)]);
        self.message_page(StatusCode::FORBIDDEN, self.t(M::ForbiddenTitle), &sentence)
    }

    /// A page with a heading, one sentence and a link home.
    pub fn message_page(&self, status: StatusCode, title: &str, sentence: &str) -> Response {
        let body = format!(
            r#"<section class="panel message-page"><h1>{}</h1><p class="sentence" id="page-sentence">{}</p><p><a class="button" href="/">{}</a></p></section>"#,
            esc(title),
            esc(sentence),
            esc(self.t(M::BackHome))
        );
        let mut page = Page::new("message", title, Nav::None, body);
        page.status = status;
        self.render(page)
    }

    /// The error page for a failed page: the error's status and its sentence.
    pub fn fail(&self, e: ApiError) -> Response {
        self.message_page(e.status, self.t(M::Error), e.text.get(self.lang))
    }

    /// The station's display name.
    fn station_name(&self) -> String {
        self.state.station().plan().station.name.clone()
    }

    /// Sets the language cookie when `?lang=` chose the language.
    fn with_lang_cookie(&self, mut res: Response) -> Response {
        if self.set_lang {
            let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", self.lang.code());
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        res
    }

    /// The link to this page in `lang`: the same path and query, with `lang` replaced.
    fn lang_link(&self, lang: Lang) -> String {
        let mut pairs: Vec<&str> = self
            .query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
            .collect();
        let code = format!("lang={}", lang.code());
        pairs.push(&code);
        format!("{}?{}", self.path, pairs.join("&"))
    }

    fn nav_html(&self, active: Nav) -> String {
        let Some(caller) = &self.caller else { return String::new() };
        let role = caller.role();
        let entries = [
            (Nav::Dashboard, "dashboard", "/", M::NavDashboard, None),
            (Nav::Library, "library", "/library", M::NavLibrary, None),
            (Nav::Broadcast, "broadcast", "/broadcast", M::NavBroadcast, Some(Action::Broadcast)),
            (Nav::Log, "log", "/log", M::NavLog, None),
            (Nav::Users, "users", "/users", M::NavUsers, Some(Action::ManageUsers)),
        ];
        let links: String = entries
            .iter()
            .filter(|(_, _, _, _, a)| a.is_none_or(|a| role.allows(a)))
            .map(|(nav, key, href, m, _)| {
                format!(r#"<a href="{href}" data-nav="{key}"{}>{}</a>"#, current(*nav == active), esc(self.t(*m)))
            })
            .collect();
        format!(r#"<nav class="nav" id="nav">{links}</nav>"#)
    }

    /// Who is logged in, and the logout button (beside the nav, to keep the header at two short
    /// rows on a phone).
    fn me_html(&self) -> String {
        let Some(caller) = &self.caller else { return String::new() };
        format!(
            r#"<div class="me"><span id="me-name">{}</span> <span class="role">{}</span> <button type="button" id="logout" class="small">{}</button></div>"#,
            esc(caller.name()),
            esc(&self.lang.name_of(caller.role().name())),
            esc(self.t(M::Logout))
        )
    }

    /// The red banner of every page while anything a village would notice is wrong (the
    /// station's health, in the page language), kept up to date by the script; empty and hidden
    /// while all is well. The script also uses it to say when the page has lost the station.
    fn alert_html(&self) -> String {
        let problems = self.state.station().health().problems();
        // No card at all: no village hears; an output down: the villages it feeds (its line says which).
        let head = if problems.iter().any(|p| p.reason == "fallback") {
            self.t(M::AlertNotHeard)
        } else if problems.iter().any(|p| p.reason == "output") {
            self.t(M::AlertSomeNotHeard)
        } else {
            self.t(M::AlertDegraded)
        };
        let items: String = problems
            .iter()
            .map(|p| {
                let text = if self.lang == Lang::Zh { &p.message_zh } else { &p.message };
                format!(r#"<li data-reason="{}">{}</li>"#, esc(p.reason), esc(text))
            })
            .collect();
        format!(
            r#"<div class="station-alert" id="station-alert" role="alert" data-state="{state}"{hidden}><strong class="alert-head">{head}</strong><ul class="alert-list">{items}</ul></div>"#,
            state = if problems.is_empty() { "ok" } else { "degraded" },
            hidden = if problems.is_empty() { " hidden" } else { "" },
            head = esc(head),
        )
    }

    /// The whole HTML document for `page`, with the security headers and the language cookie.
    pub fn render(&self, page: Page) -> Response {
        let csrf = self
            .caller
            .as_ref()
            .and_then(Caller::csrf)
            .map(|c| format!(r#"<meta name="csrf" content="{}">"#, esc(c)))
            .unwrap_or_default();
        let switch = [(Lang::Zh, "中文", "zh-CN"), (Lang::En, "English", "en")]
            .iter()
            .map(|(l, label, hl)| {
                format!(
                    r#"<a href="{}" data-lang="{}" lang="{hl}"{}>{label}</a>"#,
                    esc(&self.lang_link(*l)),
                    l.code(),
                    current(*l == self.lang)
                )
            })
            .collect::<Vec<_>>()
            .join(r#"<span aria-hidden="true">/</span>"#);
        let mut data = page.data.as_ref().map(|d| json_script("xy-data", d)).unwrap_or_default();
        data.push_str(&json_script("xy-langs", &LangNames::of(&self.state, self.lang).json()));
        let html = format!(
            r#"<!doctype html>
<html lang="{html_lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{csrf}
<title>{title} · {app}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{css}">
{page_js}<script src="{js}" defer></script>
</head>
<body data-page="{id}" data-lang="{code}">
<header class="top">
<div class="brand-row"><a class="brand" href="/">{app}</a><span class="station">{station}</span>
<div class="lang-switch" id="lang-switch" title="{lang_label}">{switch}</div></div>
<div class="nav-row">{nav}{me}</div>
{alert}
</header>
<main id="main">
{body}
</main>
{i18n}
{data}
</body>
</html>
"#,
            html_lang = self.lang.html(),
            title = esc(&page.title),
            app = esc(self.t(M::AppName)),
            css = assets::url("app.css"),
            js = assets::url("app.js"),
            // A page with a script of its own loads it first; app.js calls it (see village.js).
            page_js = match page.id {
                "village" => format!("<script src=\"{}\" defer></script>\n", assets::url("village.js")),
                _ => String::new(),
            },
            id = page.id,
            code = self.lang.code(),
            station = esc(&self.station_name()),
            lang_label = esc(self.t(M::LangSwitch)),
            nav = self.nav_html(page.nav),
            me = self.me_html(),
            alert = self.alert_html(),
            body = page.body,
            i18n = json_script("xy-i18n", &self.lang.js_table()),
        );
        let res = (
            page.status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::X_FRAME_OPTIONS, "DENY"),
                (header::REFERRER_POLICY, "same-origin"),
                (header::CONTENT_SECURITY_POLICY, CSP),
            ],
            html,
        )
            .into_response();
        self.with_lang_cookie(res)
    }

    /// Today in the station's time zone.
    pub fn today(&self) -> NaiveDate {
        let tz = self.state.station().plan().station.timezone;
        chrono::Utc::now().with_timezone(&tz).date_naive()
    }
}

/// Only the station's own scripts, styles and media; no inline script runs.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn current(yes: bool) -> &'static str {
    if yes { r#" aria-current="page""# } else { "" }
}

/// `<option>`s for `items` (value, label), with `selected` marked.
pub(crate) fn options<'a>(items: impl IntoIterator<Item = (&'a str, String)>, selected: Option<&str>) -> String {
    items
        .into_iter()
        .map(|(v, label)| {
            let sel = if Some(v) == selected { " selected" } else { "" };
            format!(r#"<option value="{}"{sel}>{}</option>"#, esc(v), esc(&label))
        })
        .collect()
}

/// What can be played or put in a playlist: messages with an approved variant that has not
/// expired, and such clips.
pub(crate) struct Choices {
    /// (message id, label).
    pub messages: Vec<(String, String)>,
    /// (clip id, label).
    pub clips: Vec<(String, String)>,
}

impl Choices {
    /// The choices among `clips` on `today`.
    pub fn new(clips: &[ClipMeta], today: NaiveDate, lang: Lang, names: &LangNames) -> Choices {
        let usable: Vec<&ClipMeta> =
            clips.iter().filter(|c| c.review.is_approved() && c.expires.is_none_or(|d| d >= today)).collect();
        let mut messages: std::collections::BTreeMap<String, Vec<&ClipMeta>> = Default::default();
        for c in &usable {
            if let Some(m) = &c.message {
                messages.entry(m.to_string()).or_default().push(c);
            }
        }
        let messages = messages
            .into_iter()
            .map(|(m, variants)| {
                let langs: Vec<String> = variants.iter().map(|c| names.name(c.language.as_str())).collect();
                let label = format!("{m} — {} ({})", variants[0].title, langs.join(", "));
                (m, label)
            })
            .collect();
        let clips = usable
            .iter()
            .map(|c| {
                let what =
                    format!("{} ({}, {})", c.title, names.name(c.language.as_str()), lang.name_of(c.kind.name()));
                (c.id.to_string(), what)
            })
            .collect();
        Choices { messages, clips }
    }

    /// `<optgroup>`s of messages and clips, values `message:ID` / `clip:ID` when `prefixed`, else
    /// the bare ids.
    pub fn optgroups(&self, lang: Lang, prefixed: bool) -> String {
        let group = |label: M, kind: &str, items: &[(String, String)]| {
            let opts: String = items
                .iter()
                .map(|(id, l)| {
                    let v = if prefixed { format!("{kind}:{id}") } else { id.clone() };
                    format!(r#"<option value="{}">{}</option>"#, esc(&v), esc(l))
                })
                .collect();
            format!(r#"<optgroup label="{}">{opts}</optgroup>"#, esc(lang.t(label)))
        };
        group(M::Messages, "message", &self.messages) + &group(M::Clips, "clip", &self.clips)
    }
}

/// The clip library's clips (broken folders are left out: `xiangyin clips` names them).
pub(crate) fn clips(state: &AppState) -> Result<Vec<ClipMeta>, ApiError> {
    Ok(state.library().list()?.0)
}

#[cfg(test)]
#[path = "../tests_pages.rs"]
mod tests;
