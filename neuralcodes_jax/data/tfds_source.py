"""Datasets from TensorFlow Datasets (source 'tfds'), read offline into numpy arrays.

Each TFDS split is opened with ``tfds.data_source(name, split=..., data_dir=data_dir, download=False,
try_gcs=False)`` (random access to array_record files, no TensorFlow needed to read). When that fails (the data
was prepared in the TFRecord format, or an old TFDS), ``tfds.load(..., download=False, try_gcs=False)`` is streamed
through ``tfds.as_numpy`` instead (needs TensorFlow). Nothing is ever downloaded: when neither works a
:class:`~neuralcodes_jax.data.core.DataNotFoundError` names the dataset and ``data_dir`` and says how to prepare the
data on a networked machine (``tfds build <name> --data_dir=DIR``, then copy DIR) or to use source='local'.

Only the examples that survive ``limit`` are read and decoded. TFDS stores examples in its own fixed, shuffled
order (deterministic, the same on every machine), not in the order of the original files, so "first/last 10000
training images" below select a different (but still fixed) subset than the original files do.

Splits (train / valid / test):

* ``mnist``: 'standard': TFDS ``train[num_valid:]`` / ``train[:num_valid]`` / ``test`` with ``num_valid`` = 10000
  (the reference takes the first 10k training images as validation) -> 50k/10k/10k; 'test_only': the
  seeded stratified 6000/2000/2000 split of ``test`` (as the local source). Grey, labels.
* ``binarized_mnist``: ``train`` / ``validation`` / ``test`` (50k/10k/10k), binary, no labels.
* ``cifar10``: ``train[:-num_valid]`` / ``train[-num_valid:]`` / ``test`` with ``num_valid`` = 10000 (the reference
  uses batches 1-4 / batch 5 / test) -> 40k/10k/10k, RGB (32, 32, 3), labels.
* ``svhn_cropped``: 'standard' (default): ``train`` (73,257) split by a seeded permutation into 90% train / 10%
  valid, ``test`` (26,032) test. 'train_extra': ``train`` + ``extra`` (604,388; needs ~7.4 GB as float32)
  permuted with the seed, 90% train / 10% valid (the reference also trained on 90% of train+extra, but validated on
  ``extra``, which overlaps its training set), ``test`` test. RGB, labels 0-9.
* ``omniglot``: 'standard' (default): ``train`` (images_background) split by a seeded permutation into 90% train /
  10% valid, ``test`` (images_evaluation) test; 'small1': the ``small1`` split, 80/10/10 by a seeded permutation.
  The same schemes and seeds as the local source (see :mod:`neuralcodes_jax.data.local`); images inverted and
  resized to ``image_size`` (28) with LANCZOS; labels = ``alphabet``.
* ``celeb_a``: ``train`` / ``validation`` / ``test`` (162,770 / 19,867 / 19,962, the reference's index split),
  each image resized to 64x78 with LANCZOS and cropped to rows 7..70 -> (64, 64, 3), as the reference. No labels.
  The full training set needs ~8 GB as float32; use ``limit`` for smaller runs.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from neuralcodes_jax.data.core import (
    DataNotFoundError,
    Splits,
    celeba_resize_crop,
    check_choice,
    check_int,
    make_splits,
    omniglot_to_strokes,
    prefix_len,
    register,
    split_counts,
    split_indices,
)
from neuralcodes_jax.data.local import (
    MNIST_SPLIT_SCHEMES,
    OMNIGLOT_SMALL_FRACTIONS,
    OMNIGLOT_VALID_FRACTION,
    mnist_test_only_parts,
)

OMNIGLOT_TFDS_SCHEMES = ("standard", "small1")
SVHN_SPLIT_SCHEMES = ("standard", "train_extra")
SVHN_VALID_FRACTION = 0.1

# convert(example dict) -> (image array, label or None)
Convert = Callable[[Mapping[str, Any]], tuple[np.ndarray, Any]]
# plan: our split -> (TFDS splits concatenated in this order, indices into that concatenation)
Plan = dict[str, tuple[tuple[str, ...], np.ndarray]]


def _tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise DataNotFoundError(
            "source='tfds' needs the tensorflow-datasets package "
            "(pip install tensorflow-datasets), or use source='local'"
        ) from err
    return tfds


def _describe_dir(data_dir: pathlib.Path | None) -> str:
    if data_dir is not None:
        return repr(str(data_dir))
    default = os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
    return f"None (the TFDS default, {default})"


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"


class _SplitReader:
    """Random access to one TFDS split (``tfds.data_source``), or streaming through ``tfds.load``."""

    def __init__(self, dataset: str, tfds_name: str, split: str, data_dir: pathlib.Path | None):
        tfds = _tfds()
        self._tfds, self._split = tfds, split
        directory = None if data_dir is None else str(data_dir)
        self._source: Sequence[Any] | None = None
        self._dataset: Any = None
        try:
            self._source = tfds.data_source(tfds_name, split=split, data_dir=directory, download=False, try_gcs=False)
            self._len = len(self._source)
            return
        except Exception as err:
            source_err = err
        try:
            self._dataset = tfds.load(
                tfds_name, split=split, data_dir=directory, download=False, try_gcs=False, shuffle_files=False
            )
            n = int(self._dataset.cardinality())
            self._len = n if n >= 0 else sum(1 for _ in self._dataset)
        except Exception as err:
            raise DataNotFoundError(
                f"dataset {dataset!r}: TFDS dataset {tfds_name!r} (split {split!r}) is not available in "
                f"data_dir={_describe_dir(data_dir)}, and nothing is downloaded (download=False, try_gcs=False). "
                f"To fix: on a machine with network access run `tfds build {tfds_name} --data_dir=DIR` "
                f"(add --file_format=array_record for random access without TensorFlow), copy DIR here and pass "
                f"data_dir=DIR (or set TFDS_DATA_DIR); or use source='local' with the original files. "
                f"[tfds.data_source: {_short(source_err)}] [tfds.load: {_short(err)}]"
            ) from err

    def __len__(self) -> int:
        return self._len

    def read(self, indices: np.ndarray, convert: Convert) -> list[tuple[np.ndarray, Any]]:
        """Converted examples at ``indices`` (in that order)."""
        if self._source is not None:
            return [convert(self._source[int(i)]) for i in indices]
        wanted = {int(i): k for k, i in enumerate(indices)}
        out: list[Any] = [None] * len(indices)
        last = max(wanted, default=-1)
        for i, example in enumerate(self._tfds.as_numpy(self._dataset)):
            if i > last:
                break
            if i in wanted:
                out[wanted[i]] = convert(example)
        return out


def _read(
    readers: Sequence[_SplitReader], indices: np.ndarray, convert: Convert
) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``indices`` of the concatenation of ``readers`` into (images, labels or None)."""
    if len(indices) == 0:
        image, label = readers[0].read(np.arange(1), convert)[0]
        return np.empty((0,) + image.shape, image.dtype), None if label is None else np.empty(0, np.int64)
    examples: list[Any] = [None] * len(indices)
    offset = 0
    for reader in readers:
        mask = (indices >= offset) & (indices < offset + len(reader))
        positions = np.flatnonzero(mask)
        for pos, ex in zip(positions, reader.read(indices[positions] - offset, convert)):
            examples[pos] = ex
        offset += len(reader)
    if any(ex is None for ex in examples):
        raise ValueError(f"indices out of range for {offset} examples")
    images = np.stack([ex[0] for ex in examples])
    labels = None if examples[0][1] is None else np.asarray([ex[1] for ex in examples], dtype=np.int64)
    return images, labels


