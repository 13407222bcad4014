"""crystallize: controlled, reproducible, hypothesis-driven experiments.

Define a data source, a pipeline of steps, treatments and hypotheses; run the
baseline and every treatment over seeded replicates; read each hypothesis's
verdict with an effect size, a confidence interval and a p-value.
"""

from __future__ import annotations

import logging

from crystallize import core
from crystallize.core import *  # noqa: F403 - the top level offers exactly core's public names

__version__ = "0.1.0"

logging.getLogger("crystallize").addHandler(logging.NullHandler())

__all__ = ["__version__"]
__all__ += core.__all__
