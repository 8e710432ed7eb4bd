// The explorer's behaviour: the matrices, the layer view, the scalar graph, the panel, the
// replay in the notes' steps (or the engine's scalar order) and the edits. The numbers of the
// layer view and the matrices come from MicrobpModel (explorer_model.js), recomputed after each
// edit; the scalar graph's are the engine's own, embedded as data when the page was written.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("microbp-data").textContent);
  const Model = MicrobpModel;
  const original = JSON.stringify(data.network);
  let net = JSON.parse(original);
  let pass = Model.run(net);
  const n = net.W.length;
  const notesSteps = Model.steps(net);
  const losses = [pass.L]; // L before each SGD step, and now
  let edited = false;
  let replay = null; // null: everything shown; else { mode: "notes" | "scalar", step }
  let chosen = null;
  let timer = null;
  const $ = (id) => document.getElementById(id);
  const panel = $("explain");
  const editor = $("editor");
  const status = $("status");

  // ---- elements and numbers ----

  function el(tag, props, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "class") element.className = value;
      else if (key === "text") element.textContent = value;
      else element.setAttribute(key, value);
    }
    element.append(...children);
    return element;
  }

  // x to `digits` significant digits, trailing zeros dropped (as Python's format "6g").
  function fmt(x, digits = 6) {
    if (x === 0) return "0";
    let [mantissa, exponent] = x.toPrecision(digits).split("e");
    if (mantissa.includes(".")) mantissa = mantissa.replace(/\.?0+$/, "");
    return (exponent === undefined ? mantissa : mantissa + "e" + exponent).replace("-", "−");
  }

  function num(x, role) {
    const props = { class: "num", "data-value": String(x), title: String(x), text: fmt(x) };
    if (role) {
      props["data-role"] = role;
      props.class += " " + role;
    }
    return el("span", props);
  }

  const hSymbol = (k) => (k === 0 ? "x" : k === n ? "ŷ" : `h${k}`);
  const hName = (k) => (k === 0 ? "x" : `h${k}`);

  // The notes' name of one entry: a2[1], W2[1,3], ∇h1[2], …; i and j count from 1.
  function nameOf(q, k, i, j) {
    if (q === "L") return "L";
    if (q === "gp") return `${Model.GPRIME_NAMES[net.activations[k - 1]]}(a${k}[${i}])`;
    const grad = q.length > 1 && q[0] === "g";
    const base = grad ? q.slice(1) : q;
    const symbol = base === "h" ? hName(k) : base === "y" ? "y" : base + k;
    return (grad ? "∇" : "") + symbol + (j ? `[${i},${j}]` : `[${i}]`);
  }

  // ---- the numbers shown: the page's pass ----

  function value(q, k, i, j) {
    switch (q) {
      case "h": return pass.h[k][i - 1];
      case "a": return pass.a[k - 1][i - 1];
      case "gp": return pass.gPrime[k - 1] ? pass.gPrime[k - 1][i - 1] : null;
      case "gh": return pass.gradH[k][i - 1];
      case "ga": return pass.gradA[k - 1][i - 1];
      case "gW": return pass.gradW[k - 1][i - 1][j - 1];
      case "gb": return pass.gradB[k - 1][i - 1];
      case "W": return net.W[k - 1][i - 1][j - 1];
      case "b": return net.b[k - 1][i - 1];
      case "y": return net.target[i - 1];
      case "L": return pass.L;
    }
    throw new Error("no quantity " + q);
  }

  // The engine's node of an entry (for the scalar view and its replay), or undefined.
  function nodeOf(q, k, i, j) {
    const layer = data.layers[k - 1];
    if (q === "h" || q === "gh") return k === 0 ? data.layers[0].h_prev[i - 1] : layer.h[i - 1];
    if (q === "a" || q === "ga") return layer.a[i - 1];
    if (q === "W" || q === "gW") return layer.W[i - 1][j - 1];
    if (q === "b" || q === "gb") return layer.b[i - 1];
    if (q === "L") return data.order[0];
    return undefined;
  }

  // Which quantities the current replay step has computed ("a2", "gW1", …).
  function computedSoFar() {
    const done = new Set();
    for (const s of notesSteps.slice(0, replay.step)) for (const q of s.computes) done.add(q);
    return done;
  }
  let computed = null;

  function known(q, k, i, j) {
    if (!replay || ["W", "b", "y"].includes(q) || (q === "h" && k === 0)) return true;
    if (replay.mode === "notes") return computed.has(q === "L" ? "L" : q + k);
    if (!q.startsWith("g")) return true; // the scalar replay starts after the forward pass
    const id = q === "gp" ? null : nodeOf(q, k, i, j);
    if (id) return scalar.nodes.get(id).ready <= replay.step;
    return q === "gp" ? known("ga", k, i) : replay.step === stepCount();
  }

  function justComputed(q, k) {
    if (!replay || replay.mode !== "notes" || replay.step === 0) return false;
    return notesSteps[replay.step - 1].computes.includes(q === "L" ? "L" : q + k);
  }

  // ---- the matrices ----

  const cells = new Map(); // "q:k:i:j" → the buttons showing that entry
  const records = []; // every button with its entry and what it shows now
  const key = (q, k, i, j) => `${q}:${k}:${i}:${j || 0}`;

  function cell(q, k, i, j) {
    const props = { type: "button", class: "entry", "data-q": q, "data-k": k, "data-i": i, "aria-pressed": "false" };
    if (j) props["data-j"] = j;
    const button = el("button", props, el("span", { class: "num" }));
    records.push({ button, span: button.firstChild, q, k, i, j });
    const list = cells.get(key(q, k, i, j)) || [];
    list.push(button);
    cells.set(key(q, k, i, j), list);
    return button;
  }

  const th = (text, className) => el("th", { text, class: className || "" });
  const range = (count) => Array.from({ length: count }, (_, i) => i + 1);

  // ∇W_k drawn as the outer product it is: ∇a_k as a column at its left, h_{k-1}ᵀ as a row
  // above it, indices on both sides.
  function outerProduct(k) {
    const [rows, cols] = [net.sizes[k], net.sizes[k - 1]];
    const head = el("tr", {}, th(""), th(`∇a${k} ↓`, "label"), ...range(cols).map((j) => th(String(j), "index")));
    const hRow = el("tr", { class: "factor-row" }, th(""), th(`${hSymbol(k - 1)}ᵀ →`, "label"),
      ...range(cols).map((j) => el("td", {}, cell("h", k - 1, j))));
    const body = range(rows).map((i) =>
      el("tr", { "data-i": i }, th(String(i), "index"), el("td", { class: "factor-col" }, cell("ga", k, i)),
        ...range(cols).map((j) => el("td", { "data-j": j }, cell("gW", k, i, j))))
    );
    return el("table", { class: "matrix outer", "data-k": k },
      el("caption", { text: `∇W${k} = ∇a${k} ${hSymbol(k - 1)}ᵀ  (∇a${k} at the left)` }),
      el("tbody", {}, head, hRow, ...body));
  }

  // One row per unit i of layer k: a, h, ∇h, g'(a), ∇a, ∇b (∇a = ∇h ⊙ g'(a) read across).
  function units(k) {
    const act = net.activations[k - 1];
    const g = Model.GPRIME_NAMES[act];
    const quantities = [["a", `a${k}`], ["h", `${hSymbol(k)} = ${Model.ACTIVATION_SYMBOL[act]}(a${k})`],
      ["gh", `∇${hSymbol(k)}`], ...(g ? [["gp", `${g}(a${k})`]] : []), ["ga", `∇a${k}`], ["gb", `∇b${k}`]];
    const head = el("tr", {}, th(""), ...quantities.map(([, title]) => th(title)));
    const body = range(net.sizes[k]).map((i) =>
      el("tr", {}, th(String(i), "index"), ...quantities.map(([q]) => el("td", {}, cell(q, k, i)))));
    return el("table", { class: "matrix units", "data-k": k }, el("tbody", {}, head, ...body));
  }

  // W_k and b_k side by side: the numbers an edit or an SGD step changes.
  function parameters(k) {
    const [rows, cols] = [net.sizes[k], net.sizes[k - 1]];
    const head = el("tr", {}, th(""), ...range(cols).map((j) => th(String(j), "index")), th(`b${k}`));
    const body = range(rows).map((i) =>
      el("tr", {}, th(String(i), "index"), ...range(cols).map((j) => el("td", {}, cell("W", k, i, j))),
        el("td", { class: "bias" }, cell("b", k, i))));
    return el("table", { class: "matrix params", "data-k": k },
      el("caption", { text: `W${k} | b${k}` }), el("tbody", {}, head, ...body));
  }

  function inputSection() {
    const rows = range(net.sizes[0]).map((j) =>
      el("tr", {}, th(String(j), "index"), el("td", {}, cell("h", 0, j)), el("td", {}, cell("gh", 0, j))));
    return el("section", { class: "layer", "data-k": 0 },
      el("h2", { text: "Input x = h0" }),
      el("table", { class: "matrix units" }, el("tbody", {}, el("tr", {}, th(""), th("x"), th("∇x")), ...rows)));
  }

  function lossSection() {
    const content = [el("h2", { text: `Loss: ${Model.lossFormula(net)}` })];
    if (net.loss === "cross_entropy") {
      const select = el("select", { id: "label", "aria-label": "the label ℓ" },
        ...range(net.sizes[n]).map((i) => el("option", { value: i - 1, text: `ℓ = ${i}` })));
      select.value = String(net.target);
      select.addEventListener("change", () => edit(() => { net.target = Number(select.value); }));
      content.push(el("p", {}, "label ", select, " L = ", cell("L", n, 1)));
    } else {
      const rows = range(net.sizes[n]).map((i) =>
        el("tr", {}, th(String(i), "index"), el("td", {}, cell("h", n, i)), el("td", {}, cell("y", n, i))));
      content.push(el("table", { class: "matrix units" }, el("tbody", {}, el("tr", {}, th(""), th("ŷ"), th("y")), ...rows)),
        el("p", {}, "L = ", cell("L", n, 1)));
    }
    return el("section", { class: "layer loss" }, ...content);
  }

  function layerSection(k) {
    const act = net.activations[k - 1];
    return el("section", { class: "layer", "data-k": k },
      el("h2", { text: `Layer ${k}: a${k} = b${k} + W${k} ${hName(k - 1)}, ${hSymbol(k)} = ${Model.ACTIVATION_SYMBOL[act]}(a${k})` }),
      el("div", { class: "row" }, outerProduct(k), units(k)),
      el("div", { class: "row" }, parameters(k)));
  }

  // One entry's number (or "?" before the replay computes it); the DOM is written only where
  // something changed, so an edit of a large network stays quick.
  function showCell(record) {
    const { button, span, q, k, i, j } = record;
    const v = value(q, k, i, j);
    const isKnown = known(q, k, i, j);
    const full = v === null || !isKnown ? "" : String(v);
    const text = v === null ? "—" : isKnown ? fmt(v, 4) : "?";
    const classes = [!isKnown, isKnown && justComputed(q, k), q === "gp" && v === 0 && isKnown && net.activations[k - 1] === "relu"];
    if (record.classes === undefined || classes.some((c, index) => c !== record.classes[index])) {
      ["unknown", "new", "blocked"].forEach((name, index) => button.classList.toggle(name, classes[index]));
      record.classes = classes;
    }
    if (record.full === full && record.text === text) return;
    span.textContent = text;
    span.dataset.value = full;
    span.title = full || (v === null ? "" : "not computed yet");
    button.setAttribute("aria-label", `${nameOf(q, k, i, j)} = ${text}`);
    Object.assign(record, { full, text });
  }

  // ---- the layer view ----

  const view = MicrobpLayerView.build(net.sizes, (col) =>
    col.q === "L" ? "L" : col.q === "a" ? `a${col.k}` : col.k === 0 ? "x" : col.k === n ? "ŷ" : `h${col.k}`);

  // Write a text or a style only when it changes: most of an edit's numbers move, most of a
  // replay step's do not.
  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  function showLayerView() {
    const byGrad = $("edge-mode").value === "grad";
    const weights = byGrad ? pass.gradW : net.W;
    const largest = Math.max(1e-300, ...weights.flat(2).map(Math.abs));
    for (let k = 1; k <= n; k++) {
      for (let i = 1; i <= net.sizes[k]; i++) {
        for (let j = 1; j <= net.sizes[k - 1]; j++) {
          const g = view.edges.get(`w${k}-${i}-${j}`);
          const isKnown = !byGrad || known("gW", k, i, j);
          const v = weights[k - 1][i - 1][j - 1];
          const width = isKnown ? (0.6 + (5 * Math.abs(v)) / largest).toFixed(1) : "0.8";
          const line = g.children[1]; // after the wider, invisible path that takes the clicks
          if (line.style.strokeWidth !== width) line.style.strokeWidth = width;
          g.classList.toggle("negative", isKnown && v < 0);
          g.classList.toggle("unknown", !isKnown);
        }
        const g = value("gp", k, i);
        const blocked = g === 0 && net.activations[k - 1] === "relu" && known("a", k, i);
        view.edges.get(`g${k}-${i}`).classList.toggle("blocked", blocked);
        const local = view.nodes.get(`a${k}-${i}`).lastChild;
        setText(local, g === null ? "" : blocked ? "blocked" : `${Model.GPRIME_NAMES[net.activations[k - 1]]} ${known("gp", k, i) ? fmt(g, 4) : "?"}`);
        local.classList.toggle("blocked", blocked);
      }
    }
    for (const [nodeKey, g] of view.nodes) {
      const [q, k, i] = nodeKey === "L" ? ["L", n, 1] : [nodeKey[0], ...nodeKey.slice(1).split("-").map(Number)];
      const [, name, shown, grad] = g.children;
      setText(name, q === "L" ? "L" : nameOf(q, k, i));
      setText(shown, known(q, k, i) ? fmt(value(q, k, i), 4) : "?");
      const gq = q === "L" ? null : "g" + q;
      setText(grad, gq ? "∇ " + (known(gq, k, i) ? fmt(value(gq, k, i), 4) : "?") : "");
      g.setAttribute("aria-label", `${nameOf(q, k, i)}: ${g.textContent}`);
    }
  }

  // A weight's tooltip, written when the pointer reaches it.
  function weightTitle(g) {
    const [k, i, j] = [g.dataset.k, g.dataset.i, g.dataset.j].map(Number);
    g.lastChild.textContent = `W${k}[${i},${j}] = ${fmt(value("W", k, i, j))}, ∇W${k}[${i},${j}] = ` +
      (known("gW", k, i, j) ? fmt(value("gW", k, i, j)) : "?");
  }

  // ---- the scalar graph (the engine's pass, embedded) ----

  const scalar = (function () {
    const nodes = new Map(data.nodes.map((node) => [node.id, node]));
    const outward = new Map(data.nodes.map((node) => [node.id, []]));
    const inward = new Map(data.nodes.map((node) => [node.id, []]));
    for (const edge of data.edges) {
      outward.get(edge.parent).push(edge);
      inward.get(edge.child).push(edge);
    }
    const svg = document.querySelector("#scalar-view svg");
    const gradText = new Map();
    for (const node of data.nodes) {
      const g = document.getElementById(node.id);
      const texts = [...g.querySelectorAll("text")];
      const text = texts.findLast((t) => t.textContent.startsWith("grad "));
      text.classList.add("grad");
      gradText.set(node.id, [text, text.textContent]);
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      if (node.kind === "parameter") g.classList.add("parameter");
    }
    for (const edge of data.edges) {
      if (nodes.get(edge.parent).kind === "parameter") document.getElementById(edge.id).classList.add("parameter");
    }
    return { nodes, outward, inward, svg, gradText };
  })();

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

  function showScalarGraph() {
    for (const node of data.nodes) {
      const [text, full] = scalar.gradText.get(node.id);
      const isKnown = !replay || replay.mode !== "scalar" || node.ready <= replay.step;
      if (text.textContent === (isKnown ? full : "grad ?")) continue;
      text.textContent = isKnown ? full : "grad ?";
      document.getElementById(node.id).classList.toggle("pending", !isKnown);
    }
    const current = replay && replay.mode === "scalar" && replay.step > 0 ? data.order[replay.step - 1] : null;
    markAll(scalar.svg, "current", current ? [document.getElementById(current)] : []);
    markAll(scalar.svg, "sending", current ? scalar.inward.get(current).map((e) => document.getElementById(e.id)) : []);
  }

  // ---- what a choice lights ----

  function markAll(root, className, elements) {
    for (const element of root.querySelectorAll("." + className)) element.classList.remove(className);
    for (const element of elements) if (element) element.classList.add(className);
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
    return { ...none, chosen: [...cellsOf(q, k, i, j), unit("L", n, 1)], scalar: [data.order[0]] };
  }

  function showLights() {
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
    // The scalar graph: the chosen node, the nodes of its factors, and every path to L.
    const ids = (l.scalar || []).filter(Boolean);
    const paths = ids.length ? pathsToRoot(ids.length > 1 ? ids[1] : ids[0]) : { nodes: [], edges: [] };
    const lit = [...new Set([...ids.slice(0, 1), ...paths.nodes])];
    markAll(scalar.svg, "lit", [...lit, ...paths.edges].map((id) => document.getElementById(id)));
    if (ids.length > 1) {
      const feed = scalar.outward.get(ids[0]).find((e) => e.child === ids[1]);
      if (feed) document.getElementById(feed.id).classList.add("lit");
    }
    markAll(scalar.svg, "factor-local", ids.length > 2 ? [document.getElementById(ids[2])] : []);
    scalar.svg.classList.toggle("has-choice", lit.length > 0);
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

  function explanation() {
    if (!chosen) return replay ? stepPanel() : introduction();
    const { q, k, i, j } = chosen;
    if (q === "gW" || q === "W") return explainWeight(k, i, j);
    if (q === "gb" || q === "b") return explainBias(k, i);
    if (q === "ga" || q === "a" || q === "gp") return explainPreActivation(k, i);
    if (q === "gh" || q === "h") return explainActivation(k, i);
    if (q === "y") return [el("h2", { text: `y[${i}]` }), el("p", {}, "the target of ŷ[" + i + "] in " + Model.lossFormula(net))];
    return explainLoss();
  }

  function stepPanel() {
    if (replay.mode === "scalar") return scalarStepPanel();
    const list = el("ol", { id: "steps", start: "0" }, el("li", { class: replay.step === 0 ? "current" : "done", text: "start: x, W, b given" }),
      ...notesSteps.map((s, index) => el("li", { class: index + 1 === replay.step ? "current" : index + 1 < replay.step ? "done" : "" }, `${s.name}: `, el("span", { class: "formula", text: s.formula }))));
    const current = replay.step === 0 ? "Nothing is computed yet: only x, W, b and the target are known." : notesSteps[replay.step - 1].formula;
    return [el("h2", { text: `Step ${replay.step} of ${notesSteps.length}` }), el("p", { class: "formula", "data-role": "step-formula", text: current }), list];
  }

  function scalarStepPanel() {
    const steps = data.order.length;
    if (replay.step === 0) return [el("h2", { text: `Scalar step 0 of ${steps}: before the backward pass` })];
    const id = data.order[replay.step - 1];
    const node = scalar.nodes.get(id);
    const rows = scalar.inward.get(id).map((edge) => el("tr", { "data-role": "sent" },
      el("td", { text: scalarLabel(edge.parent) }), el("td", {}, num(edge.local, "local")), el("td", {}, "→ ", num(edge.term, "term"))));
    return [el("h2", { text: `Scalar step ${replay.step} of ${steps}: ${scalarLabel(id)}` }),
      el("p", {}, `Its grad is complete: ∂L/∂${scalarLabel(id)} = `, num(node.grad, "grad"), ". Backward sends grad × ∂child/∂parent to each parent:"),
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
    losses.splice(0, losses.length, pass.L);
    if ($("label")) $("label").value = String(net.target);
    stopReplay();
    refreshEditor();
    update();
  }

  // ---- replay ----

  function stepCount() {
    return replay && replay.mode === "scalar" ? data.order.length : notesSteps.length;
  }

  function showStep(s) {
    const mode = $("granularity").value;
    if (mode === "scalar" && edited) {
      status.textContent = "The scalar replay shows the engine's pass: Undo edits first.";
      return;
    }
    replay = { mode, step: 0 };
    replay.step = Math.max(0, Math.min(stepCount(), s));
    computed = computedSoFar();
    if (mode === "scalar" && currentView !== "scalar") setView("scalar");
    chosen = null;
    update();
    const current = replay.mode === "scalar" && replay.step > 0 ? document.getElementById(data.order[replay.step - 1]) : null;
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
  const scalarSize = [parseFloat(scalar.svg.getAttribute("width")) * (4 / 3), parseFloat(scalar.svg.getAttribute("height")) * (4 / 3)];
  const sizeOf = (v) => (v === "layer" ? view.size : scalarSize);
  const svgOf = (v) => (v === "layer" ? view.svg : scalar.svg);

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
    if (chosen) bringIntoView(targetsOf(chosen));
  }

  // Where a choice is in the view shown: its entries and edge in the layer view, its node in
  // the scalar graph.
  function targetsOf(c) {
    const l = lights(c);
    return currentView === "layer"
      ? [...l.chosen, ...l.edges].filter((e) => e && view.svg.contains(e))
      : (l.scalar || []).filter(Boolean).slice(0, 1).map((id) => document.getElementById(id));
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
    const node = scalar.nodes.get(id);
    const rows = scalar.outward.get(id).map((edge) => el("tr", { "data-role": "term", "data-child": edge.child },
      el("td", { text: scalarLabel(edge.child) }), el("td", {}, num(scalar.nodes.get(edge.child).grad, "child-grad")),
      el("td", {}, "× ", num(edge.local, "local"), edge.factor ? ` (${edge.factor})` : ""), el("td", {}, "= ", num(edge.term, "term"))));
    chosen = null;
    editor.replaceChildren();
    update();
    panel.replaceChildren(el("h2", { text: `${scalarLabel(id)} (the engine's pass)` }),
      el("p", {}, "data ", num(node.data, "data"), ` · grad ∂L/∂${scalarLabel(id)} = `, num(node.grad, "grad")),
      id === data.order[0] ? el("p", { text: "L is where backward starts: ∂L/∂L = 1." }) : el("p", { text: "The sum, over the edges out of it, of the child's grad × the edge's local derivative:" }),
      el("table", {}, el("tbody", {}, ...rows, el("tr", { class: "total" }, el("td", { text: "sum" }), el("td"), el("td"), el("td", {}, "= ", num(node.grad, "sum"))))));
    const edges = scalar.outward.get(id);
    markAll(scalar.svg, "lit", [id, ...edges.map((e) => e.child), ...edges.map((e) => e.id)].map((x) => document.getElementById(x)));
    scalar.svg.classList.add("has-choice");
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

  function engineAgreement() {
    let largest = 0;
    for (let k = 1; k <= n; k++) {
      data.layers[k - 1].W.forEach((row, i) => row.forEach((id, j) => {
        largest = Math.max(largest, Math.abs(scalar.nodes.get(id).grad - pass.gradW[k - 1][i][j]));
      }));
      data.layers[k - 1].a.forEach((id, i) => {
        largest = Math.max(largest, Math.abs(scalar.nodes.get(id).grad - pass.gradA[k - 1][i]));
      });
    }
    return largest;
  }

  // What is chosen: its entries, nodes and factors lit, and its explanation.
  function showChoice() {
    showLights();
    panel.replaceChildren(...explanation());
  }

  // Every number of the page, and what is chosen.
  function update() {
    computed = replay && replay.mode === "notes" ? computedSoFar() : null;
    for (const record of records) showCell(record);
    showLayerView();
    showScalarGraph();
    showChoice();
    $("loss-now").textContent = known("L", n, 1) ? `L = ${fmt(pass.L)}` : "L = ?";
    $("edited").textContent = edited
      ? "Edited: the numbers are the page's own pass (the scalar graph still shows the engine's)."
      : `The engine's pass; the page's own recomputation agrees to ${fmt(engineAgreement(), 2)}.`;
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
    for (const g of view.svg.querySelectorAll("g.weight")) {
      g.addEventListener("pointerenter", () => weightTitle(g));
      g.addEventListener("click", () => choose({ q: "gW", k: Number(g.dataset.k), i: Number(g.dataset.i), j: Number(g.dataset.j) }));
    }
    for (const node of data.nodes) {
      const g = document.getElementById(node.id);
      g.addEventListener("click", () => chooseScalarNode(node.id));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          chooseScalarNode(node.id);
        }
      });
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
    $("show-parameters").addEventListener("change", () => {
      scalar.svg.classList.toggle("fold", !$("show-parameters").checked);
    });
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
    scalar.svg.classList.add("fold");
    // Fit the network to its pane, but never so small that a 13 px label reads under 11 px
    // (with a little room for the browser's rounding of the SVG's width).
    setZoom(Math.min(1.4, Math.max(11.1 / 13, fitZoom())));
    currentView = "scalar";
    setZoom(Math.min(1, Math.max(0.5, fitZoom())));
    setView("layer");
    update();
  }

  build();
})();
