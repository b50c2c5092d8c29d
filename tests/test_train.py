"""End-to-end trainer tests: smoke run, resume == uninterrupted, 1 vs 8 devices, non-finite loss, bad input."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import REPO_ROOT
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from experiments.necst import random_bits
from neuralcodes_jax import checkpointing, methods, train
from neuralcodes_jax.methods import necst


def small_config(**overrides):
    c = random_bits.get_config("smoke")
    c.model.bits = 12
    c.data.limit.train = 160
    c.data.limit.valid = 40
    c.data.limit.test = 40
    c.train.batch_size = 16
    c.train.steps_per_call = 4  # 10 steps per epoch -> chunks of 4, 4, 2
    c.train.num_epochs = 2
    c.train.tensorboard = False
    c.eval.batch_size = 40
    c.eval.noise_levels = (0.0, 0.2)
    for k, v in overrides.items():
        node = c
        *path, last = k.split(".")
        for p in path:
            node = node[p]
        node[last] = v
    return c


def params_of(result):
    return jax.device_get(result["state"]["params"])


def test_smoke_run_writes_outputs(tmp_path):
    result = train.train_and_evaluate(small_config(), str(tmp_path))
    assert int(result["state"]["step"]) == 20
    ev = json.loads((tmp_path / "eval.json").read_text())
    assert [r["eps"] for r in ev["rows"]] == [0.0, 0.2]
    for row in ev["rows"]:
        for name in ("bce_per_pixel_nats", "mse_per_pixel", "sse_per_image", "pixel_error_rate"):
            assert np.isfinite(row[name])
        assert 0.0 <= row["pixel_error_rate"] <= 1.0
        # per-image SSE is the per-pixel MSE times the number of pixels (100 for random bits)
        assert row["sse_per_image"] == pytest.approx(100 * row["mse_per_pixel"], rel=1e-5)
    md = (tmp_path / "eval.md").read_text()
    assert "| 0.20 |" in md
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert any("valid/loss" in json.loads(line) for line in lines)
    assert os.path.isdir(tmp_path / "checkpoints" / "latest" / "20")
    assert os.listdir(tmp_path / "checkpoints" / "best")


@pytest.mark.slow
def test_resume_equals_uninterrupted(tmp_path):
    full = train.train_and_evaluate(small_config(**{"train.num_epochs": 3}), str(tmp_path / "full"))
    part = tmp_path / "part"
    first = train.train_and_evaluate(small_config(**{"train.num_epochs": 1}), str(part))
    assert int(first["state"]["step"]) == 10
    resumed = train.train_and_evaluate(small_config(**{"train.num_epochs": 3}), str(part))
    assert int(resumed["state"]["step"]) == 30
    a, b = params_of(full), params_of(resumed)
    jax.tree.map(lambda x, y: np.testing.assert_array_equal(x, y), a, b)
    # and training really moved the parameters
    fresh = params_of(first)
    diffs = jax.tree.leaves(jax.tree.map(lambda x, y: float(np.abs(x - y).max()), a, fresh))
    assert max(diffs) > 1e-4
    assert full["eval"]["rows"] == resumed["eval"]["rows"]


def test_one_vs_eight_devices_same_loss_and_grads():
    assert jax.device_count() == 8, "tests run with JAX_NUM_CPU_DEVICES=8 (see conftest.py)"
    config = small_config()
    method = necst.NECST.from_config(config, methods.DataSpec((100,), True))
    x = (np.random.default_rng(0).random((32, 100)) < 0.5).astype(np.float32)
    state = method.init(jax.random.key(0), jnp.asarray(x[:1]))
    key = jax.random.key(3)
    grad_fn = jax.jit(jax.value_and_grad(method.loss, has_aux=True))

    def run(n_devices):
        mesh = train.make_mesh(n_devices)
        params = jax.device_put(state["params"], NamedSharding(mesh, P()))
        xb = jax.device_put(x, NamedSharding(mesh, P("data")))
        (loss, _), grads = grad_fn(params, xb, key)
        return float(loss), jax.device_get(grads)

    loss1, g1 = run(1)
    loss8, g8 = run(8)
    # What a wrong batch split gives: one device's 4 examples replaced by another's (the others unchanged).
    x_wrong = x.copy()
    x_wrong[-4:] = x[:4]
    (loss_w, _), g_w = grad_fn(state["params"], jnp.asarray(x_wrong), key)
    # Reductions over 1 and 8 devices differ in the last float32 bits, by amounts that depend on the CPU and the JAX
    # version (elementwise tolerances on near-zero entries fail on some). Bound each leaf's difference as a whole,
    # far below what the wrong split moves it by.
    assert abs(loss8 - loss1) <= 1e-5 * abs(loss1) < 0.1 * abs(float(loss_w) - loss1)

    def bound(a):
        return 1e-4 * np.linalg.norm(a) + 1e-6 * np.sqrt(a.size)

    for (path, a), b, w in zip(jax.tree_util.tree_flatten_with_path(g1)[0], jax.tree.leaves(g8), jax.tree.leaves(g_w)):
        name = jax.tree_util.keystr(path)
        assert np.linalg.norm(a - b) <= bound(a), name
        if name.endswith("['kernel']"):
            assert np.linalg.norm(np.asarray(w) - a) > 20 * bound(a), name  # the bound would catch a wrong split


@pytest.mark.slow
def test_training_one_vs_eight_devices(tmp_path):
    r1 = train.train_and_evaluate(small_config(**{"train.num_devices": 1}), str(tmp_path / "one"))
    r8 = train.train_and_evaluate(small_config(**{"train.num_devices": 8}), str(tmp_path / "eight"))

    # Reductions differ between 1 and 8 devices in the last float32 bits; Adam divides by sqrt(v) and so magnifies
    # such differences for the few weights whose gradients are ~0. Compare each leaf as a whole (relative norm, plus
    # an RMS difference of 1e-5, 1% of one Adam step, for small-norm leaves such as biases: JAX 0.12 differs there
    # by a relative 5e-4) and bound every weight by a few Adam steps (lr 1e-3). A wrong batch split or a missing
    # all-reduce moves weights by whole steps.
    def close(a, b):
        assert np.linalg.norm(a - b) <= 1e-4 * np.linalg.norm(a) + 1e-5 * np.sqrt(a.size)
        assert np.abs(a - b).max() <= 3e-3

    jax.tree.map(close, params_of(r1), params_of(r8))
    # state replicated over the 8-device mesh
    for leaf in jax.tree.leaves(r8["state"]["params"]):
        assert leaf.sharding.is_fully_replicated


def test_non_finite_loss_stops_and_keeps_checkpoint(tmp_path, monkeypatch):
    real_build = methods.build

    def poisoned_build(config, data):
        method = real_build(config, data)
        real_step = method.train_step

        def step(state, x, key, stage=0):
            x = jnp.where(state["step"] >= 13, jnp.nan, x)  # epoch 2 (steps 10..19) goes bad at step 13
            return real_step(state, x, key, stage)

        object.__setattr__(method, "train_step", step)
        return method

    monkeypatch.setattr(methods, "build", poisoned_build)
    with pytest.raises(train.NonFiniteLossError, match="step 13"):
        train.train_and_evaluate(small_config(), str(tmp_path))
    assert sorted(os.listdir(tmp_path / "checkpoints" / "latest")) == ["10"]


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("channel.eps", 0.7, "eps"),
        ("model.bits", 0, "model.bits"),
        ("data.name", "nosuchdata", "nosuchdata"),
        ("train.batch_size", 0, "batch_size"),
        ("channel.name", "awgn_typo", "channel"),
        ("necst.estimator", "vimcoo", "estimator"),
    ],
)
def test_bad_config_gives_clear_error(tmp_path, field, value, match):
    with pytest.raises(ValueError, match=match):
        train.train_and_evaluate(small_config(**{field: value}), str(tmp_path))


def test_batch_split_over_devices_must_divide(tmp_path):
    """A batch split over the devices asked for must divide evenly; on the CPU devices of one process the default
    (``train.num_devices = 0``) does not split a run's batch, so any positive batch size is accepted."""
    with pytest.raises(
        ValueError,
        match=r"train.batch_size must be a positive multiple of the data-parallel device "
        r"count \(8\), got 12",
    ):
        train.train_and_evaluate(small_config(**{"train.batch_size": 12, "train.num_devices": 8}), str(tmp_path))
    assert not train.split_batches(0)


