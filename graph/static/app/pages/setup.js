// Camera setup: the camera list, adding a camera with its video source, and one camera's editor: its
// details and capacity, its source (start/stop), and counting lines and zones drawn on its picture.
//
// Lines are the occupancy service's virtual lines (createLine/updateLine), stored in the camera's
// configured resolution (or frame pixels when it has none); the vision service reads them when a stream
// starts. When a running stream has not picked a change up within a few seconds, the page restarts the
// stream from the same source so the change applies now. Zones belong to the stream (startStream `zones`).
import { NotLoggedIn, canWrite, gql, nodes } from "../api.js";
import { CameraFrame } from "../frame.js";
import { esc, label, render, toast } from "../ui.js";

const STREAM = `visionStream(cameraId: $id) { cameraId source status statusDetail frames frameWidth frameHeight
  lines { lineId name start { x y } end { x y } direction inCount outCount } zones { name points { x y } } }`;
const LINE_FIELDS = "id lineName x1 y1 x2 y2 direction confidenceThreshold isActive";
const APPLY_WAIT_MS = 6000;

export function mount(root, ctx, arg) {
  if (arg === "new") return addCamera(root, ctx);
  if (arg) return editCamera(root, ctx, arg);
  return cameraList(root, ctx);
}

function cameraList(root, ctx) {
  const refs = render(root, `<div class="row"><h2 style="flex:1">Cameras</h2>
    ${canWrite() ? `<a class="button primary" href="#/setup/new">Add a camera</a>` : ""}</div>
    <div class="card scroll" data-ref="list"><div class="empty">Loading...</div></div>`);
  (async () => {
    try {
      const data = await gql(`{ cameras(first: 200, includeInactive: true) { edges { node { id cameraName location maxOccupancy isActive } } }
        visionStreams(first: 200) { edges { node { cameraId status source } } } }`);
      const streams = new Map(nodes(data.visionStreams).map((s) => [s.cameraId, s]));
      const cams = nodes(data.cameras);
      refs.list.innerHTML = cams.length ? `<table><tr><th>Camera</th><th>Video</th><th>Capacity</th><th></th></tr>${cams.map((c) => {
        const s = streams.get(c.id);
        return `<tr><td><b>${esc(c.cameraName || c.id)}</b><div class="muted">${esc(c.id)} ${esc(c.location)}${c.isActive ? "" : " (inactive)"}</div></td>
          <td>${s ? esc(label(s.status)) : "none"}</td><td>${c.maxOccupancy ?? "-"}</td>
          <td><a href="#/setup/${encodeURIComponent(c.id)}">${canWrite() ? "Set up" : "View"}</a></td></tr>`;
      }).join("")}</table>` : `<div class="empty">No cameras yet. ${canWrite() ? `<a href="#/setup/new">Add your first camera</a>.` : ""}</div>`;
    } catch (e) { ctx.fail(e); }
  })();
}

