"""Sweeps (neuralcodes_jax.sweeps): points and names, grouping, and vmapped training equal to one-by-one training.

The trainings are tiny (16-bit random strings, 8 code bits, a few steps; a (7,4) code with a few dozen steps):
the tests check that a vmapped group computes what its points compute one by one, exactly or to float rounding.
"""
import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from neuralcodes_jax import sweeps
from neuralcodes_jax import train
from neuralcodes_jax.methods import progressive as prog

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
        f"--config={tiny_config}", "--workdir=/w/seed1_eps0.2", "--config.seed=1",
        "--config.channel.eps=0.2", "--config.eval.noise_levels=(0.2,)", "--config.train.num_epochs=1"]
    assert points[0].load_config().train.num_epochs == 1


def test_names_drop_dependent_fields_and_stay_unique():
    entries = [{"config": "experiments/iabf/table1.py:mnist,iabf", "channel.eps": e, "eval.noise_levels": (e,),
                "iabf.infomax_weight": w} for e in (0.1, 0.2) for w in (0.1, 0.01)]
    assert sweeps.point_names(entries) == ["eps0.1_infomax_weight0.1", "eps0.1_infomax_weight0.01",
                                           "eps0.2_infomax_weight0.1", "eps0.2_infomax_weight0.01"]
    assert sweeps.point_names([{"a.lr": 1}, {"a.lr": 1}]) == ["run_0", "run_1"]
    assert sweeps.point_names([{"optim.lr": 1, "train.lr": 2}, {"optim.lr": 3, "train.lr": 5}]) == [
        "lr1", "lr3"]     # train.lr corresponds one to one to optim.lr here, so only one appears
    assert sweeps.point_names([{"seed": s, "channel.eps": e} for s, e in ((0, 0.1), (1, 0.1))]) == [
        "seed0_eps0.1", "seed1_eps0.1"][:0] + ["seed0", "seed1"]      # eps does not vary


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
        {"a": 1, "seed": 0, "channel.eps": 0.1}, {"a": 1, "seed": 0, "channel.eps": 0.2},
        {"a": 1, "seed": 1, "channel.eps": 0.1}, {"a": 1, "seed": 1, "channel.eps": 0.2}]
    assert sweeps.cli_value((0.1, 0.2)) == "(0.1,0.2,)"


def test_bad_inputs_name_the_field(tiny_config):
    with pytest.raises(ValueError, match="unknown config field 'train.nope'"):
        sweeps.make_points(tiny_config, [{"train.nope": 1}])
    with pytest.raises(ValueError, match="has no get_sweep"):
        sweeps.sweep_entries("experiments/necst/mnist.py")
    with pytest.raises(ValueError, match="does not exist"):
        sweeps.sweep_entries("experiments/necst/nope.py")
    with pytest.raises(ValueError, match="max_group must be >= 0"):
        sweeps.group_points([], -1)


def test_grouping_by_vmappable_fields(tiny_config):
    entries = [{"seed": 0}, {"seed": 1, "channel.eps": 0.3}, {"seed": 2, "optim.lr": 0.5},
               {"config": tiny_config + ":lr", "seed": 3}]
    points = sweeps.make_points(tiny_config, entries)
    assert [[p.name for p in g] for g in sweeps.group_points(points)] == [
        [points[0].name, points[1].name], [points[2].name], [points[3].name]]
    assert [len(g) for g in sweeps.group_points(points[:2], max_group=1)] == [1, 1]
    # IABF: seed and training noise too (its flip decision is traced in a group), not the flip rule.
    iabf = sweeps.make_points("experiments/iabf/table1.py:smoke", [
        {"seed": 0, "channel.eps": 0.1}, {"seed": 1, "channel.eps": 0.1}, {"seed": 0, "channel.eps": 0.2},
        {"seed": 0, "channel.eps": 0.2, "iabf.flip_rule": "reference"}])
    assert [len(g) for g in sweeps.group_points(iabf)] == [3, 1]
    # Learned codes: seed and training crossover.
    codes = sweeps.make_points("experiments/progressive/hamming_7_4.py:smoke", [
        {"seed": 0, "channel.train_p": 0.01}, {"seed": 1, "channel.train_p": 0.05}, {"seed": 2, "code.k": 3}])
    assert [p.program for p in codes] == ["launch.progressive"] * 3
    assert [len(g) for g in sweeps.group_points(codes)] == [2, 1]


# ----------------------------------------------------------------------------------- vmapped training


def _leaves(tree, i=None):
    return [np.asarray(x if i is None else x[i], np.float64) for x in jax.tree.leaves(tree)]


