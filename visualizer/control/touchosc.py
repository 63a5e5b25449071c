"""The TouchOSC layout (``templates/gansmania.tosc``), generated from the route table so its
addresses can never drift from the show's.

A ``.tosc`` file is zlib-compressed XML (``<lexml version='3'>``, TouchOSC Mk2): a root GROUP
holding a PAGER whose child GROUPs are the pages. Every control sends its ``/gm/...`` address
and *receives* the matching ``/gm/state/...`` address, so after ``/gm/subscribe`` (the "sync"
button on the transport page) the faders follow changes made anywhere else.

Pages: presets (slots 1-9, next/prev, cross-fade, seed bank), mappings (reactivity, the feature
routes' strengths, truncation, intensity), FX (the most used shader parameters) and transport
(tap, BPM, beat and level meters, blackout, freeze, HUD, record).

    python -m visualizer.control.touchosc   # rewrites the shipped template
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from visualizer.control.routes import STRENGTHS, RouteTable, standard_table, state_address

TEMPLATE = Path(__file__).with_name("templates") / "gansmania.tosc"
WIDTH, HEIGHT = 1024, 768  # an iPad in landscape; TouchOSC scales to other screens
TAB_H = 50
SYNC_PORT = 9001  # the sync button subscribes this port (TouchOSC's receive port)
_NAMESPACE = uuid.UUID("6b1f0a54-5d7e-4a59-9a0e-3f1d2c7b9e10")  # stable IDs: a stable file

# Shader parameters on the FX page: the ones a VJ rides (the rest: /gm/fx/... from anywhere).
FX_FADERS = (("bloom", "intensity"), ("chromatic", "amount"), ("feedback", "decay"),
             ("flash", "amount"), ("grade", "hue"), ("grade", "saturation"),
             ("grade", "contrast"), ("grade", "exposure"), ("grain", "amount"),
             ("kaleidoscope", "segments"), ("kaleidoscope", "spin"), ("mirror", "tiles"),
             ("strobe", "amount"), ("zoom", "zoom"), ("zoom", "pulse"), ("zoom", "twist"))

_COLOURS = {"presets": (0.95, 0.55, 0.2), "mappings": (0.3, 0.7, 1.0), "fx": (0.75, 0.4, 1.0),
            "transport": (0.3, 0.9, 0.45), "danger": (1.0, 0.3, 0.3)}


@dataclass(frozen=True)
class _Msg:
    """One OSC message of a control: an address, its argument and when it is used."""

    address: str
    send: bool
    receive: bool
    key: str = "x"  # the control's value it carries
    lo: float = 0.0
    hi: float = 1.0
    conversion: str = "FLOAT"  # FLOAT | INTEGER | BOOLEAN | STRING
    constant: str | None = None  # a fixed argument (a button that sends a slot number)
    trigger: str = "ANY"  # ANY | RISE | FALL
    with_args: bool = True  # False: the address alone


def _property(parent: ET.Element, kind: str, key: str, value) -> None:
    prop = ET.SubElement(parent, "property", type=kind)
    ET.SubElement(prop, "key").text = key
    holder = ET.SubElement(prop, "value")
    if kind == "c":
        for channel, number in zip("rgba", value):
            ET.SubElement(holder, channel).text = f"{number:g}"
    elif kind == "r":
        for name, number in zip("xywh", value):
            ET.SubElement(holder, name).text = str(int(number))
    else:
        holder.text = str(int(value)) if kind == "b" else str(value)


def _value(parent: ET.Element, key: str, default: str) -> None:
    value = ET.SubElement(parent, "value")
    ET.SubElement(value, "key").text = key
    ET.SubElement(value, "locked").text = "0"
    ET.SubElement(value, "lockedDefaultCurrent").text = "0"
    ET.SubElement(value, "default").text = default
    ET.SubElement(value, "defaultPull").text = "0"


def _partial(parent: ET.Element, kind: str, conversion: str, value: str, lo: float = 0.0,
             hi: float = 1.0) -> None:
    partial = ET.SubElement(parent, "partial")
    ET.SubElement(partial, "type").text = kind
    ET.SubElement(partial, "conversion").text = conversion
    ET.SubElement(partial, "value").text = value
    ET.SubElement(partial, "scaleMin").text = f"{lo:g}"
    ET.SubElement(partial, "scaleMax").text = f"{hi:g}"


def _osc(parent: ET.Element, msg: _Msg) -> None:
    osc = ET.SubElement(parent, "osc")
    for tag, text in (("enabled", "1"), ("send", str(int(msg.send))),
                      ("receive", str(int(msg.receive))), ("feedback", "0"),
                      ("connections", "00001")):
        ET.SubElement(osc, tag).text = text
    triggers = ET.SubElement(osc, "triggers")
    if msg.send:
        trigger = ET.SubElement(triggers, "trigger")
        ET.SubElement(trigger, "var").text = msg.key
        ET.SubElement(trigger, "condition").text = msg.trigger
    _partial(ET.SubElement(osc, "path"), "CONSTANT", "STRING", msg.address)
    arguments = ET.SubElement(osc, "arguments")
    if not msg.with_args:
        return
    if msg.constant is not None:
        _partial(arguments, "CONSTANT", msg.conversion, msg.constant)
    else:
        _partial(arguments, "VALUE", msg.conversion, msg.key, msg.lo, msg.hi)


def _node(parent: ET.Element, kind: str, name: str, frame: Sequence[float],
          colour: Sequence[float], *, props: dict | None = None, values=(("touch", "false"),),
          messages: Sequence[_Msg] = ()) -> ET.Element:
    node = ET.SubElement(parent, "node", ID=str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}")), type=kind)
    properties = ET.SubElement(node, "properties")
    base = {"background": ("b", True), "color": ("c", (*colour, 1.0)),
            "cornerRadius": ("f", 4), "frame": ("r", frame), "grabFocus": ("b", True),
            "interactive": ("b", kind not in ("LABEL", "GROUP", "PAGER")), "locked": ("b", False),
            "name": ("s", name), "orientation": ("i", 0), "outline": ("b", True),
            "outlineStyle": ("i", 0), "pointerPriority": ("i", 0), "shape": ("i", 1),
            "visible": ("b", True), **(props or {})}
    for key in sorted(base):
        kind_of, value = base[key]
        _property(properties, kind_of, key, value)
    holder = ET.SubElement(node, "values")
    for key, default in values:
        _value(holder, key, default)
    if messages:
        box = ET.SubElement(node, "messages")
        for msg in messages:
            _osc(box, msg)
    return node


def _children(node: ET.Element) -> ET.Element:
    return ET.SubElement(node, "children")


def _label(parent: ET.Element, name: str, text: str, frame, *, receive: str | None = None,
           size: int = 16) -> None:
    props = {"background": ("b", False), "outline": ("b", False), "textSize": ("i", size),
             "textColor": ("c", (1.0, 1.0, 1.0, 1.0)), "textAlignH": ("i", 2)}
    messages = [_Msg(receive, send=False, receive=True, key="text", conversion="STRING")] \
        if receive else []
    _node(parent, "LABEL", name, frame, (0, 0, 0), props=props,
          values=(("text", text), ("touch", "false")), messages=messages)


def _fader(parent: ET.Element, table: RouteTable, address: str, label: str, frame,
           colour, *, interactive: bool = True) -> None:
    route = table.get(address)
    lo, hi = table.value_range(route)
    spec = table.params.spec(route.target)
    conversion = "INTEGER" if spec is not None and spec.kind == "int" else "FLOAT"
    start = (spec.default - lo) / (hi - lo) if spec is not None and hi > lo else 0.0
    x, y, w, h = frame
    _label(parent, f"{label} label", label, (x, y, w, 24), size=13)
    messages = [_Msg(state_address(address), send=False, receive=True, lo=lo, hi=hi,
                     conversion=conversion)]
    if interactive:
        messages.insert(0, _Msg(address, send=True, receive=False, lo=lo, hi=hi,
                                conversion=conversion))
    _node(parent, "FADER", label, (x, y + 26, w, h - 26), colour,
          props={"bar": ("b", True), "barDisplay": ("i", 0), "cursor": ("b", True),
                 "interactive": ("b", interactive), "response": ("i", 0)},
          values=(("touch", "false"), ("x", f"{min(max(start, 0.0), 1.0):.4f}")),
          messages=messages)


def _button(parent: ET.Element, address: str, label: str, frame, colour, *,
            constant: str | None = None, toggle_state: str | None = None) -> None:
    """A momentary button (sends 1 on press; a constant argument instead when given), or a
    toggle (``toggle_state``: it sends 0/1 and follows that state address)."""
    if toggle_state is not None:
        messages = [_Msg(address, send=True, receive=False, conversion="INTEGER"),
                    _Msg(toggle_state, send=False, receive=True, conversion="INTEGER")]
        button_type = 1
    elif constant is not None:
        messages = [_Msg(address, send=True, receive=False, conversion="INTEGER",
                         constant=constant, trigger="RISE")]
        button_type = 0
    else:
        messages = [_Msg(address, send=True, receive=False, trigger="RISE")]
        button_type = 0
    _node(parent, "BUTTON", label, frame, colour,
          props={"buttonType": ("i", button_type), "press": ("b", True), "release": ("b", True)},
          values=(("touch", "false"), ("x", "0")), messages=messages)
    x, y, w, h = frame
    props = {"background": ("b", False), "outline": ("b", False), "interactive": ("b", False),
             "textSize": ("i", 14), "textColor": ("c", (1.0, 1.0, 1.0, 1.0))}
    _node(parent, "LABEL", f"{label} caption", (x, y, w, h), (0, 0, 0), props=props,
          values=(("text", label), ("touch", "false")))


def _page(pager: ET.Element, name: str) -> ET.Element:
    page = _node(pager, "GROUP", name, (0, TAB_H, WIDTH, HEIGHT - TAB_H), (0.08, 0.08, 0.1),
                 props={"tabLabel": ("s", name.upper()), "outline": ("b", False)})
    return _children(page)


def _grid(count: int, *, columns: int, top: int, height: int, margin: int = 16):
    width = (WIDTH - margin * (columns + 1)) // columns
    for i in range(count):
        row, column = divmod(i, columns)
        yield (margin + column * (width + margin), top + row * (height + margin), width, height)


def _presets_page(pager: ET.Element, table: RouteTable) -> None:
    page, colour = _page(pager, "presets"), _COLOURS["presets"]
    _label(page, "preset now", "preset", (16, 10, WIDTH - 32, 40), receive="/gm/state/preset",
           size=22)
    for slot, frame in enumerate(_grid(9, columns=3, top=64, height=110), start=1):
        _button(page, "/gm/preset", f"slot {slot}", frame, colour, constant=str(slot))
    row = list(_grid(4, columns=4, top=460, height=90))
    _button(page, "/gm/preset/prev", "preset <", row[0], colour)
    _button(page, "/gm/preset/next", "preset >", row[1], colour)
    _button(page, "/gm/seed/prev", "seeds <", row[2], _COLOURS["mappings"])
    _button(page, "/gm/seed/next", "seeds >", row[3], _COLOURS["mappings"])
    faders = list(_grid(2, columns=2, top=570, height=120))
    _fader(page, table, "/gm/crossfade", "crossfade (beats)", faders[0], colour)
    _fader(page, table, "/gm/seed", "seed bank", faders[1], _COLOURS["mappings"])


def _mappings_page(pager: ET.Element, table: RouteTable) -> None:
    page, colour = _page(pager, "mappings"), _COLOURS["mappings"]
    addresses = ["/gm/reactivity", *(f"/gm/map/{r}/strength" for r in STRENGTHS),
                 "/gm/truncation", "/gm/intensity"]
    names = ["reactivity", *STRENGTHS, "truncation", "intensity"]
    for address, name, frame in zip(addresses, names, _grid(len(addresses), columns=8,
                                                            top=20, height=HEIGHT - TAB_H - 40)):
        if table.get(address) is not None:
            _fader(page, table, address, name, frame, colour)


def _fx_page(pager: ET.Element, table: RouteTable) -> None:
    page, colour = _page(pager, "fx"), _COLOURS["fx"]
    faders = [(f"/gm/fx/{p}/{k}", f"{p} {k}") for p, k in FX_FADERS
              if table.get(f"/gm/fx/{p}/{k}") is not None]
    for (address, name), frame in zip(faders, _grid(len(faders), columns=8, top=16, height=280)):
        _fader(page, table, address, name, frame, colour)
    _button(page, "/gm/fx/reset", "FX back to preset", (16, 630, 300, 70), _COLOURS["danger"])


def _transport_page(pager: ET.Element, table: RouteTable) -> None:
    page, colour = _page(pager, "transport"), _COLOURS["transport"]
    _button(page, "/gm/tap", "TAP", (16, 16, 300, 200), colour)
    _label(page, "bpm now", "--", (332, 16, 200, 60), receive="/gm/state/bpm", size=28)
    _button(page, "/gm/bpm", "auto BPM", (332, 90, 200, 60), colour, constant="0")
    _fader(page, table, "/gm/intensity", "intensity", (860, 16, 148, 430), colour)
    _meter(page, "beat", "/gm/state/beat", (548, 16, 296, 90), colour)
    _meter(page, "level", "/gm/state/level", (548, 126, 296, 90), colour)
    toggles = [("/gm/blackout", "BLACKOUT", _COLOURS["danger"]), ("/gm/freeze", "FREEZE", colour),
               ("/gm/hud", "HUD", colour)]
    for (address, label, tint), frame in zip(toggles, _grid(3, columns=3, top=240, height=100)):
        frame = (frame[0], frame[1], min(frame[2], 260), frame[3])
        _button(page, address, label, frame, tint, toggle_state=state_address(address))
    _button(page, "/gm/record/start", "REC", (16, 370, 200, 90), _COLOURS["danger"])
    _button(page, "/gm/record/stop", "STOP", (232, 370, 200, 90), colour)
    _meter(page, "recording", "/gm/state/recording", (448, 370, 120, 90), _COLOURS["danger"])
    # Feedback goes to TouchOSC's receive port: set it to SYNC_PORT in TouchOSC's connection.
    _button(page, "/gm/subscribe", f"sync (feedback to port {SYNC_PORT})", (16, 620, 360, 80),
            (0.5, 0.5, 0.55), constant=str(SYNC_PORT))


def _meter(parent: ET.Element, name: str, receive: str, frame, colour) -> None:
    """A fader that only shows a state value (beat phase, level, recording)."""
    x, y, w, h = frame
    _label(parent, f"{name} label", name, (x, y, w, 24), size=13)
    _node(parent, "FADER", f"{name} meter", (x, y + 26, w, h - 26), colour,
          props={"bar": ("b", True), "cursor": ("b", False), "interactive": ("b", False),
                 "orientation": ("i", 1)},
          values=(("touch", "false"), ("x", "0")),
          messages=[_Msg(receive, send=False, receive=True)])


def layout_xml(table: RouteTable | None = None) -> bytes:
    """The layout as XML bytes (see the module docstring)."""
    table = table or standard_table()
    root = ET.Element("lexml", version="3")
    top = _node(root, "GROUP", "GANsmania", (0, 0, WIDTH, HEIGHT), (0.05, 0.05, 0.07),
                props={"outline": ("b", False)})
    pager = _node(_children(top), "PAGER", "pages", (0, 0, WIDTH, HEIGHT), (0.12, 0.12, 0.15),
                  props={"tabbar": ("b", True), "tabbarSize": ("i", TAB_H)},
                  values=(("touch", "false"), ("page", "0")))
    pages = _children(pager)
    for build in (_presets_page, _mappings_page, _fx_page, _transport_page):
        build(pages, table)
    return b"<?xml version='1.0' encoding='UTF-8'?>\n" + ET.tostring(root, encoding="utf-8")


def write_layout(path: Path = TEMPLATE, table: RouteTable | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zlib.compress(layout_xml(table), 9))
    return path


def read_layout(path: Path = TEMPLATE) -> ET.Element:
    """The XML tree of a .tosc file."""
    return ET.fromstring(zlib.decompress(path.read_bytes()))


def addresses_in(tree: ET.Element) -> list[tuple[str, bool, bool]]:
    """(address, sends, receives) of every OSC message in a layout."""
    found = []
    for osc in tree.iter("osc"):
        address = osc.find("path/partial/value").text
        found.append((address, osc.find("send").text == "1", osc.find("receive").text == "1"))
    return found


if __name__ == "__main__":
    print(write_layout())
