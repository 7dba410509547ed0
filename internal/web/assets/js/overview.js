// Overview: packets today and this month, active sensors, the packets of
// the chosen period against the previous one (while the period is under
// way, against the same elapsed part of the previous one), the fleet's top
// ports of the period with their rank change, and the last 90 days by
// group (/api/v1/overview).
import {
  $, api, currentPeriod, emptyRow, fmtAvg, fmtInt, fmtPct, fmtTime, h, periodLabel, periodPicker,
  periodQuery, rankChange, run, shift, table, timeChart,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);

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

// change says how the period's packets compare with the previous period's.
function change(c, prevPer) {
  const el = $('#packets-change');
  // While the period is under way, its elapsed part is compared with as
  // long a part of the previous period, named by its times.
  const [from, to] = c.previous.split('/').map(fmtTime);
  const where = c.partial ? `the same part of the period before (${from} – ${to})` : periodLabel(prevPer);
  if (c.previous_packets === 0) {
    el.textContent = `no packets in ${where}`;
    return;
  }
  const d = (c.current_packets - c.previous_packets) / c.previous_packets;
  el.replaceChildren(
    h('span', { class: d > 0 ? 'up' : d < 0 ? 'down' : 'same' }, `${d > 0 ? '▲' : d < 0 ? '▼' : ''}${fmtPct(Math.abs(d))}`),
    ` against ${fmtInt(c.previous_packets)} in ${where}`);
  el.title = `${fmtInt(c.current_packets)} packets in ${c.current}, ${fmtInt(c.previous_packets)} in ${c.previous}`;
}

async function main() {
  const prevPer = shift(per, -1);
  const ov = await api('overview', periodQuery(per, { top: 10 }));
  $('#packets-today').textContent = fmtInt(ov.packets_today);
  $('#today-label').textContent = `${ov.today} (UTC), so far`;
  $('#packets-month').textContent = fmtInt(ov.packets_this_month);
  $('#month-label').textContent = `${ov.month} (UTC), so far`;
  $('#active-sensors').textContent = `${fmtInt(ov.active_sensors)} / ${fmtInt(ov.sensors)}`;
  $('#active-detail').textContent = 'reported in the last 5 minutes, or sent packets today';

  $('#packets-period').textContent = fmtInt(ov.period_packets);
  change(ov.change, prevPer);
  topPorts(ov.fleet);
  last90(ov.daily || { days: [], groups: [] });
}

run(main);
