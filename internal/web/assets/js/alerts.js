// Alerts: the unusual changes the detectors noticed in the period — each
// alert's severity, detector, scope, start and last hour seen, state and
// summary, silenced or not — filtered by state, detector, severity,
// sensor, group and port; the detail of one (alert=ID) with its evidence:
// observed against baseline, the peers that did not see it, and the hours
// around it as a chart. Admins acknowledge, resolve and silence here.
import {
  $, APIError, api, bounds, currentPeriod, fmtAvg, fmtTime, h, navigate, params, periodPicker, periodQuery, run,
  showEmpty, table, timeChart,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);
const isAdmin = document.body.dataset.alertAdmin === '1';
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';

// STATES are the state filter's choices, as the API reads them.
const STATES = {
  active: ['open', 'acknowledged'], open: ['open'], acknowledged: ['acknowledged'], resolved: ['resolved'], any: [],
};
const state = STATES[params.get('state')] ? params.get('state') : 'active';

// The page's filters, as the API reads them; a link keeps them.
const filter = {};
for (const k of ['detector', 'severity', 'sensor', 'group', 'port']) {
  if (params.get(k)) filter[k] = params.get(k);
}

// scopeText is Scope.String: key=value pairs in a fixed order, "fleet"
// when none; a silence's scope is typed so.
function scopeText(s = {}) {
  const parts = ['sensor', 'group', 'port', 'tag', 'country', 'asn', 'device']
    .filter((k) => s[k]).map((k) => `${k}=${s[k]}`);
  return parts.length ? parts.join(',') : 'fleet';
}

const severityMark = (sev) => h('span', { class: `severity ${sev}` }, sev);

function labels(a) {
  return [
    a.research ? h('span', { class: 'tag research', title: 'the activity of listed research scanners: shown, not raised as malicious' }, 'research scanner') : null,
    a.silenced ? h('span', { class: 'tag silenced', title: 'a silence mutes its notifications now' }, 'silenced') : null,
  ];
}

// post sends an admin action with the session's CSRF token, then reloads
// the view (the URL keeps it).
async function post(path, form) {
  const body = new URLSearchParams(form);
  const res = await fetch(`/api/v1/${path}`, {
    method: 'POST', body, credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' },
  });
  let ans = null;
  try {
    ans = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) throw new APIError(ans && ans.error ? ans.error : `${res.status} ${res.statusText}`, res.status);
  location.reload();
}

// act runs an admin action, showing its refusal on the page.
const act = (path, form) => post(path, form).catch((e) => {
  const st = $('#status');
  st.hidden = false;
  st.className = 'error';
  st.textContent = String(e.message || e);
});

function showAlert(id) {
  const q = new URLSearchParams(location.search);
  q.set('alert', id);
  history.replaceState(null, '', `${location.pathname}?${q}`);
  return detail(id);
}

async function filters() {
  const gs = (await api('groups')).groups || [];
  const choose = (key, values) => {
    const sel = $(`#${key}`);
    const current = filter[key] || '';
    for (const v of new Set([...values, current].filter(Boolean))) sel.append(h('option', { value: v }, v));
    sel.value = current;
  };
  choose('sensor', gs.flatMap((g) => g.sensors).sort());
  choose('group', gs.map((g) => g.name));
  $('#state').value = state;
  $('#detector').value = filter.detector || '';
  $('#severity').value = filter.severity || '';
  $('#port').value = filter.port || '';
  $('#alerts-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const changes = { state: $('#state').value === 'active' ? null : $('#state').value, alert: null };
    for (const k of ['detector', 'severity', 'sensor', 'group', 'port']) changes[k] = $(`#${k}`).value.trim() || null;
    navigate(changes);
  });
}

// query is the API's question of the page: its filters and the period's
// bounds (the alerts seen in it).
function query() {
  const [start, end] = bounds(per);
  const q = new URLSearchParams({ ...filter, since: start.toISOString(), until: end.toISOString(), limit: 500 });
  STATES[state].forEach((s) => q.append('state', s));
  return q;
}

async function list() {
  const ans = await api('alerts', query());
  const rows = ans.alerts || [];
  const el = $('#alerts');
  if (Object.keys(filter).length || state !== 'active') {
    const desc = [state !== 'active' ? `state ${state}` : '', ...Object.entries(filter).map(([k, v]) => `${k} ${v}`)].filter(Boolean);
    $('#alerts-filter').replaceChildren(`Only ${desc.join(', ')} · `, h('a', { href: `/alerts?${periodQuery(per)}` }, 'all open alerts'));
  }
  if (rows.length === 0) {
    const empty = $('#alerts-empty');
    empty.hidden = false;
    empty.textContent = Object.keys(filter).length || state !== 'active'
      ? 'No alerts in this period match these filters.' : 'No alerts in this period: nothing unusual was open or acknowledged.';
    el.hidden = true;
    return;
  }
  table(el, ['Severity', 'Detector', 'Scope', 'Start', 'Last seen', 'State', 'Summary', '', ''],
    rows.map((a) => [
      severityMark(a.severity),
      a.detector,
      h('code', {}, scopeText(a.scope)),
      fmtTime(a.start),
      fmtTime(a.last_seen),
      h('span', { class: `state ${a.state}` }, a.state),
      h('span', { class: 'alert-summary' }, a.summary, ' ', labels(a)),
      a.link ? h('a', { href: a.link, title: 'the dashboard view that shows it' }, 'view') : '',
      h('button', { type: 'button', class: 'secondary small details', 'data-alert': a.id, onclick: () => showAlert(a.id) }, 'Details'),
    ]));
  el.querySelectorAll('tbody tr').forEach((tr, i) => tr.setAttribute('data-alert', rows[i].id));
}

