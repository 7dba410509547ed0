// One source address: its totals over the period (packets, distinct ports,
// sensors reached, tags, first and last seen), the device model its
// banners name with the evidence, and its history day by day.
import {
  $, api, bounds, conflictMark, currentPeriod, devicesHowTo, emptyRow, fmtDay, fmtInt, fmtPct, fmtTime, h, modelLabel,
  periodPicker, periodQuery, run, table, tagList, timeChart,
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

// deviceCard shows the attribution (or how to get one) and its evidence.
// Every value from a banner is hostile input: h() makes it text.
function deviceCard(dev, evidence) {
  const card = $('#device-card');
  const evTable = $('#device-evidence');
  if (!dev) {
    card.replaceChildren(h('p', { class: 'empty-note prose', id: 'device-none' }, 'No device identified for this address: ', ...devicesHowTo()));
    evTable.hidden = true;
    return;
  }
  const released = fmtDay(dev.firmware_released);
  const fact = (name, ...value) => [h('dt', {}, name), h('dd', {}, ...value)];
  card.replaceChildren(h('dl', { class: 'facts' },
    fact('Vendor', h('a', { href: `/devices?${periodQuery(per, { vendor: dev.vendor })}`, title: `the models of ${dev.vendor} in this period` }, dev.vendor)),
    fact('Model', dev.model || h('span', { class: 'muted', title: 'the evidence names the vendor only' }, 'not known')),
    fact('Kind', dev.kind || '—'),
    fact('Firmware', dev.firmware ? h('span', { class: 'fw-version' }, dev.firmware) : h('span', { class: 'muted', title: 'no banner carried a version' }, 'unknown'),
      dev.firmware ? (released ? ` (released ${released})` : h('span', { class: 'muted' }, ' (release date not known)')) : ''),
    fact('Confidence', fmtPct(dev.confidence)),
    fact('Deciding rule', h('code', {}, dev.rule)),
    fact('Conflict', dev.conflict
      ? h('span', { class: 'warn', id: 'device-conflict' }, conflictMark(), ' the evidence also names ', (dev.alternatives || []).join(', ') || 'another model')
      : 'none: the evidence names one model'),
    fact('Evidence', `${fmtInt(dev.evidence)} banner match${dev.evidence === 1 ? '' : 'es'}, attributed ${fmtTime(dev.attributed)}`),
  ));
  evTable.hidden = false;
  if (evidence.length === 0) return emptyRow(evTable, 9, 'The evidence of this attribution is no longer stored.');
  table(evTable, ['Port', 'Seen', 'Source format', 'File', 'Field', 'Matched value', 'Model named', 'Rule', { v: 'Confidence', num: true }],
    evidence.map((e) => [
      `${e.port}/${e.transport}`,
      e.seen && !e.seen.startsWith('0001-') ? fmtTime(e.seen) : h('span', { class: 'muted', title: 'the scan file does not say' }, 'not given'),
      e.source,
      e.file || '—',
      h('code', {}, e.field),
      h('code', { class: 'banner-value' }, e.value),
      modelLabel(e.vendor, e.model),
      h('code', {}, e.rule),
      { v: fmtPct(e.confidence), num: true },
    ]));
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
  deviceCard(src.attribution, src.evidence || []);
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
