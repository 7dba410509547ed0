// Port graphs: for each chosen port, the average packets per sensor of each
// group (and of the whole fleet) over time, and the packets of each sensor,
// by hour, day or month — TSUBAME's per-port graphs — with the port's
// alerts as bands over the hours they were seen (the summary on hover).
// The anonymous public view (body[data-public]) shows groups and the fleet
// only, and their alerts (the API leaves out the sensors').
import {
  $, api, bounds, currentPeriod, h, navigate, params, periodPicker, periodQuery, run, timeChart,
} from './common.js';

const per = currentPeriod();
periodPicker($('#period'), per);
const isPublic = document.body.dataset.public === '1';

const [start, end] = bounds(per);
const periodDays = (end - start) / 86400e3;
// By default: hours for up to three days, months beyond a year.
const defaultResolution = periodDays <= 3 ? 'hour' : periodDays > 366 ? 'month' : 'day';
// The API draws hourly series over at most 62 days (its default limit).
const MAX_HOURLY_DAYS = 62;
let resolution = ['hour', 'day', 'month'].includes(params.get('resolution')) ? params.get('resolution') : defaultResolution;
let note = '';
if (resolution === 'hour' && periodDays > MAX_HOURLY_DAYS) {
  resolution = 'day';
  note = `Hourly graphs cover at most ${MAX_HOURLY_DAYS} days: this period is shown by day.`;
}
const perUnit = { hour: 'hour', day: 'day', month: 'month' }[resolution];

const normalize = (p) => {
  p = p.trim().toUpperCase();
  if (/^\d+$/.test(p)) return `${p}/TCP`;
  return p;
};

function drawPicker(ports, suggestions) {
  $('#port-chips').replaceChildren(...ports.map((p) => h('span', { class: 'chip' }, p,
    h('button', { type: 'button', title: `remove ${p}`, 'aria-label': `remove ${p}`,
      onclick: () => navigate({ port: ports.filter((x) => x !== p) }) }, '×'))));
  $('#port-suggestions').replaceChildren(...suggestions.map((p) => h('option', { value: p })));
  const res = $('#resolution');
  res.value = resolution;
  res.addEventListener('change', () => navigate({ resolution: res.value }));
  $('#port-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = normalize($('#port-input').value);
    if (p && !ports.includes(p)) navigate({ port: [...ports, p] });
  });
}

const points = (buckets, values, scale = 1) => buckets.map((t, i) => [t, values[i] / scale]);

// portAlerts returns the alerts of a port seen in the period; none when
// the server keeps no alerts (404).
async function portAlerts(port) {
  try {
    const ans = await api('alerts', { port, since: start.toISOString(), until: end.toISOString(), limit: 200 });
    return ans.alerts || [];
  } catch (e) {
    if (e.status === 404) return [];
    throw e;
  }
}

// bucketOf returns the start of the bucket of the resolution that holds t
// (UTC), and next the start of the bucket after it.
function bucketOf(t) {
  const d = new Date(t);
  if (resolution === 'month') d.setUTCDate(1);
  if (resolution === 'hour') d.setUTCMinutes(0, 0, 0);
  else d.setUTCHours(0, 0, 0, 0);
  return d;
}
function next(d) {
  const n = new Date(d);
  if (resolution === 'hour') n.setUTCHours(n.getUTCHours() + 1);
  else if (resolution === 'day') n.setUTCDate(n.getUTCDate() + 1);
  else n.setUTCMonth(n.getUTCMonth() + 1);
  return n;
}

const SEVERITY_COLORS = { critical: 'rgba(179, 38, 30, 0.16)', warning: 'rgba(230, 150, 0, 0.18)', info: 'rgba(36, 86, 166, 0.12)' };

// markAlerts draws alerts on a chart as bands over the buckets from their
// start to their last hour seen, each showing its summary on hover.
function markAlerts(chart, el, list) {
  el.dataset.alerts = String(chart ? list.length : 0);
  if (!chart || list.length === 0) return;
  chart.setOption({
    series: [{
      markArea: {
        silent: false,
        label: { show: false, position: 'insideTop', width: 260, overflow: 'break', color: '#1d2330', backgroundColor: '#fff', padding: 4, borderColor: '#c5cbd6', borderWidth: 1 },
        emphasis: { label: { show: true } },
        data: list.map((a) => [
          { name: `${a.severity}: ${a.summary}`, xAxis: bucketOf(a.start).toISOString(), itemStyle: { color: SEVERITY_COLORS[a.severity] || SEVERITY_COLORS.info } },
          { xAxis: next(bucketOf(a.last_seen)).toISOString() },
        ]),
      },
    }],
  });
}

async function main() {
  const groups = await api('group-top-ports', periodQuery(per, { top: 20 }));
  const suggestions = (groups.fleet.top_ports || []).map((p) => p.port);
  let ports = params.getAll('port').map(normalize).filter(Boolean);
  if (ports.length === 0) ports = suggestions.slice(0, 3);
  drawPicker(ports, suggestions);
  if (note) {
    const st = $('#status');
    st.hidden = false;
    st.textContent = note;
  }
  const box = $('#port-charts');
  if (ports.length === 0) {
    box.replaceChildren(h('p', { class: 'empty-note panel' }, 'No data for this period: no port to show.'));
    return;
  }
  const sensorsOf = Object.fromEntries((groups.groups || []).map((g) => [g.group, g.sensors]));
  const q = (by) => periodQuery(per, { port: ports, resolution, by });
  const [byGroup, fleet, bySensor, alertsOf] = await Promise.all([
    api('port-series', q('group')),
    api('port-series', q('fleet')),
    isPublic ? null : api('port-series', q('sensor')),
    Promise.all(ports.map(portAlerts)),
  ]);
  box.replaceChildren();
  for (const [i, port] of ports.entries()) {
    // The sensors' alerts on their chart; the groups' and the fleet's on
    // the averages.
    const own = alertsOf[i].filter((a) => a.scope.sensor);
    const shared = alertsOf[i].filter((a) => !a.scope.sensor);
    const groupSeries = byGroup.series
      .filter((s) => s.port === port && sensorsOf[s.group])
      .map((s) => ({ name: s.group, data: points(byGroup.buckets, s.packets, sensorsOf[s.group]) }));
    const f = fleet.series.find((s) => s.port === port);
    if (f && groups.fleet.sensors) {
      groupSeries.push({ name: 'all sensors', data: points(fleet.buckets, f.packets, groups.fleet.sensors) });
    }
    const gEl = h('div', { class: 'chart', id: `chart-groups-${port.replace(/\W/g, '-')}` });
    const panels = [h('div', {}, h('h3', { class: 'hint' }, 'Average packets per sensor, by group'), gEl)];
    let sEl = null;
    if (bySensor) {
      sEl = h('div', { class: 'chart', id: `chart-sensors-${port.replace(/\W/g, '-')}` });
      panels.push(h('div', {}, h('h3', { class: 'hint' }, 'Packets per sensor'), sEl));
    }
    box.append(h('section', { class: 'panel port-panel', 'data-port': port },
      h('h2', {}, h('code', {}, port)), h('div', { class: 'charts-row' }, panels)));
    markAlerts(timeChart(gEl, { series: groupSeries, yName: `packets / sensor / ${perUnit}` }), gEl, shared);
    if (sEl) {
      const sensorSeries = bySensor.series.filter((s) => s.port === port)
        .map((s) => ({ name: s.sensor, data: points(bySensor.buckets, s.packets) }));
      markAlerts(timeChart(sEl, { series: sensorSeries, yName: `packets / ${perUnit}` }), sEl, own);
    }
  }
}

run(main);
