"""What the native baselines share: initial weights, batches, the timed
training loop and evaluation. Plain numpy; the backend modules do the math."""

from __future__ import annotations

import math
import time
from typing import Any, Iterator, Protocol

import numpy as np

from bench.timing import StepTimer
from listrank import data as ml
from listrank.metrics import evaluate, evaluate_per_list

EVAL_KS = (1, 3, 5)
HIDDEN_UNITS = (256, 64)
EMBEDDING_RANGE = 0.05  # keras.initializers.RandomUniform defaults, Keras' Embedding default
ADAGRAD_INITIAL_ACCUMULATOR = 0.1  # keras.optimizers.Adagrad defaults
ADAGRAD_EPSILON = 1e-7
# Parameter order every backend module uses.
PARAM_NAMES = ("user_embedding", "movie_embedding", "dense_0/kernel", "dense_0/bias",
               "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias")


class Trainer(Protocol):
    """What each backend module's ``Trainer(params, loss_name, learning_rate)`` provides."""

    def step(self, user: np.ndarray, movie: np.ndarray, label: np.ndarray) -> Any: ...
    def sync(self) -> None: ...
    def scores(self, user: np.ndarray, movie: np.ndarray) -> np.ndarray: ...
    def weights(self) -> list[np.ndarray]: ...


def initial_params(num_users: int, num_movies: int, embedding_dim: int, seed: int) -> list[np.ndarray]:
    """Keras' default initialisation: uniform embeddings, Glorot-uniform kernels, zero biases."""
    rng = np.random.default_rng(seed)
    params = [
        rng.uniform(-EMBEDDING_RANGE, EMBEDDING_RANGE, (num_users, embedding_dim)),
        rng.uniform(-EMBEDDING_RANGE, EMBEDDING_RANGE, (num_movies, embedding_dim)),
    ]
    fan_in = 2 * embedding_dim
    for units in (*HIDDEN_UNITS, 1):
        limit = math.sqrt(6.0 / (fan_in + units))
        params += [rng.uniform(-limit, limit, (fan_in, units)), np.zeros(units)]
        fan_in = units
    return [p.astype(np.float32) for p in params]


def _keras_variables(model) -> list:
    """A listrank RankingModel's variables, in :data:`PARAM_NAMES` order."""
    variables = [model.user_embedding.embeddings, model.movie_embedding.embeddings]
    for layer in model.dense_layers:
        variables += [layer.kernel, layer.bias]
    return variables


def keras_params(model) -> list[np.ndarray]:
    """A listrank RankingModel's weights, in :data:`PARAM_NAMES` order."""
    import keras

    return [np.array(keras.ops.convert_to_numpy(v.value), dtype=np.float32) for v in _keras_variables(model)]


def set_keras_params(model, params: list[np.ndarray]) -> None:
    for variable, value in zip(_keras_variables(model), params, strict=True):
        variable.assign(value)


