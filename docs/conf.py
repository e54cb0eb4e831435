"""Sphinx configuration of the documentation site (``python -m sphinx -W -b html docs docs/_build/html``).

The configuration reference is generated from the packaged JSON schema at build time, the command-line reference
from the click commands (sphinx-click), the API reference from the docstrings (autodoc), and the quickstart
notebook is executed (myst-nb). The built site is not committed.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

project = "dipole-portal"
author = "the dipole-portal authors"
release = metadata.version("dipole-portal")
version = release
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx_click"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "figures/README*", "jupyter_execute"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "alabaster"
html_static_path: list[str] = []
suppress_warnings = ["myst.header"]

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "dipole_portal" / "core" / "data" / "scenarios.schema.json"


def _kind(node: dict[str, Any]) -> str:
    """What a schema node accepts, in words."""
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(_kind(n) for n in node["oneOf"])
    kind = node.get("type", "any")
    bounds = [
        f"{op} {node[key]}"
        for key, op in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"))
        if key in node
    ]
    if kind == "array" and isinstance(node.get("items"), dict):
        kind = f"array of {_kind(node['items'])}"
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def _rows(node: dict[str, Any], path: str, required: bool) -> list[str]:
    out = (
        [f"| `{path}` | {_kind(node)} | {'yes' if required else ''} | {node.get('description', '')} |"] if path else []
    )
    props = node.get("properties", {})
    need = set(node.get("required", []))
    for key, sub in props.items():
        out += _rows(sub, f"{path}/{key}" if path else key, key in need)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out += _rows(extra, f"{path}/<name>", False)
    for alt in node.get("oneOf", []):
        if "properties" in alt:
            for key, sub in alt["properties"].items():
                out += _rows(sub, f"{path}/{key}", key in alt.get("required", []))
    if isinstance(node.get("items"), dict) and "properties" in node["items"]:
        for key, sub in node["items"]["properties"].items():
            out += _rows(sub, f"{path}/<i>/{key}", key in node["items"].get("required", []))
    return out


def write_configuration_reference(app: Any) -> None:
    """docs/_generated/configuration_keys.md: every key of the scenario schema with its type, bounds and meaning."""
    schema = json.loads(SCHEMA.read_text())
    lines = ["| key | accepts | required | meaning |", "|---|---|---|---|", *_rows(schema, "", True)]
    out = Path(app.srcdir) / "_generated" / "configuration_keys.md"
    out.parent.mkdir(exist_ok=True)
    text = "\n".join(lines) + "\n"
    if not out.exists() or out.read_text() != text:
        out.write_text(text)


def setup(app: Any) -> None:
    app.connect("builder-inited", write_configuration_reference)
