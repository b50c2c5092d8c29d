"""Sweeps and groups of runs: points and names (``neuralcodes_jax.sweeps``), grouping (``launch.sweep``), and
``train.train_group`` (the one loop) equal to its runs trained one by one, before and after a resume.

The trainings are tiny (16-bit random strings, 8 code bits, a few steps): the tests check that a group computes
what its points compute one by one, exactly or to float rounding.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax import config_utils, methods, metrics_writer, sweeps, train

TINY_CONFIG = textwrap.dedent('''
    from experiments.necst import random_bits

    def get_config(arg=None):
        c = random_bits.get_config("smoke")
        c.data.input_dim = 16
        c.data.limit.train = 64
        c.data.limit.valid = 32
        c.data.limit.test = 24
        c.model.bits = 8
        c.model.encoder_kwargs = {"hidden": (16,)}
        c.model.decoder_kwargs = {"hidden": (16,)}
        c.necst.num_samples = 3
        c.optim.lr = 1e-2
        c.train.batch_size = 16
        c.train.num_epochs = 2
        c.train.steps_per_call = 4      # one chunk per epoch (4 steps)
        c.train.num_devices = 1
        c.train.progress = False
        c.train.tensorboard = False
        c.eval.batch_size = 16
        c.eval.noise_levels = (0.0, 0.2)
        if arg == "lr":
            c.optim.lr = 3e-3
        return c

    def get_sweep():
        return [{"seed": 0, "channel.eps": 0.1},
                {"seed": 1, "channel.eps": 0.2, "eval.noise_levels": (0.2,)},
                {"seed": 2, "channel.eps": 0.1, "name": "third"}]
''')


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "tiny.py"
    path.write_text(TINY_CONFIG)
    return str(path)


# ---------------------------------------------------------------------------------------------- points


def test_points_names_and_args(tiny_config):
    points = sweeps.make_points(tiny_config, sweeps.sweep_entries(tiny_config), {"train.num_epochs": 1})
    assert [p.name for p in points] == ["seed0_eps0.1", "seed1_eps0.2", "third"]
    assert all(p.kind == "necst" and p.program == "launch.main" for p in points)
    assert points[1].args("/w") == [
        f"--config={tiny_config}",
        "--workdir=/w/seed1_eps0.2",
        "--config.seed=1",
        "--config.channel.eps=0.2",
        "--config.eval.noise_levels=(0.2,)",
        "--config.train.num_epochs=1",
    ]
    assert points[0].load_config().train.num_epochs == 1


def test_names_drop_dependent_fields_and_stay_unique():
    entries = [
        {
            "config": "experiments/iabf/table1.py:mnist,iabf",
            "channel.eps": e,
            "eval.noise_levels": (e,),
            "iabf.infomax_weight": w,
        }
        for e in (0.1, 0.2)
        for w in (0.1, 0.01)
    ]
    assert sweeps.point_names(entries) == [
        "eps0.1_infomax_weight0.1",
        "eps0.1_infomax_weight0.01",
        "eps0.2_infomax_weight0.1",
        "eps0.2_infomax_weight0.01",
    ]
    assert sweeps.point_names([{"a.lr": 1}, {"a.lr": 1}]) == ["run_0", "run_1"]
    assert sweeps.point_names([{"optim.lr": 1, "train.lr": 2}, {"optim.lr": 3, "train.lr": 5}]) == [
        "lr1",
        "lr3",
    ]  # train.lr corresponds one to one to optim.lr here, so only one appears
    assert sweeps.point_names([{"seed": s, "channel.eps": e} for s, e in ((0, 0.1), (1, 0.1))]) == [
        "seed0_eps0.1",
        "seed1_eps0.1",
    ][:0] + ["seed0", "seed1"]  # eps does not vary


def test_grid_parsing_and_expansion():
    assert sweeps.parse_grid("seed=0:4") == ("seed", [0, 1, 2, 3])
    assert sweeps.parse_grid("seed=1:7:3") == ("seed", [1, 4])
    assert sweeps.parse_grid("channel.eps=0.1,0.2") == ("channel.eps", [0.1, 0.2])
    assert sweeps.parse_grid("eval.noise_levels=(0.1,0.2),(0.3,)") == ("eval.noise_levels", [(0.1, 0.2), (0.3,)])
    assert sweeps.parse_grid("channel.name=bsc,bec") == ("channel.name", ["bsc", "bec"])
    with pytest.raises(ValueError, match="field=v1"):
        sweeps.parse_grid("seed")
    grid = [("seed", [0, 1]), ("channel.eps", [0.1, 0.2])]
    assert sweeps.expand_grid([{"a": 1}], grid) == [
        {"a": 1, "seed": 0, "channel.eps": 0.1},
        {"a": 1, "seed": 0, "channel.eps": 0.2},
        {"a": 1, "seed": 1, "channel.eps": 0.1},
        {"a": 1, "seed": 1, "channel.eps": 0.2},
    ]
    assert config_utils.cli_value((0.1, 0.2)) == "(0.1,0.2,)"


def test_bad_inputs_name_the_field(tiny_config):
    with pytest.raises(ValueError, match=r"unknown config field 'train.nope'"):
        sweeps.make_points(tiny_config, [{"train.nope": 1}])
    with pytest.raises(ValueError, match=r"did you mean optim.lr"):
        sweeps.make_points(tiny_config, [{"optim.lrr": 1}])
    with pytest.raises(ValueError, match="has no get_sweep"):
        sweeps.sweep_entries("experiments/necst/mnist.py")
    with pytest.raises(ValueError, match="does not exist"):
        sweeps.sweep_entries("experiments/necst/nope.py")
    with pytest.raises(ValueError, match="max_group must be >= 0"):
        sweeps.group_points([], -1)


def test_planning_imports_no_jax():
    code = "import sys; import neuralcodes_jax.sweeps; print('jax' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.stdout.strip() == "False"


def test_grouping_by_group_fields(tiny_config):
    entries = [
        {"seed": 0},
        {"seed": 1, "channel.eps": 0.3},
        {"seed": 2, "optim.lr": 0.5},
        {"config": tiny_config + ":lr", "seed": 3},
    ]
    points = sweeps.make_points(tiny_config, entries)
    assert [[p.name for p in g] for g in sweeps.group_points(points)] == [
        [points[0].name, points[1].name],
        [points[2].name],
        [points[3].name],
    ]
    assert [len(g) for g in sweeps.group_points(points[:2], max_group=1)] == [1, 1]
    # IABF: seed and training noise too (its flip decision is traced in a group), not the flip rule.
    iabf = sweeps.make_points(
        "experiments/iabf/table1.py:smoke",
        [
            {"seed": 0, "channel.eps": 0.1},
            {"seed": 1, "channel.eps": 0.1},
            {"seed": 0, "channel.eps": 0.2},
            {"seed": 0, "channel.eps": 0.2, "iabf.flip_rule": "reference"},
        ],
    )
    assert [len(g) for g in sweeps.group_points(iabf)] == [3, 1]
    # Learned codes: seed and training crossover; a point of several seeds counts as that many runs.
    codes = sweeps.make_points(
        "experiments/progressive/hamming_7_4.py:smoke",
        [{"seed": 0, "channel.train_p": 0.01}, {"seed": 1, "channel.train_p": 0.05}, {"seed": 2, "code.k": 3}],
    )
    assert [p.program for p in codes] == ["launch.main"] * 3
    assert [len(g) for g in sweeps.group_points(codes)] == [2, 1]
    assert [len(g) for g in sweeps.group_points(codes, max_group=3)] == [1, 1, 1]  # 2 seeds per point
    # The VAE may vary the seed only.
    vae = sweeps.make_points("experiments/baselines/vae.py:smoke", [{"seed": 0}, {"seed": 1}])
    assert [len(g) for g in sweeps.group_points(vae)] == [2]


def test_group_refuses_fields_the_method_cannot_vary(tiny_config, tmp_path):
    base = sweeps.load_config(tiny_config)
    other = sweeps.load_config(tiny_config, {"model.bits": 4})
    with pytest.raises(ValueError, match=r"field 'model.bits' differs: 8 vs 4"):
        train.train_group([base, other], [tmp_path / "a", tmp_path / "b"])
    vae = [
        sweeps.load_config("experiments/baselines/vae.py:smoke", {"seed": s, "eval.noise_levels": (0.1,)})
        for s in (0, 1)
    ]
    assert train.group_values(vae, methods.build(vae[0], methods.DataSpec((784,), True))) == {}
    with pytest.raises(ValueError, match="may differ only in"):
        train.group_values(
            [vae[0], sweeps.load_config("experiments/baselines/vae.py:smoke", {"necst.num_samples": 3})],
            methods.build(vae[0], methods.DataSpec((784,), True)),
        )


# ----------------------------------------------------------------------------------- groups of runs


def _leaves(tree, i=None):
    return [np.asarray(x if i is None else x[i], np.float64) for x in jax.tree.leaves(tree)]


def _signal_at(monkeypatch, at_step):
    """Make the metric writer send this process a SIGTERM once it has logged training step ``at_step``."""
    real_write = metrics_writer.MetricWriter.write_scalars
    sent = []

    def write_and_signal(self, step, scalars):
        real_write(self, step, scalars)
        if step == at_step and "train/loss" in scalars and not sent:
            sent.append(step)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(metrics_writer.MetricWriter, "write_scalars", write_and_signal)


@pytest.mark.slow
def test_group_equals_single_runs_of_the_loop_after_resume(tiny_config, tmp_path, monkeypatch):
    """Three points (seeds 0-2, training noise 0.1 / 0.2 / 0.1 as a traced per-point scalar, their own test
    levels) trained as one group, preempted by SIGTERM after the first epoch and resumed, equal the same points
    trained one at a time by the same loop (``train.train_and_evaluate``: the same init, keys, batches,
    best-by-validation selection and evaluation keys).

    Tolerances: the group runs batched (vmapped) matmuls, the single runs plain ones; the last-bit differences
    this gives are magnified by Adam for near-zero gradients, so parameters are compared by relative norm per leaf
    (1e-4) and scores to 1e-5 relative; 8 steps at lr 1e-2 are far from chaotic divergence (observed differences
    ~1e-7). A wrong assignment of seeds, noise levels or batches to points moves them by far more.
    """
    points = sweeps.make_points(tiny_config, sweeps.sweep_entries(tiny_config))
    configs = [p.load_config() for p in points]
    dirs = [tmp_path / "g" / p.name for p in points]
    with monkeypatch.context() as m:
        _signal_at(m, 4)
        with pytest.raises(train.Preempted, match="preempted at step 4"):
            train.train_group(configs, dirs)
    assert all(os.listdir(d / "checkpoints" / "latest") == ["4"] for d in dirs)
    group = train.train_group(configs, dirs)
    for i in range(3):
        ref = train.train_and_evaluate(configs[i], str(tmp_path / f"ref{i}"))
        for a, b in zip(_leaves(group["state"]["params"], i), _leaves(ref["state"]["params"])):
            assert np.linalg.norm(a - b) <= 1e-4 * np.linalg.norm(b) + 1e-7
        meta = group["runs"][i]["meta"]
        assert meta["best_step"] == ref["meta"]["best_step"]
        np.testing.assert_allclose(meta["best_valid"], ref["meta"]["best_valid"], rtol=1e-5)
        rows, ref_rows = group["runs"][i]["eval"]["rows"], ref["eval"]["rows"]
        assert [r["eps"] for r in rows] == [r["eps"] for r in ref_rows]
        for r, q in zip(rows, ref_rows):
            for k in ("bce_per_pixel_nats", "pixel_error_rate"):
                np.testing.assert_allclose(r[k], q[k], rtol=1e-4)
    # the points differ (different seeds and noise): the group did not train one model three times
    assert not np.allclose(_leaves(group["state"]["params"], 0)[0], _leaves(group["state"]["params"], 2)[0])
    # files as launch.main writes them
    evaluated = json.loads((tmp_path / "g" / "third" / "eval.json").read_text())
    assert [r["eps"] for r in evaluated["rows"]] == [0.0, 0.2] and evaluated["train_eps"] == 0.1
    lines = (tmp_path / "g" / "third" / "metrics.jsonl").read_text().splitlines()
    assert sum("valid/loss" in json.loads(line) for line in lines) == 2
    assert (
        json.loads((tmp_path / "g" / "third" / "result_metrics.json").read_text())["bce_per_pixel_nats@0.2"]
        == evaluated["rows"][1]["bce_per_pixel_nats"]
    )


@pytest.mark.slow
def test_resume_with_a_changed_shape_field_names_it(tiny_config, tmp_path):
    config = sweeps.load_config(tiny_config, {"train.num_epochs": 1})
    train.train_and_evaluate(config, str(tmp_path))
    with pytest.raises(ValueError, match=r"model.bits: 8 -> 4"):
        train.train_and_evaluate(sweeps.load_config(tiny_config, {"model.bits": 4}), str(tmp_path))
    more = train.train_and_evaluate(sweeps.load_config(tiny_config, {"train.num_epochs": 2}), str(tmp_path))
    assert more["meta"]["step"] == 8  # more epochs: a safe change, recorded
    changes = json.loads((tmp_path / "config_changes.json").read_text())
    assert changes[-1]["changes"] == {"train.num_epochs": [1, 2]}


IABF_TINY = {
    "data.limit.train": 64,
    "data.limit.valid": 32,
    "data.limit.test": 16,
    "model.bits": 8,
    "iabf.disc_hidden": (16,),
    "necst.num_samples": 3,
    "train.batch_size": 16,
    "train.num_epochs": 1,
    "train.steps_per_call": 4,
    "train.num_devices": 1,
    "train.progress": False,
    "train.tensorboard": False,
    "eval.batch_size": 16,
    "eval.noise_levels": (0.2,),
}


@pytest.mark.slow
@pytest.mark.parametrize("flip_rule", ["paper", "reference"])
def test_iabf_group_varying_training_noise_equals_single_runs(flip_rule, tmp_path):
    """IABF points at training noise 0 and 0.2 in one group (the flip decision traced: flips computed for both,
    zeroed at noise 0) equal each point alone, which takes NECST's channel at noise 0 and the adversarial flips at
    0.2. Same tolerances as the NECST group test."""
    points = sweeps.make_points(
        "experiments/iabf/table1.py:smoke",
        [{**IABF_TINY, "seed": s, "channel.eps": e, "iabf.flip_rule": flip_rule} for s, e in ((0, 0.0), (1, 0.2))],
    )
    assert [len(g) for g in sweeps.group_points(points)] == [2]
    configs = [p.load_config() for p in points]
    group = train.train_group(configs, [tmp_path / "g0", tmp_path / "g1"], evaluate=False)
    for i, c in enumerate(configs):
        ref = train.train_and_evaluate(c, str(tmp_path / str(i)))
        for a, b in zip(_leaves(group["state"]["params"], i), _leaves(ref["state"]["params"])):
            assert np.linalg.norm(a - b) <= 1e-4 * np.linalg.norm(b) + 1e-7
        assert group["runs"][i]["meta"]["best_step"] == ref["meta"]["best_step"]
        np.testing.assert_allclose(group["runs"][i]["meta"]["best_valid"], ref["meta"]["best_valid"], rtol=1e-5)


@pytest.mark.slow
def test_sweep_vmap_checkpoints_every_point_and_resumes_after_sigterm(tiny_config, tmp_path, monkeypatch):
    """``launch.sweep --vmap`` on a NECST config: one group, a checkpoint in every point's directory when SIGTERM
    stops it, and the rerun finishes every point with the results of an uninterrupted group, bit for bit."""
    with monkeypatch.context() as m:
        _signal_at(m, 4)
        with pytest.raises(train.Preempted):
            sweeps.run_sweep(tiny_config, tmp_path / "part", vmap=True, log=lambda *_: None)
    names = ["seed0_eps0.1", "seed1_eps0.2", "third"]
    for name in names:
        assert os.listdir(tmp_path / "part" / name / "checkpoints" / "latest") == ["4"]
        assert sweeps.read_result(tmp_path / "part" / name) is None
    resumed = sweeps.run_sweep(tiny_config, tmp_path / "part", vmap=True, log=lambda *_: None)
    full = sweeps.run_sweep(tiny_config, tmp_path / "full", vmap=True, log=lambda *_: None)
    assert [r["status"] for r in resumed] == ["ok"] * 3 and [r["mode"] for r in resumed] == ["group"] * 3
    for r, f in zip(resumed, full):
        assert r["metrics"] == f["metrics"] and r["group_size"] == 3
        assert r["group_run_steps"] == {"trained": 3 * 4, "computed": 3 * 4}  # the resumed call's second epoch
        assert f["group_run_steps"] == {"trained": 3 * 8, "computed": 3 * 8}
    assert "| third | ok | group |" in (tmp_path / "part" / "sweep.md").read_text()


_CPU_CORES = """
import jax
import jax.numpy as jnp
from neuralcodes_jax import distributed
if {late}:
    jax.devices()
