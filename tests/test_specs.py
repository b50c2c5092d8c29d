"""Typed config specs: every field of every experiment config is read by a part of the run, or refused.

The walk covers every config file under ``experiments/`` with each of its variant words and each point of its
sweep. The drop test perturbs every field of every method's typed spec, in every config where the field exists,
and checks that the built method changes (or that the new value is refused naming the field): a field the method
parses but never passes on, the ``train.restarts`` bug, fails it.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing

import ml_collections
import pytest

import experiments
from neuralcodes_jax import config_utils, methods, run_config, specs, sweeps
from neuralcodes_jax.analysis import webp_ideal


def _config_modules():
    out = []
    for pkg in pkgutil.iter_modules(experiments.__path__):
        if not pkg.ispkg:
            continue
        package = importlib.import_module(f"experiments.{pkg.name}")
        for m in pkgutil.iter_modules(package.__path__):
            mod = importlib.import_module(f"experiments.{pkg.name}.{m.name}")
            if callable(getattr(mod, "get_config", None)):
                out.append(mod)
    return out


MODULES = _config_modules()


def _variant_configs(mod):
    """(label, config) for the default variant, each variant word alone, and each sweep point."""
    out = [(f"{mod.__name__}", mod.get_config(None))]
    for word in mod.VARIANTS:
        out.append((f"{mod.__name__}:{word}", mod.get_config(word)))
    if callable(getattr(mod, "get_sweep", None)):
        ref = mod.__file__
        points = sweeps.make_points(ref, sweeps.sweep_entries(ref))
        for point in points[:: max(1, len(points) // 8)]:
            out.append((f"{mod.__name__} point {point.name}", sweeps.load_config(point.config, point.override_dict)))
    return out


def _read_by_run(config) -> None:
    if isinstance(config.get("method"), str):
        run_config.parse(config)
    else:
        webp_ideal.webp_config(config)


def test_the_walk_covers_every_config_file():
    names = {m.__name__ for m in MODULES}
    assert len(names) >= 16 and "experiments.linear_code.codes" in names and "experiments.baselines.webp" in names
    assert all(isinstance(m.VARIANTS, tuple) and m.VARIANTS for m in MODULES)


@pytest.mark.slow
@pytest.mark.parametrize("mod", MODULES, ids=lambda m: m.__name__)
def test_every_field_of_every_config_is_read_and_every_other_is_refused(mod):
    for label, config in _variant_configs(mod):
        _read_by_run(config)  # every field is read by some part of the run
        for key in config_utils.flatten(config):
            # A field beside each existing one, that nothing reads: refused, naming it.
            bad = ml_collections.ConfigDict(config.to_dict())
            *path, last = key.split(".")
            node = bad
            for part in path:
                node = node[part]
            if not isinstance(node, ml_collections.ConfigDict):
                continue
            node[last + "_x"] = 1
            with pytest.raises(ValueError, match=f"{'.'.join(path + [last + '_x'])}"):
                _read_by_run(bad)
        assert label


def test_restarts_through_the_config_give_chains():
    from experiments.linear_code import codes as linear_code_config

    c = linear_code_config.get_config("smoke")
    c.train.restarts = 3
    assert methods.build(c, None).restarts == 3
    c.train.restart = 2
    with pytest.raises(ValueError, match=r"train\.restart \(did you mean train\.restarts"):
        run_config.parse(c)


# ------------------------------------------------------------------------------------------------ drops


def _leaves(cls, prefix=""):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp, _optional = specs._base_type(hints[f.name])
        if specs.is_spec(tp):
            yield from _leaves(tp, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", tp


def _perturbed(value, tp):
    """Another value of the field's type (not validated: a refusal counts as reading it)."""
    if tp is bool:
        return not value
    if tp is int:
        return 1 if value is None else value + 1
    if tp is float:
        return 0.123 if value is None else value * 1.5 + 0.01
    if tp is str:
        return "bsc" if value == "awgn" else ("awgn" if value == "bsc" else f"{value}_other")
    if typing.get_origin(tp) is tuple:
        elem = typing.get_args(tp)[0]
        return ((_perturbed(value[0], elem),) + tuple(value[1:])) if value else (_perturbed(None, elem),)
    if tp is specs.FreeMapping:
        return {"hidden": (7,)}
    raise AssertionError(f"no perturbation for {tp}")


