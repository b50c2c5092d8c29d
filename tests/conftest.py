"""Test configuration: 8 fake CPU devices, set before JAX is imported anywhere."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_NUM_CPU_DEVICES", "8")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# The tests are bound by XLA compilation, not by running what it compiles: LLVM's optimisation level 0 compiles
# about twice as fast (test_train.py + test_codes_awgn.py: 391 s -> 198 s, back to back on one machine) and changes
# results only by float rounding. Speed is measured by benchmarks/, never here. The subprocesses the tests start
# inherit it. An XLA_FLAGS that sets the level already wins.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import atexit
import pathlib
import shutil
import tempfile

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]

# One persistent XLA compilation cache for the test processes of a session: most tests train the same small
# programs again and again (each train_group call jits afresh), and a cache hit replaces a compilation (the fault and
# resume tests run about 2.5x faster). The first process (pytest, or the xdist controller) makes the directory and
# removes it at exit; the xdist workers it starts find it in the environment. Only these processes use it: the
# subprocesses the tests start (CLI, multi-host, preemption) compile for themselves, so that XLA's log lines about
# cached programs (on some CPUs it logs an error for every load) never reach the stderr those tests read.
# NEURALCODES_TEST_COMPILATION_CACHE=off: no cache.
_CACHE_ENV = "NEURALCODES_TEST_COMPILATION_CACHE"
if _CACHE_ENV not in os.environ:
    os.environ[_CACHE_ENV] = tempfile.mkdtemp(prefix="neuralcodes-test-xla-cache-")
    atexit.register(shutil.rmtree, os.environ[_CACHE_ENV], ignore_errors=True)


def pytest_configure(config):
    if os.environ[_CACHE_ENV] != "off":
        import jax

        jax.config.update("jax_compilation_cache_dir", os.environ[_CACHE_ENV])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def shared_data_dir():
    """The offline data folder, or None. Mandatory when NEURALCODES_SHARED_DATA is set."""
    env = os.environ.get("NEURALCODES_SHARED_DATA")
    if env:
        path = pathlib.Path(env)
        if not path.is_dir():
            raise RuntimeError(f"NEURALCODES_SHARED_DATA={env} is not a directory")
        return path
    default = REPO_ROOT.parent / "shared" / "data"
    return default if default.is_dir() else None


@pytest.fixture
def shared_data():
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is absent and NEURALCODES_SHARED_DATA is not set")
    return path


# A small NECST run on random bits for the preemption and multi-host tests: 160 examples, batch 16 -> 10 steps per
# epoch in chunks of 5; 8 epochs = 80 steps. The epochs after the first one (whose validation line is the signal to
# send SIGTERM) leave seconds of training in which the signal lands.
SMALL_RUN_OVERRIDES = {
    "model.bits": 8,
    "data.limit.train": 160,
    "data.limit.valid": 40,
    "data.limit.test": 40,
    "train.batch_size": 16,
    "train.steps_per_call": 5,
    "train.num_epochs": 8,
    "train.log_every_steps": 5,
    "train.tensorboard": False,
    "eval.batch_size": 40,
    "eval.noise_levels": (0.1,),
}
SMALL_RUN_TOTAL_STEPS = 80
PREEMPTED_EXIT_CODE = 75  # launch/main.py default


def small_run_config(overrides=None):
    """``experiments/necst/random_bits.py:smoke`` with ``SMALL_RUN_OVERRIDES`` (or ``overrides``) applied."""
    from experiments.necst import random_bits

    c = random_bits.get_config("smoke")
    for k, v in (SMALL_RUN_OVERRIDES if overrides is None else overrides).items():
        node = c
        *path, last = k.split(".")
        for part in path:
            node = node[part]
        node[last] = v
    return c


def restore_small_run(workdir, config, step):
    """``(state, meta)`` of the latest checkpoint of a small-run workdir (on host), asserting it is at ``step``."""
    import jax
    import numpy as np

    from neuralcodes_jax import checkpointing, methods, programs

    method = methods.build(config, methods.DataSpec((100,), True))
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = programs.abstract_state(method, jax.ShapeDtypeStruct((1, 100), np.float32), sharding)
    ckpt = checkpointing.Checkpointer(str(workdir))
    try:
        assert ckpt.latest_step() == step
        state, meta = ckpt.restore_latest(abstract)
    finally:
        ckpt.close()
    return jax.device_get(state), meta


def small_run_losses(workdir):
    """``{step: train/loss}`` from a workdir's metrics.jsonl, asserting that no step is logged twice."""
    import json

    out = {}
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if "train/loss" in rec:
                assert rec["step"] not in out, f"step {rec['step']} logged twice"
                out[rec["step"]] = rec["train/loss"]
    return out
