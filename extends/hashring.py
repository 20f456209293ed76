"""A consistent hash ring: md5 over virtual nodes, with optional weights.

Adding or removing a node moves only the keys that land on its arcs, about 1/N of them.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

Node = TypeVar("Node")

VIRTUAL_NODES = 160


def _hash(key: str) -> int:
    return int.from_bytes(
        hashlib.md5(key.encode("utf-8"), usedforsecurity=False).digest()[:8], "big"
    )


class HashRing(Generic[Node]):
    """Maps keys to nodes; ``nodes`` is an iterable of names or a mapping name -> weight."""

    def __init__(
        self, nodes: Iterable[Node] | Mapping[Node, int], virtual_nodes: int = VIRTUAL_NODES
    ) -> None:
        weights = dict(nodes) if isinstance(nodes, Mapping) else {node: 1 for node in nodes}
        if not weights:
            raise ValueError("a hash ring needs at least one node")
        ring: list[tuple[int, Node]] = []
        for node, weight in weights.items():
            for replica in range(virtual_nodes * max(1, int(weight))):
                ring.append((_hash(f"{node}#{replica}"), node))
        ring.sort(key=lambda point: point[0])
        self._points = [point for point, _ in ring]
        self._owners = [node for _, node in ring]

    def node_for(self, key: str) -> Node:
        """The node that owns ``key``: the first virtual node clockwise from its hash."""
        index = bisect.bisect(self._points, _hash(key)) % len(self._points)
        return self._owners[index]
