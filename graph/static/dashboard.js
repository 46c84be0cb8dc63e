"use strict";
// The live dashboard: GraphQL queries over HTTP, live updates over graphql-transport-ws, both authenticated
// by the session cookie of `POST /api/auth/login/` (HttpOnly; unsafe requests echo the CSRF cookie in
// X-CSRF-Token). Any 401 shows the login form. A camera is named by its public id, `Camera.id` (its key).
const $ = (id) => document.getElementById(id);
const orgInput = $("org");
orgInput.value = localStorage.getItem("footfall.org") || "";
const org = () => orgInput.value.trim();
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
const time = (iso) => iso ? new Date(iso).toLocaleTimeString() : "-";
const csrf = () => (document.cookie.split("; ").find((c) => c.startsWith("footfall_csrf=")) || "").slice(14);

class NotLoggedIn extends Error {}

async function post(url, body) {
  const headers = {"Content-Type": "application/json"};
  if (csrf()) headers["X-CSRF-Token"] = decodeURIComponent(csrf());
  if (org()) headers["X-Footfall-Org"] = org();
  const res = await fetch(url, {method: "POST", headers, credentials: "same-origin", body: JSON.stringify(body)});
  if (res.status === 401) throw new NotLoggedIn();
  return res;
}

async function gql(query, variables = {}) {
  const res = await post("graphql", {query, variables});
  const body = await res.json();
  if (!res.ok && !body.errors) throw new Error(body.detail || body.error || res.statusText);
  if (body.errors) {
    if (body.errors.some((e) => e.extensions && e.extensions.code === "UNAUTHENTICATED")) throw new NotLoggedIn();
    throw new Error(body.errors.map((e) => e.message).join("; "));
  }
  return body.data;
}

// Logging in and out

function showLogin(message = "") {
  stopLive();
  $("app").hidden = true; $("login").hidden = false; $("logout").hidden = true; $("who").textContent = "";
  $("login-error").textContent = message;
  $("email").focus();
}

function showApp() {
  $("login").hidden = true; $("app").hidden = false; $("logout").hidden = false;
  $("who").textContent = localStorage.getItem("footfall.user") || "";
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    const res = await fetch("api/auth/login/", {
      method: "POST", headers: {"Content-Type": "application/json"}, credentials: "same-origin",
      body: JSON.stringify({email: $("email").value.trim(), password: $("password").value}),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { $("login-error").textContent = body.error || body.detail || "Login failed"; return; }
    localStorage.setItem("footfall.user", (body.user && body.user.email) || "");
    $("password").value = "";
    load();
  } catch (e) {
    $("login-error").textContent = "The server cannot be reached";
  }
});

$("logout").addEventListener("click", async () => {
  try { await post("api/auth/logout/", {}); } catch (e) { /* already logged out */ }
  localStorage.removeItem("footfall.user");
  showLogin();
});

// Rendering

const cameras = new Map();  // camera id -> camera with its live occupancy

function renderStats(s) {
  const items = [
    ["People in facility", s.totalPersonsInFacility], ["Capacity used", s.capacityUtilization.toFixed(1) + "%"],
    ["Active cameras", `${s.activeCameras} / ${s.totalCameras}`], ["Active alerts", s.activeAlerts],
  ];
  $("stats").innerHTML = items.map(([k, v]) => `<div class="stat"><div class="v">${esc(v)}</div><div class="k">${esc(k)}</div></div>`).join("");
}

function renderCamera(c) {
  let el = document.getElementById("cam-" + c.id);
  if (!el) {
    el = document.createElement("div"); el.className = "cam"; el.id = "cam-" + c.id;
    el.innerHTML = `<a class="view" target="_blank" rel="noopener" title="annotated live view (MJPEG), when the vision service streams this camera">live view</a><div class="name"></div><div class="loc"></div><div class="occ"></div><div class="bar"><div></div></div><div class="meta"><span class="io"></span><span class="upd"></span></div>`;
    $("cams").appendChild(el);
    el.querySelector(".view").href = "cameras/" + encodeURIComponent(c.id) + "/stream";
  }
  const live = c.live || {currentOccupancy: 0, totalEntries: 0, totalExits: 0};
  el.querySelector(".name").textContent = c.cameraName;
  el.querySelector(".loc").textContent = [c.id, c.location].filter(Boolean).join(" - ");
  const occ = el.querySelector(".occ");
  if (occ.textContent !== String(live.currentOccupancy)) { occ.classList.add("flash"); setTimeout(() => occ.classList.remove("flash"), 600); }
  occ.textContent = live.currentOccupancy;
  const ratio = c.maxOccupancy ? live.currentOccupancy / c.maxOccupancy : 0;
  const bar = el.querySelector(".bar > div");
  bar.style.width = Math.min(100, ratio * 100) + "%";
  bar.style.background = ratio > 1 ? "var(--bad)" : ratio > 0.8 ? "var(--warn)" : "var(--ok)";
  el.querySelector(".io").textContent = `in ${live.totalEntries} - out ${live.totalExits}` + (c.maxOccupancy ? ` - cap ${c.maxOccupancy}` : "");
  el.querySelector(".upd").textContent = time(live.lastUpdated);
}

