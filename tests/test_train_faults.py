"""Faults a run meets in the field, each followed by what the user sees and a resume that loses at most the work
since the last checkpoint (``results/reliability.md`` lists every fault and the test that shows it; the lock, an
unreadable checkpoint, divergence, SIGKILL and SIGTERM are in ``test_train.py`` and ``test_train_preemption.py``).
"""

import errno
import json
import logging
import os
import subprocess
import sys
import warnings

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from conftest import REPO_ROOT
from test_train import params_of, small_config

from neuralcodes_jax import checkpointing, train


def _failing_saves(monkeypatch, fail_from_call: int):
    """Orbax saves fail with ENOSPC from the ``fail_from_call``-th call on (1-based), as on a full disk."""
    real_save = ocp.CheckpointManager.save
    calls = {"n": 0}

    def save(self, step, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] >= fail_from_call:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, step, *args, **kwargs)

    monkeypatch.setattr(ocp.CheckpointManager, "save", save)
    return calls


@pytest.mark.slow
def test_failed_checkpoint_write_stops_keeps_the_previous_one_and_resumes(tmp_path, monkeypatch):
    """Disk full at the second epoch's checkpoint: the run stops with one error naming the step, the directory and
    the kept checkpoint; nothing is evaluated; the same command then resumes from epoch 1 and ends with the
    parameters of an uninterrupted run."""
    config = small_config(**{"train.num_epochs": 3})
    full = train.train_and_evaluate(config, str(tmp_path / "full"))
    work = tmp_path / "broken"
    # Epoch 1 writes 'best' and 'latest' (2 saves); epoch 2's first save fails.
    _failing_saves(monkeypatch, fail_from_call=3)
    with pytest.raises(checkpointing.CheckpointWriteError) as info:
        train.train_and_evaluate(config, str(work))
    message = str(info.value)
    assert "No space left on device" in message and "step 20" in message and "steps 10" in message
    assert "rerun the same command to resume" in message
    assert not (work / "eval.json").exists()
    monkeypatch.undo()
    resumed = train.train_and_evaluate(config, str(work))
    assert int(resumed["state"]["step"]) == 30
    jax.tree.map(np.testing.assert_array_equal, params_of(full), params_of(resumed))


@pytest.mark.slow
def test_checkpoints_newer_than_the_start_are_set_aside_not_collided_with(tmp_path, capfd):
    """A process killed between its writes leaves checkpoints newer than the step the next start resumes from: a
    best checkpoint without its latest one (the run starts afresh), or one run of a group a step ahead of another
    (the group resumes from the older step). They are set aside with a message, and the runs end with the
    parameters of an uninterrupted group, instead of stopping with "Checkpoint for step N already exists"."""
    config = small_config(**{"train.num_epochs": 2})
    runs = [small_config(**{"train.num_epochs": 2, "seed": s}) for s in (0, 1)]
    a, b = tmp_path / "a", tmp_path / "b"
    full = params_of(train.train_group(runs, [a, b]))

    alone = tmp_path / "alone"  # killed after the best checkpoint of step 10, before the latest one
    train.train_and_evaluate(small_config(**{"train.num_epochs": 1}), str(alone))
    os.rename(alone / "checkpoints" / "latest", tmp_path / "lost")
    resumed = train.train_and_evaluate(config, str(alone))
    assert "set aside" in capfd.readouterr().err and (alone / "checkpoints" / "set_aside" / "best-10").is_dir()
    assert int(resumed["state"]["step"]) == 20 and resumed["meta"]["best_step"] > 0

    os.rename(b / "checkpoints" / "latest" / "20", tmp_path / "lost_b20")  # run a's step 20 written, run b's lost
    again = train.train_group(runs, [a, b])
    assert (a / "checkpoints" / "set_aside" / "latest-20").is_dir()
    jax.tree.map(np.testing.assert_array_equal, full, params_of(again))


