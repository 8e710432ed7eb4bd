// The page's script, part 3 of 5 (see explorer_state.js): the scalar graph, drawn twice by
// dot (parameters folded, the default; and with the W and b nodes), its numbers the engine's
// until an edit, then the page's own pass over it (MicrobpChain), written into the drawing
// that is shown, in the drawing's own format.

const scalar = (function () {
  const nodes = new Map(data.nodes.map((node) => [node.id, node]));
  const outward = new Map(data.nodes.map((node) => [node.id, []]));
  const inward = new Map(data.nodes.map((node) => [node.id, []]));
  for (const edge of data.edges) {
    outward.get(edge.parent).push(edge);
    inward.get(edge.child).push(edge);
  }
  // Leaves whose number the network holds: x, W, b, and a squared error's targets y.
  const leaves = new Map();
  data.layers[0].h_prev.forEach((id, j) => leaves.set(id, () => net.x[j]));
  data.layers.forEach((layer, k) => {
    layer.W.forEach((row, i) => row.forEach((id, j) => leaves.set(id, () => net.W[k][i][j])));
    layer.b.forEach((id, i) => leaves.set(id, () => net.b[k][i]));
  });
  data.targets.forEach((id, i) => leaves.set(id, () => net.target[i]));
  const views = {};
  for (const name of ["folded", "full"]) {
    const svg = document.getElementById("scalar-" + name);
    const elements = new Map();
    const texts = new Map(); // node id → [data text, grad text]; edge id → its label
    const prefix = svg.id.length + 1;
    const layers = new Map(); // k → the box of layer k
    for (const g of svg.querySelectorAll("g.cluster")) {
      const found = /^layer (\d+)$/.exec(g.textContent.trim());
      if (found) layers.set(Number(found[1]), g);
    }
    for (const g of svg.querySelectorAll("g.node, g.edge")) {
      const id = g.id.slice(prefix);
      elements.set(id, g);
      const all = [...g.querySelectorAll("text")];
      if (g.classList.contains("node")) {
        const grad = all.findLast((t) => t.textContent.startsWith("grad "));
        texts.set(id, [all.findLast((t) => t.textContent.startsWith("data ")), grad]);
        grad.classList.add("grad");
        grad.dataset.full = grad.textContent;
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "button");
      } else if (all.length) {
        texts.set(id, all[all.length - 1]);
      }
    }
    const size = ["width", "height"].map((side) => parseFloat(svg.getAttribute(side)) * (4 / 3));
    views[name] = { name, svg, elements, texts, layers, size, shown: 0 };
  }
  const graph = { nodes: data.nodes, inward, root: data.order[0] };
  const engine = {
    data: new Map(data.nodes.map((node) => [node.id, node.data])),
    grad: new Map(data.nodes.map((node) => [node.id, node.grad])),
    local: new Map(data.edges.map((edge) => [edge.id, edge.local])),
  };
  const edgeOf = new Map(data.edges.map((edge) => [edge.id, edge]));
  return { nodes, outward, inward, edgeOf, leaves, views, graph, engine, now: engine, version: 0, failed: null };
})();

const scalarView = () => scalar.views[$("show-parameters").checked ? "full" : "folded"];
// A node's or an edge's element in the drawing shown (undefined: not drawn there).
const scalarElement = (id) => scalarView().elements.get(id);
const sData = (id) => scalar.now.data.get(id);
const sGrad = (id) => scalar.now.grad.get(id);
const sLocal = (edge) => scalar.now.local.get(edge.id);
const sTerm = (edge) => sLocal(edge) * sGrad(edge.child);

// The scalar graph for the ℓ it was drawn with (its loss reads ŷ_ℓ alone).
const drawnLabel = data.network.target;
const labelMoved = () => net.loss === "cross_entropy" && net.target !== drawnLabel;

// The pass over the scalar graph again, from the network's numbers now.
function recomputeScalar() {
  scalar.version += 1;
  scalar.failed = null;
  if (!edited) {
    scalar.now = scalar.engine;
    return;
  }
  try {
    scalar.now = MicrobpChain.run(scalar.graph, (id) => (scalar.leaves.has(id) ? scalar.leaves.get(id)() : undefined));
  } catch (error) {
    if (!(error instanceof Model.PassError)) throw error;
    scalar.failed = error.message;
  }
}

