/* xiangyin pages: the village page — its day, the slots that reach it, and its own playlist editor.
 * Loaded (deferred) before app.js, which calls it with the shared helpers once the document is parsed.
 * Text from people or files is only ever set with textContent, never as HTML. */
'use strict';
window.xyPages = window.xyPages || {};
window.xyPages.village = function (xy) {
  const { $, $$, api, DATA, el, langName, nameOf, pad, say, signed, t, timeParts } = xy;
  const base = '/api/villages/' + encodeURIComponent(DATA.village);
  const labels = DATA.labels || {};
  const dateInput = $('#day-date');
  const minutes = function (hms) {
    const p = String(hms).split(':').map(Number);
    return p[0] * 60 + (p[1] || 0) + (p[2] || 0) / 60;
  };
  const pct = function (m) { return (Math.max(0, Math.min(1440, m)) / 14.4).toFixed(3) + '%'; };

  async function loadDay() {
    const r = await api('GET', base + '/day?date=' + encodeURIComponent(dateInput.value || DATA.today));
    if (!r.ok) {
      $('#day-timeline').replaceChildren();
      $('#day-list').replaceChildren(el('li', { class: 'error' }, r.error));
      return;
    }
    drawDay(r.data);
  }
  function drawDay(day) {
    const bar = $('#day-timeline');
    bar.replaceChildren();
    const quiet = day.quiet_hours || [];
    for (const q of quiet) {
      const ends = q.split('-');
      const block = el('div', { class: 'quiet', title: t('QuietHours') + ' ' + q });
      block.style.left = pct(minutes(ends[0]));
      block.style.width = pct(minutes(ends[1]) - minutes(ends[0]));
      bar.append(block);
    }
    const cues = day.cues || [];
    for (const c of cues) {
      const s = minutes(c.start);
      let e = minutes(c.end);
      if (e < s) e = 1440; // runs past midnight
      const block = el('div', { class: 'cue', 'data-outcome': c.outcome,
        title: c.start.slice(0, 5) + ' ' + (c.title || c.item || '') + ' · ' + nameOf(c.outcome) });
      block.style.left = pct(s);
      block.style.width = pct(e - s);
      bar.append(block);
    }
    if (day.date === DATA.today) {
      const p = timeParts(new Date(), DATA.tz);
      const now = el('div', { class: 'now' });
      now.style.left = pct(Number(p.hour) * 60 + Number(p.minute));
      bar.append(now);
    }
    $('#day-quiet').textContent = t('QuietHours') + ': ' + (quiet.join(', ') || t('Nothing')) + ' · ' + nameOf(day.day_kind);
    const list = $('#day-list');
    if (!cues.length) { list.replaceChildren(el('li', { class: 'empty' }, t('NoCues'))); return; }
    list.replaceChildren.apply(list, cues.map(function (c) {
      let text = (c.title || c.item || t('Nothing')) + ' · ' + c.slot + ' · ' + nameOf(c.outcome);
      if (c.deferred_from) text += ' (' + t('DeferredFrom', { time: c.deferred_from.slice(0, 5) }) + ')';
      return el('li', { 'data-outcome': c.outcome }, el('span', { class: 'time' }, c.start.slice(0, 5)), text);
    }));
  }

  function drawSchedule(s) {
    const box = $('#schedule');
    const parts = [];
    const q = s.village.quiet_hours || {};
    parts.push(el('p', { class: 'sub' }, t('QuietHours') + ': ' +
      ['weekdays', 'weekends', 'holidays'].map(function (k, i) {
        return nameOf(['weekday', 'weekend', 'holiday'][i]) + ' ' + ((q[k] || []).join(', ') || '–');
      }).join(' · ')));
    if (s.village.volume_db && s.village.volume_db.length) {
      parts.push(el('p', { class: 'sub' }, t('Volume') + ': ' +
        s.village.volume_db.map(function (v) { return v.from + ' ' + signed(v.db, 0) + ' dB'; }).join(' · ')));
    }
    if (s.file_problem) parts.push(el('p', { class: 'error' }, s.file_problem));
    if (!s.slots.length) parts.push(el('p', { class: 'empty' }, t('NoSlots')));
    for (const slot of s.slots) {
      const where = slot.editable ? t('OwnSlot') : t('SharedSlot', { file: slot.file || '?' });
      const items = el('ul', { class: 'slot-list' });
      for (const it of slot.items) {
        const v = it.variant;
        const what = v ? v.title + ' (' + langName(v.language) + ')' : labels[it.item] || it.item;
        items.append(el('li', { 'data-status': it.status }, what + ' · ' + nameOf(it.status === 'no-variant' ? 'no-variant' : it.status)));
      }
      parts.push(el('div', { class: 'slot', 'data-slot': slot.name },
        el('h3', null, slot.name),
        el('p', { class: 'sub' }, [slot.cron, nameOf(slot.mode), nameOf(slot.priority),
          t('InQuietHours') + ' ' + nameOf(slot.in_quiet_hours), where].join(' · ')),
        items));
    }
    box.replaceChildren.apply(box, parts);
  }

  /* The playlist editor (only for roles that edit playlists). */
  const DAYS = { '*': '*', '1-5': '1-5', 'mon-fri': '1-5', '0,6': '0,6', '6,0': '0,6', '6-7': '0,6', 'sat,sun': '0,6' };
  function refreshEmpty() {
    $('#playlist-empty').hidden = $$('#playlist-items li.item').length > 0;
  }
  function addItem(id) {
    const li = $('#item-template').content.firstElementChild.cloneNode(true);
    li.dataset.item = id;
    $('.item-label', li).textContent = labels[id] || id;
    $('#playlist-items').append(li);
    refreshEmpty();
  }
  function showCustom(li, custom) {
    $('.slot-cron-label', li).hidden = !custom;
    $('.slot-time', li).closest('label').hidden = custom;
  }
  function addSlot(s) {
    const li = $('#slot-template').content.firstElementChild.cloneNode(true);
    s = s || { cron: '0 7 * * *' };
    li.dataset.extra = JSON.stringify({ from: s.from, until: s.until, on_holidays: s.on_holidays, chime: s.chime });
    const f = String(s.cron || '').trim().split(/\s+/);
    const days = f.length === 5 && /^\d+$/.test(f[0]) && /^\d+$/.test(f[1]) && f[2] === '*' && f[3] === '*' && DAYS[f[4].toLowerCase()];
    if (days) {
      $('.slot-time', li).value = pad(f[1]) + ':' + pad(f[0]);
      $('.slot-days', li).value = days;
    } else {
      $('.slot-days', li).value = 'custom';
      $('.slot-cron', li).value = s.cron || '';
    }
    showCustom(li, !days);
    $('.slot-quiet', li).value = s.in_quiet_hours || 'skip';
    $('.slot-chime', li).checked = s.chime === true || typeof s.chime === 'string';
    $('#playlist-slots').append(li);
  }
  function slotBody(li) {
    const days = $('.slot-days', li).value;
    let cron;
    if (days === 'custom') cron = $('.slot-cron', li).value.trim();
    else {
      const hm = ($('.slot-time', li).value || '07:00').split(':');
      cron = Number(hm[1]) + ' ' + Number(hm[0]) + ' * * ' + days;
    }
    let extra = {};
    try { extra = JSON.parse(li.dataset.extra || '{}'); } catch (e) { extra = {}; }
    const body = { cron: cron, in_quiet_hours: $('.slot-quiet', li).value };
    body.chime = $('.slot-chime', li).checked ? (typeof extra.chime === 'string' ? extra.chime : true) : false;
    for (const k of ['from', 'until', 'on_holidays']) if (extra[k] != null) body[k] = extra[k];
    return body;
  }
  function fillEditor(s) {
    const p = s.playlist || { mode: 'in-order', items: [], gap_s: 2, repeat: 1, slots: [] };
    $('#playlist-mode').value = p.mode || 'in-order';
    $('#playlist-gap').value = p.gap_s;
    $('#playlist-repeat').value = p.repeat;
    $('#playlist-items').replaceChildren();
    (p.items || []).forEach(addItem);
    $('#playlist-slots').replaceChildren();
    (p.slots || []).forEach(addSlot);
    $('#playlist-file').textContent = s.file || '';
    refreshEmpty();
  }
  function setupEditor() {
    $('#playlist-items').addEventListener('click', function (e) {
      const btn = e.target.closest('button');
      if (!btn) return;
      const li = btn.closest('li.item');
      if (btn.classList.contains('item-up') && li.previousElementSibling) li.parentNode.insertBefore(li, li.previousElementSibling);
      else if (btn.classList.contains('item-down') && li.nextElementSibling) li.parentNode.insertBefore(li.nextElementSibling, li);
      else if (btn.classList.contains('item-remove')) li.remove();
      if (btn.isConnected) btn.focus();
      refreshEmpty();
    });
    $('#playlist-add').addEventListener('click', function () {
      const v = $('#playlist-choice').value;
      if (v) addItem(v);
    });
    $('#slot-add').addEventListener('click', function () { addSlot(null); });
    $('#playlist-slots').addEventListener('click', function (e) {
      const btn = e.target.closest('.slot-remove');
      if (btn) btn.closest('li.slot-row').remove();
    });
    $('#playlist-slots').addEventListener('change', function (e) {
      if (!e.target.classList.contains('slot-days')) return;
      const li = e.target.closest('li.slot-row');
      const custom = e.target.value === 'custom';
      if (custom && !$('.slot-cron', li).value) {
        const hm = ($('.slot-time', li).value || '07:00').split(':');
        $('.slot-cron', li).value = Number(hm[1]) + ' ' + Number(hm[0]) + ' * * *';
      }
      showCustom(li, custom);
    });
    $('#playlist-save').addEventListener('click', async function () {
      const gap = Number($('#playlist-gap').value);
      const body = {
        mode: $('#playlist-mode').value,
        items: $$('#playlist-items li.item').map(function (li) { return li.dataset.item; }),
        gap_s: isFinite(gap) && gap >= 0 ? gap : 0,
        repeat: Math.max(1, parseInt($('#playlist-repeat').value, 10) || 1),
        slots: $$('#playlist-slots li.slot-row').map(slotBody),
      };
      const status = $('#playlist-status');
      const problems = $('#playlist-problems');
      problems.replaceChildren();
      say(status, t('Sending'));
      $('#playlist-save').disabled = true;
      const r = await api('PUT', base + '/playlist', body);
      $('#playlist-save').disabled = false;
      if (r.ok) {
        say(status, t('Saved'), 'ok');
        drawSchedule(r.data);
        fillEditor(r.data);
        loadDay();
      } else {
        // The server says it in the page's language, each problem in the editor's words.
        say(status, r.error, 'error');
        for (const p of (r.data && r.data.problems) || []) problems.append(el('li', null, p));
      }
    });
  }

  if (DATA.canEdit && $('#playlist-editor')) setupEditor();
  dateInput.addEventListener('change', loadDay);
  loadDay();
  api('GET', base + '/schedule').then(function (r) {
    if (!r.ok) { $('#schedule').replaceChildren(el('p', { class: 'error' }, r.error)); return; }
    drawSchedule(r.data);
    if (DATA.canEdit && $('#playlist-editor')) fillEditor(r.data);
  });
};
