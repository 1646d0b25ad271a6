// Small inline SVG charts of the pages (/audit, /floor), drawn with DOM calls only (no markup
// from strings): every label goes in as a text node, so a ticket or an outcome a peer chose
// cannot become markup. The floor (floor.js) draws its charts with these too.
const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with attributes (and text), made with DOM calls only. */
export function svg(tag, attributes = {}, text = undefined) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A bar chart into `target` (an <svg> with a viewBox of width × height): one slot per group
 * {key, label, title, value, segments: [{value, className}]}, its segments drawn from the base
 * line over each other (the largest first), a label under it and a value over it; bars are at
 * most `maxBarWidth` wide. The <svg> gets `data-bars` (the number of groups) and an
 * aria-label listing the groups' titles.
 */
export function bars(target, groups, { width, height, empty, maxBarWidth = 40 }) {
  const top = 14;
  const bottom = 18;
  const side = 4;
  const plot = height - top - bottom;
  const base = top + plot;
  const max = Math.max(1, ...groups.flatMap((group) => group.segments.map((segment) => segment.value)));
  const slot = (width - 2 * side) / Math.max(1, groups.length);
  // A lone bar stays a bar, not a block.
  const barWidth = Math.min(maxBarWidth, Math.max(2, slot * 0.7));
  const nodes = [svg("line", { x1: side, x2: width - side, y1: base, y2: base, class: "axis" })];
  if (groups.length === 0) nodes.push(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, empty));
  groups.forEach((group, index) => {
    const x = side + index * slot + (slot - barWidth) / 2;
    const g = svg("g", { class: "bar", "data-index": index });
    if (group.key !== undefined) g.dataset.key = group.key;
    g.append(svg("title", {}, group.title));
    for (const segment of group.segments) {
      const h = (segment.value / max) * plot;
      g.append(svg("rect", { x: x.toFixed(1), y: (base - h).toFixed(1), width: barWidth.toFixed(1), height: h.toFixed(1), class: segment.className, "data-value": segment.value }));
    }
    const tallest = Math.max(0, ...group.segments.map((segment) => segment.value));
    if (group.value !== undefined) g.append(svg("text", { x: (x + barWidth / 2).toFixed(1), y: (base - (tallest / max) * plot - 3).toFixed(1), "text-anchor": "middle", class: "value" }, group.value));
    if (group.label) g.append(svg("text", { x: (x + barWidth / 2).toFixed(1), y: height - 5, "text-anchor": "middle", class: "tick" }, group.label));
    nodes.push(g);
  });
  target.replaceChildren(...nodes);
  target.dataset.bars = String(groups.length);
  target.setAttribute("aria-label", groups.length ? groups.map((group) => group.title).join("; ") : empty);
}

/**
 * A ring showing `share` (0–1, or null when nothing counts) of a whole, with the percentage in
 * the middle and `caption` under it, into `target` (an <svg> with a viewBox of size × size).
 * The <svg> gets `data-value` (the share, empty for none).
 */
export function ring(target, share, { size, caption, empty, className = "share" }) {
  const center = size / 2;
  const radius = size / 2 - 16;
  const circumference = 2 * Math.PI * radius;
  const known = typeof share === "number" && Number.isFinite(share);
  const value = known ? Math.min(1, Math.max(0, share)) : 0;
  const nodes = [svg("circle", { cx: center, cy: center - 6, r: radius.toFixed(1), class: "ring-track" })];
  if (known && value > 0) {
    // Drawn from twelve o'clock, clockwise: a dash as long as the share of the circle.
    nodes.push(svg("circle", {
      cx: center, cy: center - 6, r: radius.toFixed(1), class: `ring-value ${className}`,
      "stroke-dasharray": `${(value * circumference).toFixed(2)} ${circumference.toFixed(2)}`,
      transform: `rotate(-90 ${center} ${center - 6})`,
    }));
  }
  nodes.push(svg("text", { x: center, y: center - 2, "text-anchor": "middle", class: "ring-figure" }, known ? `${Math.round(value * 100)} %` : "–"));
  nodes.push(svg("text", { x: center, y: size - 4, "text-anchor": "middle", class: "tick" }, known ? caption : empty));
  target.replaceChildren(...nodes);
  target.dataset.value = known ? String(value) : "";
  target.setAttribute("aria-label", known ? `${Math.round(value * 100)} % ${caption}` : empty);
}
