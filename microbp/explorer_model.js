// The network's forward and backward pass in the notes' matrix formulas, so the page can
// recompute after an edit. Each elementary rule is the engine's (microbp/engine.py, nn.py):
// a_k = fsum(b_k, W_kij·h_{k-1,j}); σ and tanh and their derivatives from e^{-|a|}; relu'(0) = 0;
// softmax shifted by max(a); L = −log ŷ_ℓ or Σ_i (ŷ_i − y_i)² (no ½). The browser tests hold
// these numbers to the Python engine's to 1e-12.
"use strict";
const MicrobpModel = (function () {
  // Σ values correctly rounded, as Python's math.fsum (Shewchuk's partials, then the
  // half-way correction), so a_k is the same number the engine's affine node holds.
  function fsum(values) {
    const partials = [];
    for (let x of values) {
      let n = 0;
      for (let y of partials) {
        if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
        const hi = x + y;
        const lo = y - (hi - x);
        if (lo !== 0) partials[n++] = lo;
        x = hi;
      }
      partials.length = n;
      partials.push(x);
    }
    let n = partials.length;
    if (n === 0) return 0;
    let hi = partials[--n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = partials[--n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }

  // h = g(a) and g'(a), entry by entry, by the engine's rules.
  const ACTIVATIONS = {
    sigmoid(a) {
      const e = Math.exp(-Math.abs(a));
      const s = 1 + e;
      return [a >= 0 ? 1 / s : e / s, e / (s * s)];
    },
    tanh(a) {
      const e = Math.exp(-2 * Math.abs(a));
      const s = 1 + e;
      return [Math.tanh(a), (4 * e) / (s * s)];
    },
    relu: (a) => (a > 0 ? [a, 1] : [0, 0]),
    linear: (a) => [a, 1],
  };

  function softmax(a) {
    const m = Math.max(...a);
    const e = a.map((v) => Math.exp(v - m));
    const total = fsum(e);
    return e.map((v) => v / total);
  }

  class PassError extends Error {}

  function finite(values, what) {
    if (!values.every(Number.isFinite)) {
      throw new PassError(`${what} is not finite; use smaller numbers`);
    }
    return values;
  }

  // The forward pass: a[k-1] = a_k, h[k] = h_k (h[0] = x), gPrime[k-1] = g'(a_k) (null for
  // softmax, whose Jacobian is a matrix), and the loss L.
  function forward(net) {
    const h = [net.x.slice()];
    const a = [];
    const gPrime = [];
    net.W.forEach((W, k) => {
      const a_k = W.map((row, i) => fsum([net.b[k][i], ...row.map((w, j) => w * h[k][j])]));
      finite(a_k, `a${k + 1}`);
      a.push(a_k);
      if (net.activations[k] === "softmax") {
        h.push(softmax(a_k));
        gPrime.push(null);
      } else {
        const pairs = a_k.map(ACTIVATIONS[net.activations[k]]);
        h.push(pairs.map((p) => p[0]));
        gPrime.push(pairs.map((p) => p[1]));
      }
    });
    const y_hat = h[h.length - 1];
    let L;
    if (net.loss === "cross_entropy") {
      if (!(y_hat[net.target] > 0)) {
        throw new PassError(`cross-entropy needs ŷ[${net.target + 1}] > 0, got ${y_hat[net.target]}`);
      }
      L = -Math.log(y_hat[net.target]);
    } else {
      L = fsum(y_hat.map((p, i) => (p - net.target[i]) * (p - net.target[i])));
    }
    finite([L], "L");
    return { a, h, gPrime, L };
  }

  // ∇a_k from ∇h_k: ∇h ⊙ g'(a), or for softmax ŷ ⊙ (∇h − ŷ·∇h).
  function backpropActivation(fw, k, grad_h) {
    const g = fw.gPrime[k - 1];
    if (g) return grad_h.map((v, i) => v * g[i]);
    const y = fw.h[k];
    const dot = y.reduce((s, v, i) => s + v * grad_h[i], 0);
    return y.map((v, i) => v * (grad_h[i] - dot));
  }

  // The backward pass in the notes' steps; gradA[k-1] = ∇a_k, gradH[k] = ∇h_k (gradH[0] = ∇x).
  function backward(net, fw) {
    const n = net.W.length;
    const y_hat = fw.h[n];
    const gradA = new Array(n);
    const gradH = new Array(n + 1);
    const gradW = new Array(n);
    const gradB = new Array(n);
    if (net.loss === "cross_entropy") {
      const p = y_hat[net.target];
      gradH[n] = y_hat.map((_, i) => (i === net.target ? -1 / p : 0));
      gradA[n - 1] =
        net.activations[n - 1] === "softmax"
          ? y_hat.map((v, i) => (i === net.target ? v - 1 : v)) // ŷ − e_ℓ
          : backpropActivation(fw, n, gradH[n]);
    } else {
      gradH[n] = y_hat.map((v, i) => 2 * (v - net.target[i]));
      gradA[n - 1] = backpropActivation(fw, n, gradH[n]);
    }
    for (let k = n; k >= 1; k--) {
      const ga = gradA[k - 1];
      gradW[k - 1] = ga.map((g) => fw.h[k - 1].map((h) => g * h));
      gradB[k - 1] = ga.slice();
      const W = net.W[k - 1];
      gradH[k - 1] = fw.h[k - 1].map((_, j) => ga.reduce((s, g, i) => s + W[i][j] * g, 0));
      if (k > 1) gradA[k - 2] = backpropActivation(fw, k - 1, gradH[k - 1]);
    }
    for (const q of [...gradA, ...gradH, ...gradW.flat()]) finite(q, "a gradient");
    return { gradA, gradH, gradW, gradB };
  }

  // Everything one pass of `net` shows: the forward quantities and the gradients.
  function run(net) {
    const fw = forward(net);
    return { ...fw, ...backward(net, fw) };
  }

  // One SGD step W ← W − η∇W, b ← b − η∇b: the new weights and biases, or a PassError (and
  // nothing changed) if one is not finite.
  function sgdStep(net, pass, lr) {
    const W = net.W.map((Wk, k) => Wk.map((row, i) => row.map((w, j) => w - lr * pass.gradW[k][i][j])));
    const b = net.b.map((bk, k) => bk.map((v, i) => v - lr * pass.gradB[k][i]));
    finite([...W.flat(2), ...b.flat()], "the SGD step");
    return { W, b };
  }

  // The notes' steps, forward then backward layer by layer: each a name, the formula, and the
  // quantities it computes ("a2", "gW2", …: q + k).
  function steps(net) {
    const n = net.W.length;
    const g = (k) => GPRIME_NAMES[net.activations[k - 1]] || "g";
    const h = (k) => (k === 0 ? "x" : `h${k}`);
    const list = [];
    for (let k = 1; k <= n; k++) {
      const act = net.activations[k - 1];
      list.push({
        name: `forward, layer ${k}`,
        formula: `a${k} = b${k} + W${k} ${h(k - 1)},  h${k} = ${ACTIVATION_SYMBOL[act]}(a${k})`,
        computes: [`a${k}`, `h${k}`],
      });
    }
    list.push({ name: "the loss", formula: lossFormula(net), computes: ["L"] });
    const outputSoftmax = net.activations[n - 1] === "softmax";
    if (net.loss === "cross_entropy" && outputSoftmax) {
      list.push({ name: "softmax and cross-entropy together", formula: `∇a${n} = ŷ − e_ℓ`, computes: [`ga${n}`, `gh${n}`] });
    } else {
      const gradH =
        net.loss === "cross_entropy" ? `∇h${n} = ∇ŷ = −e_ℓ / ŷ_ℓ` : `∇h${n} = ∇ŷ = 2(ŷ − y)`;
      list.push({ name: "the loss's gradient", formula: gradH, computes: [`gh${n}`] });
      const gradA = outputSoftmax
        ? `∇a${n} = ŷ ⊙ (∇h${n} − (ŷ·∇h${n}))`
        : `∇a${n} = ∇h${n} ⊙ ${g(n)}(a${n})`;
      list.push({ name: `layer ${n}'s activation`, formula: gradA, computes: [`ga${n}`, `gp${n}`] });
    }
    for (let k = n; k >= 1; k--) {
      list.push({ name: `∇W${k}`, formula: `∇W${k} = ∇a${k} ${h(k - 1)}ᵀ`, computes: [`gW${k}`] });
      list.push({ name: `∇b${k}`, formula: `∇b${k} = ∇a${k}`, computes: [`gb${k}`] });
      const back = k === 1 ? "∇x = ∇h0" : `∇h${k - 1}`;
      list.push({ name: back, formula: `${back} = W${k}ᵀ ∇a${k}`, computes: [`gh${k - 1}`] });
      if (k > 1) {
        list.push({
          name: `∇a${k - 1}`,
          formula: `∇a${k - 1} = ∇h${k - 1} ⊙ ${g(k - 1)}(a${k - 1})`,
          computes: [`ga${k - 1}`, `gp${k - 1}`],
        });
      }
    }
    return list;
  }

  const ACTIVATION_SYMBOL = { sigmoid: "σ", tanh: "tanh", relu: "relu", linear: "id", softmax: "softmax" };
  const GPRIME_NAMES = { sigmoid: "σ′", tanh: "tanh′", relu: "relu′", linear: "id′" };
  // How each local derivative is named where it is shown.
  const GPRIME_RULES = {
    sigmoid: "σ′(a) = h(1 − h)",
    tanh: "tanh′(a) = 1 − h²",
    relu: "relu′(a) = 1 if a > 0, else 0",
    linear: "id′(a) = 1",
  };

  function lossFormula(net) {
    return net.loss === "cross_entropy"
      ? `L = −log ŷ_ℓ  (ℓ = ${net.target + 1})`
      : "L = Σᵢ (ŷᵢ − yᵢ)²";
  }

  return {
    fsum, finite, forward, backward, run, sgdStep, steps, lossFormula, PassError,
    ACTIVATIONS, ACTIVATION_SYMBOL, GPRIME_NAMES, GPRIME_RULES,
  };
})();
