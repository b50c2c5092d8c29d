"""Load a trained model from its workdir, and the small helpers every analysis shares.

A training run (``train.train_and_evaluate``) leaves in its workdir ``config.json`` (the full config) and two
Orbax checkpoint series, ``checkpoints/latest/<step>`` and ``checkpoints/best/<step>`` (``checkpointing.py``).
:func:`load_model` rebuilds the method from the saved config (``methods.build``), reloads the data the config
names (the analyses need its test images and labels), and restores the best-by-validation state (or the latest)
onto a single device, with the abstract state the trainer restores onto (``programs.abstract_state``). Nothing is
retrained and nothing random is involved: loading twice gives the same arrays. It is the one loader of trained
models: the representation studies (``launch/analyze.py``) and the separation baselines (``launch/baselines.py``)
both use it.

The analyses only need NECST's building blocks (``encode``, ``decode``, ``channel``, ``likelihood``); IABF and the
discrete VAE are NECST subclasses, so :attr:`LoadedModel.coder` is the method itself.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from neuralcodes_jax import checkpointing, config_utils, methods, programs, run_config
from neuralcodes_jax import data as data_lib

PyTree = Any

CHECKPOINT_KINDS = ("best", "latest")
FEATURE_MODES = ("threshold", "sample")
EVAL_BATCH = 500


def read_config(workdir: str) -> ml_collections.ConfigDict:
    """The config a run saved as ``WORKDIR/config.json`` (lists stand where the config had tuples)."""
    path = os.path.join(workdir, "config.json")
    if not os.path.isfile(path):
        raise ValueError(
            f"workdir must hold a training run (config.json written by train.train_and_evaluate); {path} does not exist"
        )
    return ml_collections.ConfigDict(
        config_utils.read_json_file(path, "restore it from the run's command (the config it was trained with)")
    )


@dataclasses.dataclass(frozen=True, eq=False)
class LoadedModel:
    """A trained method with its parameters, the config it was trained with and its data.

    Attributes:
      workdir: where it was loaded from.
      config: the saved config (with any data overrides applied).
      method: the method object (``methods.build``), e.g. NECST, IABF or the discrete VAE.
      params: the restored parameters ``state['params']``.
      meta: the checkpoint's meta dict (epoch, validation score, ``best_step`` ...).
      step: the training step of the restored checkpoint.
      kind: 'best' or 'latest'.
      splits: the data the config names (train/valid/test images and labels); None for a method without data.
      state: the whole restored training state (optimizer states, a method's extra entries).
    """

    workdir: str
    config: ml_collections.ConfigDict
    method: Any
    params: PyTree
    meta: dict
    step: int
    kind: str
    splits: data_lib.Splits | None
    state: PyTree = None

    @property
    def coder(self):
        """The object holding encoder, decoder and channel: the method itself (NECST or a NECST subclass)."""
        return self.method

    @property
    def eps(self) -> float:
        """Training channel noise."""
        return float(self.coder.channel.eps)

    @property
    def name(self) -> str:
        return f"{self.method.name} eps={self.eps:g}"

    # -- batched, jitted evaluation of the networks ---------------------------------------------------------

    def encoder_logits(self, x: np.ndarray) -> np.ndarray:
        """Encoder logits ``f_phi(x)`` [N, m] for images ``x`` [N, *shape] (float32)."""
        return batched_apply(_jitted_encode(self.coder), self.params, np.asarray(x, np.float32))

    def codes(self, x: np.ndarray, mode: str = "threshold", seed: int = 0) -> np.ndarray:
        """Binary codes ``y_hat`` [N, m] (int8) of the noiseless encoder ``q_enc(y_hat|x) = Bern(sigmoid(a))``.

        ``mode='threshold'``: ``y_hat = 1[sigmoid(a) > 1/2]`` (deterministic, the most probable code);
        ``mode='sample'``: one draw ``y_hat ~ Bern(sigmoid(a))`` with ``jax.random.key(seed)`` (no channel noise;
        the released NECST graph's ``classif_z``).
        """
        if mode not in FEATURE_MODES:
            raise ValueError(f"mode must be one of {list(FEATURE_MODES)}, got {mode!r}")
        logits = self.encoder_logits(x)
        if mode == "threshold":
            return (logits > 0).astype(np.int8)
        bits = jax.random.bernoulli(jax.random.key(seed), jax.nn.sigmoid(jnp.asarray(logits)))
        return np.asarray(bits, np.int8)

    def decode_mean(self, codes: np.ndarray) -> np.ndarray:
        """Decoder mean ``sigmoid(f_theta(y))`` [N, *shape] for channel symbols ``codes`` [N, m]."""
        return batched_apply(_jitted_decode_mean(self.coder), self.params, np.asarray(codes, np.int32))


@functools.lru_cache(maxsize=32)
def _jitted_encode(coder) -> Callable:
    return jax.jit(lambda params, x: coder.encode(params, x))


@functools.lru_cache(maxsize=32)
def _jitted_decode_mean(coder) -> Callable:
    return jax.jit(lambda params, y: jax.nn.sigmoid(coder.decode(params, y)))


def batched_apply(fn: Callable, params: PyTree, x: np.ndarray, batch: int = EVAL_BATCH) -> np.ndarray:
    """``fn(params, x)`` over ``x`` in batches of ``batch`` rows.

    Short inputs are zero-padded to the smallest of 16, 128 or ``batch`` rows that holds them, and the last batch
    of long ones to ``batch`` rows, so a jitted ``fn`` compiles for at most three shapes whatever the lengths.
    """
    n = x.shape[0]
    if n == 0:
        raise ValueError("x must hold at least one example, got 0")
    size = next((b for b in (16, 128) if n <= b < batch), batch)
    outs = []
    for start in range(0, n, size):
        chunk = x[start : start + size]
        valid = chunk.shape[0]
        if valid < size:
            chunk = np.concatenate([chunk, np.zeros((size - valid,) + chunk.shape[1:], chunk.dtype)])
        outs.append(np.asarray(fn(params, chunk))[:valid])
    return np.concatenate(outs)


def load_model(
    workdir: str, *, kind: str = "best", data_dir: str | None = None, splits: data_lib.Splits | None = None
) -> LoadedModel:
    """Rebuild the method of a training run from ``WORKDIR/config.json`` and restore its checkpoint.

    Args:
      workdir: a training run's directory.
      kind: 'best' (the best-by-validation checkpoint the papers report) or 'latest'.
      data_dir: replaces ``config.data.data_dir`` (a relative ``data_dir`` in the config is relative to the
        directory training ran from).
      splits: the data, when the caller already has it (skips reloading; its shape must fit the model). A method
        without a dataset (``uses_data`` False) loads none: ``splits`` is then ``None``.

    Raises:
      ValueError: no config.json, no checkpoint of that kind, or an unknown ``kind``.
    """
    if kind not in CHECKPOINT_KINDS:
        raise ValueError(f"kind must be one of {list(CHECKPOINT_KINDS)}, got {kind!r}")
    config = read_config(workdir)
    if data_dir is not None:
        config.data.data_dir = data_dir
    series = os.path.join(workdir, "checkpoints", kind)
    if not os.path.isdir(series) or not any(name.isdigit() for name in os.listdir(series)):
        raise ValueError(f"workdir {workdir} has no '{kind}' checkpoint ({series} holds no step directory)")
    spec = run_config.parse(config)
    if spec.data is None:  # a method without a dataset (learned codes): no data to load
        splits, method, example = None, methods.build(config, None), None
    else:
        if splits is None:
            splits = data_lib.load_from_config(config.data)
        method = methods.build(config, methods.DataSpec(tuple(splits.shape), splits.is_binary, spec.data.name))
        example = jax.ShapeDtypeStruct((1,) + tuple(splits.shape), jnp.float32)
    abstract = programs.abstract_state(method, example, jax.sharding.SingleDeviceSharding(jax.devices()[0]))
    ckpt = checkpointing.Checkpointer(workdir, keep=spec.loop.train.keep_checkpoints)
    try:
        restored = ckpt.restore_best(abstract) if kind == "best" else ckpt.restore_latest(abstract)
    finally:
        ckpt.close()
    if restored is None:
        raise ValueError(f"workdir {workdir} has no '{kind}' checkpoint")
    state, meta = restored
    return LoadedModel(
        workdir=workdir,
        config=config,
        method=method,
        params=state["params"],
        meta=meta,
        step=int(jax.device_get(state["step"])),
        kind=kind,
        splits=splits,
        state=state,
    )


# ---------------------------------------------------------------------------------------------------------------
# Helpers shared by the analyses.


def row_hashes(x: np.ndarray) -> np.ndarray:
    """A content hash (SHA-1 of the float32 bytes) per example, to check that two image sets are disjoint."""
    x = np.ascontiguousarray(np.asarray(x, np.float32).reshape(len(x), -1))
    return np.array([hashlib.sha1(row.tobytes()).hexdigest() for row in x])


def image_grid(images: np.ndarray, pad: int = 1, fill: float = 1.0) -> np.ndarray:
    """Tile images ``[rows, cols, H, W(, C)]`` into one ``[rows (H + pad), cols (W + pad)(, C)]`` array."""
    images = np.asarray(images, np.float32)
    if images.ndim == 5 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (4, 5):
        raise ValueError(f"images must be [rows, cols, H, W] or [rows, cols, H, W, C], got shape {images.shape}")
    rows, cols, h, w = images.shape[:4]
    extra = images.shape[4:]
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad) + extra, fill, np.float32)
    for r in range(rows):
        for c in range(cols):
            out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = images[r, c]
    return out


def write_json(path: str, obj: Any) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def describe(model: LoadedModel) -> str:
    """One markdown line naming a loaded model: method, noise, data, checkpoint."""
    n = model.splits.num_examples
    return (
        f"`{model.workdir}`: {model.method.name}, {model.config.model.bits} bits, channel "
        f"{model.coder.channel.name} eps={model.eps:g}, data `{model.splits.name}` "
        f"(train {n['train']}, valid {n['valid']}, test {n['test']}), {model.kind} checkpoint at step "
        f"{model.step} (validation {model.meta.get('best_valid', float('nan')):.4g})"
    )