const fact = (k, v) => [h('dt', {}, k), h('dd', {}, v)];

function actions(a) {
  if (!isAdmin || a.state === 'resolved') return null;
  const note = h('input', { name: 'note', id: 'alert-note', placeholder: 'note (optional)', size: 40, maxlength: 1000 });
  const send = (verb) => act(`alerts/${a.id}/${verb}`, { note: note.value });
  return h('div', { class: 'toolbar', id: 'alert-actions' }, note,
    a.state === 'open' ? h('button', { type: 'button', id: 'acknowledge', onclick: () => send('acknowledge') }, 'Acknowledge') : null,
    h('button', { type: 'button', id: 'resolve', class: 'secondary', onclick: () => send('resolve') }, 'Resolve'),
    $('#silence-form') ? h('button', { type: 'button', class: 'secondary', id: 'silence-this', onclick: () => prefillSilence(a) }, 'Silence this scope…') : null);
}

function prefillSilence(a) {
  $('#silence-scope').value = scopeText(a.scope);
  $('#silence-detector').value = a.detector;
  $('#silence-comment').focus();
}

async function detail(id) {
  const panel = $('#alert-detail');
  let a;
  try {
    a = await api(`alerts/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status !== 404) throw e;
    panel.hidden = false;
    panel.replaceChildren(h('p', { class: 'empty-note' }, `No alert ${id}.`));
    return;
  }
  const ev = a.evidence || {};
  const chartEl = h('div', { class: 'chart', id: 'chart-evidence' });
  const peers = h('table', { class: 'data', id: 'alert-peers' });
  panel.hidden = false;
  // replaceChildren takes nodes only: no lists, no nulls.
  panel.replaceChildren(...[
    h('h2', {}, `Alert ${a.id}: `, a.summary),
    h('p', {}, severityMark(a.severity), ' ', labels(a), a.link ? [' · ', h('a', { href: a.link }, 'the dashboard view that shows it')] : ''),
    actions(a),
    h('dl', { class: 'facts', id: 'alert-facts' },
      fact('Detector', a.detector), fact('Scope', h('code', {}, scopeText(a.scope))), fact('State', a.state),
      fact('Start', fmtTime(a.start)), fact('Last seen', fmtTime(a.last_seen)),
      a.resolved ? fact('Resolved', fmtTime(a.resolved)) : null,
      a.by ? fact(a.state === 'acknowledged' ? 'Acknowledged by' : 'By', [a.by, a.note ? ` — ${a.note}` : '']) : null,
      a.reopened ? fact('Re-opened', `${a.reopened} time${a.reopened === 1 ? '' : 's'}`) : null),
    h('h3', {}, `Evidence: ${ev.measure || 'packets'} per hour, in the hour of the peak (${fmtTime(ev.hour)})`),
    h('dl', { class: 'facts', id: 'alert-evidence' },
      fact('Observed', fmtAvg(ev.observed)), fact('Baseline', fmtAvg(ev.baseline)), fact('Spread', fmtAvg(ev.spread)),
      fact('Score', `${fmtAvg(ev.score)} spreads above the baseline`), fact('Method', ev.method || '—')),
    (ev.others || []).length ? [h('h3', {}, 'The others in the same hour'), h('div', { class: 'scroll' }, peers)] : null,
    h('h3', {}, 'The hours around it'),
    chartEl,
  ].flat().filter(Boolean));
  if ((ev.others || []).length) {
    table(peers, ['Peer', { v: 'Observed', num: true }, { v: 'Baseline', num: true }, { v: 'Score', num: true }],
      ev.others.map((p) => [p.sensor || `group ${p.group}`, { v: fmtAvg(p.observed), num: true }, { v: fmtAvg(p.baseline), num: true }, { v: fmtAvg(p.score), num: true }]));
  }
  const series = ev.series || [];
  if (series.length === 0) return showEmpty(chartEl, 'No hourly series was kept for this alert.');
  timeChart(chartEl, {
    series: [
      { name: 'observed', data: series.map((p) => [p.hour, p.observed]) },
      { name: 'baseline', data: series.map((p) => [p.hour, p.baseline]) },
    ],
    yName: `${ev.measure || 'packets'} / hour`,
    empty: 'No data in the hours around it.',
  });
}

async function silences() {
  const el = $('#silences');
  const list = (await api('silences')).silences || [];
  const form = $('#silence-form');
  if (form) {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      act('silences', new FormData(form));
    });
  }
  if (list.length === 0) {
    el.replaceChildren(h('tbody', {}, h('tr', {}, h('td', { class: 'empty-note' }, 'No silence is in force or to come.'))));
    return;
  }
  table(el, ['Scope', 'Detector', 'From', 'Until', 'By', 'Comment', ''], list.map((s) => [
    h('code', {}, scopeText(s.scope)), s.detector || 'every detector', fmtTime(s.start), fmtTime(s.end), s.by, s.comment,
    form ? h('button', { type: 'button', class: 'danger small', onclick: () => act(`silences/${s.id}/delete`, {}) }, 'Delete') : '',
  ]));
}

run(async () => {
  const id = params.get('alert');
  await Promise.all([filters(), list(), silences(), id ? detail(id) : null]);
});
