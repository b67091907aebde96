"""The batched engine: many runs of one population size stepped as one population, each giving
the results it gives alone (see :mod:`society.batch.engine`)."""

from society.batch.engine import Batch, batch_key, batchable, run_each

__all__ = ["Batch", "batch_key", "batchable", "run_each"]
