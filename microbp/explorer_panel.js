// The page's script, part 4 of 5 (see explorer_state.js): what a choice lights, the panel's
// explanation of it, and the editor that changes x, the target, a weight or a bias.
// ---- what a choice lights ----

// Exactly `elements` (falsy ones skipped) under `root` carry `className`; only the elements
// that change are touched, so showing the same choice again costs the page nothing.
function markAll(root, className, elements) {
  const wanted = new Set(elements.filter(Boolean));
  for (const element of root.querySelectorAll("." + className)) {
    if (!wanted.delete(element)) element.classList.remove(className);
  }
  for (const element of wanted) element.classList.add(className);
}

const cellsOf = (q, k, i, j) => cells.get(key(q, k, i, j)) || [];
const unit = (q, k, i) => view.nodes.get(q === "L" ? "L" : `${q}${k}-${i}`);

// For a choice: the entries and nodes it is, and its two factors (the gradient flowing in,
// and the local derivative it is multiplied by), each lit in its own colour.
function lights(c) {
  const { q, k, i, j } = c;
  const none = { chosen: [], grad: [], local: [], rows: [], cols: [], edges: [] };
  if (q === "gW" || q === "W") {
    return {
      chosen: [...cellsOf("gW", k, i, j), ...cellsOf("W", k, i, j), view.edges.get(`w${k}-${i}-${j}`)],
      grad: [...cellsOf("ga", k, i), unit("a", k, i)],
      local: [...cellsOf("h", k - 1, j), unit("h", k - 1, j)],
      rows: [...document.querySelectorAll(`table.outer[data-k="${k}"] tr[data-i="${i}"] td`)],
      cols: [...document.querySelectorAll(`table.outer[data-k="${k}"] td[data-j="${j}"]`)],
      edges: [view.edges.get(`w${k}-${i}-${j}`)],
      scalar: [nodeOf("W", k, i, j), nodeOf("a", k, i), nodeOf("h", k - 1, j)],
    };
  }
  if (q === "gb" || q === "b") {
    return { ...none, chosen: [...cellsOf("gb", k, i), ...cellsOf("b", k, i)], grad: [...cellsOf("ga", k, i), unit("a", k, i)], scalar: [nodeOf("b", k, i), nodeOf("a", k, i)] };
  }
  if (q === "ga" || q === "a") {
    const softmaxCE = k === n && net.loss === "cross_entropy" && net.activations[n - 1] === "softmax";
    return {
      ...none,
      chosen: [...cellsOf("ga", k, i), ...cellsOf("a", k, i), unit("a", k, i)],
      grad: softmaxCE ? [...cellsOf("h", n, i), unit("h", n, i)] : [...cellsOf("gh", k, i), unit("h", k, i)],
      local: softmaxCE ? [] : cellsOf("gp", k, i),
      edges: [view.edges.get(`g${k}-${i}`)],
      scalar: [nodeOf("a", k, i)],
    };
  }
  if (q === "gh" || q === "h" || q === "gp") {
    if (q === "gp") return { ...none, chosen: cellsOf("gp", k, i), local: [unit("a", k, i), unit("h", k, i)], edges: [view.edges.get(`g${k}-${i}`)] };
    const above = k < n ? range(net.sizes[k + 1]) : [];
    return {
      ...none,
      chosen: [...cellsOf("gh", k, i), ...cellsOf("h", k, i), unit("h", k, i)],
      grad: above.flatMap((r) => [...cellsOf("ga", k + 1, r), unit("a", k + 1, r)]),
      local: above.flatMap((r) => cellsOf("W", k + 1, r, i)),
      edges: above.map((r) => view.edges.get(`w${k + 1}-${r}-${i}`)),
      scalar: [nodeOf("h", k, i)],
    };
  }
  if (q === "step") {
    const outputs = range(net.sizes[n]);
    return {
      ...none,
      chosen: [view.step, unit("L", n, 1), ...outputs.flatMap((r) => [unit("a", n, r), unit("h", n, r), ...cellsOf("ga", n, r)])],
      edges: outputs.flatMap((r) => [view.edges.get(`g${n}-${r}`), view.edges.get(`l-${r}`)]),
      scalar: [data.order[0]],
    };
  }
  return { ...none, chosen: [...cellsOf(q, k, i, j), unit("L", n, 1)], scalar: [data.order[0]] };
}

let litFor = null; // what the lights show now: the choice and the drawing, as text

