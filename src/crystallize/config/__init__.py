"""Experiments defined in YAML files.

A file names its data source and steps by import path (``module:name``,
looked up next to the file first), its treatments as context values, and its
hypotheses by metric, direction and test name::

    name: digits-knn
    seed: 7
    replicates: 10                      # or {sequential: {max: 200, batch: 5, min: 5}}
    datasource:
      import: steps:digits_split
      params: {test_fraction: 0.3}
    steps:
      - steps:standardise
      - import: steps:knn
        params: {n_neighbors: 1}
    treatments:
      k15: {n_neighbors: 15}
      grid: {n_neighbors: [3, 5], weights: [uniform, distance]}   # or zip: (see Treatment.grid)
    hypotheses:
      - metric: accuracy
        direction: increase
        test: paired_t                  # or {name: sequential_t, prior_scale: 0.5}
        min_effect: 0.01                # sequential designs: stop once ruled out
    correction: holm

Load one with :meth:`Experiment.from_yaml
<crystallize.core.experiment.Experiment.from_yaml>`. Every problem is reported
with its key and line; unknown keys suggest the nearest valid one. Only three
kinds of object named in a file are ever called (see
:mod:`crystallize.config.components`). This package sits below the command
line and beside the model: it builds experiment parts from ``crystallize.core``
and never imports the experiment itself, the command line, the store or the
backends.
"""

from __future__ import annotations

from crystallize.config.imports import ImportPathError, resolve_import
from crystallize.config.loader import load_experiment
from crystallize.config.problems import ConfigError, Problem

__all__ = ["ConfigError", "ImportPathError", "Problem", "load_experiment", "resolve_import"]
