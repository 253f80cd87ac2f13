"""``bench gate``: the CI performance gate on the Keras / native step-time ratio.

One backend per process. For each gated loss it builds the Keras model (the
``bench run`` configuration: ML-100K ``intended`` lists of seed 42, batch
1024, Adagrad 0.1, ``fit(shuffle=True)``) and the native baseline, warms both
up (compilation), then runs ``--blocks`` blocks; a block trains one epoch with
Keras and one with the native baseline, in alternating order (ABBA), each
timed by the same windowed, synchronised :class:`bench.timing.StepTimer`. A
block's ratio is median(Keras windows) / median(native windows): both halves
ran back to back under the same machine load, so the ratio cancels most of
the noise of a shared machine that absolute times carry.

Verdict per loss, against the committed baseline (``bench/baselines/ratios.json``):
FAIL when the median block ratio is more than ``--max-slowdown`` (default
15%) above the baseline's ratio AND the block ratios are significantly larger
than the baseline's (one-sided Mann-Whitney U, p < ``--alpha``). Both are
needed: the threshold ignores small real changes, the test ignores noise.

``LISTRANK_PERF_GATE_SLOWDOWN=0.25`` (honoured by this command only, for
checking that the gate works) slows every Keras step down by 25%: before each
step the device is synchronised and the host busy-waits 25% of the time the
previous step took.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_BASELINE = Path(__file__).resolve().parent / "baselines" / "ratios.json"
SLOWDOWN_ENV = "LISTRANK_PERF_GATE_SLOWDOWN"
SCHEMA = "listrank-perf-gate/1"
GATED_LOSSES = ("mse", "pairwise_hinge")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.backend import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="Keras backend (default: $KERAS_BACKEND)")
    parser.add_argument("--loss", nargs="+", default=list(GATED_LOSSES), metavar="NAME",
                        help=f"losses to gate (default: {' '.join(GATED_LOSSES)})")
    parser.add_argument("--blocks", type=int, default=12,
                        help="interleaved Keras/native blocks per loss (default: 12)")
    parser.add_argument("--windows", type=int, default=3,
                        help="timing windows of 5 steps per block and side (default: 3)")
    parser.add_argument("--max-slowdown", default="15%",
                        help="ratio increase over the baseline tolerated (default: 15%%: the "
                             "ratio of one process varies by up to ~12%% between reruns on a "
                             "shared machine)")
    parser.add_argument("--alpha", type=float, default=0.01,
                        help="significance level of the Mann-Whitney U test (default: 0.01)")
    parser.add_argument("--baseline", type=Path, default=DEFAULT_BASELINE,
                        help="baseline ratios file (default: bench/baselines/ratios.json)")
    parser.add_argument("--write-baseline", action="store_true",
                        help="measure and store this backend's ratios as the new baseline")
    parser.add_argument("--out", type=Path, default=None, help="also write this run's measurements as JSON")
    parser.add_argument("--threads", type=int, default=1,
                        help="compute threads per process, 0 for the backend's default (default: 1, "
                             "so that a shared machine's other work slows Keras and native alike)")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the ml-100k files (default: $LISTRANK_DATA_DIR)")


def command(args: argparse.Namespace) -> int:
    from bench import stats
    from bench.backend import select

    backend = args.backend or os.environ.get("KERAS_BACKEND")
    if backend is None:
        raise ValueError("no backend given; pass --backend (jax, tensorflow, torch) or set KERAS_BACKEND")
    if args.blocks < 4:
        raise ValueError(f"--blocks {args.blocks} is too few for a significance test; use 4 or more (default 12)")
    max_slowdown = stats.parse_fraction(args.max_slowdown)
    slowdown = injected_slowdown()
    if slowdown and args.write_baseline:
        raise ValueError(f"{SLOWDOWN_ENV} is set; unset it before --write-baseline")
    baseline = None
    if not args.write_baseline:
        baseline = load_baseline(args.baseline, backend, args.loss)
    select(backend)
    if args.threads:
        limit_threads(backend, args.threads)
    measured = measure(backend, args.loss, args.blocks, args.windows, args.data_dir, slowdown)
    if args.out:
        from bench import results

        results.write_atomic(args.out, measured)
    if args.write_baseline:
        store_baseline(args.baseline, measured)
        print(f"wrote the {backend} baseline ratios to {args.baseline}")
        print(table(measured, None, max_slowdown, args.alpha)[0])
        return 0
    text, failed = table(measured, baseline, max_slowdown, args.alpha)
    print(text)
    if slowdown:
        print(f"(slowdown injected via {SLOWDOWN_ENV}={slowdown})")
    print(f"perf gate {backend}: " + ("FAIL: " + ", ".join(failed) if failed else "PASS"))
    return 1 if failed else 0


def limit_threads(backend: str, threads: int) -> None:
    """Run the backend's compute on ``threads`` threads; call before keras is imported."""
    if "keras" in sys.modules:
        raise RuntimeError("limit_threads must run before keras is imported")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[name] = str(threads)
    if backend == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (f"{flags} --xla_cpu_multi_thread_eigen=false "
                                   f"intra_op_parallelism_threads={threads}").strip()
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)


