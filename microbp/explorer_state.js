// The page's script, part 1 of 5: its state, and the numbers it shows. The five parts
// (explorer_state.js, explorer_tables.js, explorer_scalar.js, explorer_panel.js, explorer.js)
// share one function scope: microbp.explorer joins them, in that order, inside one function,
// after explorer_model.js (the pass), explorer_chain.js (the scalar graph's pass) and
// explorer_view.js (the layer view's drawing). The numbers of the layer view and the matrices
// come from MicrobpModel, recomputed after each edit; the scalar graph's are the engine's own,
// embedded as data when the page was written, until an edit: then MicrobpChain's.
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

