"""Multi-host training on one machine: two JAX processes over loopback (CPU, Gloo collectives).

One test, sharing its runs to stay cheap: two processes of 2 CPU devices each train the tiny random-bits NECST; only
process 1 gets SIGTERM mid-training, so both must agree on the stop step, write the checkpoint together and exit with
the documented code; two new processes restore it and finish, gathering their batch rows on the host this time
(``train.data_on_device='never'``). The result must equal one process with 4 devices trained without interruption:
the global batches and random draws are the same, only the all-reduce order differs.

Every process is a ``python -m launch.main`` subprocess with its own device count (``JAX_NUM_CPU_DEVICES`` is read
when JAX starts). They share a persistent compilation cache so that the resumed processes do not compile again, and
run with ``JAX_DISABLE_MOST_OPTIMIZATIONS`` (all runs alike) to cut compile time on a 2-core machine.
"""

import json
import os
import re
import signal
import socket
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

from neuralcodes_jax import methods, programs

OVERRIDES = SMALL_RUN_OVERRIDES
TOTAL_STEPS = SMALL_RUN_TOTAL_STEPS


def _cli_overrides():
    out = []
    for k, v in OVERRIDES.items():
        v = f"({v[0]},)" if isinstance(v, tuple) else v
        out.append(f"--config.{k}={v}")
    return out


def _config():
    return small_run_config()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# XLA's CPU collectives give up, aborting the process, when the peers of a collective call do not all arrive within
# a timeout (the two flags below; their defaults are tens of seconds). On a loaded 2-core machine one process may
# still be compiling while the other already waits in an all-reduce: the likely cause of both resumed processes
# aborting (SIGABRT) once in CI. The test is about agreement, not about timeouts.
_COLLECTIVE_TIMEOUTS = (
    " --xla_cpu_collective_timeout_seconds=600 --xla_cpu_collective_call_terminate_timeout_seconds=600"
)


def _env(n_devices: int, cache_dir) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + _COLLECTIVE_TIMEOUTS).strip()
    env.update(
        JAX_PLATFORMS="cpu",
        JAX_NUM_CPU_DEVICES=str(n_devices),
        JAX_DISABLE_MOST_OPTIMIZATIONS="1",
        JAX_COMPILATION_CACHE_DIR=str(cache_dir),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    return env


def _start(workdir, n_devices, cache_dir, log_prefix, process_id=None, num_processes=None, port=None, extra=()):
    cmd = (
        [sys.executable, "-m", "launch.main", "--config=experiments/necst/random_bits.py:smoke", f"--workdir={workdir}"]
        + _cli_overrides()
        + list(extra)
    )
    if process_id is not None:
        cmd += [
            "--multihost",
            f"--coordinator_address=localhost:{port}",
            f"--num_processes={num_processes}",
            f"--process_id={process_id}",
        ]
    out = open(f"{log_prefix}.out", "w")  # noqa: SIM115  (the process writes them until it ends)
    err = open(f"{log_prefix}.err", "w")  # noqa: SIM115
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=_env(n_devices, cache_dir), stdout=out, stderr=err)


def _start_pair(workdir, cache_dir, log_prefix, extra=()):
    port = _free_port()
    return [
        _start(workdir, 2, cache_dir, f"{log_prefix}{i}", process_id=i, num_processes=2, port=port, extra=extra)
        for i in range(2)
    ]


def _wait(procs, timeout=600):
    return [p.wait(timeout=timeout) for p in procs]


def _tail(path, n=3000):
    with open(path) as f:
        return f.read()[-n:]


def _excerpt(path, n=1500):
    """The start and the end of a log: a fatal XLA error is logged first, the Python stack dump after it."""
    with open(path) as f:
        text = f.read()
    return text if len(text) <= 2 * n else text[:n] + "\n[...]\n" + text[-n:]


