"""Convolutional encoders and decoders of the NECST reference code (Flax Linen).

One family per colour dataset of NECST (Choi et al. 2019, Sec. 3.1 and Sec. 6), layers in the class docstrings:
CelebA 64x64x3 (ELU), SVHN 32x32x3 (ReLU + BN) and CIFAR10 32x32x3 (BN, ReLU, max-pool / nearest upsampling).

Convolutions keep their biases (the TF1 ``tf.layers`` default); dense layers into and out of the code have none.
Kernels are glorot-uniform, biases zero. Transposed convolutions use ``transpose_kernel=True`` to compute exactly TF's
``conv2d_transpose`` (gradient of a strided convolution, TF's SAME/VALID output sizes and pixel alignment); their
kernels have the TF layout ``[kh, kw, out, in]``. Decoders return pre-sigmoid values: the reference applies a sigmoid
for the mean of the fixed-variance Gaussian decoder (NECST Sec. 3.1); here the likelihood applies that link.

BatchNorm quirk: every ``batch_normalization`` call of the reference runs with the default ``training=False``, so the
moving statistics stay at mean 0, variance 1 and BN is a learnable per-channel affine
``gamma * x / sqrt(1 + 1e-3) + beta``. ``norm='frozen_affine'`` (default) reproduces exactly that as a stateless
module with ``scale``/``bias`` in the plain ``params`` pytree (no ``batch_stats``); ``norm='none'`` removes the layers.

Reference quirk not reproduced: the SVHN and CIFAR10 decoders' BN layers (and the final CIFAR10 conv) are unnamed, so
in the reference's K-sample VIMCO loop each sample k gets its own copy of those parameters (test time uses sample
0's). Here all samples share one set of parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from neuralcodes_jax.nets.mlp import (
    Initializer,
    as_float,
    check_positive_int,
    check_shape,
    default_bias_init,
    default_kernel_init,
    merge_leading,
    split_leading,
)

#: Variance epsilon of TF1 ``tf.layers.batch_normalization``.
BN_EPSILON = 1e-3

#: Allowed values of the ``norm`` option.
NORMS = ("frozen_affine", "none")


class FrozenAffineNorm(nn.Module):
    """Inference-mode BatchNorm with moving statistics frozen at mean 0, variance 1 (as in the NECST reference).

    ``y = scale * x / sqrt(1 + epsilon) + bias`` per channel (last axis); ``scale`` starts at 1, ``bias`` at 0.
    """

    epsilon: float = BN_EPSILON

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        channels = x.shape[-1]
        scale = self.param("scale", nn.initializers.ones_init(), (channels,), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros_init(), (channels,), jnp.float32)
        inv = 1.0 / math.sqrt(1.0 + self.epsilon)
        return x * (scale * inv).astype(x.dtype) + bias.astype(x.dtype)


def _check_norm(norm: Any) -> str:
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {list(NORMS)}, got {norm!r}")
    return norm


def _norm_layer(norm: str, name: str) -> Callable[[jax.Array], jax.Array]:
    if norm == "frozen_affine":
        return FrozenAffineNorm(name=name)
    return lambda h: h


def _check_image_input(x: jax.Array, name: str = "x") -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape [B, H, W, C], got shape {x.shape}")


def _check_spatial_multiple(shape: tuple[int, ...], factor: int, name: str) -> None:
    h, w = shape[0], shape[1]
    if h % factor or w % factor:
        raise ValueError(f"{name} spatial size must be divisible by {factor}, got {h}x{w}")


def _check_output_shape_3d(shape: tuple[int, ...]) -> None:
    if len(shape) != 3:
        raise ValueError(f"output_shape must be (H, W, C), got {shape!r}")


def upsample_nearest(x: jax.Array, factor: int = 2) -> jax.Array:
    """Nearest-neighbour upsampling of ``[B, H, W, C]`` (Keras ``UpSampling2D``)."""
    return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def _conv(
    features: int, kernel: int, stride: int, padding: str, name: str, kernel_init: Initializer, bias_init: Initializer
) -> nn.Conv:
    return nn.Conv(
        features,
        (kernel, kernel),
        strides=(stride, stride),
        padding=padding,
        kernel_init=kernel_init,
        bias_init=bias_init,
        name=name,
    )


def _conv_transpose(
    features: int, kernel: int, stride: int, padding: str, name: str, kernel_init: Initializer, bias_init: Initializer
) -> nn.ConvTranspose:
    """TF ``conv2d_transpose`` semantics: kernel ``[kh, kw, out, in]``, gradient alignment."""
    return nn.ConvTranspose(
        features,
        (kernel, kernel),
        strides=(stride, stride),
        padding=padding,
        transpose_kernel=True,
        kernel_init=kernel_init,
        bias_init=bias_init,
        name=name,
    )


def _dense(features: int, name: str, kernel_init: Initializer) -> nn.Dense:
    return nn.Dense(features, use_bias=False, kernel_init=kernel_init, name=name)


# ----------------------------------------------------------------------------------- CelebA


class CelebAEncoder(nn.Module):
    """CelebA encoder ``x [B, 64, 64, C] -> logits [B, m]`` (reference ``complex_encoder``).

    Four conv k4 s2 SAME (32, 32, 64, 64; ELU) take 64x64 to 4x4, conv 256 k4 VALID (ELU) gives 1x1x256, then
    dense m without bias. Other sizes divisible by 16 (at least 64) work: the last feature map is flattened.
    """

    m: int
    kernel_init: Initializer = default_kernel_init
    bias_init: Initializer = default_bias_init

    def __post_init__(self) -> None:
        check_positive_int(self.m, "m")
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = as_float(x)
        _check_image_input(x)
        if x.shape[1] < 64 or x.shape[2] < 64:
            raise ValueError(f"x spatial size must be at least 64x64, got {x.shape[1:3]}")
        _check_spatial_multiple(x.shape[1:3], 16, "x")
        init = dict(kernel_init=self.kernel_init, bias_init=self.bias_init)
        h = x
        for i, features in enumerate((32, 32, 64, 64)):
            h = nn.elu(_conv(features, 4, 2, "SAME", f"conv{i + 1}", **init)(h))
        h = nn.elu(_conv(256, 4, 1, "VALID", "conv5", **init)(h))
        h = h.reshape(h.shape[0], -1)
        return _dense(self.m, "fc_final", self.kernel_init)(h)


class CelebADecoder(nn.Module):
    """CelebA decoder ``y [..., m] -> pre-sigmoid [..., 64, 64, C]`` (``complex_decoder``).

    Dense 256 (ELU, no bias) -> 1x1x256 -> convT 256 k4 VALID (4x4, ELU) -> convT k4 s2 SAME 64, 64, 32 (ELU) ->
    convT C k4 s2 SAME (64x64xC, pre-sigmoid).
    """

    output_shape: tuple[int, ...] = (64, 64, 3)
    kernel_init: Initializer = default_kernel_init
    bias_init: Initializer = default_bias_init

    def __post_init__(self) -> None:
        shape = check_shape(self.output_shape, "output_shape")
        _check_output_shape_3d(shape)
        if shape[:2] != (64, 64):
            raise ValueError(f"output_shape must be (64, 64, C) for conv_celeba, got {shape!r}")
        super().__post_init__()

    @nn.compact
    def __call__(self, y: jax.Array) -> jax.Array:
        y, lead = merge_leading(as_float(y), 1)
        init = dict(kernel_init=self.kernel_init, bias_init=self.bias_init)
        h = nn.elu(_dense(256, "fc1", self.kernel_init)(y))
        h = h.reshape(h.shape[0], 1, 1, 256)
        h = nn.elu(_conv_transpose(256, 4, 1, "VALID", "deconv1", **init)(h))
        for i, features in enumerate((64, 64, 32)):
            h = nn.elu(_conv_transpose(features, 4, 2, "SAME", f"deconv{i + 2}", **init)(h))
        h = _conv_transpose(self.output_shape[2], 4, 2, "SAME", "deconv5", **init)(h)
        return split_leading(h, lead)


# ------------------------------------------------------------------------------------- SVHN


class SVHNEncoder(nn.Module):
    """SVHN encoder ``x [B, 32, 32, C] -> logits [B, m]`` (``convolutional_32_encoder``).

    [conv k2 s2 VALID -> ReLU -> norm] x (128, 256, 512) (32 -> 4), flatten, dense m, no bias; H, W divisible by 8.
    """

    m: int
    norm: str = "frozen_affine"
    kernel_init: Initializer = default_kernel_init
    bias_init: Initializer = default_bias_init

    def __post_init__(self) -> None:
        check_positive_int(self.m, "m")
        _check_norm(self.norm)
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = as_float(x)
        _check_image_input(x)
        _check_spatial_multiple(x.shape[1:3], 8, "x")
        init = dict(kernel_init=self.kernel_init, bias_init=self.bias_init)
        h = x
        for i, features in enumerate((128, 256, 512)):
            h = nn.relu(_conv(features, 2, 2, "VALID", f"conv{i + 1}", **init)(h))
            h = _norm_layer(self.norm, f"bn{i + 1}")(h)
        h = h.reshape(h.shape[0], -1)
        return _dense(self.m, "fc_final", self.kernel_init)(h)


class SVHNDecoder(nn.Module):
    """SVHN decoder ``y [..., m] -> pre-sigmoid [..., 32, 32, C]`` (``convolutional_32_decoder``).

    Dense (H/8)*(W/8)*512 (ReLU, no bias) -> [convT k2 s2 VALID -> ReLU -> norm] x (512, 256, 128) -> conv C k1.
    """

    output_shape: tuple[int, ...] = (32, 32, 3)
    norm: str = "frozen_affine"
    kernel_init: Initializer = default_kernel_init
    bias_init: Initializer = default_bias_init

    def __post_init__(self) -> None:
        shape = check_shape(self.output_shape, "output_shape")
        _check_output_shape_3d(shape)
        _check_spatial_multiple(shape, 8, "output_shape")
        _check_norm(self.norm)
        super().__post_init__()

    @nn.compact
    def __call__(self, y: jax.Array) -> jax.Array:
        y, lead = merge_leading(as_float(y), 1)
        height, width, channels = (int(d) for d in self.output_shape)
        init = dict(kernel_init=self.kernel_init, bias_init=self.bias_init)
        h0, w0 = height // 8, width // 8
        h = nn.relu(_dense(h0 * w0 * 512, "fc1", self.kernel_init)(y))
        h = h.reshape(h.shape[0], h0, w0, 512)
        for i, features in enumerate((512, 256, 128)):
            h = nn.relu(_conv_transpose(features, 2, 2, "VALID", f"deconv{i + 1}", **init)(h))
            h = _norm_layer(self.norm, f"bn{i + 1}")(h)
        h = _conv(channels, 1, 1, "VALID", "deconv4", **init)(h)
        return split_leading(h, lead)


# ---------------------------------------------------------------------------------- CIFAR10


class CIFAR10Encoder(nn.Module):
    """CIFAR10 encoder ``x [B, 32, 32, C] -> logits [B, m]`` (``cifar10_convolutional_encoder``).

    [conv 3x3 SAME -> norm -> ReLU -> maxpool 2x2 s2 SAME] x (64, 32, 16) (32 -> 4), flatten, dense m without bias;
    any H, W divisible by 8.
    """

    m: int
    norm: str = "frozen_affine"
    kernel_init: Initializer = default_kernel_init
    bias_init: Initializer = default_bias_init

    def __post_init__(self) -> None:
        check_positive_int(self.m, "m")
        _check_norm(self.norm)
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = as_float(x)
        _check_image_input(x)
        _check_spatial_multiple(x.shape[1:3], 8, "x")
        init = dict(kernel_init=self.kernel_init, bias_init=self.bias_init)
        h = x
        for i, features in enumerate((64, 32, 16)):
            h = _conv(features, 3, 1, "SAME", f"conv{i + 1}", **init)(h)
            h = nn.relu(_norm_layer(self.norm, f"bn{i + 1}")(h))
            h = nn.max_pool(h, (2, 2), strides=(2, 2), padding="SAME")
        h = h.reshape(h.shape[0], -1)
        return _dense(self.m, "fc_final", self.kernel_init)(h)


class CIFAR10Decoder(nn.Module):
    """CIFAR10 decoder ``y [..., m] -> pre-sigmoid [..., 32, 32, C]`` (``cifar10_convolutional_decoder``).

    Dense (H/8)*(W/8)*16 (linear, no bias) -> [conv 3x3 SAME -> norm -> ReLU -> nearest upsample x2] x (16, 32, 64)
    -> conv C 3x3 SAME -> norm.
    """

    output_shape: tuple[int, ...] = (32, 32, 3)
    norm: str = "frozen_affine"
    kernel_init: Initializer = default_kernel_init
    bias_init: Initializer = default_bias_init

    def __post_init__(self) -> None:
        shape = check_shape(self.output_shape, "output_shape")
        _check_output_shape_3d(shape)
        _check_spatial_multiple(shape, 8, "output_shape")
        _check_norm(self.norm)
        super().__post_init__()

    @nn.compact
    def __call__(self, y: jax.Array) -> jax.Array:
        y, lead = merge_leading(as_float(y), 1)
        height, width, channels = (int(d) for d in self.output_shape)
        init = dict(kernel_init=self.kernel_init, bias_init=self.bias_init)
        h0, w0 = height // 8, width // 8
        h = _dense(h0 * w0 * 16, "fc1", self.kernel_init)(y)
        h = h.reshape(h.shape[0], h0, w0, 16)
        for i, features in enumerate((16, 32, 64)):
            h = _conv(features, 3, 1, "SAME", f"deconv{i + 1}", **init)(h)
            h = nn.relu(_norm_layer(self.norm, f"bn{i + 1}")(h))
            h = upsample_nearest(h, 2)
        h = _conv(channels, 3, 1, "SAME", "out_conv", **init)(h)
        h = _norm_layer(self.norm, "out_bn")(h)
        return split_leading(h, lead)
