"""The encoder and decoder networks of learned binary codes, written as plain arrays for the vmapped step on
XLA:CPU (kernels stored wide-dimension-last, rows selected by one-hot matmuls; ``results/sweep_vmap.md``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

from neuralcodes_jax.codes import relaxed
from neuralcodes_jax.methods.progressive.config import ProgressiveSpec, warm_start_codebook

PyTree = Any

# ------------------------------------------------------------------------------------------- network


def _activation(name: str):
    return {
        "relu": jax.nn.relu,
        "leaky_relu": lambda x: jax.nn.leaky_relu(x, 0.2),
        "elu": jax.nn.elu,
        "tanh": jnp.tanh,
        "linear": lambda x: x,
    }[name]


def _dense_init(key: jax.Array, fan_in: int, fan_out: int, scale: float) -> dict[str, jax.Array]:
    """Glorot-uniform kernel (times ``scale``) and zero bias.

    The kernel is stored with its wider dimension last: ``{"w": [in, out]}`` when ``out >= in``, else
    ``{"wt": [out, in]}`` (the transpose of the same draw, so both layouts are the same function at init). On
    XLA:CPU the weight-gradient product of a batch of seeds, ``[S, B, in]^T [S, B, out]``, is 2-3x faster with
    the wide dimension minor (``results/sweep_vmap.md``); use :func:`layer_kernel` for the ``[in, out]`` matrix.
    """
    limit = scale * math.sqrt(6.0 / (fan_in + fan_out))
    w = jax.random.uniform(key, (fan_in, fan_out), jnp.float32, -limit, limit)
    b = jnp.zeros((fan_out,), jnp.float32)
    return {"w": w, "b": b} if fan_out >= fan_in else {"wt": w.T, "b": b}


def layer_kernel(layer: Mapping[str, jax.Array]) -> jax.Array:
    """The ``[in, out]`` kernel of a layer in either stored layout (``"w"`` or ``"wt"``)."""
    return layer["w"] if "w" in layer else jnp.swapaxes(layer["wt"], -1, -2)


def _dense(layer: Mapping[str, jax.Array], h: jax.Array) -> jax.Array:
    if "w" in layer:
        return h @ layer["w"] + layer["b"]
    return h @ layer["wt"].T + layer["b"]


def _mlp_init(key: jax.Array, sizes: Sequence[int], scale: float) -> list[dict[str, jax.Array]]:
    keys = jax.random.split(key, len(sizes) - 1)
    return [_dense_init(kk, a, b, scale) for kk, a, b in zip(keys, sizes[:-1], sizes[1:])]


def _fit_encoder(encoder: PyTree, spec: ProgressiveSpec) -> PyTree:
    """The MLP encoder fitted to the warm-start code's logits ``warm_start_scale (2 c - 1)`` (Adam 1e-2, full
    batch, mean squared error, ``warm_start_steps`` steps)."""
    target = spec.warm_start_scale * (
        2.0 * jnp.asarray(warm_start_codebook(spec.warm_start, spec.n, spec.k), jnp.float32) - 1.0
    )
    opt = optax.adam(1e-2)

    def loss(e):
        return jnp.mean(jnp.square(encoder_table({"encoder": e}, spec) - target))

    def body(_, carry):
        e, s = carry
        updates, s = opt.update(jax.grad(loss)(e), s, e)
        return optax.apply_updates(e, updates), s

    encoder, _ = jax.lax.fori_loop(0, spec.warm_start_steps, body, (encoder, opt.init(encoder)))
    return encoder


def init_params(key: jax.Array, spec: ProgressiveSpec) -> PyTree:
    """``{"encoder": [layers], "decoder": [layers]}``, each layer ``{"w": [in, out] | "wt": [out, in], "b": [out]}``
    (:func:`_dense_init`); with ``spec.warm_start`` the encoder is fitted to that code (:func:`_fit_encoder`)."""
    k_enc, k_dec = jax.random.split(key)
    enc_in = spec.num_messages if spec.message_input == "one_hot" else spec.k
    dec_out = spec.num_messages if spec.decoder_output == "softmax" else spec.k
    if spec.encoder == "linear":
        # Entry logits near 0 (entries near 1/2), the scale of the linear_code method's default init.
        encoder = {"theta": 0.1 * spec.init_scale * jax.random.normal(k_enc, (spec.k, spec.n - spec.k))}
    else:
        encoder = _mlp_init(k_enc, (enc_in, *spec.encoder_hidden, spec.n), spec.init_scale)
        if spec.warm_start:
            encoder = _fit_encoder(encoder, spec)
    return {"encoder": encoder, "decoder": _mlp_init(k_dec, (spec.n, *spec.decoder_hidden, dec_out), spec.init_scale)}


def message_bits(messages: jax.Array, k: int) -> jax.Array:
    """The ``k``-bit labels (most significant bit first) of integer messages, ``int32 [..., k]``."""
    shifts = jnp.arange(k - 1, -1, -1, dtype=jnp.int32)
    return (jnp.asarray(messages, jnp.int32)[..., None] >> shifts) & 1


def _apply_mlp(layers: Sequence[dict[str, jax.Array]], h: jax.Array, act, first_is_gather: bool) -> jax.Array:
    for i, layer in enumerate(layers):
        if i > 0:
            h = act(h)
        if i == 0 and first_is_gather:
            h = layer_kernel(layer)[h] + layer["b"]  # one-hot(h) @ w, as a row gather
        else:
            h = _dense(layer, h)
    return h


def encoder_logits(params: PyTree, messages: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Encoder logits ``a`` ``[..., n]`` of integer messages ``[...]``; the soft bits are ``sigmoid(a)``."""
    if spec.encoder == "linear":
        bits = message_bits(messages, spec.k)
        systematic = relaxed.SYSTEMATIC_LOGIT * (2.0 * bits.astype(jnp.float32) - 1.0)
        return jnp.concatenate([systematic, relaxed.xor_logits(params["encoder"]["theta"], bits)], axis=-1)
    act = _activation(spec.activation)
    if spec.message_input == "one_hot":
        return _apply_mlp(params["encoder"], jnp.asarray(messages, jnp.int32), act, True)
    u = 1.0 - 2.0 * message_bits(messages, spec.k).astype(jnp.float32)
    return _apply_mlp(params["encoder"], u, act, False)


