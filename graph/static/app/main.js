// The shell: login/logout, who is logged in and their role, the org switcher (platform admins), the live
// socket shared by the pages, and a tiny hash router (#/page/arg) that mounts one page module at a time.
// A page module exports `mount(root, ctx, arg)` and may return a function that unmounts it.
import { ApiError, Live, NotLoggedIn, gql, login, logout, nodes, session, setOrg, whoami, isAdmin } from "./api.js";
import { esc, toast } from "./ui.js";
import * as live from "./pages/live.js";
import * as setup from "./pages/setup.js";
import * as history from "./pages/history.js";
import * as journeys from "./pages/journeys.js";
import * as people from "./pages/people.js";
import * as promotions from "./pages/promotions.js";
import * as admin from "./pages/admin.js";

const PAGES = { live, setup, history, journeys, people, promotions, admin };
const ADMIN_ONLY = new Set(["admin"]);
const $ = (id) => document.getElementById(id);
const view = $("view");

const socket = new Live(setConn, () => showLogin("Your session ended; log in again."));
let unmount = null;

function setConn(on) {
  $("conn").innerHTML = `<span class="dot ${on ? "on" : ""}"></span><span>${on ? "live" : "offline"}</span>`;
}

function showLogin(message = "") {
  if (unmount) { unmount(); unmount = null; }
  socket.stop();
  view.hidden = true; $("nav").hidden = true; $("login").hidden = false; $("logout").hidden = true;
  $("org").hidden = true; $("who").textContent = "";
  $("login-error").textContent = message;
  $("email").focus();
}

/** Errors of a page: a lost session shows the login, anything else a message. */
function fail(err) {
  if (err instanceof NotLoggedIn) return showLogin();
  if (!(err instanceof ApiError)) console.error(err); // a bug of the page, not a refusal: the tests look for these
  toast(err.message || String(err));
}

const ctx = { socket, fail, go: (hash) => { location.hash = hash; } };

function route() {
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "live").split("/");
  const page = PAGES[name] && !(ADMIN_ONLY.has(name) && !isAdmin()) ? name : "live";
  if (page !== name) { location.replace("#/" + page); return; }
  for (const a of $("nav").querySelectorAll("a")) a.classList.toggle("active", a.dataset.page === page);
  if (unmount) unmount();
  view.innerHTML = "";
  try {
    unmount = PAGES[page].mount(view, ctx, rest.map(decodeURIComponent).join("/")) || null;
  } catch (e) {
    unmount = null;
    fail(e);
  }
}

// The csrf cookie lives exactly as long as the session cookie (which scripts cannot see): without it
// there is no session, and the login shows without a request that would fail.
const hasSession = () => document.cookie.split("; ").some((c) => c.startsWith("footfall_csrf="));

async function start() {
  let me;
  if (!hasSession()) return showLogin();
  try {
    me = await whoami();
  } catch (e) {
    if (e instanceof NotLoggedIn) return showLogin();
    if (session.org) { setOrg(""); return start(); } // an org that is no longer ours: back to our own
    return showLogin(e.message);
  }
  $("login").hidden = true;
  $("who").innerHTML = `${esc(me.display_name)} <span class="pill" id="role">${esc(me.role.replace("_", " "))}</span>`;
  for (const a of $("nav").querySelectorAll("[data-role=admin]")) a.hidden = !isAdmin();
  await orgSwitcher(me);
  socket.restart();
  // The navigation shows only now, in the same step as the first route: shown before the organisation list had
  // arrived, a click on it mounted a page that this route() then mounted again, wiping what had been typed.
  view.hidden = false; $("nav").hidden = false; $("logout").hidden = false;
  route();
}

async function orgSwitcher(me) {
  const select = $("org");
  if (me.role !== "platform_admin") { select.hidden = true; return; }
  try {
    const orgs = nodes((await gql(`{ organisations(first: 100) { edges { node { id name } } } }`)).organisations);
    select.innerHTML = orgs.map((o) => `<option value="${esc(o.id)}">${esc(o.name || o.id)}</option>`).join("");
    select.value = me.org;
    select.hidden = orgs.length < 2;
  } catch (e) { fail(e); }
}

$("org").addEventListener("change", () => { setOrg($("org").value); start(); });

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    await login($("email").value.trim(), $("password").value);
    $("password").value = "";
    await start();
  } catch (e) {
    $("login-error").textContent = e.message === "Failed to fetch" ? "The server cannot be reached" : e.message;
  }
});

$("logout").addEventListener("click", async () => {
  // The page's polls and the socket stop first: a poll sent while the session ends would be answered 401.
  showLogin();
  await logout();
});

window.addEventListener("hashchange", () => { if (session.me) route(); });
start();