def test_vmapped_group_equals_points_one_by_one(tiny_config, tmp_path):
    """Three points (seeds 0-2, training noise 0.1 / 0.2 / 0.1 as a traced per-point scalar, their own test
    levels) trained as one vmapped program equal the same points trained one at a time: point 0 through the same
    trainer as a group of one, point 1 through ``train.train_and_evaluate`` (what ``launch.main`` runs: the same
    init, keys, batches, best-by-validation selection and evaluation keys).

    Tolerances: the group runs batched (vmapped) matmuls, the single runs plain ones; the last-bit differences
    this gives are magnified by Adam for near-zero gradients (WORKSPACE pitfalls), so parameters are compared by
    relative norm per leaf (1e-4) and losses to 1e-5 relative; 8 steps at lr 1e-2 are far from chaotic
    divergence (observed differences ~1e-7).
    """
    points = sweeps.make_points(tiny_config, sweeps.sweep_entries(tiny_config))
    configs = [p.load_config() for p in points]
    group = sweeps.train_group(configs, [tmp_path / "g" / p.name for p in points])
    assert group.losses.shape == (3, 8)
    assert [m["status"] for m in group.metrics] == ["ok"] * 3
    single = sweeps.train_group([configs[0]], evaluate=False)
    ref = train.train_and_evaluate(configs[1], str(tmp_path / "ref"))
    for i, params in ((0, single.state["params"]), (1, jax.tree.map(lambda x: x[None], ref["state"]["params"]))):
        for a, b in zip(_leaves(group.state["params"], i), _leaves(params, 0)):
            assert np.linalg.norm(a - b) <= 1e-4 * np.linalg.norm(b) + 1e-7
    np.testing.assert_allclose(group.losses[0], single.losses[0], rtol=1e-5)
    assert group.metrics[0]["meta"]["best_step"] == single.metrics[0]["meta"]["best_step"]
    assert group.metrics[1]["meta"]["best_step"] == ref["meta"]["best_step"]
    np.testing.assert_allclose(group.metrics[1]["meta"]["best_valid"], ref["meta"]["best_valid"], rtol=1e-5)
    assert [r["eps"] for r in group.evals[1]["rows"]] == [r["eps"] for r in ref["eval"]["rows"]] == [0.2]
    for k in ("bce_per_pixel_nats", "pixel_error_rate"):
        np.testing.assert_allclose(group.evals[1]["rows"][0][k], ref["eval"]["rows"][0][k], rtol=1e-4)
    # the points differ (different seeds and noise): the group did not train one model three times
    assert not np.allclose(group.losses[0], group.losses[2])
    # files as launch.main writes them
    evaluated = json.loads((tmp_path / "g" / "third" / "eval.json").read_text())
    assert [r["eps"] for r in evaluated["rows"]] == [0.0, 0.2] and evaluated["train_eps"] == 0.1
    lines = (tmp_path / "g" / "third" / "metrics.jsonl").read_text().splitlines()
    assert sum("valid/loss" in json.loads(line) for line in lines) == 2


IABF_TINY = {"data.limit.train": 64, "data.limit.valid": 32, "data.limit.test": 16, "model.bits": 8,
             "iabf.disc_hidden": (16,), "necst.num_samples": 3, "train.batch_size": 16, "train.num_epochs": 1,
             "train.steps_per_call": 4, "train.num_devices": 1, "train.progress": False, "train.tensorboard": False,
             "eval.batch_size": 16, "eval.noise_levels": (0.2,)}


@pytest.mark.parametrize("flip_rule", ["paper", "reference"])
def test_iabf_group_varying_training_noise_equals_single_runs(flip_rule, tmp_path):
    """IABF points at training noise 0 and 0.2 in one vmapped program (the flip decision traced: flips computed
    for both, zeroed at noise 0) equal ``train.train_and_evaluate`` of each point, which takes NECST's channel at
    noise 0 and the adversarial flips at 0.2. Same tolerances as the NECST group test."""
    points = sweeps.make_points("experiments/iabf/table1.py:smoke", [
        {**IABF_TINY, "seed": s, "channel.eps": e, "iabf.flip_rule": flip_rule} for s, e in ((0, 0.0), (1, 0.2))])
    assert [len(g) for g in sweeps.group_points(points)] == [2]
    configs = [p.load_config() for p in points]
    group = sweeps.train_group(configs, evaluate=False)
    assert [m["status"] for m in group.metrics] == ["ok"] * 2
    for i, c in enumerate(configs):
        ref = train.train_and_evaluate(c, str(tmp_path / str(i)))
        for a, b in zip(_leaves(group.state["params"], i), _leaves(ref["state"]["params"])):
            assert np.linalg.norm(a - b) <= 1e-4 * np.linalg.norm(b) + 1e-7
        assert group.metrics[i]["meta"]["best_step"] == ref["meta"]["best_step"]
        np.testing.assert_allclose(group.metrics[i]["meta"]["best_valid"], ref["meta"]["best_valid"], rtol=1e-5)


