"""Core data types, the dataset registry and helpers shared by every data source.

Every dataset ends up as a :class:`Splits`: train/valid/test float32 numpy arrays with values in [0, 1] (images HWC)
and optional int32 labels. Nothing here depends on JAX; training code moves the arrays to the device.

A *loader* is a function registered for one ``(dataset name, source)`` pair with :func:`register`::

    @register("my_dataset", "local")
    def _my_dataset_local(*, data_dir, seed, limits, my_option=3):
        return make_splits("my_dataset", {"train": (x_tr, y_tr), "valid": ..., "test": ...},
                           is_binary=False, limits=limits, scale=255.0)

Contract: keyword-only ``data_dir`` (a :class:`pathlib.Path` or None), ``seed`` (int >= 0, the only source of
randomness: split permutations, generated data) and ``limits`` (validated ``split -> int | None``, see
:func:`normalize_limit`); further keyword-only arguments with defaults are dataset options from
``load_splits(..., **options)`` (unknown ones are rejected before the call). A loader returns un-binarized data
(``load_splits`` applies ``binarize``), with ``is_binary`` set when the data itself is {0, 1}. ``limits`` keep a
*prefix* of each split after splitting, so a capped smoke run sees the first examples of the full run's splits.
Missing files / unprepared datasets raise :class:`DataNotFoundError` (``source='auto'`` then falls back to the next
source); malformed data raises ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from neuralcodes_jax.config_utils import check_choice, check_int

SPLIT_NAMES: tuple[str, ...] = ("train", "valid", "test")
"""The three splits of every dataset, in this order."""

SOURCES: tuple[str, ...] = ("synthetic", "embedded", "local", "tfds")
"""Data sources: generated in code, shipped inside a Python package, files on disk, TensorFlow Datasets."""

BINARIZE_MODES: tuple[str, ...] = ("none", "threshold", "stochastic")
"""``none`` keeps grey/RGB values; ``threshold`` maps x -> 1[x > 0.5]; ``stochastic`` draws one fixed, seeded
Bernoulli(x) sample per pixel (a static binarization, like the Larochelle-Murray Binary MNIST)."""

# Common loader arguments; every other keyword-only parameter of a loader is a dataset option.
_LOADER_COMMON_ARGS = ("data_dir", "seed", "limits")


class DataNotFoundError(ValueError):
    """A dataset's files (local) or prepared TFDS data are not available; the message says what to do."""


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Splits:
    """Train/valid/test arrays of one dataset.

    Attributes:
      name: canonical dataset name (see :func:`list_datasets`).
      train, valid, test: read-only float32 arrays ``[N, *shape]`` with values in [0, 1]; images are HWC, e.g.
        (28, 28, 1), (32, 32, 3), (64, 64, 3); the random-bits source gives vectors (input_dim,).
      is_binary: True when every value is in {0, 1} (use a Bernoulli decoder), else grey/RGB intensities.
      train_labels, valid_labels, test_labels: read-only int32 ``[N]`` labels when the source has labels, else None.
    """

    name: str
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    is_binary: bool
    train_labels: np.ndarray | None = None
    valid_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        shape = None
        for split in SPLIT_NAMES:
            x = getattr(self, split)
            if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim < 2:
                raise ValueError(
                    f"Splits.{split} of {self.name!r} must be a float32 numpy array [N, *shape], got "
                    f"{type(x).__name__} {getattr(x, 'dtype', None)} {getattr(x, 'shape', None)}"
                )
            if shape is None:
                shape = x.shape[1:]
            elif x.shape[1:] != shape:
                raise ValueError(
                    f"Splits.{split} of {self.name!r} has example shape {x.shape[1:]}, expected {shape} as in train"
                )
            if x.size:
                lo, hi = float(x.min()), float(x.max())
                if not (lo >= 0.0 and hi <= 1.0):
                    raise ValueError(
                        f"Splits.{split} of {self.name!r} must have values in [0, 1], got range [{lo}, {hi}]"
                    )
                if self.is_binary and not np.all((x == 0.0) | (x == 1.0)):
                    raise ValueError(f"Splits.{split} of {self.name!r} has is_binary=True but values outside {{0, 1}}")
            x.setflags(write=False)
            labels = getattr(self, f"{split}_labels")
            if labels is not None:
                if not isinstance(labels, np.ndarray) or labels.dtype != np.int32 or labels.shape != x.shape[:1]:
                    raise ValueError(
                        f"Splits.{split}_labels of {self.name!r} must be int32 with shape {x.shape[:1]}, got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)} {getattr(labels, 'shape', None)}"
                    )
                labels.setflags(write=False)

    def __repr__(self) -> str:
        labels = "labelled" if self.has_labels else "unlabelled"
        return (
            f"Splits(name={self.name!r}, shape={self.shape}, num_examples={self.num_examples}, "
            f"is_binary={self.is_binary}, {labels})"
        )

    @property
    def shape(self) -> tuple[int, ...]:
        """Per-example shape, e.g. (28, 28, 1) or (100,)."""
        return tuple(self.train.shape[1:])

    @property
    def num_examples(self) -> dict[str, int]:
        """Number of examples per split."""
        return {split: int(getattr(self, split).shape[0]) for split in SPLIT_NAMES}

    @property
    def has_labels(self) -> bool:
        """True when all three splits carry labels."""
        return all(getattr(self, f"{s}_labels") is not None for s in SPLIT_NAMES)

    def get(self, split: str) -> tuple[np.ndarray, np.ndarray | None]:
        """``(images, labels)`` of one split; ``split`` is one of 'train', 'valid', 'test'."""
        if split not in SPLIT_NAMES:
            raise ValueError(f"split must be one of {SPLIT_NAMES}, got {split!r}")
        return getattr(self, split), getattr(self, f"{split}_labels")