function showLights() {
  const now = JSON.stringify([chosen, currentView, scalarView().name]);
  if (now === litFor) return; // an edit or a replay step lights nothing new
  litFor = now;
  const l = chosen ? lights(chosen) : { chosen: [], grad: [], local: [], rows: [], cols: [], edges: [] };
  const page = document.body;
  markAll(page, "chosen", l.chosen);
  markAll(page, "factor-grad", l.grad);
  markAll(page, "factor-local", l.local);
  markAll(page, "row-lit", l.rows);
  markAll(page, "col-lit", l.cols);
  markAll(page, "edge-lit", l.edges);
  for (const button of document.querySelectorAll('button.entry[aria-pressed="true"]')) {
    button.setAttribute("aria-pressed", "false");
  }
  for (const button of document.querySelectorAll("button.entry.chosen")) {
    button.setAttribute("aria-pressed", "true");
  }
  $("graph").classList.toggle("has-choice", chosen !== null);
  // The scalar graph: the chosen node, the nodes of its factors, and every path to L. A
  // weight folded away is the edge h → a that carries it.
  const ids = (l.scalar || []).filter(Boolean);
  const paths = ids.length ? pathsToRoot(ids.length > 1 ? ids[1] : ids[0]) : { nodes: [], edges: [] };
  const lit = [...new Set([...ids.slice(0, 1), ...paths.nodes])];
  const svg = scalarView().svg;
  markAll(svg, "lit", [...lit, ...paths.edges, ...feedEdges(ids)].map(scalarElement));
  markAll(svg, "factor-local", ids.length > 2 ? [scalarElement(ids[2])] : []);
  svg.classList.toggle("has-choice", lit.length > 0);
}

// The edges by which a chosen parameter (ids[0]) reaches its a node (ids[1]): its own edge,
// and for a weight the edge from its h (ids[2]) that carries it.
function feedEdges(ids) {
  if (ids.length < 2) return [];
  const into = (from) => scalar.outward.get(from).filter((e) => e.child === ids[1]).map((e) => e.id);
  return [...into(ids[0]), ...(ids.length > 2 ? into(ids[2]) : [])];
}

// ---- the panel ----

function introduction() {
  return [
    el("p", { class: "hint" },
      "Choose an entry of a matrix, or a node or an edge of the network, to see the product that " +
        "makes its gradient; change x, ℓ, a weight or a bias and watch every number follow; " +
        "Step ▶ (→) replays the pass in the notes' steps."),
  ];
}

const product = (grad, gradRole, local, localRole) => [num(grad, "grad"), " = ", num(gradRole[0], "factor-grad"), " × ", num(local, localRole)];

function notYet(q, k) {
  const at = notesSteps.findIndex((s) => s.computes.includes(q + k)) + 1;
  return el("p", { class: "hint" }, `Not computed yet: step ${at} (${notesSteps[at - 1].formula}) computes it.`);
}

function deadNote(k, i) {
  if (net.activations[k - 1] !== "relu" || value("a", k, i) > 0) return [];
  return [el("p", { class: "blocked-note" },
    `Blocked: a${k}[${i}] = ${fmt(value("a", k, i))} ≤ 0, so relu′(a${k}[${i}]) = 0 — a dead unit for this input. ` +
      `Nothing flows back through it: ∇a${k}[${i}], row ${i} of ∇W${k} and ∇b${k}[${i}] are 0.`)];
}

function explainWeight(k, i, j) {
  const h = nameOf("h", k - 1, j);
  const content = [
    el("h2", { text: `∇W${k}[${i},${j}]: row ${i}, column ${j} of ∇W${k} = ∇a${k} ${hSymbol(k - 1)}ᵀ` }),
    el("p", { class: "formula" }, `∂L/∂W${k}[${i},${j}] = ∂L/∂a${k}[${i}] · ${h}`),
  ];
  if (!known("gW", k, i, j)) return [...content, notYet("gW", k)];
  content.push(
    el("p", { class: "formula", "data-role": "product" },
      ...product(value("gW", k, i, j), [value("ga", k, i)], value("h", k - 1, j), "factor-local")),
    el("p", {}, `The factor ∂a${k}[${i}]/∂W${k}[${i},${j}] = ${h} is the input the weight multiplies. ` +
      `Row ${i} of ∇W${k} is ∇a${k}[${i}] times ${hSymbol(k - 1)}ᵀ; column ${j} is ${h} times ∇a${k}: ` +
      "every entry is one product of the outer product."),
    ...deadNote(k, i));
  return content;
}

