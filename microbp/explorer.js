// The explorer's behaviour. Every number shown comes from the page's JSON (the engine's own,
// or the formulas' for the formula column): this script looks numbers up, formats and shows
// them, and never computes one.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("microbp-data").textContent);
  const nodes = new Map(data.nodes.map((n) => [n.id, n]));
  const inward = new Map(data.nodes.map((n) => [n.id, []])); // edges from a node's parents
  const outward = new Map(data.nodes.map((n) => [n.id, []])); // edges to a node's children
  for (const edge of data.edges) {
    inward.get(edge.child).push(edge);
    outward.get(edge.parent).push(edge);
  }
  const steps = data.order.length;
  const root = data.order[0];
  const svg = document.querySelector("#graph svg");
  const panel = document.getElementById("panel");
  const status = document.getElementById("status");
  const buttons = {
    reset: document.getElementById("reset"),
    back: document.getElementById("back"),
    step: document.getElementById("step"),
    play: document.getElementById("play"),
  };
  const speed = document.getElementById("speed");
  const gradText = new Map(); // node id → [its "grad …" text element, the text dot wrote]
  let step = steps;
  let replaying = false;
  let timer = null;
  let chosen = null;
  let zoom = 1;

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

  // x to 6 significant digits, trailing zeros dropped (as Python's format "6g" shows it).
  function fmt(x) {
    if (x === 0) return "0";
    let [mantissa, exponent] = x.toPrecision(6).split("e");
    if (mantissa.includes(".")) mantissa = mantissa.replace(/\.?0+$/, "");
    return exponent === undefined ? mantissa : mantissa + "e" + exponent;
  }

  function num(x, role) {
    const props = { class: "num", "data-value": String(x), title: String(x), text: fmt(x) };
    if (role) props["data-role"] = role;
    return el("span", props);
  }

  function label(id) {
    const node = nodes.get(id);
    return node.name || (node.op ? "(" + node.op + ")" : "constant");
  }

  function vector(values) {
    return "(" + values.map(fmt).join(", ") + ")";
  }

  // ---- what lights up ----

  // Every node on some path from `id` to L, `id` included, and the edges between them.
  function pathsToRoot(id) {
    const found = new Set([id]);
    const stack = [id];
    while (stack.length) {
      for (const edge of outward.get(stack.pop())) {
        if (!found.has(edge.child)) {
          found.add(edge.child);
          stack.push(edge.child);
        }
      }
    }
    const edges = [...found].flatMap((n) => outward.get(n).map((edge) => edge.id));
    return { nodes: [...found], edges };
  }

  function mark(className, ids) {
    for (const element of svg.querySelectorAll("." + className)) {
      element.classList.remove(className);
    }
    for (const id of ids) document.getElementById(id).classList.add(className);
  }

  function choose(button, nodeIds, edgeIds, content, focusId) {
    if (chosen) {
      chosen.classList.remove("chosen");
      chosen.setAttribute("aria-pressed", "false");
    }
    chosen = button;
    if (button) {
      button.classList.add("chosen");
      button.setAttribute("aria-pressed", "true");
    }
    mark("lit", [...nodeIds, ...edgeIds]);
    svg.classList.toggle("has-choice", nodeIds.length > 0);
    panel.replaceChildren(...content);
    if (focusId) bringIntoView([...nodeIds, ...edgeIds, focusId]);
  }

  // Scroll the graph so that the elements `ids` sit in the middle of its pane, along each axis
  // where they fit; where they do not, so that they start at its start (paths run rightwards
  // from the node chosen, so that shows as much of them as there is room for).
  function bringIntoView(ids) {
    const pane = document.getElementById("graph");
    const view = pane.getBoundingClientRect();
    const boxes = ids.map((id) => document.getElementById(id).getBoundingClientRect());
    const offset = (start, end, viewStart, viewSize) => {
      const [low, high] = [Math.min(...boxes.map(start)), Math.max(...boxes.map(end))];
      return high - low <= viewSize ? (low + high) / 2 - (viewStart + viewSize / 2) : low - viewStart - 12;
    };
    pane.scrollLeft += offset((b) => b.left, (b) => b.right, view.left, view.width);
    pane.scrollTop += offset((b) => b.top, (b) => b.bottom, view.top, view.height);
  }

  function clearChoice() {
    choose(null, [], [], [introduction()], null);
  }

  // ---- the panel ----

  function introduction() {
    return el(
      "p",
      { class: "hint" },
      "Click an entry of ∇W, ∇b or ∇a, or any node of the graph, to see the chain rule that made " +
        "its gradient; or replay the backward pass with Step ▶ (→), one node at a time."
    );
  }

  function edgeOf(parent, child) {
    return outward.get(parent).find((edge) => edge.child === child);
  }

  // ∂L/∂p = ∂L/∂a · local, for an entry of ∇W_k (local = h_{k-1,j}) or ∇b_k (local = 1).
  function productPanel(heading, parent, a, factorName, factorValue, extra) {
    const edge = edgeOf(parent, a);
    return [
      el("h2", { text: heading }),
      el("p", { class: "formula" }, `∂L/∂${label(parent)} = ∂L/∂${label(a)} · ${factorName}`),
      el(
        "p",
        { class: "formula", "data-role": "product" },
        num(nodes.get(parent).grad, "grad"),
        " = ",
        num(nodes.get(a).grad, "child-grad"),
        " × ",
        num(factorValue, "local")
      ),
      ...extra,
      el(
        "p",
        { class: "hint" },
        `Lit: ${label(parent)}, its edge into ${label(a)} (it carries ${factorName} = ` +
          `${fmt(edge.local)}, the local derivative ∂${label(a)}/∂${label(parent)}), ` +
          `and every path from ${label(a)} to ${label(root)}.`
      ),
    ];
  }

  function nodePanel(id, heading) {
    const node = nodes.get(id);
    const title = heading || label(id) + (node.name && node.op ? " · " + node.op : "");
    const content = [
      el("h2", { text: title }),
      el("p", {}, "data ", num(node.data, "data"), ` · grad ∂L/∂${label(id)} = `, num(node.grad, "grad")),
    ];
    if (replaying && node.ready > step) {
      content.push(
        el("p", { class: "hint" }, `In the replay (at step ${step}) this grad is complete at step ${node.ready}.`)
      );
    }
    if (id === root) {
      content.push(el("p", {}, `${label(id)} is where backward starts: ∂${label(id)}/∂${label(id)} = 1.`));
      return content;
    }
    content.push(
      el(
        "p",
        {},
        `Chain rule: ∂L/∂${label(id)} is the sum, over the edges out of ${label(id)}, of the ` +
          "child's grad times the edge's local derivative:"
      )
    );
    const rows = outward.get(id).map((edge) =>
      el(
        "tr",
        { "data-role": "term", "data-edge": edge.id, "data-child": edge.child },
        el("td", { text: label(edge.child) }),
        el("td", {}, num(nodes.get(edge.child).grad, "child-grad")),
        el("td", {}, "× ", num(edge.local, "local")),
        el("td", {}, "= ", num(edge.term, "term"))
      )
    );
    const total = el(
      "tr",
      { class: "total" },
      el("td", { text: "sum" }),
      el("td"),
      el("td"),
      el("td", {}, "= ", num(node.grad, "sum"))
    );
    const head = el(
      "tr",
      {},
      el("th", { text: "child" }),
      el("th", { text: "∂L/∂child" }),
      el("th", { text: `∂child/∂${label(id)}` }),
      el("th", { text: "term" })
    );
    content.push(el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows, total)));
    return content;
  }

  function stepPanel() {
    if (step === 0) {
      return [
        el("h2", { text: `Step 0 of ${steps}: before the backward pass` }),
        el("p", {}, `No grad is known yet. Step ▶ (→) processes ${label(root)} first.`),
      ];
    }
    const id = data.order[step - 1];
    const node = nodes.get(id);
    const content = [
      el("h2", { text: `Step ${step} of ${steps}: ${label(id)}` }),
      el(
        "p",
        {},
        `Its grad is complete: ∂L/∂${label(id)} = `,
        num(node.grad, "grad"),
        id === root ? " (the seed)." : "."
      ),
      el("p", {}, `Backward sends grad × ∂${label(id)}/∂parent to each parent (blue edges):`),
    ];
    const rows = inward.get(id).map((edge) =>
      el(
        "tr",
        { "data-role": "sent", "data-edge": edge.id, "data-parent": edge.parent },
        el("td", { text: label(edge.parent) }),
        el("td", {}, num(edge.local, "local")),
        el("td", {}, "→ ", num(edge.term, "term"))
      )
    );
    const head = el(
      "tr",
      {},
      el("th", { text: "parent" }),
      el("th", { text: `∂${label(id)}/∂parent` }),
      el("th", { text: "adds to its grad" })
    );
    content.push(el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)));
    content.push(
      el("p", { class: "hint" }, "A grad shows once every node it feeds has been processed; “?” until then.")
    );
    return content;
  }

  // ---- choosing an entry or a node ----

  function layerOf(button) {
    return data.layers[Number(button.dataset.k) - 1];
  }

  function chooseWeight(button) {
    const layer = layerOf(button);
    const [i, j] = [Number(button.dataset.i), Number(button.dataset.j)];
    const [w, a, h] = [layer.W[i - 1][j - 1], layer.a[i - 1], layer.h_prev[j - 1]];
    const paths = pathsToRoot(a);
    const formula = el(
      "p",
      {},
      `The formula ∇a${layer.k} L · ${hName(layer)}ᵀ at [${i},${j}]: `,
      num(layer.grad_W_formula[i - 1][j - 1], "formula")
    );
    const heading = `∇W${layer.k} L, entry [${i},${j}]`;
    const content = productPanel(heading, w, a, label(h), nodes.get(h).data, [formula]);
    choose(button, [w, ...paths.nodes], [edgeOf(w, a).id, ...paths.edges], content, w);
  }

  function chooseBias(button) {
    const layer = layerOf(button);
    const i = Number(button.dataset.i);
    const [b, a] = [layer.b[i - 1], layer.a[i - 1]];
    const paths = pathsToRoot(a);
    const content = productPanel(`∇b${layer.k} L, entry [${i}]`, b, a, "1", edgeOf(b, a).local, []);
    choose(button, [b, ...paths.nodes], [edgeOf(b, a).id, ...paths.edges], content, b);
  }

  function choosePreActivation(button) {
    const layer = layerOf(button);
    const i = Number(button.dataset.i);
    const a = layer.a[i - 1];
    const paths = pathsToRoot(a);
    const content = nodePanel(a, `∇a${layer.k} L, entry [${i}]: ∂L/∂${label(a)}`);
    content.push(el("p", { class: "hint" }, `Lit: every path from ${label(a)} to ${label(root)}.`));
    choose(button, paths.nodes, paths.edges, content, a);
  }

  function chooseNode(id, button) {
    const edges = outward.get(id);
    const lit = [id, ...edges.map((edge) => edge.child)];
    const content = nodePanel(id);
    if (edges.length) {
      content.push(el("p", { class: "hint" }, `Lit: ${label(id)} and its edges to the nodes it feeds.`));
    }
    choose(button || null, lit, edges.map((edge) => edge.id), content, id);
  }

  // ---- replaying the backward pass ----

  function showStep(s) {
    step = Math.max(0, Math.min(steps, s));
    replaying = true;
    choose(null, [], [], stepPanel(), step > 0 ? data.order[step - 1] : null);
    render();
  }

  function render() {
    for (const node of data.nodes) {
      const [text, full] = gradText.get(node.id);
      const known = node.ready <= step;
      text.textContent = known ? full : "grad ?";
      document.getElementById(node.id).classList.toggle("pending", !known);
    }
    const current = replaying && step > 0 ? data.order[step - 1] : null;
    mark("current", current ? [current] : []);
    mark("sending", current ? inward.get(current).map((edge) => edge.id) : []);
    document.body.dataset.step = String(step);
    status.textContent = !replaying
      ? `Backward pass done (${steps} steps). Reset (Home) replays it.`
      : step === 0
        ? `Step 0 of ${steps}: before backward`
        : `Step ${step} of ${steps}: ${label(current)}`;
    buttons.back.disabled = step === 0;
    buttons.step.disabled = replaying && step === steps;
  }

  function stepBy(delta) {
    pause();
    if (replaying) showStep(step + delta);
    else showStep(delta > 0 ? 1 : steps - 1); // from the finished pass: → starts the replay
  }

  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    buttons.play.textContent = "Play";
    buttons.play.setAttribute("aria-pressed", "false");
  }

  function startTimer() {
    if (timer !== null) clearInterval(timer);
    timer = setInterval(() => {
      showStep(step + 1);
      if (step >= steps) pause();
    }, 1000 / Number(speed.value));
  }

  function togglePlay() {
    if (timer !== null) return pause();
    if (!replaying || step >= steps) showStep(0);
    buttons.play.textContent = "Pause";
    buttons.play.setAttribute("aria-pressed", "true");
    startTimer();
  }

  function showSpeed() {
    document.getElementById("speed-shown").textContent = `${speed.value} steps/s`;
    if (timer !== null) startTimer();
  }

  // ---- zoom ----

  const natural = [parseFloat(svg.getAttribute("width")), parseFloat(svg.getAttribute("height"))];

  function setZoom(z) {
    zoom = Math.min(2, Math.max(0.25, Math.round(z * 20) / 20));
    svg.style.width = natural[0] * zoom + "pt";
    svg.style.height = natural[1] * zoom + "pt";
    document.getElementById("zoom-shown").textContent = Math.round(zoom * 100) + "%";
  }

  // ---- building the page ----

  function hName(layer) {
    return layer.k === 1 ? "x" : `h${layer.k - 1}`;
  }

  function summary() {
    const net = data.network;
    const target = Array.isArray(net.target)
      ? `target y = ${vector(net.target)}`
      : `label ${net.target} (the notes' ℓ = ${net.target + 1})`;
    return (
      `MLP ${net.sizes.join(" → ")} · hidden ${net.hidden} · output ${net.output} · ` +
      `loss ${net.loss.replace("_", "-")} · x = ${vector(net.x)} · ${target} · ` +
      `ŷ = ${vector(net.y_hat)} · L = ${fmt(net.L)}`
    );
  }

  function matrix(caption, rows) {
    return el(
      "table",
      { class: "matrix" },
      el("caption", { text: caption }),
      el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((cell) => el("td", {}, cell)))))
    );
  }

  function entry(kind, layer, value, i, j, text) {
    const props = { type: "button", class: "entry", "data-kind": kind, "data-k": layer.k, "data-i": i };
    if (j !== undefined) props["data-j"] = j;
    props["aria-label"] = `${text} = ${fmt(value)}`;
    props["aria-pressed"] = "false";
    return el("button", props, num(value));
  }

  function layerSection(layer) {
    const k = layer.k;
    const h = hName(layer);
    const grad = (id) => nodes.get(id).grad;
    const hColumn = layer.h_prev.map((id, j) => [
      entry("h", layer, nodes.get(id).data, j + 1, undefined, label(id)),
    ]);
    const aColumn = layer.a.map((id, i) => [entry("a", layer, grad(id), i + 1, undefined, `∇a${k} L [${i + 1}]`)]);
    const bColumn = layer.b.map((id, i) => [entry("b", layer, grad(id), i + 1, undefined, `∇b${k} L [${i + 1}]`)]);
    const engineW = layer.W.map((row, i) =>
      row.map((id, j) => entry("W", layer, grad(id), i + 1, j + 1, `∇W${k} L [${i + 1},${j + 1}]`))
    );
    const formulaW = layer.grad_W_formula.map((row) => row.map((x) => el("span", { class: "fixed" }, num(x))));
    return el(
      "section",
      { class: "layer", "data-k": k },
      el("h2", { text: `Layer ${k}: a${k} = b${k} + W${k}·${h}, h${k} = ${layer.activation}(a${k})` }),
      el(
        "div",
        { class: "row" },
        matrix(k === 1 ? "x (h0)" : h, hColumn),
        matrix(`∇a${k} L`, aColumn),
        matrix(`∇b${k} L`, bColumn)
      ),
      el(
        "div",
        { class: "row" },
        matrix(`∇W${k} L (engine)`, engineW),
        matrix(`∇a${k} L · ${h}ᵀ (formula)`, formulaW)
      ),
      el("p", { class: "diff" }, `largest |engine − formula| in layer ${k}: `, num(layer.max_abs_diff))
    );
  }

  const choosers = {
    W: chooseWeight,
    b: chooseBias,
    a: choosePreActivation,
    h: (button) => chooseNode(layerOf(button).h_prev[Number(button.dataset.i) - 1], button),
  };

  function build() {
    document.getElementById("summary").textContent = summary();
    const matrices = document.getElementById("matrices");
    matrices.replaceChildren(...[...data.layers].reverse().map(layerSection));
    matrices.addEventListener("click", (event) => {
      const button = event.target.closest("button.entry");
      if (button) choosers[button.dataset.kind](button);
    });
    for (const node of data.nodes) {
      const g = document.getElementById(node.id);
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", `${label(node.id)}: data ${fmt(node.data)}, grad ${fmt(node.grad)}`);
      const texts = [...g.querySelectorAll("text")];
      const text = texts.findLast((t) => t.textContent.startsWith("grad ")); // the last row
      text.classList.add("grad");
      gradText.set(node.id, [text, text.textContent]);
      g.addEventListener("click", () => chooseNode(node.id));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          chooseNode(node.id);
        }
      });
    }
    buttons.reset.addEventListener("click", () => {
      pause();
      showStep(0);
    });
    buttons.back.addEventListener("click", () => stepBy(-1));
    buttons.step.addEventListener("click", () => stepBy(1));
    buttons.play.addEventListener("click", togglePlay);
    speed.addEventListener("input", showSpeed);
    document.getElementById("zoom-in").addEventListener("click", () => setZoom(zoom + 0.1));
    document.getElementById("zoom-out").addEventListener("click", () => setZoom(zoom - 0.1));
    const keys = {
      ArrowRight: () => stepBy(1),
      ArrowLeft: () => stepBy(-1),
      Home: () => buttons.reset.click(),
      End: () => {
        pause();
        showStep(steps);
      },
      p: togglePlay,
      P: togglePlay,
      Escape: clearChoice,
    };
    document.addEventListener("keydown", (event) => {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.target instanceof HTMLInputElement) return; // the slider keeps its arrows
      const action = keys[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });
    const pane = document.getElementById("graph").clientWidth;
    setZoom(Math.min(1, Math.max(0.6, pane / (natural[0] * (4 / 3)))));
    showSpeed();
    clearChoice();
    render();
  }

  build();
})();
