// The page's script, part 2 of 5 (see explorer_state.js): the matrices and the layer view's
// numbers, each written only where something changed.
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
    el("h2", {}, `Layer ${k}: a${k} = b${k} + W${k} ${hName(k - 1)}, ${hSymbol(k)} = ${Model.ACTIVATION_SYMBOL[act]}(a${k}) `,
      el("button", { type: "button", class: "link to-scalar", "data-k": k, text: "its scalar graph →" })),
    el("div", { class: "row" }, outerProduct(k), units(k)),
    el("div", { class: "row" }, parameters(k)));
}

// One entry's number (or "?" before the replay computes it). Its full value and its state
// are written at once; the number it shows, which the browser must lay out again, only when
// its row is on screen or next comes into view (rowsShown), so an edit of a large network
// lays out what a learner can see. Nothing is written that did not change.
function showCell(record) {
  const { button, span, q, k, i, j } = record;
  const v = value(q, k, i, j);
  const isKnown = known(q, k, i, j);
  const full = v === null || !isKnown ? "" : String(v);
  const classes = [!isKnown, isKnown && justComputed(q, k), q === "gp" && v === 0 && isKnown && net.activations[k - 1] === "relu"];
  if (record.classes === undefined || classes.some((c, index) => c !== record.classes[index])) {
    ["unknown", "new", "blocked"].forEach((name, index) => button.classList.toggle(name, classes[index]));
    record.classes = classes;
  }
  if (record.full !== full) {
    span.dataset.value = full;
    record.full = full;
  }
  const shows = v === null ? "—" : isKnown ? full : "?"; // formatted when shown
  if (record.shows === shows) return;
  record.shows = shows;
  if (rowsShown.all || rowsShown.has(record.row)) showNumber(record);
}

function showNumber(record) {
  const { shows } = record;
  if (record.shown === shows) return;
  const text = shows === "—" || shows === "?" ? shows : fmt(Number(shows), 4);
  setText(record.span, text);
  record.span.title = shows === "?" ? "not computed yet" : shows === "—" ? "" : shows;
  record.button.setAttribute("aria-label", `${nameOf(record.q, record.k, record.i, record.j)} = ${text}`);
  record.shown = shows;
}

// The rows of the matrices on screen or near it (all of them until the page is built).
const rowsShown = new Set();
rowsShown.all = true;

function watchRows() {
  const byRow = new Map();
  for (const record of records) {
    record.row = record.button.closest("tr, p");
    if (!byRow.has(record.row)) byRow.set(record.row, []);
    byRow.get(record.row).push(record);
  }
  const observer = new IntersectionObserver((changes) => {
    for (const change of changes) {
      if (!change.isIntersecting) {
        rowsShown.delete(change.target);
        continue;
      }
      rowsShown.add(change.target);
      for (const record of byRow.get(change.target)) showNumber(record);
    }
  }, { root: $("matrices"), rootMargin: "40px 0px" });
  for (const row of byRow.keys()) observer.observe(row);
  rowsShown.all = false;
}

// ---- the layer view ----

const softmaxCE = () => net.loss === "cross_entropy" && net.activations[n - 1] === "softmax";
const lossStepName = () => (softmaxCE() ? "softmax + cross-entropy" : `${Model.ACTIVATION_SYMBOL[net.activations[n - 1]]} + ${net.loss.replace("_", " ")}`);
const view = MicrobpLayerView.build(net.sizes, (col) =>
  col.q === "L" ? "L" : col.q === "a" ? `a${col.k}` : col.k === 0 ? "x" : col.k === n ? "ŷ" : `h${col.k}`,
`${lossStepName()}: ∇a${n} = ${softmaxCE() ? "ŷ − e_ℓ" : `∇ŷ ⊙ ${Model.GPRIME_NAMES[net.activations[n - 1]]}(a${n})`} ▸`);

// Write a text or a style only when it changes: most of an edit's numbers move, most of a
// replay step's do not.
function setText(element, text) {
  const node = element.firstChild;
  if (node && node.nodeType === Node.TEXT_NODE && !node.nextSibling) {
    if (node.data !== text) node.data = text; // the same text node: laid out again, not rebuilt
  } else if (element.textContent !== text) {
    element.textContent = text;
  }
}

// Set `element`'s class `name` on or off, touching the DOM only when that changes it.
function setClass(element, name, on) {
  if (element.classList.contains(name) !== on) element.classList.toggle(name, on);
}

function showLayerView() {
  const byGrad = $("edge-mode").value === "grad";
  const weights = byGrad ? pass.gradW : net.W;
  let largest = 1e-300;
  for (const Wk of weights) for (const row of Wk) for (const w of row) largest = Math.max(largest, Math.abs(w));
  for (let k = 1; k <= n; k++) {
    for (let i = 1; i <= net.sizes[k]; i++) {
      for (let j = 1; j <= net.sizes[k - 1]; j++) {
        const g = view.edges.get(`w${k}-${i}-${j}`);
        const isKnown = !byGrad || known("gW", k, i, j);
        const v = weights[k - 1][i - 1][j - 1];
        const width = isKnown ? (0.6 + (5 * Math.abs(v)) / largest).toFixed(1) : "0.8";
        if (g.dataset.width !== width) {
          g.children[1].style.strokeWidth = width; // the line, after the wider path taking clicks
          g.dataset.width = width;
        }
        setClass(g, "negative", isKnown && v < 0);
        setClass(g, "unknown", !isKnown);
      }
      const g = value("gp", k, i);
      const blocked = g === 0 && net.activations[k - 1] === "relu" && known("a", k, i);
      setClass(view.edges.get(`g${k}-${i}`), "blocked", blocked);
      const local = view.nodes.get(`a${k}-${i}`).lastChild;
      setText(local, g === null ? "" : blocked ? "blocked" : `${Model.GPRIME_NAMES[net.activations[k - 1]]} ${known("gp", k, i) ? fmt(g, 4) : "?"}`);
      setClass(local, "blocked", blocked);
    }
  }
  for (const [nodeKey, g] of view.nodes) {
    const [q, k, i] = nodeKey === "L" ? ["L", n, 1] : [nodeKey[0], ...nodeKey.slice(1).split("-").map(Number)];
    const [, name, shown, grad, local] = g.children;
    const texts = [q === "L" ? "L" : nameOf(q, k, i), known(q, k, i) ? fmt(value(q, k, i), 4) : "?"];
    const gq = q === "L" ? null : "g" + q;
    texts.push(gq ? "∇ " + (known(gq, k, i) ? fmt(value(gq, k, i), 4) : "?") : "");
    [name, shown, grad].forEach((element, index) => setText(element, texts[index]));
    setClass(g, "new", justComputed(q, k) || (gq !== null && justComputed(gq, k)));
    const label = `${texts[0]}: ${texts.slice(1).join(" ")} ${local ? local.textContent : ""}`;
    if (g.getAttribute("aria-label") !== label) g.setAttribute("aria-label", label);
  }
}

// A weight's tooltip, written when the pointer reaches it.
function weightTitle(g) {
  const [k, i, j] = [g.dataset.k, g.dataset.i, g.dataset.j].map(Number);
  g.lastChild.textContent = `W${k}[${i},${j}] = ${fmt(value("W", k, i, j))}, ∇W${k}[${i},${j}] = ` +
    (known("gW", k, i, j) ? fmt(value("gW", k, i, j)) : "?");
}
