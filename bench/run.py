"""``bench run``: train and evaluate every (loss, seed) on one backend.

Imported only after :func:`bench.backend.select` has set the backend.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from bench import device, interrupt, machine, native, results
from bench.native import common as native_common
from bench.progress import Progress
from bench.timing import StepTimer
from listrank import data as ml
from listrank import losses
from listrank.metrics import evaluate
from listrank.model import RankingModel

EVAL_KS = (1, 3, 5)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    backend: str
    losses: tuple[str, ...]
    seeds: tuple[int, ...]
    epochs: int = 5
    protocol: str = "intended"
    data_dir: str | None = None
    allow_unverified_data: bool = False
    out: Path = Path("results/runs/unknown.json")
    batch_size: int = 1024
    list_size: int = 5
    learning_rate: float = 0.1
    embedding_dim: int = 32
    timing_window: int = 5
    relevance_threshold: float = 0.75
    distribution: str = "none"  # or "data-parallel" (jax only): bench.device.configure_distribution
    native: bool = True  # also time the native baseline of each loss that has one (bench/native)


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops training when an epoch's loss is NaN or infinite.

    Checked at epoch end only, where Keras has already synchronised; a check
    after every step would force a host sync per step.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reason: str | None = None
        self.epoch_losses: list[float] = []

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        value = float((logs or {}).get("loss", float("nan")))
        # JSON has no NaN or infinity: those are kept as the strings "nan", "inf".
        self.epoch_losses.append(value if math.isfinite(value) else str(value))
        if not math.isfinite(value):
            self.reason = f"training loss became {value} in epoch {epoch + 1}"
            self.model.stop_training = True


def new_document(config: RunConfig, data: ml.MovieLens, splits: ml.Splits,
                 distributed: dict[str, Any] | None = None) -> dict[str, Any]:
    return results.new_document(config.backend, {
        "losses": list(config.losses),
        "seeds": list(config.seeds),
        "epochs": config.epochs,
        "protocol": config.protocol,
        "batch_size": config.batch_size,
        "list_size": config.list_size,
        "optimizer": {"name": "adagrad", "learning_rate": config.learning_rate},
        "embedding_dim": config.embedding_dim,
        "jit_compile": "auto",
        "timing_window_steps": config.timing_window,
        "relevance_threshold": config.relevance_threshold,
        "dataset": {
            "name": "ml-100k" if data.verified else "movielens-format (unverified)",
            "verified": data.verified,
            "ratings": len(data),
            "train_lists": len(splits.train),
            "val_lists": len(splits.val),
            "test_lists": len(splits.test),
        },
        **(distributed or {"distribution": "none", "device_count": 1}),
    })


def run_benchmark(config: RunConfig, log=print, resume: bool = False) -> int:
    """Run every (seed, loss); save after each run. Returns the exit code.

    The results file is locked for the whole run (a second run writing the
    same file is refused) and rewritten atomically after every finished run.
    """
    distributed = device.configure_distribution(config.backend, config.distribution, config.batch_size)
    data = ml.load_movielens(config.data_dir, allow_unverified=config.allow_unverified_data)
    splits_by_seed = {
        seed: ml.build_lists(data, protocol=config.protocol, seed=seed, list_size=config.list_size)
        for seed in config.seeds
    }
    if distributed["device_count"] > 1:  # every batch must split evenly over the devices
        splits_by_seed = {
            seed: dataclasses.replace(s, train=_rows(s.train, device.shard_rows(len(s.train), distributed)))
            for seed, s in splits_by_seed.items()
        }
    with results.exclusive(config.out), interrupt.watched():
        document = new_document(config, data, splits_by_seed[config.seeds[0]], distributed)
        if resume:
            document = resumed_document(config.out, document, log)
        document.setdefault("native_runs", [])
        results.write_atomic(config.out, document)
        done = {(r["loss"], r["seed"]) for r in document["runs"]}
        todo = [(seed, loss) for seed in config.seeds for loss in config.losses if (loss, seed) not in done]
        progress = Progress(len(todo), log=log)
        for seed, loss_name in todo:
            interrupt.check()
            progress.start(f"loss={loss_name} seed={seed} backend={config.backend}")
            record = run_one(config, data, splits_by_seed[seed], loss_name, seed)
            document["runs"].append(record)
            results.write_atomic(config.out, document)
            progress.finish(describe(record))
            if config.native and native.supports(loss_name):
                # Same process, same lists, right after the Keras run: the Keras/native ratio.
                native_record = native_common.run_native(config, splits_by_seed[seed], data.num_users,
                                                         data.num_movies, loss_name, seed)
                document["native_runs"].append(native_record)
                results.write_atomic(config.out, document)
                log("    native: " + describe(native_record))
    failed = [r for r in document["runs"] if r["status"] != "ok"]
    log(f"wrote {config.out}: {len(document['runs']) - len(failed)} ok, {len(failed)} failed")
    native_failed = [r for r in document.get("native_runs", []) if r["status"] != "ok"]
    if document.get("native_runs"):
        log(f"native baselines: {len(document['native_runs']) - len(native_failed)} ok, "
            f"{len(native_failed)} failed")
    return 1 if failed or native_failed else 0


# Settings that must match for runs to share a results file (--resume).
_RESUME_KEYS = ("epochs", "protocol", "batch_size", "list_size", "optimizer", "embedding_dim",
                "relevance_threshold", "dataset", "distribution")


def resumed_document(path: Path, fresh: dict[str, Any], log) -> dict[str, Any]:
    """The document to continue: ``path``'s finished runs under ``fresh``'s metadata."""
    if not Path(path).exists():
        log(f"nothing to resume in {path}; starting it")
        return fresh
    previous = results.load(path)
    if previous["backend"] != fresh["backend"]:
        raise results.ResultsError(
            f"cannot resume {path}: it holds {previous['backend']} runs, this is "
            f"{fresh['backend']}; use another --out")
    for key in _RESUME_KEYS:
        if previous["config"].get(key) != fresh["config"].get(key):
            raise results.ResultsError(
                f"cannot resume {path}: its {key} is {previous['config'].get(key)!r}, this run's is "
                f"{fresh['config'].get(key)!r}; drop --resume to start over, or use another --out")
    kept = [r for r in previous["runs"] if r["status"] == "ok"]
    fresh["runs"] = kept
    # A native baseline belongs to the Keras run it followed: kept with it, else redone with it.
    finished = {(r["loss"], r["seed"]) for r in kept}
    fresh["native_runs"] = [r for r in previous.get("native_runs") or []
                            if r["status"] == "ok" and (r["loss"], r["seed"]) in finished]
    for key in ("losses", "seeds"):
        fresh["config"][key] = list(dict.fromkeys(previous["config"][key] + fresh["config"][key]))
    fresh["config"]["resumed_from"] = previous["created"]
    log(f"resuming {path}: {len(kept)} finished run(s) kept"
        + (f", {len(previous['runs']) - len(kept)} failed run(s) to redo" if len(kept) < len(previous["runs"]) else ""))
    return fresh


def describe(record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        return f"FAILED: {record['error']}"
    median = record["step_ms"]["median"]
    step = f"{median:.2f}ms" if median is not None else "n/a (too few steps to time)"
    return f"ndcg@5={record['test']['ndcg@5']:.4f} step={step} compile={record['compile_s']:.2f}s"


def run_one(config: RunConfig, data: ml.MovieLens, splits: ml.Splits, loss_name: str, seed: int) -> dict[str, Any]:
    record: dict[str, Any] = {name: None for name in results.RUN_KEYS}
    record.update(loss=loss_name, seed=seed, status="failed")
    try:
        keras.utils.set_random_seed(seed)
        model = RankingModel(data.num_users, data.num_movies, embedding_dim=config.embedding_dim)
        model.compile(
            optimizer=keras.optimizers.Adagrad(learning_rate=config.learning_rate),
            loss=losses.get(loss_name),
        )
        train = splits.train
        steps_per_epoch = math.ceil(len(train) / config.batch_size)
        timer = StepTimer(steps_per_epoch, len(train) % config.batch_size != 0, config.timing_window)
        guard = NonFiniteLossGuard()
        machine.reset_peak_rss()
        device.reset_peak_memory(config.backend)
        fit_start = time.perf_counter()
        model.fit(train.inputs(), train.label, batch_size=config.batch_size, epochs=config.epochs,
                  shuffle=True, verbose=0,
                  callbacks=[timer, guard, interrupt.StopWhenInterrupted()])
        record["train_s"] = round(time.perf_counter() - fit_start, 3)
        record["epoch_loss"] = guard.epoch_losses
        record.update(timer.record_fields())
        if guard.reason:
            record["error"] = guard.reason
            return record
        median = record["step_ms"]["median"]
        if median:
            record["lists_per_s"] = config.batch_size * 1000.0 / median
            record["items_per_s"] = record["lists_per_s"] * config.list_size
        record["val"], _ = score_lists(model, splits.val, config)
        record["test"], test_scores = score_lists(model, splits.test, config)
        record["impl"] = "keras"
        record["test_per_list"] = {"ndcg@5": native_common.per_list_ndcg(
            splits.test.label, test_scores, config.relevance_threshold)}
        record["test_random"] = random_baseline(splits.test, config, seed)
        record["peak_rss_mb"] = machine.peak_rss_mb()
        record["peak_device_memory_mb"] = device.peak_memory_mb(config.backend)
        record["status"] = "ok"
    except Exception as error:  # one failed run must not stop the others
        record["error"] = error_line(error)
    return record


def error_line(error: Exception) -> str:
    """One informative line: TensorFlow's first line is often just 'Graph execution error:'."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    detail = next((line for line in lines if not line.endswith(":") and not line.startswith(("[[", "File "))),
                  lines[0] if lines else "")
    return f"{type(error).__name__}: {detail}"[:500]


