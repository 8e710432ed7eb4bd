"""Counterexamples as runnable Python: the user's own engine, the steps that go wrong.

A snippet imports the engine as the target named it, builds the program node by node (one line
each, named as `Program.names` says), runs what the failing check ran, and prints the number
that is wrong, with the engine's number and the right one in a comment beside it.
"""

from __future__ import annotations

from microbp.audit.adapter import Engine
from microbp.audit.checks import Discrepancy
from microbp.audit.ops import OPS
from microbp.audit.program import LEAF, Program


def _build(
    engine: Engine, program: Program, last: int, skip: frozenset[int] = frozenset()
) -> list[str]:
    """One line per node up to ``last``, leaving out the nodes in ``skip`` (kept from before)."""
    names = program.names()
    lines = []
    for i, ins in enumerate(program.instructions[: last + 1]):
        if i in skip:
            continue
        if ins.op == LEAF:
            lines.append(f"{names[i]} = {engine.write_leaf(ins.number)}")  # type: ignore[arg-type]
        else:
            operands = [
                repr(o) if isinstance(o, (int, float)) else o for o in program.operands(i, names)
            ]
            lines.append(f"{names[i]} = {engine.write_op(ins.op, operands)}")
    return lines


def _comment(d: Discrepancy) -> str:
    if d.error:
        return f"  # raises {d.error}"
    return f"  # this engine: {d.engine!r}, right: {d.right!r}"


def _show(engine: Engine, d: Discrepancy) -> str:
    """The line that prints the wrong number, with both numbers in a comment."""
    name = d.program.names()[d.node]
    return f"print({engine.write_read(d.quantity, name)}){_comment(d)}"


def _sgd_step(engine: Engine, d: Discrepancy) -> list[str]:
    names = d.program.names()
    parameters = d.extra["parameters"]
    lines = [f"lr = {d.extra['lr']!r}"]
    for p in parameters:
        v = names[p]
        new = f"{engine.write_read('data', v)} - lr * {engine.write_read('grad', v)}"
        line = engine.write_set_data(v, new)
        if d.stage == "sgd step" and d.error and d.node == p:
            return [*lines, line + _comment(d)]
        lines.append(line)
    return lines


def write(engine: Engine, d: Discrepancy) -> str:
    """The runnable snippet showing ``d`` on ``engine``."""
    program = d.program
    root = program.names()[-1]
    lines = [engine.setup, ""]
    if d.stage == "forward":
        lines += _build(engine, program, d.node)
        if d.error:
            lines[-1] += _comment(d)
        else:
            lines.append(_show(engine, d))
        return "\n".join(lines)
    lines += _build(engine, program, len(program) - 1)
    backward = engine.write_backward(root)
    if d.stage == "backward":
        lines.append(backward + _comment(d) if d.error else backward)
        if not d.error:
            lines.append(_show(engine, d))
    elif d.stage == "second backward":
        if d.error:
            lines += [backward, backward + _comment(d)]
        else:
            name = program.names()[d.node]
            once = d.extra["once"]
            lines += [backward, f"print({engine.write_read('grad', name)})  # {once!r}"]
            lines += [backward, _show(engine, d)]
    else:  # "sgd step" or "after the step"
        lines.append(backward)
        lines += _sgd_step(engine, d)
        if d.stage == "sgd step" and not d.error:
            lines.append(_show(engine, d))
        elif d.stage == "after the step":
            lines.append("# the forward pass again, on the updated parameters")
            lines += _build(engine, program, d.node, frozenset(d.extra["parameters"]))
            if d.error:
                lines[-1] += _comment(d)
            else:
                lines.append(_show(engine, d))
    return "\n".join(lines)


def write_chain(
    engine: Engine, op: str, depth: int, failure: str, line: str, quantity: str = "grad"
) -> str:
    """A chain of ``depth`` ops ``op`` from one leaf, backward, and the leaf's grad (or with
    ``quantity`` "data", the root's data); the comment ``failure`` goes on the ``line`` that
    fails: "forward", "backward" or "grad" (the last)."""
    operands = ["y" if kind == "n" else "1.0" for kind in OPS[op].operands]
    comment = {line: f"  # {failure}"}
    return "\n".join(
        [
            engine.setup,
            "",
            f"x = {engine.write_leaf(0.5)}",
            "y = x",
            f"for _ in range({depth}):",
            f"    y = {engine.write_op(op, operands)}{comment.get('forward', '')}",
            f"{engine.write_backward('y')}{comment.get('backward', '')}",
            f"print({engine.write_read(quantity, 'x' if quantity == 'grad' else 'y')})"
            + comment.get("grad", ""),
        ]
    )


def write_run(engine: Engine, program: Program, passes: int = 1) -> str:
    """The example as the audit runs it: every node made, then ``passes`` backward passes."""
    lines = [engine.setup, "", *_build(engine, program, len(program) - 1)]
    lines += [engine.write_backward(program.names()[-1])] * passes
    return "\n".join(lines)
