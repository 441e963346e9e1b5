"""Lay out a concept's neighbourhood as positions for an inline SVG (drawn by a template).

Two layouts of the same neighbourhood. The wide one (a desk): broader concepts stand above the
concept, narrower ones below, related ones to the left and concepts its claims share
(co-occurrence) to the right, with edge width growing with the number of shared claims. The
narrow one (a phone, where the wide one would be drawn at a third of its size): the concept on
top and its neighbours listed under headings, joined by a trunk down the left.

No line crosses a label: the concept's label sits inside its box and lines start at the box's
border; rows are reached by elbows (up or down from the box, along a bus, to the node) that stay
between the rows and the columns' labels; columns' labels point away from the centre.
Only numbers and plain strings come out; the template escapes labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDTH, HEIGHT = 900, 500
CX, CY = WIDTH // 2, HEIGHT // 2
MAX_PER_SIDE = 8
LABEL_CHARS = 26
NARROW_LABEL_CHARS = 34  # a phone's list has room for longer labels than the desk picture's rows
#: Rows' node heights and the buses their elbows run along, between the rows and the columns.
TOP_ROW, BOTTOM_ROW = 62, HEIGHT - 78
TOP_BUS, BOTTOM_BUS = 96, HEIGHT - 104
#: The columns' vertical extent: inside the buses, with room for a label's height.
COLUMN_TOP, COLUMN_BOTTOM = 128.0, HEIGHT - 136.0
#: The centre box: a generous width per character of its bold 15 px label, so the text stays inside.
CENTRE_CHAR, CENTRE_PAD, CENTRE_HEIGHT = 9.6, 28, 34
#: The narrow layout: its width, a row's height, and where the trunk, nodes and labels stand.
NARROW_WIDTH, ROW, TRUNK_X, NODE_X, LABEL_X = 360, 28, 22, 46, 60


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
    box_w: float = 0.0  # the centre's box (a rounded rectangle around its label), centred on x, y
    box_h: float = 0.0


@dataclass
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float
    kind: str  # hier | rel | co
    width: float = 1.5


@dataclass
class Heading:
    x: float
    y: float
    text: str


@dataclass
class Picture:
    width: int
    height: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    hidden: int = 0  # neighbours left out to keep the picture legible
    narrow: Picture | None = None  # the same neighbourhood laid out for a phone

    @property
    def empty(self) -> bool:
        return len(self.nodes) <= 1


def _short(label: str, chars: int = LABEL_CHARS) -> str:
    return label if len(label) <= chars else label[: chars - 1].rstrip() + "…"


def _spread(count: int, start: float, end: float) -> list[float]:
    if count == 1:
        return [(start + end) / 2]
    step = (end - start) / (count - 1)
    return [start + i * step for i in range(count)]


def _co_width(count: int | None, most: int) -> float:
    return round(1.5 + 5.0 * int(count or 1) / most, 1)


def concept_picture(
    centre: dict, broader: list[dict], narrower: list[dict], related: list[dict], co_occurring: list[dict]
) -> Picture:
    """Place ``centre`` and its neighbours, wide and narrow; each neighbour is ``{"id", "label"[, "count"]}``."""
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
    most = max([int(item.get("count") or 1) for item in right] or [1])

    short = _short(centre["label"])
    box_w, box_h = len(short) * CENTRE_CHAR + CENTRE_PAD, CENTRE_HEIGHT
    # Rows, reached by elbows: from the box's top (bottom) edge to the bus, along it, to the node.
    # Labels alternate in height so neighbours' labels do not collide.
    for items, row_y, bus_y, start_y, role in (
        (up, TOP_ROW, TOP_BUS, CY - box_h / 2, "broader"),
        (down, BOTTOM_ROW, BOTTOM_BUS, CY + box_h / 2, "narrower"),
    ):
        xs = _spread(len(items), 110, WIDTH - 110)
        if items:
            picture.edges.append(Edge(CX, start_y, CX, bus_y, "hier", 2.0))
            if len(items) > 1 or xs[0] != CX:
                picture.edges.append(Edge(min(xs + [CX]), bus_y, max(xs + [CX]), bus_y, "hier", 2.0))
        for i, (item, x) in enumerate(zip(items, xs)):
            stagger = 18 if i % 2 and len(items) >= 4 else 0
            dy = -16 - stagger if role == "broader" else 26 + stagger
            picture.nodes.append(Node(item["id"], item["label"], _short(item["label"]), role, x, row_y, label_dy=dy))
            picture.edges.append(Edge(x, bus_y, x, row_y, "hier", 2.0))
    # Columns: straight from the box's side, labels beside the node, pointing away from the centre.
    for items, x, role in ((left, CX - 200, "related"), (right, CX + 200, "co")):
        top, bottom = (COLUMN_TOP, COLUMN_BOTTOM) if len(items) > 1 else (float(CY), float(CY))
        side = CX - box_w / 2 if role == "related" else CX + box_w / 2
        for item, y in zip(items, _spread(len(items), top, bottom)):
            count = item.get("count")
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
            width = 1.5 if role == "related" else _co_width(count, most)
            picture.edges.append(Edge(side, CY, x, y, "rel" if role == "related" else "co", width))
    picture.nodes.append(
        Node(centre["id"], centre["label"], short, "centre", CX, CY, r=0, label_dy=5, box_w=box_w, box_h=box_h)
    )
    picture.narrow = _narrow(centre, [(up, "broader"), (down, "narrower"), (left, "related"), (right, "co")], most)
    picture.narrow.hidden = picture.hidden
    return picture


#: The narrow layout's heading of each group.
HEADINGS = {"broader": "Broader", "narrower": "Narrower", "related": "Related", "co": "Shares claims with"}
EDGE_KIND = {"broader": "hier", "narrower": "hier", "related": "rel", "co": "co"}


def _narrow(centre: dict, groups: list[tuple[list[dict], str]], most: int) -> Picture:
    """The neighbourhood for a phone: the concept's box on top, then each group under its heading."""
    short = _short(centre["label"])
    box_w = min(len(short) * CENTRE_CHAR + CENTRE_PAD, NARROW_WIDTH - 8)
    picture = Picture(NARROW_WIDTH, 0)
    box_top = 6.0
    picture.nodes.append(
        Node(
            centre["id"],
            centre["label"],
            short,
            "centre",
            4 + box_w / 2,
            box_top + CENTRE_HEIGHT / 2,
            r=0,
            label_dy=5,
            box_w=box_w,
            box_h=CENTRE_HEIGHT,
        )
    )
    y = box_top + CENTRE_HEIGHT
    trunk_from = y
    for items, role in groups:
        if not items:
            continue
        y += ROW
        picture.headings.append(Heading(NODE_X - 10, y + 5, HEADINGS[role]))
        for item in items:
            y += ROW
            count = item.get("count")
            picture.nodes.append(
                Node(
                    item["id"],
                    item["label"],
                    _short(item["label"], NARROW_LABEL_CHARS),
                    role,
                    NODE_X,
                    y,
                    r=7,
                    count=count,
                    label_dx=LABEL_X - NODE_X,
                    label_dy=5,
                    anchor="start",
                )
            )
            width = _co_width(count, most) if role == "co" else 2.0 if role in ("broader", "narrower") else 1.5
            picture.edges.append(Edge(TRUNK_X, y, NODE_X, y, EDGE_KIND[role], width))
        # The trunk down to this group's last node, in the group's colour.
        picture.edges.append(Edge(TRUNK_X, trunk_from, TRUNK_X, y, EDGE_KIND[role], 2.0))
        trunk_from = y
    picture.height = int(y + ROW + 10)
    return picture
