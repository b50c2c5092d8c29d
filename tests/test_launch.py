"""Launchers: launch/sweep.py (commands, processes, vmapped end to end), launch/tpu_vm.py and launch/xm_launch.py.

Commands and jobs are compared as exact strings for a small sweep. Point processes are run with a stand-in
interpreter (a script that writes what ``launch.main`` would); the vmapped sweep runs the real loop on a tiny
learned-code config (tests/test_sweeps.py checks groups against single runs).
"""

import importlib.util
import json
import stat
import sys
import textwrap

import pytest

from launch import sweep, tpu_vm, xm_launch
from neuralcodes_jax import sweeps

SWEEP_CONFIG = textwrap.dedent('''
    from experiments.necst import random_bits

    def get_config(arg=None):
        return random_bits.get_config("smoke")

    def get_sweep():
        return [{"seed": s, "channel.eps": e} for s in (0, 1) for e in (0.1, 0.2)]
''')

CODES_CONFIG = textwrap.dedent('''
    from experiments.progressive import hamming_7_4

    def get_config(arg=None):
        c = hamming_7_4.get_config("smoke")
        c.num_seeds = 1
        c.model.encoder_hidden = (8,)
        c.model.decoder_hidden = (8,)
        c.train.stage1_steps = 20
        c.train.stage2_steps = 5
        c.train.batch_size = 16
        c.eval.p_grid = (0.05,)
        return c
''')

FAKE_PYTHON = textwrap.dedent('''\
    #!{python}
    """Stands in for `python -m launch.main ...`: writes eval.json; seed 1 fails."""
    import json, os, sys
    args = dict(a[2:].split("=", 1) for a in sys.argv[3:] if a.startswith("--") and "=" in a)
    print("program", sys.argv[2], "args", sorted(args))
    if args.get("config.seed") == "1":
        sys.exit(3)
    os.makedirs(args["workdir"], exist_ok=True)
    eps = float(args.get("config.channel.eps", "0.1"))
    with open(os.path.join(args["workdir"], "result_metrics.json"), "w") as f:
        json.dump({{f"bce_per_pixel_nats@{{eps:g}}": eps / 2}}, f)
''')


@pytest.fixture()
def sweep_config(tmp_path):
    path = tmp_path / "sweep_cfg.py"
    path.write_text(SWEEP_CONFIG)
    return str(path)


# ------------------------------------------------------------------------------------------- launch/sweep


def test_sweep_dry_run_prints_exact_commands(sweep_config):
    lines = []
    sweeps.run_sweep(
        sweep_config, "/runs/s", settings=["train.num_epochs=3"], only=["seed1"], dry_run=True, log=lines.append
    )
    c = sweep_config
    assert lines == [
        "2 point(s) under /runs/s:",
        f"python -m launch.main --config={c} --workdir=/runs/s/seed1_eps0.1 --config.seed=1 --config.channel.eps=0.1 "
        "--config.train.num_epochs=3",
        f"python -m launch.main --config={c} --workdir=/runs/s/seed1_eps0.2 --config.seed=1 --config.channel.eps=0.2 "
        "--config.train.num_epochs=3",
    ]
    lines.clear()
    sweeps.run_sweep(
        sweep_config,
        "/runs/s",
        grid=["eval.noise_levels=(0.0,0.1)"],
        vmap=True,
        max_group=3,
        dry_run=True,
        log=lines.append,
    )
    assert lines[0] == "4 point(s) in 2 group(s) under /runs/s:"
    assert lines[1] == "group 1 (necst, 3 point(s)):"
    assert lines[2] == (
        f"  seed0_eps0.1: --config={c} --workdir=/runs/s/seed0_eps0.1 --config.seed=0 "
        "--config.channel.eps=0.1 '--config.eval.noise_levels=(0.0,0.1,)'"
    )
    assert lines[5] == "group 2 (necst, 1 point(s)):"


def test_sweep_flag_combinations_are_checked(sweep_config):
    with pytest.raises(ValueError, match="cannot be combined"):
        sweeps.run_sweep(sweep_config, "/w", vmap=True, parallel=2, dry_run=True)
    with pytest.raises(ValueError, match="use --parallel=1"):
        sweeps.run_sweep(sweep_config, "/w", multihost=True, parallel=2, dry_run=True)
    with pytest.raises(ValueError, match="matches no point"):
        sweeps.run_sweep(sweep_config, "/w", only=["nope"], dry_run=True)


