"""The results file: atomic writes and clear errors for bad files."""

from __future__ import annotations

import json
import os
import stat

import pytest

from bench import results


def _document(runs=()):
    return {"schema": results.SCHEMA, "backend": "jax", "created": "2026-01-01T00:00:00+00:00",
            "versions": {}, "machine": {}, "config": {}, "runs": list(runs)}


def _run(**overrides):
    run = {key: None for key in results.RUN_KEYS}
    run.update(loss="mse", seed=42, status="ok", compile_s=1.0, test={"ndcg@5": 0.9},
               step_ms={"median": 2.0, "p10": 1.0, "p90": 3.0, "n": 4})
    run.update(overrides)
    return run


def test_round_trip(tmp_path):
    path = tmp_path / "sub" / "r.json"
    results.write_atomic(path, _document([_run()]))
    assert results.load(path)["runs"][0]["loss"] == "mse"
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary left behind


def test_written_files_get_the_mode_a_plain_open_gives(tmp_path):
    umask = os.umask(0o027)
    try:
        results.write_atomic(tmp_path / "r.json", _document([_run()]))
        results.write_text_atomic(tmp_path / "README.md", "# results\n")
    finally:
        os.umask(umask)
    for name in ("r.json", "README.md"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640  # 0o666 & ~0o027, not mkstemp's 0o600
    assert (tmp_path / "README.md").read_text() == "# results\n"


def test_non_finite_numbers_are_written_as_strings(tmp_path):
    path = tmp_path / "r.json"
    results.write_atomic(path, _document([_run(status="failed", epoch_loss=[0.5, float("inf"), float("nan")])]))
    assert results.load(path)["runs"][0]["epoch_loss"] == [0.5, "inf", "nan"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "r.json"
    results.write_atomic(path, _document([_run()]))
    with pytest.raises(TypeError):
        results.write_atomic(path, _document([_run(compile_s=object())]))  # not serialisable
    assert results.load(path)["runs"][0]["compile_s"] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ('{"schema": "listrank-bench/1", "backend": "ja', "not valid JSON"),
    ("hello", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"schema": "listrank-bench/0"}', "schema 'listrank-bench/0'"),
    (json.dumps({"schema": results.SCHEMA}), "missing keys"),
    (json.dumps(_document([{"loss": "mse"}])), r"runs\[0\] misses"),
    (json.dumps(_document([_run(status="maybe")])), "not ok/failed"),
    (json.dumps(_document([_run(seed="42")])), r"runs\[0\].seed has an invalid value"),
    (json.dumps(_document([_run(test={"ndcg@5": "high"})])), r"runs\[0\].test has an invalid value"),
    (json.dumps(_document([_run(compile_s=None)])), r"runs\[0\].compile_s has an invalid value"),
    (json.dumps({**_document(), "machine": []}), "'machine' has the wrong type"),
    (json.dumps({**_document(), "native_runs": {}}), "'native_runs' must be a list"),
    (json.dumps({**_document(), "native_runs": [_run(step_ms=3)]}), r"native_runs\[0\].step_ms has an invalid"),
])
def test_bad_files_are_named_with_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(results.ResultsError, match=message) as error:
        results.load(path)
    assert "bad.json" in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(results.ResultsError, match="no such results file"):
        results.load(tmp_path / "nope.json")
