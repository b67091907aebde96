"""The sweep report's section on the analyses ``society analyze`` stored in a sweep."""

from __future__ import annotations

import base64
from pathlib import Path

from viz.html import esc, table

#: Each method's name as a heading.
TITLES = {
    "sobol": "Sobol",
    "morris": "Morris",
    "oat": "One at a time",
    "prim": "PRIM",
    "frontier": "Frontier",
}


def analysis_html(sweep_dir: str | Path) -> str:
    """The sweep report's section on the analyses stored in ``sweep_dir/analysis`` (empty if
    there are none): for each, its heading, sentences, table and figure."""
    from society.analysis.results import stored

    parts = []
    for record in stored(sweep_dir):
        path = Path(record["path"])
        png = path.parent / (path.name.removesuffix(".json") + ".png")
        title = TITLES.get(record["method"], record["method"].capitalize())
        parts.append(f"<h3>{esc(title)}: {esc(record['label'])}</h3>")
        parts.append(f'<p class="note">{esc(record.get("heading", ""))}</p>')
        words = "".join(f"<li>{esc(w)}</li>" for w in record.get("words", []))
        if words:
            parts.append(f"<ul>{words}</ul>")
        if record.get("rows"):
            parts.append(table(record["rows"], record.get("header")))
        if png.is_file():
            data = base64.b64encode(png.read_bytes()).decode("ascii")
            parts.append(
                f'<figure id="analysis-{esc(png.stem)}"><img alt="{esc(png.stem)}" '
                f'src="data:image/png;base64,{data}"><figcaption>{esc(png.name)} '
                f"(<code>society analyze --method {esc(record['method'])} --target "
                f"{esc(record['target'])}</code>)</figcaption></figure>"
            )
    if not parts:
        return ""
    intro = (
        "<p>Written by <code>society analyze</code>: Sobol indices and Morris screening say "
        "which swept assumptions move the outcome, one-at-a-time effects how far each moves it "
        "alone from the medians, PRIM where in their ranges it concentrates, the frontier how "
        "much of one key the other needs.</p>"
    )
    return intro + "".join(parts)
