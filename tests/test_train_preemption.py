"""Preemption: a stop signal checkpoints at the next step-chunk boundary and exits; the next start resumes and
computes exactly what an uninterrupted run computes.

* The command line, with a real SIGTERM from outside: exit code 75, "preempted at step N", a checkpoint at N; the
  same command again finishes with the uninterrupted run's parameters, losses and evaluation, bit for bit.
* In process, with the signal raised at a chosen step (mid-epoch, so the resumed run starts inside an epoch): the
  same result again; the mid-epoch checkpoint refuses a changed batch size.
* ``StopSignals``: SIGTERM / SIGINT set the request, a second Ctrl-C interrupts, handlers come back on exit.

The uninterrupted reference is one command-line run (its batch split over 2 CPU devices) shared by the tests; the
in-process runs use 2 of the test session's 8 devices, which computes the same bits. The subprocesses share a
persistent compilation cache, so only the reference compiles.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest
from conftest import (
    PREEMPTED_EXIT_CODE,
    REPO_ROOT,
    SMALL_RUN_OVERRIDES,
    SMALL_RUN_TOTAL_STEPS,
    restore_small_run,
    small_run_config,
    small_run_losses,
)

from neuralcodes_jax import distributed, metrics_writer, train

# The batch split over 2 CPU devices, asked for explicitly (by default a run's batch stays on one CPU device).
CLI_OVERRIDES = dict(SMALL_RUN_OVERRIDES, **{"train.num_devices": 2})
CLI_TOTAL_STEPS = SMALL_RUN_TOTAL_STEPS
_config = small_run_config


_restore_latest = restore_small_run


_train_losses = small_run_losses


def _assert_trees_equal(a, b):
    jax.tree.map(np.testing.assert_array_equal, a, b)


# ----------------------------------------------------------------------------------------------------------------
# Command line, real SIGTERM.


def _start(workdir, cache_dir, log_prefix):
    args = []
    for k, v in CLI_OVERRIDES.items():
        v = f"({v[0]},)" if isinstance(v, tuple) else v
        args.append(f"--config.{k}={v}")
    cmd = [
        sys.executable,
        "-m",
        "launch.main",
        "--config=experiments/necst/random_bits.py:smoke",
        f"--workdir={workdir}",
    ] + args
    env = dict(
        os.environ,
        JAX_PLATFORMS="cpu",
        JAX_NUM_CPU_DEVICES="2",
        JAX_COMPILATION_CACHE_DIR=str(cache_dir),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    return subprocess.Popen(
        cmd, cwd=REPO_ROOT, env=env, stdout=open(f"{log_prefix}.out", "w"), stderr=open(f"{log_prefix}.err", "w")
    )


def _read(path):
    with open(path) as f:
        return f.read()


def _finish(proc, expected_code, log_prefix):
    try:
        code = proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == expected_code, _read(f"{log_prefix}.err")[-3000:]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted command-line run: its directory holds ``full/`` and the compilation cache."""
    root = tmp_path_factory.mktemp("preemption")
    _finish(_start(root / "full", root / "jax_cache", root / "full"), 0, root / "full")
    return root


