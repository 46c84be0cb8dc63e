// Promotions and displays: the promotions valid now (or all), creating one, and what an in-store display
// shows, live (the `displayUpdates` subscription). The API has no list of displays, so the page lists the
// ones created or opened from this browser (remembered per organisation) and opens any other by its id.
import { canWrite, gql, nodes, session } from "../api.js";
import { dateTime, esc, label, render, toast } from "../ui.js";

const AUDIENCES = ["ALL", "BRONZE", "SILVER", "GOLD", "PLATINUM"];
const DISPLAY = `display { id name zone } mode customerId recommendedProducts personalUntil asOf
  promotions { id title discount validUntil }`;
const WEEK = 7 * 86400000;
const localInput = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
const displaysKey = () => `footfall.displays.${session.org || (session.me && session.me.org) || ""}`;

function rememberedDisplays() {
  try { return JSON.parse(localStorage.getItem(displaysKey()) || "[]"); } catch (e) { return []; }
}

function remember(id) {
  const ids = [String(id), ...rememberedDisplays().filter((x) => x !== String(id))].slice(0, 20);
  localStorage.setItem(displaysKey(), JSON.stringify(ids));
}

function forget(id) {
  localStorage.setItem(displaysKey(), JSON.stringify(rememberedDisplays().filter((x) => x !== String(id))));
}

export function mount(root, ctx) {
  const writer = canWrite();
  const refs = render(root, `<h2>Promotions</h2>
    <div class="row"><label><input type="checkbox" data-ref="expired"> include expired</label></div>
    <div class="card scroll" style="margin-top:8px" data-ref="list"><div class="empty">Loading...</div></div>
    <form class="card row" style="margin-top:8px" data-ref="create" ${writer ? "" : "hidden"}>
      <label>Title <input name="title" required maxlength="200"></label>
      <label>Discount <input name="discount" maxlength="50" placeholder="10%"></label>
      <label>Until <input name="until" type="datetime-local" required value="${localInput(new Date(Date.now() + WEEK))}"></label>
      <label>For <select name="audience">${AUDIENCES.map((a) => `<option value="${a}">${a === "ALL" ? "everyone" : label(a) + " members"}</option>`).join("")}</select></label>
      <label>Zone <input name="zone" maxlength="100" placeholder="every zone"></label>
      <label>Description <input name="description" maxlength="500"></label>
      <button class="primary" type="submit">Create promotion</button>
    </form>
    <h2>Displays</h2>
    <div class="row">
      <form class="row" data-ref="open"><label>Display id <input name="id" required maxlength="40" style="width:7em"></label><button type="submit">Show</button></form>
      <form class="row" data-ref="newDisplay" ${writer ? "" : "hidden"}><label>New display in zone <input name="zone" required maxlength="100"></label>
        <label>Name <input name="name" maxlength="100"></label><button type="submit">Add display</button></form>
    </div>
    <div class="grid" style="margin-top:8px" data-ref="displays"></div>`);
  const unsubscribe = new Map();

  async function load() {
    try {
      const rows = nodes((await gql(`query($x: Boolean!) { promotions(first: 100, includeExpired: $x) { edges { node {
        id title description discount validFrom validUntil audience zone } } } }`, { x: refs.expired.checked })).promotions);
      refs.list.innerHTML = rows.length ? `<table><tr><th>Promotion</th><th>Discount</th><th>For</th><th>Zone</th><th>Valid</th></tr>${rows.map((p) =>
        `<tr><td><b>${esc(p.title)}</b><div class="muted">${esc(p.description)}</div></td><td>${esc(p.discount || "-")}</td>
          <td>${esc(p.audience === "ALL" ? "everyone" : label(p.audience))}</td><td>${esc(p.zone || "every zone")}</td>
          <td>${esc(dateTime(p.validFrom))} – ${esc(dateTime(p.validUntil))}</td></tr>`).join("")}</table>`
        : `<div class="empty">No promotions${refs.expired.checked ? "" : " valid now"}.</div>`;
    } catch (e) { ctx.fail(e); }
  }

  function showDisplay(content) {
    const id = String(content.display.id);
    let card = refs.displays.querySelector(`[data-display="${CSS.escape(id)}"]`);
    if (!card) {
      card = document.createElement("div");
      card.className = "card";
      card.dataset.display = id;
      refs.displays.appendChild(card);
    }
    card.innerHTML = `<div class="head row"><b style="flex:1">${esc(content.display.name || "Display " + id)}</b><span class="pill">${esc(label(content.mode))}</span></div>
      <div class="muted">id ${esc(id)} · zone ${esc(content.display.zone)} · as of ${esc(dateTime(content.asOf))}</div>
      ${content.mode === "PERSONAL" ? `<p>Offer for customer ${esc(content.customerId)} until ${esc(dateTime(content.personalUntil))}: ${esc(content.recommendedProducts.join(", "))}</p>` : ""}
      ${content.promotions.length ? `<ul>${content.promotions.map((p) => `<li>${esc(p.title)}${p.discount ? ` (${esc(p.discount)})` : ""}</li>`).join("")}</ul>` : `<p class="muted">Nothing to show: no promotion valid in this zone.</p>`}`;
  }

  async function openDisplay(id, remembered = false) {
    try {
      const content = (await gql(`query($id: ID!) { display(id: $id) { ${DISPLAY} } }`, { id })).display;
      remember(id);
      showDisplay(content);
      if (!unsubscribe.has(String(id))) {
        unsubscribe.set(String(id), ctx.socket.subscribe(`subscription($id: ID!) { displayUpdates(displayId: $id) { ${DISPLAY} } }`, { id },
          (data) => showDisplay(data.displayUpdates)));
      }
    } catch (e) {
      if (remembered) forget(id); // removed since: not worth a message
      else ctx.fail(e);
    }
  }

  refs.expired.addEventListener("change", load);
  refs.create.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = refs.create.elements;
    try {
      await gql(`mutation($input: PromotionInput!) { createPromotion(input: $input) { id } }`, { input: {
        title: f.title.value.trim(), discount: f.discount.value.trim(), description: f.description.value.trim(),
        validUntil: new Date(f.until.value).toISOString(), audience: f.audience.value, zone: f.zone.value.trim() || null } });
      refs.create.reset();
      f.until.value = localInput(new Date(Date.now() + WEEK));
      toast("Promotion created");
      await load();
      for (const id of unsubscribe.keys()) openDisplay(id);
    } catch (e) { ctx.fail(e); }
  });
  refs.open.addEventListener("submit", (ev) => { ev.preventDefault(); openDisplay(refs.open.elements.id.value.trim()); });
  refs.newDisplay.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = refs.newDisplay.elements;
    try {
      const d = (await gql(`mutation($zone: String!, $name: String!) { createDisplay(zone: $zone, name: $name) { id } }`,
        { zone: f.zone.value.trim(), name: f.name.value.trim() })).createDisplay;
      refs.newDisplay.reset();
      await openDisplay(d.id);
    } catch (e) { ctx.fail(e); }
  });

  load();
  for (const id of rememberedDisplays()) openDisplay(id, true);
  return () => { for (const u of unsubscribe.values()) u(); };
}
