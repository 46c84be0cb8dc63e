// Small DOM helpers shared by the pages.

export const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

/** Set `root`'s markup and return a lookup of its elements by `data-ref`. */
export function render(root, markup) {
  root.innerHTML = markup;
  const refs = {};
  for (const el of root.querySelectorAll("[data-ref]")) refs[el.dataset.ref] = el;
  return refs;
}

export const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "-");
export const dateTime = (iso) => (iso ? new Date(iso).toLocaleString() : "-");
export const seconds = (s) => (s == null ? "-" : s < 90 ? `${Math.round(s)} s` : `${(s / 60).toFixed(1)} min`);
export const label = (enumValue) => String(enumValue || "").replaceAll("_", " ").toLowerCase();

let toastTimer = null;
export function toast(message) {
  let el = document.querySelector(".toast");
  if (!el) {
    el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    document.body.appendChild(el);
  }
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

/** The browser's IANA time zone: the org has none of its own yet, so history uses the viewer's. */
export const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** CSV text from rows of plain values (quotes where needed). */
export function csv(header, rows) {
  const cell = (v) => {
    const s = String(v ?? "");
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\n") + "\n";
}
