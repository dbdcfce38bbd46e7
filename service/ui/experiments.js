// experiments.js - the inspector's Experiments panel (docs/inspector.md):
// each experiment's report, read-only. catalogue.js creates it with what it
// shares (the API helper, the element builder, the admin key's headers, and
// adminPanel: when to show an admin card). Routes, both admin (X-API-Key):
//   GET /v1/admin/experiments                  the list
//   GET /v1/admin/experiments/{name}/report    one report each
// Asked only when /openapi.json lists the routes and an admin key is given;
// shown only when the list answers 200 and holds an experiment.
'use strict';

window.MixrecExperiments = (function () {
  const enc = encodeURIComponent;
  const pct = (x, digits = 1) => (x === null || x === undefined ? '–' : (100 * x).toFixed(digits) + '%');
  const num = (x, digits = 3) => (x === null || x === undefined ? '–' : x.toFixed(digits));
  const pval = (p) => (p === null || p === undefined ? '–' : p < 0.0001 ? p.toExponential(1) : p.toFixed(4));

  function create(ctx) {
    const { api, el, headers, adminPanel } = ctx;
    const $ = (id) => document.getElementById(id);

    function row(cells, cls) {
      return el('tr', cls ? { class: cls } : {}, ...cells.map((c) => el('td', { text: String(c) })));
    }

    function table(head, rows) {
      return el('table', { class: 'ctr' },
        el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h })))),
        el('tbody', {}, ...rows));
    }

    // A/B: click-through with its interval, the lift over the control, the p-value.
    function abReport(r) {
      const rows = r.variants.map((v) => {
        const ct = v.click_through || {};
        const vs = v.vs_control;
        return row([v.name, v.users, v.impressions, v.clicks,
          ct.value === null || ct.value === undefined ? '–' : `${num(ct.value)} (${num(ct.low)}–${num(ct.high)})`,
          vs ? `${pct(vs.lift)} (${pct(vs.lift_low)} to ${pct(vs.lift_high)})` : (v.control ? 'control' : '–'),
          vs ? pval(vs.p_value) : ''], vs && vs.p_value !== null && vs.p_value < 0.05 ? 'significant' : null);
      });
      const srm = r.sample_ratio || {};
      return [table(['variant', 'users', 'answers', 'clicks', 'click-through (95% CI)', 'lift (95% CI)', 'p'], rows),
        el('p', { class: 'small ' + (srm.mismatch ? 'error' : 'muted'),
          text: srm.mismatch ? `Sample-ratio mismatch (p = ${pval(srm.p_value)}): the split is not what the shares say; do not trust the comparison.`
            : `Sample ratio as the shares say (p = ${pval(srm.p_value)}).` })];
    }

    // Interleaving: wins, ties and the sign test.
    function interleavedReport(r) {
      const il = r.interleaving || {};
      const rows = r.variants.map((v) => row([v.name, v.wins, v.clicks]));
      rows.push(row(['ties', il.ties, ''], 'total'));
      return [table(['variant', 'wins', 'credited clicks'], rows),
        el('p', { class: 'small muted', text: `${il.answers} interleaved answers, ${il.answers_with_clicks} with clicks; ` +
          `sign test p = ${pval(il.sign_test_p)}; ` + (il.winner ? `${il.winner} wins.` : 'no winner yet.') })];
    }

    function experimentBlock(e, r) {
      const head = el('h3', {}, el('span', { text: e.name }),
        el('small', { class: 'muted', text: ` ${e.mode === 'interleave' ? 'interleaving' : 'A/B'} · audience ${pct(e.audience, 0)} · salt ${e.salt}` }));
      const body = !r ? [el('p', { class: 'small error', text: 'report unavailable' })]
        : r.mode === 'interleave' ? interleavedReport(r) : abReport(r);
      return el('div', { class: 'experiment', dataset: { experiment: e.name, mode: e.mode } }, head, ...body);
    }

    // Hidden without a key, the routes or an experiment (catalogue.js's adminPanel).
    function refresh() {
      return adminPanel('experiments-card', '/v1/admin/experiments', async (d) => {
        const list = Array.isArray(d && d.experiments) ? d.experiments : [];
        if (!list.length) return null;
        const reports = await Promise.all(list.map((e) =>
          api(`/v1/admin/experiments/${enc(e.name)}/report`, { headers: headers(false) }).catch(() => null)));
        $('experiments').replaceChildren(...list.map((e, i) => experimentBlock(e, reports[i])));
        return list.length;
      });
    }

    return { refresh };
  }

  return { create };
})();
