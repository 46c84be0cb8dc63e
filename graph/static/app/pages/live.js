// Live overview: facility totals, one tile per camera (its picture with the lines, their `in` arrows and
// counts; occupancy against capacity), and alerts as they happen. Updates come from GraphQL subscriptions:
// `occupancy(cameraId)` per camera (counts, alerts) and `trackUpdates` for every camera (line crossings; a
// camera not on the page yet is fetched at once). A slow poll also picks up cameras that have no stream.
import { canWrite, gql, nodes } from "../api.js";
import { CameraFrame } from "../frame.js";
import { esc, label, render, time } from "../ui.js";

const OCCUPANCY = `subscription($id: ID!) { occupancy(cameraId: $id) { __typename
  ... on LiveOccupancy { cameraId currentOccupancy totalEntries totalExits lastUpdated }
  ... on Alert { id cameraId alertType message timestamp } } }`;
const CROSSINGS = `subscription { trackUpdates { cameraId crossings { lineId lineName direction } } }`;
const CAMERAS = `{
  cameras(first: 200) { totalCount edges { node { id cameraName location maxOccupancy resolutionWidth resolutionHeight
    live { currentOccupancy totalEntries totalExits lastUpdated } } } }
  visionStreams(first: 200) { edges { node { cameraId status statusDetail frames frameWidth frameHeight
    lines { lineId name start { x y } end { x y } direction inCount outCount } } } }
  alerts(first: 100) { edges { node { id cameraId alertType message timestamp } } }
  facilityStats { totalCameras activeCameras totalPersonsInFacility capacityUtilization activeAlerts }
}`;

