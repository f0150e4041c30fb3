"""Connected components over partitions of edges: a union–find per partition, merged in a tree of tasks.

``cluster.components`` labels each node with the smallest node of its component, over all edges at once. Here
each task takes one partition of the edges and returns a *label map*: the nodes its edges touch and, for each,
the smallest node of its component within the partition (``label_map``). Two maps merge into the map of the
union of their edges (``merge``): a map is a star per component (node → label), and stars connect exactly the
nodes their partition's edges connect, so the components of the union of the stars are those of the union of
the edges. Merging ``fan_in`` maps a task, level by level, leaves one map, whose labels are
``cluster.components``'s over every edge, whatever the partitions (the module's property test).

What a task holds is its partition or its maps: the nodes they touch, never every edge; the last merge holds
one number a touched node (the answer).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..cluster import components
from ..workers import Executor

LabelMap = tuple[np.ndarray, np.ndarray]  # (nodes, ascending; the smallest node of each one's component)


def label_map(edges: np.ndarray) -> LabelMap:
    """The label map of ``edges`` ((n, 2) node numbers): the nodes they touch, ascending, and the smallest node of
    each one's component."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    nodes, at = np.unique(edges.ravel(), return_inverse=True)
    # Numbered in ascending order, so the smallest local number of a component is its smallest node.
    return nodes, nodes[components(len(nodes), at.reshape(-1, 2))]


def merge(maps: Sequence[LabelMap]) -> LabelMap:
    """The label map of the union of the edges of ``maps``."""
    if len(maps) == 1:
        return maps[0]
    return label_map(np.concatenate([np.stack([nodes, labels], axis=1) for nodes, labels in maps]))


def dense(n: int, found: LabelMap) -> np.ndarray:
    """A label per node ``0 .. n-1`` (a node no edge touches is its own), as ``cluster.components`` gives."""
    labels = np.arange(n, dtype=np.int64)
    labels[found[0]] = found[1]
    return labels


def _leaf(_: None, edges: np.ndarray) -> LabelMap:
    return label_map(edges)


def _merge(_: None, maps: list[LabelMap]) -> LabelMap:
    return merge(maps)


def tree_components(n: int, parts: Sequence[np.ndarray], executor: Executor, fan_in: int = 8) -> np.ndarray:
    """``cluster.components(n, all the edges of parts)``: one task a partition of edges (``label_map``), then
    tasks merging ``fan_in`` maps each (``merge``), level by level, on ``executor``."""
    if fan_in < 2:
        raise ValueError("fan_in must be at least 2")
    maps = list(executor.map(_leaf, None, list(parts), label=lambda e: f"components of {len(e)} edges"))
    return merge_maps(n, maps, executor, fan_in)


def merge_maps(n: int, maps: list[LabelMap], executor: Executor, fan_in: int = 8) -> np.ndarray:
    """The labels of ``cluster.components(n, edges)`` from the label maps of parts of the edges: merged ``fan_in``
    maps a task (``merge``), level by level, on ``executor``."""
    if fan_in < 2:
        raise ValueError("fan_in must be at least 2")
    while len(maps) > 1:
        groups = [maps[k : k + fan_in] for k in range(0, len(maps), fan_in)]
        maps = list(executor.map(_merge, None, groups, label=lambda g: f"merging {len(g)} label maps"))
    return dense(n, maps[0]) if maps else np.arange(n, dtype=np.int64)
