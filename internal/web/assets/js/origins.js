// Where the sources come from: the top countries or networks (ASes) of the
// period, for the fleet, each group or each sensor, with their rank and
// change against the previous period; and the ports one origin probed.
// An origin links to its sources.
import {
  $, api, barChart, currentPeriod, emptyRow, fmtInt, fmtPct, h, navigate, params, periodPicker, periodQuery, rankChange,
  run, table,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);
const kind = ['asn', 'scanner'].includes(params.get('kind')) ? params.get('kind') : 'country';
const by = ['fleet', 'group', 'sensor'].includes(params.get('by')) ? params.get('by') : 'fleet';
for (const [id, value, key] of [['#kind', kind, 'kind'], ['#by', by, 'by']]) {
  const sel = $(id);
  sel.value = value;
  sel.addEventListener('change', () => navigate({ [key]: sel.value, origin: null }));
}
const noun = { asn: 'networks', scanner: 'research-scanner lists', country: 'countries' }[kind];
document.querySelectorAll('.origin-noun').forEach((el) => { el.textContent = noun; });

// filterOf is the API's origin filter of a ranked origin.
const filterOf = (o) => ({ asn: { asn: `AS${o.asn}` }, scanner: { scanner: (o.scanner || '').split(',')[0] }, country: { country: o.country } })[kind];
const sourcesLink = (o) => `/sources?${periodQuery(per, filterOf(o))}`;

function change(o) {
  if (o.change === null || o.change === undefined) return h('span', { class: 'chg new', title: 'no packets in the previous period' }, 'new');
  const cls = o.change > 0 ? 'up' : o.change < 0 ? 'down' : 'same';
  return h('span', { class: `chg ${cls}`, title: `${fmtInt(o.previous_packets)} packets before` }, (o.change > 0 ? '+' : '') + fmtPct(o.change));
}

async function origins() {
  const ans = await api('origins', periodQuery(per, { kind, by, top: 20 }));
  const tables = ans.tables || [];
  const holder = $('#origin-tables');
  holder.replaceChildren();
  for (const t of tables) {
    const name = by === 'fleet' ? 'the fleet' : by === 'group' ? `group ${t.group}` : `sensor ${t.sensor}`;
    const el = h('table', { class: 'data origin-table' });
    holder.append(h('div', { class: 'panel' },
      h('h2', {}, `${name}: ${fmtInt(t.packets)} packets from ${fmtInt(t.sources)} sources`),
      h('div', { class: 'scroll' }, el)));
    const known = (t.top || []).filter((o) => o.key !== 'unknown' && o.key !== 'none');
    // Networks have an organisation's name; countries are their codes.
    const head = ['#', kind === 'asn' ? 'Network' : 'Country', ...(kind === 'asn' ? ['Organisation'] : []),
      { v: 'Packets', num: true }, { v: 'Sources', num: true }, 'Rank', 'Change'];
    if ((t.top || []).length === 0) {
      emptyRow(el, head.length, 'No data for this period.');
      continue;
    }
    head[1] = { asn: 'Network', scanner: 'Lists', country: 'Country' }[kind];
    table(el, head,
      t.top.map((o) => [
        { v: String(o.rank), num: true },
        o.key === 'unknown' || o.key === 'none' ? h('span', { class: 'muted', title: 'no database or list placed these sources' }, o.key)
          : h('a', { href: sourcesLink(o), title: 'its sources' }, h('code', {}, o.key)),
        ...(kind === 'asn' ? [o.org || ''] : []),
        { v: fmtInt(o.packets), num: true },
        { v: fmtInt(o.sources), num: true },
        rankChange(o.rank, o.previous_rank),
        change(o),
      ]));
    if (known.length === 0 && tables.length === 1) {
      const hint = $('#origin-hint');
      if (kind === 'scanner') hint.textContent = 'No source is on a research-scanner list: give the collector or ingest lists (--scanner-list).';
      hint.hidden = false;
    }
  }
  // The chart: the first table's top ten, packets and sources.
  const top = ((tables[0] || {}).top || []).slice(0, 10);
  barChart($('#chart-origins'), {
    categories: top.map((o) => o.key),
    series: [{ name: 'packets', data: top.map((o) => o.packets) }, { name: 'sources', data: top.map((o) => o.sources) }],
    yName: 'packets / sources', horizontal: true,
  });
  return top.find((o) => o.key !== 'unknown' && o.key !== 'none');
}

async function ports(first) {
  const el = $('#origin-ports');
  const wanted = params.get('origin');
  const o = wanted ? { asn: wanted.replace(/^AS/i, ''), country: wanted, scanner: wanted, key: wanted } : first;
  if (!o) return emptyRow(el, 3, 'No origin with sources in this period.');
  $('#ports-origin').textContent = o.key;
  const ans = await api('origin-ports', periodQuery(per, { ...filterOf(o), top: 15 }));
  if ((ans.ports || []).length === 0) return emptyRow(el, 3, `No packets from ${o.key} in this period.`);
  table(el, ['#', 'Port', { v: 'Sources', num: true }], ans.ports.map((p) => [{ v: String(p.rank), num: true }, p.port, { v: fmtInt(p.sources), num: true }]));
}

run(async () => {
  const first = await origins();
  await ports(first);
});
