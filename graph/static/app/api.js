// Talking to the gateway: GraphQL over HTTP, subscriptions over graphql-transport-ws, a few REST routes.
// Authenticated by the session cookie of `POST /api/auth/login/` (HttpOnly); unsafe requests echo the
// `footfall_csrf` cookie in X-CSRF-Token. A platform admin's chosen organisation goes in X-Footfall-Org
// (and in the socket's connection_init payload). Any 401 raises NotLoggedIn; the shell shows the login.

export class NotLoggedIn extends Error {}
/** What the server refused, with its message for the user (not a bug of the page). */
export class ApiError extends Error {}

const ORG_KEY = "footfall.org";
export const session = { org: localStorage.getItem(ORG_KEY) || "", me: null };

export function setOrg(org) {
  session.org = org || "";
  localStorage.setItem(ORG_KEY, session.org);
}

function csrf() {
  const c = document.cookie.split("; ").find((x) => x.startsWith("footfall_csrf="));
  return c ? decodeURIComponent(c.slice(14)) : "";
}

function headers(extra = {}) {
  const h = { ...extra };
  if (csrf()) h["X-CSRF-Token"] = csrf();
  if (session.org) h["X-Footfall-Org"] = session.org;
  return h;
}

export async function request(url, { method = "GET", body } = {}) {
  const init = { method, credentials: "same-origin", headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(url, init);
  if (res.status === 401) throw new NotLoggedIn();
  return res;
}

export async function getJSON(url) {
  const res = await request(url);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(body.detail || body.error || res.statusText);
  return body;
}

/** A GraphQL query or mutation; errors are thrown with the server's message (never an exception's text). */
export async function gql(query, variables = {}) {
  const res = await request("graphql", { method: "POST", body: { query, variables } });
  const body = await res.json().catch(() => ({}));
  if (body.errors && body.errors.length) {
    if (body.errors.some((e) => e.extensions && e.extensions.code === "UNAUTHENTICATED")) throw new NotLoggedIn();
    throw new ApiError(body.errors.map((e) => e.message).join("; "));
  }
  if (!res.ok) throw new ApiError(body.detail || body.error || res.statusText);
  return body.data;
}

export const nodes = (connection) => connection.edges.map((e) => e.node);

export async function login(user, password) {
  const res = await fetch("api/auth/login/", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: user, password }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(body.error || body.detail || "Login failed");
}

export async function logout() {
  try { await request("api/auth/logout/", { method: "POST", body: {} }); } catch (e) { /* already out */ }
  session.me = null;
}

/** Who is logged in: {username, display_name, org, home_org, role}. */
export async function whoami() {
  session.me = await getJSON("api/dashboard/me");
  return session.me;
}

export const canWrite = () => session.me && ["platform_admin", "org_admin"].includes(session.me.role);
export const isAdmin = canWrite;

/** Download a response body as a file (so exports carry the org header and the cookie). */
export async function download(url, filename) {
  const res = await request(url);
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new ApiError(body.detail || body.error || res.statusText);
  }
  saveBlob(await res.blob(), filename);
}

export function saveBlob(blob, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

/**
 * One graphql-transport-ws socket shared by every page; pages subscribe and get an unsubscribe function.
 * It reconnects (and re-subscribes) after a drop; a 4401/4403 close means the session ended.
 */
export class Live {
  constructor(onState, onLoggedOut) {
    this.subs = new Map();
    this.nextId = 1;
    this.ws = null;
    this.ready = false;
    this.onState = onState;
    this.onLoggedOut = onLoggedOut;
    this.closed = true;
  }

  start() {
    this.closed = false;
    this._open();
  }

  stop() {
    this.closed = true;
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) ws.close();
    this.onState(false);
  }

  restart() {
    this.stop();
    this.start();
  }

  subscribe(query, variables, onNext) {
    const id = String(this.nextId++);
    this.subs.set(id, { query, variables, onNext });
    if (this.ready) this._send(id);
    return () => {
      this.subs.delete(id);
      if (this.ready && this.ws) this.ws.send(JSON.stringify({ type: "complete", id }));
    };
  }

  _send(id) {
    const s = this.subs.get(id);
    this.ws.send(JSON.stringify({ type: "subscribe", id, payload: { query: s.query, variables: s.variables } }));
  }

  _open() {
    const url = new URL("graphql", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = (this.ws = new WebSocket(url, "graphql-transport-ws"));
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: session.org ? { org: session.org } : {} })));
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "connection_ack") {
        this.ready = true;
        this.onState(true);
        for (const id of this.subs.keys()) this._send(id);
      } else if (msg.type === "ping") {
        ws.send(JSON.stringify({ type: "pong" }));
      } else if (msg.type === "next" && msg.payload && msg.payload.data) {
        const s = this.subs.get(msg.id);
        if (s) s.onNext(msg.payload.data);
      } else if (msg.type === "error") {
        console.warn("subscription refused", msg.payload);
      }
    });
    ws.addEventListener("close", (ev) => {
      if (ws !== this.ws) return;
      this.ready = false;
      this.onState(false);
      if (ev.code === 4401 || ev.code === 4403) return this.onLoggedOut();
      setTimeout(() => { if (ws === this.ws && !this.closed) this._open(); }, 2000);
    });
  }
}
