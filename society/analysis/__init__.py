"""Which assumptions matter: analyses of a finished sweep (``society analyze``).

* :mod:`~society.analysis.data`: what every analysis reads from a sweep directory (points,
  targets, per-arm values, the sampled design);
* :mod:`~society.analysis.sobol`: Sobol' first, total (and second) order indices of a Saltelli
  sweep, with SALib's bootstrap intervals;
* :mod:`~society.analysis.morris`: Morris elementary effects (mu*, sigma) of a Morris sweep;
* :mod:`~society.analysis.prim`: PRIM scenario discovery (Friedman & Fisher 1999): boxes of the
  swept values where the target concentrates, in words;
* :mod:`~society.analysis.frontier`: on a two-key grid, the smallest value of one key with
  P(target) >= p at each value of the other, with its interval;
* :mod:`~society.analysis.store`: running one of them on a sweep directory and writing its
  table, words and figure under ``SWEEP_DIR/analysis/``.
"""