@pytest.mark.slow
def test_unreadable_checkpoints_give_one_line_without_asyncio_noise(tmp_path):
    """Every checkpoint damaged: the command line stops with one error line (exit 1), no traceback and no asyncio
    'Event loop is closed' noise."""
    work = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "launch.main",
        "--config=experiments/necst/random_bits.py:smoke",
        f"--workdir={work}",
        "--config.train.num_epochs=1",
        "--config.train.tensorboard=False",
    ]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    subprocess.run(cmd, cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=600)
    damaged = 0
    for root, _, files in os.walk(work / "checkpoints"):
        for name in files:
            if "ocdbt" in root and not name.endswith(".txt"):
                with open(os.path.join(root, name), "r+b") as f:
                    f.truncate(3)
                damaged += 1
    assert damaged
    proc = subprocess.run(
        cmd + ["--config.train.num_epochs=2"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    err = proc.stderr
    assert "error: no checkpoint of" in err and "can be read" in err
    assert "Traceback" not in err and "Event loop is closed" not in err, err[-3000:]
    lines = err.strip().splitlines()
    assert all("cannot be read" in line or "error: no checkpoint of" in line for line in lines), err[-3000:]


def test_abandoned_checkpoint_reads_are_dropped_and_nothing_else(monkeypatch, caplog):
    """The noise the in-flight reads of a failed restore make (asyncio's "never retrieved" log records, the
    unraisable "Event loop is closed", the un-awaited read coroutine) is dropped; other asyncio errors and other
    unraisable exceptions still reach the user. Deterministic: the records are made here, not raced for."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(str(u.exc_value)))
    asyncio_log = logging.getLogger("asyncio")
    monkeypatch.setattr(asyncio_log, "filters", list(asyncio_log.filters))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checkpointing.silence_abandoned_reads()
        ocdbt = ValueError(
            'OUT_OF_RANGE: Error reading "params.encoder.hidden_0.bias/0" in OCDBT database at local '
            'file "run/checkpoints/latest/10/state/": Requested byte range [0, 9) is not valid'
        )
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            asyncio_log.error(
                "Future exception was never retrieved\nfuture: <Future finished exception=%r>",
                ocdbt,
                exc_info=(ValueError, ocdbt, None),
            )
            asyncio_log.error(
                "Task exception was never retrieved",
                exc_info=(Exception, Exception("Encountered error while reading array index: (slice(0, 5, 1),)"), None),
            )
            asyncio_log.error("Exception in callback: something else broke")
        warnings.warn("coroutine '_read_array_index_and_device_put' was never awaited", RuntimeWarning, stacklevel=1)
        warnings.warn("coroutine 'user_code' was never awaited", RuntimeWarning, stacklevel=1)

        class Unraisable:
            def __init__(self, text):
                self.exc_value = RuntimeError(text)

        sys.unraisablehook(Unraisable("Event loop is closed"))
        sys.unraisablehook(Unraisable("a user's finalizer failed"))
    assert [r.getMessage() for r in caplog.records] == ["Exception in callback: something else broke"]
    assert [str(w.message) for w in caught] == ["coroutine 'user_code' was never awaited"]
    assert seen == ["a user's finalizer failed"]


CHILD = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from neuralcodes_jax import checkpointing, evaluators, train
from test_train import small_config

where, workdir = sys.argv[1], sys.argv[2]
if where == "checkpoint":
    real_save, calls = checkpointing._Series.save, [0]

    def save(self, step, state, meta):
        calls[0] += 1
        real_save(self, step, state, meta)          # the asynchronous write starts ...
        if calls[0] == 3:                           # ... epoch 2's first one, and the process dies mid-write
            os.kill(os.getpid(), signal.SIGKILL)

    checkpointing._Series.save = save
else:
    real_get = evaluators.get

    def get(name):
        module = real_get(name)

        class Dying:
            def __getattr__(self, attr):
                return getattr(module, attr)

            def evaluate(self, run):
                os.kill(os.getpid(), signal.SIGKILL)

        return Dying()

    evaluators.get = get
train.train_and_evaluate(small_config(**{{"train.num_epochs": 3}}), workdir)
"""


@pytest.mark.slow
@pytest.mark.parametrize("where", ["checkpoint", "evaluation"])
def test_sigkill_during_a_checkpoint_write_or_evaluation_then_resume(tmp_path, where):
    """SIGKILL while a checkpoint is being written (epoch 2 of 3) or during evaluation (after training): the same
    run started again ends with the parameters of an uninterrupted run and writes its evaluation."""
    full = train.train_and_evaluate(small_config(**{"train.num_epochs": 3}), str(tmp_path / "full"))
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(REPO_ROOT / "tests")))
    work = tmp_path / "killed"
    proc = subprocess.run(
        [sys.executable, str(script), where, str(work)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, JAX_PLATFORMS="cpu"),
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert not (work / "eval.json").exists()
    resumed = train.train_and_evaluate(small_config(**{"train.num_epochs": 3}), str(work))
    assert int(resumed["state"]["step"]) == 30
    jax.tree.map(np.testing.assert_array_equal, params_of(full), params_of(resumed))
    assert (work / "eval.json").exists()


# ------------------------------------------------------------------------------------------------ damaged files


@pytest.mark.slow
def test_files_a_run_reads_back_are_checked_and_named_when_damaged(tmp_path):
    """config.json, config_changes.json, point.json, result.json, result_metrics.json, run.lock and eval.json: a
    damaged, truncated or hand-edited file gives one line naming it and what to do (DamagedFileError, or
    WorkdirLocked for the lock), never a JSON traceback."""
    from experiments.linear_code import codes as linear_code_config
    from neuralcodes_jax import config_utils, metrics_writer, sweeps
    from neuralcodes_jax.analysis import separation

    config = linear_code_config.get_config("smoke")
    config.num_seeds = 1
    config.train.steps = 20
    config.train.steps_per_call = 10
    config.train.checkpoint_every_steps = 10
    work = tmp_path / "run"
    train.train_and_evaluate(config, str(work))
    good = (work / "config.json").read_text()
    for damage in (good[: len(good) // 2], "[1, 2]", "\x00\x01"):
        (work / "config.json").write_text(damage)
        with pytest.raises(config_utils.DamagedFileError, match=r"config\.json is damaged .*: restore it"):
            train.train_and_evaluate(config, str(work))
    (work / "config.json").write_text(good)
    (work / "config_changes.json").write_text('{"step": ')
    config.train.log_every_steps = 5  # a safe change: recorded in config_changes.json
    with pytest.raises(config_utils.DamagedFileError, match=r"config_changes\.json is damaged .*move it away"):
        train.train_and_evaluate(config, str(work))
    for name, reader in (
        ("result.json", sweeps.read_result),
        ("result_metrics.json", metrics_writer.read_run_metrics),
        ("eval.json", separation.read_eval_row),
    ):
        (work / name).write_text('{"rows": [')
        with pytest.raises(config_utils.DamagedFileError, match=rf"{name.replace('.', '[.]')} is damaged"):
            reader(work)
    point = sweeps.Point(name="run", config="experiments/linear_code/codes.py:smoke", overrides=(), kind="linear_code")
    (work / "point.json").write_text('{"config": ')
    with pytest.raises(config_utils.DamagedFileError, match=r"point[.]json is damaged .*delete the point's directory"):
        sweeps.claim(point, tmp_path)
    (work / "run.lock").write_text("{not json")
    with pytest.raises(train.WorkdirLocked, match=r"run\.lock is damaged .* delete it"):
        train.train_and_evaluate(config, str(work))


def test_a_metrics_line_cut_by_a_crash_spoils_no_later_record(tmp_path):
    from neuralcodes_jax import metrics_writer

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "train/loss": 0.5}\n{"step": 2, "train/lo')  # killed mid-write
    writer = metrics_writer.MetricWriter(str(tmp_path), tensorboard=False)
    writer.write_scalars(3, {"train/loss": 0.25})
    writer.close()
    lines = path.read_text().splitlines()
    assert lines[1] == '{"step": 2, "train/lo' and json.loads(lines[2])["step"] == 3
    assert [r["step"] for r in metrics_writer.read_records(path)] == [1, 3]
