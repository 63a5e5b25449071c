"""The remote page's controls, generated from the route table and the parameters' specs: the
page (static/remote.js) draws what this lists, so a new shader @param or controller field gets
its fader without touching the page."""

from __future__ import annotations

from typing import Any

from visualizer.control.routes import FX_ROOT, MAP_ROOT, ROOT, Route, RouteTable


def control_of(table: RouteTable, route: Route) -> dict[str, Any] | None:
    """One control for a parameter route: a toggle, a fader with its range, or a choice; None
    for what a page cannot ride (lists, unbounded numbers)."""
    spec = table.params.spec(route.target)
    if spec is None:
        return None
    label = route.address.rsplit("/", 1)[-1].replace("_", " ")
    found = {"address": route.address, "label": label, "doc": route.doc or spec.doc}
    if spec.kind == "bool":
        return {**found, "type": "toggle"}
    if spec.choices:
        return {**found, "type": "choice", "choices": [str(c) for c in spec.choices]}
    span = table.value_range(route)
    if span is None or spec.kind not in ("int", "float"):
        return None
    step = 1 if spec.kind == "int" else _step(*span)
    return {**found, "type": "fader", "min": span[0], "max": span[1], "step": step}


def _step(low: float, high: float) -> float:
    return float(f"{(high - low) / 200:.1g}") or 0.001  # ~200 positions over a phone's fader


def page_controls(table: RouteTable, *, slots: list[str]) -> dict[str, Any]:
    """{"slots": preset names on 1-9, "groups": [{"name", "controls": [...]}]}: the show's own
    controls first, then the latent mapping by section, then each shader pass."""
    groups: dict[str, list[dict[str, Any]]] = {"show": []}
    for route in table.routes.values():
        if route.kind != "param" or not route.feedback:
            continue
        parts = route.address.split("/")
        if route.address.startswith(MAP_ROOT + "/"):
            group = f"map: {parts[3]}"
        elif route.address.startswith(FX_ROOT + "/"):
            group = f"fx: {parts[3]}"
        elif route.address.startswith(ROOT + "/") and len(parts) == 3:
            group = "show"
        else:
            continue
        control = control_of(table, route)
        if control is not None:
            groups.setdefault(group, []).append(control)
    return {"slots": slots,
            "groups": [{"name": name, "controls": controls} for name, controls in groups.items()]}