def _load(
    dataset: str,
    tfds_name: str,
    data_dir: pathlib.Path | None,
    limits: dict[str, int | None],
    tfds_splits: Sequence[str],
    plan_fn: Callable[[dict[str, int]], Plan],
    convert: Convert,
    *,
    is_binary: bool,
    scale: float,
) -> Splits:
    readers = {s: _SplitReader(dataset, tfds_name, s, data_dir) for s in tfds_splits}
    plan = plan_fn({s: len(r) for s, r in readers.items()})
    parts = {}
    for split, (sources, indices) in plan.items():
        indices = np.asarray(indices)[: prefix_len(len(indices), limits, split)]
        parts[split] = _read([readers[s] for s in sources], indices, convert)
    return make_splits(dataset, parts, is_binary=is_binary, limits=limits, scale=scale)


def _direct_plan(mapping: Mapping[str, str]) -> Callable[[dict[str, int]], Plan]:
    """Plan taking whole TFDS splits: ``mapping`` is our split -> TFDS split."""
    return lambda n: {ours: ((theirs,), np.arange(n[theirs])) for ours, theirs in mapping.items()}


def _check_holdout(dataset: str, split: str, n: int, num_valid: int) -> None:
    if num_valid >= n:
        raise ValueError(
            f"num_valid={num_valid} must be smaller than the {n} examples of TFDS {dataset!r} split {split!r}"
        )


