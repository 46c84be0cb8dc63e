// History: hourly, daily or monthly entries, exits, average and peak occupancy, per camera or for the whole
// facility (the cameras added up; the facility's peak is the largest camera peak sum per period), over a
// chosen period in the viewer's time zone, with the numbers as a table and a CSV download.
import { gql, nodes, saveBlob } from "../api.js";
import { chart } from "../chart.js";
import { csv, esc, render, timeZone } from "../ui.js";

const FIELDS = {
  hourly: { query: "hourlyOccupancy", key: "hour", span: "days", avg: "avgOccupancy" },
  daily: { query: "dailyOccupancy", key: "date", span: "days", avg: "avgOccupancy" },
  monthly: { query: "monthlyOccupancy", key: "period", span: "months", avg: "avgDailyOccupancy" },
};
const DAY = 86400000;
const iso = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
const pad = (n) => String(n).padStart(2, "0");

/** Every period key from `from` to `to` (local dates, up to now), so hours and days without people show as 0. */
function periods(level, from, to) {
  const keys = [];
  const end = new Date(Math.min(to.getTime(), Date.now()));
  const d = new Date(from);
  while (d <= end && keys.length < 2000) {
    const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    if (level === "hourly") { keys.push(`${day} ${pad(d.getHours())}:00`); d.setHours(d.getHours() + 1); }
    else if (level === "daily") { keys.push(day); d.setDate(d.getDate() + 1); }
    else { keys.push(day.slice(0, 7)); d.setDate(1); d.setMonth(d.getMonth() + 1); }
  }
  return keys;
}

export function mount(root, ctx) {
  const today = new Date();
  const refs = render(root, `<h2>History</h2>
    <form class="card row" data-ref="form">
      <label>Camera <select name="camera"><option value="">Whole facility</option></select></label>
      <label>By <select name="level"><option value="hourly">hour</option><option value="daily">day</option><option value="monthly">month</option></select></label>
      <label>From <input type="date" name="from" value="${iso(new Date(today - DAY))}"></label>
      <label>To <input type="date" name="to" value="${iso(today)}"></label>
      <button type="submit" class="primary">Show</button>
      <span class="row" data-ref="quick"><button type="button" data-days="0">Today</button>
        <button type="button" data-days="1">Yesterday</button><button type="button" data-days="7">Last 7 days</button></span>
      <button type="button" data-ref="csv">Download CSV</button>
      <span class="muted">Times in ${esc(timeZone())}</span>
    </form>
    <div class="card chart" style="margin-top:12px" data-ref="chart"><div class="empty">Loading...</div></div>
    <div class="card scroll" style="margin-top:12px" data-ref="table"></div>`);
  const f = refs.form.elements;
  let rows = [];
  let cameras = [];

  async function load() {
    const level = f.level.value, spec = FIELDS[level];
    const from = new Date(f.from.value + "T00:00:00"), to = new Date(f.to.value + "T23:59:59");
    if (!(from <= to)) { refs.chart.innerHTML = `<div class="error">From must be before To.</div>`; return; }
    const back = Math.max(1, Math.ceil((Date.now() - from.getTime()) / DAY) + 1);
    const span = spec.span === "months" ? Math.ceil(back / 28) + 1 : back;
    const ids = f.camera.value ? [f.camera.value] : cameras.map((c) => c.id);
    refs.chart.innerHTML = `<div class="empty">Loading...</div>`;
    try {
      const parts = await Promise.all(ids.map((id) => gql(`query($id: ID!, $n: Int!, $tz: String) {
        rows: ${spec.query}(cameraId: $id, ${spec.span}: $n, timeZone: $tz) { edges { node { ${spec.key} entries exits ${spec.avg} peakOccupancy } } } }`,
      { id, n: span, tz: timeZone() }).then((d) => nodes(d.rows))));
      const lo = level === "monthly" ? f.from.value.slice(0, 7) : level === "daily" ? f.from.value : f.from.value + " 00:00";
      const hi = level === "monthly" ? f.to.value.slice(0, 7) : level === "daily" ? f.to.value : f.to.value + " 23:59";
      const byPeriod = new Map();
      for (const k of periods(level, from, to)) byPeriod.set(k, { period: k, entries: 0, exits: 0, avg: 0, peak: 0 });
      for (const part of parts) for (const r of part) {
        const k = r[spec.key];
        if (k < lo || k > hi) continue;
        const acc = byPeriod.get(k) || { period: k, entries: 0, exits: 0, avg: 0, peak: 0 };
        acc.entries += r.entries; acc.exits += r.exits; acc.avg += r[spec.avg]; acc.peak += r.peakOccupancy;
        byPeriod.set(k, acc);
      }
      rows = [...byPeriod.values()].sort((a, b) => (a.period < b.period ? -1 : 1));
      draw(level);
    } catch (e) { refs.chart.innerHTML = `<div class="error">${esc(e.message)}</div>`; ctx.fail(e); }
  }

  function draw(level) {
    if (rows.every((r) => !r.entries && !r.exits && !r.peak)) {
      refs.chart.innerHTML = `<div class="empty" data-ref="nodata">No counts in this period yet. Counts appear here once a camera with a line has seen people.</div>`;
      refs.table.innerHTML = "";
      return;
    }
    const labels = rows.map((r) => (level === "hourly" ? r.period.slice(5) : r.period));
    chart(refs.chart, { labels,
      bars: [{ name: "entries", color: "#1f9d6a", values: rows.map((r) => r.entries) }, { name: "exits", color: "#d2643f", values: rows.map((r) => r.exits) }],
      lines: [{ name: "average occupancy", color: "#3157d5", values: rows.map((r) => +r.avg.toFixed(1)) }, { name: "peak occupancy", color: "#8a4fd3", values: rows.map((r) => r.peak) }] });
    refs.table.innerHTML = `<table class="data"><tr><th>Period</th><th>Entries</th><th>Exits</th><th>Avg occupancy</th><th>Peak</th></tr>${rows.map((r) =>
      `<tr><td>${esc(r.period)}</td><td>${r.entries}</td><td>${r.exits}</td><td>${r.avg.toFixed(1)}</td><td>${r.peak}</td></tr>`).join("")}</table>`;
  }

  refs.form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  refs.quick.addEventListener("click", (ev) => {
    const days = ev.target.dataset.days;
    if (days === undefined) return;
    const now = new Date();
    f.from.value = iso(new Date(now - Number(days) * DAY));
    f.to.value = days === "1" ? f.from.value : iso(now);
    if (days !== "7") f.level.value = "hourly";
    load();
  });
  f.level.addEventListener("change", load);
  f.camera.addEventListener("change", load);
  refs.csv.addEventListener("click", () => {
    const text = csv(["period", "entries", "exits", "avg_occupancy", "peak_occupancy"], rows.map((r) => [r.period, r.entries, r.exits, r.avg.toFixed(2), r.peak]));
    saveBlob(new Blob([text], { type: "text/csv" }), `footfall-${f.level.value}-${f.camera.value || "facility"}-${f.from.value}-${f.to.value}.csv`);
  });

  (async () => {
    try {
      cameras = nodes((await gql(`{ cameras(first: 200) { edges { node { id cameraName } } } }`)).cameras);
      f.camera.innerHTML = `<option value="">Whole facility</option>` + cameras.map((c) => `<option value="${esc(c.id)}">${esc(c.cameraName || c.id)}</option>`).join("");
      await load();
    } catch (e) { ctx.fail(e); }
  })();
}
