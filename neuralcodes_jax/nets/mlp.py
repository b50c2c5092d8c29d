"""Fully connected encoders, decoders and the IABF discriminator (Flax Linen).

The defaults reproduce the MLP of the NECST reference code, used for MNIST-like data
(binarized MNIST, grey MNIST, Omniglot) and random bit strings (NECST, Choi et al. 2019,
Sec. 3.1; IABF, Song et al. 2020, reuses it unchanged):

* encoder ``f_phi``: flatten -> dense 500 (bias, leaky ReLU slope 0.2) -> dense m (no bias),
  giving the logits of the per-bit Bernoulli ``q_enc(y_hat | x)`` (NECST Eq. after Eq. 2);
* decoder ``f_theta``: dense 500 -> dense 500 (leaky ReLU 0.2) -> dense D, with no bias in any
  decoder layer.

Kernels are glorot-uniform (``xavier_uniform``) and biases zero, the TF1 ``tf.layers``
defaults of the reference (Flax's own default kernel initializer is lecun-normal). The leaky
ReLU slope is 0.2, the TF default (Flax/JAX default to 0.01).

Decoders return pre-activation values ("logits") for every likelihood: Bernoulli logits for
binary data, or the pre-sigmoid values whose sigmoid is the mean of the fixed-variance
Gaussian decoder. The link is applied by :mod:`neuralcodes_jax.likelihoods`.

Modules hold no RNG state and need no keys: the stochastic channel lives outside them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

Initializer = Any  # a jax.nn.initializers.Initializer (key, shape, dtype) -> array

#: Leaky ReLU negative slope of the reference code (TF default; JAX's default is 0.01).
LEAKY_SLOPE = 0.2

default_kernel_init = nn.initializers.xavier_uniform()
default_bias_init = nn.initializers.zeros_init()


def as_float(x: Any) -> jax.Array:
    """Return ``x`` as a JAX array, casting non-floating dtypes (bits, ints, bools) to float32."""
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float32)
    return x


def check_positive_int(value: Any, name: str) -> int:
    """Validate a static positive integer (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def check_shape(shape: Any, name: str) -> tuple[int, ...]:
    """Validate a static shape: a non-empty sequence of positive ints; returns it as a tuple."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of positive ints, got {shape!r}") from None
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ValueError(f"{name} must be a non-empty sequence of positive ints, got {shape!r}")
    return dims


def check_widths(widths: Any, name: str) -> tuple[int, ...]:
    """Validate hidden-layer widths: a (possibly empty) sequence of positive ints."""
    try:
        dims = tuple(widths)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of positive ints, got {widths!r}") from None
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ValueError(f"{name} must be a sequence of positive ints, got {widths!r}")
    return dims


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _dense_dot(x: jax.Array, w: jax.Array, precision: Any) -> jax.Array:
    return lax.dot_general(x, w, (((x.ndim - 1,), (0,)), ((), ())), precision=precision)


def _dense_dot_fwd(x, w, precision):
    return _dense_dot(x, w, precision), (x, w)


def _dense_dot_bwd(precision, residuals, g):
    x, w = residuals
    dx = lax.dot_general(g, w, (((g.ndim - 1,), (1,)), ((), ())), precision=precision)
    lead = tuple(range(x.ndim - 1))
    dw = lax.dot_general(x, g, ((lead, lead), ((), ())), precision=precision)  # x^T g, [in, out]
    return dx, dw


_dense_dot.defvjp(_dense_dot_fwd, _dense_dot_bwd)


def dense_dot_general(
    lhs: jax.Array, rhs: jax.Array, dimension_numbers: Any, precision: Any = None, preferred_element_type: Any = None
) -> jax.Array:
    """``lax.dot_general`` for ``nn.Dense``: same values, a cheaper kernel gradient on CPU.

    JAX's transpose rule computes a dense layer's kernel gradient as ``(g^T x)^T``; XLA:CPU then
    materialises the output gradient ``g`` transposed, recomputing the elementwise ops that
    produce it in a cache-unfriendly order (about 10% of a NECST MLP training step). This rule
    computes ``x^T g`` directly in the kernel's ``[in, out]`` layout; the input gradient is the
    usual ``g w^T``. Same mathematics: gradients agree up to float rounding (summation order).

    Only the ``nn.Dense`` contraction (last axis of ``lhs`` with axis 0 of a 2-D ``rhs``, no
    batch axes, equal dtypes) takes this path; anything else goes to ``lax.dot_general``. Like
    any ``jax.custom_vjp`` function it supports reverse mode and vmap, not forward-mode
    ``jax.jvp``.
    """
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    if (
        tuple(lhs_contract) == (lhs.ndim - 1,)
        and tuple(rhs_contract) == (0,)
        and rhs.ndim == 2
        and not lhs_batch
        and not rhs_batch
        and preferred_element_type is None
        and lhs.dtype == rhs.dtype
    ):
        return _dense_dot(lhs, rhs, precision)
    return lax.dot_general(
        lhs, rhs, dimension_numbers, precision=precision, preferred_element_type=preferred_element_type
    )


def merge_leading(y: jax.Array, keep: int) -> tuple[jax.Array, tuple[int, ...]]:
    """Reshape ``[*lead, *tail]`` (``tail`` = the last ``keep`` axes) to ``[prod(lead), *tail]``.

    ``lead`` may be empty (a single example). Returns the reshaped array and ``lead`` so
    that :func:`split_leading` can undo it.
    """
    if y.ndim < keep:
        raise ValueError(f"y must have shape [..., m] (at least {keep} trailing feature axes), got shape {y.shape}")
    lead = y.shape[: y.ndim - keep]
    return y.reshape((-1,) + y.shape[y.ndim - keep :]), lead


def split_leading(y: jax.Array, lead: tuple[int, ...]) -> jax.Array:
    """Inverse of :func:`merge_leading`: ``[prod(lead), *tail] -> [*lead, *tail]``."""
    return y.reshape(lead + y.shape[1:])


def dense_stack(module: nn.Module, h: jax.Array, out_features: int, out_name: str) -> jax.Array:
    """The layers of the MLPs below, created inside ``module``'s compact call: hidden ``Dense`` layers
    ``hidden_i`` (``module.hidden`` widths, ``hidden_bias``) each followed by a leaky ReLU, then the output layer
    ``out_name`` (``output_bias``); every kernel product is :func:`dense_dot_general`."""
    for i, width in enumerate(module.hidden):
        h = nn.Dense(
            width,
            use_bias=module.hidden_bias,
            kernel_init=module.kernel_init,
            bias_init=module.bias_init,
            dot_general=dense_dot_general,
            name=f"hidden_{i}",
        )(h)
        h = nn.leaky_relu(h, negative_slope=module.negative_slope)
    return nn.Dense(
        out_features,
        use_bias=module.output_bias,
        kernel_init=module.kernel_init,
        bias_init=module.bias_init,
        dot_general=dense_dot_general,
        name=out_name,
    )(h)


class MLPEncoder(nn.Module):
    """MLP encoder ``x [B, *input_shape] -> logits [B, m]`` (NECST Sec. 3.1, ``f_phi``).

    Attributes:
      m: number of code bits.
      hidden: hidden-layer widths, input side first (reference: ``(500,)``).
      hidden_bias: whether hidden layers have a bias (reference: True).
      output_bias: whether the logit layer has a bias (reference: False).
      negative_slope: leaky ReLU slope (reference: 0.2).
      kernel_init, bias_init: initializers (reference: glorot-uniform, zeros).

    Every axis after the first is flattened, so ``[B, 28, 28]``, ``[B, 28, 28, 1]`` and
    ``[B, 784]`` inputs give the same network.
    """

    m: int
    hidden: Sequence[int] = (500,)
    hidden_bias: bool = True
    output_bias: bool = False
    negative_slope: float = LEAKY_SLOPE
    kernel_init: Initializer = default_kernel_init
    bias_init: Initializer = default_bias_init

    def __post_init__(self) -> None:
        check_positive_int(self.m, "m")
        check_widths(self.hidden, "hidden")
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = as_float(x)
        if x.ndim < 2:
            raise ValueError(f"x must have shape [B, *input_shape], got shape {x.shape}")
        return dense_stack(self, x.reshape(x.shape[0], -1), self.m, "logits")


class MLPDecoder(nn.Module):
    """MLP decoder ``y [..., m] -> outputs [..., *output_shape]`` (NECST Sec. 3.1, ``f_theta``).

    The outputs are pre-activation values: Bernoulli logits, or pre-sigmoid values whose
    sigmoid is the Gaussian decoder mean. Any number of leading (sample, batch) axes is allowed.

    Attributes:
      output_shape: event shape of one reconstruction, e.g. ``(784,)`` or ``(28, 28)``.
      hidden: hidden-layer widths, code side first (reference: ``(500, 500)``).
      hidden_bias: whether hidden layers have a bias (reference: False).
      output_bias: whether the output layer has a bias (reference: False).
      negative_slope: leaky ReLU slope (reference: 0.2).
      kernel_init, bias_init: initializers (reference: glorot-uniform, zeros).
    """

    output_shape: Sequence[int]
    hidden: Sequence[int] = (500, 500)
    hidden_bias: bool = False
    output_bias: bool = False
    negative_slope: float = LEAKY_SLOPE
    kernel_init: Initializer = default_kernel_init
    bias_init: Initializer = default_bias_init

    def __post_init__(self) -> None:
        check_shape(self.output_shape, "output_shape")
        check_widths(self.hidden, "hidden")
        super().__post_init__()

    @nn.compact
    def __call__(self, y: jax.Array) -> jax.Array:
        y = as_float(y)
        if y.ndim < 1:
            raise ValueError(f"y must have shape [..., m], got shape {y.shape}")
        out_shape = tuple(self.output_shape)
        size = 1
        for d in out_shape:
            size *= d
        return dense_stack(self, y, size, "outputs").reshape(y.shape[:-1] + out_shape)


class Discriminator(nn.Module):
    """MLP classifier on codes ``[..., m] -> logits [..., num_classes]``.

    The IABF total-correlation discriminator (Song et al. 2020, the density-ratio trick of
    FactorVAE): hidden layers with bias and leaky ReLU 0.2, then a linear layer with no bias
    giving 2 logits (class 0: samples of the joint code distribution, class 1: samples of the
    product of its marginals, i.e. per-dimension shuffled codes). The TC estimate is
    ``mean(D_0 - D_1)``; that and the training loss belong to the method, not to this module.

    Attributes:
      hidden: hidden-layer widths (reference: ``(500,)``).
      num_classes: number of output logits (reference: 2).
      hidden_bias, output_bias: bias pattern (reference: True, False).
      negative_slope: leaky ReLU slope (reference: 0.2).
      kernel_init, bias_init: initializers (reference: glorot-uniform, zeros).
    """

    hidden: Sequence[int] = (500,)
    num_classes: int = 2
    hidden_bias: bool = True
    output_bias: bool = False
    negative_slope: float = LEAKY_SLOPE
    kernel_init: Initializer = default_kernel_init
    bias_init: Initializer = default_bias_init

    def __post_init__(self) -> None:
        check_widths(self.hidden, "hidden")
        check_positive_int(self.num_classes, "num_classes")
        super().__post_init__()

    @nn.compact
    def __call__(self, codes: jax.Array) -> jax.Array:
        h = as_float(codes)
        if h.ndim < 1:
            raise ValueError(f"codes must have shape [..., m], got shape {h.shape}")
        return dense_stack(self, h, self.num_classes, "logits")
