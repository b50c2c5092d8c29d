"""The jitted programs of a group of runs, shared by the trainer, the evaluators and the model loader: named RNG
streams per run, ``jit(vmap(scan(train_step)))`` chunks on the points axis, batched application over a dataset
sharded on the data axis, and the abstract training state that checkpoints restore onto.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from neuralcodes_jax import distributed
from neuralcodes_jax.distributed import DATA_AXIS, POINTS_AXIS, on_points

PyTree = Any


# ----------------------------------------------------------------------------------------------------------------
# RNG streams: named, derived from config.seed; per-step keys are fold_in(stream, step).

STREAMS = ("init", "train", "data", "valid", "eval")


def rng_streams(seed: int) -> dict[str, jax.Array]:
    root = jax.random.key(seed)
    return {name: jax.random.fold_in(root, i) for i, name in enumerate(STREAMS)}


def group_streams(seeds: Sequence[int], sharding=None) -> dict[str, jax.Array]:
    """The streams of every run, stacked ``[P]`` (on ``sharding`` if given; computed by a jitted program, so the
    sharding may span several processes). Stream ``p`` equals ``rng_streams(seeds[p])``."""
    seeds = np.asarray([int(s) for s in seeds], np.int32)
    return jax.jit(jax.vmap(rng_streams), out_shardings=sharding)(seeds)


# ----------------------------------------------------------------------------------------------------------------
# Per-run programs.


def squeeze(tree):
    return jax.tree.map(lambda a: a[0], tree)


def expand(tree):
    return jax.tree.map(lambda a: a[None], tree)


def per_point(fn: Callable, num_points: int, in_axes: tuple) -> Callable:
    """``fn`` applied to every run of a group: ``jax.vmap`` over the points, or unbatched for a group of one (the
    program a single run compiles, with the points axis added back to the outputs)."""
    if num_points > 1:
        return jax.vmap(fn, in_axes=in_axes)

    def one(*args):
        return expand(fn(*[squeeze(a) if ax == 0 else a for a, ax in zip(args, in_axes)]))

    return one


def make_run_chunk(method, mesh, num_points: int, stage: int, num_steps: int, with_data: bool, masked: bool = False):
    """``jit(vmap(scan(train_step)))`` over ``num_steps`` steps of ``stage``; state donated, on the points axis.

    ``masked``: the function takes a boolean ``active`` ``[P]`` last, and a run that is not active keeps its
    state (its steps are computed and dropped; early stopping inside a group)."""

    def run(state, xs, train_key, values, *active):
        m = method.bind(values)

        def body(state, x):
            key = jax.random.fold_in(train_key, state["step"])
            return m.train_step(state, x, key, stage)

        new, metrics = jax.lax.scan(body, state, xs, length=num_steps)
        if masked:
            new = jax.tree.map(lambda a, b: jnp.where(active[0], a, b), new, state)
        return new, metrics

    fn = per_point(run, num_points, (0, 0 if with_data else None, 0, 0) + ((0,) if masked else ()))
    sharding = on_points(mesh)
    return jax.jit(fn, donate_argnums=(0,), out_shardings=(sharding, sharding))


def padded_batches(x: np.ndarray, batch_size: int):
    """Consecutive batches of ``x``, the last one zero-padded to ``batch_size``: yields
    ``(batch index, batch, number of real rows)``."""
    for i, start in enumerate(range(0, x.shape[0], batch_size)):
        batch = x[start : start + batch_size]
        valid = batch.shape[0]
        if valid < batch_size:
            batch = np.concatenate([batch, np.zeros((batch_size - valid,) + batch.shape[1:], batch.dtype)])
        yield i, batch, valid


def eval_batch_size(requested: int, mesh) -> int:
    """``requested`` rounded down to a multiple of the data-parallel device count (at least that count)."""
    n = mesh.shape[DATA_AXIS]
    return max(n, int(requested) - int(requested) % n)


def make_batched_apply(fn: Callable, mesh, batch_size: int, num_points: int):
    """Apply a per-example function ``fn(params, x, key, values) -> pytree of [B]`` of every run of a group over a
    dataset, in batches sharded over the data axis: returns ``run(params [P, ...], x, keys [P], values) -> pytree
    of [P, N]`` (NumPy). Batch ``b`` of run ``p`` gets the key ``fold_in(keys[p], b)``; the last batch is padded
    and the padding dropped. In a multi-process run every process passes the whole dataset and puts only its rows
    of each batch on its devices.
    """
    batch_sharding = NamedSharding(mesh, P(DATA_AXIS))

    def with_batch_key(params, x, key, values, b):
        return fn(params, x, jax.random.fold_in(key, b), values)

    jitted = jax.jit(
        per_point(with_batch_key, num_points, (0, None, 0, 0, None)),
        out_shardings=NamedSharding(mesh, P(POINTS_AXIS, DATA_AXIS)),
    )

    def run(params, x: np.ndarray, keys: jax.Array, values: dict | None = None):
        outs = []
        global_shape = (batch_size,) + x.shape[1:]
        rows = distributed.local_rows(batch_sharding, global_shape, 0)
        for i, batch, valid in padded_batches(x, batch_size):
            batch = distributed.put_global(batch[rows], batch_sharding, global_shape)
            res = distributed.to_host(jitted(params, batch, keys, values or {}, i))
            outs.append(jax.tree.map(lambda a, v=valid: a[:, :v], res))
        return jax.tree.map(lambda *a: np.concatenate(a, axis=1), *outs)

    return run


def abstract_state(method, example_x, sharding=None) -> PyTree:
    """``jax.ShapeDtypeStruct`` leaves of one run's training state (with ``sharding``): what checkpoints restore
    onto (the trainer and the model loader)."""
    abstract = jax.eval_shape(method.init, jax.random.key(0), example_x)
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding), abstract)
