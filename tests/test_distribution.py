"""--distribution data-parallel: JAX over 2 virtual CPU devices; refused on TensorFlow and PyTorch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bench import cli, device
from tests.movielens_files import random_movielens


def test_shard_rows_and_pad_rows():
    assert device.shard_rows(1001, {"device_count": 2}) == slice(0, 1000)
    assert device.shard_rows(1001, {"device_count": 1}) == slice(0, 1001)
    # two processes with two devices each: equal shares, each a multiple of the local devices
    assert device.shard_rows(1003, {"device_count": 4, "process_count": 2, "process_index": 1}) == slice(500, 1000)
    padded, n = device.pad_rows({"a": np.arange(5), "b": np.ones((5, 3))}, 4)
    assert n == 5 and len(padded["a"]) == 8 and padded["b"].shape == (8, 3)
    same, n = device.pad_rows({"a": np.arange(8)}, 4)
    assert n == 8 and len(same["a"]) == 8


def test_cpu_has_no_peak_device_memory(backend):
    device.reset_peak_memory(backend)
    if device.gpu_memory_gb(backend) is None:  # this machine has no accelerator
        assert device.peak_memory_mb(backend) is None


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_other_backends_refuse_data_parallel_naming_their_equivalent(backend, command, capsys, tmp_path):
    if backend == "jax":
        pytest.skip("jax runs data-parallel (tested below)")
    out = tmp_path / "never.json"
    code = cli.main([command, "--backend", backend, "--distribution", "data-parallel", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    equivalent = {"tensorflow": "tf.distribute.MirroredStrategy", "torch": "DistributedDataParallel"}[backend]
    assert "jax backend only" in err and equivalent in err
    assert not out.exists()


def _run(folder, out, extra):
    env = {**os.environ, "KERAS_BACKEND": "jax",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}  # read when jax starts
    command = [sys.executable, "-m", "bench", "run", "--backend", "jax", "--loss", "softmax", "--seeds", "1", "--epochs", "3", "--batch-size", "64",
               "--data-dir", str(folder), "--allow-unverified-data", "--out", str(out), *extra]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def test_data_parallel_on_two_cpu_devices_matches_one_device(backend, tmp_path):
    if backend != "jax":
        pytest.skip("keras.distribution.DataParallel runs on the jax backend")
    # 61 users: the training lists do not divide evenly by 2 devices, nor do the test lists.
    folder = random_movielens(tmp_path / "ml", users=61, movies=80, per_user=30, seed=1)
    single = _run(folder, tmp_path / "one.json", [])
    parallel = _run(folder, tmp_path / "two.json", ["--distribution", "data-parallel"])
    assert single["config"]["device_count"] == 1 and single["config"]["distribution"] == "none"
    assert parallel["config"]["device_count"] == 2 and parallel["config"]["distribution"] == "data-parallel"
    assert parallel["config"]["dataset"]["train_lists"] % 2 == 0
    for one, two in zip(single["runs"], parallel["runs"]):
        assert one["status"] == two["status"] == "ok"
        assert len(one["epoch_loss"]) == 3
        # The parallel run drops at most one list (an even split); same seed, same trajectory.
        np.testing.assert_allclose(two["epoch_loss"], one["epoch_loss"], rtol=2e-3)
        assert two["test"]["ndcg@5"] == pytest.approx(one["test"]["ndcg@5"], abs=0.01)


def test_data_parallel_batch_must_split_over_devices(backend, tmp_path):
    if backend != "jax":
        pytest.skip("jax only")
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run([sys.executable, "-m", "bench", "sweep", "--backend", "jax", "--distribution",
                           "data-parallel", "--axis", "batch-size", "--batch-sizes", "33", "--out",
                           str(tmp_path / "x.json")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2 and "multiple of 2" in done.stderr and done.stderr.count("\n") == 1
