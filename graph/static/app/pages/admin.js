// Admin (org admins and platform admins): users and their roles, API keys (a new key is shown once), and
// the audit log. The routes check the role again; the shell only hides this page from analysts.
import { gql, nodes } from "../api.js";
import { dateTime, esc, label, render, toast } from "../ui.js";

export function mount(root, ctx) {
  const refs = render(root, `<h2>Users</h2>
    <div class="card scroll" data-ref="users"><div class="empty">Loading...</div></div>
    <form class="card row" style="margin-top:8px" data-ref="newUser">
      <label>Username <input name="username" required maxlength="64" autocomplete="off"></label>
      <label>Email <input name="email" type="email" maxlength="200" autocomplete="off"></label>
      <label>Password <input name="password" type="password" required minlength="8" autocomplete="new-password"></label>
      <label>Role <select name="role"><option value="ANALYST">analyst (read only)</option><option value="ORG_ADMIN">org admin</option></select></label>
      <button type="submit" class="primary">Add user</button>
    </form>
    <h2>API keys</h2>
    <div class="card scroll" data-ref="keys"></div>
    <form class="card row" style="margin-top:8px" data-ref="newKey">
      <label>Name <input name="name" required maxlength="100" placeholder="door-camera" autocomplete="off"></label>
      <label>Role <select name="role"><option value="DEVICE">device (cameras, edge boxes)</option><option value="ANALYST">analyst</option><option value="ORG_ADMIN">org admin</option></select></label>
      <button type="submit" class="primary">Create key</button>
    </form>
    <div data-ref="created"></div>
    <h2>Audit log</h2>
    <div class="card scroll" data-ref="log"></div>`);

  async function load() {
    try {
      const d = await gql(`{ users(first: 100) { edges { node { username email fullName isActive lastLogin memberships { org role } } } }
        apiKeys(first: 100) { edges { node { id name role prefix createdBy createdAt lastUsedAt } } }
        auditLog(first: 100) { edges { node { at actor action target outcome ip message } } } }`);
      const users = nodes(d.users);
      refs.users.innerHTML = `<table><tr><th>User</th><th>Role</th><th>Last login</th><th></th></tr>${users.map((u) =>
        `<tr><td><b>${esc(u.username)}</b><div class="muted">${esc(u.email)}</div></td><td>${esc(u.memberships.map((m) => label(m.role)).join(", "))}</td>
          <td>${esc(dateTime(u.lastLogin))}</td><td>${u.isActive ? `<button type="button" class="danger" data-disable="${esc(u.username)}">Disable</button>` : "disabled"}</td></tr>`).join("")}</table>`;
      const keys = nodes(d.apiKeys);
      refs.keys.innerHTML = keys.length ? `<table><tr><th>Name</th><th>Role</th><th>Key starts</th><th>Last used</th><th></th></tr>${keys.map((k) =>
        `<tr><td>${esc(k.name)}<div class="muted">by ${esc(k.createdBy)}, ${esc(dateTime(k.createdAt))}</div></td><td>${esc(label(k.role))}</td>
          <td><code>${esc(k.prefix)}</code></td><td>${esc(dateTime(k.lastUsedAt))}</td>
          <td><button type="button" class="danger" data-revoke="${esc(k.id)}">Revoke</button></td></tr>`).join("")}</table>` : `<div class="empty">No API keys.</div>`;
      refs.log.innerHTML = `<table><tr><th>When</th><th>Who</th><th>What</th><th>Outcome</th><th>From</th></tr>${nodes(d.auditLog).map((e) =>
        `<tr><td>${esc(dateTime(e.at))}</td><td>${esc(e.actor)}</td><td>${esc(e.message || e.action)}${e.target ? ` <span class="muted">${esc(e.target)}</span>` : ""}</td>
          <td>${esc(label(e.outcome))}</td><td>${esc(e.ip || "")}</td></tr>`).join("")}</table>`;
    } catch (e) { ctx.fail(e); }
  }

  refs.users.addEventListener("click", async (ev) => {
    const name = ev.target.dataset.disable;
    if (!name || !confirm(`Disable ${name}? They can no longer log in.`)) return;
    try { await gql(`mutation($u: String!) { disableUser(username: $u) { username } }`, { u: name }); load(); } catch (e) { ctx.fail(e); }
  });
  refs.keys.addEventListener("click", async (ev) => {
    const id = ev.target.dataset.revoke;
    if (!id || !confirm("Revoke this key? Devices using it stop working.")) return;
    try { await gql(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id }); load(); } catch (e) { ctx.fail(e); }
  });
  refs.newUser.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = refs.newUser.elements;
    try {
      await gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { username } }`,
        { input: { username: f.username.value.trim(), email: f.email.value.trim(), password: f.password.value, role: f.role.value } });
      refs.newUser.reset();
      toast("User added");
      load();
    } catch (e) { ctx.fail(e); }
  });
  refs.newKey.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = refs.newKey.elements;
    try {
      const k = (await gql(`mutation($role: AccountRole!, $name: String!) { createApiKey(role: $role, name: $name) { key apiKey { name } } }`,
        { role: f.role.value, name: f.name.value.trim() })).createApiKey;
      refs.created.innerHTML = `<div class="card" style="margin-top:8px"><b>Key for ${esc(k.apiKey.name)}</b> (copy it now: it is shown only once)
        <div class="keyonce" data-ref="key">${esc(k.key)}</div></div>`;
      refs.newKey.reset();
      load();
    } catch (e) { ctx.fail(e); }
  });
  load();
}