def predict(model: keras.Model, lists: ml.Lists, config: RunConfig) -> np.ndarray:
    """The model's scores for ``lists`` as float64 numpy.

    Under data parallelism every batch must split over the devices: the lists
    are padded to whole batches and the padding's scores dropped.
    """
    multiple = config.batch_size if keras.distribution.distribution() is not None else 1
    inputs, n = device.pad_rows(lists.inputs(), multiple)
    scores = model.predict(inputs, batch_size=config.batch_size, verbose=0)
    return np.asarray(keras.ops.convert_to_numpy(scores), dtype=np.float64)[:n]


def score_lists(model: keras.Model, lists: ml.Lists, config: RunConfig) -> tuple[dict[str, float], np.ndarray]:
    """The metrics of the model on ``lists``, and its scores."""
    scores = predict(model, lists, config)
    if not np.all(np.isfinite(scores)):
        raise FloatingPointError("the model predicts non-finite scores on the evaluation lists")
    return evaluate(lists.label, scores, ks=EVAL_KS, relevance_threshold=config.relevance_threshold), scores


def _rows(lists: ml.Lists, rows: slice) -> ml.Lists:
    return ml.Lists(lists.user_id[rows], lists.movie_id[rows], lists.label[rows])


def random_baseline(lists: ml.Lists, config: RunConfig, seed: int, draws: int = 20) -> dict[str, float]:
    """The metrics of uniformly random scores on the same lists (mean of ``draws`` draws)."""
    rng = np.random.default_rng(seed)
    per_draw = [
        evaluate(lists.label, rng.random(lists.label.shape), ks=EVAL_KS,
                 relevance_threshold=config.relevance_threshold)
        for _ in range(draws)
    ]
    return {key: float(np.mean([d[key] for d in per_draw])) for key in per_draw[0]}


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m bench run ...")
