"""``society app``: a what-if playground in the browser (docs/playground.md).

One local web server (aiohttp, already a dependency) serves a single page and a small JSON API:

* :mod:`society.app.plan`: the page's settings (scenario, levers, assumptions, seeds, size,
  priors) to the very sweep ``society ask`` runs, the permalink and the export;
* :mod:`society.app.jobs`: runs in background worker processes, a results cache, progress;
* :mod:`society.app.results`: the claim's answer, the outcome distribution, curves and the
  paired difference against a pinned reference;
* :mod:`society.app.server`: the routes.
"""