def encoder_table(params: PyTree, spec: ProgressiveSpec) -> jax.Array:
    """Encoder logits of every message in order, ``[M, n]`` (``encoder_logits`` of ``0..M-1``).

    With one-hot messages the first layer's output is its kernel plus bias (the one-hot vectors of all
    messages form the identity), so no gather (and no scatter in the gradient) is needed.
    """
    if spec.message_input != "one_hot" or spec.encoder == "linear":
        return encoder_logits(params, all_messages(spec), spec)
    act = _activation(spec.activation)
    first, *rest = params["encoder"]
    h = layer_kernel(first) + first["b"]
    for layer in rest:
        h = _dense(layer, act(h))
    return h


def _batch_encoder_logits(params: PyTree, messages: jax.Array, one_hot: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Encoder logits of a training batch ``[B, n]``.

    When there are no more messages than examples (``M <= B``) the encoder runs once per message and the rows
    are selected with the one-hot matrix (``one_hot @ table``: an exact selection, whose gradient is a matmul
    rather than a scatter); otherwise it runs on the batch. Both are the same function.
    """
    if spec.num_messages <= messages.shape[0]:
        return one_hot @ encoder_table(params, spec)
    return encoder_logits(params, messages, spec)


def decoder_logits(decoder_params: PyTree, z: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Decoder logits of signed channel outputs ``z [..., n]``: ``[..., M]`` (softmax) or ``[..., k]`` (bitwise)."""
    return _apply_mlp(decoder_params, z, _activation(spec.activation), False)


def decode(decoder_params: PyTree, z: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Decided message index ``int32 [...]`` of signed channel outputs ``z [..., n]``."""
    logits = decoder_logits(decoder_params, z, spec)
    if spec.decoder_output == "softmax":
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)
    weights = 1 << jnp.arange(spec.k - 1, -1, -1, dtype=jnp.int32)
    return jnp.sum((logits > 0).astype(jnp.int32) * weights, axis=-1)


def all_messages(spec: ProgressiveSpec) -> jax.Array:
    return jnp.arange(spec.num_messages, dtype=jnp.int32)


def binary_codebook(params: PyTree, spec: ProgressiveSpec) -> jax.Array:
    """The hard codebook ``uint8 [M, n]``: row ``m`` is ``1[a(m) > 0]`` (message order)."""
    return (encoder_logits(params, all_messages(spec), spec) > 0).astype(jnp.uint8)


def soft_codebook(params: PyTree, spec: ProgressiveSpec) -> jax.Array:
    """The soft codebook ``sigmoid(a) [M, n]`` (what stage 1 transmits)."""
    return jax.nn.sigmoid(encoder_logits(params, all_messages(spec), spec))
