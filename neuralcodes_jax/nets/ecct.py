"""The Error Correction Code Transformer (ECCT; Choukroun & Wolf, "Error Correction Code Transformer", NeurIPS 2022)
in Flax Linen.

The decoder sees the channel output only through its magnitude ``|y|`` and the syndrome of its hard decisions
(paper Sec. 4, Eq. 5 and Fig. 1), so what it computes does not depend on the codeword sent and it trains on the
all-zero word. Its output ``z_hat`` is a soft estimate of the multiplicative noise ``z_s = y * x_s``
(``x_s = 1 - 2x`` the BPSK word, paper Eq. 3-4): ``z_hat > 0`` means "the sign of ``y`` is right". The decision is
``x_hat = bin(sign(y * z_hat))`` (paper Eq. 4 / public code ``Model.loss``). In this package's LLR convention
``L = log P(x=0|y) / P(x=1|y)``, ``z_hat * sign(y)`` is the decoder's output LLR (``sigmoid(z_hat)`` is its
probability that the sign of ``y`` is right).

The network follows the public code (github.com/yoniLc/ECCT, ``Model.py``) where the paper leaves a choice open:

* input: the ``n + (n-k)`` scalars ``[|y|, 1 - 2 s(y)]`` (the syndrome as +-1, ``Main.py: ECC_Dataset``), each
  multiplying its own learned ``d``-vector (``src_embed``, paper Eq. 6);
* ``N`` pre-norm layers of masked multi-head self-attention (``h = 8`` heads) and a GELU feed-forward of width
  ``4 d``, each with a residual; one extra LayerNorm after layer ``N // 2`` when ``N > 1``, a final LayerNorm
  (``Encoder``); LayerNorm epsilon 1e-5 (PyTorch's); no dropout (the public code trains with dropout 0);
* the mask (paper Sec. 4.2, ``get_mask``): :func:`ecct_mask`;
* output: a linear map of each node's vector to one scalar, then a linear map over the ``n + (n-k)`` nodes to
  the ``n`` bits (``oned_final_embed``, ``out_fc``; paper Eq. 7);
* initialisation: Xavier-uniform for every matrix (``nn.init.xavier_uniform_`` on ``p.dim() > 1``), PyTorch's
  ``nn.Linear`` default ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for the biases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

#: LayerNorm epsilon of the public code (PyTorch's default; Flax's is 1e-6).
LAYER_NORM_EPS = 1e-5
#: The value added to masked attention scores (``masked_fill(mask, -1e9)`` in the public code).
MASK_VALUE = -1e9


def check_parity_check(parity_check: Any, field: str = "parity_check") -> np.ndarray:
    """``parity_check`` as a ``[n-k, n]`` uint8 0/1 matrix, or a ``ValueError`` naming ``field``."""
    h = np.asarray(parity_check)
    if h.ndim != 2 or h.shape[0] < 1 or h.shape[1] < 2:
        raise ValueError(f"{field} must be a 2-D [n-k, n] matrix with n-k >= 1 and n >= 2, got shape {h.shape}")
    if not np.all((h == 0) | (h == 1)):
        raise ValueError(f"{field} must have entries 0 or 1 only, got values {sorted(set(np.unique(h)))[:6]}")
    if h.shape[0] >= h.shape[1]:
        raise ValueError(f"{field} must have fewer rows (n-k) than columns (n), got shape {h.shape}")
    return h.astype(np.uint8)


def ecct_mask(parity_check: Any) -> np.ndarray:
    """The ECCT self-attention mask of a parity-check matrix ``H`` ``[m, n]``: ``[n+m, n+m]`` bool, True where node
    ``a`` may attend to node ``b`` (nodes ``0..n-1`` are the bits, ``n..n+m-1`` the checks).

    The rule of the public code (``Model.py: get_mask``, paper Sec. 4.2): every node sees itself; bit ``i`` and
    check ``j`` see each other when ``H[j, i] = 1``; bits ``i != i'`` see each other when some check contains both
    (the two-hop structure ``H^T H``). Checks do not see other checks. (The public code adds the bit-check pairs
    inside its loop over pairs of distinct bits of a check, so a check of weight 1 would not see its bit there;
    here it does, as ``H`` says. The two agree whenever every row of ``H`` has weight >= 2, as in every code of
    the benchmark.)
    """
    h = check_parity_check(parity_check).astype(np.int64)
    m, n = h.shape
    mask = np.eye(n + m, dtype=bool)
    mask[:n, :n] |= (h.T @ h) > 0
    mask[n:, :n] |= h > 0
    mask[:n, n:] |= h.T > 0
    return mask


def _torch_bias_init(fan_in: int):
    """PyTorch's ``nn.Linear`` bias initialisation ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``."""
    bound = 1.0 / np.sqrt(fan_in)

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return init