function explainBias(k, i) {
  const content = [el("h2", { text: `∇b${k}[${i}] = ∇a${k}[${i}]` }),
    el("p", { class: "formula" }, `∂L/∂b${k}[${i}] = ∂L/∂a${k}[${i}] · 1`)];
  if (!known("gb", k, i)) return [...content, notYet("gb", k)];
  return [...content, el("p", { class: "formula", "data-role": "product" }, ...product(value("gb", k, i), [value("ga", k, i)], 1, "factor-local")), ...deadNote(k, i)];
}

function explainPreActivation(k, i) {
  const act = net.activations[k - 1];
  const terms = [value("b", k, i), ...net.W[k - 1][i - 1].map((w, j) => w * value("h", k - 1, j + 1))];
  const content = [
    el("h2", { text: `a${k}[${i}] and ∇a${k}[${i}]` }),
    el("p", {}, `a${k}[${i}] = b${k}[${i}] + Σⱼ W${k}[${i},j] ${hName(k - 1)}[j] = `, known("a", k, i) ? num(value("a", k, i), "data") : "?",
      el("span", { class: "hint" }, ` (${terms.map((t) => fmt(t, 4)).join(" + ")})`)),
  ];
  if (!known("ga", k, i)) return [...content, notYet("ga", k)];
  if (k === n && net.loss === "cross_entropy" && act === "softmax") {
    const e = i - 1 === net.target ? 1 : 0;
    content.push(el("p", { class: "formula" }, `Softmax and cross-entropy together: ∇a${n} = ŷ − e_ℓ, so ∇a${n}[${i}] = ŷ[${i}] − ${e}`),
      el("p", { class: "formula", "data-role": "product" }, num(value("ga", k, i), "grad"), " = ", num(value("h", n, i), "factor-grad"), ` − ${e}`));
  } else if (act === "softmax") {
    content.push(el("p", { class: "formula" }, `∇a${n} = ŷ ⊙ (∇ŷ − ŷ·∇ŷ): `, num(value("ga", k, i), "grad")));
  } else {
    content.push(
      el("p", { class: "formula" }, `∂L/∂a${k}[${i}] = ∂L/∂${hName(k)}[${i}] · ${Model.GPRIME_NAMES[act]}(a${k}[${i}]),  ${Model.GPRIME_RULES[act]}`),
      el("p", { class: "formula", "data-role": "product" }, ...product(value("ga", k, i), [value("gh", k, i)], value("gp", k, i), "factor-local")),
      ...deadNote(k, i));
  }
  return content;
}

function explainActivation(k, i) {
  const content = [el("h2", { text: `${nameOf("h", k, i)} and its gradient` })];
  if (k > 0) content.push(el("p", {}, `${nameOf("h", k, i)} = ${Model.ACTIVATION_SYMBOL[net.activations[k - 1]]}(a${k}[${i}]) = `, num(value("h", k, i), "data")));
  else content.push(el("p", {}, `x[${i}] = `, num(value("h", 0, i), "data"), " (change it below)"));
  if (!known("gh", k, i)) return [...content, notYet("gh", k)];
  if (k === n) {
    const rule = net.loss === "cross_entropy" ? "∇ŷ = −e_ℓ / ŷ_ℓ" : "∇ŷ = 2(ŷ − y)";
    return [...content, el("p", { class: "formula" }, `${rule}: ∇ŷ[${i}] = `, num(value("gh", k, i), "grad"))];
  }
  content.push(el("p", { class: "formula" }, `∇${hName(k)} = W${k + 1}ᵀ ∇a${k + 1}: ∂L/∂${hName(k)}[${i}] = Σᵢ W${k + 1}[r,${i}] · ∂L/∂a${k + 1}[r] = `, num(value("gh", k, i), "grad")));
  const rows = range(net.sizes[k + 1]).map((r) => el("tr", { "data-role": "term" },
    el("td", { text: `r = ${r}` }), el("td", {}, num(value("W", k + 1, r, i), "factor-local")), el("td", { text: "×" }),
    el("td", {}, num(value("ga", k + 1, r), "factor-grad"))));
  return [...content, el("table", {}, el("tbody", {}, ...rows))];
}

function explainLoss() {
  const content = [el("h2", { text: "The loss" }), el("p", { class: "formula" }, Model.lossFormula(net), " = ", num(pass.L, "data"))];
  if (losses.length > 1) content.push(el("p", {}, `After ${losses.length - 1} SGD steps: L = ${losses.map((x) => fmt(x, 5)).join(" → ")}`));
  return content;
}

