"""The documentation site's generated pages (mkdocs.yml, ``docs/``).

The reference pages are never written by hand: :mod:`society.docsite.pages` renders them from the
code (the argparse definitions, the scenario schema, the recorder's schemas, the priors), and
:mod:`society.docsite.hook` hands them to ``mkdocs build`` so the site cannot drift from the code.
``python -m society.docsite DIR`` writes the same pages to a directory, to read them without
MkDocs.
"""
