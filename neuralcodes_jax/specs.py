"""Typed config specs: a config section becomes the keyword arguments of a frozen dataclass.

Every part of a run that reads the config (the run itself, the training loop, the data layer, the method, its
evaluator) declares what it reads as a *spec*: a frozen dataclass whose fields are config fields, with their one
default and their checks (``__post_init__``, errors name the dotted field). A field whose type is another such
dataclass is a sub-section (``train``, ``data.limit``). Nothing reads a config with ``get(name, default)``.

* :func:`parse` builds a spec from a config (a ``ConfigDict`` or a mapping): missing fields take the spec's
  default, a field without a default is required.
* :func:`default_config` builds the ``ConfigDict`` of one or more specs' defaults (where experiment configs start).
* :func:`consumed` lists the dotted fields a spec reads; :func:`check_consumed` refuses a config field that no
  part of the run reads, naming the closest fields that exist (``train.restart`` -> ``train.restarts``).

Several parts may read one section (the loop and a method both read ``train``): each declares its own fields,
and two declarations of one field must agree on the default (:func:`default_config` checks).

This module imports neither JAX nor the rest of the package: sweeps and config files use it freely.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import ml_collections
from ml_collections.config_dict import placeholder

from neuralcodes_jax import config_utils

#: Annotation of a field whose value is a free-form mapping (read whole; e.g. keyword arguments of a network).
FreeMapping = dict


def is_spec(tp: Any) -> bool:
    """Whether ``tp`` is a spec class (a dataclass type)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def _base_type(tp: Any) -> tuple[Any, bool]:
    """``(type, optional)`` of an annotation: ``int | None`` -> ``(int, True)``."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else Any), True
    return tp, False


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _plain(value: Any) -> Any:
    """A config value as plain Python: ConfigDicts -> dicts, lists -> tuples (recursively)."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


def _keys(node: Any) -> list[str]:
    if node is None:
        return []
    if hasattr(node, "keys"):
        return list(node.keys())
    raise ValueError(f"expected a config section, got {node!r}")


def parse(cls: type, node: Any, path: str = "") -> Any:
    """The spec ``cls`` built from the config section ``node`` (``None``: every default).

    Fields ``node`` does not hold take their defaults; fields of ``node`` that ``cls`` does not declare are left to
    :func:`check_consumed` (another part of the run may read them). ``path`` is the section's dotted prefix, for
    error messages.
    """
    hints = _hints(cls)
    keys = set(_keys(node))
    kwargs = {}
    for f in _fields(cls):
        name = f"{path}{f.name}"
        tp, _ = _base_type(hints[f.name])
        if f.name in keys:
            value = node[f.name]
            if is_spec(tp):
                value = parse(tp, value, name + ".")
            else:
                value = _plain(value)
            kwargs[f.name] = value
        elif is_spec(tp) and _default(f) is dataclasses.MISSING:
            kwargs[f.name] = parse(tp, None, name + ".")
        elif _default(f) is dataclasses.MISSING:
            raise ValueError(f"config field {name!r} is required")
    return cls(**kwargs)


def consumed(cls: type, prefix: str = "") -> set[str]:
    """Dotted names of the fields spec ``cls`` reads (a free-form mapping field covers everything below it)."""
    out = set()
    for f in _fields(cls):
        tp, _ = _base_type(_hints(cls)[f.name])
        if is_spec(tp):
            out |= consumed(tp, f"{prefix}{f.name}.")
        else:
            out.add(f"{prefix}{f.name}")
    return out


def _is_consumed(field: str, names: set[str]) -> bool:
    parts = field.split(".")
    return any(".".join(parts[:i]) in names for i in range(1, len(parts) + 1))


