//! `/log`: the as-run log as a table (filters: village, since a local date — yesterday by
//! default), and a link to the same rows as CSV (`GET /api/log?format=csv`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;

use super::{Ctx, Nav, Page, PageResult, esc, options, query_value, url_encode};
use crate::domain::VillageId;
use crate::scheduler::local_instant;
use crate::store::Filter;
use crate::web::ApiError;
use crate::web::i18n::{M, Words, fill};

/// The most rows the page shows.
const MAX_ROWS: usize = 1000;

fn local(t: Option<DateTime<Utc>>, tz: Tz, with_date: bool) -> String {
    t.map_or(String::new(), |t| {
        let t = t.with_timezone(&tz);
        if with_date { t.format("%m-%d %H:%M:%S").to_string() } else { t.format("%H:%M:%S").to_string() }
    })
}

/// `GET /log`.
pub(crate) async fn page(ctx: Ctx) -> PageResult {
    ctx.user(None)?;
    let lang = ctx.lang;
    let t = |m| esc(lang.t(m));
    let (tz, villages): (Tz, Vec<(String, String)>) = {
        let station = ctx.state.station();
        let plan = station.plan();
        (plan.station.timezone, plan.villages.iter().map(|v| (v.id.to_string(), v.name.clone())).collect())
    };
    let names: BTreeMap<&str, &str> = villages.iter().map(|(id, n)| (id.as_str(), n.as_str())).collect();
    let village = query_value(ctx.query.as_deref(), "village").filter(|v| !v.is_empty());
    let since_text = query_value(ctx.query.as_deref(), "since").filter(|s| !s.is_empty());
    let since_date = match &since_text {
        Some(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| ctx.fail(crate::web::schedule::not_a_date(s)))?,
        None => ctx.today().pred_opt().unwrap_or_else(|| ctx.today()),
    };
    let village_id = match &village {
        Some(v) => Some(VillageId::new(v).map_err(|e| ctx.fail(ApiError::bad_request(crate::web::error::said(&e))))?),
        None => None,
    };
    let since = local_instant(tz, since_date, 0);
    let filter = Filter { village: village_id, since: Some(since), until: None, limit: Some(MAX_ROWS) };
    // The database lock is let go before an error page is drawn.
    let rows = ctx.state.db().query(&filter);
    let rows = rows.map_err(|e| ctx.fail(e.into()))?;
    let titles: BTreeMap<String, String> =
        super::clips(&ctx.state).map_err(|e| ctx.fail(e))?.into_iter().map(|c| (c.id.to_string(), c.title)).collect();

    let head = [
        M::Scheduled,
        M::Village,
        M::Clip,
        M::Language,
        M::Priority,
        M::Slot,
        M::Outcome,
        M::Started,
        M::Ended,
        M::Detail,
    ];
    let languages = ctx.languages();
    let th: String = head.iter().map(|m| format!(r#"<th scope="col">{}</th>"#, t(*m))).collect();
    let body_rows: String = rows
        .iter()
        .map(|r| {
            let clip = r
                .clip
                .as_ref()
                .map_or(String::new(), |c| titles.get(c.as_str()).cloned().unwrap_or_else(|| c.to_string()));
            let cells = [
                local(Some(r.scheduled), tz, true),
                names.get(r.village.as_str()).map_or_else(|| r.village.to_string(), |n| (*n).to_owned()),
                clip,
                r.language.as_ref().map_or(String::new(), |l| languages.name(l.as_str())),
                r.priority.map_or(String::new(), |p| lang.name_of(p.name())),
                r.slot.clone().unwrap_or_default(),
                lang.name_of(r.state()),
                local(r.started, tz, false),
                local(r.ended, tz, false),
                r.detail_in(lang).unwrap_or_default().to_owned(),
            ];
            let tds: String =
                cells.iter().zip(head).map(|(c, m)| format!(r#"<td data-label="{}">{}</td>"#, t(m), esc(c))).collect();
            format!(r#"<tr data-outcome="{}">{tds}</tr>"#, esc(r.state()))
        })
        .collect();
    let table = if rows.is_empty() {
        format!(
            r#"<p class="empty">{}</p><table id="log-table" class="stack" hidden><thead><tr>{th}</tr></thead><tbody></tbody></table>"#,
            t(M::NoRows)
        )
    } else {
        format!(r#"<table id="log-table" class="stack"><thead><tr>{th}</tr></thead><tbody>{body_rows}</tbody></table>"#)
    };
    let mut csv =
        format!("/api/log?format=csv&since={}", url_encode(&since.to_rfc3339_opts(SecondsFormat::Secs, true)));
    if let Some(v) = &village {
        csv.push_str(&format!("&village={}", url_encode(v)));
    }
    let any = format!(r#"<option value="">{}</option>"#, t(M::All));
    let village_opts = options(villages.iter().map(|(id, n)| (id.as_str(), n.clone())), village.as_deref());
    let shown = fill(lang.t(M::RowsShown), &[("n", &rows.len().to_string()), ("max", &MAX_ROWS.to_string())]);
    let body = format!(
        r#"<h1>{title}</h1>
<section class="panel">
<form id="log-filters" method="get" action="/log" class="filters">
<div><label for="log-village">{village_label}</label><select id="log-village" name="village">{any}{village_opts}</select></div>
<div><label for="log-since">{since_label}</label><input type="date" id="log-since" name="since" value="{since_date}"></div>
<div class="filter-submit"><button type="submit" id="log-show">{show}</button></div>
<div class="filter-submit"><a class="button" id="log-csv" href="{csv}" download>{download}</a></div>
</form>
<p class="sub">{shown}</p>
{table}
</section>"#,
        title = t(M::LogTitle),
        village_label = t(M::Village),
        since_label = t(M::Since),
        show = t(M::Show),
        csv = esc(&csv),
        download = t(M::DownloadCsv),
        shown = esc(&shown),
    );
    Ok(ctx.render(Page::new("log", lang.t(M::LogTitle), Nav::Log, body)))
}
