// A small SVG chart: grouped bars (entries, exits) and lines (average and peak occupancy) over periods.
// Each bar and point carries a <title>, so hovering shows its value; the numbers are also in the table
// the history page prints under it.

const SVG = "http://www.w3.org/2000/svg";

function node(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

/** series: {labels: [..], bars: [{name, color, values}], lines: [{name, color, values}]} */
export function chart(root, { labels, bars = [], lines = [] }) {
  const W = 760, H = 280, L = 40, R = 10, T = 10, B = 46;
  const max = niceMax(Math.max(0, ...bars.flatMap((s) => s.values), ...lines.flatMap((s) => s.values)));
  const svg = node("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "chart" });
  const plotW = W - L - R, plotH = H - T - B;
  const y = (v) => T + plotH - (v / max) * plotH;
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    svg.append(node("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e3e6ec" }));
    svg.append(node("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#6b7385" }, Number.isInteger(v) ? v : v.toFixed(1)));
  }
  const n = Math.max(1, labels.length);
  const slot = plotW / n;
  const barW = Math.max(1, Math.min(36, (slot * 0.8) / Math.max(1, bars.length)));
  const group = barW * bars.length;
  bars.forEach((s, si) => s.values.forEach((v, i) => {
    const x = L + i * slot + (slot - group) / 2 + si * barW;
    const rect = node("rect", { x, y: y(v), width: barW, height: Math.max(0, T + plotH - y(v)), fill: s.color, class: "bar-" + si });
    rect.append(node("title", {}, `${labels[i]}: ${s.name} ${v}`));
    svg.append(rect);
  }));
  for (const s of lines) {
    const pts = s.values.map((v, i) => [L + i * slot + slot / 2, y(v)]);
    svg.append(node("polyline", { points: pts.map((p) => p.join(",")).join(" "), fill: "none", stroke: s.color, "stroke-width": 2 }));
    pts.forEach(([px, py], i) => {
      const c = node("circle", { cx: px, cy: py, r: 3, fill: s.color });
      c.append(node("title", {}, `${labels[i]}: ${s.name} ${s.values[i]}`));
      svg.append(c);
    });
  }
  const every = Math.ceil(n / 12); // at most a dozen labels
  labels.forEach((lab, i) => {
    if (i % every) return;
    svg.append(node("text", { x: L + i * slot + slot / 2, y: H - B + 16, "text-anchor": "middle", "font-size": 11, fill: "#6b7385" }, lab));
  });
  const legend = document.createElement("div");
  legend.className = "legend";
  legend.innerHTML = [...bars, ...lines].map((s) => `<span><i style="background:${s.color}"></i>${s.name}</span>`).join("");
  root.replaceChildren(svg, legend);
}
