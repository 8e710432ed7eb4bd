// The scalar graph's own pass, so the page can show it after an edit: each node recomputed
// from its parents by its op's rule (microbp/ops.py's, with the model's sums and activations),
// then the chain rule backwards over the edges, in the engine's order (microbp/passes.py):
// each node's grad complete before it sends grad × local to its parents. The browser tests
// hold its numbers to the Python engine's.
"use strict";
const MicrobpChain = (function () {
  const { fsum, ACTIVATIONS } = MicrobpModel;

  // op label → (operands' data) → [value, local derivative for each operand]
  const RULES = {
    affine(p) {
      const n = (p.length - 1) / 2;
      const w = p.slice(1, 1 + n);
      const h = p.slice(1 + n);
      return [fsum([p[0], ...w.map((wj, j) => wj * h[j])]), [1, ...h, ...w]];
    },
    sum: (p) => [fsum(p), p.map(() => 1)],
    max: (p) => [Math.max(...p), p.map(() => 0)],
    "+": ([x, y]) => [x + y, [1, 1]],
    "-": ([x, y]) => [x - y, [1, -1]],
    "*": ([x, y]) => [x * y, [y, x]],
    "/": ([x, y]) => [x / y, [1 / y, -(x / y) / y]],
    neg: ([x]) => [-x, [-1]],
    exp: ([x]) => {
      const e = Math.exp(x);
      return [e, [e]];
    },
    log: ([x]) => [Math.log(x), [1 / x]],
  };
  for (const name of ["sigmoid", "tanh", "relu"]) {
    RULES[name] = ([x]) => {
      const [h, gPrime] = ACTIVATIONS[name](x);
      return [h, [gPrime]];
    };
  }

  function rule(op) {
    if (RULES[op]) return RULES[op];
    const power = /^\*\*(-?\d+)$/.exec(op); // an integer power, labelled **n
    if (power) {
      const n = Number(power[1]);
      return ([x]) => [x ** n, [n === 0 ? 0 : n * x ** (n - 1)]];
    }
    throw new MicrobpModel.PassError(`the page cannot recompute the op ${op}`);
  }

  // The pass over `graph` ({ nodes (parents first), inward: id → edges in operand order,
  // root }), leaves' data from `leaf(id)` (undefined: as embedded): { data, grad: id → number,
  // local: edge id → number }.
  function run(graph, leaf) {
    const data = new Map();
    const local = new Map();
    for (const node of graph.nodes) {
      const edges = graph.inward.get(node.id);
      if (!edges.length) {
        const v = leaf(node.id);
        data.set(node.id, v === undefined ? node.data : v);
        continue;
      }
      const [value, locals] = rule(node.op)(edges.map((e) => data.get(e.parent)));
      MicrobpModel.finite([value, ...locals], node.name || node.op);
      data.set(node.id, value);
      edges.forEach((e, i) => local.set(e.id, locals[i]));
    }
    const grad = new Map(graph.nodes.map((node) => [node.id, 0]));
    grad.set(graph.root, 1);
    for (let n = graph.nodes.length - 1; n >= 0; n--) {
      const id = graph.nodes[n].id;
      const g = grad.get(id);
      for (const e of graph.inward.get(id)) grad.set(e.parent, grad.get(e.parent) + local.get(e.id) * g);
    }
    MicrobpModel.finite([...grad.values()], "a gradient");
    return { data, grad, local };
  }

  return { run };
})();
