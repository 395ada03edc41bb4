"""Lineage graphs as text drawings: Mermaid (GitHub, Grafana) and Graphviz DOT."""

from __future__ import annotations

from uuid import UUID

from traceability.lineage_api.models import AncestryData, DescendantsData, GraphFormat


def _label(pattern_id: str, version: str, name: str = "") -> str:
    """``name (id@version)``; just ``id@version`` when the pattern has no name of its own."""
    short = pattern_id if len(pattern_id) <= 24 else pattern_id[:21] + "..."
    label = f"{short}@{version}"
    name = " ".join(name.split())
    if name and name != pattern_id:
        label = f"{name if len(name) <= 40 else name[:37] + '...'} ({label})"
    return label.replace('"', "'")


def render_lineage(data: AncestryData | DescendantsData, fmt: GraphFormat) -> str:
    """Edges always drawn parent -> child, labelled with edge (and transformation) type."""
    if fmt is GraphFormat.TREE:
        return render_tree(data)
    root = str(data.pattern_node_id)
    labels = {root: _label(data.pattern_id, data.pattern_version, data.pattern_name)}
    edges: list[tuple[str, str, str]] = []
    if isinstance(data, AncestryData):
        for a in data.ancestors:
            labels[str(a.ancestor_id)] = _label(
                a.ancestor_pattern_id, a.ancestor_version, a.ancestor_pattern_name
            )
            edges.append(
                (str(a.ancestor_id), str(a.child_node_id), _edge_label(a.edge_type, a.transformation_type))
            )
    else:
        for d in data.descendants:
            labels[str(d.descendant_id)] = _label(
                d.descendant_pattern_id, d.descendant_version, d.descendant_pattern_name
            )
            edges.append(
                (str(d.parent_node_id), str(d.descendant_id), _edge_label(d.edge_type, d.transformation_type))
            )
    ids = {node_id: f"n{i}" for i, node_id in enumerate(labels)}
    if fmt is GraphFormat.MERMAID:
        lines = ["graph TD"]
        lines += [f'    {ids[n]}["{label}"]' for n, label in labels.items()]
        lines += [f"    {ids[s]} -->|{label}| {ids[t]}" for s, t, label in edges if s in ids and t in ids]
        lines.append(f"    style {ids[root]} stroke-width:3px")
    else:
        lines = ["digraph lineage {", "    rankdir=TB;"]
        lines += [
            f'    {ids[n]} [label="{label}"{", penwidth=3" if n == root else ""}];'
            for n, label in labels.items()
        ]
        lines += [
            f'    {ids[s]} -> {ids[t]} [label="{label}"];' for s, t, label in edges if s in ids and t in ids
        ]
        lines.append("}")
    return "\n".join(lines) + "\n"


def _edge_label(edge_type: str, transformation_type: str | None) -> str:
    return f"{edge_type} ({transformation_type})" if transformation_type else edge_type


def render_tree(data: AncestryData | DescendantsData) -> str:
    """The queried node, then its parents (ancestry) or children (descendants), indented by hops."""
    root = str(data.pattern_node_id)
    # (the node it hangs under, the node, its label, the edge type, the transformation)
    hops: list[tuple[UUID, UUID, str, str, str | None]]
    if isinstance(data, AncestryData):
        arrow = "<-"
        hops = [
            (
                a.child_node_id,
                a.ancestor_id,
                _label(a.ancestor_pattern_id, a.ancestor_version, a.ancestor_pattern_name),
                a.edge_type,
                a.transformation_type,
            )
            for a in data.ancestors
        ]
    else:
        arrow = "->"
        hops = [
            (
                d.parent_node_id,
                d.descendant_id,
                _label(d.descendant_pattern_id, d.descendant_version, d.descendant_pattern_name),
                d.edge_type,
                d.transformation_type,
            )
            for d in data.descendants
        ]
    children: dict[str, list[tuple[str, str, str]]] = {}
    for under, node, label, edge_type, transformation in hops:
        children.setdefault(str(under), []).append((str(node), label, _edge_label(edge_type, transformation)))
    lines = [
        f"{_label(data.pattern_id, data.pattern_version, data.pattern_name)}  (generation {data.generation})"
    ]
    seen = {root}

    def walk(node_id: str, prefix: str) -> None:
        kids = [k for k in children.get(node_id, []) if k[0] not in seen]
        for i, (kid, label, edge) in enumerate(kids):
            last = i == len(kids) - 1
            seen.add(kid)
            lines.append(f"{prefix}{'└─' if last else '├─'} {edge} {arrow} {label}")
            walk(kid, prefix + ("   " if last else "│  "))

    walk(root, "")
    return "\n".join(lines) + "\n"