// x to `digits` significant digits as Python's format "g" writes it (as dot's labels do).
function pythonG(x, digits = 4) {
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const exponent = Number(x.toExponential(digits - 1).split("e")[1]);
  const strip = (s) => (s.includes(".") ? s.replace(/\.?0+$/, "") : s);
  if (exponent < -4 || exponent >= digits) {
    const [mantissa] = x.toExponential(digits - 1).split("e");
    return `${strip(mantissa)}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return strip(x.toFixed(digits - 1 - exponent));
}

// The shown drawing's numbers, written only when the pass changed since it was last shown.
function showScalarNumbers() {
  const view = scalarView();
  if (view.shown === scalar.version || scalar.failed) return;
  view.shown = scalar.version;
  for (const [id, found] of view.texts) {
    if (Array.isArray(found)) {
      setText(found[0], "data " + pythonG(sData(id)));
      found[1].dataset.full = "grad " + pythonG(sGrad(id));
    } else {
      const edge = scalar.edgeOf.get(id);
      const named = found.textContent.lastIndexOf(" = ");
      setText(found, (edge.factor && named >= 0 ? found.textContent.slice(0, named + 3) : "") + pythonG(sLocal(edge)));
    }
  }
}

function scalarLabel(id) {
  const node = scalar.nodes.get(id);
  return node.name || (node.op ? "(" + node.op + ")" : "constant");
}

function pathsToRoot(id) {
  const found = new Set([id]);
  const stack = [id];
  while (stack.length) {
    for (const edge of scalar.outward.get(stack.pop())) {
      if (!found.has(edge.child)) {
        found.add(edge.child);
        stack.push(edge.child);
      }
    }
  }
  return { nodes: [...found], edges: [...found].flatMap((id) => scalar.outward.get(id).map((e) => e.id)) };
}

// The scalar graph shown: its numbers, and in the finer replay which grads are complete.
function showScalarGraph() {
  if (currentView !== "scalar") return;
  showScalarNumbers();
  const view = scalarView();
  const scalarReplay = replay && replay.mode === "scalar";
  for (const [id, found] of view.texts) {
    if (!Array.isArray(found)) continue;
    const isKnown = !scalarReplay || scalar.nodes.get(id).ready <= replay.step;
    setText(found[1], isKnown ? found[1].dataset.full : "grad ?");
    view.elements.get(id).classList.toggle("pending", !isKnown);
  }
  const current = scalarReplay && replay.step > 0 ? data.order[replay.step - 1] : null;
  markAll(view.svg, "current", current ? [scalarElement(current)] : []);
  markAll(view.svg, "sending", current ? scalar.inward.get(current).map((e) => scalarElement(e.id)) : []);
}

// What the header says of the scalar graph's numbers.
function scalarNote() {
  if (!edited) return `The engine's pass; the page's own recomputation agrees to ${fmt(engineAgreement(), 2)}.`;
  if (scalar.failed) return `Edited: the scalar graph cannot be recomputed (${scalar.failed}); it shows the last pass it could.`;
  if (labelMoved()) return `Edited: the scalar graph is drawn for ℓ = ${drawnLabel + 1} and shows its loss at these weights; the rest uses ℓ = ${net.target + 1}.`;
  return `Edited: every number is the page's own pass; the scalar graph's chain rule and the notes' formulas agree to ${fmt(engineAgreement(), 2)}.`;
}

// The largest difference between the scalar graph's grads (the engine's, or the page's pass
// over the graph after an edit) and the notes' formulas, over ∇W and ∇a.
function engineAgreement() {
  let largest = 0;
  for (let k = 1; k <= n; k++) {
    data.layers[k - 1].W.forEach((row, i) => row.forEach((id, j) => {
      largest = Math.max(largest, Math.abs(sGrad(id) - pass.gradW[k - 1][i][j]));
    }));
    data.layers[k - 1].a.forEach((id, i) => {
      largest = Math.max(largest, Math.abs(sGrad(id) - pass.gradA[k - 1][i]));
    });
  }
  return largest;
}
