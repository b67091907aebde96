"""MkDocs hook (mkdocs.yml, ``hooks:``): adds the generated reference pages to the build and
puts recorded answers (and the recorded mechanism table) into the pages that quote them.

The generated pages exist only in the built site, never as files under ``docs/``, so there is
nothing to go stale; a file committed at a generated page's path is refused rather than silently
shadowed. A page quoting a recorded answer writes ``<!-- answer: NAME -->``
(:mod:`society.docsite.answers`); a missing or incomplete record fails the build.
"""

from __future__ import annotations

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from society.docsite import mechanisms
from society.docsite.answers import fill
from society.docsite.pages import PAGES


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path, render in PAGES.items():
        if files.get_file_from_path(path) is not None:
            raise PluginError(
                f"docs/{path} is generated from the code (society.docsite.pages): delete the "
                "file and edit the code instead"
            )
        files.append(File.generated(config, path, content=render()))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    del config, files
    try:
        return mechanisms.fill(fill(markdown))
    except (OSError, ValueError) as e:
        raise PluginError(f"{page.file.src_uri}: {e}") from None
