// One source address: its totals over the period (packets, distinct ports,
// sensors reached, tags, first and last seen) and its history day by day.
import {
  $, api, bounds, currentPeriod, emptyRow, fmtInt, fmtTime, h, periodPicker, periodQuery, run, table, tagList, timeChart,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);
const ip = decodeURIComponent(location.pathname.split('/').pop());
$('#source-ip').textContent = ip;

const card = (title, value, sub, cls = '') =>
  h('div', { class: 'card' }, h('h2', {}, title), h('p', { class: `big ${cls}` }, value), sub ? h('p', { class: 'sub' }, sub) : null);

// everyDay lists the UTC days of the period (at most ~3 years of them).
function everyDay() {
  const [s, e] = bounds(per);
  const out = [];
  for (let t = s.getTime(); t < e.getTime() && out.length < 1200; t += 86400e3) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

async function main() {
  const src = await api(`sources/${encodeURIComponent(ip)}`, periodQuery(per));
  const names = src.sensor_names || [];
  $('#source-cards').replaceChildren(
    card('Packets', fmtInt(src.packets)),
    card('Distinct ports', (src.ports_exact ? '' : '≥ ') + fmtInt(src.ports)),
    card('Sensors reached', fmtInt(src.sensors), names.join(', ')),
    card('First seen', src.first_seen ? fmtTime(src.first_seen) : 'never', src.last_seen ? `last seen ${fmtTime(src.last_seen)}` : '', 'date'),
    h('div', { class: 'card' }, h('h2', {}, 'Tags'), h('p', {}, (src.tags || []).length ? tagList(src.tags) : 'none')),
    card('Country', src.country || 'unknown'),
    card('Network', src.asn ? `AS${src.asn}` : 'unknown', src.org || ''),
    card('Research-scanner lists', src.scanner || 'none'),
  );
  const days = src.days || [];
  const byDay = Object.fromEntries(days.map((d) => [d.day, d.packets]));
  timeChart($('#chart-source'), {
    series: [{ name: 'packets', data: everyDay().map((d) => [d, byDay[d] || 0]) }],
    yName: 'packets / day', kind: 'bar',
  });
  const el = $('#source-history');
  if (days.length === 0) return emptyRow(el, 9, 'No data for this period: this address sent nothing to the sensors.');
  table(el, ['Day', { v: 'Packets', num: true }, { v: 'Ports', num: true }, { v: 'Sensors', num: true }, 'Tags', 'First seen', 'Last seen',
    'Country', 'Network'],
    days.map((d) => [d.day, { v: fmtInt(d.packets), num: true }, { v: fmtInt(d.ports), num: true }, { v: fmtInt(d.sensors), num: true },
      h('span', {}, tagList(d.tags)), fmtTime(d.first_seen), fmtTime(d.last_seen), d.country || '—', d.asn ? `AS${d.asn}` : '—']));
}

run(main);