function addCamera(root, ctx) {
  const refs = render(root, `<h2>Add a camera</h2>
    <form class="card" data-ref="form">
      <div class="row">
        <label>Name <input name="name" required placeholder="Front door" maxlength="100"></label>
        <label>Id (letters, digits, _ and -) <input name="id" required pattern="[A-Za-z0-9_\\-]+" maxlength="64" placeholder="FRONT_DOOR"></label>
        <label>Location <input name="location" placeholder="Main entrance" maxlength="200"></label>
        <label>Capacity (people) <input name="capacity" type="number" min="1" placeholder="optional"></label>
      </div>
      <div class="row" style="margin-top:10px">
        <label style="flex:1">Video source: an rtsp:// or http(s):// URL, or a video file on the server
          <input name="source" placeholder="rtsp://192.168.1.20/stream1 or pets.avi" style="width:100%"></label>
      </div>
      <p class="muted">Files are read only from the server's media folders (FOOTFALL_MEDIA_ROOTS). You can add the source later.</p>
      <div class="error" data-ref="error"></div>
      <button class="primary" type="submit">Add camera</button> <a href="#/setup">Cancel</a>
    </form>`);
  const f = refs.form.elements;
  f.name.addEventListener("input", () => {
    if (!f.id.dataset.touched) f.id.value = f.name.value.trim().toUpperCase().replace(/[^A-Z0-9]+/g, "_").replace(/^_|_$/g, "").slice(0, 64);
  });
  f.id.addEventListener("input", () => { f.id.dataset.touched = "1"; });
  refs.form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    refs.error.textContent = "";
    const id = f.id.value.trim();
    try {
      await gql(`mutation($input: CameraInput!) { createCamera(input: $input) { id } }`, { input: {
        id, cameraName: f.name.value.trim(), location: f.location.value.trim(),
        maxOccupancy: f.capacity.value ? Number(f.capacity.value) : null } });
      if (f.source.value.trim()) {
        try { await startStream(id, f.source.value.trim(), null); }
        catch (e) { toast(`Camera added; its video did not start: ${e.message}`); }
      }
      ctx.go("#/setup/" + encodeURIComponent(id));
    } catch (e) {
      if (e instanceof NotLoggedIn) return ctx.fail(e);
      refs.error.textContent = e.message;
    }
  });
}

/** Start a camera's stream from a URL or a server file (looped at its real rate, like a camera). */
async function startStream(cameraId, source, zones) {
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
  const input = { cameraId, zones, ...(isUrl ? { url: source } : { path: source, loop: true, realtime: true }) };
  return (await gql(`mutation($input: StartStreamInput!) { startStream(input: $input) { cameraId status } }`, { input })).startStream;
}

async function stopStream(cameraId) {
  await gql(`mutation($id: ID!) { stopStream(cameraId: $id) { cameraId } }`, { id: cameraId });
}

