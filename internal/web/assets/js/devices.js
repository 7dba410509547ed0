// Devices: the device models behind the period's sources (TP-Link Archer
// AX50 routers, MikroTik RouterOS, Hikvision cameras...), as the banners
// imported or probed name them: how many sources were identified, each
// model's sources over time, and a table of the models with their
// firmware, ports, countries, first and last seen. Filters: sensor, group,
// tag, vendor.
import {
  $, api, currentPeriod, devicesHowTo, fmtDay, fmtInt, fmtPct, fmtTime, h, modelLabel, navigate, params,
  periodPicker, periodQuery, run, showEmpty, table, timeChart,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);
const top = ['10', '20', '50', '100'].includes(params.get('top')) ? params.get('top') : '20';

// The page's filters, as the API reads them; a link keeps them.
const filter = {};
for (const k of ['sensor', 'group', 'tag', 'vendor']) {
  if (params.get(k)) filter[k] = params.get(k);
}
// SERIES is how many models the chart draws (the top ones).
const SERIES = 10;

const topSelect = $('#top');
topSelect.value = top;
topSelect.addEventListener('change', () => navigate({ top: topSelect.value }));

// choose fills the <select> of a filter (all first, then the values; the
// current one kept even when the list lacks it) and reloads the page with
// the new choice.
function choose(key, values, all) {
  const sel = $(`#${key}`);
  const current = filter[key] || '';
  const list = [...new Set([...values, current].filter(Boolean))];
  sel.replaceChildren(h('option', { value: '' }, all), ...list.map((v) => h('option', { value: v }, v)));
  sel.value = current;
  sel.addEventListener('change', () => navigate({ [key]: sel.value || null }));
}

// filters fills the sensor and group choices from the API; the tags are
// the server's (the template lists them).
async function filters() {
  const tags = [...$('#tag').options].map((o) => o.value);
  choose('tag', tags, 'any tag');
  const gs = (await api('groups')).groups || [];
  choose('sensor', gs.flatMap((g) => g.sensors).sort(), 'all sensors');
  choose('group', gs.map((g) => g.name), 'all groups');
}

const devicesLink = (changes) => {
  const q = { ...filter, top, ...changes };
  return `/devices?${periodQuery(per, q)}`;
};

const sourcesOf = (n) => `${fmtInt(n)} source${n === 1 ? '' : 's'}`;

function summary(ans) {
  const el = $('#devices-summary');
  if (!ans.sources) {
    el.textContent = 'No source scanned the sensors in this period.';
    return;
  }
  el.replaceChildren(
    h('strong', {}, `${fmtInt(ans.identified)} of ${sourcesOf(ans.sources)} identified`),
    ` (${fmtPct(ans.identified / ans.sources)}), `,
    h('span', { class: ans.conflicts ? 'warn' : '' }, `${fmtInt(ans.conflicts)} with conflicting evidence`),
  );
  if (Object.keys(filter).length) {
    const desc = Object.entries(filter).map(([k, v]) => `${k} ${v}`).join(', ');
    $('#devices-filter').replaceChildren(`Only ${desc} · `, h('a', { href: `/devices?${periodQuery(per, { top })}` }, 'all devices'));
  }
}

// firmware lists a model's versions with their release dates (when
// known) and sources; a version no banner carried is "unknown", never
// guessed.
const firmware = (m) => h('div', {}, (m.firmware || []).map((f) => h('div', { class: 'fw' },
  f.version ? h('span', { class: 'fw-version' }, f.version) : h('span', { class: 'fw-version muted', title: 'no banner carried a version' }, 'unknown'),
  f.released ? ` (released ${fmtDay(f.released)})` : '',
  `: ${fmtInt(f.sources)}`)));

const counted = (items, label) => items.map((x) => `${label(x)} (${fmtInt(x.sources)})`).join(', ');

// empty replaces the table with what to do about it.
function empty(ans) {
  const el = $('#devices-empty');
  el.hidden = false;
  $('#devices').hidden = true;
  if (!ans.sources) {
    el.textContent = 'No data for this period: no source scanned the sensors.';
  } else if (filter.vendor) {
    el.replaceChildren(`No model of ${filter.vendor} among these sources in this period · `, h('a', { href: devicesLink({ vendor: null }) }, 'all vendors'));
  } else {
    el.replaceChildren(`No device identified among the ${sourcesOf(ans.sources)} of this period: `, ...devicesHowTo());
  }
}

async function models() {
  const ans = await api('devices', periodQuery(per, { ...filter, top }));
  summary(ans);
  const list = ans.models || [];
  // The vendors are the answer's: with one chosen, that one and "all".
  choose('vendor', [...new Set(list.map((m) => m.vendor))].sort(), 'all vendors');
  if (list.length === 0) return empty(ans);
  table($('#devices'), ['#', 'Vendor', 'Model', 'Kind', { v: 'Sources', num: true }, { v: 'Packets', num: true }, 'Firmware',
    'Top ports (sources)', 'Countries (sources)', 'First seen', 'Last seen'],
  list.map((m) => [
    { v: String(m.rank), num: true },
    h('a', { href: devicesLink({ vendor: m.vendor }), title: `the models of ${m.vendor}` }, m.vendor),
    m.model || h('span', { class: 'muted', title: 'the evidence names the vendor only' }, '—'),
    m.kind,
    { v: fmtInt(m.sources), num: true },
    { v: fmtInt(m.packets), num: true },
    firmware(m),
    counted(m.ports || [], (p) => p.port),
    counted(m.countries || [], (c) => c.country || 'unknown'),
    fmtTime(m.first_seen),
    fmtTime(m.last_seen),
  ]));
}

async function series() {
  const ans = await api('device-series', periodQuery(per, { ...filter, top: SERIES }));
  const el = $('#chart-devices');
  const unit = ans.bucket === 'month' ? 'month' : 'day';
  const list = ans.models || [];
  if (list.length === 0) return showEmpty(el, 'No data for this period: no device identified.');
  timeChart(el, {
    series: list.map((m) => ({ name: modelLabel(m.vendor, m.model), data: ans.buckets.map((b, i) => [b, m.sources[i]]) })),
    yName: `sources / ${unit}`, kind: 'bar', stack: true,
  });
}

run(() => Promise.all([filters(), models(), series()]));
