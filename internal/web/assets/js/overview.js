// Overview: packets today and in the period, active sensors, the fleet's
// top ports with their rank change, and the last 90 days by group.
import {
  $, api, bounds, currentPeriod, emptyRow, fmtAvg, fmtInt, fmtPct, h, periodLabel, periodPicker,
  periodQuery, rankChange, run, shift, table, timeChart, today,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);

// packetsOf sums the sensors' packets of a top-ports answer.
const packetsOf = (tp) => (tp.sensors || []).reduce((n, s) => n + s.packets, 0);

// A sensor is active when it reported to the collector in the last five
// minutes, or (sensors imported from captures) sent packets in the last day.
function active(s, now) {
  if (s.health && now - new Date(s.health.received) < 5 * 60e3) return true;
  return !!s.last_packet && now - new Date(s.last_packet) < 86400e3;
}

async function cards() {
  const day = today();
  const [todayTP, periodTP, prevTP, sensors] = await Promise.all([
    api('top-ports', { period: day, top: 1 }),
    api('top-ports', periodQuery(per, { top: 1 })),
    api('top-ports', periodQuery(shift(per, -1), { top: 1 })),
    api('sensors'),
  ]);
  $('#packets-today').textContent = fmtInt(packetsOf(todayTP));
  $('#today-label').textContent = `${day} (UTC), so far`;
  const n = packetsOf(periodTP);
  const prev = packetsOf(prevTP);
  $('#packets-period').textContent = fmtInt(n);
  const [start, end] = bounds(per);
  const soFar = Date.now() >= start && Date.now() < end ? ' (so far)' : '';
  const prevLabel = periodLabel(shift(per, -1));
  if (prev > 0) {
    const c = (n - prev) / prev;
    $('#packets-change').replaceChildren(
      h('span', { class: c > 0 ? 'up' : c < 0 ? 'down' : 'same' }, `${c > 0 ? '▲' : c < 0 ? '▼' : ''}${fmtPct(Math.abs(c))}`),
      ` against ${prevLabel} (${fmtInt(prev)})${soFar}`);
  } else {
    $('#packets-change').textContent = `no packets in ${prevLabel}`;
  }
  const list = sensors.sensors || [];
  const now = Date.now();
  const inPeriod = (periodTP.sensors || []).filter((s) => s.packets > 0).length;
  $('#active-sensors').textContent = `${fmtInt(list.filter((s) => active(s, now)).length)} / ${fmtInt(list.length)}`;
  $('#active-detail').textContent = `reporting now or with packets in the last 24 h; ${fmtInt(inPeriod)} with packets in ${periodLabel(per)}`;
}

async function topPorts() {
  const g = await api('group-top-ports', periodQuery(per, { top: 10 }));
  const fleet = g.fleet || { top_ports: [] };
  const el = $('#top-ports');
  if (!fleet.top_ports || fleet.top_ports.length === 0) return emptyRow(el, 5, 'No data for this period.');
  table(el, ['Rank', 'Port', { v: 'Packets', num: true }, { v: 'Share', num: true }, { v: 'Per sensor', num: true }],
    fleet.top_ports.map((p) => [
      h('span', {}, `#${p.rank}`, rankChange(p.rank, p.previous_rank)),
      h('code', {}, p.port),
      { v: fmtInt(p.packets), num: true },
      { v: fleet.packets ? fmtPct(p.packets / fleet.packets) : '—', num: true },
      { v: fmtAvg(p.avg_packets_per_sensor), num: true },
    ]));
}

// last90 shows each group's packets per day (its average per sensor times
// its sensors), stacked: the top of the stack is the fleet's total.
async function last90() {
  const end = new Date(today() + 'T00:00:00Z');
  const start = new Date(end.getTime() - 89 * 86400e3);
  const ga = await api('group-averages', { from: start.toISOString().slice(0, 10), to: today() });
  const series = (ga.groups || []).map((g) => ({
    name: g.name,
    data: (g.days || []).map((d) => [d.day, Math.round(d.avg_packets_per_sensor * g.sensors)]),
  }));
  timeChart($('#chart-90d'), { series, yName: 'packets / day', stack: true, empty: 'No data in the last 90 days.' });
}

run(() => Promise.all([cards(), topPorts(), last90()]));
