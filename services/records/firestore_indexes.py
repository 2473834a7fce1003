"""Which Firestore index a query needs, and whether an index definition file provides it.

The emulator runs any query without an index; production refuses one that lacks its composite
index, and is slowed (500 writes/s on the collection) by a single-field index on a field that
grows with time. So the Firestore tables describe every query they run as a `QueryShape`, and
`check(shapes, spec)` says, for each one, what the shipped `firestore.indexes.json` lacks.

The rules are Firestore's, for collection-scope queries (the only kind the store runs):
- equality (`==`, `in`) filters alone: one single-field index per field (Firestore merges them);
- one ordering (with or without a range filter on that same field) and no equality: the
  field's single-field index in that direction;
- equality filters and an ordering: a composite index holding the equality fields (any order)
  followed by the ordered fields with their directions (`__name__` is implicit).
A single-field index exists unless `fieldOverrides` exempts it (an override lists what remains).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INDEX_FILE = Path(__file__).resolve().parents[2] / "firestore.indexes.json"
ASC, DESC = "ASCENDING", "DESCENDING"


@dataclass(frozen=True)
class QueryShape:
    """What a query filters and orders on (values left out)."""

    collection_group: str
    equalities: tuple[str, ...] = ()  # == and in
    ranges: tuple[str, ...] = ()  # > >= < <=
    orders: tuple[tuple[str, str], ...] = ()  # (field, ASC|DESC)

    def describe(self) -> str:
        parts = [f"{f} ==" for f in self.equalities] + [f"{f} range" for f in self.ranges]
        parts += [f"order {f} {d.lower()}" for f, d in self.orders]
        return f"{self.collection_group}: " + (", ".join(parts) or "scan")


def load(path: Path = INDEX_FILE) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _single_field_orders(spec: dict[str, Any], group: str, field: str) -> set[str]:
    """The collection-scope orders a field is indexed in (both, unless an override says)."""
    for override in spec.get("fieldOverrides", []):
        if override["collectionGroup"] == group and override["fieldPath"] == field:
            return {
                i["order"]
                for i in override.get("indexes", [])
                if "order" in i and i.get("queryScope", "COLLECTION") == "COLLECTION"
            }
    return {ASC, DESC}


def required_composite(shape: QueryShape) -> tuple[frozenset[str], tuple[tuple[str, str], ...]] | None:
    """(equality fields, ordered fields) of the composite index the shape needs, if it needs one."""
    orders = tuple(o for o in shape.orders if o[0] != "__name__")
    range_fields = set(shape.ranges)
    if range_fields and (not orders or orders[0][0] not in range_fields):
        orders = ((min(range_fields), ASC), *orders)  # Firestore orders by the range first
    if not orders or (not shape.equalities and len(orders) == 1):
        return None
    return frozenset(shape.equalities), orders


def _composite_matches(index: dict[str, Any], group: str, eq: frozenset[str],
                       orders: tuple[tuple[str, str], ...]) -> bool:
    if index["collectionGroup"] != group or index.get("queryScope", "COLLECTION") != "COLLECTION":
        return False
    fields = [(f["fieldPath"], f.get("order")) for f in index["fields"]
              if f["fieldPath"] != "__name__"]
    head, tail = fields[: len(eq)], fields[len(eq):]
    return {f for f, _ in head} == eq and tuple(tail) == orders


def missing(shape: QueryShape, spec: dict[str, Any]) -> str | None:
    """None when `spec` serves the query; otherwise what is missing, in words."""
    composite = required_composite(shape)
    group = shape.collection_group
    if composite is not None:
        eq, orders = composite
        if any(_composite_matches(i, group, eq, orders) for i in spec.get("indexes", [])):
            return None
        wanted = [*sorted(eq), *(f"{f} {d.lower()}" for f, d in orders)]
        return f"no composite index on {group} ({', '.join(wanted)})"
    needs: list[tuple[str, str]] = [(f, ASC) for f in shape.equalities]
    orders = [o for o in shape.orders if o[0] != "__name__"]
    needs += orders or [(f, ASC) for f in shape.ranges]
    for field, order in needs:
        if order not in _single_field_orders(spec, group, field):
            return f"the single-field index of {group}.{field} ({order.lower()}) is exempted"
    return None


def check(shapes: set[QueryShape], spec: dict[str, Any]) -> list[str]:
    """Every problem: queries not served, and composite indexes no query uses."""
    problems = [f"{s.describe()}: {why}" for s in sorted(shapes, key=QueryShape.describe)
                if (why := missing(s, spec))]
    indexes = spec.get("indexes", [])
    used: set[int] = set()
    for shape in shapes:
        if (composite := required_composite(shape)) is not None:
            used |= {i for i, index in enumerate(indexes)
                     if _composite_matches(index, shape.collection_group, *composite)}
    for i, index in enumerate(indexes):
        if i not in used:
            fields = ", ".join(f["fieldPath"] for f in index["fields"])
            problems.append(f"composite index {index['collectionGroup']} ({fields}) serves no query")
    return problems


def exempted(spec: dict[str, Any], group: str, field: str) -> bool:
    """True when the field has no single-field index at all in that collection group."""
    return not _single_field_orders(spec, group, field)
