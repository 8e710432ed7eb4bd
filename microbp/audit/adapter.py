"""How the audit reaches an engine: the adapter protocol, value classes, and loading a target.

An *adapter* is any object with six methods (`Adapter`); the audit touches the engine only
through them. A micrograd-style value class needs none: `ValueClassAdapter` makes one from it
(``Value(x)``, Python's operators, methods such as ``x.exp()``). `load` turns a target, as the
command takes it (``module:Name``, or ``path/to/file.py:Name``), into an `Engine`: the adapter,
and how a runnable snippet makes the same engine.
"""

from __future__ import annotations

import importlib
import importlib.util
import numbers
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from microbp.audit.ops import OPS

#: The methods an adapter has (`Adapter`).
ADAPTER_METHODS = ("leaf", "apply", "data", "grad", "set_data", "backward")


@runtime_checkable
class Adapter(Protocol):
    """The six methods through which the audit uses an engine. Nodes are the engine's own."""

    def leaf(self, x: float) -> Any:
        """A new leaf node holding the number ``x``."""

    def apply(self, op: str, *operands: Any) -> Any:
        """The node ``op`` (a name in `OPS`) makes of ``operands``, in written order: nodes,
        and plain numbers where the op takes one (``apply("number_div", 2.0, x)`` is 2 / x).
        Raise NotImplementedError for an op the engine does not have."""

    def data(self, node: Any) -> float:
        """The node's value."""
        ...

    def grad(self, node: Any) -> float:
        """The node's grad: its derivative as backward left it."""
        ...

    def set_data(self, node: Any, x: float) -> None:
        """Change a leaf's value to ``x``, as an SGD step does."""

    def backward(self, node: Any) -> None:
        """Run backward from ``node``, as the engine's users call it."""


class ValueClassAdapter:
    """A micrograd-style value class as an adapter: ``cls(x)``, ``.data``, ``.grad``,
    ``.backward()``, Python's operators, and the methods of `ops.METHODS` it has."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def leaf(self, x: float) -> Any:
        return self.cls(x)

    def apply(self, op: str, *operands: Any) -> Any:
        spec = OPS[op]
        if spec.method is not None and not callable(getattr(operands[0], spec.method, None)):
            raise NotImplementedError(f"{self.cls.__name__} has no method {spec.method}()")
        return spec.function(*operands)

    def data(self, node: Any) -> float:
        return node.data  # type: ignore[no-any-return]

    def grad(self, node: Any) -> float:
        return node.grad  # type: ignore[no-any-return]

    def set_data(self, node: Any, x: float) -> None:
        node.data = x

    def backward(self, node: Any) -> None:
        node.backward()


class TargetError(ValueError):
    """The target cannot be imported, or does not look like an engine; the message says why."""


@dataclass(frozen=True)
class Engine:
    """An engine under audit: its adapter, and how a runnable snippet makes and uses it.

    ``setup`` is the snippet's first lines (the imports). With ``operators`` a snippet writes
    ops as Python (``x1 * x2``, ``x1.exp()``) on values made by ``maker(x)``; otherwise it calls
    the adapter, which the setup binds to ``engine``.
    """

    spec: str
    adapter: Adapter
    setup: str
    operators: bool
    maker: str = "engine.leaf"

    def write_leaf(self, x: float) -> str:
        return f"{self.maker}({x!r})"

    def write_op(self, op: str, operands: Sequence[str]) -> str:
        if self.operators:
            return OPS[op].write(operands)
        return f"engine.apply({op!r}, {', '.join(operands)})"

    def write_backward(self, node: str) -> str:
        return f"{node}.backward()" if self.operators else f"engine.backward({node})"

    def write_read(self, quantity: str, node: str) -> str:
        """``x1.grad`` or ``engine.grad(x1)``; ``quantity`` is "data" or "grad"."""
        return f"{node}.{quantity}" if self.operators else f"engine.{quantity}({node})"

    def write_set_data(self, node: str, value: str) -> str:
        return f"{node}.data = {value}" if self.operators else f"engine.set_data({node}, {value})"


def load(target: object) -> Engine:
    """The `Engine` for ``target``: a string ``module:Name`` or ``path/to/file.py:Name``, a
    value class, or an adapter.

    ``Name`` is a value class (a constructor taking a number, ``.data``, ``.grad``,
    ``.backward()``), or a function returning an adapter. Raises `TargetError` (a ValueError)
    when the target cannot be imported or does not look like an engine.
    """
    if isinstance(target, str):
        return _load_spec(target)
    if isinstance(target, type):
        name = target.__qualname__
        spec, setup = f"{target.__module__}:{name}", f"from {target.__module__} import {name}"
        if _is_adapter_class(target):
            return _adapter_engine(target, spec, f"{setup}\n\nengine = {name}()")
        return _value_class_engine(target, spec, setup, name)
    if isinstance(target, Adapter):
        kind = type(target)
        name = kind.__qualname__
        setup = f"from {kind.__module__} import {name}\n\nengine = {name}()"
        return Engine(f"{kind.__module__}:{name}", target, setup, operators=False)
    raise TypeError(
        "audit takes a target 'module:Name', a value class or an adapter, "
        f"got {type(target).__name__} {target!r}"
    )


def _load_spec(spec: str) -> Engine:
    module_part, colon, name = spec.rpartition(":")
    if not colon or not module_part or not name:
        raise TargetError(
            f"target {spec!r} is not module:Name; e.g. micrograd.engine:Value or engine.py:Value"
        )
    if is_file_path(module_part):
        module, import_line = _import_file(spec, Path(module_part), name)
    else:
        module = _import(spec, module_part)
        import_line = f"from {module_part} import {name.partition('.')[0]}"
    found: Any = module
    for part in name.split("."):
        if not hasattr(found, part):
            raise TargetError(f"target {spec!r}: {module_part} has no attribute {name!r}")
        found = getattr(found, part)
    if isinstance(found, type) and not _is_adapter_class(found):
        return _value_class_engine(found, spec, import_line, name)
    if callable(found):
        return _adapter_engine(found, spec, f"{import_line}\n\nengine = {name}()")
    raise TargetError(
        f"target {spec!r} is a {type(found).__name__}, neither a value class "
        "nor a function returning an adapter"
    )


def is_file_path(module_part: str) -> bool:
    """The part before the colon names a file (``engine.py``, ``a/b``), not a module."""
    return module_part.endswith(".py") or "/" in module_part or "\\" in module_part


def absolute_target(spec: str) -> str:
    """A file target with its path made absolute (for a process in another folder); any
    other target as it is."""
    module_part, colon, name = spec.rpartition(":")
    if colon and is_file_path(module_part):
        return f"{Path(module_part).resolve()}:{name}"
    return spec


def _is_adapter_class(cls: type) -> bool:
    """A class with the adapter's methods: the target makes adapters, not values."""
    return all(callable(getattr(cls, m, None)) for m in ADAPTER_METHODS)


