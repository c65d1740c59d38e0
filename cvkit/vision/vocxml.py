"""One PASCAL VOC ``Annotations/<id>.xml`` file, parsed with ``defusedxml`` (entity declarations, DTDs and external
references are refused by construction) and validated.

Boxes: the XML's 1-based inclusive ``xmin..xmax`` become the 0-based pixel-edge box ``[xmin-1, ymin-1, xmax, ymax]``;
float coordinates are accepted; missing ``pose``/``truncated``/``difficult`` default to 0. Bad input raises
:class:`~cvkit.errors.BadInput` naming the file and the field (``object[2].bndbox.xmax``): malformed or refused XML,
a root other than ``<annotation>``, a missing or non-finite number, ``xmax < xmin`` (or ``ymax < ymin``), a negative
or over-limit ``<size>``, a box lying entirely outside its image (when ``<size>`` gives one). Boxes only partly
outside are kept as written (the devkit and pycocotools evaluate them so).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from cvkit.errors import BadInput
from cvkit.io.limits import too_large


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _g(v: float) -> str:
    return f"{v:g}"


def _text(node: ET.Element, tag: str, xml: Path, where: str, default: str | None = None) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        if default is not None:
            return default
        raise BadInput(xml, f"missing <{tag}>", where=where)
    return child.text.strip()


def _number(node: ET.Element, tag: str, xml: Path, where: str, default: str | None = None) -> float:
    text = _text(node, tag, xml, where, default)
    try:
        value = float(text)
    except ValueError:
        raise BadInput(xml, f"<{tag}> is not a number: {_shown(text)}", where=f"{where}.{tag}") from None
    if not math.isfinite(value):
        raise BadInput(xml, f"<{tag}> is not a finite number: {_shown(text)}", where=f"{where}.{tag}")
    return value


def read_xml(xml: str | Path) -> ET.Element:
    """The root element of an XML file, parsed without entity expansion or external references."""
    xml = Path(xml)
    try:
        return SafeET.parse(xml).getroot()
    except FileNotFoundError:
        raise BadInput(xml, "annotation file not found") from None
    except ET.ParseError as exc:
        line, col = exc.position
        reason = re.sub(r": line \d+, column \d+$", "", str(exc))
        raise BadInput(xml, f"malformed XML: {reason}", where=f"line {line}, column {col}") from None
    except DefusedXmlException as exc:  # <!ENTITY>, <!DOCTYPE ... SYSTEM>, external references
        raise BadInput(xml, f"refused XML: {exc}") from None
    except (OSError, ValueError, LookupError) as exc:  # unreadable, NUL in the name, unknown declared encoding
        raise BadInput(xml, f"cannot read the XML: {getattr(exc, 'strerror', None) or exc}") from None


def _object(obj: ET.Element, xml: Path, where: str, size: tuple[int, int]) -> dict[str, Any]:
    name = _text(obj, "name", xml, where)
    bb = obj.find("bndbox")
    if bb is None:
        raise BadInput(xml, "missing <bndbox>", where=where)
    x1, y1, x2, y2 = (_number(bb, t, xml, f"{where}.bndbox") for t in ("xmin", "ymin", "xmax", "ymax"))
    shown = ", ".join(_g(v) for v in (x1, y1, x2, y2))
    if x2 < x1 or y2 < y1:
        raise BadInput(xml, f"xmax/ymax smaller than xmin/ymin ({shown})", where=f"{where}.bndbox")
    h, w = size
    if h > 0 and w > 0 and (x1 - 1 >= w or y1 - 1 >= h or x2 <= 0 or y2 <= 0):
        raise BadInput(xml, f"box ({shown}) lies entirely outside the {w}x{h} image", where=f"{where}.bndbox")
    difficult = _number(obj, "difficult", xml, where, "0") != 0
    return {"name": name, "box": [x1 - 1.0, y1 - 1.0, x2, y2], "difficult": difficult}


def parse_annotation(xml: str | Path) -> dict[str, Any]:
    """Parse one VOC XML file: ``{"filename", "size": (h, w), "objects": [{"name", "box", "difficult"}]}``.

    ``size`` is ``(0, 0)`` when the XML has no ``<size>``. Raises BadInput naming the file and the field."""
    xml = Path(xml)
    root = read_xml(xml)
    if root.tag != "annotation":
        raise BadInput(xml, f"root element is <{root.tag}>, expected <annotation>")
    size = root.find("size")
    h = w = 0
    if size is not None:
        w, h = (_number(size, t, xml, "size", "0") for t in ("width", "height"))
        if w < 0 or h < 0:
            raise BadInput(xml, f"negative image size {_g(w)}x{_g(h)}", where="size")
        reason = too_large(w, h)
        if reason:
            raise BadInput(xml, reason, where="size")
        w, h = int(w), int(h)
    objects = [_object(obj, xml, f"object[{i}]", (h, w)) for i, obj in enumerate(root.findall("object"))]
    return {"filename": _text(root, "filename", xml, "annotation", ""), "size": (h, w), "objects": objects}
