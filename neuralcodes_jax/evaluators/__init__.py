"""Evaluators, found by module name: ``config.eval.evaluator = "x"`` (default: the method's ``evaluator``) is
``neuralcodes_jax/evaluators/x.py``.

An evaluator module has three functions, called by ``train.train_group`` after training:

* ``evaluate(run) -> list[dict]``: one result per run of the group (``run`` is a ``train.GroupRun``: configs,
  workdirs, methods, evaluation parameters ``[P, ...]``, data, mesh, evaluation keys); it writes each run's report
  files into the run's workdir (process 0 only) and returns what it wrote.
* ``summarize(run, results, members, directory) -> dict``: a summary over a set of runs (the seeds of one
  experiment, ``members`` their indices in the group), written into ``directory``.
* ``metrics(result_or_summary) -> dict``: flat scalars for a sweep's ``result.json`` and ``sweep.md``.

To add an evaluator, write ``evaluators/<name>.py`` with these functions; no other file changes.
"""

from __future__ import annotations

import importlib
import pkgutil


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get(name: str):
    """The evaluator module ``name`` (``ValueError`` naming the available ones if there is none)."""
    if not isinstance(name, str) or name not in available():
        raise ValueError(f"eval.evaluator must be one of {available()}, got {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
