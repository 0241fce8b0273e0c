//! `/villages/{id}`: a village's day as a 24-hour timeline (quiet hours shaded, cue blocks) from
//! `GET /api/villages/{id}/day`, its schedule from `GET /api/villages/{id}/schedule`, and — for
//! roles that edit playlists — the editor of its own playlist (`PUT /api/villages/{id}/playlist`).

use axum::extract::Path;
use axum::http::StatusCode;
use serde_json::json;

use super::{Choices, Ctx, Nav, Page, PageResult, clips, esc, options};
use crate::domain::{Action, VillageId};
use crate::web::i18n::{M, Words, fill};

/// `GET /villages/{id}`.
pub(crate) async fn page(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let caller = ctx.user(None)?;
    let may_edit = caller.role().allows(Action::EditPlaylists);
    let lang = ctx.lang;
    let t = |m| esc(lang.t(m));
    let found = {
        let station = ctx.state.station();
        let plan = station.plan();
        VillageId::new(&id).ok().and_then(|v| plan.village(&v).cloned()).map(|v| (v, plan.station.timezone))
    };
    let Some((village, tz)) = found else {
        let sentence = fill(lang.t(M::VillageNotFound), &[("id", &id)]);
        return Err(ctx.message_page(StatusCode::NOT_FOUND, lang.t(M::NotFoundTitle), &sentence).into());
    };
    let today = ctx.today();
    let all = clips(&ctx.state).map_err(|e| ctx.fail(e))?;
    let names = ctx.languages();
    let choices = Choices::new(&all, today, lang, &names);
    let mut labels = serde_json::Map::new();
    for c in &all {
        labels.insert(c.id.to_string(), format!("{} ({})", c.title, names.name(c.language.as_str())).into());
    }
    for (m, label) in &choices.messages {
        labels.insert(m.clone(), label.clone().into());
    }

    let editor = if may_edit {
        let modes = options(["in-order", "rotate", "shuffle"].map(|m| (m, lang.name_of(m))), Some("in-order"));
        let days = options(
            [
                ("*", lang.t(M::EveryDay).to_owned()),
                ("1-5", lang.t(M::WeekdaysOnly).to_owned()),
                ("0,6", lang.t(M::WeekendsOnly).to_owned()),
                ("custom", lang.t(M::CustomCron).to_owned()),
            ],
            Some("*"),
        );
        let quiet = options(["skip", "defer"].map(|q| (q, lang.name_of(q))), Some("skip"));
        format!(
            r#"<section class="panel" id="playlist-editor">
<h2>{editor_title}</h2>
<p class="sub" id="playlist-file"></p>
<div class="grid3">
<div><label for="playlist-mode">{mode}</label><select id="playlist-mode">{modes}</select></div>
<div><label for="playlist-gap">{gap}</label><input id="playlist-gap" type="number" min="0" step="0.5" value="2" inputmode="decimal"></div>
<div><label for="playlist-repeat">{repeat}</label><input id="playlist-repeat" type="number" min="1" step="1" value="1" inputmode="numeric"></div>
</div>
<ol class="items" id="playlist-items"></ol>
<p class="empty" id="playlist-empty">{empty}</p>
<div class="add-row">
<select id="playlist-choice" aria-label="{choose}"><option value="">{choose}</option>{optgroups}</select>
<button type="button" id="playlist-add">{add}</button>
</div>
<h3>{play_times}</h3>
<ul class="slot-rows" id="playlist-slots"></ul>
<button type="button" id="slot-add">{add_slot}</button>
<button type="button" id="playlist-save" class="primary wide">{save}</button>
<p id="playlist-status" role="status"></p>
<ul class="problems" id="playlist-problems"></ul>
<template id="item-template"><li class="item"><span class="item-label"></span><span class="item-buttons"><button type="button" class="item-up small" aria-label="{up}" title="{up}">↑</button><button type="button" class="item-down small" aria-label="{down}" title="{down}">↓</button><button type="button" class="item-remove small danger" aria-label="{remove}" title="{remove}">✕</button></span></li></template>
<template id="slot-template"><li class="slot-row">
<label>{time_label}<input type="time" class="slot-time" value="07:00" required></label>
<label>{days_label}<select class="slot-days">{days}</select></label>
<label class="slot-cron-label" hidden>cron<input class="slot-cron" autocapitalize="none" spellcheck="false" placeholder="0 7 * * *"></label>
<label>{quiet_label}<select class="slot-quiet">{quiet}</select></label>
<label class="check"><input type="checkbox" class="slot-chime"> {chime}</label>
<button type="button" class="slot-remove small danger">{remove}</button>
</li></template>
</section>"#,
            editor_title = t(M::PlaylistEditor),
            mode = t(M::Mode),
            gap = t(M::Gap),
            repeat = t(M::Repeat),
            empty = t(M::EmptyList),
            choose = t(M::ChooseItem),
            optgroups = choices.optgroups(lang, false),
            add = t(M::AddItem),
            play_times = t(M::PlayTimes),
            add_slot = t(M::AddSlot),
            save = t(M::Save),
            up = t(M::MoveUp),
            down = t(M::MoveDown),
            remove = t(M::Remove),
            time_label = t(M::Time),
            days_label = t(M::Days),
            quiet_label = t(M::InQuietHours),
            chime = t(M::ChimeFirst),
        )
    } else {
        format!(r#"<p class="sub" id="playlist-readonly">{}</p>"#, t(M::ReadOnly))
    };
    let hours: String = (0..=24).step_by(3).map(|h| format!("<span>{h:02}</span>")).collect();
    let langs: Vec<String> = village.languages.iter().map(|l| names.name(l.as_str())).collect();
    let body = format!(
        r#"<div class="page-head"><h1 id="village-name">{name}</h1></div>
<p class="sub">{township_label} {township} · {zone_label} {zone} · {languages_label} {languages}</p>
<section class="panel" id="day-panel">
<div class="page-head"><h2>{day_title}</h2>
<label class="inline" for="day-date">{date_label} <input type="date" id="day-date" value="{today}"></label></div>
<div class="timeline" id="day-timeline" role="img" aria-label="{day_title}"></div>
<div class="timeline-hours" aria-hidden="true">{hours}</div>
<p class="sub" id="day-quiet"></p>
<ul class="day-list" id="day-list"><li>{loading}</li></ul>
</section>
{editor}
<section class="panel">
<h2>{slots_title}</h2>
<div id="schedule">{loading}</div>
</section>"#,
        name = esc(&village.name),
        township_label = t(M::Township),
        township = esc(&village.township),
        zone_label = t(M::Zone),
        zone = esc(village.zone.as_str()),
        languages_label = t(M::Languages),
        languages = esc(&langs.join(" → ")),
        day_title = t(M::DayPicture),
        date_label = t(M::Date),
        loading = t(M::Loading),
        slots_title = t(M::Slots),
    );
    let data = json!({
        "village": village.id.as_str(),
        "canEdit": may_edit,
        "tz": tz.name(),
        "today": today.to_string(),
        "labels": labels,
    });
    Ok(ctx.render(Page::new("village", village.name.clone(), Nav::Dashboard, body).data(data)))
}