def _fingerprint(obj, depth=0):
    """A comparable picture of a built method: dataclass fields recursively (Flax modules, channels, optimizers)."""
    if depth > 8:
        return repr(type(obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return (type(obj).__name__,) + tuple(
            (f.name, _fingerprint(getattr(obj, f.name), depth + 1))
            for f in dataclasses.fields(obj)
            if f.name not in ("parent",)
        )
    if isinstance(obj, dict):
        return tuple(sorted((k, _fingerprint(v, depth + 1)) for k, v in obj.items()))
    if isinstance(obj, list | tuple):
        return tuple(_fingerprint(v, depth + 1) for v in obj)
    if callable(obj):
        return getattr(obj, "__qualname__", repr(type(obj)))
    return obj


def _method_configs():
    """Every experiment config of a trainable method (default and each variant word)."""
    out = []
    for mod in MODULES:
        for label, config in _variant_configs(mod)[: 1 + len(mod.VARIANTS)]:
            if isinstance(config.get("method"), str):
                out.append((label, config))
    return out


def _data_spec(config):
    if not methods.method_class(config.method).uses_data:
        return None
    shape = tuple(config.data.get("shape", ())) or {"random_bits": (100,)}.get(config.data.name, (28, 28, 1))
    if config.data.name in ("cifar10", "svhn_cropped", "celeb_a", "synthetic_images"):
        shape = tuple(config.data.get("shape", (32, 32, 3)))
        if config.data.name == "celeb_a":
            shape = (64, 64, 3)
    return methods.DataSpec(
        shape, config.data.binarize != "none" or config.data.name in ("binary_mnist", "random_bits")
    )


@pytest.mark.slow
def test_no_method_drops_a_field_it_reads():
    """Each leaf of each method's typed spec changes the built method (or is refused) in some config."""
    read: dict[str, set[str]] = {}
    configs = _method_configs()  # read, never changed: each perturbation is made on a copy
    for label, config in configs:
        cls = methods.method_class(config.method)
        data = _data_spec(config)
        base = _fingerprint(methods.build(config, data))
        for field, tp in _leaves(cls.CONFIG):
            node = config
            *path, last = field.split(".")
            for part in path:
                node = node[part]
            if last not in node:
                continue
            changed = ml_collections.ConfigDict(config.to_dict())
            target = changed
            for part in path:
                target = target[part]
            try:
                target[last] = _perturbed(node[last], tp)
            except (TypeError, ValueError):
                target[last] = None if node[last] is not None else _perturbed(None, tp)
            try:
                after = _fingerprint(methods.build(changed, data))
            except ValueError as err:
                if last in str(err) or field in str(err):
                    read.setdefault(cls.__name__, set()).add(field)
                continue
            if after != base:
                read.setdefault(cls.__name__, set()).add(field)
        assert label
    missing = {}
    for name in {methods.method_class(c.method).__name__ for _, c in configs}:
        cls = next(c for c in map(methods.method_class, (c.method for _, c in configs)) if c.__name__ == name)
        dropped = sorted({f for f, _ in _leaves(cls.CONFIG)} - read.get(name, set()))
        if dropped:
            missing[name] = dropped
    assert not missing, f"fields a method parses but never uses: {missing}"


@pytest.mark.slow
def test_restarts_through_the_loop_train_that_many_chains_and_keep_the_best(tmp_path):
    """``--config.train.restarts=3`` (what ``launch.main`` applies) gives 3 chains per seed in the trained state, and
    the report is of the chain whose binarized code has the lowest surrogate."""
    import jax
    import numpy as np

    from experiments.linear_code import codes as linear_code_config
    from neuralcodes_jax import train
    from neuralcodes_jax.codes import relaxed

    c = linear_code_config.get_config("smoke")
    config_utils.apply_overrides(c, {"train.restarts": 3, "num_seeds": 1, "train.steps": 20})
    out = train.train_and_evaluate(c, str(tmp_path))
    theta = np.asarray(jax.device_get(out["state"]["params"]["theta"]))
    assert theta.shape == (3, 11, 4)
    method = methods.build(c, None)
    best = int(np.argmin(np.asarray(method.binarized_values(theta))))
    report = out["eval"]
    assert report["restarts"] == 3
    want = relaxed.generator_from_logits(theta[best])
    assert report["generator"] == ["".join(str(int(b)) for b in row) for row in want]
    for bad in (0, 2000):
        c.train.restarts = bad
        with pytest.raises(ValueError, match=r"train\.restarts must be in \[1, 1024\]"):
            methods.build(c, None)


def test_default_configs_are_new_copies():
    """The defaults are built once per spec tuple: each call returns its own copy, typed placeholders included."""
    a = run_config.default_config("necst")
    a.train.batch_size = 7
    a.channel.eps = 0.3
    b = run_config.default_config("necst")
    assert b.train.batch_size != 7 and b.channel.eps != 0.3
    assert b.to_dict() == run_config.default_config("necst").to_dict()
    with pytest.raises(TypeError):
        b.train.batch_size = "many"  # the field keeps its type in the copy
