"""Layout of a lineage graph for SVG: columns by depth from the roots, rows by creation time.

An edge goes from the older version (``source``) to the one made from it (``target``). The depth
of a node is the longest chain of edges leading to it (Kahn's algorithm); nodes on a cycle, which
have no such depth, are placed after their deepest placed predecessor. Linear in nodes + edges.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 170.0, 44.0, 120.0, 22.0, 12.0


@dataclass(frozen=True)
class GraphNode:
    node_id: str
    pattern_id: str
    label: str  # name
    version: str
    status: str
    own: bool  # a version of the pattern the page is about


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    edge_type: str


@dataclass(frozen=True)
class PlacedNode:
    node: GraphNode
    x: float
    y: float


@dataclass(frozen=True)
class PlacedEdge:
    edge: GraphEdge
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class GraphLayout:
    nodes: tuple[PlacedNode, ...]
    edges: tuple[PlacedEdge, ...]
    width: float
    height: float


def layout(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge]) -> GraphLayout:
    """``nodes`` in creation order; edges whose ends are not both in ``nodes`` are left out."""
    index = {n.node_id: i for i, n in enumerate(nodes)}
    kept = [e for e in edges if e.source in index and e.target in index and e.source != e.target]
    out: dict[str, list[str]] = defaultdict(list)
    into: dict[str, list[str]] = defaultdict(list)
    indegree = {n.node_id: 0 for n in nodes}
    for e in kept:
        out[e.source].append(e.target)
        into[e.target].append(e.source)
        indegree[e.target] += 1
    depth = dict.fromkeys(indegree, 0)
    queue = deque(n.node_id for n in nodes if indegree[n.node_id] == 0)
    done: set[str] = set()
    while queue:
        current = queue.popleft()
        done.add(current)
        for nxt in out[current]:
            depth[nxt] = max(depth[nxt], depth[current] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                queue.append(nxt)
    for n in nodes:  # on a cycle: one column right of what already points at it
        if n.node_id not in done:
            preds = [depth[source] for source in into[n.node_id] if source in done]
            depth[n.node_id] = max(preds, default=0) + 1
            done.add(n.node_id)
    rows_used: dict[int, int] = defaultdict(int)
    placed: dict[str, PlacedNode] = {}
    for n in nodes:
        column = depth[n.node_id]
        row = rows_used[column]
        rows_used[column] += 1
        x = MARGIN + column * (NODE_W + GAP_X)
        y = MARGIN + row * (NODE_H + GAP_Y)
        placed[n.node_id] = PlacedNode(n, x, y)
    placed_edges = tuple(
        PlacedEdge(
            e,
            placed[e.source].x + NODE_W,
            placed[e.source].y + NODE_H / 2,
            placed[e.target].x,
            placed[e.target].y + NODE_H / 2,
        )
        for e in kept
    )
    columns = max(depth.values(), default=0) + 1
    rows = max(rows_used.values(), default=1)
    width = 2 * MARGIN + columns * NODE_W + (columns - 1) * GAP_X
    height = 2 * MARGIN + rows * NODE_H + (rows - 1) * GAP_Y
    return GraphLayout(tuple(placed.values()), placed_edges, width, height)