def test_missing_tfds_data_gives_clear_error(tmp_path):
    config = small_config(
        **{"data.name": "cifar10", "data.source": "tfds", "data.data_dir": str(tmp_path / "empty_tfds")}
    )
    with pytest.raises(ValueError, match="cifar10"):
        train.train_and_evaluate(config, str(tmp_path / "wd"))


@pytest.mark.slow
def test_command_line_smoke(tmp_path):
    env = dict(os.environ, JAX_NUM_CPU_DEVICES="2")
    cmd = [
        sys.executable,
        "-m",
        "launch.main",
        "--config=experiments/necst/random_bits.py:smoke",
        f"--workdir={tmp_path}",
        "--config.train.num_epochs=1",
        "--config.model.bits=8",
    ]
    out = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "| 0.10 |" in out.stdout
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["model"]["bits"] == 8
    # a type error in an override is refused by the command line
    bad = subprocess.run(
        cmd[:-1] + ["--config.model.bits=abc"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert bad.returncode != 0
    # a mistyped field is named, with the closest existing ones, in one line
    typo = subprocess.run(
        cmd + ["--config.optim.lerning_rate=0.1"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert typo.returncode != 0
    assert typo.stderr.strip().splitlines() == [
        "error: --config.optim.lerning_rate: unknown config field 'optim.lerning_rate'; did you mean optim.name, "
        "optim.lr?"
    ]


# ----------------------------------------------------------------------------------------- schedules, meshes


class _StagedMethod:
    """Just what make_schedule reads: a name and stages()."""

    name = "staged"

    def __init__(self, *stages):
        self._stages = stages

    def stages(self):
        return self._stages


def _train_cfg(**fields):
    from neuralcodes_jax import specs

    return specs.DataLoopTrain(**dict({"steps_per_call": 4, "num_epochs": 2}, **fields))


def test_schedule_blocks_saves_and_chunks():
    from neuralcodes_jax.methods import Stage

    # epochs: blocks are epochs, the latest checkpoint every 2nd epoch and at the end
    s = train.make_schedule(
        _StagedMethod(Stage("train")), _train_cfg(num_epochs=5, checkpoint_every_epochs=2), n_train=100, batch_size=10
    )
    assert s.blocks == (10, 20, 30, 40, 50) and sorted(s.saves) == [20, 40, 50] and s.steps_per_epoch == 10
    assert [s.chunk(t) for t in (0, 4, 8, 18)] == [4, 4, 2, 2]  # never across an epoch end
    # steps: two stages, blocks every 3 steps within each, stage ends are block ends
    s = train.make_schedule(
        _StagedMethod(Stage("one", 7), Stage("two", 2)),
        _train_cfg(checkpoint_every_steps=3),
        n_train=None,
        batch_size=None,
    )
    assert s.stage_ends == (7, 9) and s.blocks == (3, 6, 7, 9) and sorted(s.saves) == [3, 6, 9]
    assert [s.stage_at(t) for t in (0, 6, 7, 8)] == [0, 0, 1, 1] and s.chunk(6) == 1
    with pytest.raises(ValueError, match="stage 'two' of method 'staged' must have >= 1 steps, got 0"):
        train.make_schedule(_StagedMethod(Stage("one", 7), Stage("two", 0)), _train_cfg(), None, None)
    with pytest.raises(ValueError, match="runs epochs, but the config has no dataset"):
        train.make_schedule(_StagedMethod(Stage("train")), _train_cfg(), None, None)
    with pytest.raises(ValueError, match=r"train.steps_per_call must be >= 1"):
        train.make_schedule(_StagedMethod(Stage("one", 7)), _train_cfg(steps_per_call=0), None, None)


def test_mesh_splits_points_first():
    assert dict(train.make_mesh(1).shape) == {"points": 1, "data": 8}
    assert dict(train.make_mesh(4).shape) == {"points": 4, "data": 2}
    assert dict(train.make_mesh(12).shape) == {"points": 4, "data": 2}
    assert dict(train.make_mesh(3).shape) == {"points": 1, "data": 8}
    assert dict(train.make_mesh(16, num_devices=2).shape) == {"points": 2, "data": 1}
    with pytest.raises(ValueError, match=r"train.num_devices must be in \[0, 8\]"):
        train.make_mesh(1, num_devices=9)
    # CPU devices of one process share the cores: the runs split over them, a run's batch does not.
    assert not train.split_batches(0) and train.split_batches(8)
    for runs, mesh in ((1, (1, 1)), (3, (3, 1)), (4, (4, 1)), (7, (7, 1)), (12, (6, 1)), (16, (8, 1))):
        assert tuple(train.make_mesh(runs, split_batch=False).devices.shape) == mesh
    assert dict(train.make_mesh(3, num_devices=2, split_batch=False).shape) == {"points": 1, "data": 2}


# ----------------------------------------------------------------------------------------------- faults


@pytest.mark.slow
def test_divergence_stops_on_grad_norm_or_max_loss(tmp_path):
    """A finite blow-up (lr 1e9) stops at train.max_loss; no evaluation is written; the launcher exits 3."""
    with pytest.raises(train.NonFiniteLossError, match=r"above train.max_loss=1000") as info:
        train.train_and_evaluate(small_config(**{"optim.lr": 1e9, "train.max_loss": 1e3}), str(tmp_path / "a"))
    assert "nothing was evaluated" in str(info.value)
    assert not (tmp_path / "a" / "eval.json").exists()
    metrics = {"loss": np.ones((1, 4)), "grad_norm": np.array([[1.0, np.inf, 1.0, 1.0]])}
    with pytest.raises(train.NonFiniteLossError, match=r"w: non-finite grad_norm at step 11 \(grad_norm = inf\)"):
        train._check_divergence(metrics, 1, 4, 10, None, ["w"], 8)
    train._check_divergence(dict(metrics, grad_norm=np.ones((1, 4))), 1, 4, 10, 2.0, ["w"], 8)  # all fine
    env = dict(os.environ, JAX_NUM_CPU_DEVICES="1")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "launch.main",
            "--config=experiments/necst/random_bits.py:smoke",
            f"--workdir={tmp_path / 'cli'}",
            "--config.optim.lr=1e9",
            "--config.train.max_loss=1e3",
            "--config.model.bits=8",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 3, out.stderr[-2000:]
    assert "training diverged" in out.stderr


def test_workdir_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path):
    from neuralcodes_jax import checkpointing

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = tmp_path / "run.lock"
        lock.write_text(
            json.dumps(
                {
                    "host": __import__("socket").gethostname(),
                    "pid": holder.pid,
                    "start_time": "2026-01-01T00:00:00",
                    "command": "python -m launch.main X",
                }
            )
        )
        with pytest.raises(
            train.WorkdirLocked,
            match=rf"pid {holder.pid}, started 2026-01-01T00:00:00, "
            r"command `python -m launch.main X`",
        ):
            train.train_and_evaluate(small_config(), str(tmp_path))
        assert lock.exists() and not (tmp_path / "checkpoints").exists()
    finally:
        holder.kill()
        holder.wait()
    messages = []
    taken = checkpointing.WorkdirLock(str(tmp_path))
    taken.acquire(on_takeover=messages.append)
    assert "no longer runs" in messages[0] and json.loads(lock.read_text())["pid"] == os.getpid()
    taken.release()
    assert not lock.exists()
    # a run holds the lock while it trains and gives it back at the end, also when it fails
    with pytest.raises(ValueError, match=r"model.bits"):
        train.train_and_evaluate(small_config(**{"model.bits": 0}), str(tmp_path))
    assert not lock.exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        train.train_and_evaluate(small_config(), str(tmp_path / "file"))


@pytest.mark.slow
def test_damaged_latest_checkpoint_falls_back_to_the_older_one(tmp_path, capfd):
    """Truncated data files in the newest checkpoint (a full disk, a dying node): the run reports that step and
    resumes from the older checkpoint, ending with the parameters of an uninterrupted run; when no checkpoint can
    be read it stops with one error naming the steps."""
    part = tmp_path / "part"
    train.train_and_evaluate(small_config(), str(part))  # checkpoints at steps 10 and 20
    latest = part / "checkpoints" / "latest"
    assert sorted(os.listdir(latest)) == ["10", "20"]

    def damage(step):
        for root, _, files in os.walk(latest / step / "state"):
            for name in files:
                if name not in ("_METADATA", "_CHECKPOINT_METADATA"):
                    with open(os.path.join(root, name), "r+b") as f:
                        f.truncate(3)

    damage("20")
    resumed = train.train_and_evaluate(small_config(**{"train.num_epochs": 3}), str(part))
    assert "checkpoint at step 20" in capfd.readouterr().err
    full = train.train_and_evaluate(small_config(**{"train.num_epochs": 3}), str(tmp_path / "full"))
    jax.tree.map(
        np.testing.assert_array_equal,
        jax.device_get(full["state"]["params"]),
        jax.device_get(resumed["state"]["params"]),
    )
    for step in sorted(os.listdir(latest)):
        damage(step)
    with pytest.raises(checkpointing.CheckpointError, match=r"no checkpoint of .* can be read: step 30"):
        train.train_and_evaluate(small_config(**{"train.num_epochs": 4}), str(part))
