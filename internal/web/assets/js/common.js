// Shared helpers of the Nightjar pages: the API, the period in the query
// string and its picker, number formats, DOM building and charts.
// Every page keeps its state in the query string, so a link reproduces it.

export const params = new URLSearchParams(location.search);

// ---- the clock ----
// The server's clock (body[data-now], which follows `nightjar --now`),
// advancing with the visitor's: "today", "so far" and the default period
// are the server's, whatever the clock of the visitor's computer says.
const serverNow = Date.parse(document.body.dataset.now || '');
const skew = Number.isNaN(serverNow) ? 0 : serverNow - Date.now();
export const nowMs = () => Date.now() + skew;
export const now = () => new Date(nowMs());

// ---- numbers and times, formatted for people ----

const intFormat = new Intl.NumberFormat('en-US');
export const fmtInt = (n) => intFormat.format(Math.round(Number(n) || 0));

export function fmtAvg(x) {
  x = Number(x) || 0;
  const digits = x === 0 || Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2;
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(x);
}

export const fmtPct = (x) =>
  new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 }).format(Number(x) || 0);

// fmtCompact is for axis labels: 1.2K, 3.4M.
export const fmtCompact = (x) =>
  new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(x);

// fmtTime shows an RFC 3339 time as "2024-07-15 13:04" (UTC, as every
// time of the UI).
export function fmtTime(s) {
  if (!s || s.startsWith('0001-')) return '—';
  const d = new Date(s);
  if (isNaN(d)) return String(s);
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

// fmtDuration shows nanoseconds as "1 h 2 min", "3.2 s", "45 ms".
export function fmtDuration(ns) {
  const s = (Number(ns) || 0) / 1e9;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

// fmtDay shows an RFC 3339 time as its UTC day ("2020-09-15"), or ""
// when it is not known (the zero time).
export function fmtDay(s) {
  const t = fmtTime(s);
  return t === '—' ? '' : t.slice(0, 10);
}

export const fmtAgo = (t) => {
  const d = new Date(t);
  if (!t || isNaN(d) || d.getUTCFullYear() < 1970) return 'never';
  return fmtDuration(Math.max(0, nowMs() - d) * 1e6) + ' ago';
};

export function fmtBytes(n) {
  n = Number(n) || 0;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

// ---- DOM ----

// h builds an element: h('td', {class: 'num'}, '1,234'). Strings become
// text nodes (never HTML), so API data cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

export const $ = (sel) => document.querySelector(sel);

// table fills a <table> with a header row and rows of cells; a cell is a
// string, a Node, or {v, num, title}.
export function table(el, head, rows) {
  const cell = (tag, c) => {
    if (c && typeof c === 'object' && !(c instanceof Node) && !Array.isArray(c)) {
      return h(tag, { class: c.num ? 'num' : c.cls, title: c.title }, c.v);
    }
    return h(tag, {}, c);
  };
  el.replaceChildren(
    h('thead', {}, h('tr', {}, head.map((c) => cell('th', c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => cell('td', c))))),
  );
}

export function emptyRow(el, cols, text) {
  el.replaceChildren(h('tbody', {}, h('tr', {}, h('td', { colspan: cols, class: 'empty-note' }, text))));
}

// rankChange shows a port's move since the previous period: ▲ up, ▼ down,
// "new" when it had no packets then.
export function rankChange(rank, previous) {
  if (!previous) return h('span', { class: 'chg new', title: 'no packets in the previous period' }, 'new');
  const d = previous - rank;
  if (d > 0) return h('span', { class: 'chg up', title: `was #${previous}` }, `▲${d}`);
  if (d < 0) return h('span', { class: 'chg down', title: `was #${previous}` }, `▼${-d}`);
  return h('span', { class: 'chg same', title: `was #${previous}` }, '=');
}

export function tagList(tags) {
  return (tags || []).map((t) => h('span', { class: `tag ${t}` }, t));
}

// ---- devices ----

// modelLabel names a device model: "TP-Link Archer AX50", or the vendor
// alone when the evidence names no model.
export const modelLabel = (vendor, model) => (model ? `${vendor} ${model}` : vendor);

const CONFLICT = 'conflicting evidence: the banners of this address name more than one model '
  + '(a NAT\'d address, or two devices over time)';

// conflictMark is the ⚠ of an attribution whose evidence names two models.
export const conflictMark = (title = CONFLICT) =>
  h('span', { class: 'conflict', title, 'aria-label': 'conflicting evidence' }, '⚠');

// deviceLabel shows the device of a source row ({vendor, model, kind,
// firmware, conflict}, or null): "TP-Link Archer AX50", with ⚠ when its
// evidence conflicts, "—" when none is identified. Banner values are
// hostile input: they become text, never markup (h).
export function deviceLabel(d) {
  if (!d) return h('span', { class: 'muted', title: 'no device identified' }, '—');
  const about = [d.kind, d.firmware ? `firmware ${d.firmware}` : 'firmware unknown'].filter(Boolean).join(', ');
  return h('span', { class: 'device', title: about }, modelLabel(d.vendor, d.model), d.conflict ? [' ', conflictMark()] : null);
}

// devicesHowTo says how devices get identified, for the pages that have
// none to show.
export const devicesHowTo = () => [
  'import banner scans with ', h('code', {}, 'nightjar devices import --db PATH FILE...'),
  ' (zgrab2, Shodan, Censys, Nmap XML or masscan output), or fetch the banners of the top sources with ',
  h('code', {}, 'nightjar devices probe'), '.',
];

// ---- the API ----

export class APIError extends Error {
  constructor(message, status, param) {
    super(message);
    this.status = status;
    this.param = param;
  }
}

// api calls /api/v1/<path> with a query (URLSearchParams or object).
export async function api(path, query) {
  const q = query instanceof URLSearchParams ? query : new URLSearchParams(query || {});
  const qs = q.toString();
  const res = await fetch(`/api/v1/${path}${qs ? '?' + qs : ''}`, {
    headers: { Accept: 'application/json' },
    credentials: 'same-origin',
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  if (!res.ok) {
    const msg = body && body.error ? body.error : `${res.status} ${res.statusText}`;
    throw new APIError(`${path}: ${msg}`, res.status, body && body.param);
  }
  return body;
}

// ---- periods ----
// A period is {kind, value} with kind day, month, quarter or year and
// value as the API reads it (2024-07-15, 2024-07, 2024Q3, 2024), or
// {kind: 'custom', from, to} with dates, `to` inclusive.

const pad = (n) => String(n).padStart(2, '0');
const isoDay = (d) => d.toISOString().slice(0, 10);
const utcDate = (y, m, d = 1) => new Date(Date.UTC(y, m, d));

export function kindOf(value) {
  if (/^\d{4}$/.test(value)) return 'year';
  if (/^\d{4}-?[Qq]\d$/.test(value)) return 'quarter';
  if (/^\d{4}-\d{2}$/.test(value)) return 'month';
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return 'day';
  return 'custom';
}

// DEFAULT_DAYS is the length of the default period: the last 30 days,
// today (so far) included. Unlike the calendar month so far, which holds a
// few minutes on the 1st, it is meaningful on any date.
export const DEFAULT_DAYS = 30;

// lastDays returns the rolling period of the last n UTC days, today
// included.
export function lastDays(n = DEFAULT_DAYS) {
  const t = now();
  const to = utcDate(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
  const from = new Date(to.getTime() - (n - 1) * 86400e3);
  return { kind: 'custom', from: isoDay(from), to: isoDay(to), rolling: true };
}

// lastMonths returns the n calendar months before this one and this one so
// far, as a custom period: the months a monthly chart shows by default.
export function lastMonths(n = 3) {
  const t = now();
  const from = utcDate(t.getUTCFullYear(), t.getUTCMonth() - n, 1);
  const to = utcDate(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate());
  return { kind: 'custom', from: isoDay(from), to: isoDay(to) };
}

// isUnderway says whether now falls in the period p.
export function isUnderway(p) {
  const [s, e] = bounds(p);
  const t = nowMs();
  return t >= s.getTime() && t < e.getTime();
}

// ofKind returns the period of a kind that contains the UTC date d.
export function ofKind(kind, d) {
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  switch (kind) {
    case 'day': return { kind, value: isoDay(d) };
    case 'quarter': return { kind, value: `${y}Q${Math.floor(m / 3) + 1}` };
    case 'year': return { kind, value: String(y) };
    case 'custom': {
      const from = utcDate(y, m, 1);
      return { kind, from: isoDay(from), to: isoDay(utcDate(y, m + 1, 0)) };
    }
    default: return { kind: 'month', value: `${y}-${pad(m + 1)}` };
  }
}

// currentPeriod reads the period of the query string (the last 30 days
// when it has none).
export function currentPeriod() {
  const from = params.get('from');
  const to = params.get('to');
  if (from && to) return { kind: 'custom', from, to };
  const value = params.get('period');
  if (value && kindOf(value) !== 'custom') return { kind: kindOf(value), value: value.toUpperCase().replace('-Q', 'Q') };
  return lastDays();
}

// bounds returns [start, end) of a period as UTC dates.
export function bounds(p) {
  if (p.kind === 'custom') {
    const end = new Date(p.to + 'T00:00:00Z');
    end.setUTCDate(end.getUTCDate() + 1);
    return [new Date(p.from + 'T00:00:00Z'), end];
  }
  const v = p.value;
  const y = Number(v.slice(0, 4));
  switch (p.kind) {
    case 'year': return [utcDate(y, 0), utcDate(y + 1, 0)];
    case 'quarter': {
      const q = Number(v.slice(-1)) - 1;
      return [utcDate(y, q * 3), utcDate(y, q * 3 + 3)];
    }
    case 'month': {
      const m = Number(v.slice(5, 7)) - 1;
      return [utcDate(y, m), utcDate(y, m + 1)];
    }
    default: {
      const s = new Date(v + 'T00:00:00Z');
      return [s, new Date(s.getTime() + 86400e3)];
    }
  }
}

// shift returns the period n periods later (earlier when n < 0); a custom
// range moves by its own length.
export function shift(p, n) {
  const [s, e] = bounds(p);
  if (p.kind === 'custom') {
    const len = e - s;
    const from = new Date(s.getTime() + n * len);
    const to = new Date(e.getTime() + n * len - 86400e3);
    return { kind: 'custom', from: isoDay(from), to: isoDay(to) };
  }
  const d = new Date(s);
  if (p.kind === 'day') d.setUTCDate(d.getUTCDate() + n);
  else if (p.kind === 'month') d.setUTCMonth(d.getUTCMonth() + n);
  else if (p.kind === 'quarter') d.setUTCMonth(d.getUTCMonth() + 3 * n);
  else d.setUTCFullYear(d.getUTCFullYear() + n);
  return ofKind(p.kind, d);
}

// periodQuery gives the API's parameters of a period.
export function periodQuery(p, extra = {}) {
  const q = new URLSearchParams(p.kind === 'custom' ? { from: p.from, to: p.to } : { period: p.value });
  for (const [k, v] of Object.entries(extra)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  return q;
}

export const periodLabel = (p) => {
  if (p.rolling) return `the last ${DEFAULT_DAYS} days (${p.from} – ${p.to})`;
  return p.kind === 'custom' ? `${p.from} – ${p.to}` : p.value;
};

// navigate reloads the page with changed query parameters (null removes
// one, an array repeats it): every view is a link.
export function navigate(changes) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    q.delete(k);
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== null && v !== undefined && v !== '') q.set(k, v);
  }
  const qs = q.toString();
  location.assign(location.pathname + (qs ? '?' + qs : ''));
}

function goPeriod(p) {
  if (p.rolling) navigate({ period: null, from: null, to: null });
  else if (p.kind === 'custom') navigate({ period: null, from: p.from, to: p.to });
  else navigate({ period: p.value, from: null, to: null });
}

// periodPicker draws the picker: kind, value, previous and next.
export function periodPicker(el, p) {
  const kinds = { recent: `last ${DEFAULT_DAYS} days`, day: 'day', month: 'month', quarter: 'quarter', year: 'year', custom: 'custom range' };
  const selected = p.rolling ? 'recent' : p.kind;
  const kind = h('select', { id: 'period-kind', 'aria-label': 'kind of period' },
    Object.entries(kinds).map(([k, label]) => h('option', { value: k, selected: k === selected }, label)));
  // From the rolling window, a kind goes to the period of now; otherwise
  // to the one where the shown period starts.
  const anchor = p.rolling ? now() : bounds(p)[0];
  kind.addEventListener('change', () => goPeriod(kind.value === 'recent' ? lastDays() : ofKind(kind.value, anchor)));

  let inputs;
  if (p.kind === 'day') {
    const i = h('input', { type: 'date', id: 'period-value', value: p.value, required: true });
    i.addEventListener('change', () => i.value && goPeriod({ kind: 'day', value: i.value }));
    inputs = [i];
  } else if (p.kind === 'month') {
    const i = h('input', { type: 'month', id: 'period-value', value: p.value, required: true });
    i.addEventListener('change', () => i.value && goPeriod({ kind: 'month', value: i.value }));
    inputs = [i];
  } else if (p.kind === 'quarter' || p.kind === 'year') {
    const year = h('input', { type: 'number', id: 'period-year', min: 1970, max: 9999, value: p.value.slice(0, 4), 'aria-label': 'year' });
    const parts = [year];
    let quarter = null;
    if (p.kind === 'quarter') {
      quarter = h('select', { id: 'period-quarter', 'aria-label': 'quarter' },
        [1, 2, 3, 4].map((q) => h('option', { value: q, selected: p.value.endsWith(String(q)) }, `Q${q}`)));
      parts.push(quarter);
    }
    const go = () => goPeriod({ kind: p.kind, value: quarter ? `${year.value}Q${quarter.value}` : year.value });
    year.addEventListener('change', go);
    if (quarter) quarter.addEventListener('change', go);
    inputs = parts;
  } else {
    const from = h('input', { type: 'date', id: 'period-from', value: p.from, 'aria-label': 'from' });
    const to = h('input', { type: 'date', id: 'period-to', value: p.to, 'aria-label': 'to (inclusive)' });
    const apply = h('button', { type: 'button', id: 'period-apply', class: 'secondary' }, 'Apply');
    apply.addEventListener('click', () => {
      if (from.value && to.value && from.value <= to.value) goPeriod({ kind: 'custom', from: from.value, to: to.value });
    });
    inputs = [from, '–', to, apply];
  }
  const prev = h('button', { type: 'button', class: 'secondary', id: 'period-prev', title: 'previous period' }, '◀');
  const next = h('button', { type: 'button', class: 'secondary', id: 'period-next', title: 'next period' }, '▶');
  prev.addEventListener('click', () => goPeriod(shift(p, -1)));
  next.addEventListener('click', () => goPeriod(shift(p, 1)));
  el.replaceChildren(h('span', { class: 'hint' }, 'Period'), kind, ...inputs, prev, next);
  document.querySelectorAll('.period-label').forEach((e) => { e.textContent = periodLabel(p); });
}

// ---- page life ----

// run draws a page: main() loads and renders; errors are shown on the page.
// body[data-ready] says when it is done ("ok" or "error"), for people
// waiting on a slow server and for the browser tests.
export async function run(main) {
  try {
    await main();
    document.body.dataset.ready = 'ok';
  } catch (e) {
    const status = $('#status');
    status.hidden = false;
    status.className = 'error';
    status.textContent = e.status === 503 ? 'The JSON API is not available on this server.' : String(e.message || e);
    document.body.dataset.ready = 'error';
  }
}

// ---- charts ----

const charts = [];
window.addEventListener('resize', () => charts.forEach((c) => c.resize()));

export const NO_DATA = 'No data for this period.';

// showEmpty replaces a chart with a message.
export function showEmpty(el, text = NO_DATA) {
  const old = window.echarts && window.echarts.getInstanceByDom(el);
  if (old) old.dispose();
  el.classList.add('empty');
  el.replaceChildren(h('span', {}, text));
}

const hasData = (series) => series.some((s) => s.data.some((v) => (Array.isArray(v) ? v[1] : v) > 0));

function draw(el, option) {
  el.classList.remove('empty');
  el.replaceChildren();
  const c = window.echarts.init(el, null, { renderer: 'canvas' });
  c.setOption({ useUTC: true, animation: false, ...option });
  charts.push(c);
  return c;
}

const base = (yName, legend) => ({
  tooltip: { trigger: 'axis', valueFormatter: (v) => fmtAvg(v) },
  legend: { type: 'scroll', top: 0, data: legend },
  grid: { left: 16, right: 40, top: 56, bottom: 28, containLabel: true },
  yAxis: {
    type: 'value', name: yName, nameLocation: 'end', nameGap: 14,
    nameTextStyle: { align: 'left' }, axisLabel: { formatter: fmtCompact },
  },
});

// timeChart draws lines (or stacked areas) over a time axis.
// series: [{name, data: [[time, value], ...]}].
// kind 'bar' draws bars instead of lines.
// Buckets after now are left out: they cannot have data yet.
export function timeChart(el, { series, yName, stack = false, kind = 'line', empty = NO_DATA }) {
  const t = nowMs();
  series = series.map((s) => ({ ...s, data: s.data.filter((p) => new Date(p[0]).getTime() <= t) }));
  if (!series.length || !hasData(series)) return showEmpty(el, empty);
  return draw(el, {
    ...base(yName, series.map((s) => s.name)),
    xAxis: { type: 'time', name: 'UTC', nameGap: 8 },
    series: series.map((s) => ({
      name: s.name, type: kind, data: s.data, showSymbol: s.data.length < 40,
      stack: stack ? 'total' : undefined, areaStyle: stack ? { opacity: 0.55 } : undefined,
    })),
  });
}

// barChart draws grouped bars over categories.
// series: [{name, data: [value per category]}].
export function barChart(el, { categories, series, yName, horizontal = false, empty = NO_DATA }) {
  if (!series.length || !hasData(series)) return showEmpty(el, empty);
  const cat = { type: 'category', data: categories };
  const opt = base(yName, series.map((s) => s.name));
  if (horizontal) {
    opt.yAxis = { ...cat, inverse: true };
    opt.xAxis = { type: 'value', name: yName, nameLocation: 'middle', nameGap: 26, axisLabel: { formatter: fmtCompact } };
    opt.grid.bottom = 40;
    opt.tooltip.axisPointer = { type: 'shadow' };
    opt.legend.show = series.length > 1;
    opt.grid.top = series.length > 1 ? 40 : 16;
  } else {
    opt.xAxis = cat;
  }
  return draw(el, { ...opt, series: series.map((s) => ({ name: s.name, type: 'bar', data: s.data, barMaxWidth: 48 })) });
}