def epoch_batches(size: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Indices of one shuffled epoch, in batches (the last one smaller), like ``fit(shuffle=True)``."""
    order = rng.permutation(size)
    for start in range(0, size, batch_size):
        yield order[start:start + batch_size]


class NativeTimer(StepTimer):
    """:class:`StepTimer`'s windows, synchronised through the native trainer."""

    def __init__(self, trainer: Trainer, steps_per_epoch: int, partial_last_step: bool, window: int) -> None:
        super().__init__(steps_per_epoch, partial_last_step, window)
        self._trainer = trainer

    def sync(self) -> None:
        self._trainer.sync()


def train(trainer: Trainer, lists: ml.Lists, *, epochs: int, batch_size: int, window: int,
          seed: int, extra_step=None, steps: int | None = None) -> tuple[NativeTimer, list[float]]:
    """Train for ``epochs``, timed like Keras' fit; returns the timer and the mean loss per epoch.

    The callbacks are called where Keras calls them: ``on_train_batch_begin``
    before each step is dispatched. ``extra_step`` runs at the same point.
    ``steps`` stops each epoch after that many steps, like ``fit(steps_per_epoch=...)``.
    """
    steps_per_epoch = math.ceil(len(lists) / batch_size)
    timer = NativeTimer(trainer, steps_per_epoch, len(lists) % batch_size != 0, window)
    rng = np.random.default_rng([seed, 1])
    epoch_losses = []
    timer.on_train_begin()
    for _ in range(epochs):
        step_losses = []
        for batch, rows in enumerate(epoch_batches(len(lists), batch_size, rng)):
            if steps is not None and batch == steps:
                break
            timer.on_train_batch_begin(batch)
            if extra_step is not None:
                extra_step()
            step_losses.append(trainer.step(lists.user_id[rows], lists.movie_id[rows], lists.label[rows]))
        epoch_losses.append(float(np.mean([float(loss) for loss in step_losses])))
    timer.on_train_end()
    return timer, epoch_losses


def predict(trainer: Trainer, lists: ml.Lists, batch_size: int) -> np.ndarray:
    parts = [trainer.scores(lists.user_id[i:i + batch_size], lists.movie_id[i:i + batch_size])
             for i in range(0, len(lists), batch_size)]
    scores = np.concatenate(parts).astype(np.float64)
    if not np.all(np.isfinite(scores)):
        raise FloatingPointError("the native model predicts non-finite scores on the evaluation lists")
    return scores


def per_list_ndcg(labels: np.ndarray, scores: np.ndarray, relevance_threshold: float, k: int = 5) -> list:
    """Per-list test NDCG@k, rounded to 5 decimals (None for a list without valid items),
    stored so that two losses can be compared list by list (a paired test)."""
    values = evaluate_per_list(labels, scores, ks=(k,), relevance_threshold=relevance_threshold)[f"ndcg@{k}"]
    return [None if not np.isfinite(v) else round(float(v), 5) for v in values]


def run_native(config, splits: ml.Splits, num_users: int, num_movies: int, loss_name: str,
               seed: int) -> dict[str, Any]:
    """One native training run, as a results record (``impl: "native"``)."""
    from bench import machine, results
    import keras

    record: dict[str, Any] = {name: None for name in results.RUN_KEYS}
    record.update(loss=loss_name, seed=seed, status="failed", impl="native")
    try:
        module = __import__(f"bench.native.{keras.backend.backend()}_native", fromlist=["Trainer"])
        params = initial_params(num_users, num_movies, config.embedding_dim, seed)
        trainer = module.Trainer(params, loss_name, config.learning_rate)
        machine.reset_peak_rss()
        started = time.perf_counter()
        timer, epoch_losses = train(trainer, splits.train, epochs=config.epochs,
                                    batch_size=config.batch_size, window=config.timing_window, seed=seed)
        record["train_s"] = round(time.perf_counter() - started, 3)
        record["epoch_loss"] = epoch_losses
        record.update(timer.record_fields())
        if not all(math.isfinite(v) for v in epoch_losses):
            record["error"] = f"training loss became {epoch_losses[-1]}"
            return record
        median = record["step_ms"]["median"]
        if median:
            record["lists_per_s"] = config.batch_size * 1000.0 / median
            record["items_per_s"] = record["lists_per_s"] * config.list_size
        for name, lists in (("val", splits.val), ("test", splits.test)):
            scores = predict(trainer, lists, config.batch_size)
            record[name] = evaluate(lists.label, scores, ks=EVAL_KS,
                                    relevance_threshold=config.relevance_threshold)
            if name == "test":
                record["test_per_list"] = {
                    "ndcg@5": per_list_ndcg(lists.label, scores, config.relevance_threshold)}
        record["peak_rss_mb"] = machine.peak_rss_mb()
        record["status"] = "ok"
    except Exception as error:  # one failed run must not stop the others
        record["error"] = f"{type(error).__name__}: {error}".splitlines()[0][:500]
    return record
