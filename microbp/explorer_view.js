// The layer view: one node per unit (x, a_k, h_k, L), in index order top to bottom, weights as
// edges h_{k-1}[j] → a_k[i] whose width and colour show W_k[i,j] or ∇W_k[i,j], and the
// activation as an edge a_k[i] → h_k[i]; each a node shows g'(a_k[i]) too. Drawn by the page from the sizes.
"use strict";
const MicrobpLayerView = (function () {
  const SVG = "http://www.w3.org/2000/svg";
  const NODE = { width: 88, height: 66 };
  const ROW = 76;
  const TOP = 44;
  const GAP = { weights: 160, activation: 112, loss: 112 };
  const STEP_HEIGHT = 34;

  function svgEl(tag, attrs, ...children) {
    const element = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") element.textContent = value;
      else element.setAttribute(key, value);
    }
    element.append(...children);
    return element;
  }

  // The columns left to right: x (= h0), then a_k and h_k for each layer, then L.
  function columns(sizes) {
    const list = [{ q: "h", k: 0, n: sizes[0], x: NODE.width / 2 + 16 }];
    for (let k = 1; k < sizes.length; k++) {
      const last = list[list.length - 1].x;
      list.push({ q: "a", k, n: sizes[k], x: last + GAP.weights });
      list.push({ q: "h", k, n: sizes[k], x: last + GAP.weights + GAP.activation });
    }
    list.push({ q: "L", k: sizes.length - 1, n: 1, x: list[list.length - 1].x + GAP.loss });
    return list;
  }

  // `step`: the label of the output's step to the loss (a_L → ŷ → L), drawn under those
  // columns as one bracket that can be chosen (and expanded to its scalar nodes).
  function build(sizes, titles, step) {
    const cols = columns(sizes);
    const tallest = Math.max(...sizes);
    const width = cols[cols.length - 1].x + NODE.width / 2 + 16;
    const height = TOP + tallest * ROW + 8 + STEP_HEIGHT;
    const position = new Map(); // node key → [x, y]
    for (const col of cols) {
      const offset = TOP + ((tallest - col.n) * ROW) / 2 + ROW / 2;
      for (let i = 1; i <= col.n; i++) {
        position.set(col.q === "L" ? "L" : `${col.q}${col.k}-${i}`, [col.x, offset + (i - 1) * ROW]);
      }
    }
    const svg = svgEl("svg", {
      id: "layer-view", viewBox: `0 0 ${width} ${height}`, role: "group",
      "aria-label": "The network, one node per unit",
    });
    const edges = svgEl("g", { class: "edges" });
    const nodes = svgEl("g", { class: "nodes" });
    svg.append(edges, nodes);
    for (const col of cols) {
      svg.append(svgEl("text", { class: "column-title", x: col.x, y: 18, text: titles(col) }));
    }
    const edge = (id, from, to, className) => {
      const [x1, y1] = position.get(from);
      const [x2, y2] = position.get(to);
      const g = svgEl("g", { id, class: className });
      const d = `M${x1 + NODE.width / 2},${y1} L${x2 - NODE.width / 2},${y2}`;
      g.append(svgEl("path", { class: "hit", d }), svgEl("path", { class: "line", d }));
      edges.append(g);
      return g;
    };
    const edgeElements = new Map();
    for (let k = 1; k < sizes.length; k++) {
      for (let i = 1; i <= sizes[k]; i++) {
        for (let j = 1; j <= sizes[k - 1]; j++) {
          const g = edge(`lv-w${k}-${i}-${j}`, `h${k - 1}-${j}`, `a${k}-${i}`, "weight");
          g.dataset.k = k;
          g.dataset.i = i;
          g.dataset.j = j;
          g.append(svgEl("title"));
          edgeElements.set(`w${k}-${i}-${j}`, g);
        }
        edgeElements.set(`g${k}-${i}`, edge(`lv-g${k}-${i}`, `a${k}-${i}`, `h${k}-${i}`, "activation"));
      }
    }
    const n = sizes.length - 1;
    for (let i = 1; i <= sizes[n]; i++) edgeElements.set(`l-${i}`, edge(`lv-l-${i}`, `h${n}-${i}`, "L", "to-loss"));
    const nodeElements = new Map();
    for (const [key, [x, y]] of position) {
      const g = svgEl("g", { id: `lv-${key}`, class: "unit", tabindex: "0", role: "button" });
      g.append(
        svgEl("rect", { x: x - NODE.width / 2, y: y - NODE.height / 2, width: NODE.width, height: NODE.height, rx: 8 }),
        svgEl("text", { class: "name", x, y: y - 16 }),
        svgEl("text", { class: "value", x, y: y - 1 }),
        svgEl("text", { class: "grad", x, y: y + 14 }),
        svgEl("text", { class: "local", x, y: y + 28 })
      );
      nodeElements.set(key, g);
      nodes.append(g);
    }
    const [from, to] = [cols[cols.length - 3].x - NODE.width / 2, cols[cols.length - 1].x + NODE.width / 2];
    const y = height - STEP_HEIGHT + 4;
    const stepGroup = svgEl("g", { id: "lv-loss-step", class: "loss-step", tabindex: "0", role: "button" },
      svgEl("path", { d: `M${from},${y} v8 H${to} v-8`, class: "bracket" }),
      svgEl("text", { x: to, y: y + 24, "text-anchor": "end", text: step }));
    svg.append(stepGroup);
    return { svg, nodes: nodeElements, edges: edgeElements, step: stepGroup, size: [width, height] };
  }

  return { build };
})();
