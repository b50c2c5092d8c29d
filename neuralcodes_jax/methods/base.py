"""What the trainer needs from a method.

A method (NECST, IABF, progressive codes, ...) is a small object built from a config and the data shape. The
trainer treats it as four pure functions plus a name:

* ``init(key, example_x) -> state``: the training state, a pure array pytree. It must contain an int32 scalar
  ``state['step']`` and ``state['params']``; anything else (optimizer states, discriminator params) is the
  method's business.
* ``train_step(state, x, key) -> (state, metrics)``: one optimisation step on a batch ``x`` [B, ...] with the step
  key ``key``; metrics is a dict of scalar arrays (means over the batch). Pure and jit-able; the trainer jits it
  inside a ``lax.scan`` with the state donated.
* ``valid_loss(params, x, key) -> [B]``: the per-example validation score (lower is better) used for
  best-checkpoint selection.
* ``eval_batch(params, x, key, eps) -> dict[str, [B]]``: per-example evaluation metrics at test channel noise
  ``eps`` (a Python float; the trainer jits one function per noise level).

Methods hold no arrays, only static configuration, so they can be closed over by jitted functions.
"""

from __future__ import annotations

from typing import Any, Protocol

import jax

PyTree = Any
Metrics = dict[str, jax.Array]


class Method(Protocol):
    name: str

    def init(self, key: jax.Array, example_x: jax.Array) -> PyTree:
        ...

    def train_step(self, state: PyTree, x: jax.Array, key: jax.Array) -> tuple[PyTree, Metrics]:
        ...

    def valid_loss(self, params: PyTree, x: jax.Array, key: jax.Array) -> jax.Array:
        ...

    def eval_batch(self, params: PyTree, x: jax.Array, key: jax.Array, eps: float) -> Metrics:
        ...