@pytest.mark.slow
def test_sigterm_checkpoints_exits_and_resume_equals_uninterrupted(tmp_path, reference):
    cache, full_dir, part_dir = reference / "jax_cache", reference / "full", tmp_path / "part"
    part = _start(part_dir, cache, tmp_path / "part1")
    try:
        metrics = part_dir / "metrics.jsonl"
        deadline = time.time() + 600
        while not (metrics.exists() and "valid/loss" in metrics.read_text()):  # flushed at epoch ends
            assert part.poll() is None, "training ended before its first epoch was logged"
            assert time.time() < deadline, "no validation line in metrics.jsonl"
            time.sleep(0.02)
        part.send_signal(signal.SIGTERM)
    finally:
        _finish(part, PREEMPTED_EXIT_CODE, tmp_path / "part1")
    out = _read(tmp_path / "part1.out")
    stop = int(re.search(r"preempted at step (\d+) \(SIGTERM\)", out).group(1))
    assert 10 <= stop < CLI_TOTAL_STEPS and stop % 5 == 0, stop  # after epoch 1, at a chunk boundary
    assert str(stop) in os.listdir(part_dir / "checkpoints" / "latest")
    assert not (part_dir / "eval.json").exists()

    _finish(_start(part_dir, cache, tmp_path / "part2"), 0, tmp_path / "part2")  # the same command resumes
    assert "| 0.10 |" in _read(tmp_path / "part2.out")

    config = _config(CLI_OVERRIDES)
    _assert_trees_equal(
        _restore_latest(full_dir, config, CLI_TOTAL_STEPS)[0], _restore_latest(part_dir, config, CLI_TOTAL_STEPS)[0]
    )
    l_full, l_part = _train_losses(full_dir), _train_losses(part_dir)
    assert sorted(l_part) == list(range(5, CLI_TOTAL_STEPS + 1, 5))
    assert l_full == l_part
    assert (
        json.loads((full_dir / "eval.json").read_text())["rows"]
        == json.loads((part_dir / "eval.json").read_text())["rows"]
    )


# ----------------------------------------------------------------------------------------------------------------
# In process: a signal at a chosen step, mid-epoch.


@pytest.mark.slow
def test_signal_mid_epoch_resumes_exactly(tmp_path, reference, monkeypatch):
    config = _config(dict(CLI_OVERRIDES, **{"train.num_devices": 2}))
    real_write = metrics_writer.MetricWriter.write_scalars

    def write_and_signal(self, step, scalars):
        real_write(self, step, scalars)
        if step == 5 and "train/loss" in scalars:  # after the first chunk: mid-epoch (10 steps per epoch)
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    part = tmp_path / "part"
    with monkeypatch.context() as m:
        m.setattr(metrics_writer.MetricWriter, "write_scalars", write_and_signal)
        with pytest.raises(train.Preempted, match=r"preempted at step 5 \(SIGTERM\)") as info:
            train.train_and_evaluate(config, str(part))
    assert info.value.step == 5
    assert signal.getsignal(signal.SIGTERM) is before  # handler given back
    assert sorted(os.listdir(part / "checkpoints" / "latest")) == ["5"]

    # The mid-epoch checkpoint only resumes with the batches it was cut from (batch 48: 3 steps per epoch).
    with pytest.raises(ValueError, match="not an epoch boundary"):
        train.train_and_evaluate(_config(dict(CLI_OVERRIDES, **{"train.batch_size": 48})), str(part))

    resumed = train.train_and_evaluate(config, str(part))
    assert int(resumed["state"]["step"]) == CLI_TOTAL_STEPS
    full_dir = reference / "full"
    _assert_trees_equal(_restore_latest(full_dir, config, CLI_TOTAL_STEPS)[0], jax.device_get(resumed["state"]))
    assert _train_losses(full_dir) == _train_losses(part)
    assert json.loads((full_dir / "eval.json").read_text())["rows"] == resumed["eval"]["rows"]
    assert "preempted" not in resumed["meta"]


# ----------------------------------------------------------------------------------------------------------------
# StopSignals.


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler for the test (a process started in the background of a non-interactive shell
    begins with SIGINT ignored), and whatever was there before afterwards."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_stop_signals_request_agree_and_restore(default_sigint):
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    # The second Ctrl-C below must reach Python's KeyboardInterrupt handler rather than kill the test process.
    assert before[signal.SIGINT] is signal.default_int_handler
    with distributed.StopSignals() as stop:
        assert not stop.requested and not stop.agreed()
        os.kill(os.getpid(), signal.SIGINT)  # Python runs the handler before the next statement
        assert stop.requested and stop.agreed() and stop.signum == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C interrupts as usual
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)  # still caught
        assert stop.signum == signal.SIGINT  # the first signal is the one reported
    assert {s: signal.getsignal(s) for s in before} == before
    with distributed.StopSignals(signals=()) as quiet:
        assert not quiet.agreed()
        quiet.request()
        assert quiet.agreed()