def test_sweep_processes_in_parallel_collect_results_and_resume(sweep_config, tmp_path):
    fake = tmp_path / "fake_python"
    fake.write_text(FAKE_PYTHON.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    root = tmp_path / "runs"
    logs = []
    results = sweeps.run_sweep(sweep_config, root, parallel=2, python=str(fake), log=logs.append)
    by_name = {r["name"]: r for r in results}
    assert {n: r["status"] for n, r in by_name.items()} == {
        "seed0_eps0.1": "ok",
        "seed0_eps0.2": "ok",
        "seed1_eps0.1": "failed",
        "seed1_eps0.2": "failed",
    }
    assert by_name["seed0_eps0.2"]["metrics"] == {"bce_per_pixel_nats@0.2": 0.1}
    assert by_name["seed1_eps0.1"]["returncode"] == 3
    assert "program launch.main" in (root / "seed0_eps0.1" / "log.txt").read_text()
    listing = json.loads((root / "sweep.json").read_text())
    assert [p["name"] for p in listing["points"]] == list(by_name)
    assert "| seed1_eps0.2 | failed | process |" in (root / "sweep.md").read_text()
    logs.clear()
    sweeps.run_sweep(sweep_config, root, parallel=2, python=str(fake), log=logs.append)
    assert "[skip] seed0_eps0.1: finished" in logs and not any(line.startswith("[skip] seed1") for line in logs)


@pytest.mark.slow
def test_vmapped_sweep_end_to_end(tmp_path):
    """Two (7,4) points (seeds) as one group through the real loop: every point gets its checkpoints, report and
    result, the sweep its table; a second run skips both."""
    config = tmp_path / "codes.py"
    config.write_text(CODES_CONFIG)
    root = tmp_path / "runs"
    logs = []
    results = sweeps.run_sweep(str(config), root, grid=["seed=0:2"], vmap=True, log=logs.append)
    assert [r["status"] for r in results] == ["ok", "ok"] and [r["mode"] for r in results] == ["group", "group"]
    assert results[1]["metrics"]["minimum_distance"] >= 0 and results[1]["group_size"] == 2
    assert (root / "seed1" / "codebook_report.json").is_file() and (root / "seed1" / "checkpoints").is_dir()
    assert "| seed1 | ok | group |" in (root / "sweep.md").read_text()
    assert any(line.startswith("[group] 2 run(s)") for line in logs)
    logs.clear()
    sweeps.run_sweep(str(config), root, grid=["seed=0:2"], vmap=True, log=logs.append)
    assert logs[:2] == ["[skip] seed0: finished", "[skip] seed1: finished"]


# ------------------------------------------------------------------------------------------ launch/tpu_vm


def test_tpu_vm_commands_exact():
    cmds = tpu_vm.plan_commands(
        ["create", "setup", "run", "sweep", "delete"],
        name="nc",
        zone="us-central2-b",
        project="proj",
        accelerator_type="v4-16",
        spot=True,
        repo="https://example.org/nc.git",
        branch="dev",
        config="experiments/necst/binary_mnist.py",
        workdir="/data/runs/b",
        settings=["channel.eps=0.2"],
        grid=["seed=0:2"],
        sweep_flags="--only=seed0",
    )
    base = ["gcloud", "compute", "tpus", "tpu-vm"]
    assert cmds[0] == base + [
        "create",
        "nc",
        "--zone=us-central2-b",
        "--project=proj",
        "--accelerator-type=v4-16",
        "--version=tpu-ubuntu2204-base",
        "--spot",
    ]
    ssh = base + ["ssh", "nc", "--zone=us-central2-b", "--project=proj", "--worker=all"]
    assert cmds[1] == ssh + [
        "--command=set -e; if [ -d neuralcodes_jax/.git ]; then git -C neuralcodes_jax fetch --quiet origin dev && "
        "git -C neuralcodes_jax checkout --quiet dev && git -C neuralcodes_jax pull --quiet --ff-only origin dev; "
        "else git clone --quiet --branch dev https://example.org/nc.git neuralcodes_jax; fi; "
        "cd neuralcodes_jax && python3 -m pip install --quiet -e . 'jax[tpu]'"
    ]
    assert cmds[2] == ssh + [
        "--command=cd neuralcodes_jax && python3 -m launch.main --config=experiments/necst/binary_mnist.py "
        "--workdir=/data/runs/b --multihost --config.channel.eps=0.2"
    ]
    assert cmds[3] == ssh + [
        "--command=cd neuralcodes_jax && python3 -m launch.sweep --config=experiments/necst/binary_mnist.py "
        "--workdir=/data/runs/b --grid=seed=0:2 --set=channel.eps=0.2 --only=seed0 --multihost --python=python3"
    ]
    assert cmds[4] == base + ["delete", "nc", "--zone=us-central2-b", "--project=proj", "--quiet"]
    bg = tpu_vm.plan_commands(["run"], name="nc", zone="z", config="c.py", workdir="w", run_in_background=True)
    assert bg[0][-1] == (
        "--command=nohup bash -c 'cd neuralcodes_jax && python3 -m launch.main --config=c.py "
        "--workdir=w --multihost' > ~/neuralcodes_run.log 2>&1 &"
    )
    ran = []
    tpu_vm.execute(cmds[:1], log=lambda s: None, runner=lambda argv, check: ran.append((argv, check)))
    assert ran == [(cmds[0], True)]


def test_tpu_vm_bad_input():
    with pytest.raises(ValueError, match="actions entries must be in"):
        tpu_vm.plan_commands(["boot"], name="nc", zone="z")
    with pytest.raises(ValueError, match="repo"):
        tpu_vm.plan_commands(["setup"], name="nc", zone="z")
    with pytest.raises(ValueError, match="zone is required"):
        tpu_vm.plan_commands(["create"], name="nc", zone="")
    with pytest.raises(ValueError, match="config and workdir are required for run"):
        tpu_vm.plan_commands(["run"], name="nc", zone="z", workdir="w")


# --------------------------------------------------------------------------------------- launch/xm_launch


def test_xm_jobs_exact(sweep_config):
    points = sweeps.make_points(sweep_config, sweeps.sweep_entries(sweep_config))[:2]
    specs = xm_launch.job_specs(points, "gs://b/s", xm_launch.resources("A100", 2, cpu=8, ram_gib=32))
    assert specs[1].args == {
        "config": sweep_config,
        "workdir": "gs://b/s/seed0_eps0.2",
        "config.seed": "0",
        "config.channel.eps": "0.2",
    }
    lines = xm_launch.describe(specs, "vertex", "python:3.11", "t", pip_extra=["jax[cuda12]"], directory="repo")
    assert lines == [
        "experiment 't': 2 work unit(s), executor vertex",
        "executable launch.main: PythonContainer(path=., entrypoint=ModuleName('launch.main'), "
        "base_image='python:3.11')",
        "  docker: ENV LANG=C.UTF-8",
        "  docker: RUN python -m pip install --upgrade pip setuptools",
        "  docker: COPY repo/ /repo",
        "  docker: WORKDIR /repo",
        "  docker: RUN python -m pip install -e . 'jax[cuda12]'",
        "work unit 1/2 seed0_eps0.1:",
        "  executable: python -m launch.main",
        f"  args: --config={sweep_config} --workdir=gs://b/s/seed0_eps0.1 --config.seed=0 --config.channel.eps=0.1",
        "  resources: a100=2, cpu=8, ram=32GiB",
        "work unit 2/2 seed0_eps0.2:",
        "  executable: python -m launch.main",
        f"  args: --config={sweep_config} --workdir=gs://b/s/seed0_eps0.2 --config.seed=0 --config.channel.eps=0.2",
        "  resources: a100=2, cpu=8, ram=32GiB",
    ]
    with pytest.raises(ValueError, match="cpu must be > 0"):
        xm_launch.resources(cpu=0)
    if importlib.util.find_spec("xmanager") is None:
        with pytest.raises(ImportError, match="pip install xmanager"):
            xm_launch.submit(specs)


def test_launchers_define_flags_only_as_programs():
    """Importing the launchers beside each other (as pytest does) defines none of their absl flags."""
    from absl import flags

    for name in ("parallel", "max_group", "grid", "actions", "accelerator_type", "executor", "pip_extra"):
        assert name not in flags.FLAGS, name
    assert all(callable(m.define_flags) for m in (sweep, tpu_vm, xm_launch))
