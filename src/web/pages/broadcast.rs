//! `/broadcast`: choose villages (grouped by township, or all) and a message or clip; a normal
//! broadcast button and a big red emergency button behind a confirmation dialog; the result
//! (villages playing, villages skipped) with a stop button (`DELETE /api/broadcasts/{id}`).

use std::collections::BTreeMap;

use serde_json::json;

use super::{Choices, Ctx, Nav, Page, PageResult, clips, esc};
use crate::domain::Action;
use crate::web::i18n::{M, Words};

/// `GET /broadcast`.
pub(crate) async fn page(ctx: Ctx) -> PageResult {
    ctx.user(Some(Action::Broadcast))?;
    let lang = ctx.lang;
    let t = |m| esc(lang.t(m));
    // Townships in the order their first village appears in villages.yaml.
    let mut townships: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut names = BTreeMap::new();
    {
        let station = ctx.state.station();
        for v in &station.plan().villages {
            names.insert(v.id.to_string(), v.name.clone());
            let entry = (v.id.to_string(), v.name.clone());
            match townships.iter_mut().find(|(t, _)| *t == v.township) {
                Some((_, list)) => list.push(entry),
                None => townships.push((v.township.clone(), vec![entry])),
            }
        }
    }
    let all = clips(&ctx.state).map_err(|e| ctx.fail(e))?;
    let choices = Choices::new(&all, ctx.today(), lang, &ctx.languages());
    let titles: BTreeMap<String, String> = all.iter().map(|c| (c.id.to_string(), c.title.clone())).collect();
    let groups: String = townships
        .iter()
        .map(|(township, villages)| {
            let boxes: String = villages
                .iter()
                .map(|(id, name)| {
                    format!(
                        r#"<label class="check big"><input type="checkbox" class="target-village" name="village" value="{}" data-township="{}"> {}</label>"#,
                        esc(id),
                        esc(township),
                        esc(name)
                    )
                })
                .collect();
            format!(
                r#"<fieldset class="township"><legend><label class="check"><input type="checkbox" class="township-toggle" data-township="{tid}"> {tname}</label></legend><div class="checks">{boxes}</div></fieldset>"#,
                tid = esc(township),
                tname = esc(township),
            )
        })
        .collect();
    let body = format!(
        r#"<h1>{title}</h1>
<form id="broadcast-form" class="panel" novalidate>
<h2>{targets}</h2>
<label class="check big all"><input type="checkbox" id="target-all"> {all_villages}</label>
<div id="targets">{groups}</div>
<h2><label for="broadcast-what">{what}</label></h2>
<select id="broadcast-what"><option value="">{choose}</option>{optgroups}</select>
<div class="broadcast-buttons">
<button type="submit" id="broadcast-submit" class="primary wide">{play}</button>
<button type="button" id="emergency-button" class="emergency wide">{emergency}</button>
</div>
<p class="error" id="broadcast-error" role="alert" hidden></p>
</form>
<section class="panel" id="broadcast-result" hidden aria-live="polite">
<p class="sentence" id="broadcast-summary"></p>
<ul id="broadcast-cues"></ul>
<p id="broadcast-skipped-title" hidden>{skipped}</p>
<ul id="broadcast-skipped"></ul>
<p id="broadcast-unheard-title" class="error" hidden>{unheard_title}</p>
<ul id="broadcast-unheard" class="error"></ul>
<button type="button" id="broadcast-stop" class="danger wide">{stop}</button>
</section>
<dialog id="emergency-dialog" aria-labelledby="emergency-dialog-title">
<h2 id="emergency-dialog-title">{confirm_title}</h2>
<p>{confirm_text}</p>
<div class="dialog-buttons">
<button type="button" id="emergency-cancel">{cancel}</button>
<button type="button" id="emergency-confirm" class="emergency">{confirm}</button>
</div>
</dialog>"#,
        title = t(M::BroadcastTitle),
        targets = t(M::Targets),
        all_villages = t(M::AllVillages),
        what = t(M::WhatToPlay),
        choose = t(M::ChooseItem),
        optgroups = choices.optgroups(lang, true),
        play = t(M::BroadcastButton),
        emergency = t(M::EmergencyButton),
        unheard_title = t(M::BroadcastUnheard),
        skipped = t(M::SkippedVillages),
        stop = t(M::Stop),
        confirm_title = t(M::EmergencyConfirmTitle),
        confirm_text = t(M::EmergencyConfirmText),
        cancel = t(M::Cancel),
        confirm = t(M::EmergencyConfirm),
    );
    let data = json!({ "villages": names, "clips": titles });
    Ok(ctx.render(Page::new("broadcast", lang.t(M::BroadcastTitle), Nav::Broadcast, body).data(data)))
}
