"""XManager launcher: a sweep's points as a batch of jobs, one work unit per point.

    python -m launch.xm_launch --config=experiments/iabf/table1.py --workdir=gs://BUCKET/table1 \\
        --executor=vertex --accelerator=A100 --accelerator_count=1 [--only=binary_mnist] [--set=...] [--grid=...]
    python -m launch.xm_launch --config=experiments/necst/mnist.py:embedded --workdir=workdirs/xm \\
        --grid=seed=0:4 --executor=local --dry_run

The points are those of ``launch/sweep.py`` (the package ``neuralcodes_jax/sweeps``: the config's ``get_sweep()`` or a
``--grid``, ``--set`` for every point, ``--only`` name prefixes). Each point becomes an ``xm.Job`` whose
executable is this repository packaged as an ``xm.PythonContainer`` with the point's program as entrypoint
(``launch.main``, or ``launch.progressive`` for learned-code configs) and whose args are the point's flags
(``--config=... --workdir=WORKDIR/<name> --config.x=y``); ``experiment.add`` makes one work unit per job.
Resources: ``--accelerator`` (an XManager resource name such as ``A100``, ``V100``, ``T4``, ``TPU_V3``) with
``--accelerator_count``, and ``--cpu`` / ``--ram_gib``.

XManager (PyPI ``xmanager``) is imported only to submit: ``--dry_run`` prints the jobs (executable, args,
resources) without it.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Callable, Sequence
from typing import Any

from absl import app, flags

from neuralcodes_jax import config_utils, sweeps

FLAGS = flags.FLAGS

EXECUTORS = ("local", "vertex")
DEFAULT_BASE_IMAGE = "python:3.11"


def define_flags() -> None:
    """Flags, defined only when run as a program (absl flags are global; tests import this module)."""
    flags.DEFINE_string("config", None, "Config file of the sweep (file.py[:variant]).")
    flags.DEFINE_string("workdir", None, "Root directory of the sweep as the jobs see it (e.g. gs://bucket/dir).")
    flags.DEFINE_multi_string("grid", [], "field=v1,v2,... or field=start:stop[:step] (product grid).")
    flags.DEFINE_multi_string("set", [], "field=value for every point.")
    flags.DEFINE_list("only", None, "Only the points whose names start with one of these prefixes.")
    flags.DEFINE_enum("executor", "local", list(EXECUTORS), "XManager executor.")
    flags.DEFINE_string("accelerator", None, "Accelerator resource, e.g. A100, V100, T4, TPU_V3 (none: CPU).")
    flags.DEFINE_integer("accelerator_count", 1, "Number of accelerators per job.")
    flags.DEFINE_float("cpu", None, "vCPUs per job.")
    flags.DEFINE_float("ram_gib", None, "RAM per job in GiB.")
    flags.DEFINE_string("base_image", DEFAULT_BASE_IMAGE, "Base Docker image of the packaged container.")
    flags.DEFINE_list("pip_extra", [], "More pip requirements of the image, e.g. 'jax[cuda12]' for GPUs.")
    flags.DEFINE_string("experiment_title", None, "Experiment title (default: the config and workdir).")
    flags.DEFINE_bool("dry_run", False, "Print the jobs and exit (does not need xmanager).")


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """One work unit: the point, its program (entrypoint module), its args and its resources."""

    name: str
    program: str
    args: dict[str, str]
    resources: dict[str, float]

    def argv(self) -> list[str]:
        return [f"--{k}={v}" for k, v in self.args.items()]

    def describe(self) -> list[str]:
        res = ", ".join(f"{k}={_fmt_resource(k, v)}" for k, v in self.resources.items()) or "default"
        return [f"  executable: python -m {self.program}", f"  args: {shlex.join(self.argv())}", f"  resources: {res}"]


def _fmt_resource(key: str, value: float) -> str:
    text = f"{value:g}"
    return text + "GiB" if key == "ram" else text


def resources(
    accelerator: str | None = None, accelerator_count: int = 1, cpu: float | None = None, ram_gib: float | None = None
) -> dict[str, float]:
    """Job resources as XManager names: ``{'a100': 1, 'cpu': 4, 'ram': 16}`` (ram in GiB)."""
    out: dict[str, float] = {}
    if accelerator:
        if accelerator_count < 1:
            raise ValueError(f"accelerator_count must be >= 1, got {accelerator_count}")
        out[accelerator.lower()] = accelerator_count
    if cpu is not None:
        if cpu <= 0:
            raise ValueError(f"cpu must be > 0, got {cpu}")
        out["cpu"] = cpu
    if ram_gib is not None:
        if ram_gib <= 0:
            raise ValueError(f"ram_gib must be > 0, got {ram_gib}")
        out["ram"] = ram_gib
    return out


def job_specs(points: Sequence[sweeps.Point], workdir: str, job_resources: dict[str, float]) -> list[JobSpec]:
    """One job per point: args ``config``, ``workdir`` and ``config.<field>`` from the point's overrides."""
    specs = []
    for p in points:
        args = {"config": p.config, "workdir": p.workdir(workdir)}
        args.update({f"config.{k}": config_utils.cli_value(v) for k, v in p.overrides})
        specs.append(JobSpec(name=p.name, program=p.program, args=args, resources=dict(job_resources)))
    return specs


