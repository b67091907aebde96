"""``python -m society.docsite DIR``: write the generated reference pages under DIR (to read or
diff them without MkDocs; the site itself builds them in memory)."""

from __future__ import annotations

import sys
from pathlib import Path

from society.docsite.pages import PAGES


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m society.docsite DIR", file=sys.stderr)
        return 2
    root = Path(argv[0])
    for path, render in PAGES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render())
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
