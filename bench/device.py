"""Accelerators: what the run used, its peak device memory, and multi-device data parallelism.

Importable without keras (the command line checks ``--distribution`` before
choosing the backend); the functions that touch a backend import it lazily,
after :func:`bench.backend.select`. On a CPU-only machine every
function here is a cheap no-op that returns ``None`` (no peak device memory)
or one device, so nothing GPU-specific can break the CPU path.

Peak device memory per backend:

- torch: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``
  (scope ``run``);
- TensorFlow: ``tf.config.experimental.get_memory_info(...)["peak"]`` after
  ``reset_memory_stats`` (scope ``run``);
- JAX: ``Device.memory_stats()["peak_bytes_in_use"]``, which JAX cannot reset,
  so it is the peak of the process so far (scope ``process``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

DISTRIBUTIONS = ("none", "data-parallel")

# What each other backend's users use instead of keras.distribution.DataParallel.
_EQUIVALENT = {
    "tensorflow": "tf.distribute.MirroredStrategy (wrap model creation and compile in strategy.scope())",
    "torch": "torch.nn.parallel.DistributedDataParallel (one process per GPU, launched with torchrun)",
}


class DistributionError(ValueError):
    """A distribution the backend or the devices cannot run."""


def _accelerators_jax() -> list:
    import jax

    return [d for d in jax.local_devices() if d.platform != "cpu"]


def nvidia_smi() -> list[dict[str, Any]]:
    """GPUs as nvidia-smi reports them (name, memory), or [] without nvidia-smi."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.stdout.strip().splitlines():
        name, _, memory = line.rpartition(",")
        try:
            gpus.append({"model": name.strip(), "memory_gb": round(float(memory) / 1024, 1)})
        except ValueError:
            continue
    return gpus


def gpu_memory_gb(backend: str) -> float | None:
    """Total memory of the first accelerator the backend uses, in GiB, or None."""
    try:
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return round(torch.cuda.get_device_properties(0).total_memory / 1024**3, 1)
        elif backend == "jax":
            devices = _accelerators_jax()
            stats = devices[0].memory_stats() if devices else None
            if stats and stats.get("bytes_limit"):
                return round(stats["bytes_limit"] / 1024**3, 1)
    except Exception:  # noqa: BLE001 - a missing statistic must not fail a run
        pass
    smi = nvidia_smi()
    return smi[0]["memory_gb"] if smi else None


def _tf_gpu() -> str | None:
    import tensorflow as tf

    return "GPU:0" if tf.config.list_logical_devices("GPU") else None


def reset_peak_memory(backend: str) -> None:
    """Start a new peak-memory measurement (no-op on CPU and on JAX, which cannot reset)."""
    try:
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
        elif backend == "tensorflow":
            device = _tf_gpu()
            if device:
                import tensorflow as tf

                tf.config.experimental.reset_memory_stats(device)
    except Exception:  # noqa: BLE001
        pass


def peak_memory_mb(backend: str) -> float | None:
    """Peak device memory in MiB (see the module docstring for its scope), or None on CPU."""
    try:
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return round(torch.cuda.max_memory_allocated() / 1024**2, 1)
        elif backend == "tensorflow":
            device = _tf_gpu()
            if device:
                import tensorflow as tf

                return round(tf.config.experimental.get_memory_info(device)["peak"] / 1024**2, 1)
        elif backend == "jax":
            peaks = [(d.memory_stats() or {}).get("peak_bytes_in_use") for d in _accelerators_jax()]
            peaks = [p for p in peaks if p]
            if peaks:
                return round(max(peaks) / 1024**2, 1)
    except Exception:  # noqa: BLE001
        pass
    return None


def peak_memory_scope(backend: str) -> str:
    return "process" if backend == "jax" else "run"


def check_distribution(backend: str, distribution: str) -> None:
    """Refuse, in one line naming the alternative, a distribution this backend cannot run here."""
    if distribution not in DISTRIBUTIONS:
        raise DistributionError(
            f"unknown distribution {distribution!r}; choose one of {', '.join(DISTRIBUTIONS)}")
    if distribution != "none" and backend != "jax":
        raise DistributionError(
            f"--distribution {distribution} runs on the jax backend only (keras.distribution); on "
            f"{backend} the equivalent is {_EQUIVALENT[backend]}, which this harness does not run: "
            "use --backend jax or drop --distribution")


def configure_distribution(backend: str, distribution: str, batch_size: int) -> dict[str, Any]:
    """Set up ``distribution`` for this process; returns what the results should record.

    ``data-parallel`` (JAX only): :class:`keras.distribution.DataParallel` over
    every device (all hosts' devices when several processes run: each calls
    :func:`keras.distribution.initialize`, configured through the
    ``KERAS_DISTRIBUTION_JOB_ADDRESSES`` / ``_NUM_PROCESSES`` / ``_PROCESS_ID``
    variables as Keras documents). Each batch is split along its first axis
    over the devices; with several processes, ``batch_size`` is each
    process's share and the global batch is ``batch_size × processes``.
    """
    check_distribution(backend, distribution)
    if distribution == "none":
        return {"distribution": "none", "device_count": 1, "process_count": 1}
    import keras

    if int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1") or 1) > 1:
        keras.distribution.initialize()
    import jax

    devices = keras.distribution.list_devices()
    count = len(devices)
    local = jax.local_device_count()
    if batch_size % local:
        raise DistributionError(
            f"--batch-size {batch_size} does not split evenly over this process's {local} devices; "
            f"use a multiple of {local}")
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return {"distribution": "data-parallel", "device_count": count,
            "process_count": jax.process_count(), "process_index": jax.process_index()}


def device_count(backend: str) -> int:
    """How many devices a single-device run of this backend could see (for the record)."""
    if backend == "jax":
        import jax

        return len(jax.devices())
    return 1


def describe_machine(backend: str) -> dict[str, Any]:
    """:func:`bench.machine.machine`, with the GPU's memory filled in where the backend did not give it."""
    from bench import machine

    found = machine.machine(backend)
    gpu = found.get("gpu")
    if gpu is not None and gpu.get("memory_gb") is None:
        gpu["memory_gb"] = gpu_memory_gb(backend)
    return found


def shard_rows(n: int, distributed: dict[str, Any]) -> slice:
    """The rows of an ``n``-row training set this process feeds under ``distributed``.

    One process: the first ``n`` rounded down to a multiple of the device count
    (an uneven last batch cannot be split over the devices; at most
    ``device_count - 1`` lists are dropped). Several processes: each takes an
    equal contiguous share, so that together they cover the data once.
    """
    devices = max(1, int(distributed.get("device_count", 1)))
    processes = max(1, int(distributed.get("process_count", 1)))
    local_devices = max(1, devices // processes)
    share = n // processes
    share -= share % local_devices
    start = int(distributed.get("process_index", 0)) * share
    return slice(start, start + share)


def pad_rows(arrays: dict[str, Any], multiple: int) -> tuple[dict[str, Any], int]:
    """Pad every array's first axis to a multiple of ``multiple`` (repeating row 0); returns the true row count."""
    import numpy as np

    n = len(next(iter(arrays.values())))
    extra = (-n) % max(1, multiple)
    if not extra:
        return arrays, n
    return {k: np.concatenate([v, np.repeat(v[:1], extra, axis=0)]) for k, v in arrays.items()}, n