# ---------------------------------------------------------------------------------------------------------------
# Registry.

Loader = Callable[..., Splits]

_LOADERS: dict[str, dict[str, Loader]] = {}
_ALIASES: dict[str, str] = {}


def register(name: str, source: str, *, aliases: Sequence[str] = ()) -> Callable[[Loader], Loader]:
    """Decorator registering a loader of dataset ``name`` from ``source``; ``aliases`` also resolve to ``name``."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")

    def decorator(fn: Loader) -> Loader:
        params = inspect.signature(fn).parameters
        missing = [a for a in _LOADER_COMMON_ARGS if a not in params]
        if missing:
            raise ValueError(f"loader {fn.__name__} for {name!r} must accept keyword arguments {missing}")
        if name in _ALIASES:
            raise ValueError(f"dataset name {name!r} is already an alias of {_ALIASES[name]!r}")
        per_source = _LOADERS.setdefault(name, {})
        if source in per_source:
            raise ValueError(f"dataset {name!r} already has a loader for source {source!r}")
        per_source[source] = fn
        for alias in aliases:
            if alias in _LOADERS or _ALIASES.get(alias, name) != name:
                raise ValueError(f"alias {alias!r} of {name!r} is already taken")
            _ALIASES[alias] = name
        return fn

    return decorator


def list_datasets() -> dict[str, tuple[str, ...]]:
    """Registered dataset names mapped to their sources (in :data:`SOURCES` order)."""
    return {name: tuple(s for s in SOURCES if s in per_source) for name, per_source in sorted(_LOADERS.items())}


def canonical_name(name: str) -> str:
    """Resolve an alias to its dataset name; ValueError listing the names when unknown."""
    if not isinstance(name, str):
        raise ValueError(f"dataset name must be a str, got {type(name).__name__}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _LOADERS:
        aliases = ", ".join(f"{a}->{n}" for a, n in sorted(_ALIASES.items()))
        raise ValueError(f"unknown dataset name {name!r}; allowed: {sorted(_LOADERS)} (aliases: {aliases})")
    return key


def get_loader(name: str, source: str) -> Loader:
    """The loader registered for (canonical ``name``, ``source``)."""
    per_source = _LOADERS[canonical_name(name)]
    if source not in per_source:
        raise ValueError(f"dataset {name!r} has no source {source!r}; allowed: {tuple(per_source)}")
    return per_source[source]


def loader_options(fn: Loader) -> dict[str, Any]:
    """The dataset options of a loader (its keyword-only arguments beyond the common ones) with defaults."""
    return {
        p.name: p.default
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in _LOADER_COMMON_ARGS
    }


# ---------------------------------------------------------------------------------------------------------------
# Argument checks.


def normalize_limit(limit: int | Mapping[str, int | None] | None) -> dict[str, int | None]:
    """Validate ``limit`` into ``{split: max examples or None}``.

    ``None`` keeps everything; an int caps every split; a mapping (dict or ConfigDict) caps the splits it names
    ('train', 'valid', 'test') with positive ints or None.
    """
    out: dict[str, int | None] = {s: None for s in SPLIT_NAMES}
    if limit is None:
        return out
    if isinstance(limit, (int, np.integer)) and not isinstance(limit, bool):
        n = check_int("limit", limit, 1)
        return {s: n for s in SPLIT_NAMES}
    if not hasattr(limit, "items"):
        raise ValueError(f"limit must be None, a positive int or a dict with keys in {SPLIT_NAMES}, got {limit!r}")
    for key, value in limit.items():
        check_choice("limit key", key, SPLIT_NAMES)
        out[key] = None if value is None else check_int(f"limit[{key!r}]", value, 1)
    return out


def prefix_len(n: int, limits: Mapping[str, int | None], split: str) -> int:
    """How many of the ``n`` examples of ``split`` survive ``limits``."""
    cap = limits.get(split)
    return n if cap is None else min(n, cap)


# ---------------------------------------------------------------------------------------------------------------
# Array helpers.


def split_counts(n: int, valid_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """``(n_train, n_valid, n_test)`` with the valid/test sizes rounded to the nearest integer."""
    n_valid = round(n * valid_fraction)
    n_test = round(n * test_fraction)
    if n_valid + n_test > n:
        raise ValueError(f"valid/test fractions {valid_fraction}/{test_fraction} exceed the {n} examples")
    return n - n_valid - n_test, n_valid, n_test


def split_indices(
    n: int, counts: Sequence[int], *, seed: int, labels: np.ndarray | None = None, stream: int = 0
) -> tuple[np.ndarray, ...]:
    """Seeded partition of ``range(n)`` into disjoint index sets of the given sizes (each in random order).

    Without labels: a uniform random permutation cut into consecutive pieces. With labels, stratified: examples are
    ordered by within-class quantile ``(rank + 1/2) / class_size`` (random ranks and tie-breaks), so every prefix,
    hence every piece, holds each class in proportion up to +-1 example. ``sum(counts)`` may be < n. The generator
    is ``np.random.default_rng([seed, stream])``.
    """
    counts = [check_int("split size", c, 0) for c in counts]
    if sum(counts) > n:
        raise ValueError(f"split sizes {counts} exceed the {n} available examples")
    rng = np.random.default_rng([check_int("seed", seed, 0), stream])
    if labels is None:
        order = rng.permutation(n)
    else:
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {labels.shape}")
        quantile = np.empty(n, dtype=np.float64)
        for cls in np.unique(labels):
            members = np.flatnonzero(labels == cls)
            ranks = rng.permutation(len(members))
            quantile[members] = (ranks + 0.5) / len(members)
        order = np.lexsort((rng.random(n), quantile))
    pieces, start = [], 0
    for c in counts:
        piece = order[start : start + c]
        pieces.append(piece[rng.permutation(c)])
        start += c
    return tuple(pieces)


def make_splits(
    name: str,
    parts: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    *,
    is_binary: bool,
    limits: Mapping[str, int | None],
    scale: float,
) -> Splits:
    """Build a :class:`Splits` from ``{split: (raw_values, labels or None)}``.

    Keeps the ``limits`` prefix of every split; values become float32 ``raw / scale`` (e.g. 255 for uint8 images),
    labels int32.
    """
    fields: dict[str, Any] = {}
    for split in SPLIT_NAMES:
        x, y = parts[split]
        keep = prefix_len(len(x), limits, split)
        x = np.asarray(x[:keep])
        fields[split] = (x.astype(np.float32) / np.float32(scale)) if scale != 1 else x.astype(np.float32)
        fields[f"{split}_labels"] = None if y is None else np.asarray(y[:keep]).astype(np.int32)
    return Splits(name=name, is_binary=is_binary, **fields)


def binarize(x: np.ndarray, mode: str, *, seed: int = 0, stream: int = 0) -> np.ndarray:
    """Binarize values in [0, 1] (float32 in, float32 {0, 1} out).

    ``threshold``: ``1[x > 0.5]`` (= ``np.round``, 0.5 -> 0). ``stochastic``: one Bernoulli(x) draw per value,
    ``u < x`` with ``u`` from ``np.random.default_rng([seed, 0xB1, stream])`` in row-major order, so the first n rows
    do not depend on how many follow (capped runs see the same binarization). ``none`` returns ``x`` unchanged.
    """
    check_choice("binarize", mode, BINARIZE_MODES)
    if mode == "none":
        return x
    if mode == "threshold":
        return (x > 0.5).astype(np.float32)
    rng = np.random.default_rng([check_int("seed", seed, 0), 0xB1, stream])
    return (rng.random(x.shape) < x).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Omniglot image helpers, shared by the local zip reader and TFDS.

OMNIGLOT_ALPHABETS: tuple[str, ...] = tuple(
    sorted(
        (
            # images_background (30 alphabets)
            "Alphabet_of_the_Magi",
            "Anglo-Saxon_Futhorc",
            "Arcadian",
            "Armenian",
            "Asomtavruli_(Georgian)",
            "Balinese",
            "Bengali",
            "Blackfoot_(Canadian_Aboriginal_Syllabics)",
            "Braille",
            "Burmese_(Myanmar)",
            "Cyrillic",
            "Early_Aramaic",
            "Futurama",
            "Grantha",
            "Greek",
            "Gujarati",
            "Hebrew",
            "Inuktitut_(Canadian_Aboriginal_Syllabics)",
            "Japanese_(hiragana)",
            "Japanese_(katakana)",
            "Korean",
            "Latin",
            "Malay_(Jawi_-_Arabic)",
            "Mkhedruli_(Georgian)",
            "N_Ko",
            "Ojibwe_(Canadian_Aboriginal_Syllabics)",
            "Sanskrit",
            "Syriac_(Estrangelo)",
            "Tagalog",
            "Tifinagh",
            # images_evaluation (20 alphabets)
            "Angelic",
            "Atemayar_Qelisayer",
            "Atlantean",
            "Aurek-Besh",
            "Avesta",
            "Ge_ez",
            "Glagolitic",
            "Gurmukhi",
            "Kannada",
            "Keble",
            "Malayalam",
            "Manipuri",
            "Mongolian",
            "Old_Church_Slavonic_(Cyrillic)",
            "Oriya",
            "Sylheti",
            "Syriac_(Serto)",
            "Tengwar",
            "Tibetan",
            "ULOG",
        )
    )
)
"""The 50 Omniglot alphabets, sorted; an alphabet's label is its index here, as in TFDS ``omniglot`` 'alphabet'."""