def _import(spec: str, module_name: str) -> Any:
    """The module ``module_name``, looked for in the current folder too (as ``python -m``
    does; the ``microbp`` script alone would not), which stays on ``sys.path``."""
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)
    try:
        return importlib.import_module(module_name)
    except (Exception, SystemExit) as error:  # the user's module may raise anything, exit too
        raise TargetError(
            f"target {spec!r}: cannot import {module_name}: {type(error).__name__}: {error}"
        ) from None


def _import_file(spec: str, path: Path, name: str) -> tuple[Any, str]:
    """The module at ``path``, under a name of its own, and a snippet's lines importing it.

    As when the file is run as a script, its folder goes first on ``sys.path`` (and stays), so
    that it can import the modules beside it.
    """
    if not path.is_file():
        raise TargetError(f"target {spec!r}: there is no file {str(path)!r}")
    folder = str(path.resolve().parent)
    module_name = f"microbp_audit_file_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise TargetError(f"target {spec!r}: {str(path)!r} cannot be imported as Python")
    module = importlib.util.module_from_spec(module_spec)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up there
    try:
        module_spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        del sys.modules[module_name]
        raise TargetError(
            f"target {spec!r}: running {str(path)!r} raised {type(error).__name__}: {error}"
        ) from None
    first = name.partition(".")[0]
    return module, f"import sys\n\nsys.path.insert(0, {folder!r})\nfrom {path.stem} import {first}"


def _value_class_engine(cls: type, spec: str, setup: str, maker: str) -> Engine:
    """The engine of a value class, once ``cls(1.5)`` is seen to look like a value."""
    what = f"{spec} does not look like an engine's value class"
    try:
        value = cls(1.5)
    except (Exception, SystemExit) as error:
        raise TargetError(f"{what}: {maker}(1.5) raised {type(error).__name__}: {error}") from None
    try:
        data = value.data
        has_grad = hasattr(value, "grad")
        backward = getattr(value, "backward", None)
    except (Exception, SystemExit) as error:
        raise TargetError(
            f"{what}: reading .data, .grad and .backward of {maker}(1.5) raised "
            f"{type(error).__name__}: {error}"
        ) from None
    if isinstance(data, bool) or not isinstance(data, numbers.Real) or float(data) != 1.5:
        raise TargetError(f"{what}: {maker}(1.5).data is {data!r}, not 1.5")
    if not has_grad or not callable(backward):
        missing = "a .grad" if not has_grad else "a .backward() method"
        raise TargetError(
            f"{what}: {maker}(1.5) has no {missing} (needs .data, .grad, .backward())"
            + _adapter_hint(value)
        )
    return Engine(spec, ValueClassAdapter(cls), setup, operators=True, maker=maker)


#: Methods an engine may run its backward pass by, under another name.
BACKWARD_NAMES = ("backwards", "backprop", "back_prop", "backpropagate", "grad", "compute_grad")


def _adapter_hint(value: Any) -> str:
    """Where the value has a backward pass under another name, how to audit it anyway."""
    for name in BACKWARD_NAMES:
        if callable(getattr(value, name, None)):
            return (
                f"; it has .{name}(): name a function returning an adapter whose backward(node) "
                f"calls node.{name}() (see 'The adapter protocol' in microbp's docs/audit.md)"
            )
    return ""


def _adapter_engine(factory: Any, spec: str, setup: str) -> Engine:
    """The engine of a function returning an adapter, once what it returns is seen to be one."""
    try:
        adapter = factory()
    except (Exception, SystemExit) as error:
        raise TargetError(
            f"target {spec!r}: calling it to get an adapter raised {type(error).__name__}: {error}"
        ) from None
    missing = [m for m in ADAPTER_METHODS if not callable(getattr(adapter, m, None))]
    if missing:
        raise TargetError(
            f"target {spec!r} returned a {type(adapter).__name__}, not an adapter: it lacks "
            f"{', '.join(missing)} (an adapter has {', '.join(ADAPTER_METHODS)})"
        )
    return Engine(spec, adapter, setup, operators=False)