// The scalar nodes of the output's step to the loss: everything after the a_L nodes.
const stepNodes = (function () {
  const a_L = new Set(data.layers[n - 1].a);
  const after = new Set();
  for (const node of data.nodes) {
    if (scalar.inward.get(node.id).some((e) => a_L.has(e.parent) || after.has(e.parent))) after.add(node.id);
  }
  return [...after];
})();
let stepExpanded = false;

function explainLossStep() {
  const g = Model.GPRIME_NAMES[net.activations[n - 1]];
  const content = [el("h2", { text: `${lossStepName()}, as one step` }),
    el("p", { class: "formula" }, softmaxCE()
      ? `∇a${n} = ŷ − e_ℓ: ∂L/∂a${n}[i] = ŷ[i] − (1 if i = ℓ else 0), ℓ = ${net.target + 1}`
      : `∇a${n} = ∇ŷ ⊙ ${g}(a${n}), ∇ŷ = 2(ŷ − y)`)];
  if (!known("ga", n, 1)) return [...content, notYet("ga", n)];
  content.push(el("table", {}, el("tbody", {}, ...range(net.sizes[n]).map((i) => el("tr", { "data-role": "output" },
    el("td", { text: `∇a${n}[${i}] =` }), el("td", {}, num(value("ga", n, i), "grad")),
    el("td", { text: softmaxCE() ? `= ŷ[${i}] − ${i - 1 === net.target ? 1 : 0}` : `= ∇ŷ[${i}] · ${g}(a${n}[${i}])` }))))));
  const rows = stepNodes.map((id) => el("tr", { "data-role": "step-node", "data-node": id },
    el("td", {}, el("button", { type: "button", class: "link", title: "show it in the scalar graph", text: scalarLabel(id) })),
    el("td", {}, num(sData(id), "data")), el("td", {}, num(sGrad(id), "grad")),
    el("td", { class: "hint", text: scalar.inward.get(id).map((e) => `∂/∂${scalarLabel(e.parent)} = ${fmt(sLocal(e), 4)}`).join(", ") })));
  const details = el("details", { id: "loss-step-nodes" },
    el("summary", { text: `Expand: its ${stepNodes.length} nodes in the scalar graph` }),
    labelMoved() ? el("p", { class: "hint", text: `As drawn, for ℓ = ${drawnLabel + 1}.` }) : "",
    el("table", {}, el("tbody", {}, el("tr", {}, th("node"), th("data"), th("grad"), th("local derivatives")), ...rows)));
  details.open = stepExpanded;
  details.addEventListener("toggle", () => { stepExpanded = details.open; });
  details.addEventListener("click", (event) => {
    const row = event.target.closest("button.link") && event.target.closest("tr");
    if (!row) return;
    setView("scalar");
    chooseScalarNode(row.dataset.node);
    const element = scalarElement(row.dataset.node);
    if (element) bringIntoView([element]);
  });
  return [...content, details];
}

function explanation() {
  if (!chosen) return replay ? stepPanel() : introduction();
  const { q, k, i, j } = chosen;
  if (q === "gW" || q === "W") return explainWeight(k, i, j);
  if (q === "gb" || q === "b") return explainBias(k, i);
  if (q === "ga" || q === "a" || q === "gp") return explainPreActivation(k, i);
  if (q === "gh" || q === "h") return explainActivation(k, i);
  if (q === "step") return explainLossStep();
  if (q === "y") return [el("h2", { text: `y[${i}]` }), el("p", {}, "the target of ŷ[" + i + "] in " + Model.lossFormula(net))];
  return explainLoss();
}

function stepPanel() {
  if (replay.mode === "scalar") return scalarStepPanel();
  const list = el("ol", { id: "steps", start: "0" }, el("li", { class: replay.step === 0 ? "current" : "done", text: "start: x, W, b given" }),
    ...notesSteps.map((s, index) => el("li", { class: index + 1 === replay.step ? "current" : index + 1 < replay.step ? "done" : "" },
      s.formula.startsWith(s.name) ? "" : `${s.name}: `, el("span", { class: "formula", text: s.formula }))));
  const current = replay.step === 0 ? "Nothing is computed yet: only x, W, b and the target are known." : notesSteps[replay.step - 1].formula;
  return [el("h2", { text: `Step ${replay.step} of ${notesSteps.length}` }), el("p", { class: "formula", "data-role": "step-formula", text: current }), list];
}

