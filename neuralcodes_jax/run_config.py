"""What a run reads from its config, typed, and the check that every field of the config is read.

A run's readers are: the run's own fields (:class:`specs.RunFields`), the training loop (:class:`specs.Loop`, or
:class:`specs.DataLoop` for a method with a dataset), the data layer (:class:`specs.DataFields` plus the options of
the dataset's loaders), the method (its ``CONFIG``) and the evaluator (its module's ``CONFIG``). :func:`parse`
builds each from the config and refuses any config field that none of them reads, naming the closest fields
that exist: a field a method forgets to read cannot be silently ignored.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from neuralcodes_jax import evaluators, methods, specs
from neuralcodes_jax.data import sources as data_core


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything a run reads, typed: ``run``, ``loop``, ``data`` (``None`` for methods without a dataset),
    ``method`` (the method's ``CONFIG``), ``evaluator`` (the evaluator's name) and ``eval`` (its ``CONFIG``)."""

    run: specs.RunFields
    loop: Any
    data: specs.DataFields | None
    method: Any
    evaluator: str
    eval: Any


def loop_class(method_cls: type) -> type:
    """The loop's spec for a method class: epochs over a dataset with validation, or step stages only."""
    return specs.DataLoop if method_cls.uses_data else specs.Loop


def data_options(name: str) -> set[str]:
    """The options of dataset ``name``'s loaders, over all its sources (``ValueError`` for an unknown dataset)."""
    canonical = data_core.canonical_name(name)
    out: set[str] = set()
    for source in data_core.list_datasets()[canonical]:
        out |= set(data_core.loader_options(data_core.get_loader(canonical, source)))
    return out


def _data_fields_read(data: specs.DataFields) -> set[str]:
    return {f"data.{n}" for n in specs.consumed(specs.DataFields) | data_options(data.name)}


def parse(config: Any) -> RunSpec:
    """The typed :class:`RunSpec` of ``config``; ``ValueError`` for a bad value (naming the field) or for a field
    that no part of the run reads (naming it and the closest fields that exist)."""
    run = specs.parse(specs.RunFields, config)
    method_cls = methods.method_class(run.method)
    loop_cls = loop_class(method_cls)
    loop = specs.parse(loop_cls, config)
    evaluator = loop.eval.evaluator or method_cls.evaluator
    eval_cls = evaluators.get(evaluator).CONFIG
    method = specs.parse(method_cls.CONFIG, config)
    evaluation = specs.parse(eval_cls, config)
    read = (
        specs.consumed(specs.RunFields)
        | specs.consumed(loop_cls)
        | specs.consumed(method_cls.CONFIG)
        | specs.consumed(eval_cls)
    )
    data = None
    if method_cls.uses_data:
        if "data" not in config or config.data is None:
            raise ValueError(f"method {run.method!r} trains on a dataset: the config needs a 'data' section")
        data = specs.parse(specs.DataFields, config.data, "data.")
        read |= _data_fields_read(data)
    specs.check_consumed(
        config,
        read,
        f"method {run.method!r}, evaluator {evaluator!r}, the training loop"
        + (", the data layer" if data is not None else ""),
    )
    return RunSpec(run=run, loop=loop, data=data, method=method, evaluator=evaluator, eval=evaluation)


def default_config(method: str, evaluator: str | None = None):
    """The ``ConfigDict`` of every default a run of ``method`` reads (fields without a default are left out for the
    experiment config to set): the run's fields, the loop's, the data layer's (methods with a dataset), the
    method's and its evaluator's."""
    method_cls = methods.method_class(method)
    classes = [
        specs.RunFields,
        loop_class(method_cls),
        method_cls.CONFIG,
        evaluators.get(evaluator or method_cls.evaluator).CONFIG,
    ]
    c = specs.default_config(*classes)
    if method_cls.uses_data:
        c.data = specs.default_config(specs.DataFields)
    c.method = method
    if evaluator:
        c.eval.evaluator = evaluator
    return c
