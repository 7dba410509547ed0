// Top sources: packets, distinct ports, sensors reached, tags, first and
// last seen, origin, verdict and device model; each address links to its
// own page. And packets per tag.
import {
  $, api, barChart, currentPeriod, deviceLabel, emptyRow, fmtInt, fmtTime, h, navigate, params, periodPicker,
  periodQuery, run, table, tagList,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);
const top = ['20', '50', '100', '500'].includes(params.get('top')) ? params.get('top') : '50';
const topSelect = $('#top');
topSelect.value = top;
topSelect.addEventListener('change', () => navigate({ top: topSelect.value }));

// The origin and verdict filter of the page (a link from the origins
// page, or chosen): country, asn, prefix, scanner, verdict.
const filter = {};
for (const k of ['country', 'asn', 'prefix', 'scanner', 'verdict']) {
  if (params.get(k)) filter[k] = params.get(k);
}
const verdictSelect = $('#verdict');
verdictSelect.value = ['benign', 'malicious', 'unknown'].includes(filter.verdict) ? filter.verdict : '';
verdictSelect.addEventListener('change', () => navigate({ verdict: verdictSelect.value || null }));
if (Object.keys(filter).length) {
  const desc = Object.entries(filter).map(([k, v]) => `${k} ${v}`).join(', ');
  $('#sources-filter').replaceChildren(`Only the sources of ${desc} · `, h('a', { href: `/sources?${periodQuery(per, { top })}` }, 'all sources'));
}

// network is "AS64500 Org", or "" when unknown.
const network = (s) => (s.asn ? `AS${s.asn}${s.org ? ' ' + s.org : ''}` : '');

async function sources() {
  const ts = await api('top-sources', periodQuery(per, { top, ...filter }));
  const el = $('#sources');
  const list = ts.sources || [];
  if (list.length === 0) return emptyRow(el, 13, Object.keys(filter).length ? 'No source of this kind in this period.' : 'No data for this period.');
  const link = (ip) => `/sources/${encodeURIComponent(ip)}?${periodQuery(per)}`;
  table(el, ['#', 'Source', { v: 'Packets', num: true }, { v: 'Ports', num: true }, { v: 'Sensors', num: true }, 'Tags', 'First seen', 'Last seen',
    'Country', 'Network', 'Scanner list', 'Verdict', 'Device'],
    list.map((s, i) => [
      { v: String(i + 1), num: true },
      h('a', { href: link(s.ip) }, h('code', {}, s.ip)),
      { v: fmtInt(s.packets), num: true },
      { v: (s.ports_exact ? '' : '≥ ') + fmtInt(s.ports), num: true, title: s.ports_exact ? 'distinct destination ports' : 'at least (raw records pruned)' },
      { v: fmtInt(s.sensors), num: true },
      h('span', {}, tagList(s.tags)),
      fmtTime(s.first_seen),
      fmtTime(s.last_seen),
      s.country ? h('a', { href: `/sources?${periodQuery(per, { top, country: s.country })}` }, s.country) : '—',
      s.asn ? h('a', { href: `/sources?${periodQuery(per, { top, asn: `AS${s.asn}` })}` }, network(s)) : '—',
      s.scanner || '—',
      h('span', { class: `verdict ${s.verdict}`, title: s.reason || 'no known rule applies' }, s.verdict),
      deviceLabel(s.device),
    ]));
}

async function tags() {
  const tc = await api('tags', periodQuery(per));
  const entries = Object.entries(tc.tags || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  barChart($('#chart-tags'), {
    categories: entries.map((e) => e[0]),
    series: [{ name: 'packets', data: entries.map((e) => e[1]) }],
    yName: 'packets', horizontal: true,
  });
}

run(() => Promise.all([sources(), tags()]));
