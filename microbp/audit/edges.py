"""Two lines on what users write and meet: extreme inputs, and the reflected operators.

*Extreme inputs*: each op at points where the right answer is a finite number but a direct
formula overflows or underflows (``tanh(356)`` by way of ``exp(2x)``, ``sigmoid(-800)`` by way
of ``1 / (1 + exp(800))``, ``log(1e-300)``, ``x ** 0`` at 0). *Reflected operators*: ``2 + x``,
``2 - x``, ``2 * x``, ``2 / x`` and ``2 ** x``, which Python sends to ``x.__radd__`` … when the
number on the left declines; a missing one is named.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

from microbp.audit import progress
from microbp.audit.adapter import Engine
from microbp.audit.checks import Failed, check_program, describe_error, read, reference
from microbp.audit.ops import OPS
from microbp.audit.program import LEAF, Instruction, Program, StepFailed
from microbp.audit.properties import counterexample, run_program
from microbp.audit.report import FAIL, NOT_SUPPORTED, PASS, SKIPPED, Counterexample, PropertyResult
from microbp.audit.support import REFLECTED

#: (op, its operands in written order) where the right value and derivatives are finite.
EXTREMES: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("exp", (-800.0,)),
    ("exp", (700.0,)),
    ("tanh", (356.0,)),
    ("tanh", (-356.0,)),
    ("tanh", (800.0,)),
    ("tanh", (-800.0,)),
    ("sigmoid", (800.0,)),
    ("sigmoid", (-800.0,)),
    ("log", (1e-300,)),
    ("log", (1e300,)),
    ("pow", (0.0, 0.0)),
    ("pow", (1e-300, 2.0)),
    ("div", (1.0, 1e150)),
    ("relu", (-800.0,)),
)
#: The base of ``2 ** x``, and where x is.
BASE, EXPONENT = 2.0, 1.5


def _program(op: str, operands: tuple[float, ...]) -> Program:
    kinds = OPS[op].operands
    leaves = [Instruction(LEAF, number=x) for x, k in zip(operands, kinds) if k == "n"]
    number = next((x for x, k in zip(operands, kinds) if k == "c"), None)
    if number is not None and number.is_integer():
        number = int(number)
    return Program((*leaves, Instruction(op, tuple(range(len(leaves))), number)))


def extreme_programs(supported: Collection[str]) -> Iterator[Program]:
    """The `EXTREMES` of the ops ``supported`` whose right numbers microbp computes finite."""
    for op, operands in EXTREMES:
        if op not in supported:
            continue
        program = _program(op, operands)
        try:
            reference(program)
        except (StepFailed, ArithmeticError, ValueError):
            continue
        yield program


def _at(program: Program) -> str:
    """``x.tanh() at x = 356.0``."""
    ins = program.instructions[-1]
    written = OPS[ins.op].write(
        [repr(ins.number) if kind == "c" else "x" for kind in OPS[ins.op].operands]
    )
    points = [repr(program.instructions[a].number) for a in ins.args]
    return f"{written} at x = {points[0]}" if len(points) == 1 else f"{written} at {points}"


def extreme_inputs(
    engine: Engine, supported: Collection[str], svg_dir: Path | None = None
) -> PropertyResult:
    """Each op of ``supported`` at its `EXTREMES`: value and derivatives as microbp's."""
    key, title = "extreme_inputs", "extreme inputs"
    programs = list(extreme_programs(supported))
    if not programs:
        return PropertyResult(key, title, SKIPPED, 0, "none of the ops with extreme points")
    wrong = []
    for program in programs:
        run_program(engine, program)
        try:
            check_program(engine, program)
        except Failed as failed:
            wrong.append(failed.discrepancy)
    if not wrong:
        return PropertyResult(key, title, PASS, len(programs), "±800, 356, 1e-300, x ** 0 at 0…")
    svg = svg_dir / f"{key}.svg" if svg_dir is not None else None
    example = counterexample(engine, wrong[0], svg)
    what = [f"{_at(d.program)}: {counterexample(engine, d).summary}" for d in wrong]
    return PropertyResult(key, title, FAIL, len(programs), "; ".join(what), example)


def _rpow_snippet(engine: Engine, comment: str) -> str:
    return "\n".join(
        [
            engine.setup,
            "",
            f"x = {engine.write_leaf(EXPONENT)}",
            f"y = {BASE!r} ** x",
            "y.backward()",
            f"print(x.grad){comment}",
        ]
    )


def _rpow(engine: Engine) -> tuple[str, Counterexample | None]:
    """What goes wrong with ``2 ** x``: "" if nothing, or what, with an example."""
    right = BASE**EXPONENT * 0.6931471805599453  # d(2**x)/dx = 2**x · ln 2
    progress.announce(lambda: _rpow_snippet(engine, ""), 1)
    try:
        x = engine.adapter.leaf(EXPONENT)
        y = BASE**x
        engine.adapter.backward(y)
        data, grad = read(engine, "data", y, "y"), read(engine, "grad", x, "x")
    except TypeError:
        return "`2 ** x` raises TypeError: no `__rpow__`", None
    except (Exception, SystemExit) as error:  # sys.exit in an engine is its failure too
        error_text = describe_error(error)
        example = Counterexample(
            _rpow_snippet(engine, f"  # raises {error_text}"),
            "x",
            "grad",
            None,
            right,
            error_text,
            1,
        )
        return f"`2 ** x` raises {error_text}", example
    if abs(data - BASE**EXPONENT) > 1e-9 or abs(grad - right) > 1e-9:
        comment = f"  # this engine: {grad!r}, right: {right!r}"
        example = Counterexample(_rpow_snippet(engine, comment), "x", "grad", grad, right, "", 1)
        return f"`2 ** x` at x = 1.5: grad {grad!r}, right {right!r}", example
    return "", None


def reflected(engine: Engine, results: dict[str, PropertyResult]) -> PropertyResult:
    """``2 + x`` … ``2 ** x`` (an adapter's ``number_add`` …), a missing reflected method
    named: a failure where the engine has the op the other way round (``x * 2``), since users
    write both."""
    key, title = "reflected", "2 + x … 2 ** x"
    wrong = []
    for op in REFLECTED:
        line = results.get(f"op:{op}")
        forward = results.get(f"op:{op.removeprefix('number_')}_number")
        if line is None or line.status != NOT_SUPPORTED:
            continue  # there, or wrong: its own line says so
        if forward is not None and forward.status == PASS:  # else: no numbers on either side
            wrong.append(line.detail)
    example = None
    if engine.operators:  # an adapter has no op for 2 ** x
        pow_value = results.get("op:pow_value")
        problem, example = _rpow(engine)
        if problem and ((pow_value is not None and pow_value.status == PASS) or example):
            wrong.append(problem)
    tried = len(REFLECTED) + engine.operators
    if wrong:
        return PropertyResult(key, title, FAIL, tried, "; ".join(wrong), example)
    return PropertyResult(key, title, PASS, tried, "")
