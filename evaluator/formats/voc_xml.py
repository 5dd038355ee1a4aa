"""DIOR-R / VOC-style and HRSC2016 XML annotations (truth).

DIOR-R/VOC: ``<object><name>, <difficult>`` with ``<robndbox>`` corners or
``<bndbox>``; HRSC2016: ``<HRSC_Object>`` with ``mbox_cx, mbox_cy, mbox_w,
mbox_h, mbox_ang`` (radians) → 4 corners, class ``ship``.
"""

from __future__ import annotations

import math
from xml.etree import ElementTree

from evaluator.errors import ValidationError
from evaluator.formats.boxes import Table, Truth, numbers
from evaluator.io import Source, read_text


def _xml_float(el, tag: str, where: str) -> float:
    node = el.find(tag)
    if node is None or node.text is None:
        raise ValidationError(f"{where}: missing <{tag}>")
    return numbers([node.text.strip()], where, f"<{tag}>")[0]


def read_xml_objects(text: str, where: str, table: Table, sid: str) -> None:
    """Objects of one DIOR-R/VOC or HRSC2016 XML annotation into ``table``."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ValidationError(f"{where}: invalid XML ({exc})") from None
    for obj in root.iter("object"):
        label = (obj.findtext("name") or "").strip()
        if not label:
            raise ValidationError(f"{where}: <object> without <name>")
        diff = (obj.findtext("difficult") or "0").strip() == "1"
        rb, bb = obj.find("robndbox"), obj.find("bndbox")
        if rb is not None:
            tags = [
                f"{c}_{s}"
                for s in ("left_top", "right_top", "right_bottom", "left_bottom")
                for c in ("x", "y")
            ]
            table.add(
                sid,
                label,
                poly=[_xml_float(rb, t, where) for t in tags],
                difficult=diff,
                where=where,
            )
        elif bb is not None:
            hbb = [_xml_float(bb, t, where) for t in ("xmin", "ymin", "xmax", "ymax")]
            table.add(sid, label, hbb=hbb, difficult=diff, where=where)
        else:
            raise ValidationError(
                f"{where}: <object> {label!r} has no <robndbox> or <bndbox>"
            )
    for obj in root.iter("HRSC_Object"):
        cx, cy, w, h, a = (
            _xml_float(obj, t, where)
            for t in ("mbox_cx", "mbox_cy", "mbox_w", "mbox_h", "mbox_ang")
        )
        table.add(
            sid,
            "ship",
            poly=rotated_rect_corners(cx, cy, w, h, a),
            difficult=(obj.findtext("difficult") or "0").strip() == "1",
            where=where,
        )


def rotated_rect_corners(
    cx: float, cy: float, w: float, h: float, angle: float
) -> list[float]:
    """Corners of a rectangle of size w×h rotated by ``angle`` radians about its
    centre (image coordinates, as HRSC2016 ``mbox_ang``)."""
    c, s = math.cos(angle), math.sin(angle)
    out: list[float] = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        out += [cx + dx * c - dy * s, cy + dx * s + dy * c]
    return out


def read_xml_truth(source: Source) -> Truth:
    members = source.by_stem((".xml",))
    table = Table()
    for sid in sorted(members):
        read_xml_objects(
            read_text(source, members[sid]), source.where(members[sid]), table, sid
        )
    return Truth(ids=sorted(members), table=table, classes=sorted(set(table.label)))