def docker_instructions(directory: str, pip_extra: Sequence[str] = ()) -> list[str]:
    """Image steps: copy the repository (the build context is the parent of ``directory``), install it."""
    extra = " " + " ".join(shlex.quote(e) for e in pip_extra) if pip_extra else ""
    return [
        "ENV LANG=C.UTF-8",
        "RUN python -m pip install --upgrade pip setuptools",
        f"COPY {directory}/ /{directory}",
        f"WORKDIR /{directory}",
        f"RUN python -m pip install -e .{extra}",
    ]


def describe(
    specs: Sequence[JobSpec],
    executor: str,
    base_image: str,
    title: str,
    pip_extra: Sequence[str] = (),
    directory: str = "neuralcodes_jax",
) -> list[str]:
    """The dry run's lines: the experiment, one executable per program, then every work unit."""
    lines = [f"experiment {title!r}: {len(specs)} work unit(s), executor {executor}"]
    for program in sorted({s.program for s in specs}):
        lines.append(
            f"executable {program}: PythonContainer(path=., entrypoint=ModuleName({program!r}), "
            f"base_image={base_image!r})"
        )
    lines += ["  docker: " + step for step in docker_instructions(directory, pip_extra)]
    for i, s in enumerate(specs):
        lines.append(f"work unit {i + 1}/{len(specs)} {s.name}:")
        lines += s.describe()
    return lines


def submit(
    specs: Sequence[JobSpec],
    *,
    executor: str = "local",
    base_image: str = DEFAULT_BASE_IMAGE,
    title: str = "neuralcodes sweep",
    path: str | None = None,
    pip_extra: Sequence[str] = (),
    log: Callable[[str], None] = print,
) -> Any:
    """Packages the repository and adds one work unit per job spec (imports xmanager here)."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {list(EXECUTORS)}, got {executor!r}")
    try:
        from xmanager import xm, xm_local
    except ImportError as err:
        raise ImportError(
            "launch.xm_launch needs XManager to submit jobs: pip install xmanager (--dry_run works without it)"
        ) from err
    path = path or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    executor_cls = xm_local.Vertex if executor == "vertex" else xm_local.Local
    with xm_local.create_experiment(experiment_title=title) as experiment:
        executables = {}
        for program in sorted({s.program for s in specs}):
            spec = xm.PythonContainer(
                path=path,
                base_image=base_image,
                entrypoint=xm.ModuleName(program),
                docker_instructions=docker_instructions(os.path.basename(os.path.normpath(path)), pip_extra),
            )
            [executables[program]] = experiment.package(
                [xm.Packageable(executable_spec=spec, executor_spec=executor_cls.Spec())]
            )
        for s in specs:
            if executor == "vertex":
                req = {k: (v * xm.GiB if k == "ram" else v) for k, v in s.resources.items()}
                job_executor = executor_cls(requirements=xm.JobRequirements(**req))
            else:
                job_executor = executor_cls()
            experiment.add(xm.Job(executable=executables[s.program], executor=job_executor, args=dict(s.args)))
            log(f"[added] {s.name}")
        return experiment


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if FLAGS.config is None or FLAGS.workdir is None:
        raise app.UsageError("--config and --workdir are required")
    entries = sweeps.sweep_entries(FLAGS.config, [sweeps.parse_grid(g) for g in FLAGS.grid])
    points = sweeps.make_points(FLAGS.config, entries, dict(config_utils.parse_setting(s) for s in FLAGS.set))
    if FLAGS.only:
        points = [p for p in points if any(p.name.startswith(x) for x in FLAGS.only)]
        if not points:
            raise app.UsageError(f"--only={','.join(FLAGS.only)} matches no point of the sweep")
    specs = job_specs(
        points, FLAGS.workdir, resources(FLAGS.accelerator, FLAGS.accelerator_count, FLAGS.cpu, FLAGS.ram_gib)
    )
    title = FLAGS.experiment_title or f"neuralcodes {FLAGS.config} -> {FLAGS.workdir}"
    if FLAGS.dry_run:
        directory = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        for line in describe(specs, FLAGS.executor, FLAGS.base_image, title, FLAGS.pip_extra, directory):
            print(line)
        return
    submit(specs, executor=FLAGS.executor, base_image=FLAGS.base_image, title=title, pip_extra=FLAGS.pip_extra)


if __name__ == "__main__":
    define_flags()
    app.run(main)
