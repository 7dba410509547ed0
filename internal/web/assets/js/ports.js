// Port graphs: for each chosen port, the average packets per sensor of each
// group (and of the whole fleet) over time, and the packets of each sensor,
// by hour, day or month — TSUBAME's per-port graphs. The anonymous public
// view (body[data-public]) shows groups and the fleet only.
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
  const [byGroup, fleet, bySensor] = await Promise.all([
    api('port-series', q('group')),
    api('port-series', q('fleet')),
    isPublic ? null : api('port-series', q('sensor')),
  ]);
  box.replaceChildren();
  for (const port of ports) {
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
    timeChart(gEl, { series: groupSeries, yName: `packets / sensor / ${perUnit}` });
    if (sEl) {
      const sensorSeries = bySensor.series.filter((s) => s.port === port)
        .map((s) => ({ name: s.sensor, data: points(bySensor.buckets, s.packets) }));
      timeChart(sEl, { series: sensorSeries, yName: `packets / ${perUnit}` });
    }
  }
}

run(main);