def _dense(features: int, fan_in: int, name: str) -> nn.Dense:
    return nn.Dense(
        features, kernel_init=nn.initializers.xavier_uniform(), bias_init=_torch_bias_init(fan_in), name=name
    )


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention with a fixed boolean mask (``MultiHeadedAttention`` of the public code)."""

    d_model: int
    num_heads: int

    @nn.compact
    def __call__(self, x: jax.Array, allowed: jax.Array) -> jax.Array:
        batch, length, _ = x.shape
        d_k = self.d_model // self.num_heads

        def heads(name):
            t = _dense(self.d_model, self.d_model, name)(x)
            return t.reshape(batch, length, self.num_heads, d_k)

        q, k, v = heads("query"), heads("key"), heads("value")
        scores = jnp.einsum("blhd,bmhd->bhlm", q, k) / np.sqrt(d_k)
        scores = jnp.where(allowed, scores, MASK_VALUE)
        attn = jax.nn.softmax(scores, axis=-1)
        out = jnp.einsum("bhlm,bmhd->blhd", attn, v).reshape(batch, length, self.d_model)
        return _dense(self.d_model, self.d_model, "out")(out)


class ECCT(nn.Module):
    """ECCT decoder: ``(magnitude [B, n], syndrome bits [B, n-k]) -> z_hat [B, n]`` (see the module docstring).

    ``parity_check`` is ``H`` as a tuple of row tuples (hashable); ``num_layers`` is the paper's ``N``, ``d_model``
    its ``d``, ``num_heads`` the public code's ``h`` (8).
    """

    parity_check: Sequence[Sequence[int]]
    num_layers: int = 2
    d_model: int = 32
    num_heads: int = 8

    @nn.compact
    def __call__(self, magnitude: jax.Array, syndrome: jax.Array) -> jax.Array:
        if not isinstance(self.num_layers, int) or self.num_layers < 1:
            raise ValueError(f"num_layers must be a positive int, got {self.num_layers!r}")
        if not isinstance(self.d_model, int) or self.d_model < 1:
            raise ValueError(f"d_model must be a positive int, got {self.d_model!r}")
        if not isinstance(self.num_heads, int) or self.num_heads < 1 or self.d_model % self.num_heads:
            raise ValueError(
                f"num_heads must be a positive int dividing d_model={self.d_model}, got {self.num_heads!r}"
            )
        h = check_parity_check(self.parity_check)
        m, n = h.shape
        if magnitude.shape[-1] != n or syndrome.shape[-1] != m:
            raise ValueError(
                f"ECCT of a code with n={n}, n-k={m} needs magnitude [..., {n}] and syndrome "
                f"[..., {m}], got {magnitude.shape} and {syndrome.shape}"
            )
        lead = magnitude.shape[:-1]
        magnitude = magnitude.reshape(-1, n).astype(jnp.float32)
        syndrome = syndrome.reshape(-1, m).astype(jnp.float32)
        nodes = jnp.concatenate([magnitude, 1.0 - 2.0 * syndrome], axis=-1)  # [B, n+m]
        embed = self.param("src_embed", nn.initializers.xavier_uniform(), (n + m, self.d_model))
        x = nodes[:, :, None] * embed  # [B, n+m, d]
        allowed = jnp.asarray(ecct_mask(h))
        for layer in range(self.num_layers):
            y = nn.LayerNorm(epsilon=LAYER_NORM_EPS, name=f"layer{layer}_norm_attn")(x)
            x = x + MaskedSelfAttention(self.d_model, self.num_heads, name=f"layer{layer}_attn")(y, allowed)
            y = nn.LayerNorm(epsilon=LAYER_NORM_EPS, name=f"layer{layer}_norm_ff")(x)
            y = _dense(4 * self.d_model, self.d_model, f"layer{layer}_ff1")(y)
            y = _dense(self.d_model, 4 * self.d_model, f"layer{layer}_ff2")(nn.gelu(y, approximate=False))
            x = x + y
            if layer + 1 == self.num_layers // 2 and self.num_layers > 1:
                x = nn.LayerNorm(epsilon=LAYER_NORM_EPS, name="middle_norm")(x)
        x = nn.LayerNorm(epsilon=LAYER_NORM_EPS, name="final_norm")(x)
        node_out = _dense(1, self.d_model, "node_out")(x)[..., 0]  # [B, n+m]
        z_hat = _dense(n, n + m, "bit_out")(node_out)  # [B, n]
        return z_hat.reshape(*lead, n)


def ecct_inputs(y: jax.Array, parity_check: Any) -> tuple[jax.Array, jax.Array]:
    """``(|y|, s(y))`` of channel outputs ``y [..., n]``: the magnitude and the syndrome bits (uint8) of the hard
    decisions ``bin(sign(y))`` (``y < 0`` -> 1), paper Eq. 5."""
    h = jnp.asarray(check_parity_check(parity_check), jnp.float32)
    hard = (y < 0).astype(jnp.float32)
    syndrome = jnp.mod(hard @ h.T, 2.0).astype(jnp.uint8)
    return jnp.abs(y), syndrome


def hard_decision(y: jax.Array, z_hat: jax.Array) -> jax.Array:
    """``x_hat = bin(sign(y * z_hat))`` as 0/1 uint8 (paper Eq. 4)."""
    return (y * z_hat < 0).astype(jnp.uint8)


def output_llr(y: jax.Array, z_hat: jax.Array) -> jax.Array:
    """The decoder's output LLR ``log P(x=0) / P(x=1) = z_hat * sign(y)`` (module docstring)."""
    return z_hat * jnp.where(y < 0, -1.0, 1.0)
