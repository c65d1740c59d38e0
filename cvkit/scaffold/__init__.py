"""``cvkit plugin new``: write a minimal, working third-party task plugin package."""

from __future__ import annotations

import re
from pathlib import Path

from cvkit.errors import UsageError
from cvkit.io.atomic import write_text

TEMPLATE = Path(__file__).parent / "template"


def new_plugin(name: str, out: Path) -> Path:
    """Render the template for task ``name`` into ``out`` (which must not exist or be empty)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise UsageError(f"plugin name {name!r}: use lower-case letters, digits and underscores, starting "
                         "with a letter")
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out}: folder exists and is not empty")
    package = f"cvkit_{name}"
    values = {"name": name, "package": package, "dist": f"cvkit-{name.replace('_', '-')}"}
    for src in sorted(TEMPLATE.rglob("*.tmpl")):
        rel = src.relative_to(TEMPLATE).with_suffix("")
        rel = Path(str(rel).replace("src", package, 1)) if rel.parts[0] == "src" else rel
        text = src.read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        write_text(out / rel, text)
    return out
