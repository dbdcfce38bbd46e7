// catalogue.js - the inspector's Catalogue and Promotions panels (and the
// refresh of experiments.js's Experiments panel)
// (docs/inspector.md), apart from app.js so each file stays readable. Plain
// browser JavaScript; app.js calls MixrecCatalogue.create() with what it
// shares (the API helper, the element builder, the activity log, a way to
// reload the lists it shows). Routes, all of the public API:
//   GET   /v1/items?state=hidden|new|expiring&limit=N   the catalogue's records
//   PATCH /v1/items/{item}  {"hidden": true|false}        Hide / Unhide
//   GET   /v1/admin/promotions                            read-only; asked only when
//         /openapi.json lists it and an admin key is given, so a server without it
//         sees no request (and the browser console no 404); shown when it answers 200
// The admin key is sent as X-API-Key. It lives in the field and in
// sessionStorage (this tab only): never in the address, the activity log or
// an error message.
'use strict';

window.MixrecCatalogue = (function () {
  const KEY_STORE = 'mixrec.adminKey';
  const LISTS = [
    { state: 'hidden', title: 'Hidden', empty: 'No hidden items.' },
    { state: 'new', title: 'New', empty: 'No new items (added by PUT, not yet trained on).' },
    { state: 'expiring', title: 'Expiring', empty: 'No item has an expiry ahead.' },
  ];
  const LIST_LIMIT = 50;
  // A change reaches every worker through Redis pub/sub within about a
  // second: after Hide/Unhide the lists are read again until they show it,
  // at most SETTLE_TRIES times SETTLE_MS apart.
  const SETTLE_TRIES = 12;
  const SETTLE_MS = 250;

  const enc = encodeURIComponent;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function ago(unixS) {
    const s = Math.round(Date.now() / 1000 - unixS);
    const abs = Math.abs(s);
    const txt = abs < 90 ? abs + ' s' : abs < 5400 ? Math.round(abs / 60) + ' min'
      : abs < 172800 ? Math.round(abs / 3600) + ' h' : Math.round(abs / 86400) + ' d';
    return s >= 0 ? txt + ' ago' : 'in ' + txt;
  }
  const when = (unixS) => new Date(unixS * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

  function create(ctx) {
    const { api, el, log } = ctx;
    const $ = (id) => document.getElementById(id);
    const card = $('catalogue-card');
    const keyInput = $('admin-key');
    const hiddenNow = new Set(); // items of the last hidden list read
    let hiddenAll = true; // whether that list held every hidden item (not cut at LIST_LIMIT)
    // the Experiments panel (experiments.js), on the same key and refresh
    const experiments = window.MixrecExperiments.create({ api, el, headers, adminPanel });

    // ---- the admin key ------------------------------------------------------

    function adminKey() {
      return keyInput.value.trim();
    }

    function headers(withBody) {
      const h = withBody ? { 'Content-Type': 'application/json' } : {};
      const k = adminKey();
      if (k) h['X-API-Key'] = k;
      return h;
    }

    function storeKey() {
      try {
        sessionStorage.setItem(KEY_STORE, adminKey());
      } catch (e) { /* no storage: the field still works */ }
    }

    // What went wrong, in words an operator can act on (never the key).
    function explain(e) {
      if (e.status === 401 || e.status === 403) return `${e.message} (enter the admin key above)`;
      if (e.status === 503) return `${e.message} (Redis is unavailable: nothing was changed)`;
      return e.message;
    }

    function showError(msg) {
      const b = $('catalogue-error');
      b.hidden = !msg;
      b.textContent = msg || '';
    }

    // ---- the lists ------------------------------------------------------------

    function recordLine(rec, state) {
      const info = [];
      if (state === 'new' && rec.added_at) info.push('added ' + ago(rec.added_at));
      if (rec.expires_at) info.push((rec.expired ? 'expired ' : 'expires ') + ago(rec.expires_at));
      if (state === 'hidden' && rec.updated_at) info.push('changed ' + ago(rec.updated_at));
      const li = el('li', { class: 'record', dataset: { item: rec.item, state } },
        el('div', { class: 'main' },
          el('span', { class: 'record-title', title: rec.title || rec.item, text: rec.title || rec.item }),
          el('div', { class: 'sub' }, el('code', { text: rec.item }),
            ...(rec.categories || []).map((c) => el('span', { class: 'chip', text: c })),
            rec.in_model ? null : el('span', { class: 'reason new', title: 'not in the model yet', text: 'new item' }),
            info.length ? el('span', { class: 'muted', title: rec.expires_at ? when(rec.expires_at) : null, text: info.join(' · ') }) : null)));
      if (state === 'hidden')
        li.append(el('button', {
          type: 'button', class: 'small unhide-btn', title: `Show ${rec.item} in answers again (admin key)`,
          onclick: () => setHidden({ item: rec.item, title: rec.title }, false), text: 'Unhide',
        }));
      return li;
    }

    async function refreshList(spec) {
      const box = $('cat-' + spec.state);
      const count = $('cat-' + spec.state + '-count');
      try {
        const d = await api(`/v1/items?state=${spec.state}&limit=${LIST_LIMIT}`, { headers: headers(false) });
        box.replaceChildren(...d.items.map((r) => recordLine(r, spec.state)));
        if (!d.items.length) box.append(el('li', { class: 'empty', text: spec.empty }));
        if (d.total > d.items.length) box.append(el('li', { class: 'empty', text: `and ${d.total - d.items.length} more` }));
        count.textContent = String(d.total);
        if (spec.state === 'hidden') {
          hiddenNow.clear();
          for (const r of d.items) hiddenNow.add(r.item);
          hiddenAll = d.total <= d.items.length;
        }
        return true;
      } catch (e) {
        box.replaceChildren(el('li', { class: 'empty error', text: explain(e) }));
        count.textContent = '?';
        return false;
      }
    }

    // All lists and the promotions; card.dataset.reads counts the rounds (tests wait on it).
    async function refresh() {
      const oks = await Promise.all([...LISTS.map(refreshList), refreshPromotions(), experiments.refresh()]);
      card.dataset.state = oks.slice(0, LISTS.length).every(Boolean) ? 'ok' : 'error';
      card.dataset.reads = String(+(card.dataset.reads || 0) + 1);
    }

    // ---- hide and unhide --------------------------------------------------------

    // Reads the lists again until done() holds (the change reached this
    // worker) or the tries run out; returns the milliseconds it took, or -1.
    async function settle(done, reread) {
      const t0 = performance.now();
      for (let i = 0; i < SETTLE_TRIES; i++) {
        await reread();
        if (done()) return Math.round(performance.now() - t0);
        await sleep(SETTLE_MS);
      }
      return -1;
    }

    async function setHidden(it, hidden) {
      const verb = hidden ? 'hide' : 'unhide';
      card.dataset.busy = '1';
      try {
        await api(`/v1/items/${enc(it.item)}`, {
          method: 'PATCH', headers: headers(true), body: JSON.stringify({ hidden }),
        });
      } catch (e) {
        const msg = `Could not ${verb} ${it.item}: ${explain(e)}`;
        showError(msg);
        log(msg, 'error');
        if (e.status === 401 || e.status === 403) keyInput.focus();
        delete card.dataset.busy;
        return;
      }
      showError('');
      log(`${it.item} ${hidden ? 'hidden' : 'shown again'} (PATCH /v1/items)`);
      // The answers and this replica's lists lag the store by up to a second.
      // Hidden: wait until the item left the lists shown and entered the
      // hidden list. Unhidden: until it left the hidden list (the process's
      // catalogue has it then), and read the answers once more after.
      const gone = () => !ctx.shownItems().includes(it.item);
      const listed = () => hiddenNow.has(it.item) === hidden || (hidden && !hiddenAll);
      const ms = await settle(() => listed() && (!hidden || gone()), async () => {
        await Promise.all([ctx.reload(), refresh()]);
      });
      if (!hidden) await ctx.reload();
      if (ms < 0) log(`${it.item}: the lists did not show the ${verb} yet; press Refresh`, 'error');
      card.dataset.settledMs = String(ms);
      delete card.dataset.busy;
    }

    // The "Hide" button app.js puts on every item card.
    function hideButton(it) {
      return el('button', {
        type: 'button', class: 'small ghost hide-btn', title: `Hide ${it.item} from every answer (admin key)`,
        onclick: () => setHidden(it, true), text: 'Hide',
      });
    }

    // ---- promotions (read-only) ----------------------------------------------

    function promotionLine(p) {
      const items = p.items || [];
      const what = p.items ? `item${items.length > 1 ? 's' : ''} ${items.slice(0, 5).join(', ')}${items.length > 5 ? ` and ${items.length - 5} more` : ''}`
        : `category ${p.category}`;
      const where = p.share !== undefined ? `${Math.round(p.share * 100)}% of each answer` : `position ${p.position}`;
      const span = p.start || p.end ? `${p.start ? when(p.start) : '…'} – ${p.end ? when(p.end) : '…'}` : 'always';
      return el('li', { class: 'record' + (p.active ? '' : ' inactive'), dataset: { promotion: p.name, active: String(!!p.active) } },
        el('div', { class: 'main' },
          el('span', { class: 'record-title', text: p.name }),
          el('div', { class: 'sub' },
            el('span', { class: 'reason ' + (p.active ? 'promoted' : 'off'), text: p.active ? 'active' : 'inactive' }),
            el('span', { text: `${what} · ${where} · ${span}` }),
            p.source ? el('span', { class: 'muted', text: 'from ' + p.source }) : null)));
    }

    // Whether the server has GET path, from its /openapi.json (read once).
    let spec = null;
    async function hasRoute(path) {
      if (!spec) spec = api('/openapi.json').catch(() => ({}));
      const paths = (await spec).paths || {};
      return !!(paths[path] && paths[path].get);
    }

    // An admin panel (cardId) shown only when it can be: an admin key is
    // given, /openapi.json lists GET path, the route answers 200 and fill(body)
    // (which renders it) returns how many entries it shows; null: nothing to
    // show. Otherwise (no such route, no key, admin routes off) the card stays
    // out of the way. Admin routes refuse every request without a key, so none
    // is sent without one. Never fails.
    async function adminPanel(cardId, path, fill) {
      const card = $(cardId);
      try {
        if (!adminKey() || !(await hasRoute(path))) throw new Error('not available');
        const n = await fill(await api(path, { headers: headers(false) }));
        if (n === null) throw new Error('nothing to show');
        card.hidden = false;
        card.dataset.count = String(n);
      } catch (e) {
        card.hidden = true;
        delete card.dataset.count;
      }
      return true;
    }

    function refreshPromotions() {
      return adminPanel('promotions-card', '/v1/admin/promotions', (d) => {
        const list = Array.isArray(d && d.promotions) ? d.promotions : [];
        const box = $('promotions');
        box.replaceChildren(...list.map(promotionLine));
        if (!list.length) box.append(el('li', { class: 'empty', text: 'No promotions.' }));
        return list.length;
      });
    }

    // ---- start ----------------------------------------------------------------------

    try {
      keyInput.value = sessionStorage.getItem(KEY_STORE) || '';
    } catch (e) { /* no storage */ }
    keyInput.addEventListener('input', storeKey);
    $('catalogue-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      storeKey();
      showError('');
      refresh();
    });
    refresh();
    return { hideButton, refresh };
  }

  return { create };
})();