function editCamera(root, ctx, id) {
  const writer = canWrite();
  const refs = render(root, `<div class="row"><h2 style="flex:1" data-ref="title">Camera ${esc(id)}</h2><a href="#/setup">All cameras</a></div>
    <div class="two">
      <div class="card">
        <div class="row"><b style="flex:1">Picture</b><span class="muted" data-ref="status"></span></div>
        <div data-ref="pic"></div>
        <div class="muted" data-ref="help">Start the video to see the camera's picture.</div>
        <div class="row" data-ref="tools" ${writer ? "" : "hidden"}>
          <button type="button" data-ref="drawLine">Draw a line</button>
          <button type="button" data-ref="drawZone">Draw a zone</button>
          <button type="button" data-ref="cancelDraw" hidden>Cancel</button>
        </div>
        <form data-ref="draft" hidden class="row" style="margin-top:8px">
          <label>Line name <input name="name" value="door" required maxlength="64"></label>
          <label>Counts <select name="direction"><option value="BIDIRECTIONAL">in and out</option><option value="ENTRY">only in</option><option value="EXIT">only out</option></select></label>
          <button type="button" data-ref="flip" title="swap which side is in">Flip in/out</button>
          <button class="primary" type="submit">Save line</button>
        </form>
        <form data-ref="zoneDraft" hidden class="row" style="margin-top:8px">
          <label>Zone name <input name="name" value="entrance" required maxlength="64"></label>
          <button class="primary" type="submit">Save zone</button>
        </form>
      </div>
      <div>
        <form class="card" data-ref="details"><b>Details</b>
          <div class="row" style="margin-top:6px">
            <label>Name <input name="name" maxlength="100"></label>
            <label>Location <input name="location" maxlength="200"></label>
            <label>Capacity <input name="capacity" type="number" min="1"></label>
          </div>
          <div class="row" style="margin-top:8px" ${writer ? "" : "hidden"}><button type="submit">Save details</button></div>
        </form>
        <form class="card" data-ref="source" style="margin-top:12px"><b>Video source</b>
          <div class="row" style="margin-top:6px"><label style="flex:1">URL or server file <input name="source" style="width:100%" placeholder="rtsp://... or pets.avi"></label></div>
          <div class="row" style="margin-top:8px" ${writer ? "" : "hidden"}>
            <button class="primary" type="submit" data-ref="start">Start video</button>
            <button type="button" data-ref="stop">Stop video</button></div>
        </form>
        <div class="card" style="margin-top:12px"><b>Counting lines</b>
          <p class="muted">The green arrow points to <b>in</b>: people crossing that way are entries.</p>
          <div class="scroll" data-ref="lines"></div></div>
        <div class="card" style="margin-top:12px"><b>Zones</b><div data-ref="zones" class="muted"></div></div>
      </div>
    </div>`);
  let camera = null, stream = null, lines = [];
  let mode = null, points = [];
  const frame = new CameraFrame(refs.pic, { cameraId: id, refreshMs: 1500, hint: "No video yet",
    onClick: writer ? (x, y) => onClick(x, y) : null });
  let closed = false;

  // Line coordinates are in the camera's configured resolution; the picture is in frame pixels.
  const scale = () => {
    const fw = frame.size[0], fh = frame.size[1];
    const cw = camera && camera.resolutionWidth, ch = camera && camera.resolutionHeight;
    return cw && ch ? [fw / cw, fh / ch] : [1, 1];
  };
  const toFrame = (l) => { const [sx, sy] = scale(); return { ...l, x1: l.x1 * sx, y1: l.y1 * sy, x2: l.x2 * sx, y2: l.y2 * sy }; };
  const fromFrame = ([x, y]) => { const [sx, sy] = scale(); return [Math.round(x / sx), Math.round(y / sy)]; };

  function counts(line) {
    const s = stream && stream.lines.find((l) => String(l.lineId) === String(line.id));
    return s ? { inCount: s.inCount, outCount: s.outCount } : {};
  }

  function draw() {
    const shown = lines.filter((l) => l.isActive).map((l) => ({ name: l.lineName, ...toFrame(l), ...counts(l) }));
    let overlayPoints = points;
    if (mode === "line" && points.length === 2) {
      shown.push({ name: refs.draft.elements.name.value || "new line", x1: points[0][0], y1: points[0][1], x2: points[1][0], y2: points[1][1], color: "#ff5ad1" });
      overlayPoints = [];
    }
    frame.setOverlay({ lines: shown, zones: stream ? stream.zones : [], points: overlayPoints });
  }

  function setMode(m) {
    mode = m; points = [];
    refs.cancelDraw.hidden = !m;
    refs.draft.hidden = true;
    refs.zoneDraft.hidden = m !== "zone";
    refs.help.textContent = m === "line" ? "Click where the line starts, then where it ends (across the door)."
      : m === "zone" ? "Click the zone's corners, then Save zone." : frame.live ? "" : "Start the video to see the camera's picture.";
    draw();
  }

  function onClick(x, y) {
    if (mode === "line") {
      if (points.length >= 2) points = [];
      points.push([x, y]);
      if (points.length === 2) { refs.draft.hidden = false; refs.help.textContent = "Check the green arrow points into the shop; Flip if not."; }
    } else if (mode === "zone") points.push([x, y]);
    draw();
  }

  function renderLines() {
    const active = lines.filter((l) => l.isActive);
    refs.zones.textContent = stream && stream.zones.length ? stream.zones.map((z) => z.name).join(", ") : "No zones (draw one to measure dwell).";
    // A threshold being typed into stays as it is (the 3 s refresh would replace the input and lose the edit):
    // only the counts change until it loses focus.
    if (refs.lines.contains(document.activeElement) && document.activeElement.dataset.act === "threshold") {
      for (const l of active) {
        const cell = refs.lines.querySelector(`tr[data-line="${CSS.escape(String(l.id))}"] .linecounts`);
        const c = counts(l);
        if (cell) cell.textContent = `${c.inCount ?? "-"} / ${c.outCount ?? "-"}`;
      }
      return;
    }
    refs.lines.innerHTML = active.length ? `<table><tr><th>Line</th><th>Counts</th><th>In / out now</th><th>Min. confidence</th><th></th></tr>${active.map((l) => {
      const c = counts(l);
      return `<tr data-line="${esc(l.id)}"><td><b>${esc(l.lineName)}</b></td><td>${esc(label(l.direction))}</td>
        <td class="linecounts">${c.inCount ?? "-"} / ${c.outCount ?? "-"}</td>
        <td>${writer ? `<input type="number" min="0" max="1" step="0.05" value="${l.confidenceThreshold}" data-act="threshold" style="width:5em">` : l.confidenceThreshold}</td>
        <td>${writer ? `<button type="button" data-act="flip">Flip</button> <button type="button" class="danger" data-act="remove">Remove</button>` : ""}</td></tr>`;
    }).join("")}</table>` : `<div class="empty">No line yet${writer ? ": draw one on the picture" : ""}.</div>`;
  }

  refs.lines.addEventListener("click", async (ev) => {
    const act = ev.target.dataset.act;
    const row = ev.target.closest("tr[data-line]");
    if (!row || !act || act === "threshold") return;
    const line = lines.find((l) => String(l.id) === row.dataset.line);
    const input = act === "flip" ? { x1: line.x2, y1: line.y2, x2: line.x1, y2: line.y1 } : { isActive: false };
    await saveLine(line.id, input);
  });
  refs.lines.addEventListener("change", async (ev) => {
    if (ev.target.dataset.act !== "threshold") return;
    const row = ev.target.closest("tr[data-line]");
    await saveLine(row.dataset.line, { confidenceThreshold: Number(ev.target.value) });
  });

  async function saveLine(lineId, input) {
    try {
      await gql(`mutation($id: ID!, $input: LineUpdateInput!) { updateLine(id: $id, input: $input) { id } }`, { id: lineId, input });
      await applied();
    } catch (e) { ctx.fail(e); }
  }

  refs.drawLine.addEventListener("click", () => setMode("line"));
  refs.drawZone.addEventListener("click", () => setMode("zone"));
  refs.cancelDraw.addEventListener("click", () => setMode(null));
  refs.flip.addEventListener("click", () => { if (points.length === 2) { points.reverse(); draw(); } });
  refs.draft.elements.name.addEventListener("input", draw);
  refs.draft.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const [a, b] = points.map(fromFrame);
    try {
      await gql(`mutation($input: LineInput!) { createLine(input: $input) { id } }`, { input: {
        cameraId: id, lineName: refs.draft.elements.name.value.trim(), x1: a[0], y1: a[1], x2: b[0], y2: b[1],
        direction: refs.draft.elements.direction.value } });
      setMode(null);
      toast("Line saved");
      await applied();
    } catch (e) { ctx.fail(e); }
  });
  refs.zoneDraft.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (points.length < 3) return toast("A zone needs at least three corners");
    if (!stream) return toast("Start the video first: zones belong to the running stream");
    const zones = [...stream.zones.map((z) => ({ name: z.name, points: z.points.map((p) => ({ x: p.x, y: p.y })) })),
      { name: refs.zoneDraft.elements.name.value.trim(), points: points.map(([x, y]) => ({ x, y })) }];
    try { await restart(zones); setMode(null); toast("Zone saved"); } catch (e) { ctx.fail(e); }
  });

  refs.details.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = refs.details.elements;
    try {
      await gql(`mutation($id: ID!, $input: CameraUpdateInput!) { updateCamera(id: $id, input: $input) { id } }`, { id, input: {
        cameraName: f.name.value.trim(), location: f.location.value.trim(), maxOccupancy: f.capacity.value ? Number(f.capacity.value) : null } });
      toast("Saved");
      await load();
    } catch (e) { ctx.fail(e); }
  });
  refs.source.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const source = refs.source.elements.source.value.trim();
    if (!source) return toast("Enter a URL or a file name");
    try {
      if (stream && ["CONNECTING", "CONNECTED", "RECONNECTING"].includes(stream.status)) await stopStream(id);
      await startStream(id, source, stream ? zonesOf(stream) : null);
      toast("Video starting");
      await load();
    } catch (e) { ctx.fail(e); }
  });
  refs.stop.addEventListener("click", async () => {
    try { await stopStream(id); await load(); } catch (e) { ctx.fail(e); }
  });

  const zonesOf = (s) => s.zones.map((z) => ({ name: z.name, points: z.points.map((p) => ({ x: p.x, y: p.y })) }));

  async function restart(zones) {
    await stopStream(id);
    await startStream(id, stream.source, zones);
    await load();
  }

  /** After a line change: wait for the running stream to show it, else restart the stream so it applies. */
  async function applied() {
    await load();
    if (!stream || !["CONNECTING", "CONNECTED", "RECONNECTING"].includes(stream.status)) return;
    const want = lines.filter((l) => l.isActive).map((l) => `${l.id}:${l.x1},${l.y1},${l.x2},${l.y2}`).sort().join(" ");
    const deadline = Date.now() + APPLY_WAIT_MS;
    while (Date.now() < deadline && !closed) {
      const [sx, sy] = scale();
      const have = stream.lines.map((l) => `${l.lineId}:${Math.round(l.start.x / sx)},${Math.round(l.start.y / sy)},${Math.round(l.end.x / sx)},${Math.round(l.end.y / sy)}`).sort().join(" ");
      if (have === want) return;
      await new Promise((r) => setTimeout(r, 1000));
      await load();
    }
    if (!closed) { await restart(zonesOf(stream)); toast("Video restarted with the new lines"); }
  }

  async function load() {
    const data = await gql(`query($id: ID!) { camera(id: $id) { id cameraName location maxOccupancy resolutionWidth resolutionHeight }
      lines(cameraId: $id, first: 200) { edges { node { ${LINE_FIELDS} } } }
      visionStreams(first: 200) { edges { node { cameraId } } } }`, { id });
    if (closed) return;
    if (!data.camera) { refs.title.textContent = `No camera ${id}`; return; }
    camera = data.camera;
    lines = nodes(data.lines);
    stream = nodes(data.visionStreams).some((s) => s.cameraId === id)
      ? (await gql(`query($id: ID!) { ${STREAM} }`, { id })).visionStream : null;
    if (closed) return;
    refs.title.textContent = camera.cameraName || camera.id;
    const f = refs.details.elements;
    if (document.activeElement?.form !== refs.details) {
      f.name.value = camera.cameraName; f.location.value = camera.location; f.capacity.value = camera.maxOccupancy ?? "";
    }
    if (stream && !refs.source.elements.source.value) refs.source.elements.source.value = stream.source;
    refs.status.textContent = stream ? `video ${label(stream.status)}${stream.statusDetail ? ": " + stream.statusDetail : ""}` : "no video";
    if (stream && stream.frameWidth) frame.setSize(stream.frameWidth, stream.frameHeight);
    frame.setLive(!!stream && stream.frames > 0 && stream.status === "CONNECTED",
      stream ? `Video ${label(stream.status)}` : "No video yet: enter its source and Start video");
    if (!mode) refs.help.textContent = frame.live ? (writer ? "Draw a line across the door people walk through." : "") : "Start the video to see the camera's picture.";
    refs.stop.disabled = !stream || stream.status === "STOPPED";
    renderLines();
    draw();
  }

  load().catch(ctx.fail);
  const poll = setInterval(() => { if (!mode) load().catch(ctx.fail); }, 3000);
  return () => { closed = true; clearInterval(poll); frame.stop(); };
}
