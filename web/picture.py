"""Lay out a concept's neighbourhood as positions for an inline SVG (drawn by a template).

Broader concepts stand above the concept, narrower ones below, related ones to the left and
concepts its claims share (co-occurrence) to the right, with edge width growing with the
number of shared claims. Only numbers and plain strings come out; the template escapes labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH, HEIGHT = 900, 500
CX, CY = WIDTH // 2, HEIGHT // 2
MAX_PER_SIDE = 8
LABEL_CHARS = 26


@dataclass
class Node:
    id: str
    label: str  # full label (tooltip and accessible name)
    short: str  # label as drawn
    role: str  # centre | broader | narrower | related | co
    x: float
    y: float
    r: float = 9.0
    count: int | None = None
    label_dx: float = 0.0  # where the label sits relative to the node
    label_dy: float = 24.0
    anchor: str = "middle"  # SVG text-anchor of the label


@dataclass
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float
    kind: str  # hier | rel | co
    width: float = 1.5


@dataclass
class Picture:
    width: int
    height: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    hidden: int = 0  # neighbours left out to keep the picture legible

    @property
    def empty(self) -> bool:
        return len(self.nodes) <= 1


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def _spread(count: int, start: float, end: float) -> list[float]:
    if count == 1:
        return [(start + end) / 2]
    step = (end - start) / (count - 1)
    return [start + i * step for i in range(count)]


def concept_picture(
    centre: dict, broader: list[dict], narrower: list[dict], related: list[dict], co_occurring: list[dict]
) -> Picture:
    """Place ``centre`` and its neighbours; each neighbour is ``{"id", "label"[, "count"]}``."""
    picture = Picture(WIDTH, HEIGHT)
    seen = {centre["id"]}

    def fresh(items: list[dict]) -> list[dict]:
        kept = []
        for item in items:
            if item["id"] not in seen:
                seen.add(item["id"])
                kept.append(item)
        picture.hidden += max(0, len(kept) - MAX_PER_SIDE)
        return kept[:MAX_PER_SIDE]

    up, down, left = fresh(broader), fresh(narrower), fresh(related)
    right = fresh(sorted(co_occurring, key=lambda item: -int(item.get("count") or 0)))

    # Rows: labels alternate above/below the node so neighbours' labels do not collide.
    for items, row_y, role in ((up, 62, "broader"), (down, HEIGHT - 70, "narrower")):
        for i, (item, x) in enumerate(zip(items, _spread(len(items), 110, WIDTH - 110))):
            stagger = 14 if i % 2 and len(items) >= 4 else 0
            dy = -16 - stagger if role == "broader" else 26 + stagger
            picture.nodes.append(Node(item["id"], item["label"], _short(item["label"]), role, x, row_y, label_dy=dy))
            picture.edges.append(Edge(CX, CY, x, row_y, "hier", 2.0))
    # Columns: labels beside the node, pointing away from the centre.
    for items, x, role in ((left, CX - 200, "related"), (right, CX + 200, "co")):
        top, bottom = (125.0, HEIGHT - 135.0) if len(items) > 1 else (float(CY), float(CY))
        most = max([int(item.get("count") or 1) for item in items] or [1])
        for item, y in zip(items, _spread(len(items), top, bottom)):
            count = item.get("count")
            width = 1.5 if role == "related" else 1.5 + 5.0 * int(count or 1) / most
            picture.nodes.append(
                Node(
                    item["id"],
                    item["label"],
                    _short(item["label"]),
                    role,
                    x,
                    y,
                    count=count,
                    label_dx=-14 if role == "related" else 14,
                    label_dy=4,
                    anchor="end" if role == "related" else "start",
                )
            )
            picture.edges.append(Edge(CX, CY, x, y, "rel" if role == "related" else "co", round(width, 1)))
    picture.nodes.append(
        Node(centre["id"], centre["label"], _short(centre["label"]), "centre", CX, CY, r=14, label_dy=-22)
    )
    return picture
