//! `/users` (admin): every user with their role, state and API tokens; add a user, change a
//! role, set a password, disable / enable, delete, make and revoke API tokens — all through the
//! users API (`src/web/users.rs`).

use super::{Ctx, Nav, Page, PageResult, esc, options};
use crate::domain::{Action, Role};
use crate::web::i18n::{M, Words};

/// `GET /users`.
pub(crate) async fn page(ctx: Ctx) -> PageResult {
    let me = ctx.user(Some(Action::ManageUsers))?.name().to_owned();
    let lang = ctx.lang;
    let t = |m| esc(lang.t(m));
    let tz = ctx.state.station().plan().station.timezone;
    let listed = {
        let db = ctx.state.db();
        db.list_users().and_then(|users| Ok((users, db.list_api_tokens(None)?)))
    };
    let (users, tokens) = listed.map_err(|e| ctx.fail(e.into()))?;
    let role_opts =
        |selected: Role| options(Role::ALL.iter().map(|r| (r.name(), lang.name_of(r.name()))), Some(selected.name()));
    let rows: String = users
        .iter()
        .map(|u| {
            let name = esc(&u.name);
            let is_me = u.name == me;
            let token_items: String = tokens
                .iter()
                .filter(|tk| tk.user == u.name)
                .map(|tk| {
                    format!(
                        r#"<li><span class="token-name">{label}</span> <button type="button" class="token-revoke small" data-label="{label}">{revoke}</button></li>"#,
                        label = esc(&tk.label),
                        revoke = t(M::Revoke)
                    )
                })
                .collect();
            let (state_word, toggle) =
                if u.disabled { (t(M::Disabled), t(M::Enable)) } else { (t(M::Active), t(M::Disable)) };
            let self_only = if is_me { " disabled" } else { "" };
            format!(
                r#"<tr data-user="{name}" data-disabled="{disabled}">
<td data-label="{name_label}"><strong>{name}</strong>{you}</td>
<td data-label="{role_label}"><select class="user-role" aria-label="{role_label}">{roles}</select></td>
<td data-label="{created_label}">{created}</td>
<td data-label="{state_label}"><span class="badge" data-state="{state_key}">{state_word}</span> <button type="button" class="user-disable small"{self_only}>{toggle}</button></td>
<td data-label="{password_label}"><span class="inline-form"><input type="password" class="user-password" autocomplete="new-password" aria-label="{password_label}" placeholder="{password_label}"><button type="button" class="user-set-password small">{set_password}</button></span></td>
<td data-label="{tokens_label}"><ul class="tokens">{token_items}</ul><span class="inline-form"><input class="token-label" aria-label="{token_label}" placeholder="{token_label}" maxlength="64"><button type="button" class="user-token small">{make_token}</button></span></td>
<td data-label="{actions_label}"><button type="button" class="user-delete small danger"{self_only}>{delete}</button></td>
</tr>"#,
                disabled = u.disabled,
                name_label = t(M::Name),
                you = if is_me { format!(" <small>{}</small>", t(M::You)) } else { String::new() },
                role_label = t(M::Role),
                roles = role_opts(u.role),
                created_label = t(M::Created),
                created = u.created.with_timezone(&tz).format("%Y-%m-%d"),
                state_label = t(M::State),
                state_key = if u.disabled { "disabled" } else { "active" },
                password_label = t(M::NewPassword),
                set_password = t(M::SetPassword),
                tokens_label = t(M::Tokens),
                token_label = t(M::TokenLabel),
                make_token = t(M::MakeToken),
                actions_label = t(M::Actions),
                delete = t(M::Delete),
            )
        })
        .collect();
    let head: String = [M::Name, M::Role, M::Created, M::State, M::NewPassword, M::Tokens, M::Actions]
        .iter()
        .map(|m| format!(r#"<th scope="col">{}</th>"#, t(*m)))
        .collect();
    let body = format!(
        r#"<h1>{title}</h1>
<p id="users-msg" role="status" hidden></p>
<div id="token-result" class="panel token-result" hidden><p>{shown_once}</p><p><code id="token-value"></code></p></div>
<section class="panel">
<h2>{add_title}</h2>
<form id="user-add-form" class="filters" novalidate>
<div><label for="user-name">{name} <small>{name_hint}</small></label><input id="user-name" autocomplete="off" autocapitalize="none" spellcheck="false" required></div>
<div><label for="user-role">{role}</label><select id="user-role">{new_roles}</select></div>
<div><label for="user-password">{password} <small>{hint}</small></label><input id="user-password" type="password" autocomplete="new-password" minlength="8" required></div>
<div class="filter-submit"><button type="submit" id="user-add" class="primary">{add}</button></div>
</form>
</section>
<section class="panel">
<table id="users-table" class="stack blocks"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
</section>"#,
        title = t(M::UsersTitle),
        shown_once = t(M::TokenShownOnce),
        add_title = t(M::AddUser),
        name = t(M::Name),
        name_hint = t(M::NameHint),
        role = t(M::Role),
        new_roles = role_opts(Role::Uploader),
        password = t(M::Password),
        hint = t(M::PasswordHint),
        add = t(M::AddUser),
    );
    Ok(ctx.render(Page::new("users", lang.t(M::UsersTitle), Nav::Users, body)))
}
