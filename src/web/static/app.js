/* xiangyin pages: a little vanilla JavaScript, no build step.
 * Every page sets <body data-page=NAME>; the code for that page runs once the document is parsed.
 * Words come from <script id="xy-i18n"> (the page language), data from <script id="xy-data">.
 * Text from people or files is only ever set with textContent, never as HTML. */
'use strict';
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function readJson(id) {
    const node = document.getElementById(id);
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }
  const I18N = readJson('xy-i18n') || {};
  const DATA = readJson('xy-data') || {};
  const LANGS = readJson('xy-langs') || {};
  /** What people call language tag `code` (station.yaml language_names). */
  function langName(code) { return LANGS[code] || code; }

  /** The text `key` of the page language, with `{name}` placeholders filled from `vars`. */
  function t(key, vars) {
    let s = I18N[key] || key;
    if (vars) for (const k of Object.keys(vars)) s = s.split('{' + k + '}').join(String(vars[k]));
    return s;
  }
  /** The word for a stable name of the station (role, priority, outcome…), or the name. */
  function nameOf(name) {
    return (I18N._names && I18N._names[name]) || name;
  }

  /** An element with attributes and children (strings become text nodes). */
  function el(tag, attrs) {
    const node = document.createElement(tag);
    if (attrs) for (const k of Object.keys(attrs)) if (attrs[k] != null) node.setAttribute(k, attrs[k]);
    for (let i = 2; i < arguments.length; i++) {
      const c = arguments[i];
      if (c != null) node.append(c);
    }
    return node;
  }

  /** Shows `text` in `node` (hides it when empty); kind 'error' or 'ok' colours it. */
  function say(node, text, kind) {
    if (!node) return;
    node.textContent = text || '';
    node.hidden = !text;
    node.classList.toggle('error', kind === 'error');
    node.classList.toggle('ok', kind === 'ok');
  }

  function csrf() {
    const m = document.querySelector('meta[name="csrf"]');
    return m ? m.getAttribute('content') : '';
  }

  function toLogin() {
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
  }

  /** A JSON API call: {ok, status, data, error} where error is the server's sentence. */
  /** The page's language, sent with every request so the station answers in it (the browser's
   *  own Accept-Language may differ from the language the person chose for the pages, and the
   *  language cookie may have changed in another tab): X-XY-Lang comes first at the station. */
  function pageLang() {
    return document.documentElement.lang || 'zh-CN';
  }
  function pageCode() {
    return document.body.dataset.lang === 'en' ? 'en' : 'zh';
  }

  async function api(method, url, body) {
    const headers = { Accept: 'application/json', 'Accept-Language': pageLang(), 'X-XY-Lang': pageCode() };
    if (method !== 'GET') headers['X-CSRF-Token'] = csrf();
    const init = { method: method, headers: headers, credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try { res = await fetch(url, init); } catch (e) {
      return { ok: false, status: 0, data: null, error: t('NetworkError') };
    }
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
    const page = document.body.dataset.page;
    if (res.status === 401 && page !== 'login' && page !== 'setup') toLogin();
    const error = res.ok ? null : (data && data.error) || text.trim() || res.status + ' ' + res.statusText;
    return { ok: res.ok, status: res.status, data: data, error: error };
  }

  /* Times in the station's time zone (data-tz), as HH:MM, or MM-DD HH:MM when not today. */
  function timeParts(date, tz) {
    const out = {};
    let fmt;
    try {
      fmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    } catch (e) {
      fmt = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    }
    for (const p of fmt.formatToParts(date)) out[p.type] = p.value;
    if (out.hour === '24') out.hour = '00';
    return out;
  }
  function when(iso, tz) {
    const p = timeParts(new Date(iso), tz);
    const today = timeParts(new Date(), tz);
    const hm = p.hour + ':' + p.minute;
    return p.year === today.year && p.month === today.month && p.day === today.day ? hm : p.month + '-' + p.day + ' ' + hm;
  }
  /** One cue as a line (the same as the server's `cue_text`). */
  function cueText(cue, clips, tz) {
    const title = (clips && clips[cue.clip]) || cue.clip;
    let s = when(cue.at, tz) + ' ' + title;
    if (cue.priority !== 'scheduled' && cue.priority !== 'background') s += ' · ' + nameOf(cue.priority);
    return s;
  }
  // Rounds as the server does (library::tenths): halves away from zero, so −19.25 reads −19.3
  // here and on the server-drawn page alike (toFixed alone rounds the binary value).
  function rounded(x, digits) {
    var k = Math.pow(10, digits);
    return (Math.sign(x) * Math.round(Math.abs(x) * k) / k).toFixed(digits);
  }
  function num(x, digits) {
    return typeof x === 'number' && isFinite(x) ? rounded(x, digits) : '–';
  }
  function signed(x, digits) {
    return typeof x === 'number' && isFinite(x) ? (x > 0 ? '+' : '') + rounded(x, digits) : '–';
  }
  function pad(n) {
    return String(n).padStart(2, '0');
  }

  /** A sentence in both languages ({en, zh} or a problem's message/message_zh) in the page's. */
  function textOf(x) {
    if (!x) return '';
    const zh = document.body.dataset.lang !== 'en';
    if (x.zh != null || x.en != null) return zh ? (x.zh || x.en) : (x.en || x.zh);
    return zh ? (x.message_zh || x.message) : (x.message || x.message_zh);
  }

  /* ------------------------------------------------- the station's truth, on every page */
  // The red banner says what a village would notice (the station's health, pushed as event
  // `health`); the page calls the station lost — dark banner, everything greyed out — when the
  // event stream breaks or nothing has come for LOST_AFTER ms (the station sends a `tick` every
  // 2 s), and recovers by itself when the station is back. Pages without a login poll /healthz.
  const LIVE = { events: null, last: Date.now(), lost: false, health: null, listeners: [] };
  const LOST_AFTER = 6000;
  function showHealth(h) {
    LIVE.health = h;
    const box = $('#station-alert');
    if (!box || LIVE.lost) return;
    const problems = (h && h.problems) || [];
    box.dataset.state = problems.length ? 'degraded' : 'ok';
    box.hidden = problems.length === 0;
    const has = function (reason) { return problems.some(function (p) { return p.reason === reason; }); };
    $('.alert-head', box).textContent = has('fallback') ? t('AlertNotHeard')
      : has('output') ? t('AlertSomeNotHeard') : t('AlertDegraded');
    $('.alert-list', box).replaceChildren.apply($('.alert-list', box),
      problems.map(function (p) { return el('li', { 'data-reason': p.reason }, textOf(p)); }));
  }
  function heard() {
    LIVE.last = Date.now();
    if (LIVE.lost) {
      LIVE.lost = false;
      document.body.classList.remove('stale');
      if ($('#live-state')) say($('#live-state'), t(LIVE.events ? 'LiveConnected' : 'LivePolling'));
      showHealth(LIVE.health);
    }
  }
  function lost() {
    const box = $('#station-alert');
    const secs = Math.round((Date.now() - LIVE.last) / 1000);
    LIVE.lost = true;
    document.body.classList.add('stale');
    say($('#live-state'), t('LiveLost'));
    if (!box) return;
    box.hidden = false;
    box.dataset.state = 'lost';
    $('.alert-head', box).textContent = t('StationLost', { secs: secs });
    $('.alert-list', box).replaceChildren();
  }
  function watchStation() {
    if (!$('#station-alert')) return;
    if ($('#nav') && window.EventSource) {
      const open = function () {
        const es = new EventSource('/api/events');
        LIVE.events = es;
        LIVE.last = Date.now();
        es.addEventListener('health', function (e) {
          heard();
          try { showHealth(JSON.parse(e.data)); } catch (err) { /* wait for the next */ }
        });
        es.addEventListener('villages', heard);
        es.addEventListener('tick', heard);
        // The browser reconnects by itself; until then the page says it has lost the station.
        // When the station answered with an error instead (a session that expired, a proxy's
        // 502), the browser gives up: ask the station now and then, and open a new stream once it
        // answers (api() takes a 401 to the login page).
        es.onerror = function () {
          lost();
          if (es.readyState !== EventSource.CLOSED || LIVE.events !== es) return;
          LIVE.events = null;
          const retry = function () {
            api('GET', '/api/villages').then(function (r) {
              if (r.ok) { if (!LIVE.events) open(); } else if (r.status !== 401) setTimeout(retry, 5000);
            });
          };
          setTimeout(retry, 3000);
        };
        LIVE.listeners.forEach(function (l) { es.addEventListener(l[0], l[1]); });
      };
      open();
      // A page left for another (and kept in the back-forward cache) must let go of its stream:
      // the browser allows six connections to the station, and a kept stream holds one each.
      window.addEventListener('pagehide', function () { if (LIVE.events) { LIVE.events.close(); LIVE.events = null; } });
      window.addEventListener('pageshow', function (e) { if (e.persisted && !LIVE.events) open(); });
    } else {
      const check = function () {
        fetch('/healthz', { headers: { Accept: 'application/json' }, cache: 'no-store' })
          .then(function (r) { return r.json(); })
          .then(function (h) { heard(); showHealth(h); })
          .catch(function () { lost(); });
      };
      setInterval(check, 3000);
    }
    // Once lost, the banner keeps counting how long ago the station was last heard.
    setInterval(function () { if (LIVE.lost || Date.now() - LIVE.last > LOST_AFTER) lost(); }, 1000);
  }

  /** Listens to event `name` of the station's stream, also after the page reopens it. */
  function onLive(name, fn) {
    LIVE.listeners.push([name, fn]);
    if (LIVE.events) LIVE.events.addEventListener(name, fn);
  }

  const pages = {};

  /* ---------------------------------------------------------------- login & setup */
  pages.login = function () {
    const form = $('#login-form');
    if (!form) return;
    const err = $('#login-error');
    const btn = $('#login-submit');
    form.addEventListener('submit', async function (e) {
      e.preventDefault();
      say(err, '');
      const label = btn.textContent;
      btn.disabled = true;
      btn.textContent = t('LoggingIn');
      const r = await api('POST', '/api/session', { name: $('#login-name').value.trim(), password: $('#login-password').value });
      btn.disabled = false;
      btn.textContent = label;
      if (r.ok) location.assign(form.dataset.next || '/');
      else { say(err, r.error, 'error'); $('#login-password').select(); }
    });
    $('#login-name').focus();
  };

  pages.setup = function () {
    const form = $('#setup-form');
    if (!form) return;
    const err = $('#setup-error');
    form.addEventListener('submit', async function (e) {
      e.preventDefault();
      say(err, '');
      $('#setup-submit').disabled = true;
      const r = await api('POST', '/api/setup', { token: form.dataset.token, name: $('#setup-name').value.trim(),
        password: $('#setup-password').value });
      $('#setup-submit').disabled = false;
      if (r.ok) location.assign('/');
      else say(err, r.error, 'error');
    });
  };

  /* ---------------------------------------------------------------- dashboard */
  pages.dashboard = function () {
    const tz = DATA.tz;
    const clips = DATA.clips || {};
    const state = $('#live-state');
    function update(list) {
      if (!Array.isArray(list)) return;
      for (const v of list) {
        const card = $$('.village-card').find(function (c) { return c.dataset.village === v.village; });
        if (!card) continue;
        $('.now-playing', card).textContent = v.now_playing ? cueText(v.now_playing, clips, tz) : t('Nothing');
        $('.next-cue', card).textContent = v.next ? cueText(v.next, clips, tz)
          : v.next_slot ? when(v.next_slot[0], tz) + ' ' + v.next_slot[1] : t('Nothing');
        const out = $('.output-state', card);
        out.dataset.up = String(!!v.output_up);
        out.dataset.reaching = String(v.reaching !== false);
        out.dataset.recordedOnly = String(!!v.recorded_only);
        card.dataset.reaching = String(v.reaching !== false);
        $('.output-name', out).textContent = v.output;
        $('.output-word', out).textContent = v.unheard ? t('NotReaching') + (document.body.dataset.lang === 'en' ? ': ' : '：') + textOf(v.unheard)
          : !v.output_up ? t('OutputDown') : v.recorded_only ? t('RecordedOnly') : t('OutputUp');
        card.classList.toggle('on-air', !!v.now_playing);
      }
    }
    // The village lines (amplifier power, what the tap heard, the daily test): every 10 s.
    async function lines() {
      const r = await api('GET', '/api/lines');
      if (!r.ok || !Array.isArray(r.data)) return;
      for (const l of r.data) {
        const card = $$('.village-card').find(function (c) { return c.dataset.village === l.village; });
        const dd = card && $('.line-state', card);
        if (!dd || !l.summary) continue;
        dd.dataset.state = l.state;
        dd.textContent = textOf(l.summary);
      }
    }
    if ($('.line-state')) setInterval(lines, 10000);
    let timer = null;
    function poll() {
      if (timer) return;
      say(state, t('LivePolling'));
      const tick = async function () {
        const r = await api('GET', '/api/villages');
        if (r.ok) update(r.data);
      };
      tick();
      timer = setInterval(tick, 5000);
    }
    if (LIVE.events) {
      onLive('villages', function (e) {
        say(state, t('LiveConnected'));
        try { update(JSON.parse(e.data)); } catch (err) { /* a broken event: wait for the next */ }
      });
    } else {
      poll();
    }
    $$('.listen').forEach(function (btn) {
      const card = btn.closest('.village-card');
      const audio = $('.listen-audio', card);
      const src = audio.getAttribute('src');
      btn.addEventListener('click', function () {
        if (btn.getAttribute('aria-pressed') === 'true') {
          audio.pause();
          audio.removeAttribute('src');
          audio.load(); // ends the endless stream
          btn.setAttribute('aria-pressed', 'false');
          btn.textContent = t('Listen');
          return;
        }
        $$('.listen[aria-pressed="true"]').forEach(function (b) { b.click(); });
        audio.setAttribute('src', src);
        audio.play().catch(function () { /* the browser refused; the button stays pressed so it can stop */ });
        btn.setAttribute('aria-pressed', 'true');
        btn.textContent = t('StopListening');
      });
    });
  };

  /* ---------------------------------------------------------------- library */
  pages.library = function () {
    const input = $('#upload-input');
    const drop = $('#upload-drop');
    let file = null;
    function choose(f) {
      file = f || null;
      $('#upload-file-name').textContent = file ? file.name + ' (' + (file.size / 1048576).toFixed(1) + ' MB)' : t('NoFileChosen');
      if (file && !$('#upload-title').value.trim()) $('#upload-title').value = file.name.replace(/\.[^.]+$/, '');
    }
    input.addEventListener('change', function () { choose(input.files[0]); });
    ['dragenter', 'dragover'].forEach(function (ev) {
      drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.add('over'); });
    });
    ['dragleave', 'drop'].forEach(function (ev) {
      drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.remove('over'); });
    });
    drop.addEventListener('drop', function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
    });
    // A file dropped next to the zone must not replace the page.
    window.addEventListener('dragover', function (e) { e.preventDefault(); });
    window.addEventListener('drop', function (e) { e.preventDefault(); });

    const fields = [['upload-title', 'title'], ['upload-language', 'language'], ['upload-kind', 'kind'],
      ['upload-message', 'message'], ['upload-transcript', 'transcript'], ['upload-expires', 'expires'],
      ['upload-max-plays', 'max_plays_per_day']];
    $('#upload-form').addEventListener('submit', function (e) {
      e.preventDefault();
      const status = $('#upload-status');
      const result = $('#upload-result');
      const bar = $('#upload-progress');
      const btn = $('#upload-submit');
      result.replaceChildren();
      if (!file) { say(status, t('ChooseFileFirst'), 'error'); return; }
      // The language spoken is a deliberate choice: a Mandarin notice tagged as the dialect
      // would play to the wrong villages.
      if (!$('#upload-language').value) {
        say(status, t('ChooseLanguageFirst'), 'error');
        $('#upload-language').focus();
        return;
      }
      const form = new FormData();
      for (const f of fields) {
        const v = $('#' + f[0]).value.trim();
        if (v) form.append(f[1], v);
      }
      form.append('file', file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/clips');
      xhr.setRequestHeader('X-CSRF-Token', csrf());
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('Accept-Language', pageLang());
      xhr.setRequestHeader('X-XY-Lang', pageCode());
      xhr.upload.onprogress = function (ev) {
        if (!ev.lengthComputable) return;
        bar.value = ev.loaded / ev.total;
        say(status, t('Uploading') + ' ' + Math.round((100 * ev.loaded) / ev.total) + '%');
      };
      // While the station works on it, say where the upload is: waiting its turn, or being processed.
      let poll = null;
      function where() {
        fetch('/api/imports', { headers: { Accept: 'application/json' } }).then(function (r) {
          return r.ok ? r.json() : [];
        }).then(function (list) {
          if (!poll) return;
          const mine = list.filter(function (q) { return q.name === file.name; }).pop();
          if (mine && mine.state === 'queued') say(status, t('ImportQueued', { ahead: mine.ahead }));
          else say(status, t('Importing'));
        }).catch(function () { /* the answer to the upload itself will say what happened */ });
      }
      function stopPolling() { if (poll) { clearInterval(poll); poll = null; } }
      xhr.upload.onload = function () {
        bar.removeAttribute('value'); // indeterminate while the station measures loudness
        say(status, t('Importing'));
        poll = setInterval(where, 1000);
        where();
      };
      xhr.onerror = function () {
        stopPolling();
        btn.disabled = false;
        bar.hidden = true;
        say(status, t('NetworkError'), 'error');
      };
      xhr.onload = function () {
        stopPolling();
        btn.disabled = false;
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
        say(status, '');
        if (xhr.status === 200 || xhr.status === 201) {
          bar.value = 1;
          showImported(result, data || {});
          refreshList();
        } else {
          bar.hidden = true;
          const sentence = (data && data.error) || xhr.responseText.trim() || xhr.status + ' ' + xhr.statusText;
          result.replaceChildren(el('p', { class: 'error' }, sentence));
          if (xhr.status === 401) toLogin();
        }
      };
      btn.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      say(status, t('Uploading'));
      xhr.send(form);
    });
    function showImported(box, c) {
      const l = c.loudness || {};
      box.replaceChildren(
        el('p', { class: 'ok' }, (c.existing ? t('UploadExisting') : t('UploadDone')) + ' ',
          el('strong', { class: 'clip-title' }, c.title || c.id || '')),
        el('dl', { class: 'upload-facts' },
          el('dt', null, t('IntegratedLufs')), el('dd', { class: 'lufs' }, num(l.integrated_lufs, 1) + ' LUFS'),
          el('dt', null, t('TruePeak')), el('dd', { class: 'true-peak' }, num(l.true_peak_dbtp, 1) + ' dBTP'),
          el('dt', null, t('Gain')), el('dd', { class: 'gain' }, signed(l.gain_db, 1) + ' dB'),
          el('dt', null, t('Duration')), el('dd', { class: 'duration' }, num(c.duration_s, 1) + ' ' + t('Seconds'))));
    }

    $$('#clip-filters select').forEach(function (s) {
      s.addEventListener('change', function () { s.form.submit(); });
    });
    // After an upload, the list as the station draws it (newest first), in place.
    async function refreshList() {
      let html;
      try {
        const r = await fetch(location.pathname + location.search, { headers: { Accept: 'text/html' }, credentials: 'same-origin' });
        if (!r.ok) return;
        html = await r.text();
      } catch (e) { return; }
      const fresh = new DOMParser().parseFromString(html, 'text/html');
      const list = fresh.getElementById('clip-list');
      if (!list) return;
      // The count line above the list ("7 / 7"), read before the list leaves its document.
      const count = list.previousElementSibling;
      $('#clip-list').replaceWith(document.adoptNode(list));
      const here = $('#clip-list').previousElementSibling;
      if (count && here && here.classList.contains('sub')) here.textContent = count.textContent;
      bindClips();
    }
    function bindClips() { $$('#clip-list [data-clip-id]').forEach(bindClip); }
    function bindClip(li) {
      const msg = $('.clip-msg', li);
      const approve = $('.approve', li);
      const reject = $('.reject', li);
      if (approve) approve.addEventListener('click', function () { review(li, { decision: 'approve' }); });
      if (reject) reject.addEventListener('click', function () {
        const reason = $('.reject-reason', li).value.trim();
        if (!reason) { say(msg, t('ReasonNeeded'), 'error'); $('.reject-reason', li).focus(); return; }
        review(li, { decision: 'reject', reason: reason });
      });
    }
    bindClips();
    async function review(li, body) {
      const msg = $('.clip-msg', li);
      const r = await api('POST', '/api/clips/' + encodeURIComponent(li.dataset.clipId) + '/review', body);
      if (!r.ok) { say(msg, r.error, 'error'); return; }
      const state = (r.data && r.data.review && r.data.review.state) || (body.decision === 'approve' ? 'approved' : 'rejected');
      li.dataset.review = state;
      const badge = $('.review-state', li);
      badge.dataset.state = state;
      badge.textContent = nameOf(state);
      // Only the decision not yet taken stays offered.
      const approve = $('.approve', li), reject = $('.reject', li), reason = $('.reject-reason', li);
      if (approve) approve.hidden = state === 'approved';
      if (reject) reject.hidden = state === 'rejected';
      if (reason) reason.hidden = state === 'rejected';
      say(msg, t('Done'), 'ok');
    }
  };

  /* ---------------------------------------------------------------- broadcast */
  pages.broadcast = function () {
    const all = $('#target-all');
    const villages = function () { return $$('.target-village'); };
    const err = $('#broadcast-error');
    const names = DATA.villages || {};
    const clips = DATA.clips || {};
    let pending = null;
    function sync() {
      $$('.township-toggle').forEach(function (tg) {
        const vs = villages().filter(function (v) { return v.dataset.township === tg.dataset.township; });
        tg.checked = vs.length > 0 && vs.every(function (v) { return v.checked; });
        tg.indeterminate = !tg.checked && vs.some(function (v) { return v.checked; });
      });
      const vs = villages();
      all.checked = vs.length > 0 && vs.every(function (v) { return v.checked; });
      all.indeterminate = !all.checked && vs.some(function (v) { return v.checked; });
    }
    all.addEventListener('change', function () {
      villages().forEach(function (v) { v.checked = all.checked; });
      sync();
    });
    $$('.township-toggle').forEach(function (tg) {
      tg.addEventListener('change', function () {
        villages().filter(function (v) { return v.dataset.township === tg.dataset.township; })
          .forEach(function (v) { v.checked = tg.checked; });
        sync();
      });
    });
    villages().forEach(function (v) { v.addEventListener('change', sync); });

    function request(priority) {
      say(err, '');
      const chosen = villages().filter(function (v) { return v.checked; }).map(function (v) { return v.value; });
      if (!chosen.length) { say(err, t('ChooseTarget'), 'error'); return null; }
      const what = $('#broadcast-what').value;
      if (!what) { say(err, t('ChooseWhat'), 'error'); return null; }
      const i = what.indexOf(':');
      const body = { targets: all.checked ? { all: true } : { villages: chosen }, priority: priority };
      body[what.slice(0, i)] = what.slice(i + 1);
      return body;
    }
    async function send(body) {
      const buttons = [$('#broadcast-submit'), $('#emergency-button')];
      buttons.forEach(function (b) { b.disabled = true; });
      const r = await api('POST', '/api/broadcasts', body);
      buttons.forEach(function (b) { b.disabled = false; });
      if (!r.ok) { say(err, r.error, 'error'); return; }
      show(r.data || {});
    }
    function show(b) {
      const cues = b.cues || [];
      const skipped = b.skipped || [];
      const emergency = b.priority === 'emergency';
      say($('#broadcast-summary'), t(emergency ? 'EmergencyPlaying' : 'Playing', { n: cues.length }), emergency ? 'error' : 'ok');
      $('#broadcast-result').classList.toggle('emergency-result', emergency);
      $('#broadcast-cues').replaceChildren.apply($('#broadcast-cues'), cues.map(function (c) {
        return el('li', null, (names[c.village] || c.village) + ' — ' + (clips[c.clip] || c.clip) + ' (' + langName(c.language) + ')');
      }));
      $('#broadcast-skipped-title').hidden = !skipped.length;
      $('#broadcast-skipped').replaceChildren.apply($('#broadcast-skipped'), skipped.map(function (s) {
        return el('li', { 'data-outcome': s.outcome }, (names[s.village] || s.village) + '：' + textOf(s.why));
      }));
      const unheard = b.unheard || [];
      $('#broadcast-unheard-title').hidden = !unheard.length;
      $('#broadcast-unheard').replaceChildren.apply($('#broadcast-unheard'), unheard.map(function (s) {
        return el('li', null, (names[s.village] || s.village) + '：' + textOf(s.why));
      }));
      const stop = $('#broadcast-stop');
      stop.dataset.id = b.id || '';
      stop.hidden = !b.id || !cues.length;
      $('#broadcast-result').hidden = false;
      $('#broadcast-result').scrollIntoView({ behavior: 'smooth', block: 'start' });
    }
    $('#broadcast-stop').addEventListener('click', async function () {
      const stop = $('#broadcast-stop');
      const r = await api('DELETE', '/api/broadcasts/' + encodeURIComponent(stop.dataset.id));
      if (r.ok) { say($('#broadcast-summary'), t('Stopped'), 'ok'); stop.hidden = true; }
      else say($('#broadcast-summary'), r.error, 'error');
    });
    $('#broadcast-form').addEventListener('submit', function (e) {
      e.preventDefault();
      const body = request('manual');
      if (body) send(body);
    });
    const dialog = $('#emergency-dialog');
    $('#emergency-button').addEventListener('click', function () {
      const body = request('emergency');
      if (!body) return;
      if (typeof dialog.showModal === 'function') { pending = body; dialog.showModal(); }
      else if (window.confirm(t('EmergencyConfirmTitle') + '\n' + t('EmergencyConfirmText'))) send(body);
    });
    $('#emergency-cancel').addEventListener('click', function () { pending = null; dialog.close(); });
    $('#emergency-confirm').addEventListener('click', function () {
      dialog.close();
      if (pending) send(pending);
      pending = null;
    });
  };

  /* ---------------------------------------------------------------- log */
  pages.log = function () {
    $$('#log-filters select, #log-filters input').forEach(function (s) {
      s.addEventListener('change', function () { s.form.submit(); });
    });
  };

  /* ---------------------------------------------------------------- users */
  pages.users = function () {
    const msg = $('#users-msg');
    const reload = function () { location.reload(); };
    $('#user-add-form').addEventListener('submit', async function (e) {
      e.preventDefault();
      const r = await api('POST', '/api/users', { name: $('#user-name').value.trim(), role: $('#user-role').value,
        password: $('#user-password').value });
      if (r.ok) reload(); else say(msg, r.error, 'error');
    });
    $$('#users-table tr[data-user]').forEach(function (tr) {
      const name = tr.dataset.user;
      const url = '/api/users/' + encodeURIComponent(name);
      const role = $('.user-role', tr);
      const was = role.value;
      role.addEventListener('change', async function () {
        const r = await api('PATCH', url, { role: role.value });
        if (r.ok) reload(); else { say(msg, r.error, 'error'); role.value = was; }
      });
      $('.user-disable', tr).addEventListener('click', async function () {
        const r = await api('PATCH', url, { disabled: tr.dataset.disabled !== 'true' });
        if (r.ok) reload(); else say(msg, r.error, 'error');
      });
      $('.user-delete', tr).addEventListener('click', async function () {
        if (!window.confirm(t('ConfirmDelete', { name: name }))) return;
        const r = await api('DELETE', url);
        if (r.ok) reload(); else say(msg, r.error, 'error');
      });
      $('.user-set-password', tr).addEventListener('click', async function () {
        const input = $('.user-password', tr);
        const r = await api('PATCH', url, { password: input.value });
        if (r.ok) { input.value = ''; say(msg, t('Saved'), 'ok'); } else say(msg, r.error, 'error');
      });
      $('.user-token', tr).addEventListener('click', async function () {
        const input = $('.token-label', tr);
        const label = input.value.trim();
        const r = await api('POST', url + '/tokens', { label: label });
        if (!r.ok) { say(msg, r.error, 'error'); return; }
        input.value = '';
        say(msg, '');
        $('#token-value').textContent = r.data.token;
        $('#token-result').hidden = false;
        $('#token-result').scrollIntoView({ behavior: 'smooth', block: 'start' });
        $('.tokens', tr).append(el('li', null, el('span', { class: 'token-name' }, r.data.label), ' ',
          el('button', { type: 'button', class: 'token-revoke small', 'data-label': r.data.label }, t('Revoke'))));
      });
      $('.tokens', tr).addEventListener('click', async function (e) {
        const btn = e.target.closest('.token-revoke');
        if (!btn) return;
        const r = await api('DELETE', url + '/tokens/' + encodeURIComponent(btn.dataset.label));
        if (r.ok) btn.closest('li').remove(); else say(msg, r.error, 'error');
      });
    });
  };

  /* ---------------------------------------------------------------- every page */
  function start() {
    const logout = $('#logout');
    if (logout) logout.addEventListener('click', async function () {
      await api('DELETE', '/api/session');
      location.assign('/login');
    });
    watchStation();
    // On a phone the nav scrolls sideways: keep the page you are on in sight.
    const here = $('.nav a[aria-current]');
    if (here && here.parentNode.scrollWidth > here.parentNode.clientWidth) {
      here.parentNode.scrollLeft = here.offsetLeft - (here.parentNode.clientWidth - here.offsetWidth) / 2;
    }
    const name = document.body.dataset.page;
    if (pages[name]) pages[name]();
    // Pages with a script of their own (village.js) registered it in window.xyPages.
    else if (window.xyPages && window.xyPages[name]) window.xyPages[name](helpers);
  }
  /** What the page scripts of their own get from here. */
  const helpers = { $: $, $$: $$, api: api, DATA: DATA, el: el, langName: langName, nameOf: nameOf, pad: pad,
    say: say, signed: signed, t: t, timeParts: timeParts };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
