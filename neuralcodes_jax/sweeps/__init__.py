"""Sweeps: the points of a config's ``get_sweep()`` or a grid (``points``), their results in one ``result.json``
schema (``results``), and the orchestrator that runs them as processes or vmapped groups (``run``).
``launch/sweep.py`` is its command line; the paper tables (``experiments/reproduce.py``) run through it too, and
``launch/tpu_vm.py`` and ``launch/xm_launch.py`` turn the same points into cloud jobs.

This package sits above ``train`` (``run`` trains the groups); ``points`` and ``results`` import no JAX.
"""

from neuralcodes_jax.sweeps.points import (
    BUDGET_FIELDS,
    NOT_IDENTITY,
    PROGRAM,
    REPO_ROOT,
    RESERVED_KEYS,
    Point,
    expand_grid,
    load_config,
    load_config_module,
    make_points,
    parse_grid,
    point_names,
    resolve_config_path,
    seed_members,
    split_config_ref,
    sweep_entries,
)
from neuralcodes_jax.sweeps.results import (
    POINT_FILE,
    RESULT_FILE,
    claim,
    collect_process_result,
    is_done,
    read_result,
    summary_markdown,
    write_result,
)
from neuralcodes_jax.sweeps.run import (
    PREEMPTED_EXIT_CODE,
    describe,
    group_points,
    plan,
    run_groups,
    run_processes,
    run_sweep,
    unfinished,
    write_summary,
)

__all__ = [
    "BUDGET_FIELDS",
    "NOT_IDENTITY",
    "PROGRAM",
    "REPO_ROOT",
    "RESERVED_KEYS",
    "Point",
    "expand_grid",
    "load_config",
    "load_config_module",
    "make_points",
    "parse_grid",
    "point_names",
    "resolve_config_path",
    "seed_members",
    "split_config_ref",
    "sweep_entries",
    "POINT_FILE",
    "RESULT_FILE",
    "claim",
    "collect_process_result",
    "is_done",
    "read_result",
    "summary_markdown",
    "write_result",
    "PREEMPTED_EXIT_CODE",
    "describe",
    "group_points",
    "plan",
    "run_groups",
    "run_processes",
    "run_sweep",
    "unfinished",
    "write_summary",
]