function scalarStepPanel() {
  const steps = data.order.length;
  if (replay.step === 0) return [el("h2", { text: `Scalar step 0 of ${steps}: before the backward pass` })];
  const id = data.order[replay.step - 1];
  const rows = scalar.inward.get(id).map((edge) => el("tr", { "data-role": "sent" },
    el("td", { text: scalarLabel(edge.parent) }), el("td", {}, num(sLocal(edge), "local")), el("td", {}, "→ ", num(sTerm(edge), "term"))));
  return [el("h2", { text: `Scalar step ${replay.step} of ${steps}: ${scalarLabel(id)}` }),
    el("p", {}, `Its grad is complete: ∂L/∂${scalarLabel(id)} = `, num(sGrad(id), "grad"), ". Backward sends grad × ∂child/∂parent to each parent:"),
    el("table", {}, el("tbody", {}, el("tr", {}, th("parent"), th("local"), th("adds")), ...rows))];
}

// ---- editing ----

const EDITABLE = { W: "W", gW: "W", b: "b", gb: "b", y: "y" };

function editableOf(c) {
  if (!c) return null;
  if ((c.q === "h" || c.q === "gh") && c.k === 0) return { q: "x", k: 0, i: c.i };
  if (c.q === "y" && net.loss !== "squared_error") return null;
  return EDITABLE[c.q] ? { q: EDITABLE[c.q], k: c.k, i: c.i, j: c.j } : null;
}

function currentOf(p) {
  if (p.q === "x") return net.x[p.i - 1];
  return value(p.q, p.k, p.i, p.j);
}

function setParameter(p, v) {
  if (p.q === "x") net.x[p.i - 1] = v;
  else if (p.q === "W") net.W[p.k - 1][p.i - 1][p.j - 1] = v;
  else if (p.q === "b") net.b[p.k - 1][p.i - 1] = v;
  else net.target[p.i - 1] = v;
}

function buildEditor() {
  const p = editableOf(chosen);
  if (!p) return editor.replaceChildren();
  const v = currentOf(p);
  const name = p.q === "x" ? `x[${p.i}]` : nameOf(p.q, p.k, p.i, p.j);
  const field = el("input", { type: "number", id: "edit-number", step: "any", value: String(v), "aria-label": `change ${name}` });
  const drag = el("input", { type: "range", id: "edit-drag", min: String(v - 2), max: String(v + 2), step: "0.01", value: String(v), "aria-label": `drag ${name}` });
  const message = el("span", { id: "edit-error", role: "alert" });
  field.addEventListener("change", () => {
    const x = Number(field.value);
    if (field.value.trim() === "" || !Number.isFinite(x)) {
      message.textContent = `${name} must be a finite number`;
      return;
    }
    if (edit(() => setParameter(p, x), message)) drag.value = String(x);
  });
  drag.addEventListener("input", () => {
    if (edit(() => setParameter(p, Number(drag.value)), message)) field.value = drag.value;
  });
  editor.replaceChildren(el("label", { for: "edit-number", text: `${name} = ` }), field, drag, message);
}

function refreshEditor() {
  const p = editableOf(chosen);
  if (p && $("edit-number")) $("edit-number").value = String(currentOf(p));
}

// Apply a change to the network and recompute; if the pass fails, undo it and say why.
function edit(change, message) {
  const before = JSON.stringify(net);
  change();
  try {
    pass = Model.run(net);
  } catch (error) {
    if (!(error instanceof Model.PassError)) throw error;
    net = JSON.parse(before);
    (message || status).textContent = `Not applied: ${error.message}`;
    return false;
  }
  if (message) message.textContent = "";
  edited = JSON.stringify(net) !== original;
  recomputeScalar();
  losses.length = 0;
  losses.push(pass.L);
  stopReplay();
  return true;
}

function sgdStep() {
  const lr = Number($("lr").value);
  if (!(lr > 0 && Number.isFinite(lr))) {
    status.textContent = "η must be a positive number";
    return;
  }
  let updated;
  try {
    updated = Model.sgdStep(net, pass, lr);
  } catch (error) {
    if (!(error instanceof Model.PassError)) throw error;
    status.textContent = `Not applied: ${error.message}; lower η`;
    return;
  }
  const history = losses.slice();
  if (!edit(() => Object.assign(net, updated))) return;
  losses.splice(0, losses.length, ...history, pass.L);
  status.textContent = `SGD step ${losses.length - 1} (η = ${lr}): L ${fmt(losses[losses.length - 2], 6)} → ${fmt(pass.L, 6)}`;
  refreshEditor();
  update();
}

function undoEdits() {
  net = JSON.parse(original);
  pass = Model.run(net);
  edited = false;
  recomputeScalar();
  losses.splice(0, losses.length, pass.L);
  status.textContent = "Back to the engine's pass.";
  if ($("label")) $("label").value = String(net.target);
  stopReplay();
  refreshEditor();
  update();
}