def _image_label(label_key: str | None) -> Convert:
    return lambda ex: (np.asarray(ex["image"]), None if label_key is None else int(ex[label_key]))


@register("mnist", "tfds")
def load_mnist_tfds(
    *,
    data_dir: pathlib.Path | None,
    seed: int,
    limits: dict[str, int | None],
    split_scheme: str = "standard",
    num_valid: int = 10000,
) -> Splits:
    """TFDS ``mnist``: 'standard' 50k/10k/10k (first ``num_valid`` of train validate) or 'test_only' 6k/2k/2k."""
    check_choice("split_scheme", split_scheme, MNIST_SPLIT_SCHEMES)
    num_valid = check_int("num_valid", num_valid, 1)
    convert = _image_label("label")
    if split_scheme == "test_only":
        reader = _SplitReader("mnist", "mnist", "test", data_dir)
        x, y = _read([reader], np.arange(len(reader)), convert)
        return make_splits("mnist", mnist_test_only_parts(x, y, seed), is_binary=False, limits=limits, scale=255.0)

    def plan(n: dict[str, int]) -> Plan:
        _check_holdout("mnist", "train", n["train"], num_valid)
        return {
            "train": (("train",), np.arange(num_valid, n["train"])),
            "valid": (("train",), np.arange(num_valid)),
            "test": (("test",), np.arange(n["test"])),
        }

    return _load("mnist", "mnist", data_dir, limits, ("train", "test"), plan, convert, is_binary=False, scale=255.0)


@register("binarized_mnist", "tfds")
def load_binarized_mnist_tfds(*, data_dir: pathlib.Path | None, seed: int, limits: dict[str, int | None]) -> Splits:
    """TFDS ``binarized_mnist``: train / validation / test, values {0, 1}."""
    del seed

    def convert(ex: Mapping[str, Any]) -> tuple[np.ndarray, None]:
        image = np.asarray(ex["image"])
        if image.max(initial=0) > 1:
            raise ValueError(f"TFDS binarized_mnist: expected pixel values in {{0, 1}}, got max {image.max()}")
        return image, None

    return _load(
        "binarized_mnist",
        "binarized_mnist",
        data_dir,
        limits,
        ("train", "validation", "test"),
        _direct_plan({"train": "train", "valid": "validation", "test": "test"}),
        convert,
        is_binary=True,
        scale=1.0,
    )


@register("cifar10", "tfds")
def load_cifar10_tfds(
    *, data_dir: pathlib.Path | None, seed: int, limits: dict[str, int | None], num_valid: int = 10000
) -> Splits:
    """TFDS ``cifar10``: 40k/10k/10k, the last ``num_valid`` training images validate."""
    del seed
    num_valid = check_int("num_valid", num_valid, 1)

    def plan(n: dict[str, int]) -> Plan:
        _check_holdout("cifar10", "train", n["train"], num_valid)
        cut = n["train"] - num_valid
        return {
            "train": (("train",), np.arange(cut)),
            "valid": (("train",), np.arange(cut, n["train"])),
            "test": (("test",), np.arange(n["test"])),
        }

    return _load(
        "cifar10",
        "cifar10",
        data_dir,
        limits,
        ("train", "test"),
        plan,
        _image_label("label"),
        is_binary=False,
        scale=255.0,
    )


