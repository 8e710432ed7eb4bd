// The page's script, part 5 of 5 (see explorer_state.js): the replay, the views, choosing,
// showing everything, and the page's controls and keys.
// ---- replay ----

function stepCount() {
  return replay && replay.mode === "scalar" ? data.order.length : notesSteps.length;
}

function showStep(s) {
  const mode = $("granularity").value;
  replay = { mode, step: 0 };
  replay.step = Math.max(0, Math.min(stepCount(), s));
  computed = computedSoFar();
  if (mode === "scalar" && currentView !== "scalar") setView("scalar");
  chosen = null;
  update();
  const current = replay.mode === "scalar" && replay.step > 0 ? scalarElement(data.order[replay.step - 1]) : null;
  if (current) bringIntoView([current]);
}

function stopReplay() {
  pause();
  replay = null;
  update();
}

function stepBy(delta) {
  pause();
  showStep(replay ? replay.step + delta : delta > 0 ? 1 : stepCount() - 1);
}

function pause() {
  if (timer !== null) clearInterval(timer);
  timer = null;
  $("play").textContent = "Play";
  $("play").setAttribute("aria-pressed", "false");
}

function togglePlay() {
  if (timer !== null) return pause();
  if (!replay || replay.step >= stepCount()) showStep(0);
  $("play").textContent = "Pause";
  $("play").setAttribute("aria-pressed", "true");
  timer = setInterval(() => {
    showStep(replay.step + 1);
    if (replay.step >= stepCount()) pause();
  }, 1000 / Number($("speed").value));
}

// ---- views, zoom, scrolling ----

let currentView = "layer";
const zooms = { layer: 1, scalar: 1 };
const sizeOf = (v) => (v === "layer" ? view.size : scalarView().size);
const svgOf = (v) => (v === "layer" ? view.svg : scalarView().svg);

function setZoom(z) {
  zooms[currentView] = Math.min(2, Math.max(0.2, z));
  const [w, h] = sizeOf(currentView);
  const svg = svgOf(currentView);
  svg.style.width = w * zooms[currentView] + "px";
  svg.style.height = h * zooms[currentView] + "px";
  $("zoom-shown").textContent = Math.round(zooms[currentView] * 100) + "%";
}

function fitZoom() {
  const pane = $("graph");
  const [w, h] = sizeOf(currentView);
  return Math.min((pane.clientWidth - 8) / w, (pane.clientHeight - 8) / h);
}

function setView(name) {
  currentView = name;
  $("layer-pane").hidden = name !== "layer";
  $("scalar-view").hidden = name !== "scalar";
  $("view-layer").setAttribute("aria-pressed", String(name === "layer"));
  $("view-scalar").setAttribute("aria-pressed", String(name === "scalar"));
  setZoom(zooms[name]);
  showScalarGraph();
  showLights();
  if (chosen) bringIntoView(targetsOf(chosen));
}

// The scalar graph with its parameter nodes or without (the default): two drawings.
function showParameters() {
  for (const v of Object.values(scalar.views)) v.svg.style.display = v === scalarView() ? "" : "none";
  if (currentView === "scalar") setView("scalar");
}

// Where a choice is in the view shown: its entries and edge in the layer view, its node in
// the scalar graph.
function targetsOf(c) {
  return targetsIn(currentView, c);
}

function targetsIn(viewName, c) {
  const l = lights(c);
  return viewName === "layer"
    ? [...l.chosen, ...l.edges].filter((e) => e && view.svg.contains(e))
    : (l.scalar || []).filter(Boolean).map(scalarElement).filter(Boolean).slice(0, 1);
}

// Scroll the graph pane so the elements sit in its middle, or start at its start if they
// do not fit.
function bringIntoView(elements) {
  const pane = $("graph");
  const viewBox = pane.getBoundingClientRect();
  const boxes = elements.filter(Boolean).map((e) => e.getBoundingClientRect()).filter((b) => b.width > 0);
  if (!boxes.length) return;
  const offset = (start, end, viewStart, viewSize) => {
    const [low, high] = [Math.min(...boxes.map(start)), Math.max(...boxes.map(end))];
    return high - low <= viewSize ? (low + high) / 2 - (viewStart + viewSize / 2) : low - viewStart - 12;
  };
  pane.scrollLeft += offset((b) => b.left, (b) => b.right, viewBox.left, viewBox.width);
  pane.scrollTop += offset((b) => b.top, (b) => b.bottom, viewBox.top, viewBox.height);
}

