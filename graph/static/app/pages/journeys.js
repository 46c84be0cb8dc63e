// Journeys: the list with filters (time, camera, zone, behaviour, conversion, status) and the API's CSV or
// XLSX export of the same filters; one journey's path drawn on its camera's picture, dwell per zone and
// whether it converted. Paths are in frame pixels (foot points), as the vision service tracked them.
import { download, gql, nodes } from "../api.js";
import { CameraFrame } from "../frame.js";
import { dateTime, esc, label, render, seconds } from "../ui.js";

const BEHAVIORS = ["QUICK_VISIT", "ENGAGED", "DESTINATION_SHOPPER", "BROWSER", "IN_PROGRESS", "CUSTOM"];
const CONVERSIONS = ["PURCHASED", "NO_PURCHASE", "PENDING"];
const DAY = 86400000;
const localInput = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
const options = (values) => values.map((v) => `<option value="${v}">${esc(label(v))}</option>`).join("");

export function mount(root, ctx, arg) {
  return arg ? journey(root, ctx, arg) : list(root, ctx);
}

function list(root, ctx) {
  const refs = render(root, `<h2>Journeys</h2>
    <form class="card row" data-ref="form">
      <label>From <input type="datetime-local" name="since" value="${localInput(new Date(Date.now() - DAY))}"></label>
      <label>To <input type="datetime-local" name="until"></label>
      <label>Camera <select name="camera"><option value="">all</option></select></label>
      <label>Zone <input name="zone" placeholder="any" maxlength="100" style="width:8em"></label>
      <label>Behaviour <select name="behavior"><option value="">any</option>${options(BEHAVIORS)}</select></label>
      <label>Conversion <select name="conversion"><option value="">any</option>${options(CONVERSIONS)}</select></label>
      <label>Status <select name="status"><option value="">any</option>${options(["ACTIVE", "COMPLETED"])}</select></label>
      <button class="primary" type="submit">Show</button>
      <button type="button" data-ref="csv">Export CSV</button>
      <button type="button" data-ref="xlsx">Export Excel</button>
    </form>
    <div class="stats" style="margin-top:12px" data-ref="stats"></div>
    <div class="card scroll" style="margin-top:12px" data-ref="list"><div class="empty">Loading...</div></div>`);
  const f = refs.form.elements;

  function filters() {
    const v = {};
    if (f.since.value) v.since = new Date(f.since.value).toISOString();
    if (f.until.value) v.until = new Date(f.until.value).toISOString();
    if (f.camera.value) v.cameraId = f.camera.value;
    if (f.zone.value.trim()) v.zone = f.zone.value.trim();
    for (const k of ["behavior", "conversion", "status"]) if (f[k].value) v[k] = f[k].value;
    return v;
  }

  async function load() {
    const v = filters();
    try {
      const data = await gql(`query($since: DateTime, $until: DateTime, $cameraId: ID, $zone: String, $behavior: Behavior,
          $conversion: ConversionStatus, $status: JourneyStatus) {
        journeys(first: 200, since: $since, until: $until, cameraId: $cameraId, zone: $zone, behavior: $behavior,
          conversion: $conversion, status: $status) { edges { node { id cameraId status entryTime durationSeconds
          zonesVisited behavior behaviorLabel conversion purchaseAmount } } }
        journeyStats(since: $since, until: $until, cameraId: $cameraId) { totalCustomers completedJourneys conversionRatePercent averageDurationSeconds }
      }`, v);
      const s = data.journeyStats;
      refs.stats.innerHTML = [["Journeys", s.totalCustomers], ["Completed", s.completedJourneys], ["Conversion", s.conversionRatePercent.toFixed(1) + "%"],
        ["Average visit", seconds(s.averageDurationSeconds)]].map(([k, x]) => `<div class="card stat"><div class="v">${esc(x)}</div><div class="k">${k}</div></div>`).join("");
      const rows = nodes(data.journeys);
      refs.list.innerHTML = rows.length ? `<table><tr><th>Entered</th><th>Camera</th><th>Stayed</th><th>Zones</th><th>Behaviour</th><th>Conversion</th></tr>${rows.map((j) =>
        `<tr><td><a href="#/journeys/${encodeURIComponent(j.id)}">${esc(dateTime(j.entryTime))}</a></td><td>${esc(j.cameraId)}</td>
          <td>${esc(j.status === "ACTIVE" ? "still inside" : seconds(j.durationSeconds))}</td><td>${esc(j.zonesVisited.join(", ") || "-")}</td>
          <td>${esc(j.behaviorLabel || label(j.behavior))}</td><td>${esc(label(j.conversion) || "-")}</td></tr>`).join("")}</table>`
        : `<div class="empty">No journeys match. Journeys appear as people tracked by a camera leave its view.</div>`;
    } catch (e) { refs.list.innerHTML = `<div class="error">${esc(e.message)}</div>`; ctx.fail(e); }
  }

  async function exportAs(format) {
    const v = filters(), q = new URLSearchParams({ format });
    if (v.since) q.set("since", v.since);
    if (v.until) q.set("until", v.until);
    if (v.cameraId) q.set("camera_id", v.cameraId);
    if (v.zone) q.set("zone", v.zone);
    for (const k of ["behavior", "conversion", "status"]) if (v[k]) q.set(k, v[k].toLowerCase());
    try { await download(`api/journeys/export?${q}`, `journeys.${format}`); } catch (e) { ctx.fail(e); }
  }

  refs.form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  refs.csv.addEventListener("click", () => exportAs("csv"));
  refs.xlsx.addEventListener("click", () => exportAs("xlsx"));
  (async () => {
    try {
      const cams = nodes((await gql(`{ cameras(first: 200) { edges { node { id cameraName } } } }`)).cameras);
      f.camera.innerHTML = `<option value="">all</option>` + cams.map((c) => `<option value="${esc(c.id)}">${esc(c.cameraName || c.id)}</option>`).join("");
    } catch (e) { ctx.fail(e); }
    load();
  })();
}