export function mount(root, ctx) {
  const refs = render(root, `
    <h2>Facility</h2><div class="stats" data-ref="stats"></div>
    <h2>Cameras</h2><div class="grid" data-ref="cams"><div class="empty">Loading...</div></div>
    <h2>Active alerts</h2><div class="alerts" data-ref="alerts"></div>`);
  const tiles = new Map(); // camera id -> {camera, stream, el, frame, unsubscribe}
  const subs = [];
  let closed = false;
  let loading = null;

  function renderStats(s) {
    const items = [["People in facility", s.totalPersonsInFacility], ["Capacity used", s.capacityUtilization.toFixed(1) + "%"],
      ["Active cameras", `${s.activeCameras} / ${s.totalCameras}`], ["Active alerts", s.activeAlerts]];
    refs.stats.innerHTML = items.map(([k, v]) => `<div class="card stat"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`).join("");
  }

  function tileOf(camera) {
    let t = tiles.get(camera.id);
    if (t) { t.camera = camera; return t; }
    const el = document.createElement("div");
    el.className = "card tile";
    el.id = "cam-" + camera.id;
    el.dataset.camera = camera.id;
    el.innerHTML = `<div class="head"><span class="name"></span><span class="muted status"></span></div>
      <div class="pic"></div>
      <div class="head"><span><span class="occ" title="people inside now"></span> <span class="muted cap"></span></span>
        <span class="muted io"></span></div>
      <div class="bar"><div></div></div>
      <div class="row muted"><span class="upd"></span><span class="spacer"></span>
        <a href="cameras/${encodeURIComponent(camera.id)}/stream" target="_blank" rel="noopener" title="annotated live video (MJPEG)">live video</a>
        ${canWrite() ? `<a href="#/setup/${encodeURIComponent(camera.id)}">set up</a>` : ""}</div>`;
    const frame = new CameraFrame(el.querySelector(".pic"), { cameraId: camera.id, refreshMs: 2000,
      size: [camera.resolutionWidth || 640, camera.resolutionHeight || 480], hint: "No video: set a source under Cameras" });
    t = { camera, stream: null, el, frame };
    t.unsubscribe = ctx.socket.subscribe(OCCUPANCY, { id: camera.id }, (data) => onOccupancy(data.occupancy));
    tiles.set(camera.id, t);
    refs.cams.appendChild(el);
    return t;
  }

  function drawTile(t) {
    const c = t.camera, s = t.stream, el = t.el;
    const live = c.live || { currentOccupancy: 0, totalEntries: 0, totalExits: 0 };
    el.querySelector(".name").textContent = c.cameraName || c.id;
    el.querySelector(".status").textContent = s ? label(s.status) : "no video";
    const occ = el.querySelector(".occ");
    if (occ.textContent !== String(live.currentOccupancy)) { occ.classList.add("flash"); setTimeout(() => occ.classList.remove("flash"), 600); }
    occ.textContent = live.currentOccupancy;
    el.querySelector(".cap").textContent = c.maxOccupancy ? `of ${c.maxOccupancy}` : "inside";
    el.querySelector(".io").textContent = `in ${live.totalEntries} · out ${live.totalExits}`;
    const ratio = c.maxOccupancy ? live.currentOccupancy / c.maxOccupancy : 0;
    const bar = el.querySelector(".bar > div");
    bar.style.width = Math.min(100, ratio * 100) + "%";
    bar.style.background = ratio > 1 ? "var(--bad)" : ratio > 0.8 ? "var(--warn)" : "var(--ok)";
    el.querySelector(".upd").textContent = "updated " + time(live.lastUpdated);
    const hasFrames = !!s && s.frames > 0 && s.status === "CONNECTED";
    t.frame.setLive(hasFrames, s ? `Video ${label(s.status)}${s.statusDetail ? ": " + s.statusDetail : ""}` : undefined);
    if (s) t.frame.setSize(s.frameWidth, s.frameHeight);
    t.frame.setOverlay({ lines: s ? s.lines.map((l) => ({ name: l.name, lineId: l.lineId, x1: l.start.x, y1: l.start.y, x2: l.end.x, y2: l.end.y, inCount: l.inCount, outCount: l.outCount })) : [] });
  }

  function onOccupancy(u) {
    if (u.__typename === "Alert") { addAlert(u, true); refreshStats(); return; }
    const t = tiles.get(u.cameraId);
    if (t) { t.camera.live = u; drawTile(t); refreshStats(); }
  }

  function onCrossings(u) {
    const t = tiles.get(u.cameraId);
    if (!t) { loadSoon(); return; } // a camera that started streaming after the page loaded
    if (!u.crossings.length || !t.stream) return;
    for (const x of u.crossings) {
      const line = t.stream.lines.find((l) => (x.lineId && l.lineId === x.lineId) || l.name === x.lineName);
      if (line) line[x.direction === "IN" ? "inCount" : "outCount"] += 1;
      else { loadSoon(); return; } // a line added since: read the stream again
    }
    drawTile(t);
  }

  function renderAlerts(alerts) {
    refs.alerts.innerHTML = alerts.length ? "" : `<div class="empty">No active alerts.</div>`;
    for (const a of alerts) addAlert(a, false);
  }

  function addAlert(a, prepend) {
    if (document.getElementById("alert-" + a.id)) return;
    const empty = refs.alerts.querySelector(".empty");
    if (empty) empty.remove();
    const type = (a.alertType || "ALERT").toLowerCase();
    const el = document.createElement("div");
    el.className = "card alert " + type;
    el.id = "alert-" + a.id;
    const cam = tiles.get(a.cameraId);
    el.innerHTML = `<div class="msg"><b>${esc(label(type))}</b> · ${esc(a.message)}
      <div class="muted">${esc(cam ? cam.camera.cameraName : "camera " + a.cameraId)} · ${esc(time(a.timestamp))}</div></div>
      ${canWrite() ? `<button type="button">Resolve</button>` : ""}`;
    const button = el.querySelector("button");
    if (button) button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await gql(`mutation($id: ID!) { resolveAlert(id: $id) { alertId } }`, { id: a.id });
        el.remove();
        if (!refs.alerts.children.length) renderAlerts([]);
        refreshStats();
      } catch (e) { button.disabled = false; ctx.fail(e); }
    });
    if (prepend) refs.alerts.prepend(el); else refs.alerts.appendChild(el);
  }

  let statsTimer = null;
  function refreshStats() {
    if (statsTimer) return;
    statsTimer = setTimeout(async () => {
      statsTimer = null;
      try { renderStats((await gql(`{ facilityStats { totalCameras activeCameras totalPersonsInFacility capacityUtilization activeAlerts } }`)).facilityStats); }
      catch (e) { ctx.fail(e); }
    }, 500);
  }

  function emptyGuide() {
    refs.cams.innerHTML = `<div class="guide" data-ref="guide"><h3>No cameras yet</h3>
      <p>Footfall counts people who cross lines you draw on a camera's picture.</p>
      <ol><li>Add a camera and give it a video source (an RTSP/HTTP URL or a video file).</li>
        <li>Draw a counting line across the door on its picture; the green arrow points to <b>in</b>.</li>
        <li>Watch the counts here; history builds up hour by hour.</li></ol>
      <p>${canWrite() ? `<a class="button primary" href="#/setup/new">Add your first camera</a>` : "Ask an admin of your organisation to add a camera."}
      Or try the sample camera: restart with <code>footfall up --demo</code>.</p></div>`;
  }

  // Track updates arrive every frame: an unknown camera or line reloads at most every few seconds.
  let lastLoad = 0;
  function loadSoon() {
    if (Date.now() - lastLoad > 3000) load();
  }

  async function load() {
    lastLoad = Date.now();
    if (loading) return loading;
    loading = (async () => {
      try {
        const data = await gql(CAMERAS);
        if (closed) return;
        const cams = nodes(data.cameras);
        const streams = new Map(nodes(data.visionStreams).map((s) => [s.cameraId, s]));
        if (!cams.length) { for (const t of tiles.values()) { t.unsubscribe(); t.frame.stop(); } tiles.clear(); emptyGuide(); }
        else {
          const guide = refs.cams.querySelector(".guide, .empty");
          if (guide) guide.remove();
          const ids = new Set(cams.map((c) => c.id));
          for (const [id, t] of tiles) if (!ids.has(id)) { t.unsubscribe(); t.frame.stop(); t.el.remove(); tiles.delete(id); }
          for (const c of cams) { const t = tileOf(c); t.stream = streams.get(c.id) || null; drawTile(t); }
        }
        renderStats(data.facilityStats);
        if (!refs.alerts.children.length || refs.alerts.querySelector(".empty")) renderAlerts(nodes(data.alerts));
      } catch (e) { ctx.fail(e); }
      finally { loading = null; }
    })();
    return loading;
  }

  subs.push(ctx.socket.subscribe(CROSSINGS, {}, (data) => onCrossings(data.trackUpdates)));
  load();
  const poll = setInterval(load, 10000);
  return () => {
    closed = true;
    clearInterval(poll);
    for (const u of subs) u();
    for (const t of tiles.values()) { t.unsubscribe(); t.frame.stop(); }
  };
}