// ---- choosing ----

function choose(c, from) {
  pause();
  chosen = c;
  buildEditor();
  showChoice();
  if (!c) return;
  bringIntoView(targetsOf(c));
  if (from) from.focus({ preventScroll: true });
}

function fromDataset(d) {
  return { q: d.q, k: Number(d.k), i: Number(d.i), j: d.j ? Number(d.j) : 0 };
}

// A node of the scalar graph: its chain rule, as the engine computed it.
function chooseScalarNode(id) {
  const rows = scalar.outward.get(id).map((edge) => el("tr", { "data-role": "term", "data-child": edge.child },
    el("td", { text: scalarLabel(edge.child) }), el("td", {}, num(sGrad(edge.child), "child-grad")),
    el("td", {}, "× ", num(sLocal(edge), "local"), edge.factor ? ` (${edge.factor})` : ""), el("td", {}, "= ", num(sTerm(edge), "term"))));
  chosen = null;
  editor.replaceChildren();
  update();
  panel.replaceChildren(el("h2", { text: `${scalarLabel(id)} (the engine's pass)` }),
    el("p", {}, "data ", num(sData(id), "data"), ` · grad ∂L/∂${scalarLabel(id)} = `, num(sGrad(id), "grad")),
    id === data.order[0] ? el("p", { text: "L is where backward starts: ∂L/∂L = 1." }) : el("p", { text: "The sum, over the edges out of it, of the child's grad × the edge's local derivative:" }),
    el("table", {}, el("tbody", {}, ...rows, el("tr", { class: "total" }, el("td", { text: "sum" }), el("td"), el("td"), el("td", {}, "= ", num(sGrad(id), "sum"))))));
  const edges = scalar.outward.get(id);
  const svg = scalarView().svg;
  markAll(svg, "lit", [id, ...edges.map((e) => e.child), ...edges.map((e) => e.id)].map(scalarElement));
  svg.classList.add("has-choice");
  litFor = null; // lit by hand: the next choice relights
}

// ---- showing everything ----

function summary() {
  const sizes = net.sizes;
  const parts = [`x ∈ ℝ${superscript(sizes[0])}`];
  for (let k = 1; k <= n; k++) {
    const h = k === n ? `ŷ = h${k}` : `h${k}`;
    parts.push(`${h} = ${Model.ACTIVATION_SYMBOL[net.activations[k - 1]]}(b${k} + W${k} ${hName(k - 1)}) ∈ ℝ${superscript(sizes[k])}`);
  }
  return parts.join("  →  ");
}

function superscript(m) {
  return String(m).replace(/\d/g, (d) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[d]);
}

// What is chosen: its entries, nodes and factors lit, and its explanation.
function showChoice() {
  showLights();
  panel.replaceChildren(...explanation());
  if (chosen && currentView === "layer" && targetsIn("scalar", chosen).length) {
    const button = el("button", { type: "button", class: "link", id: "to-scalar", text: "See it in the scalar graph →" });
    button.addEventListener("click", () => setView("scalar"));
    panel.append(el("p", {}, button));
  }
}

// Layer k's box in the scalar graph, brought into view.
function showLayerInScalarGraph(k) {
  setView("scalar");
  const box = scalarView().layers.get(k);
  if (box) bringIntoView([box]);
}

// Every number of the page, and what is chosen.
function update() {
  computed = replay && replay.mode === "notes" ? computedSoFar() : null;
  for (const record of records) showCell(record);
  showLayerView();
  showScalarGraph();
  showChoice();
  $("loss-now").textContent = known("L", n, 1) ? `L = ${fmt(pass.L)}` : "L = ?";
  $("edited").textContent = scalarNote();
  $("undo").disabled = !edited;
  document.body.dataset.step = replay ? String(replay.step) : "";
  document.body.dataset.mode = replay ? replay.mode : "";
  if (replay) {
    const total = stepCount();
    status.textContent = replay.mode === "scalar"
      ? (replay.step === 0 ? `Scalar step 0 of ${total}` : `Scalar step ${replay.step} of ${total}: ${scalarLabel(data.order[replay.step - 1])}`)
      : replay.step === 0 ? `Step 0 of ${total}: nothing computed yet` : `Step ${replay.step} of ${total}: ${notesSteps[replay.step - 1].formula}`;
  }
  $("back").disabled = replay !== null && replay.step === 0;
  $("step").disabled = replay !== null && replay.step === stepCount();
}