function journey(root, ctx, id) {
  const refs = render(root, `<div class="row"><h2 style="flex:1">Journey</h2><a href="#/journeys">All journeys</a></div>
    <div class="two"><div class="card"><div data-ref="pic"></div><div class="muted">Path of the person's feet: green where they
      were first seen, red where last.</div></div>
    <div class="card" data-ref="facts"><div class="empty">Loading...</div></div></div>`);
  let frame = null;
  (async () => {
    try {
      const data = await gql(`query($id: ID!) { journey(id: $id) { id cameraId customerId status entryTime exitTime durationSeconds
          zonesVisited path { x y } dwellSeconds { zoneName seconds } behavior behaviorLabel conversion purchaseAmount transactionIds }
        visionStreams(first: 200) { edges { node { cameraId status frames frameWidth frameHeight zones { name points { x y } } } } } }`, { id });
      const j = data.journey;
      if (!j) { refs.facts.innerHTML = `<div class="empty">No journey ${esc(id)}.</div>`; return; }
      const stream = nodes(data.visionStreams).find((s) => s.cameraId === j.cameraId);
      const size = stream && stream.frameWidth ? [stream.frameWidth, stream.frameHeight]
        : [Math.max(640, ...j.path.map((p) => p.x + 20)), Math.max(480, ...j.path.map((p) => p.y + 20))];
      frame = new CameraFrame(refs.pic, { cameraId: j.cameraId, refreshMs: 0, size, hint: "" });
      frame.setLive(!!stream && stream.frames > 0 && stream.status === "CONNECTED");
      frame.setOverlay({ path: j.path, zones: stream ? stream.zones : [] });
      refs.facts.innerHTML = `<table>
        <tr><th>Camera</th><td>${esc(j.cameraId)}</td></tr>
        <tr><th>Entered</th><td>${esc(dateTime(j.entryTime))}</td></tr>
        <tr><th>Left</th><td>${esc(j.exitTime ? dateTime(j.exitTime) : "still inside")}</td></tr>
        <tr><th>Stayed</th><td>${esc(seconds(j.durationSeconds))}</td></tr>
        <tr><th>Behaviour</th><td>${esc(j.behaviorLabel || label(j.behavior))}</td></tr>
        <tr><th>Conversion</th><td>${esc(label(j.conversion) || "-")}${j.purchaseAmount ? ` (${j.purchaseAmount.toFixed(2)})` : ""}</td></tr>
        <tr><th>Path points</th><td data-ref="points">${j.path.length}</td></tr>
        </table><h3 style="margin-top:12px">Time per zone</h3>${j.dwellSeconds.length
          ? `<table>${j.dwellSeconds.map((d) => `<tr><td>${esc(d.zoneName)}</td><td>${esc(seconds(d.seconds))}</td></tr>`).join("")}</table>`
          : `<div class="muted">The camera has no zones, so no time per zone.</div>`}`;
    } catch (e) { refs.facts.innerHTML = `<div class="error">${esc(e.message)}</div>`; ctx.fail(e); }
  })();
  return () => { if (frame) frame.stop(); };
}
