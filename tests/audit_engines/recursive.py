"""The reference engine sorting its graph by recursion, as many do; in a file of its own, since
importing it raises Python's recursion limit for the whole process."""

from __future__ import annotations

import sys

from reference import Value


class RecursiveOrder(Value):
    """The graph sorted by a recursive walk, through map (C code, so each level takes C stack
    too); the recursion limit raised at import: fine on a large stack, not on the main thread's."""

    def topological_order(self):
        order, seen = [], set()

        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                list(map(visit, node.parents))
                order.append(node)

        visit(self)
        return order


sys.setrecursionlimit(1_000_000)