function build() {
  $("network").textContent = summary();
  $("loss-formula").textContent = Model.lossFormula(net);
  const sections = [lossSection(), ...range(n).reverse().map(layerSection), inputSection()];
  $("matrices").replaceChildren(...sections);
  $("layer-pane").append(view.svg);
  $("matrices").addEventListener("click", (event) => {
    const button = event.target.closest("button.entry");
    if (button) choose(fromDataset(button.dataset), button);
    const toScalar = event.target.closest("button.to-scalar");
    if (toScalar) showLayerInScalarGraph(Number(toScalar.dataset.k));
  });
  const unitChoice = (nodeKey) => {
    if (nodeKey === "L") return { q: "L", k: n, i: 1, j: 0 };
    const [k, i] = nodeKey.slice(1).split("-").map(Number);
    return { q: "g" + nodeKey[0], k, i, j: 0 };
  };
  for (const [nodeKey, g] of view.nodes) {
    const pick = () => choose(unitChoice(nodeKey), g);
    g.addEventListener("click", pick);
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        pick();
      }
    });
  }
  const pickStep = () => choose({ q: "step", k: n, i: 1, j: 0 }, view.step);
  view.step.addEventListener("click", pickStep);
  view.step.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      pickStep();
    }
  });
  for (const g of view.svg.querySelectorAll("g.weight")) {
    g.addEventListener("pointerenter", () => weightTitle(g));
    g.addEventListener("click", () => choose({ q: "gW", k: Number(g.dataset.k), i: Number(g.dataset.i), j: Number(g.dataset.j) }));
  }
  for (const v of Object.values(scalar.views)) {
    for (const [id, g] of v.elements) {
      if (!g.classList.contains("node")) continue;
      g.addEventListener("click", () => chooseScalarNode(id));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          chooseScalarNode(id);
        }
      });
    }
  }
  $("reset").addEventListener("click", () => { pause(); showStep(0); });
  $("back").addEventListener("click", () => stepBy(-1));
  $("step").addEventListener("click", () => stepBy(1));
  $("play").addEventListener("click", togglePlay);
  $("speed").addEventListener("input", () => { $("speed-shown").textContent = `${$("speed").value} steps/s`; });
  $("granularity").addEventListener("change", () => showStep(0));
  $("sgd").addEventListener("click", sgdStep);
  $("undo").addEventListener("click", undoEdits);
  $("edge-mode").addEventListener("change", showLayerView);
  $("show-parameters").addEventListener("change", showParameters);
  $("view-layer").addEventListener("click", () => setView("layer"));
  $("view-scalar").addEventListener("click", () => setView("scalar"));
  $("zoom-in").addEventListener("click", () => setZoom(zooms[currentView] * 1.2));
  $("zoom-out").addEventListener("click", () => setZoom(zooms[currentView] / 1.2));
  $("fit").addEventListener("click", () => setZoom(fitZoom()));
  const keys = {
    ArrowRight: () => stepBy(1),
    ArrowLeft: () => stepBy(-1),
    Home: () => $("reset").click(),
    End: () => { pause(); showStep(stepCount()); },
    p: togglePlay, P: togglePlay,
    s: sgdStep, S: sgdStep,
    v: () => setView(currentView === "layer" ? "scalar" : "layer"), V: () => setView(currentView === "layer" ? "scalar" : "layer"),
    f: () => setZoom(fitZoom()), F: () => setZoom(fitZoom()),
    Escape: () => { stopReplay(); choose(null); },
  };
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement) return;
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });
  $("speed-shown").textContent = `${$("speed").value} steps/s`;
  showParameters();
  // Fit the network to its pane, but never so small that a 13 px label reads under 11 px
  // (with a little room for the browser's rounding of the SVG's width).
  setZoom(Math.min(1.4, Math.max(11.1 / 13, fitZoom())));
  // The scalar graph at the zoom where its smallest labels, dot's 10 pt edge labels, read
  // at 11 px; the chosen node is brought into view, and Fit shows it whole.
  currentView = "scalar";
  setZoom(Math.max(11.1 / (10 * (4 / 3)), Math.min(1, fitZoom())));
  setView("layer");
  update();
  watchRows();
}

build();