def injected_slowdown() -> float:
    text = os.environ.get(SLOWDOWN_ENV, "").strip()
    if not text:
        return 0.0
    from bench import stats

    try:
        return stats.parse_fraction(text)
    except ValueError as error:
        raise ValueError(f"{SLOWDOWN_ENV}: {error}") from None


def load_baseline(path: Path, backend: str, losses: list[str]) -> dict[str, Any]:
    if not Path(path).is_file():
        raise ValueError(f"no baseline file {path}; create it with `python -m bench gate --backend "
                         f"{backend} --write-baseline`")
    try:
        document = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error.msg}); restore it from git") from None
    if document.get("schema") != SCHEMA:
        raise ValueError(f"{path}: schema {document.get('schema')!r} is not {SCHEMA!r}; regenerate it "
                         "with --write-baseline")
    entry = document.get("backends", {}).get(backend)
    if entry is None:
        raise ValueError(f"{path} has no {backend} baseline; add one with `python -m bench gate "
                         f"--backend {backend} --write-baseline`")
    missing = [loss for loss in losses if loss not in entry["losses"]]
    if missing:
        raise ValueError(f"{path} has no {backend} baseline for {', '.join(missing)}; gate only "
                         f"{', '.join(entry['losses'])} or rewrite it with --write-baseline")
    return entry


def store_baseline(path: Path, measured: dict[str, Any]) -> None:
    from bench import results

    path = Path(path)
    document = json.loads(path.read_text()) if path.is_file() else {"schema": SCHEMA, "backends": {}}
    document["backends"][measured["backend"]] = measured
    results.write_atomic(path, document)


