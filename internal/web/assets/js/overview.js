// Overview: packets today and this month, active sensors, the packets of
// the chosen period against the previous one, the fleet's top ports of the
// period with their rank change, and the last 90 days by group
// (/api/v1/overview).
import {
  $, api, bounds, currentPeriod, emptyRow, fmtAvg, fmtInt, fmtPct, h, periodLabel, periodPicker,
  periodQuery, rankChange, run, shift, table, timeChart,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);

// packetsOf sums the sensors' packets of a top-ports answer.
const packetsOf = (tp) => (tp.sensors || []).reduce((n, s) => n + s.packets, 0);

function topPorts(fleet) {
  const el = $('#top-ports');
  if (!fleet || !fleet.top_ports || fleet.top_ports.length === 0) return emptyRow(el, 5, 'No data for this period.');
  table(el, ['Rank', 'Port', { v: 'Packets', num: true }, { v: 'Share', num: true }, { v: 'Per sensor', num: true }],
    fleet.top_ports.map((p) => [
      h('span', {}, `#${p.rank}`, rankChange(p.rank, p.previous_rank)),
      h('code', {}, p.port),
      { v: fmtInt(p.packets), num: true },
      { v: fleet.packets ? fmtPct(p.packets / fleet.packets) : '—', num: true },
      { v: fmtAvg(p.avg_packets_per_sensor), num: true },
    ]));
}

// last90 stacks each group's packets per day: the top of the stack is the
// fleet's total.
function last90(daily) {
  const series = (daily.groups || []).map((g) => ({
    name: `${g.group} (${g.sensors} sensors)`,
    data: daily.days.map((d, i) => [d, g.packets[i]]),
  }));
  timeChart($('#chart-90d'), { series, yName: 'packets / day', stack: true, empty: 'No data in the last 90 days.' });
}

async function main() {
  const prevPer = shift(per, -1);
  const [ov, periodTP, prevTP] = await Promise.all([
    api('overview', periodQuery(per, { top: 10 })),
    api('top-ports', periodQuery(per, { top: 1 })),
    api('top-ports', periodQuery(prevPer, { top: 1 })),
  ]);
  $('#packets-today').textContent = fmtInt(ov.packets_today);
  $('#today-label').textContent = `${ov.today} (UTC), so far`;
  $('#packets-month').textContent = fmtInt(ov.packets_this_month);
  $('#month-label').textContent = `${ov.month} (UTC), so far`;
  $('#active-sensors').textContent = `${fmtInt(ov.active_sensors)} / ${fmtInt(ov.sensors)}`;
  $('#active-detail').textContent = 'reported in the last 5 minutes, or sent packets today';

  const n = packetsOf(periodTP);
  const prev = packetsOf(prevTP);
  $('#packets-period').textContent = fmtInt(n);
  const [start, end] = bounds(per);
  const soFar = Date.now() >= start && Date.now() < end ? ', so far' : '';
  if (prev > 0) {
    const c = (n - prev) / prev;
    $('#packets-change').replaceChildren(
      h('span', { class: c > 0 ? 'up' : c < 0 ? 'down' : 'same' }, `${c > 0 ? '▲' : c < 0 ? '▼' : ''}${fmtPct(Math.abs(c))}`),
      ` against ${periodLabel(prevPer)} (${fmtInt(prev)})${soFar}`);
  } else {
    $('#packets-change').textContent = `no packets in ${periodLabel(prevPer)}`;
  }
  topPorts(ov.fleet);
  last90(ov.daily || { days: [], groups: [] });
}

run(main);
