"""The results file format (``listrank-bench/1``): plain, versioned JSON.

One file per benchmark process::

    {"schema": "listrank-bench/1", "backend": ..., "created": ...,
     "versions": {...}, "machine": {...}, "config": {...},
     "runs": [{"loss", "seed", "status": "ok"|"failed", "error", "compile_s",
               "step_ms": {"median", "p10", "p90", "n", ...},
               "lists_per_s", "items_per_s", "peak_rss_mb",
               "test": {"ndcg@5": ...}, ...}]}

Files are written atomically (a temporary file in the same folder, then a
rename), so a reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from bench import device, machine

SCHEMA = "listrank-bench/1"
TOP_LEVEL_KEYS = ("schema", "backend", "created", "versions", "machine", "config", "runs")
RUN_KEYS = ("loss", "seed", "status", "error", "compile_s", "step_ms", "lists_per_s",
            "items_per_s", "peak_rss_mb", "test")


class ResultsError(ValueError):
    """A results file that cannot be used; the message names the file."""


def stamp(backend: str) -> dict[str, Any]:
    """When, with which versions and on what machine a measurement is made."""
    return {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": machine.versions(backend),
        "machine": device.describe_machine(backend),
    }


def new_document(backend: str, config: dict[str, Any]) -> dict[str, Any]:
    """A document with no runs yet: ``config``, and where, when and with what it is measured."""
    return {
        "schema": SCHEMA,
        "backend": backend,
        **stamp(backend),
        "config": {
            **config,
            "peak_device_memory_scope": device.peak_memory_scope(backend),
            "command": machine.command_line(),
            "git_commit": machine.git_commit(),
        },
        "runs": [],
    }


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by its name ("nan", "inf", "-inf"):
    JSON has no such numbers, and a failed run's last losses are often exactly that."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def write_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as JSON to ``path`` so that readers see the old or the new file, never a mix.

    Non-finite floats are written as strings (see :func:`json_safe`).
    """
    text = json.dumps(json_safe(document), indent=2, sort_keys=False, allow_nan=False) + "\n"
    write_text_atomic(path, text)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: the old or the new file, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: Path) -> dict[str, Any]:
    """Read and validate one results file."""
    path = Path(path)
    if not path.is_file():
        raise ResultsError(f"{path}: no such results file")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise ResultsError(f"{path}: the file is empty; re-run `python -m bench run` to produce it")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultsError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno}); the file is truncated "
            "or not a results file"
        ) from None
    validate(document, path)
    return document


_NUMBER = (int, float)


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


def _number_or_none(value: Any) -> bool:
    return value is None or _is_number(value)


def _metrics(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and _number_or_none(v) for k, v in value.items())


def _step_ms(value: Any) -> bool:
    return isinstance(value, dict) and all(_number_or_none(value.get(k)) for k in ("median", "p10", "p90", "n"))


# Type checks of the fields readers rely on; other fields are free.
_TOP_LEVEL_TYPES = {"backend": lambda v: isinstance(v, str), "created": lambda v: isinstance(v, str),
                    "versions": lambda v: isinstance(v, dict), "machine": lambda v: isinstance(v, dict),
                    "config": lambda v: isinstance(v, dict), "runs": lambda v: isinstance(v, list)}
_RUN_TYPES = {
    "loss": lambda v: isinstance(v, str),
    "seed": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "status": lambda v: v in ("ok", "failed"),
    "error": lambda v: v is None or isinstance(v, str),
    "compile_s": _number_or_none,
    "step_ms": lambda v: v is None or _step_ms(v),
    "lists_per_s": _number_or_none,
    "items_per_s": _number_or_none,
    "peak_rss_mb": _number_or_none,
    "test": lambda v: v is None or _metrics(v),
    "val": lambda v: v is None or _metrics(v),
    "test_random": lambda v: v is None or _metrics(v),
    "step_samples_ms": lambda v: v is None or (isinstance(v, list) and all(_is_number(x) for x in v)),
}
_OK_RUN_TYPES = {
    "compile_s": _is_number,
    "step_ms": _step_ms,
    "test": lambda v: _metrics(v) and _is_number(v.get("ndcg@5")),
}

_SWEEP_RUN_TYPES = {
    "axis": lambda v: isinstance(v, str),
    "point": lambda v: isinstance(v, dict) and all(isinstance(x, int) for x in v.values()),
}


def validate(document: Any, path: Path | str = "<results>") -> None:
    """Check the structure and the types of every field the harness reads."""
    if not isinstance(document, dict):
        raise ResultsError(f"{path}: expected a JSON object with a 'schema' key")
    schema = document.get("schema")
    if schema != SCHEMA:
        raise ResultsError(
            f"{path}: schema {schema!r} is not {SCHEMA!r}; it was written by another version "
            "of listrank: re-run the benchmark to regenerate it"
        )
    missing = [key for key in TOP_LEVEL_KEYS if key not in document]
    if missing:
        raise ResultsError(f"{path}: missing keys {', '.join(missing)}")
    for key, check in _TOP_LEVEL_TYPES.items():
        if not check(document[key]):
            raise ResultsError(f"{path}: '{key}' has the wrong type ({type(document[key]).__name__})")
    if not isinstance(document["config"].get("dataset", {}), dict) or not (
            document["machine"].get("gpu") is None or isinstance(document["machine"]["gpu"], dict)):
        raise ResultsError(f"{path}: 'config.dataset' or 'machine.gpu' has the wrong type")
    # `bench sweep` files time training only: their runs have no test metrics but an axis and a point.
    timing_only = isinstance(document["config"].get("sweep"), dict)
    if not isinstance(document.get("native_runs", []), list):
        raise ResultsError(f"{path}: 'native_runs' must be a list")
    for section in ("runs", "native_runs"):
        for index, run in enumerate(document.get(section, [])):
            _validate_run(run, f"{path}: {section}[{index}]", timing_only)


def _validate_run(run: Any, where: str, timing_only: bool) -> None:
    if not isinstance(run, dict):
        raise ResultsError(f"{where} must be an object")
    missing = [key for key in RUN_KEYS if key not in run]
    if missing:
        raise ResultsError(f"{where} misses {', '.join(missing)}")
    if run["status"] not in ("ok", "failed"):
        raise ResultsError(f"{where} has status {run['status']!r}, not ok/failed")
    checks = {**_RUN_TYPES, **(_OK_RUN_TYPES if run["status"] == "ok" else {})}
    if timing_only:
        checks.update(_SWEEP_RUN_TYPES, test=_RUN_TYPES["test"])
        missing = [key for key in _SWEEP_RUN_TYPES if key not in run]
        if missing:
            raise ResultsError(f"{where} (a sweep run) misses {', '.join(missing)}")
    for key, check in checks.items():
        if key in run and not check(run[key]):
            raise ResultsError(f"{where}.{key} has an invalid value {run[key]!r:.80}")


@contextlib.contextmanager
def exclusive(path: Path):
    """Hold an exclusive lock on ``path`` for the duration; refuse if another process holds it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(f".{path.name}.lock")
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise ResultsError(
                f"{path} is being written by another bench run ({holder}); wait for it to "
                "finish or pass a different --out") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        # Temporaries of an earlier writer killed mid-write (SIGKILL); none is in use under the lock.
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        try:
            yield
        finally:
            lock.seek(0)
            lock.truncate()