def measure(backend: str, losses: list[str], blocks: int, windows: int, data_dir, slowdown: float) -> dict[str, Any]:
    import keras

    from bench import machine, results
    from bench.native import common
    from bench.native import supports
    from bench.run import RunConfig
    from bench.timing import StepTimer, synchronize
    from listrank import data as ml
    from listrank import losses as registry
    from listrank.model import RankingModel

    for loss in losses:
        if not supports(loss):
            raise ValueError(f"no native baseline for {loss!r}; gate one of {', '.join(GATED_LOSSES)}")
    config = RunConfig(backend=backend, losses=tuple(losses), seeds=(42,), epochs=1)
    data = ml.load_movielens(data_dir)
    splits = ml.build_lists(data, protocol=config.protocol, seed=42, list_size=config.list_size)
    train = splits.train
    steps = -(-len(train) // config.batch_size)
    partial = len(train) % config.batch_size != 0
    module = __import__(f"bench.native.{backend}_native", fromlist=["Trainer"])

    class Slowdown(keras.callbacks.Callback):
        """Makes each Keras step ``fraction`` slower than the step before it took.

        Synchronises before every step, so the previous step's duration is
        known, then busy-waits ``fraction`` of it: proportional at any
        machine load, and with the lost asynchronous overlap, at least
        ``fraction`` slower.
        """

        def __init__(self, fraction: float) -> None:
            super().__init__()
            self.fraction = fraction
            self._last = None

        def on_train_begin(self, logs=None):
            self._last = None

        def on_train_batch_begin(self, batch, logs=None):
            synchronize(self.model)
            now = time.perf_counter()
            if self._last is not None:
                end = now + self.fraction * (now - self._last)
                while time.perf_counter() < end:
                    pass
            self._last = time.perf_counter()

    block_steps = 1 + windows * config.timing_window  # the first step of a block is not timed

    def keras_epoch(model, extra, steps_per_epoch=block_steps) -> list[float]:
        timer = StepTimer(steps, partial, config.timing_window)
        model.fit(train.inputs(), train.label, batch_size=config.batch_size, epochs=1, shuffle=True,
                  steps_per_epoch=steps_per_epoch, verbose=0, callbacks=[timer] + extra)
        return timer.samples_ms

    def native_epoch(trainer, seed, steps_per_epoch=block_steps) -> list[float]:
        timer, _ = common.train(trainer, train, epochs=1, batch_size=config.batch_size,
                                window=config.timing_window, seed=seed, steps=steps_per_epoch)
        return timer.samples_ms

    started = time.perf_counter()
    setups = {}
    for loss in losses:
        keras.utils.set_random_seed(42)
        model = RankingModel(data.num_users, data.num_movies, embedding_dim=config.embedding_dim)
        model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=config.learning_rate),
                      loss=registry.get(loss))
        trainer = module.Trainer(common.initial_params(data.num_users, data.num_movies,
                                                       config.embedding_dim, 42), loss, config.learning_rate)
        keras_epoch(model, [], steps)  # compiles
        native_epoch(trainer, 0, steps)
        extra = [Slowdown(slowdown)] if slowdown else []
        setups[loss] = (model, trainer, extra)
    per_loss = {loss: {"keras_ms": [], "native_ms": [], "block_ratios": []} for loss in losses}
    for block in range(blocks):
        for loss in losses:
            model, trainer, extra = setups[loss]
            if block % 2 == 0:
                k = keras_epoch(model, extra)
                n = native_epoch(trainer, block + 1)
            else:
                n = native_epoch(trainer, block + 1)
                k = keras_epoch(model, extra)
            entry = per_loss[loss]
            entry["keras_ms"].append(list(k))
            entry["native_ms"].append(list(n))
            entry["block_ratios"].append(round(float(np.median(k) / np.median(n)), 5))
    for entry in per_loss.values():
        entry["ratio"] = float(np.median(entry["block_ratios"]))
        entry["keras_median_ms"] = float(np.median(np.concatenate(entry["keras_ms"])))
        entry["native_median_ms"] = float(np.median(np.concatenate(entry["native_ms"])))
    return {
        "schema": SCHEMA,
        "backend": backend,
        **results.stamp(backend),
        "config": {"threads": os.environ.get("OMP_NUM_THREADS"), "blocks": blocks, "windows_per_block": windows, "steps_per_epoch": steps, "batch_size": config.batch_size,
                   "timing_window_steps": config.timing_window, "protocol": config.protocol,
                   "seed": 42, "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
                   "git_commit": machine.git_commit(), "injected_slowdown": slowdown,
                   "wall_s": round(time.perf_counter() - started, 1)},
        "losses": per_loss,
    }


def verdict(current: dict, baseline: dict, max_slowdown: float, alpha: float) -> tuple[float, float, bool]:
    """(ratio change, p-value, regression?) of one loss' block ratios against the baseline's."""
    from bench import stats

    change = current["ratio"] / baseline["ratio"] - 1
    p = stats.mann_whitney(current["block_ratios"], baseline["block_ratios"], alternative="greater")
    return change, p, change > max_slowdown and p < alpha


def table(measured: dict, baseline: dict | None, max_slowdown: float, alpha: float) -> tuple[str, list[str]]:
    from tabulate import tabulate

    from bench import stats

    rows, failed = [], []
    for loss, entry in measured["losses"].items():
        ci = stats.median_ci(entry["block_ratios"])
        row = [f"`{loss}`", f"{entry['keras_median_ms']:.2f}", f"{entry['native_median_ms']:.2f}",
               f"{ci.value:.3f} [{ci.low:.3f}, {ci.high:.3f}]"]
        if baseline is not None:
            base = baseline["losses"][loss]
            change, p, regressed = verdict(entry, base, max_slowdown, alpha)
            row += [f"{base['ratio']:.3f}", f"{change:+.1%}", f"{p:.2g}",
                    "**REGRESSION**" if regressed else "ok"]
            if regressed:
                failed.append(f"{loss} ratio {entry['ratio']:.3f} vs baseline {base['ratio']:.3f} "
                              f"({change:+.1%}, p={p:.2g})")
        rows.append(row)
    headers = ["loss", "Keras ms/step", "native ms/step", "Keras/native [95% CI]"]
    if baseline is not None:
        headers += ["baseline ratio", "change", "p (MWU)", f"verdict (>{max_slowdown:.0%} and p<{alpha})"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), failed
