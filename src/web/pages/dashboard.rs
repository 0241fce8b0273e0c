//! `/`: one card per village — what plays now, what is next, whether its output plays — kept up
//! to date from `GET /api/events` (event `villages`), or by polling `/api/villages` every 5 s
//! when server-sent events do not work; a listen-in button per village.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::{Ctx, Nav, Page, PageResult, clips, esc};
use crate::domain::{Cue, Priority};
use crate::web::i18n::{Lang, M, Words};

/// One cue as a line: local time (with the date when not today), title, priority when not a
/// scheduled one. The script writes the same line (`cueText` in app.js).
pub(crate) fn cue_text(cue: &Cue, titles: &BTreeMap<String, String>, tz: Tz, now: DateTime<Utc>, lang: Lang) -> String {
    let at = cue.at.with_timezone(&tz);
    let when = if at.date_naive() == now.with_timezone(&tz).date_naive() {
        at.format("%H:%M").to_string()
    } else {
        at.format("%m-%d %H:%M").to_string()
    };
    let title = titles.get(cue.clip.as_str()).cloned().unwrap_or_else(|| cue.clip.to_string());
    match cue.priority {
        Priority::Scheduled | Priority::Background => format!("{when} {title}"),
        p => format!("{when} {title} · {}", lang.name_of(p.name())),
    }
}

/// `GET /`.
pub(crate) async fn page(ctx: Ctx) -> PageResult {
    ctx.user(None)?;
    let (status, tz, townships) = {
        let station = ctx.state.station();
        let plan = station.plan();
        let townships: BTreeMap<String, String> =
            plan.villages.iter().map(|v| (v.id.to_string(), v.township.clone())).collect();
        (station.status(), plan.station.timezone, townships)
    };
    let lines: BTreeMap<String, crate::web::lines::LineView> = {
        let st = ctx.state.clone();
        tokio::task::spawn_blocking(move || crate::web::lines::views(&st))
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|l| (l.village.clone(), l))
            .collect()
    };
    let titles: BTreeMap<String, String> =
        clips(&ctx.state).map_err(|e| ctx.fail(e))?.into_iter().map(|c| (c.id.to_string(), c.title)).collect();
    let now = Utc::now();
    let nothing = ctx.t(M::Nothing);
    let cards: String = status
        .iter()
        .map(|v| {
            let now_playing = v.now_playing.as_ref().map_or(nothing.to_owned(), |c| cue_text(c, &titles, tz, now, ctx.lang));
            let next = match (&v.next, &v.next_slot) {
                (Some(c), _) => cue_text(c, &titles, tz, now, ctx.lang),
                (None, Some((t, slot))) => {
                    let at = t.with_timezone(&tz);
                    let fmt = if at.date_naive() == now.with_timezone(&tz).date_naive() { "%H:%M" } else { "%m-%d %H:%M" };
                    format!("{} {slot}", at.format(fmt))
                }
                (None, None) => nothing.to_owned(),
            };
            let up = match &v.unheard {
                Some(why) => {
                    let colon = if ctx.lang == crate::domain::Lang::Zh { "：" } else { ": " };
                    format!("{}{colon}{}", ctx.t(M::NotReaching), why.get(ctx.lang))
                }
                None if v.output_up && v.recorded_only => ctx.t(M::RecordedOnly).to_owned(),
                None if v.output_up => ctx.t(M::OutputUp).to_owned(),
                None => ctx.t(M::OutputDown).to_owned(),
            };
            format!(
                r#"<article class="card village-card{playing}" data-village="{id}" data-reaching="{reaching}">
<h2><a class="village-name" href="/villages/{id}">{name}</a></h2>
<p class="sub">{township} · {zone_label} {zone}</p>
<dl>
<dt>{now_label}</dt><dd class="now-playing">{now_playing}</dd>
<dt>{next_label}</dt><dd class="next-cue">{next}</dd>
<dt>{output_label}</dt><dd class="output-state" data-up="{output_up}" data-reaching="{reaching}" data-recorded-only="{recorded_only}"><span class="dot"></span><span class="output-name">{output}</span> <span class="output-word">{up}</span></dd>
{line}</dl>
<div class="card-actions">
<button type="button" class="listen" data-zone="{zone}" aria-pressed="false">{listen}</button>
<a class="button" href="/villages/{id}">{schedule}</a>
</div>
<audio class="listen-audio" preload="none" src="/api/listen/{zone}"></audio>
</article>"#,
                playing = if v.now_playing.is_some() { " on-air" } else { "" },
                id = esc(v.village.as_str()),
                name = esc(&v.name),
                township = esc(townships.get(v.village.as_str()).map_or("", String::as_str)),
                zone_label = esc(ctx.t(M::Zone)),
                zone = esc(v.zone.as_str()),
                now_label = esc(ctx.t(M::NowPlaying)),
                now_playing = esc(&now_playing),
                next_label = esc(ctx.t(M::NextCue)),
                next = esc(&next),
                output_label = esc(ctx.t(M::Output)),
                output_up = v.output_up,
                reaching = v.reaching,
                recorded_only = v.recorded_only,
                output = esc(&v.output),
                up = esc(&up),
                listen = esc(ctx.t(M::Listen)),
                schedule = esc(ctx.t(M::ScheduleLink)),
                line = lines.get(v.village.as_str()).and_then(|l| l.summary.as_ref().map(|s| (l.state, s))).map_or(
                    String::new(),
                    |(state, s)| format!(
                        r#"<dt>{}</dt><dd class="line-state" data-state="{state}">{}</dd>
"#,
                        esc(ctx.t(M::LineLabel)),
                        esc(s.get(ctx.lang))
                    )
                ),
            )
        })
        .collect();
    let cards =
        if status.is_empty() { format!(r#"<p class="empty">{}</p>"#, esc(ctx.t(M::NoVillages))) } else { cards };
    let body = format!(
        r#"<div class="page-head"><h1>{title}</h1><span class="live-state" id="live-state">{loading}</span></div>
<div class="cards" id="village-cards">{cards}</div>"#,
        title = esc(ctx.t(M::DashboardTitle)),
        loading = esc(ctx.t(M::Loading)),
    );
    let data = json!({ "tz": tz.name(), "clips": titles });
    Ok(ctx.render(Page::new("dashboard", ctx.t(M::DashboardTitle), Nav::Dashboard, body).data(data)))
}
