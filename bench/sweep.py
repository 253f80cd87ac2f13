"""``bench sweep``: how step time scales with list length, batch size, vocabulary and embedding size.

Each point of an axis changes one setting of the base point (lists of 5,
batch 256, ML-100K's 1,682 items, embedding dimension 32) and times a short
training run on synthetic MovieLens-shaped data (:mod:`listrank.synthetic`):
one compile step, ``windows`` windows of ``window_steps`` steps (the same
:class:`bench.timing.StepTimer` as ``bench run``), and one more step that
closes the last window. No evaluation: a sweep measures cost, not quality.

The base batch is 256, not ``bench run``'s 1024, so that the list-length
axis (up to 256 × 200 items per step) fits the default sweep into a few
minutes per backend on a 2-core machine.

Imported only after :func:`bench.backend.select` has set the backend.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import keras

from bench import device, interrupt, machine, results
from bench.progress import Progress
from bench.run import NonFiniteLossGuard, error_line
from bench.timing import StepTimer
from listrank import losses
from listrank import synthetic
from listrank.model import RankingModel

# axis name on the command line -> field of Point
AXES = {
    "list-size": "list_size",
    "batch-size": "batch_size",
    "vocab-size": "vocab_size",
    "embedding-dim": "embedding_dim",
}
DEFAULT_VALUES = {
    "list-size": (5, 10, 20, 50, 100, 200),
    "batch-size": (256, 512, 1024, 2048, 4096, 8192),
    "vocab-size": (1682, 100_000, 1_000_000),
    "embedding-dim": (16, 32, 64, 128, 256),
}
DEFAULT_AXES = ("list-size", "batch-size")
# One pairwise loss (O(L^2) per list) and two list-wise ones (softmax O(L), ListMLE O(L log L)).
DEFAULT_LOSSES = ("pairwise_logistic", "softmax", "list_mle")
ML100K_USERS = 943


@dataclasses.dataclass(frozen=True)
class Point:
    list_size: int = 5
    batch_size: int = 256
    vocab_size: int = 1682  # items in the movie embedding table (ML-100K's count)
    embedding_dim: int = 32


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    backend: str
    losses: tuple[str, ...]
    axes: tuple[str, ...] = DEFAULT_AXES
    values: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=lambda: dict(DEFAULT_VALUES))
    base: Point = Point()
    windows: int = 3
    window_steps: int = 2
    seed: int = 42
    users: int = ML100K_USERS
    learning_rate: float = 0.1
    distribution: str = "none"
    out: Path = Path("results/runs/sweep.json")

    def points(self) -> list[tuple[str, Point]]:
        return [(axis, dataclasses.replace(self.base, **{AXES[axis]: value}))
                for axis in self.axes for value in self.values[axis]]

    @property
    def steps(self) -> int:
        """Compile step + timed windows + one step that closes the last window."""
        return 2 + self.windows * self.window_steps


def dataset_for(config: SweepConfig, point: Point) -> synthetic.SyntheticSpec:
    """ML-100K-shaped data with ``point.vocab_size`` items, every user holding a full list."""
    minimum = max(20, point.list_size)
    return synthetic.SyntheticSpec(
        users=config.users,
        items=point.vocab_size,
        min_ratings_per_user=minimum,
        ratings_per_user=min(point.vocab_size, max(106, minimum + 86)),
        seed=config.seed,
    )


def new_document(config: SweepConfig, distributed: dict[str, Any]) -> dict[str, Any]:
    base_spec = dataset_for(config, config.base)
    return results.new_document(config.backend, {
        "sweep": {
            "axes": [AXES[a] for a in config.axes],
            "values": {AXES[a]: list(config.values[a]) for a in config.axes},
            "base": dataclasses.asdict(config.base),
            "windows": config.windows,
            "steps_per_point": config.steps,
        },
        "losses": list(config.losses),
        "seeds": [config.seed],
        "epochs": None,
        "protocol": "timing",
        "batch_size": None,
        "list_size": None,
        "optimizer": {"name": "adagrad", "learning_rate": config.learning_rate},
        "embedding_dim": None,
        "jit_compile": "auto",
        "timing_window_steps": config.window_steps,
        "dataset": {**base_spec.as_dict(), "name": "synthetic",
                    "note": "per point: items = vocab_size, min_ratings_per_user = max(20, list_size)"},
        **distributed,
    })


def run_sweep(config: SweepConfig, quiet: bool = False) -> int:
    """Time every (point, loss); save after each. Returns the exit code."""
    distributed = device.configure_distribution(config.backend, config.distribution, 1)
    for _, point in config.points():
        if point.batch_size % distributed["device_count"]:
            raise device.DistributionError(
                f"batch size {point.batch_size} does not split evenly over "
                f"{distributed['device_count']} devices; choose batch sizes that are multiples of it")
    with results.exclusive(config.out), interrupt.watched():
        document = new_document(config, distributed)
        results.write_atomic(config.out, document)
        work = [(axis, point, loss) for axis, point in config.points() for loss in config.losses]
        weights = [1.0 + point.batch_size * point.list_size / 5120 for _, point, _ in work]
        progress = Progress(len(work), quiet=quiet, total_weight=sum(weights))
        lists_cache: dict[tuple, Any] = {}
        for (axis, point, loss_name), weight in zip(work, weights):
            interrupt.check()
            progress.start(f"loss={loss_name} seed={config.seed} {AXES[axis]}={getattr(point, AXES[axis])} "
                           f"backend={config.backend}")
            spec = dataset_for(config, point)
            key = (spec, point.list_size, point.batch_size)
            if key not in lists_cache:
                lists_cache.clear()  # one point's lists at a time
                lists_cache[key] = synthetic.train_lists(
                    spec, list_size=point.list_size, count=point.batch_size * config.steps, seed=config.seed)
            record = time_point(config, spec, lists_cache[key], point, loss_name, distributed)
            record["axis"] = AXES[axis]
            document["runs"].append(record)
            results.write_atomic(config.out, document)
            progress.finish(describe(record), weight)
    failed = [r for r in document["runs"] if r["status"] != "ok"]
    progress.line(f"wrote {config.out}: {len(work) - len(failed)} ok, {len(failed)} failed "
                  f"in {progress.elapsed():.0f}s")
    return 1 if failed else 0


def describe(record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        return f"FAILED: {record['error']}"
    return f"step={record['step_ms']['median']:.2f}ms compile={record['compile_s']:.2f}s"


def time_point(config: SweepConfig, spec: synthetic.SyntheticSpec, lists, point: Point,
               loss_name: str, distributed: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {name: None for name in results.RUN_KEYS}
    record.update(loss=loss_name, seed=config.seed, status="failed", point=dataclasses.asdict(point),
                  dataset=spec.name, device_count=distributed["device_count"])
    try:
        keras.utils.set_random_seed(config.seed)
        model = RankingModel(spec.users + 1, spec.items + 1, embedding_dim=point.embedding_dim)
        model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=config.learning_rate),
                      loss=losses.get(loss_name))
        timer = StepTimer(config.steps, False, config.window_steps)
        guard = NonFiniteLossGuard()
        machine.reset_peak_rss()
        device.reset_peak_memory(config.backend)
        start = time.perf_counter()
        model.fit(lists.inputs(), lists.label, batch_size=point.batch_size, epochs=1, shuffle=True,
                  verbose=0, callbacks=[timer, guard, interrupt.StopWhenInterrupted()])
        record["train_s"] = round(time.perf_counter() - start, 3)
        record["epoch_loss"] = guard.epoch_losses
        record.update(timer.record_fields())
        record["peak_rss_mb"] = machine.peak_rss_mb()
        record["peak_device_memory_mb"] = device.peak_memory_mb(config.backend)
        if guard.reason:
            record["error"] = guard.reason
            return record
        median = record["step_ms"]["median"]
        if not median:
            record["error"] = "no timing window completed"
            return record
        record["lists_per_s"] = point.batch_size * 1000.0 / median
        record["items_per_s"] = record["lists_per_s"] * point.list_size
        record["status"] = "ok"
    except Exception as error:  # one failed point must not stop the sweep
        record["error"] = error_line(error)
    finally:
        # Free the model; clear_session also forgets the distribution, so set it again.
        active = keras.distribution.distribution()
        keras.backend.clear_session()
        if active is not None:
            keras.distribution.set_distribution(active)
    return record