def _wait_for_validation_line(metrics_path, procs, timeout=600):
    """Wait until process 0 has logged the end of the first epoch (metrics are flushed at epoch ends)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(metrics_path):
            with open(metrics_path) as f:
                if "valid/loss" in f.read():
                    return
        if any(p.poll() is not None for p in procs):
            raise AssertionError("a training process ended before its first epoch was logged")
        time.sleep(0.02)
    raise AssertionError("no validation line in metrics.jsonl")


def _final_params(workdir):
    state, meta = restore_small_run(workdir, _config(), TOTAL_STEPS)
    assert int(state["step"]) == TOTAL_STEPS
    return state["params"], meta


def _initial_params():
    """The parameters every run starts from (the trainer's 'init' stream)."""
    method = methods.build(_config(), methods.DataSpec((100,), True))
    state = jax.jit(method.init)(programs.rng_streams(_config().seed)["init"], np.zeros((1, 100), np.float32))
    return jax.device_get(state["params"])


_train_losses = small_run_losses


@pytest.fixture
def started():
    """Subprocesses started by a test; any still running at its end (after a failure) are killed."""
    procs = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.slow
def test_two_processes_preempted_and_resumed_equal_one_process(tmp_path, started):
    cache = tmp_path / "jax_cache"
    logs = tmp_path / "logs"
    logs.mkdir()
    ref_dir, multi_dir = tmp_path / "one_process", tmp_path / "two_processes"

    ref = _start(ref_dir, 4, cache, str(logs / "ref"))  # 1 process x 4 devices, uninterrupted
    pair = _start_pair(multi_dir, cache, str(logs / "stage1_p"))  # 2 processes x 2 devices
    started += [ref] + pair
    _wait_for_validation_line(multi_dir / "metrics.jsonl", pair)
    pair[1].send_signal(signal.SIGTERM)  # only process 1 is told to stop
    codes = _wait(pair)
    outs = [_tail(logs / f"stage1_p{i}.out") for i in range(2)]
    assert codes == [PREEMPTED_EXIT_CODE] * 2, (codes, [_excerpt(logs / f"stage1_p{i}.err") for i in range(2)])
    steps = [int(re.search(r"preempted at step (\d+)", o).group(1)) for o in outs]
    assert steps[0] == steps[1], steps  # both stopped after the same step
    stop = steps[0]
    assert 10 <= stop < TOTAL_STEPS and stop % 5 == 0, stop  # after epoch 1, at a chunk boundary
    assert str(stop) in os.listdir(multi_dir / "checkpoints" / "latest")

    # Both processes restore and finish; now each gathers its own rows of every batch on the host instead of
    # slicing the device-resident training set: the same batches.
    pair = _start_pair(multi_dir, cache, str(logs / "stage2_p"), extra=["--config.train.data_on_device=never"])
    started += pair
    codes = _wait(pair + [ref])
    assert codes == [0, 0, 0], (
        codes,
        [_excerpt(p) for p in (logs / "stage2_p0.err", logs / "stage2_p1.err", logs / "ref.err")],
    )
    assert "| 0.10 |" in _tail(logs / "stage2_p0.out") and "| 0.10 |" not in _tail(logs / "stage2_p1.out")

    # Same training. The float32 gradient all-reduce adds the 4 devices' partial sums in another order across two
    # processes (Gloo) than within one process, so values differ in the last bits (~1e-7 relative). Most steps pass
    # that on smoothly, but a last-bit change of a Bernoulli probability can flip a sampled code bit, after which the
    # runs drift apart by a fraction of their learning-rate-sized steps (seen from step ~55 on). Hence: the logged
    # losses (means over 16 x 5 samples) agree to rtol 1e-5 (seen <= 8e-7; a wrong batch changes the loss by ~1e-3
    # relative), and each parameter leaf lies within 5e-2 of the distance it travelled in training (seen <= 5e-3;
    # wrong batches or keys send the runs along different paths, O(1)). The evaluation (of the best checkpoint)
    # agrees to rel 1e-4 (seen ~2e-8).
    p_ref, meta_ref = _final_params(ref_dir)
    p_multi, meta_multi = _final_params(multi_dir)
    p_init = _initial_params()

    def close(ref, multi, init):
        assert np.linalg.norm(multi - ref) <= 5e-2 * np.linalg.norm(ref - init)

    jax.tree.map(close, p_ref, p_multi, p_init)
    assert meta_multi["best_step"] == meta_ref["best_step"]
    # Same training curve, every logged step once (process 1 writes no metrics), and the same evaluation.
    l_ref, l_multi = _train_losses(ref_dir), _train_losses(multi_dir)
    assert sorted(l_ref) == sorted(l_multi) == list(range(5, TOTAL_STEPS + 1, 5))
    np.testing.assert_allclose([l_multi[s] for s in sorted(l_ref)], [l_ref[s] for s in sorted(l_ref)], rtol=1e-5)
    e_ref = json.loads((ref_dir / "eval.json").read_text())["rows"][0]
    e_multi = json.loads((multi_dir / "eval.json").read_text())["rows"][0]
    for name in ("bce_per_pixel_nats", "mse_per_pixel", "pixel_error_rate"):
        assert e_multi[name] == pytest.approx(e_ref[name], rel=1e-4, abs=1e-6)