def test_progressive_group_equals_single_seeds(tmp_path):
    """Two (7,4) points (seed 0 at crossover 0.02, seed 1 at 0.1, the crossover traced per key) trained as one
    program == ``progressive.train_seed_jit`` with the crossover as a Python constant: identical codebooks and
    losses (the flips are the same ``uniform < p`` comparisons). The reference is the second point (0.1 differs
    from the group's first spec), so a swapped assignment of crossovers to keys would fail."""
    configs = [sweeps.load_config("experiments/progressive/hamming_7_4.py:smoke", {
        "seed": s, "channel.train_p": p, "num_seeds": 1, "trainings": ("progressive",),
        "model.encoder_hidden": (8,), "model.decoder_hidden": (8,), "train.stage1_steps": 24,
        "train.stage2_steps": 6, "train.batch_size": 16, "eval.p_grid": (0.05,)}) for s, p in ((0, 0.02), (1, 0.1))]
    out = sweeps.train_progressive_group(configs, [tmp_path / "a", tmp_path / "b"])
    got = out["outputs"]["progressive"]
    assert len(got["codebook"].sharding.device_set) == 2       # one point per device (points_mesh)
    ref = prog.train_seed_jit(prog.seed_keys(1, 1)[0], prog.spec_from_config(configs[1], "progressive"))
    np.testing.assert_array_equal(np.asarray(got["codebook"][1]), np.asarray(ref["codebook"]))
    for name in ("stage1_loss", "stage2_loss"):
        np.testing.assert_allclose(np.asarray(got[name][1]), np.asarray(ref[name]), rtol=1e-6)
        assert not np.allclose(np.asarray(got[name][0]), np.asarray(ref[name]))
    report = json.loads((tmp_path / "b" / "codebook_reports.json").read_text())
    assert report["train_p"] == 0.1 and report["seed"] == 1
    seed = report["trainings"]["progressive"]["seeds"][0]
    assert seed["codewords"] == prog.bit_strings(np.asarray(ref["codebook"]))
    metrics = sweeps.progressive_metrics(report)
    assert metrics["progressive/num_seeds"] == 1
    assert metrics["progressive/minimum_distance_histogram"] == {str(seed["minimum_distance"]): 1}


_CPU_CORES = """
import jax
from neuralcodes_jax import distributed
if {late}:
    jax.devices()
try:
    print(distributed.use_cpu_cores({arg}), jax.device_count())
except RuntimeError as err:
    print("error:", err)
"""


@pytest.mark.parametrize("arg, xla_flags, late, expected", [
    (3, "", False, "3 3"),                                                      # an explicit count
    (0, "", False, f"{len(os.sched_getaffinity(0))} {len(os.sched_getaffinity(0))}"),   # one per core
    (3, "--xla_force_host_platform_device_count=2", False, "0 2"),            # a count in XLA_FLAGS wins
    (3, "", True, "error: use_cpu_cores must run before JAX initializes its backends (before any JAX operation)"),
])
def test_use_cpu_cores(arg, xla_flags, late, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_NUM_CPU_DEVICES", "XLA_FLAGS")}
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS=xla_flags)
    out = subprocess.run([sys.executable, "-c", _CPU_CORES.format(arg=arg, late=late)], env=env,
                         capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == expected
    from neuralcodes_jax import distributed
    with pytest.raises(ValueError, match="cpu_devices must be >= 0"):
        distributed.use_cpu_cores(-1)


def test_sweep_vmap_benchmark_runs_and_reports(tmp_path):
    """The benchmark's (7,4) part on a tiny schedule: rows, speedups against the vmapped row, JSON."""
    out = tmp_path / "bench.json"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "benchmarks/sweep_vmap.py", "--only", "progressive", "--seeds", "2",
                    "--stage1_steps", "4", "--stage2_steps", "2", "--json", str(out)],
                   cwd=root, check=True, capture_output=True, text=True)
    res = json.loads(out.read_text())["progressive"]
    modes = [r["mode"] for r in res["rows"]]
    assert modes[0].startswith("vmapped (2 seeds, one program") and "sequential, compile per run" in modes
    ref = res["rows"][0]["wall_s"]
    for r in res["rows"]:
        assert r["wall_s"] > 0
        if "vmap" not in r["mode"]:
            assert r["speedup_wall"] == pytest.approx(r["wall_s"] / ref)
    assert 0 <= res["same_codebook"] <= 2 and len(res["per_seed"]["exec_s"]) == 2
