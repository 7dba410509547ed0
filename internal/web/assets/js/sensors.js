// Sensors: each sensor's health as it last reported it to the collector
// (last seen, lag, kernel drops, spool backlog, version) and its packets
// in the period.
import {
  $, api, currentPeriod, emptyRow, fmtAgo, fmtBytes, fmtDuration, fmtInt, fmtTime, h, periodPicker, periodQuery, run, table, nowMs,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);

// state says whether a sensor is healthy: a recent report, no backlog, no drops.
function state(s, now) {
  const hl = s.health;
  if (!hl) return h('span', { class: 'warn', title: 'imported from captures, or never connected' }, 'no report');
  const age = now - new Date(hl.received);
  if (age > 5 * 60e3) return h('span', { class: 'bad' }, 'silent');
  if (hl.dropped_records > 0 || hl.lag_ns > 60e9) return h('span', { class: 'warn' }, 'lagging');
  return h('span', { class: 'good' }, 'ok');
}

async function main() {
  const [list, tp] = await Promise.all([api('sensors'), api('top-ports', periodQuery(per, { top: 1 }))]);
  const sensors = list.sensors || [];
  const el = $('#sensors');
  if (sensors.length === 0) return emptyRow(el, 12, 'No sensor yet.');
  const packets = Object.fromEntries((tp.sensors || []).map((s) => [s.sensor, s.packets]));
  const now = nowMs();
  const num = (v) => ({ v, num: true });
  table(el, ['Sensor', 'Group', 'State', 'Last report', num('Lag'), num('Kernel drops'), num('Spool backlog'),
    num('Dropped records'), 'Version', num('Uptime'), num('Packets in period'), 'Last packet'],
  sensors.map((s) => {
    const hl = s.health;
    return [
      h('span', { 'data-sensor': s.name, title: (s.addresses || []).join(' ') }, s.name),
      s.group,
      state(s, now),
      hl ? { v: fmtAgo(hl.received), title: fmtTime(hl.received) } : 'never',
      num(hl ? fmtDuration(hl.lag_ns) : '—'),
      num(hl ? fmtInt(hl.kernel_drops) : '—'),
      num(hl ? `${fmtInt(hl.spool_batches)} ${hl.spool_batches === 1 ? 'batch' : 'batches'}, ${fmtBytes(hl.spool_bytes)}` : '—'),
      num(hl ? fmtInt(hl.dropped_records) : '—'),
      hl ? hl.version : '—',
      num(hl ? fmtDuration(hl.uptime_ns) : '—'),
      num(fmtInt(packets[s.name] || 0)),
      fmtTime(s.last_packet),
    ];
  }));
}

run(main);
