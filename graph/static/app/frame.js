// A camera's picture with an SVG overlay in frame pixels: counting lines with their `in` arrow and counts,
// zones, a journey's path, and clicks turned into frame coordinates (for drawing lines and zones).
//
// The picture is the gateway's `/cameras/{id}/snapshot` (the latest annotated frame), fetched with the
// session and org headers and refreshed while the page shows it. It is asked for only while the camera's
// stream has frames, so a camera without one shows a hint instead of a failed request.
import { request } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";

/** The unit vector pointing to where `in` crossings go: walking start->end on the image (y down), a
 * crossing from the right-hand side to the left-hand side is `in` (the README's convention). */
export function inNormal(x1, y1, x2, y2) {
  const dx = x2 - x1, dy = y2 - y1;
  const len = Math.hypot(dx, dy) || 1;
  return [dy / len, -dx / len];
}

function node(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

export class CameraFrame {
  /**
   * root: an element to fill. options: cameraId, refreshMs (0: one picture), size [w, h] until the picture
   * says otherwise, onClick(x, y) in frame pixels, hint (text while there is no picture).
   */
  constructor(root, { cameraId, refreshMs = 2000, size = [640, 480], onClick = null, hint = "No picture yet" } = {}) {
    this.cameraId = cameraId;
    this.refreshMs = refreshMs;
    this.size = size;
    this.overlay = {};
    this.onClick = onClick;
    this.root = root;
    root.classList.add("frame");
    root.innerHTML = "";
    this.img = document.createElement("img");
    this.img.alt = `picture of camera ${cameraId}`;
    this.img.hidden = true;
    this.hint = document.createElement("div");
    this.hint.className = "nopic";
    this.hint.textContent = hint;
    this.svg = node("svg", { preserveAspectRatio: "none" });
    root.append(this.img, this.hint, this.svg);
    this.timer = null;
    this.live = false;
    this.url = null;
    this._fit();
    if (onClick) {
      root.classList.add("drawing");
      this.svg.addEventListener("click", (ev) => {
        const r = this.svg.getBoundingClientRect();
        const x = ((ev.clientX - r.left) / r.width) * this.size[0];
        const y = ((ev.clientY - r.top) / r.height) * this.size[1];
        this.onClick(Math.round(x), Math.round(y));
      });
    }
  }

  /** The frame's size in pixels (the overlay's coordinates). */
  setSize(w, h) {
    if (!(w > 0 && h > 0) || (w === this.size[0] && h === this.size[1])) return;
    this.size = [w, h];
    this._fit();
    this.draw();
  }

  _fit() {
    const [w, h] = this.size;
    this.svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    this.root.style.aspectRatio = `${w} / ${h}`;
  }

  /** Show pictures (true) or the hint (false: the camera has no frames to show). */
  setLive(live, hint) {
    if (hint) this.hint.textContent = hint;
    if (live === this.live) return;
    this.live = live;
    if (live) this._tick();
    else {
      clearTimeout(this.timer);
      this.img.hidden = true;
      this.hint.hidden = false;
    }
  }

  async _tick() {
    clearTimeout(this.timer);
    if (!this.live || !this.root.isConnected) return;
    try {
      const res = await request(`cameras/${encodeURIComponent(this.cameraId)}/snapshot?quality=60`);
      if (res.ok) {
        const w = Number(res.headers.get("X-Frame-Width")), h = Number(res.headers.get("X-Frame-Height"));
        this.setSize(w, h);
        const url = URL.createObjectURL(await res.blob());
        this.img.onload = () => { if (this.url) URL.revokeObjectURL(this.url); this.url = url; };
        this.img.src = url;
        this.img.hidden = false;
        this.hint.hidden = true;
      }
    } catch (e) { /* the next tick tries again */ }
    if (this.refreshMs > 0 && this.live && this.root.isConnected) this.timer = setTimeout(() => this._tick(), this.refreshMs);
  }

  stop() {
    this.live = false;
    clearTimeout(this.timer);
  }

  /** overlay: {lines: [{name, x1, y1, x2, y2, inCount, outCount, color}], zones: [{name, points}],
   *  path: [{x, y}], points: [[x, y]] (a drawing in progress)} in frame pixels. */
  setOverlay(overlay) {
    this.overlay = overlay;
    this.draw();
  }

  draw() {
    const svg = this.svg;
    svg.replaceChildren();
    const unit = Math.max(this.size[0], this.size[1]) / 100; // stroke and text scale with the frame
    const { lines = [], zones = [], path = [], points = [] } = this.overlay;
    for (const z of zones) {
      const pts = z.points.map((p) => `${p.x},${p.y}`).join(" ");
      svg.append(node("polygon", { points: pts, fill: "rgba(49,87,213,.15)", stroke: "#3157d5", "stroke-width": unit * 0.4 }));
      if (z.points.length) svg.append(node("text", { x: z.points[0].x + unit, y: z.points[0].y + unit * 3, fill: "#fff", "font-size": unit * 2.6, "paint-order": "stroke", stroke: "#000", "stroke-width": unit * 0.5 }, z.name));
    }
    if (path.length) {
      svg.append(node("polyline", { points: path.map((p) => `${p.x},${p.y}`).join(" "), fill: "none", stroke: "#ffcc00", "stroke-width": unit * 0.6, "stroke-linejoin": "round", class: "path" }));
      svg.append(node("circle", { cx: path[0].x, cy: path[0].y, r: unit, fill: "#1f9d6a" }));
      const last = path[path.length - 1];
      svg.append(node("circle", { cx: last.x, cy: last.y, r: unit, fill: "#d23f3f" }));
    }
    for (const l of lines) this._line(l, unit);
    if (points.length) {
      if (points.length > 1) svg.append(node("polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none", stroke: "#ffcc00", "stroke-width": unit * 0.5, "stroke-dasharray": unit }));
      for (const [x, y] of points) svg.append(node("circle", { cx: x, cy: y, r: unit * 0.9, fill: "#ffcc00", stroke: "#000", "stroke-width": unit * 0.2 }));
    }
  }

  _line(l, unit) {
    const color = l.color || "#ffcc00";
    const g = node("g", { class: "line", "data-line": l.name });
    g.append(node("line", { x1: l.x1, y1: l.y1, x2: l.x2, y2: l.y2, stroke: color, "stroke-width": unit * 0.7, "stroke-linecap": "round" }));
    const [nx, ny] = inNormal(l.x1, l.y1, l.x2, l.y2);
    const mx = (l.x1 + l.x2) / 2, my = (l.y1 + l.y2) / 2;
    const len = unit * 8;
    const tx = mx + nx * len, ty = my + ny * len;
    // the arrow: shaft from the line's middle towards the `in` side, and a head
    g.append(node("line", { x1: mx, y1: my, x2: tx, y2: ty, stroke: "#000", "stroke-width": unit * 1.3 }));
    g.append(node("line", { x1: mx, y1: my, x2: tx, y2: ty, stroke: "#3ddc84", "stroke-width": unit * 0.7, class: "in-arrow" }));
    const hx = -ny, hy = nx; // along the line
    const head = [[tx + nx * unit * 2, ty + ny * unit * 2], [tx + hx * unit * 1.6, ty + hy * unit * 1.6], [tx - hx * unit * 1.6, ty - hy * unit * 1.6]];
    g.append(node("polygon", { points: head.map((p) => p.join(",")).join(" "), fill: "#3ddc84", stroke: "#000", "stroke-width": unit * 0.3 }));
    const text = l.inCount === undefined ? `${l.name}: in` : `${l.name}: in ${l.inCount} / out ${l.outCount}`;
    g.append(node("text", { x: tx + nx * unit * 3, y: ty + ny * unit * 3 + unit * 5, fill: "#fff", "font-size": unit * 2.8, "font-weight": 700, "text-anchor": "middle", "paint-order": "stroke", stroke: "#000", "stroke-width": unit * 0.6, class: "counts" }, text));
    for (const [x, y] of [[l.x1, l.y1], [l.x2, l.y2]]) g.append(node("circle", { cx: x, cy: y, r: unit * 0.8, fill: color }));
    this.svg.append(g);
  }
}
