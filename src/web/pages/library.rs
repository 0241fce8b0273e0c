//! `/library`: upload a recording (drag and drop or file picker, with a progress bar, then the
//! measured loudness or the refusal's sentence), and the clip list with filters, previews and —
//! for roles that review — approve / reject-with-reason.

use super::{Ctx, Nav, Page, PageResult, clips, esc, options, query_value};
use crate::domain::{Action, ClipKind, ReviewState};
use crate::library::{ClipMeta, tenths};
use crate::web::i18n::{Lang, M, Words};

/// The list's filters from the query string (empty: any).
struct Filters {
    language: String,
    kind: String,
    review: String,
    q: String,
}

impl Filters {
    fn from(ctx: &Ctx) -> Filters {
        let get = |k| query_value(ctx.query.as_deref(), k).unwrap_or_default().trim().to_owned();
        Filters { language: get("language"), kind: get("kind"), review: get("review"), q: get("q") }
    }

    fn keeps(&self, c: &ClipMeta) -> bool {
        let q = self.q.to_lowercase();
        (self.language.is_empty() || c.language.as_str() == self.language)
            && (self.kind.is_empty() || c.kind.name() == self.kind)
            && (self.review.is_empty() || c.review.name() == self.review)
            && (q.is_empty()
                || [Some(c.title.as_str()), c.transcript.as_deref(), c.message.as_ref().map(|m| m.as_str())]
                    .iter()
                    .flatten()
                    .any(|t| t.to_lowercase().contains(&q)))
    }
}