def check_consumed(config: Any, names: Iterable[str], readers: str) -> None:
    """Refuses every field of ``config`` not in ``names`` (or below one of them): no part of the run reads it.

    ``readers`` says which parts were asked (for the message).
    """
    names = set(names)
    unread = sorted(k for k in config_utils.flatten(config) if not _is_consumed(k, names))
    if unread:
        lines = []
        for key in unread:
            close = difflib.get_close_matches(key, sorted(names), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            lines.append(f"{key}{hint}")
        raise ValueError(
            f"config field(s) that no part of this run reads ({readers}): "
            + "; ".join(lines)
            + ". Remove them or fix their names."
        )


def _config_value(tp: Any, value: Any) -> Any:
    base, _optional = _base_type(tp)
    if value is None:
        if base in (int, float, str, bool):
            return placeholder(base)
        if typing.get_origin(base) is tuple or base is tuple:
            return placeholder(tuple)
        return None
    return value


def _section_config(cls: type) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    hints = _hints(cls)
    for f in _fields(cls):
        tp, _ = _base_type(hints[f.name])
        if is_spec(tp):
            c[f.name] = _section_config(tp)
            continue
        default = _default(f)
        if default is dataclasses.MISSING:
            continue  # required: the experiment config sets it
        if tp is FreeMapping or typing.get_origin(tp) is dict:
            c[f.name] = ml_collections.ConfigDict(dict(default))
        else:
            c[f.name] = _config_value(hints[f.name], default)
    return c


def _merge(into: ml_collections.ConfigDict, other: ml_collections.ConfigDict, path: str) -> None:
    for key in other:
        value = other[key]
        if key not in into:
            into[key] = value
        elif isinstance(value, ml_collections.ConfigDict) and isinstance(into[key], ml_collections.ConfigDict):
            _merge(into[key], value, f"{path}{key}.")
        elif _plain(into[key]) != _plain(value):
            raise ValueError(
                f"two specs give config field {path}{key!r} different defaults: {_plain(into[key])!r} "
                f"and {_plain(value)!r}"
            )


def default_config(*classes: type) -> ml_collections.ConfigDict:
    """The ``ConfigDict`` holding the defaults of every spec in ``classes`` (fields without a default are left out:
    the experiment config must set them). Two specs declaring one field must agree on its default. A new copy on
    every call (specs are frozen classes: their defaults are built once per process)."""
    return copy.deepcopy(_default_config(classes))


@functools.lru_cache(maxsize=256)
def _default_config(classes: tuple[type, ...]) -> ml_collections.ConfigDict:
    out = ml_collections.ConfigDict()
    for cls in classes:
        _merge(out, _section_config(cls), "")
    return out


def as_dict(spec: Any) -> dict[str, Any]:
    """A spec as nested plain dicts (for JSON reports)."""
    return dataclasses.asdict(spec)


# ----------------------------------------------------------------------------------------------------------------
# What every run reads: the run's own fields, the data section and the training loop's fields.


@dataclasses.dataclass(frozen=True)
class RunFields:
    """Top-level fields of every run: ``method`` (``neuralcodes_jax/methods/<method>.py``), ``name`` (for reports;
    empty: the method's name), ``seed`` (every random stream of the run derives from it) and ``num_seeds``
    (``launch.main`` trains seeds ``seed .. seed + num_seeds - 1`` as one group)."""

    method: str
    name: str = ""
    seed: int = 0
    num_seeds: int = 1

    def __post_init__(self):
        if not isinstance(self.method, str) or not self.method:
            raise ValueError(f"method must be a method name, got {self.method!r}")
        config_utils.check_int("seed", self.seed, 0)
        config_utils.check_int("num_seeds", self.num_seeds, 1)


@dataclasses.dataclass(frozen=True)
class CodeFields:
    """``code``: length and dimension of a learned code (required; the methods check their ranges)."""

    n: int
    k: int


@dataclasses.dataclass(frozen=True)
class DataLimit:
    """``data.limit``: examples kept per split (a prefix; ``None`` = all), for smoke runs."""

    train: int | None = None
    valid: int | None = None
    test: int | None = None

    def __post_init__(self):
        for split in ("train", "valid", "test"):
            value = getattr(self, split)
            if value is not None:
                config_utils.check_int(f"data.limit.{split}", value, 1)


#: Data fields read by the data layer itself; any other ``data`` field is an option of the dataset's loader.
DATA_COMMON_FIELDS = ("name", "source", "data_dir", "seed", "binarize", "limit")


@dataclasses.dataclass(frozen=True)
class DataFields:
    """``data``: the dataset (``neuralcodes_jax.data.load_splits``). Other fields of the section are the dataset's
    own options (its loader's keyword arguments, e.g. ``split_scheme``); an option set to ``None`` means the
    dataset's default and is dropped."""

    name: str = "random_bits"
    source: str = "auto"  # 'auto' | 'synthetic' | 'embedded' | 'local' | 'tfds'
    data_dir: str | None = None  # local files or TFDS data_dir; None = the default
    seed: int = 0  # split / synthetic-data seed (the reference used 1234)
    binarize: str = "none"  # 'none' | 'threshold' | 'stochastic'
    split_scheme: str | None = None  # an option of several datasets (mnist, omniglot, svhn); None = default
    limit: DataLimit = DataLimit()


@dataclasses.dataclass(frozen=True)
class LoopTrain:
    """``train`` fields the training loop reads for every method."""

    steps_per_call: int = 100  # training steps per host call (lax.scan)
    num_devices: int = 0  # 0 = all devices
    log_every_steps: int = 100
    checkpoint_every_steps: int = 0  # step stages: latest checkpoint every this many steps (0: stage ends)
    keep_checkpoints: int = 2
    progress: bool = True
    tensorboard: bool = True
    max_loss: float | None = None  # stop (diverged) when a training loss exceeds this; None = no bound

    def __post_init__(self):
        config_utils.check_int("train.steps_per_call", self.steps_per_call, 1)
        config_utils.check_int("train.num_devices", self.num_devices, 0)
        config_utils.check_int("train.log_every_steps", self.log_every_steps, 1)
        config_utils.check_int("train.checkpoint_every_steps", self.checkpoint_every_steps, 0)
        config_utils.check_int("train.keep_checkpoints", self.keep_checkpoints, 1)
        config_utils.check_bool("train.progress", self.progress)
        config_utils.check_bool("train.tensorboard", self.tensorboard)
        if self.max_loss is not None:
            config_utils.check_real("train.max_loss", self.max_loss)


@dataclasses.dataclass(frozen=True)
class DataLoopTrain(LoopTrain):
    """``train`` fields the loop reads for a method that trains on a dataset (epochs of batches, validation)."""

    batch_size: int = 100
    num_epochs: int = 200
    checkpoint_every_epochs: int = 1
    data_on_device: str = "auto"  # 'auto' | 'always' | 'never'
    max_device_bytes: int = 2 << 30
    patience: int | None = None  # early stopping per run: epochs without a better validation score
    compact_stopped: bool = True  # with patience: the runs left train as a smaller group (else masked)

    def __post_init__(self):
        super().__post_init__()
        config_utils.check_int("train.batch_size", self.batch_size, 1)
        config_utils.check_int("train.num_epochs", self.num_epochs, 1)
        config_utils.check_int("train.checkpoint_every_epochs", self.checkpoint_every_epochs, 1)
        config_utils.check_choice("train.data_on_device", self.data_on_device, ("auto", "always", "never"))
        config_utils.check_int("train.max_device_bytes", self.max_device_bytes, 0)
        if self.patience is not None:
            config_utils.check_int("train.patience", self.patience, 1)
        config_utils.check_bool("train.compact_stopped", self.compact_stopped)


@dataclasses.dataclass(frozen=True)
class LoopEval:
    """``eval`` fields the loop reads: which evaluator (``None``: the method's own) and, for methods with a
    validation score, whether to evaluate the best checkpoint and the validation batch size."""

    evaluator: str | None = None


@dataclasses.dataclass(frozen=True)
class ValidatedLoopEval(LoopEval):
    use_best: bool = True  # evaluate the best-by-validation checkpoint (else the final state)
    batch_size: int = 1000  # validation (and evaluation) batch

    def __post_init__(self):
        config_utils.check_bool("eval.use_best", self.use_best)
        config_utils.check_int("eval.batch_size", self.batch_size, 1)


@dataclasses.dataclass(frozen=True)
class Loop:
    """What the loop reads for a method without a dataset (learned codes: step stages, no validation)."""

    train: LoopTrain = LoopTrain()
    eval: LoopEval = LoopEval()


@dataclasses.dataclass(frozen=True)
class DataLoop:
    """What the loop reads for a method that trains on a dataset with a validation score."""

    train: DataLoopTrain = DataLoopTrain()
    eval: ValidatedLoopEval = ValidatedLoopEval()