OMNIGLOT_RESAMPLING = "LANCZOS"
"""PIL filter used to shrink the 105x105 Omniglot images (PIL's former ``ANTIALIAS``, as the NECST CelebA code)."""


def omniglot_to_strokes(image: np.ndarray, size: int) -> np.ndarray:
    """One Omniglot image (105x105, grey/bool or RGB, white background, black strokes) -> uint8 ``[size, size]``
    with strokes high (255) on a 0 background: invert first, then resize with :data:`OMNIGLOT_RESAMPLING`."""
    from PIL import Image

    image = np.asarray(image)
    if image.ndim == 3:
        image = image[..., 0]
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    inverted = Image.fromarray(np.ascontiguousarray(255 - image.astype(np.uint8)))  # 2-D uint8 -> mode "L"
    if inverted.size != (size, size):
        inverted = inverted.resize((size, size), getattr(Image.Resampling, OMNIGLOT_RESAMPLING))
    return np.asarray(inverted, dtype=np.uint8)


def decode_png_strokes(data: bytes, size: int) -> np.ndarray:
    """Decode PNG bytes of an Omniglot image and apply :func:`omniglot_to_strokes`."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        grey = np.asarray(im.convert("L"), dtype=np.uint8)
    return omniglot_to_strokes(grey, size)


def celeba_resize_crop(image: np.ndarray) -> np.ndarray:
    """CelebA aligned image (218x178x3 uint8) -> 64x64x3 uint8 exactly as the NECST reference: PIL resize to
    width 64, height 78 with LANCZOS (``ANTIALIAS``), then keep rows 7..70 (a centred 64-row crop)."""
    from PIL import Image

    im = Image.fromarray(np.asarray(image, dtype=np.uint8)).resize((64, 78), Image.Resampling.LANCZOS)
    return np.asarray(im.crop((0, 7, 64, 71)), dtype=np.uint8)
