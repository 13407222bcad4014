"""Sequential: add replicates until the answer is clear, with a false-positive rate that stays valid.

A k-nearest-neighbour digit classifier is trained on labels of which 10% are
wrong. Does it gain accuracy from voting among 5 neighbours instead of 1, or from
the Manhattan distance instead of the Euclidean one? Nobody knows how many
replicates (random train/test splits, with their own label noise) that takes, so
the experiment runs them in rounds of 5 (at most 200), looks at the evidence
after each round with the sequential t-test, and stops as soon as each hypothesis
is decided, or shown to be smaller than half a percentage point (futile).
Peeking like this with an ordinary t-test would inflate false positives; the
sequential test's p-values stay valid however often it looks.

Run it with ``python examples/sequential/experiment.py``.
"""

from __future__ import annotations

from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier

from crystallize import Experiment, Hypothesis, SequentialTTest, Treatment, data_source, pipeline_step
from crystallize.core.sequential import Sequential


@data_source
def noisy_digits(ctx, *, test_fraction=0.5, label_noise=0.1):
    """The digits data set, split with the run's generator, with a share of the training
    labels replaced at random (the same split and noise for every condition)."""
    x, y = load_digits(return_X_y=True)
    order = ctx.rng.permutation(len(y))
    cut = int(len(y) * (1 - test_fraction))
    y_train = y[order[:cut]].copy()
    flipped = ctx.rng.random(cut) < label_noise
    y_train[flipped] = ctx.rng.integers(0, 10, int(flipped.sum()))
    return x[order[:cut]], y_train, x[order[cut:]], y[order[cut:]]


@pipeline_step
def knn(data, ctx, *, n_neighbors=1, p=2):
    """Fit k-nearest neighbours and report the test accuracy."""
    x_train, y_train, x_test, y_test = data
    model = KNeighborsClassifier(n_neighbors=n_neighbors, p=p).fit(x_train, y_train)
    return {"accuracy": float((model.predict(x_test) == y_test).mean())}


experiment = Experiment(
    name="digits-sequential",
    datasource=noisy_digits(),
    pipeline=[knn()],
    treatments=[
        Treatment("five_neighbours", {"n_neighbors": 5}),
        Treatment("manhattan", {"p": 1}),
    ],
    hypotheses=[Hypothesis("accuracy", SequentialTTest(), direction="increase", min_effect=0.005)],
    replicates=Sequential(max=200, batch=5, min=5),
    seed=7,
)

if __name__ == "__main__":
    result = experiment.run(store=False)
    print(result)
    print(f"stopped after {result.stopped_at} replicates per condition: {result.stop_reason}")