@register("svhn_cropped", "tfds", aliases=("svhn",))
def load_svhn_tfds(
    *, data_dir: pathlib.Path | None, seed: int, limits: dict[str, int | None], split_scheme: str = "standard"
) -> Splits:
    """TFDS ``svhn_cropped``: 'standard' (train 90/10 + test) or 'train_extra' (train+extra 90/10 + test)."""
    check_choice("split_scheme", split_scheme, SVHN_SPLIT_SCHEMES)
    pool = ("train",) if split_scheme == "standard" else ("train", "extra")

    def plan(n: dict[str, int]) -> Plan:
        total = sum(n[s] for s in pool)
        n_train, n_valid, _ = split_counts(total, SVHN_VALID_FRACTION, 0.0)
        tr, va = split_indices(total, (n_train, n_valid), seed=seed)
        return {"train": (pool, tr), "valid": (pool, va), "test": (("test",), np.arange(n["test"]))}

    return _load(
        "svhn_cropped",
        "svhn_cropped",
        data_dir,
        limits,
        pool + ("test",),
        plan,
        _image_label("label"),
        is_binary=False,
        scale=255.0,
    )


@register("omniglot", "tfds")
def load_omniglot_tfds(
    *,
    data_dir: pathlib.Path | None,
    seed: int,
    limits: dict[str, int | None],
    split_scheme: str = "standard",
    image_size: int = 28,
) -> Splits:
    """TFDS ``omniglot``: 'standard' (train 90/10 + test) or 'small1' (80/10/10), 28x28 strokes = 1."""
    check_choice("split_scheme (TFDS omniglot; 'iwae' needs source='local')", split_scheme, OMNIGLOT_TFDS_SCHEMES)
    image_size = check_int("image_size", image_size, 1)

    def convert(ex: Mapping[str, Any]) -> tuple[np.ndarray, int]:
        return omniglot_to_strokes(np.asarray(ex["image"]), image_size)[..., None], int(ex["alphabet"])

    if split_scheme == "standard":

        def plan(n: dict[str, int]) -> Plan:
            n_train, n_valid, _ = split_counts(n["train"], OMNIGLOT_VALID_FRACTION, 0.0)
            tr, va = split_indices(n["train"], (n_train, n_valid), seed=seed)
            return {"train": (("train",), tr), "valid": (("train",), va), "test": (("test",), np.arange(n["test"]))}

        tfds_splits: tuple[str, ...] = ("train", "test")
    else:

        def plan(n: dict[str, int]) -> Plan:
            idx = split_indices(n["small1"], split_counts(n["small1"], *OMNIGLOT_SMALL_FRACTIONS), seed=seed)
            return {split: (("small1",), i) for split, i in zip(("train", "valid", "test"), idx)}

        tfds_splits = ("small1",)
    return _load("omniglot", "omniglot", data_dir, limits, tfds_splits, plan, convert, is_binary=False, scale=255.0)


@register("celeb_a", "tfds", aliases=("celeba",))
def load_celeb_a_tfds(*, data_dir: pathlib.Path | None, seed: int, limits: dict[str, int | None]) -> Splits:
    """TFDS ``celeb_a``: train / validation / test, 64x64x3 as the reference (resize 64x78, crop rows 7..70)."""
    del seed
    return _load(
        "celeb_a",
        "celeb_a",
        data_dir,
        limits,
        ("train", "validation", "test"),
        _direct_plan({"train": "train", "valid": "validation", "test": "test"}),
        lambda ex: (celeba_resize_crop(np.asarray(ex["image"])), None),
        is_binary=False,
        scale=255.0,
    )
