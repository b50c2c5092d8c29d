"""Cloud TPU VMs: create one, set up every worker, start a run or a sweep on all workers, delete it.

    python -m launch.tpu_vm --name=nc --zone=us-central2-b --accelerator_type=v4-8 --actions=create,setup \\
        --repo=https://github.com/OWNER/neuralcodes_jax.git
    python -m launch.tpu_vm --name=nc --zone=us-central2-b --actions=run \\
        --config=experiments/necst/binary_mnist.py --workdir=/home/$USER/runs/bmnist --set=channel.eps=0.2
    python -m launch.tpu_vm --name=nc --zone=us-central2-b --actions=sweep \\
        --config=experiments/iabf/table1.py --workdir=/home/$USER/runs/table1 --sweep_flags=--only=binary_mnist
    python -m launch.tpu_vm --name=nc --zone=us-central2-b --actions=delete
    ... --dry_run    # print the exact gcloud commands and exit

Actions (``--actions``, run in the order given):

* ``create``: ``gcloud compute tpus tpu-vm create NAME --zone=Z --accelerator-type=T --version=V [--spot]``;
* ``setup``: on every worker, clone the repository (or update an existing clone) and ``pip install -e .`` with
  ``jax[tpu]``;
* ``run``: on every worker, ``python3 -m launch.main --config=... --workdir=... --multihost --config.x=y``: one
  training run over all chips of all hosts (``--multihost`` makes ``launch.main`` call
  ``jax.distributed.initialize()``, which finds the other hosts of a TPU VM by itself);
* ``sweep``: on every worker, ``python3 -m launch.sweep ... --multihost``: the sweep's points one after another,
  each over all hosts (``--sweep_flags`` passes more ``launch.sweep`` flags, e.g. ``--only=...``);
* ``delete``: ``gcloud compute tpus tpu-vm delete NAME --zone=Z --quiet``.

Remote commands go through ``gcloud compute tpus tpu-vm ssh NAME --zone=Z --worker=all --command=...``;
``--background`` starts them under ``nohup`` with the output in ``~/neuralcodes_<action>.log`` on each worker.
The workdir must be a path every worker sees (a mounted bucket or a shared disk), as ``launch.main --multihost``
requires; in a sweep every worker's ``launch.sweep`` writes the same small ``result.json`` / ``sweep.md`` files.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Sequence

from absl import app, flags

from neuralcodes_jax import config_utils, sweeps

FLAGS = flags.FLAGS

ACTIONS = ("create", "setup", "run", "sweep", "delete")
DEFAULT_VERSION = "tpu-ubuntu2204-base"
DEFAULT_DIRECTORY = "neuralcodes_jax"
JAX_TPU = "jax[tpu]"


def define_flags() -> None:
    """Flags, defined only when run as a program (absl flags are global; tests import this module)."""
    flags.DEFINE_string("name", None, "TPU VM name.")
    flags.DEFINE_string("zone", None, "Zone, e.g. us-central2-b.")
    flags.DEFINE_string("project", None, "Google Cloud project (default: gcloud's).")
    flags.DEFINE_list("actions", None, f"Actions in order, from {list(ACTIONS)}.")
    flags.DEFINE_string("accelerator_type", "v4-8", "create: accelerator type (v4-8, v5litepod-16, ...).")
    flags.DEFINE_string("version", DEFAULT_VERSION, "create: TPU software version.")
    flags.DEFINE_bool("spot", False, "create: a Spot VM (preemptible).")
    flags.DEFINE_string("repo", None, "setup: git URL of the repository.")
    flags.DEFINE_string("branch", "main", "setup: branch to check out.")
    flags.DEFINE_string("directory", DEFAULT_DIRECTORY, "Checkout directory on the workers (relative to home).")
    flags.DEFINE_string("config", None, "run/sweep: config file (file.py[:variant]), relative to the checkout.")
    flags.DEFINE_string("workdir", None, "run/sweep: workdir on the workers.")
    flags.DEFINE_multi_string("set", [], "run/sweep: field=value overrides.")
    flags.DEFINE_multi_string("grid", [], "sweep: field=values grid axes (as launch.sweep).")
    flags.DEFINE_string("sweep_flags", "", "sweep: further launch.sweep flags, e.g. '--only=binary_mnist'.")
    flags.DEFINE_bool("background", False, "run/sweep: start under nohup, output in ~/neuralcodes_<action>.log.")
    flags.DEFINE_bool("dry_run", False, "Print the commands and exit.")


# ----------------------------------------------------------------------------------------------------------------
# Commands (pure: lists of argv words and remote shell scripts).


def _gcloud(verb: str, name: str, zone: str, project: str | None) -> list[str]:
    if not name:
        raise ValueError("name (the TPU VM name) is required")
    if not zone:
        raise ValueError("zone is required, e.g. us-central2-b")
    cmd = ["gcloud", "compute", "tpus", "tpu-vm", verb, name, f"--zone={zone}"]
    if project:
        cmd.append(f"--project={project}")
    return cmd


def create_command(
    name: str,
    zone: str,
    accelerator_type: str = "v4-8",
    version: str = DEFAULT_VERSION,
    project: str | None = None,
    spot: bool = False,
) -> list[str]:
    """``gcloud compute tpus tpu-vm create``."""
    cmd = _gcloud("create", name, zone, project) + [f"--accelerator-type={accelerator_type}", f"--version={version}"]
    if spot:
        cmd.append("--spot")
    return cmd


def delete_command(name: str, zone: str, project: str | None = None) -> list[str]:
    """``gcloud compute tpus tpu-vm delete`` (no prompt)."""
    return _gcloud("delete", name, zone, project) + ["--quiet"]


def ssh_command(name: str, zone: str, remote: str, project: str | None = None, worker: str = "all") -> list[str]:
    """``gcloud compute tpus tpu-vm ssh NAME --zone=Z --worker=all --command=REMOTE``."""
    return _gcloud("ssh", name, zone, project) + [f"--worker={worker}", f"--command={remote}"]


def setup_script(repo: str, branch: str = "main", directory: str = DEFAULT_DIRECTORY) -> str:
    """Clone (or fast-forward an existing clone of) the repository and install it with JAX for TPU."""
    if not repo:
        raise ValueError("repo (the git URL of the repository) is required for setup")
    d, b = shlex.quote(directory), shlex.quote(branch)
    return (
        f"set -e; if [ -d {d}/.git ]; then git -C {d} fetch --quiet origin {b} && "
        f"git -C {d} checkout --quiet {b} && git -C {d} pull --quiet --ff-only origin {b}; "
        f"else git clone --quiet --branch {b} {shlex.quote(repo)} {d}; fi; "
        f"cd {d} && python3 -m pip install --quiet -e . {shlex.quote(JAX_TPU)}"
    )


def _settings_args(settings: Sequence[str]) -> list[str]:
    return [f"--config.{k}={config_utils.cli_value(v)}" for k, v in (config_utils.parse_setting(s) for s in settings)]


def _require(config: str | None, workdir: str | None, action: str) -> None:
    if not config or not workdir:
        raise ValueError(f"config and workdir are required for {action}")
    sweeps.split_config_ref(config)


def run_script(config: str, workdir: str, settings: Sequence[str] = (), directory: str = DEFAULT_DIRECTORY) -> str:
    """One training run over every host: ``launch.main ... --multihost``."""
    _require(config, workdir, "run")
    argv = [
        "python3",
        "-m",
        "launch.main",
        f"--config={config}",
        f"--workdir={workdir}",
        "--multihost",
        *_settings_args(settings),
    ]
    return f"cd {shlex.quote(directory)} && {shlex.join(argv)}"


def sweep_script(
    config: str,
    workdir: str,
    grid: Sequence[str] = (),
    settings: Sequence[str] = (),
    sweep_flags: str = "",
    directory: str = DEFAULT_DIRECTORY,
) -> str:
    """A sweep, one point at a time over every host: ``launch.sweep ... --multihost``."""
    _require(config, workdir, "sweep")
    argv = [
        "python3",
        "-m",
        "launch.sweep",
        f"--config={config}",
        f"--workdir={workdir}",
        *[f"--grid={g}" for g in grid],
        *[f"--set={s}" for s in settings],
        *shlex.split(sweep_flags),
        "--multihost",
        "--python=python3",
    ]
    return f"cd {shlex.quote(directory)} && {shlex.join(argv)}"


def background(script: str, action: str) -> str:
    """``script`` under nohup on the worker, output in ``~/neuralcodes_<action>.log``."""
    return f"nohup bash -c {shlex.quote(script)} > ~/neuralcodes_{action}.log 2>&1 &"


def plan_commands(
    actions: Sequence[str],
    *,
    name: str,
    zone: str,
    project: str | None = None,
    accelerator_type: str = "v4-8",
    version: str = DEFAULT_VERSION,
    spot: bool = False,
    repo: str | None = None,
    branch: str = "main",
    directory: str = DEFAULT_DIRECTORY,
    config: str | None = None,
    workdir: str | None = None,
    settings: Sequence[str] = (),
    grid: Sequence[str] = (),
    sweep_flags: str = "",
    run_in_background: bool = False,
) -> list[list[str]]:
    """The gcloud commands of ``actions``, in order (validated before anything runs)."""
    if not actions:
        raise ValueError(f"actions must name at least one of {list(ACTIONS)}")
    out = []
    for action in actions:
        if action not in ACTIONS:
            raise ValueError(f"actions entries must be in {list(ACTIONS)}, got {action!r}")
        if action == "create":
            out.append(create_command(name, zone, accelerator_type, version, project, spot))
        elif action == "delete":
            out.append(delete_command(name, zone, project))
        else:
            if action == "setup":
                script = setup_script(repo, branch, directory)
            elif action == "run":
                script = run_script(config, workdir, settings, directory)
            else:
                script = sweep_script(config, workdir, grid, settings, sweep_flags, directory)
            if run_in_background and action in ("run", "sweep"):
                script = background(script, action)
            out.append(ssh_command(name, zone, script, project))
    return out


def execute(
    commands: Sequence[Sequence[str]],
    log: Callable[[str], None] = print,
    runner: Callable[..., subprocess.CompletedProcess] = subprocess.run,
) -> None:
    """Runs the commands in order; stops at the first failure (CalledProcessError)."""
    for cmd in commands:
        log("$ " + shlex.join(cmd))
        runner(list(cmd), check=True)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    commands = plan_commands(
        FLAGS.actions or [],
        name=FLAGS.name,
        zone=FLAGS.zone,
        project=FLAGS.project,
        accelerator_type=FLAGS.accelerator_type,
        version=FLAGS.version,
        spot=FLAGS.spot,
        repo=FLAGS.repo,
        branch=FLAGS.branch,
        directory=FLAGS.directory,
        config=FLAGS.config,
        workdir=FLAGS.workdir,
        settings=FLAGS.set,
        grid=FLAGS.grid,
        sweep_flags=FLAGS.sweep_flags,
        run_in_background=FLAGS.background,
    )
    if FLAGS.dry_run:
        for cmd in commands:
            print(shlex.join(cmd))
        return
    execute(commands)


if __name__ == "__main__":
    define_flags()
    app.run(main)