function renderAlerts(alerts) {
  $("alerts").innerHTML = alerts.length ? "" : `<div class="empty">No active alerts.</div>`;
  for (const a of alerts) addAlert(a, false);
}

function addAlert(a, prepend = true) {
  if (document.getElementById("alert-" + a.id)) return;
  const empty = $("alerts").querySelector(".empty"); if (empty) empty.remove();
  const type = a.alertType || "ALERT";
  const el = document.createElement("div");
  el.className = "alert " + type.toLowerCase(); el.id = "alert-" + a.id;
  const cam = cameras.get(a.cameraId);
  el.innerHTML = `<div class="msg"><b>${esc(type.replaceAll("_", " ").toLowerCase())}</b> - ${esc(a.message)}` +
    `<div class="when">${esc(cam ? cam.cameraName : "camera " + a.cameraId)} - ${esc(time(a.timestamp))}</div></div><button type="button">Resolve</button>`;
  el.querySelector("button").addEventListener("click", async () => {
    try {
      await gql(`mutation($id: ID!) { resolveAlert(id: $id) { alertId } }`, {id: a.id});
    } catch (e) {
      if (e instanceof NotLoggedIn) return showLogin();
      return console.warn(e);
    }
    el.remove(); if (!$("alerts").children.length) renderAlerts([]); refreshStats();
  });
  prepend ? $("alerts").prepend(el) : $("alerts").appendChild(el);
}

async function refreshStats() {
  try { renderStats((await gql(`{ facilityStats { totalCameras activeCameras totalPersonsInFacility capacityUtilization activeAlerts } }`)).facilityStats); }
  catch (e) { if (e instanceof NotLoggedIn) showLogin(); else console.warn(e); }
}
let statsTimer = null;
const refreshStatsSoon = () => { if (!statsTimer) statsTimer = setTimeout(() => { statsTimer = null; refreshStats(); }, 500); };

// graphql-transport-ws: one socket (the browser sends the session cookie), one subscription per camera.
let socket = null;
function stopLive() {
  const ws = socket; socket = null;
  if (ws) ws.close();
  setConn(false);
}
function connect() {
  stopLive();
  const url = new URL("graphql", location.href); url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = socket = new WebSocket(url, "graphql-transport-ws");
  ws.addEventListener("open", () => ws.send(JSON.stringify({type: "connection_init", payload: org() ? {org: org()} : {}})));
  ws.addEventListener("message", (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "connection_ack") {
      setConn(true);
      for (const id of cameras.keys()) ws.send(JSON.stringify({type: "subscribe", id: "cam-" + id, payload: {
        query: `subscription($id: ID!) { occupancy(cameraId: $id) { __typename
          ... on LiveOccupancy { cameraId currentOccupancy totalEntries totalExits lastUpdated }
          ... on Alert { id cameraId alertType message timestamp } } }`, variables: {id}}}));
    } else if (msg.type === "ping") {
      ws.send(JSON.stringify({type: "pong"}));
    } else if (msg.type === "next" && msg.payload.data) {
      const u = msg.payload.data.occupancy;
      const cam = cameras.get(u.cameraId);
      if (u.__typename === "LiveOccupancy" && cam) { cam.live = u; renderCamera(cam); refreshStatsSoon(); }
      if (u.__typename === "Alert") { addAlert(u); refreshStatsSoon(); }
    }
  });
  ws.addEventListener("close", (ev) => {
    if (ws !== socket) return;
    setConn(false);
    // 4401/4403: the session ended or was refused; load() shows the login form if so.
    setTimeout(() => { if (ws === socket) (ev.code === 4401 || ev.code === 4403 ? load() : connect()); }, 2000);
  });
}
function setConn(on) {
  $("conn").innerHTML = `<span class="dot ${on ? "on" : ""}"></span><span>${on ? "live" : "offline"}</span>`;
}

const nodes = (connection) => connection.edges.map((e) => e.node);

async function load() {
  localStorage.setItem("footfall.org", org());
  try {
    const data = await gql(`{
      cameras(first: 200) { totalCount edges { node { id cameraName location maxOccupancy
        live { currentOccupancy totalEntries totalExits lastUpdated } } } }
      alerts(first: 100) { edges { node { id cameraId alertType message timestamp } } }
    }`);
    showApp();
    cameras.clear(); $("cams").innerHTML = "";
    for (const c of nodes(data.cameras)) { cameras.set(c.id, c); renderCamera(c); }
    if (!data.cameras.totalCount) $("cams").innerHTML = `<div class="empty">No cameras yet.</div>`;
    renderAlerts(nodes(data.alerts));
    refreshStats();
    connect();
  } catch (e) {
    if (e instanceof NotLoggedIn) return showLogin();
    showApp();
    $("cams").innerHTML = `<div class="empty">${esc(e.message)}</div>`;
  }
}
orgInput.addEventListener("change", load);
load();
