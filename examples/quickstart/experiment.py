"""Quickstart: does a richer feature space make a digit classifier more accurate?

A real (small) machine-learning experiment on scikit-learn's bundled digits
data set, which loads offline. Every replicate draws its own train/test split
from the run's seed, and the baseline and both treatments of a replicate see
the SAME split (common random numbers), so the paired t-test compares like
with like.

Conditions:
    baseline          PCA to 8 components, logistic regression with C=1
    more_components   PCA to 32 components            (should help)
    less_regularised  C=10 instead of C=1             (should not matter much)

Run it with ``make demo`` or ``python examples/quickstart/experiment.py``; it
prints the summary and writes a self-contained HTML report.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from crystallize import Experiment, Hypothesis, PairedTTest, Pipeline, Treatment, data_source, pipeline_step


@data_source
def digits_split(ctx, *, test_fraction=0.3):
    """The digits data set, split into train and test with the run's generator."""
    x, y = load_digits(return_X_y=True)
    order = ctx.rng.permutation(len(y))
    cut = int(len(y) * (1 - test_fraction))
    train, test = order[:cut], order[cut:]
    return x[train], y[train], x[test], y[test]


@pipeline_step
def project(data, ctx, *, n_components=8):
    """Standardise, then project onto the first principal components."""
    x_train, y_train, x_test, y_test = data
    scaler = StandardScaler().fit(x_train)
    pca = PCA(n_components=n_components, random_state=ctx["seed"]).fit(scaler.transform(x_train))
    return pca.transform(scaler.transform(x_train)), y_train, pca.transform(scaler.transform(x_test)), y_test


@pipeline_step
def classify(data, ctx, *, C=1.0):
    """Fit a logistic regression and report test accuracy and log-loss."""
    x_train, y_train, x_test, y_test = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=C, max_iter=300).fit(x_train, y_train)
    proba = np.clip(model.predict_proba(x_test), 1e-12, 1)
    return {
        "accuracy": float((model.predict(x_test) == y_test).mean()),
        "log_loss": float(-np.log(proba[np.arange(len(y_test)), y_test]).mean()),
    }


experiment = Experiment(
    name="digits-quickstart",
    datasource=digits_split(),
    pipeline=Pipeline([project(), classify()]),
    treatments=[
        Treatment("more_components", {"n_components": 32}),
        Treatment("less_regularised", {"C": 10.0}),
    ],
    hypotheses=[
        Hypothesis("accuracy", PairedTTest(), direction="increase"),
        Hypothesis("log_loss", PairedTTest(), direction="decrease"),
    ],
    replicates=12,
    seed=2024,
)

def command_name() -> str:
    """How to call the ``crystallize`` command from this shell: its name when the one on PATH
    belongs to this interpreter's environment, else its path (``.venv/bin/crystallize`` after
    ``make demo``, which does not activate the environment)."""
    beside = Path(sys.executable).parent / "crystallize"  # not resolved: a venv's python is a link
    found = shutil.which("crystallize")
    if found and Path(found).absolute() == beside.absolute():
        return "crystallize"
    try:
        return str(beside.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(beside)


if __name__ == "__main__":
    from crystallize.report import write_report

    result = experiment.run()  # recorded in ./.crystallize/store.db as each run finishes
    print(result)
    report = write_report(result, f".crystallize/report-{result.run_id}.html")
    command = command_name()
    print(f"\nrun id {result.run_id} · HTML report: {report}")
    print(f"again later: {command} show {result.run_id} · {command} report {result.run_id} -o report.html")
    if command != "crystallize":
        print(f"(or activate the environment first: source {Path(command).parent.parent}/bin/activate,"
              " then: crystallize show ...)")
