// app.js - the mixrec inspector (docs/inspector.md). Plain browser
// JavaScript, no build step, no dependencies. It uses the public REST API
// only (proto/openapi.json):
//   GET  /readyz                                    model version, Redis state
//   GET  /v1/users/{user}/interests                 long-term, session, blended
//   GET  /v1/users/{user}/recommendations?explain=true
//   GET  /v1/items/{item}/similar
//   POST /v1/events                                 a click or a dislike on an item
//   GET  /metrics                                   click-through (mixrec_click_through)
// and, through catalogue.js (the Catalogue and Promotions panels):
//   GET  /v1/items?state=...   PATCH /v1/items/{item}   GET /v1/admin/promotions
// Query parameters: ?user=ID (load it), ?users=a,b,c (example ids),
// ?api=URL (an API on another origin: it must list this page's origin in
// cors.origins), ?k=N.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  // The API is the server that serves the page (the directory above /ui/),
  // unless ?api= names another one.
  const API = (params.get('api') || new URL('..', location.href).href).replace(/\/+$/, '');
  // Tableau 20: interest ids 0-19 get distinct colours (strong ones first).
  const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#499894', '#b07aa1', '#b6992d',
    '#9d7660', '#d37295', '#79706e', '#a0cbe8', '#ffbe7d', '#8cd17d', '#ff9d9a', '#86bcb6',
    '#d4a6c8', '#f1ce63', '#d7b5a6', '#fabfd2', '#bab0ac'];
  const MAX_ROWS = 12; // interests drawn; the rest are summed in one row
  const HEALTH_EVERY_MS = 5000;
  const TIMEOUT_MS = 8000;

  const state = {
    user: '',
    interests: null, // last /interests answer
    prevBlended: null, // blended weights before the last click (id -> weight)
    prevItems: null, // recommended item ids before the last click
    recs: null,
    redis: 'unknown',
    loads: 0,
    catalogue: null, // catalogue.js's panel: hide buttons, its lists (null without the file)
    tenant: params.get('tenant') || 'default', // GET /v1/tenants; ?tenant= picks one
  };

  const colorOf = (id) => PALETTE[((id % PALETTE.length) + PALETTE.length) % PALETTE.length];
  const pct = (w) => (100 * w).toFixed(w >= 0.1 ? 0 : 1) + '%';

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  // ---- API --------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // The tenant's routes: /v1/X is /v1/tenants/{tenant}/X but for the default
  // tenant (and the list of tenants itself).
  function tenantPath(path) {
    if (state.tenant === 'default' || !path.startsWith('/v1/') || path.startsWith('/v1/tenants')) return path;
    return '/v1/tenants/' + encodeURIComponent(state.tenant) + path.slice(3);
  }

  async function api(path, opts = {}) {
    path = tenantPath(path);
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    let res;
    try {
      res = await fetch(API + path, { ...opts, signal: ctl.signal, cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'unreachable', `cannot reach the API at ${API} (${e.name === 'AbortError' ? 'timeout' : 'network error or CORS'})`);
    } finally {
      clearTimeout(timer);
    }
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (!res.ok) {
      const err = (body && body.error) || {};
      throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
    }
    return body;
  }

  const enc = encodeURIComponent;
  const getInterests = (u) => api(`/v1/users/${enc(u)}/interests`);
  const getRecs = (u, k) => api(`/v1/users/${enc(u)}/recommendations?k=${k}&explain=true`);
  const getSimilar = (i) => api(`/v1/items/${enc(i)}/similar?k=10`);
  const getReady = () => api('/readyz');

  function postEvent(user, item, type) {
    const headers = { 'Content-Type': 'application/json' };
    const key = $('api-key').value.trim();
    if (key) headers['X-API-Key'] = key;
    return api('/v1/events', {
      method: 'POST',
      headers,
      body: JSON.stringify([{ user, item, type }]),
    });
  }

  // ---- activity log and banners -------------------------------------------

  function log(text, kind) {
    const list = $('log');
    const t = new Date().toLocaleTimeString([], { hour12: false });
    list.prepend(el('li', { class: kind || '' }, el('time', { text: t }), el('span', { text })));
    while (list.children.length > 12) list.lastChild.remove();
  }

  function showApiError(msg) {
    const b = $('api-error');
    b.hidden = !msg;
    b.textContent = msg || '';
  }

  // ---- health corner ------------------------------------------------------

  function setRedis(redisState, detail) {
    state.redis = redisState;
    const pill = $('redis-pill');
    pill.dataset.state = redisState;
    pill.textContent = {
      ok: 'Redis ok',
      degraded: 'Redis down',
      'not configured': 'Redis off',
      unreachable: 'API unreachable',
      unknown: 'Redis …',
    }[redisState] || 'Redis ' + redisState;
    if (detail) pill.title = detail;
    const down = redisState === 'degraded';
    $('degraded').hidden = !down;
    document.body.classList.toggle('is-degraded', down);
  }

  async function refreshHealth() {
    refreshClickThrough(); // on its own: a /metrics failure never touches the health pills
    try {
      const r = await getReady();
      if (state.tenant !== 'default') { // /readyz is the default tenant's: the model from the list
        const t = ((await api('/v1/tenants')).tenants || []).find((x) => x.name === state.tenant);
        r.model_version = t ? t.model_version : '?';
      }
      $('model-pill').textContent = 'model ' + r.model_version;
      $('model-pill').dataset.version = r.model_version;
      const rk = r.ranker || { state: 'absent', detail: '' };
      $('ranker-pill').textContent =
        rk.state === 'ok' ? `ranker: ${rk.trees || '?'} trees` : `ranker ${rk.state}: retrieval order`;
      $('ranker-pill').title = `learned ranker (${rk.state}): ${rk.detail}`;
      setRedis(r.redis, `${r.redis_connected_workers} of ${r.workers} workers connected to Redis`);
      if ($('api-error').dataset.source === 'health') showApiError('');
    } catch (e) {
      $('model-pill').textContent = 'model ?';
      setRedis(e.status === 0 ? 'unreachable' : 'unknown', e.message);
      if (e.status === 0) {
        showApiError(e.message);
        $('api-error').dataset.source = 'health';
      }
    }
  }

  // ---- click-through, from the Prometheus text of /metrics ---------------------

  const ROUTES = ['user_recommendations', 'recommendations', 'recommendations_get', 'item_similar', 'all'];
  const ORDERS = ['ranker', 'retrieval', 'all'];

  // {"route/order": value} of the samples of one metric family, of the
  // tenant picked (a sample without a tenant label is the default's).
  function samples(text, name) {
    const out = {};
    const re = new RegExp('^' + name + '\\{(?:tenant="([a-z0-9_-]+)",)?route="([a-z_]+)",order="([a-z_]+)"\\} (\\S+)$', 'gm');
    for (const m of text.matchAll(re))
      if ((m[1] || 'default') === state.tenant) out[m[2] + '/' + m[3]] = Number(m[4]);
    return out;
  }

  async function refreshClickThrough() {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    const pill = $('ctr-pill');
    try {
      const res = await fetch(API + '/metrics', { signal: ctl.signal, cache: 'no-store' });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      const text = await res.text();
      const ctr = samples(text, 'mixrec_click_through');
      const imp = samples(text, 'mixrec_impressions_total');
      if (!('all/all' in ctr)) throw new Error('no mixrec_click_through in /metrics');
      // impressions of the "all" rows and columns, summed here
      for (const r of ROUTES.slice(0, -1))
        for (const o of ORDERS.slice(0, -1)) {
          const v = imp[`${r}/${o}`] || 0;
          imp[`${r}/all`] = (imp[`${r}/all`] || 0) + v;
          imp[`all/${o}`] = (imp[`all/${o}`] || 0) + v;
          imp['all/all'] = (imp['all/all'] || 0) + v;
        }
      const fmt = (v) => (100 * v).toFixed(v > 0 && v < 0.1 ? 2 : 1) + '%';
      pill.textContent = `click-through ${fmt(ctr['all/all'])}`;
      pill.dataset.value = String(ctr['all/all']);
      pill.title = `attributed clicks / answers, ${imp['all/all']} answers since start (/metrics)`;
      const body = $('ctr-table').tBodies[0];
      body.replaceChildren();
      for (const r of ROUTES) {
        const tr = el('tr', { class: r === 'all' ? 'total' : '', dataset: { route: r } }, el('td', { text: r }));
        for (const o of ORDERS) {
          const k = `${r}/${o}`;
          tr.append(el('td', { dataset: { order: o, value: ctr[k] || 0 }, title: `${imp[k] || 0} answers` },
            fmt(ctr[k] || 0), el('small', { text: ` /${imp[k] || 0}` })));
        }
        body.append(tr);
      }
    } catch (e) {
      pill.textContent = 'click-through ?';
      pill.title = 'click-through: /metrics could not be read (' + (e.name === 'AbortError' ? 'timeout' : e.message) + ')';
      delete pill.dataset.value;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- interest chart -------------------------------------------------------

  function renderInterests(d) {
    const chart = $('chart');
    chart.replaceChildren();
    const rows = new Map(); // id -> {id, label, long, session, blended}
    const add = (list, kind) => {
      for (const x of list || []) {
        if (!rows.has(x.id)) rows.set(x.id, { id: x.id, label: x.label, long: 0, session: 0, blended: 0 });
        rows.get(x.id)[kind] = x.weight;
      }
    };
    add(d.long_term, 'long');
    add(d.session_interests, 'session');
    add(d.blended, 'blended');
    const all = [...rows.values()].sort((a, b) => b.blended - a.blended || b.long - a.long || a.id - b.id);
    // Disliked interests (negative session weight) are always drawn: a
    // dislike must be visible even when it pushed its interest off the top.
    const shown = all.filter((r, i) => i < MAX_ROWS || r.session < 0);
    const rest = all.filter((r) => !shown.includes(r));
    const max = Math.max(1e-9, ...all.map((r) => Math.max(r.long, Math.abs(r.session), r.blended)));
    const prev = state.prevBlended;

    const stats = $('mixture-stats');
    stats.replaceChildren(
      stat('session share', pct(d.session_share || 0), 'b = S / (S + session.strength)'),
      stat('session events', String(d.session_events || 0)),
      stat('session', d.session, d.session === 'ok' ? '' : 'Redis unavailable: long-term profile only',
        d.session === 'ok' ? '' : 'bad'),
      stat('user', d.known_user ? 'in the model' : 'not in the model', d.known_user ? '' : 'popular items stand in', d.known_user ? '' : 'warn'),
    );
    stats.dataset.sessionEvents = String(d.session_events || 0);
    stats.dataset.sessionShare = String(d.session_share || 0);

    if (!all.length) {
      chart.append(el('p', { class: 'empty', text: 'No interests for this user.' }));
      return;
    }
    for (const r of shown) chart.append(chartRow(r, max, prev));
    if (rest.length) {
      const other = { id: -1, label: `${rest.length} more interests`, long: 0, session: 0, blended: 0 };
      for (const r of rest) {
        other.long += r.long;
        other.session += r.session;
        other.blended += r.blended;
      }
      chart.append(chartRow(other, Math.max(max, other.long, other.session, other.blended), null, true));
    }
  }

  function stat(name, value, title, kind) {
    return el('div', { class: 'stat ' + (kind || ''), title: title || null },
      el('span', { class: 'stat-name', text: name }), el('span', { class: 'stat-value', text: value }));
  }

  function chartRow(r, max, prev, isOther) {
    const bar = (kind, w) => {
      // A negative session weight (the interest was disliked) is drawn red,
      // its length the magnitude.
      const neg = w < 0;
      const b = el('div', {
        class: 'bar ' + kind + (neg ? ' negative' : ''), dataset: { kind, weight: String(w) },
        title: neg ? `${kind}: −${pct(-w)} (disliked)` : `${kind}: ${pct(w)}`,
      });
      b.style.width = (100 * Math.abs(w) / max).toFixed(2) + '%';
      if (kind === 'blended' && !isOther) b.style.background = colorOf(r.id);
      return b;
    };
    let delta = null;
    if (prev && !isOther) {
      const dv = r.blended - (prev.get(r.id) || 0);
      if (Math.abs(dv) >= 0.005)
        delta = el('span', { class: 'delta ' + (dv > 0 ? 'up' : 'down'), text: (dv > 0 ? '+' : '−') + pct(Math.abs(dv)) });
    }
    const dot = el('i', { class: 'dot' });
    dot.style.background = isOther ? '#cbd5e1' : colorOf(r.id);
    const disliked = !isOther && r.session < 0;
    return el('div', { class: 'row' + (isOther ? ' other' : '') + (disliked ? ' disliked' : ''), dataset: isOther ? { other: '1' } : { interest: String(r.id) } },
      el('div', { class: 'label', title: r.label },
        dot, el('span', { class: 'id', text: isOther ? '' : '#' + r.id }), el('span', { class: 'text', text: r.label })),
      el('div', { class: 'bars' }, bar('long', r.long), bar('session', r.session), bar('blended', r.blended)),
      el('div', { class: 'value' }, el('span', { text: pct(r.blended) }), delta,
        disliked ? el('span', { class: 'neg-session', title: 'session weight: its dislikes outweigh its likes', text: 'session −' + pct(-r.session) }) : null));
  }

  // ---- item lists -------------------------------------------------------------

  // Reasons and placements of the live catalogue, explained on hover.
  const REASON_TITLES = {
    new: 'a new catalogue item (added by PUT /v1/items), not yet trained on',
    promoted: 'placed by a promotion',
  };
  // "new item", not "new": the orange NEW badge marks items a click brought.
  const REASON_LABELS = { new: 'new item' };
  const PLACED_BY = {
    promotion: 'placed here by a promotion',
    fresh: 'placed here for a new catalogue item (the fresh source)',
  };

  function itemRow(it, rank, opts) {
    const color = it.interest ? colorOf(it.interest.id) : '#cbd5e1';
    const isNew = opts.prevItems && !opts.prevItems.has(it.item);
    const li = el('li', {
      class: 'item' + (isNew ? ' new' : ''),
      dataset: {
        item: it.item, interest: it.interest ? String(it.interest.id) : '', reason: it.reason || '',
        sources: (it.sources || []).join(','), placedBy: it.placed_by || '',
      },
    });
    li.style.setProperty('--accent', color);
    const chips = el('div', { class: 'chips' });
    if (it.interest) {
      const c = el('span', { class: 'chip interest', title: 'interest #' + it.interest.id },
        el('i', { class: 'dot' }), it.interest.label);
      c.querySelector('.dot').style.background = color;
      chips.append(c);
    }
    for (const cat of it.categories || []) chips.append(el('span', { class: 'chip', text: cat }));
    if (it.reason) chips.append(el('span', { class: 'reason ' + it.reason, title: REASON_TITLES[it.reason] || null, text: REASON_LABELS[it.reason] || it.reason }));
    for (const src of it.sources || [])
      chips.append(el('span', { class: 'source', dataset: { source: src }, title: 'found by the ' + src + ' source', text: src }));
    if (it.placed_by === 'session_quota' || it.placed_by === 'diversity')
      chips.append(el('span', { class: 'placed', title: 'moved here by the ' + it.placed_by.replace('_', ' '), text: it.placed_by.replace('_', ' ') }));
    else if (PLACED_BY[it.placed_by])
      chips.append(el('span', { class: 'placed ' + it.placed_by, title: PLACED_BY[it.placed_by], text: it.placed_by }));
    // Every item with a positive cosine to a disliked one loses a little;
    // the chip marks those it moved: a tenth of the list's score spread.
    if (it.dislike_penalty && it.dislike_penalty >= (opts.penaltyMin || 0))
      chips.append(el('span', { class: 'penalty', title: 'near a disliked item: −' + it.dislike_penalty.toFixed(3) + ' off its score', text: 'near a dislike' }));
    if (isNew) chips.append(el('span', { class: 'badge-new', text: 'new' }));
    // The ranker features that moved the item most, signed.
    const feats = (it.features || []).length ? el('ul', { class: 'features', title: 'features that moved the ranker score most' },
      ...it.features.map((f) => el('li', {
        class: f.contribution >= 0 ? 'up' : 'down', dataset: { feature: f.name, contribution: String(f.contribution) },
        title: `${f.name} = ${f.value.toPrecision(3)}`,
        text: `${f.name} ${f.contribution >= 0 ? '+' : '−'}${Math.abs(f.contribution).toFixed(2)}`,
      }))) : null;
    const title = el('button', {
      type: 'button', class: 'title', title: 'Send a click event for ' + it.item,
      onclick: () => clickItem(it),
    }, it.title || it.item);
    li.append(
      el('span', { class: 'rank', text: String(rank) }),
      el('div', { class: 'main' }, title, el('div', { class: 'sub' }, el('code', { text: it.item }), chips), feats),
      el('div', { class: 'side' },
        el('span', {
          class: 'score',
          title: it.rank_score === undefined ? 'score (higher is better)'
            : `position score; ${it.placed_by === 'retrieval' ? 'retrieval' : 'ranker'} score ${it.rank_score.toFixed(4)}`,
          text: it.score.toFixed(4),
        }),
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'small click-btn', onclick: () => clickItem(it), text: 'Click' }),
          opts.dislike === false ? null
            : el('button', { type: 'button', class: 'small ghost dislike-btn', title: 'Send a dislike event for ' + it.item, onclick: () => clickItem(it, 'dislike'), text: 'Dislike' }),
          opts.similar === false ? null
            : el('button', { type: 'button', class: 'small ghost similar-btn', onclick: () => showSimilar(it), text: 'Similar' }),
          state.catalogue ? state.catalogue.hideButton(it) : null)),
    );
    return li;
  }

  function renderRecs(d) {
    const list = $('recs');
    list.replaceChildren();
    const prevItems = state.prevItems;
    const rs = d.items.map((x) => x.rank_score).filter((x) => x !== undefined);
    const penaltyMin = rs.length ? 0.1 * (Math.max(...rs) - Math.min(...rs)) : 0;
    const byReason = {};
    for (const it of d.items) byReason[it.reason] = (byReason[it.reason] || 0) + 1;
    const stats = $('recs-stats');
    stats.replaceChildren(
      stat('items', String(d.items.length)),
      ...['long-term', 'session', 'popular'].map((r) => stat(r, String(byReason[r] || 0))),
      ...['new', 'promoted'].filter((r) => byReason[r]).map((r) => stat(r, String(byReason[r]), REASON_TITLES[r])),
      stat('session', d.session, '', d.session === 'ok' ? '' : 'bad'),
    );
    const why = $('recs-explanation');
    why.hidden = !d.explanation;
    why.textContent = d.explanation ? 'Why mostly popular: ' + d.explanation : '';
    if (!d.items.length) {
      list.append(el('li', { class: 'empty', text: 'No recommendations.' }));
      return;
    }
    if ($('group').checked) {
      const groups = new Map();
      d.items.forEach((it, i) => {
        const key = it.interest ? it.interest.id : -1;
        if (!groups.has(key)) groups.set(key, { interest: it.interest, items: [] });
        groups.get(key).items.push([it, i + 1]);
      });
      for (const g of groups.values()) {
        const head = el('li', { class: 'group-head' }, el('i', { class: 'dot' }),
          g.interest ? `#${g.interest.id} ${g.interest.label}` : 'no interest',
          el('span', { class: 'muted', text: ` · ${g.items.length}` }));
        head.querySelector('.dot').style.background = g.interest ? colorOf(g.interest.id) : '#cbd5e1';
        list.append(head);
        for (const [it, rank] of g.items) list.append(itemRow(it, rank, { prevItems, penaltyMin }));
      }
    } else {
      d.items.forEach((it, i) => list.append(itemRow(it, i + 1, { prevItems, penaltyMin })));
    }
  }

  async function showSimilar(it) {
    const card = $('similar-card');
    $('similar-title').textContent = it.title || it.item;
    card.dataset.item = it.item;
    const list = $('similar');
    list.replaceChildren(el('li', { class: 'empty', text: 'Loading…' }));
    card.hidden = false;
    try {
      const d = await getSimilar(it.item);
      list.replaceChildren();
      d.items.forEach((x, i) => list.append(itemRow(x, i + 1, { similar: true, dislike: false })));
      if (!d.items.length) list.append(el('li', { class: 'empty', text: 'No similar items.' }));
      card.dataset.loaded = it.item;
      log(`similar items of ${it.item}: ${d.items.length}`);
    } catch (e) {
      list.replaceChildren(el('li', { class: 'empty error', text: e.message }));
      log(`similar items of ${it.item} failed: ${e.message}`, 'error');
    }
  }

  // ---- actions ----------------------------------------------------------------

  async function load(user, why) {
    user = user.trim();
    if (!user) return;
    if (user !== state.user) {
      state.prevBlended = null;
      state.prevItems = null;
    }
    state.user = user;
    document.body.dataset.state = 'loading';
    const k = $('k').value;
    const url = new URL(location.href);
    url.searchParams.set('user', user);
    history.replaceState(null, '', url);
    rememberUser(user);
    try {
      const [interests, recs] = await Promise.all([getInterests(user), getRecs(user, k)]);
      if (user !== state.user) return; // a newer load won
      state.interests = interests;
      state.recs = recs;
      renderInterests(interests);
      renderRecs(recs);
      showApiError('');
      if (interests.session !== 'ok' && state.redis === 'ok') refreshHealth();
      document.body.dataset.state = 'ready';
      state.loads++;
      document.body.dataset.loads = String(state.loads);
      if (why) log(why);
    } catch (e) {
      document.body.dataset.state = 'error';
      showApiError(`Loading ${user}: ${e.message}`);
      $('api-error').dataset.source = 'load';
      log(`loading ${user} failed: ${e.message}`, 'error');
    }
    refreshHealth();
  }

  async function clickItem(it, type = 'click') {
    if (!state.user) return;
    const before = new Map((state.interests ? state.interests.blended : []).map((x) => [x.id, x.weight]));
    const items = new Set((state.recs ? state.recs.items : []).map((x) => x.item));
    try {
      const r = await postEvent(state.user, it.item, type);
      state.prevBlended = before;
      state.prevItems = items;
      await load(state.user, `${type} on ${it.item} stored (${r.accepted} event)`);
    } catch (e) {
      let msg = e.message;
      if (e.status === 503) {
        msg = `Redis is unavailable: the ${type} was not stored`;
        setRedis('degraded');
      } else if (e.status === 401 || e.status === 403) {
        msg = `${e.message}: enter the API key`;
        $('api-key').focus();
      }
      log(`${type} on ${it.item} failed: ${msg}`, 'error');
      refreshHealth();
    }
  }

  // ---- user ids: examples and recent ---------------------------------------------

  function recentUsers() {
    try {
      return JSON.parse(localStorage.getItem('mixrec.recentUsers') || '[]').filter((x) => typeof x === 'string');
    } catch (e) {
      return [];
    }
  }

  function rememberUser(u) {
    const list = [u, ...recentUsers().filter((x) => x !== u)].slice(0, 6);
    try {
      localStorage.setItem('mixrec.recentUsers', JSON.stringify(list));
    } catch (e) { /* private mode: no history */ }
    renderExamples();
  }

  function renderExamples() {
    const box = $('examples');
    const given = (params.get('users') || '').split(',').map((s) => s.trim()).filter(Boolean);
    const ids = [...new Set([...given, ...recentUsers()])].slice(0, 10);
    box.replaceChildren(el('span', { class: 'muted', text: given.length ? 'Try' : 'Recent' }));
    for (const id of ids) {
      box.append(el('button', {
        type: 'button', class: 'chip-btn' + (id === state.user ? ' active' : ''), text: id,
        onclick: () => { $('user').value = id; load(id); },
      }));
    }
    box.hidden = ids.length === 0;
  }

  // ---- the catalogue panel (catalogue.js) -------------------------------------------

  // Reads the lists the page shows again (after a hide or unhide).
  async function reloadShown() {
    if (state.user) await load(state.user);
    const card = $('similar-card');
    if (!card.hidden && card.dataset.item)
      await showSimilar({ item: card.dataset.item, title: $('similar-title').textContent });
  }

  // Item ids on the page's recommendation and similar lists.
  const shownItems = () => [...document.querySelectorAll('#recs li[data-item], #similar li[data-item]')].map((li) => li.dataset.item);

  function startCatalogue() {
    if (!window.MixrecCatalogue) return; // the page without catalogue.js still works
    state.catalogue = window.MixrecCatalogue.create({ api, el, log, reload: reloadShown, shownItems });
  }

  // ---- tenants -----------------------------------------------------------------------

  // The picker, shown when the service answers for more than one catalogue.
  async function loadTenants() {
    let list = [];
    try {
      list = (await api('/v1/tenants')).tenants || [];
    } catch (e) {
      return; // an older service: one catalogue
    }
    if (list.length < 2) return;
    const sel = $('tenant');
    sel.replaceChildren(...list.map((t) => el('option', { value: t.name }, `${t.name} (${t.items} items)`)));
    if (!list.some((t) => t.name === state.tenant)) state.tenant = 'default';
    sel.value = state.tenant;
    $('tenant-field').hidden = false;
    sel.addEventListener('change', () => {
      state.tenant = sel.value;
      const url = new URL(location.href);
      if (state.tenant === 'default') url.searchParams.delete('tenant');
      else url.searchParams.set('tenant', state.tenant);
      history.replaceState(null, '', url);
      refreshHealth();
      if (state.catalogue && state.catalogue.refresh) state.catalogue.refresh();
      if (state.user) load(state.user);
    });
  }

  // ---- start ------------------------------------------------------------------------

  function start() {
    $('api-base').textContent = API;
    const k = params.get('k');
    if (k && [...$('k').options].some((o) => o.value === k)) $('k').value = k;
    try {
      $('api-key').value = sessionStorage.getItem('mixrec.apiKey') || '';
    } catch (e) { /* no storage */ }
    $('api-key').addEventListener('change', () => {
      try {
        sessionStorage.setItem('mixrec.apiKey', $('api-key').value.trim());
      } catch (e) { /* no storage */ }
    });
    $('user-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      load($('user').value);
    });
    $('k').addEventListener('change', () => state.user && load(state.user));
    $('group').addEventListener('change', () => state.recs && renderRecs(state.recs));
    $('similar-close').addEventListener('click', () => { $('similar-card').hidden = true; });
    renderExamples();
    loadTenants();
    startCatalogue();
    refreshHealth();
    setInterval(refreshHealth, HEALTH_EVERY_MS);
    const u = params.get('user');
    if (u) {
      $('user').value = u;
      load(u);
    } else {
      $('user').focus();
    }
  }

  start();
})();