fn clip_item(c: &ClipMeta, lang: Lang, names: &super::LangNames, may_review: bool) -> String {
    let t = |m| esc(lang.t(m));
    let l = &c.loudness;
    let mut facts = vec![
        format!(
            r#"<span class="clip-language" data-language="{}">{}</span>"#,
            esc(c.language.as_str()),
            esc(&names.name(c.language.as_str()))
        ),
        esc(&lang.name_of(c.kind.name())),
        format!("{} {:.1} {}", t(M::Duration), c.duration_s, t(M::Seconds)),
    ];
    if let Some(m) = &c.message {
        facts.push(format!("{} {}", t(M::Message), esc(m.as_str())));
    }
    if let Some(d) = c.expires {
        facts.push(format!("{} {d}", t(M::Expires)));
    }
    facts.push(format!("{} {}", t(M::Uploader), esc(&c.uploader)));
    let loudness = format!(
        "{} {:.1} LUFS · {} {:.1} dBTP · {} {:+.1} dB",
        t(M::IntegratedLufs),
        tenths(l.integrated_lufs),
        t(M::TruePeak),
        tenths(l.true_peak_dbtp),
        t(M::Gain),
        tenths(l.gain_db)
    );
    let transcript =
        c.transcript.as_deref().map_or(String::new(), |tr| format!(r#"<p class="transcript">{}</p>"#, esc(tr)));
    let reason = match &c.review {
        ReviewState::Rejected { reason } => {
            format!(
                r#"<p class="reason"><strong>{}:</strong> <span class="reason-text">{}</span></p>"#,
                t(M::Reason),
                esc(reason)
            )
        }
        _ => String::new(),
    };
    let review = if may_review {
        format!(
            r#"<div class="review-actions">
<button type="button" class="approve primary"{approved}>{approve}</button>
<input class="reject-reason" aria-label="{reason}" placeholder="{reason}" maxlength="500"{rejected}>
<button type="button" class="reject danger"{rejected}>{reject}</button>
</div>"#,
            approve = t(M::Approve),
            // An approved clip has nothing to approve; a rejected one nothing to reject.
            approved = if c.review.is_approved() { " hidden" } else { "" },
            rejected = if matches!(c.review, ReviewState::Rejected { .. }) { " hidden" } else { "" },
            reason = t(M::RejectReason),
            reject = t(M::Reject),
        )
    } else {
        String::new()
    };
    let id = esc(c.id.as_str());
    let state = c.review.name();
    format!(
        r#"<li class="clip card" data-clip-id="{id}" data-review="{state}">
<div class="clip-head"><h3 class="clip-title">{title}</h3><span class="badge review-state" data-state="{state}">{state_word}</span></div>
<p class="sub">{facts}</p>
<p class="sub loudness">{loudness}</p>
{transcript}{reason}
<audio class="preview" controls preload="none" src="/api/clips/{id}/audio"></audio>
<p class="sub"><a href="/api/clips/{id}/original">{original}</a></p>
{review}
<p class="clip-msg" role="status" hidden></p>
</li>"#,
        title = esc(&c.title),
        state_word = esc(&lang.name_of(state)),
        facts = facts.join(" · "),
        original = t(M::Original),
    )
}

/// `GET /library`.
pub(crate) async fn page(ctx: Ctx) -> PageResult {
    let caller = ctx.user(None)?;
    let may_review = caller.role().allows(Action::Review);
    let lang = ctx.lang;
    let t = |m| esc(lang.t(m));
    let names = ctx.languages();
    let languages: Vec<String> = ctx.state.station().plan().station.languages.iter().map(ToString::to_string).collect();
    let all = clips(&ctx.state).map_err(|e| ctx.fail(e))?;
    let filters = Filters::from(&ctx);
    let mut shown: Vec<&ClipMeta> = all.iter().filter(|c| filters.keeps(c)).collect();
    // Newest first: what was just uploaded is at the top.
    shown.sort_by(|a, b| b.imported_at.cmp(&a.imported_at).then_with(|| a.title.cmp(&b.title)));
    let mut message_ids: Vec<&str> = all.iter().filter_map(|c| c.message.as_ref().map(|m| m.as_str())).collect();
    message_ids.sort_unstable();
    message_ids.dedup();

    let lang_opts = |selected: Option<&str>| options(languages.iter().map(|l| (l.as_str(), names.name(l))), selected);
    let kind_opts =
        |selected: Option<&str>| options(ClipKind::ALL.iter().map(|k| (k.name(), lang.name_of(k.name()))), selected);
    let any = |label: M| format!(r#"<option value="">{}</option>"#, esc(lang.t(label)));
    let review_opts = options(["pending", "approved", "rejected"].map(|s| (s, lang.name_of(s))), Some(&filters.review));
    let datalist: String = message_ids.iter().map(|m| format!(r#"<option value="{}">"#, esc(m))).collect();
    let list: String = shown.iter().map(|c| clip_item(c, lang, &names, may_review)).collect();
    let list = if shown.is_empty() { format!(r#"<p class="empty">{}</p>"#, t(M::NoClips)) } else { list };

    let body = format!(
        r#"<h1>{title}</h1>
<section class="panel" id="upload-panel">
<h2>{upload_title}</h2>
<form id="upload-form" novalidate>
<div class="drop" id="upload-drop">
<p>{drop_here} <label class="button" for="upload-input">{choose}</label></p>
<input type="file" id="upload-input" name="file" accept="audio/*,.wav,.mp3,.ogg,.opus,.flac,.m4a,.aac" class="visually-hidden">
<p class="file-name" id="upload-file-name">{no_file}</p>
</div>
<div class="grid2">
<div><label for="upload-title">{title_label}</label><input id="upload-title" name="title" maxlength="200"></div>
<div><label for="upload-language">{language}</label><select id="upload-language" name="language" required><option value="" selected disabled>{choose_language}</option>{upload_langs}</select></div>
<div><label for="upload-kind">{kind}</label><select id="upload-kind" name="kind">{upload_kinds}</select></div>
<div><label for="upload-message">{message}</label><input id="upload-message" name="message" list="upload-messages" autocapitalize="none" spellcheck="false"><datalist id="upload-messages">{datalist}</datalist><small>{message_hint}</small></div>
<div><label for="upload-expires">{expires}</label><input id="upload-expires" name="expires" type="date"></div>
<div><label for="upload-max-plays">{max_plays}</label><input id="upload-max-plays" name="max_plays_per_day" type="number" min="1" step="1" inputmode="numeric"></div>
</div>
<label for="upload-transcript">{transcript}</label>
<textarea id="upload-transcript" name="transcript" rows="3"></textarea>
<button type="submit" id="upload-submit" class="primary wide">{upload}</button>
<progress id="upload-progress" max="1" value="0" hidden></progress>
<p id="upload-status" role="status"></p>
<div id="upload-result" aria-live="polite"></div>
</form>
</section>
<section class="panel">
<form id="clip-filters" method="get" action="/library" class="filters">
<div><label for="filter-language">{language}</label><select id="filter-language" name="language">{any_all}{filter_langs}</select></div>
<div><label for="filter-kind">{kind}</label><select id="filter-kind" name="kind">{any_all}{filter_kinds}</select></div>
<div><label for="filter-review">{review}</label><select id="filter-review" name="review">{any_all}{review_opts}</select></div>
<div><label for="filter-q">{search}</label><input id="filter-q" name="q" type="search" value="{q}"></div>
<div class="filter-submit"><button type="submit" id="filter-apply">{filter}</button></div>
</form>
<p class="sub">{count}</p>
<ul class="clip-list" id="clip-list">{list}</ul>
</section>"#,
        title = t(M::LibraryTitle),
        upload_title = t(M::UploadTitle),
        drop_here = t(M::DropHere),
        choose = t(M::ChooseFile),
        no_file = t(M::NoFileChosen),
        title_label = t(M::Title),
        language = t(M::Language),
        upload_langs = lang_opts(None),
        choose_language = t(M::ChooseLanguage),
        kind = t(M::Kind),
        upload_kinds = kind_opts(Some(ClipKind::Notice.name())),
        message = t(M::Message),
        message_hint = t(M::MessageHint),
        expires = t(M::Expires),
        max_plays = t(M::MaxPlays),
        transcript = t(M::Transcript),
        upload = t(M::UploadSubmit),
        any_all = any(M::All),
        filter_langs = lang_opts(Some(&filters.language)),
        filter_kinds = kind_opts(Some(&filters.kind)),
        review = t(M::Review),
        search = t(M::Search),
        q = esc(&filters.q),
        filter = t(M::Filter),
        count = format_args!("{} / {}", shown.len(), all.len()),
    );
    Ok(ctx.render(Page::new("library", lang.t(M::LibraryTitle), Nav::Library, body)))
}
