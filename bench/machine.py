"""What a number was measured on: machine, versions, command, commit."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

_VERSION_PACKAGES = {"keras": "keras", "keras_rs": "keras-rs", "numpy": "numpy"}
_BACKEND_PACKAGES = {"jax": ["jax", "jaxlib"], "tensorflow": ["tensorflow"], "torch": ["torch"]}
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                     "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "XLA_FLAGS")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions(backend: str) -> dict[str, str | None]:
    found = {"python": platform.python_version()}
    found.update({key: _version(package) for key, package in _VERSION_PACKAGES.items()})
    for package in _BACKEND_PACKAGES[backend]:
        found[package] = _version(package)
    found["listrank"] = _version("listrank")
    return found


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def gpu(backend: str) -> dict | None:
    """The first accelerator the backend sees, or None on a CPU-only run."""
    import keras  # noqa: F401  (backend already selected)

    if backend == "jax":
        import jax

        devices = [d for d in jax.devices() if d.platform != "cpu"]
        if devices:
            return {"model": devices[0].device_kind, "count": len(devices)}
    elif backend == "tensorflow":
        import tensorflow as tf

        devices = tf.config.list_physical_devices("GPU")
        if devices:
            details = tf.config.experimental.get_device_details(devices[0])
            return {"model": details.get("device_name", "GPU"), "count": len(devices)}
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            return {"model": props.name, "memory_gb": round(props.total_memory / 1024**3, 1),
                    "count": torch.cuda.device_count()}
    return None


def machine(backend: str) -> dict:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb(),
        "gpu": gpu(backend),
        "os": platform.platform(),
        "threads": {name: os.environ[name] for name in _THREAD_VARIABLES if name in os.environ},
    }


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def command_line() -> str:
    return " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]])


def peak_rss_mb() -> float:
    """Peak resident memory of this process since the last reset_peak_rss()."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (Linux: write 5 to clear_refs), so each run gets its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux, or not allowed: the peak then covers the process so far
