"""Data source and steps of the YAML quickstart (``experiment.yaml`` beside this file).

A nearest-neighbour classifier on scikit-learn's bundled digits data set
(loads offline). Each replicate draws its own train/test split from the run's
generator; the baseline and both treatments of a replicate see the SAME split
(common random numbers), so paired tests compare like with like.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from crystallize import data_source, pipeline_step


@data_source
def digits_split(ctx, *, test_fraction=0.3, label_noise=0.0):
    """Digits split into train and test; a ``label_noise`` share of training labels is randomised."""
    x, y = load_digits(return_X_y=True)
    order = ctx.rng.permutation(len(y))
    cut = int(len(y) * (1 - test_fraction))
    train, test = order[:cut], order[cut:]
    y_train = y[train].copy()
    flip = ctx.rng.random(len(y_train)) < label_noise
    y_train[flip] = ctx.rng.integers(0, 10, int(flip.sum()))
    return x[train], y_train, x[test], y[test]


@pipeline_step(cacheable=True)
def standardise(data):
    """Scale every pixel to zero mean and unit variance (fitted on the training part).

    Cacheable: the baseline and ``k15`` share each replicate's split, so the
    second computes nothing (``crystallize cache info`` shows the entries).
    """
    x_train, y_train, x_test, y_test = data
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), y_train, scaler.transform(x_test), y_test


@pipeline_step
def knn(data, *, n_neighbors=1):
    """Fit a k-nearest-neighbour classifier; report test accuracy and macro F1."""
    x_train, y_train, x_test, y_test = data
    predicted = KNeighborsClassifier(n_neighbors=n_neighbors).fit(x_train, y_train).predict(x_test)
    return {
        "accuracy": float(np.mean(predicted == y_test)),
        "macro_f1": float(f1_score(y_test, predicted, average="macro")),
    }
