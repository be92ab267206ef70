"""How client objects show in a notebook: an image with its thumbnail and key facts, lists as tables."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import PIL.Image

    from .objects import CatalogueObject
    from .provenance import Provenance

THUMBNAIL = 160
STYLE = "border-collapse:collapse;font-size:12px"
CELL = "padding:2px 8px;text-align:left;border-bottom:1px solid #ddd;vertical-align:top"


def image_from(data: bytes) -> PIL.Image.Image:
    """Decoded JPEG or PNG bytes as a PIL image."""
    from PIL import Image

    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value.isoformat(sep=" ", timespec="seconds") if hasattr(value, "isoformat") else str(value)
    return html.escape(text if len(text) <= 120 else text[:117] + "...")


def table_html(rows: list[dict[str, Any]], caption: str) -> str:
    """A plain HTML table of flat rows (the columns of the first row)."""
    head = f"<div style='font-size:12px;margin:2px 0'><b>{html.escape(caption)}</b></div>"
    if not rows:
        return head
    columns = list(rows[0])
    header = "".join(f"<th style='{CELL}'>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td style='{CELL}'>{_cell(r.get(c))}</td>" for c in columns) + "</tr>"
                   for r in rows)
    return f"{head}<table style='{STYLE}'><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def facts(obj: CatalogueObject) -> list[tuple[str, Any]]:
    """The key facts of an object, as (label, value)."""
    out: list[tuple[str, Any]] = [("id", obj.id), ("owner", obj.owner), ("group", obj.group),
                                  ("created", obj.created)]
    if obj.description:
        out.append(("description", obj.description))
    if "child_count" in obj.data:
        out.append(("children", obj.data["child_count"]))
    if obj.kind == "image":
        shape = obj.shape  # type: ignore[attr-defined]
        if shape is not None:
            t, c, z, y, x = shape
            out.append(("size", f"{x} × {y} pixels, {z} z, {c} channel{'s' * (c != 1)}, {t} time point"
                                + "s" * (t != 1)))
            out.append(("type", obj.pixels["pixel_type"]))  # type: ignore[attr-defined]
            sizes = obj.physical_size  # type: ignore[attr-defined]
            if sizes.get("x"):
                out.append(("pixel size", f"{sizes['x']:g} × {sizes.get('y') or sizes['x']:g} µm"
                            + (f", z step {sizes['z']:g} µm" if sizes.get("z") else "")))
            out.append(("levels", ", ".join(f"{w}×{h}" for h, w in obj.levels)))  # type: ignore[attr-defined]
            names = [ch.get("name") for ch in obj.data.get("channels") or []]
            if names:
                out.append(("channels", ", ".join(n or "?" for n in names)))
        else:
            out.append(("pixels", "none"))
    out.append(("provenance", "recorded (.provenance)" if obj.has_provenance else "none"))
    return out


def thumbnail_tag(obj: CatalogueObject, size: int = THUMBNAIL) -> str:
    """An inline <img> of the image's thumbnail, or nothing when there is none to show."""
    from .errors import ScopehubError

    if obj.kind != "image" or obj.data.get("pixels") is None:
        return ""
    try:
        data = obj._hub.http.request("GET", f"{obj.path}/thumbnail", params={"size": size}).content
    except ScopehubError:
        return ""
    encoded = base64.b64encode(data).decode("ascii")
    return f"<img src='data:image/jpeg;base64,{encoded}' style='max-width:{size}px;margin-right:12px' alt='thumbnail'/>"


def object_html(obj: CatalogueObject) -> str:
    rows = "".join(f"<tr><th style='{CELL}'>{html.escape(k)}</th><td style='{CELL}'>{_cell(v)}</td></tr>"
                   for k, v in facts(obj))
    title = f"<div style='font-size:13px;margin-bottom:4px'><b>{html.escape(obj.kind.capitalize())} " \
            f"{obj.id}</b>: {html.escape(obj.name)}</div>"
    return (f"<div style='display:flex;align-items:flex-start'>{thumbnail_tag(obj)}<div>{title}"
            f"<table style='{STYLE}'>{rows}</table></div></div>")


def provenance_html(record: Provenance) -> str:
    data = record.data
    inputs = ", ".join(f"{i['type']} {i['id']} ({i['name']})" for i in data["inputs"]) or "none"
    if data.get("hidden_inputs"):
        inputs += f" and {data['hidden_inputs']} you cannot see"
    params = ", ".join(f"{k}={v!r}" for k, v in data.get("parameters", {}).items()) or "none"
    packages = ", ".join(f"{k} {v}" for k, v in list(data.get("packages", {}).items())[:12])
    if len(data.get("packages", {})) > 12:
        packages += f", ... ({len(data['packages'])} in all)"
    rows = [("made by", (data.get("user") or {}).get("username")), ("at", data.get("created")),
            ("from", data.get("source")), ("inputs", inputs), ("parameters", params),
            ("code sha256", data.get("code_sha256")), ("packages", packages)]
    table = "".join(f"<tr><th style='{CELL}'>{k}</th><td style='{CELL}'>{html.escape(str(v or ''))}</td></tr>"
                    for k, v in rows)
    code = data.get("code")
    block = (f"<details><summary>code</summary><pre style='font-size:11px'>{html.escape(code)}</pre></details>"
             if code else "")
    made = data["object"]
    return (f"<div><b>Provenance of {made['type']} {made['id']}</b><table style='{STYLE}'>{table}</table>"
            f"{block}</div>")
