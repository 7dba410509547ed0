// Sensor comparison: the top-10 ports of every sensor side by side (rows
// #1..#10, a column per sensor), and each group's monthly average packets
// per sensor as grouped bars.
import {
  $, api, barChart, currentPeriod, emptyRow, fmtAvg, fmtInt, h, isUnderway, lastMonths, periodPicker, periodQuery,
  rankChange, run,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);
const TOP = 10;

async function sideBySide() {
  const tp = await api('top-ports', periodQuery(per, { top: TOP }));
  const sensors = tp.sensors || [];
  const el = $('#side-by-side');
  if (sensors.length === 0 || sensors.every((s) => s.packets === 0)) return emptyRow(el, 1, 'No data for this period.');
  // Header: the groups over their sensors.
  const groupRow = [h('th', {}, '')];
  for (let i = 0; i < sensors.length;) {
    let j = i;
    while (j < sensors.length && sensors[j].group === sensors[i].group) j++;
    groupRow.push(h('th', { colspan: j - i, class: 'group-head' }, sensors[i].group));
    i = j;
  }
  const sensorRow = [h('th', {}, 'Rank'), ...sensors.map((s) => h('th', { 'data-sensor': s.sensor }, s.sensor))];
  const rows = [];
  for (let r = 0; r < TOP; r++) {
    if (!sensors.some((s) => s.top_ports[r])) break;
    rows.push(h('tr', {}, h('th', {}, `#${r + 1}`), ...sensors.map((s) => {
      const p = s.top_ports[r];
      if (!p) return h('td', { class: 'cell' }, '—');
      return h('td', { class: 'cell', title: `${fmtInt(p.packets)} packets` },
        h('span', { class: 'port' }, p.port), rankChange(p.rank, p.previous_rank));
    })));
  }
  const total = h('tr', { class: 'total' }, h('th', {}, 'Packets'),
    ...sensors.map((s) => h('td', { class: 'num' }, fmtInt(s.packets))));
  el.replaceChildren(h('thead', {}, h('tr', {}, groupRow), h('tr', {}, sensorRow)), h('tbody', {}, rows, total));
}

// groupMonths draws the months of the period; by default (the last 30
// days, which span one or two months) the three complete months before this
// one and this one so far, labelled so.
async function groupMonths() {
  const months3 = per.rolling ? lastMonths(3) : per;
  // Under way when asked: the answer may come after midnight at a month's
  // end, and describes the period asked for.
  const underway = isUnderway(months3);
  const ga = await api('group-averages', periodQuery(months3));
  const groups = ga.groups || [];
  const thisMonth = underway && groups.length ? groups[0].months.at(-1).month : null;
  const months = groups.length ? groups[0].months.map((m) => (m.month === thisMonth ? `${m.month} (so far)` : m.month)) : [];
  const chart = barChart($('#chart-groups'), {
    categories: months,
    series: groups.map((g) => ({ name: `${g.name} (${g.sensors} sensors)`, data: g.months.map((m) => m.avg_packets_per_sensor) })),
    yName: 'packets / sensor / month',
  });
  if (chart) chart.setOption({ tooltip: { valueFormatter: (v) => fmtAvg(v) } });
}

run(() => Promise.all([sideBySide(), groupMonths()]));