try:
    print(distributed.use_cpu_cores({arg}), jax.device_count())
except RuntimeError as err:
    print("error:", err)
"""


@pytest.mark.parametrize(
    "arg, xla_flags, late, expected",
    [
        (3, "", False, "3 3"),  # an explicit count
        (0, "", False, f"{len(os.sched_getaffinity(0))} {len(os.sched_getaffinity(0))}"),  # one per core
        (3, "--xla_force_host_platform_device_count=2", False, "0 2"),  # a count in XLA_FLAGS wins
        (3, "", True, "error: use_cpu_cores must run before JAX initializes its backends (before any JAX operation)"),
    ],
)
@pytest.mark.slow
def test_use_cpu_cores(arg, xla_flags, late, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_NUM_CPU_DEVICES", "XLA_FLAGS")}
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS=xla_flags)
    out = subprocess.run(
        [sys.executable, "-c", _CPU_CORES.format(arg=arg, late=late)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.stdout.strip() == expected
    from neuralcodes_jax import distributed

    with pytest.raises(ValueError, match="cpu_devices must be >= 0"):
        distributed.use_cpu_cores(-1)


@pytest.mark.slow
def test_sweep_vmap_benchmark_runs_and_reports(tmp_path):
    """The benchmark's (7,4) part on a tiny schedule: the modes through ``train.train_group``, speedups against the
    vmapped row, codebook agreement, JSON."""
    out = tmp_path / "bench.json"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(
        [
            sys.executable,
            "benchmarks/sweep_vmap.py",
            "--only",
            "progressive",
            "--seeds",
            "2",
            "--stage1_steps",
            "4",
            "--stage2_steps",
            "2",
            "--json",
            str(out),
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    res = json.loads(out.read_text())["progressive"]
    modes = [r["mode"] for r in res["rows"]]
    assert modes[0].startswith("vmapped (2 seeds, one group, ")
    assert "vmapped (2 seeds, one group, 1 device)" in modes and modes[-1] == "sequential, compile per run"
    assert res["points"] == 2 and res["steps_per_seed"] == 6
    ref = res["rows"][0]["wall_s"]
    for r in res["rows"]:
        assert r["wall_s"] > 0 and r["cpu_s"] > 0 and 0 < r["compile_s"] <= r["wall_s"]
        assert 0 < r["train_s"] <= r["wall_s"] and 0 < r["eval_s"] <= r["wall_s"]
        if "vmap" in r["mode"]:
            assert "speedup_wall" not in r
        else:
            assert r["speedup_wall"] == pytest.approx(r["wall_s"] / ref)
            assert r["speedup_cpu"] == pytest.approx(r["cpu_s"] / res["rows"][0]["cpu_s"])
    assert 0 <= res["same_codebook"] <= 2 and 0 <= res["same_codebook_one_device"] <= 2
    seq = res["rows"][-1]
    for key in ("wall_s", "compile_s", "train_s", "eval_s"):
        assert len(res["per_seed"][key]) == 2
        assert sum(res["per_seed"][key]) == pytest.approx(seq[key])


@pytest.mark.slow
def test_early_stopping_per_run_inside_a_group(tiny_config, tmp_path, monkeypatch):
    """``train.patience``: a run whose validation score has not improved for that many epochs stops (its state
    frozen, its best checkpoint kept) while the others of its group train on; it ends with what the run alone
    trained for as many epochs computes. The validation score of the run at noise 0.1 is replaced by a constant
    (best at epoch 1, stopped at epoch 4 with patience 3); the run at noise 0.2 keeps NECST's score (best at
    epoch 3 of 5, so it trains to the end)."""
    from neuralcodes_jax.methods import necst

    real = necst.NECST.valid_loss

    def valid_loss(self, params, x, key):
        return jnp.where(self.channel.eps > 0.15, real(self, params, x, key), 0.0)

    monkeypatch.setattr(necst.NECST, "valid_loss", valid_loss)
    configs = [
        sweeps.load_config(tiny_config, {"seed": s, "channel.eps": e, "train.num_epochs": 5, "train.patience": 3})
        for s, e in ((0, 0.1), (1, 0.2))
    ]
    out = train.train_group(configs, [tmp_path / "a", tmp_path / "b"])
    meta_a, meta_b = out["runs"][0]["meta"], out["runs"][1]["meta"]
    assert meta_a["stopped"] and meta_a["stopped_at_block"] == 4 and meta_a["best_step"] == 4
    assert not meta_b.get("stopped") and meta_b["step"] == 20 and meta_b["best_step"] == 12  # best at epoch 3
    alone = train.train_and_evaluate(
        sweeps.load_config(tiny_config, {"seed": 0, "channel.eps": 0.1, "train.num_epochs": 4}), str(tmp_path / "c")
    )
    for a, b in zip(_leaves(out["state"]["params"], 0), _leaves(alone["state"]["params"])):
        assert np.linalg.norm(a - b) <= 1e-4 * np.linalg.norm(b) + 1e-7
    rows = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in rows) == 16  # nothing logged for run a after it stopped
    again = train.train_group(configs, [tmp_path / "a", tmp_path / "b"])  # resumes: nothing left to train
    assert again["runs"][0]["meta"]["stopped"] and again["runs"][1]["meta"]["step"] == 20


@pytest.mark.slow
@pytest.mark.parametrize("devices,on_device", [(1, "never"), (8, "always")])
def test_runs_left_after_early_stops_train_as_a_smaller_group(tiny_config, tmp_path, monkeypatch, devices, on_device):
    """Once a run of a group has stopped, the others train as a group of their own (``train.compact_stopped``,
    default): the stopped run's steps are no longer computed (36 run-steps instead of 40), the runs end where the
    masked group ends them (same stops and best steps; parameters equal up to the rounding of a differently
    batched program), and a group stopped and resumed after the compaction ends bit-identical to one run
    straight through. Setup as in the test above: run a stops at epoch 4, run b trains all 5 epochs. On 8 devices
    the group's mesh is 2 runs x 4 and the smaller group's 1 run x 8; batches are gathered on the host
    (``train.data_on_device='never'``) or on the devices."""
    from neuralcodes_jax.methods import necst

    real = necst.NECST.valid_loss
    monkeypatch.setattr(
        necst.NECST,
        "valid_loss",
        lambda self, params, x, key: jnp.where(self.channel.eps > 0.15, real(self, params, x, key), 0.0),
    )

    def configs(epochs, **extra):
        return [
            sweeps.load_config(
                tiny_config,
                {
                    "seed": s,
                    "channel.eps": e,
                    "train.num_epochs": epochs,
                    "train.patience": 3,
                    "train.num_devices": devices,
                    "train.data_on_device": on_device,
                    **extra,
                },
            )
            for s, e in ((0, 0.1), (1, 0.2))
        ]

    def dirs(name):
        return [tmp_path / name / "a", tmp_path / name / "b"]

    out = train.train_group(configs(5), dirs("compact"))
    masked = train.train_group(configs(5, **{"train.compact_stopped": False}), dirs("masked"))
    assert out["run_steps"] == {"trained": 36, "computed": 36}
    assert masked["run_steps"] == {"trained": 36, "computed": 40}
    for key in ("stopped", "stopped_at_block", "best_step", "step"):
        assert [r["meta"].get(key) for r in out["runs"]] == [r["meta"].get(key) for r in masked["runs"]]
    for a, b in zip(_leaves(out["state"]["params"]), _leaves(masked["state"]["params"])):
        assert np.linalg.norm(a - b) <= 1e-4 * np.linalg.norm(b) + 1e-7
    for name in ("a", "b"):
        rows = [json.loads(line) for line in (tmp_path / "compact" / name / "metrics.jsonl").read_text().splitlines()]
        ref = [json.loads(line) for line in (tmp_path / "masked" / name / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in rows] == [r["step"] for r in ref]

    first = train.train_group(configs(4), dirs("resumed"))  # run a stops at the last epoch of this call
    assert first["runs"][0]["meta"]["stopped"] and not first["runs"][1]["meta"].get("stopped")
    resumed = train.train_group(configs(5), dirs("resumed"))  # run b alone for epoch 5
    assert resumed["run_steps"] == {"trained": 4, "computed": 4}
    for a, b in zip(_leaves(resumed["state"]["params"]), _leaves(out["state"]["params"])):
        np.testing.assert_array_equal(a, b)


def test_sweep_table_rows_have_as_many_cells_as_the_header(tiny_config, tmp_path):
    points = sweeps.make_points(tiny_config, sweeps.sweep_entries(tiny_config), {})
    sweeps.write_result(points[0], tmp_path, {"nll@0.1": 1.5, "nll_se@0.1": 0.1}, mode="group", wall_seconds=2.0)
    table = [line for line in sweeps.summary_markdown(points, tmp_path).splitlines() if line.startswith("|")]
    assert table[0] == "| point | status | mode | wall s | nll@0.1 |" and table[1] == "|---|---|---|---|---|"
    assert [line.count("|") for line in table] == [6] * (2 + len(points))
    assert table[2] == "| seed0_eps0.1 | ok | group | 2.0 | 1.5 |"


def test_a_point_claims_its_directory_and_continues_when_its_budget_grows(tmp_path):
    config = "experiments/necst/mnist.py:embedded"
    short, longer = (
        sweeps.Point(name="p", config=config, overrides=(("seed", 1), ("train.num_epochs", n)), kind="necst")
        for n in (1, 3)
    )
    other = sweeps.Point(name="p", config=config, overrides=(("seed", 2),), kind="necst")
    assert short.identity == longer.identity and short.budget == {"train.num_epochs": 1}
    sweeps.claim(short, tmp_path)
    with pytest.raises(ValueError, match="holds a different run"):
        sweeps.claim(other, tmp_path)  # before any training: point.json names the run that owns the directory
    sweeps.write_result(short, tmp_path, {"x": 1.0}, mode="group", wall_seconds=1.0)
    assert sweeps.is_done(short, tmp_path)
    assert not sweeps.is_done(longer, tmp_path)  # a larger budget continues the finished run
    with pytest.raises(ValueError, match="holds a different run"):
        sweeps.is_done(other, tmp_path)
    result = sweeps.read_result(tmp_path / "p")
    assert result["budget"] == {"train.num_epochs": 1} and result["metrics"] == {"x": 1.0}
    assert not list((tmp_path / "p").glob("*.tmp"))  # written whole, through a temporary file
