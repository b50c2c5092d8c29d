"""Datasets read from the original files on disk (source 'local').

``data_dir`` is either the folder holding the files or a parent folder with one sub-folder per dataset
(``binarized_mnist/``, ``mnist/``, ``omniglot/``); both places are searched, sub-folder first.

* ``binarized_mnist`` (alias ``binary_mnist``): ``binarized_mnist.npz`` with keys ``train`` (50000, 28, 28),
  ``valid`` (10000), ``test`` (10000), uint8 in {0, 1} (the Larochelle-Murray static binarization); or the original
  ``binarized_mnist_{train,valid,test}.amat`` text files. No labels. Binary.
* ``mnist``: the IDX files ``{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (optionally ``.gz``; the ``.idx3-ubyte``
  spelling is accepted too), parsed by :func:`read_idx`. ``split_scheme``:

  - ``'standard'`` (default): as the NECST reference (TF contrib ``read_data_sets(validation_size=10000)``), the
    *first* ``num_valid`` = 10000 training images are the validation set, the other 50000 the training set, and the
    10000 t10k images the test set. Needs all four files.
  - ``'test_only'``: only the two t10k files, split by a seeded stratified split into 6000/2000/2000. For tests and
    demos on machines without the training files; not comparable with published MNIST numbers.

* ``omniglot``: Lake et al.'s original zips of 105x105 PNGs (``<root>/<alphabet>/characterNN/*.png``, black strokes
  on white). Each image is inverted (strokes = 1) and shrunk to ``image_size`` (28) with PIL's LANCZOS filter
  (:data:`~neuralcodes_jax.data.core.OMNIGLOT_RESAMPLING`), giving grey values in [0, 1]; ``binarize='threshold'``
  rounds them to {0, 1} as the reference does. Labels are alphabet indices into the sorted 50 alphabet names
  (:data:`~neuralcodes_jax.data.core.OMNIGLOT_ALPHABETS`, the TFDS ``alphabet`` label). ``split_scheme``:

  - ``'standard'`` (default; same as TFDS): ``images_background.zip`` (19,280 images, 30 alphabets) split by a
    seeded random permutation into 90% train / 10% valid; ``images_evaluation.zip`` (13,180 images, the other 20
    alphabets) is the test set.
  - ``'small1'``: ``images_background_small1.zip`` (2,720 images, 5 alphabets) split 80/10/10 (2176/272/272) by a
    seeded random permutation.
  - ``'iwae'``: the 28x28 ``chardata.mat`` of Burda et al. (IWAE) that the NECST reference used: the first 23,845
    rows of ``data`` train, the remaining 500 rows valid (the reference took ``data[0:500]``, a subset of train), and
    ``testdata`` (8,070) test; images are reshaped in column-major order as in the IWAE code (the NECST converter
    used row-major, i.e. transposed images); labels from the one-hot ``target``.

  Decoding and resizing the 2,720 small1 PNGs takes well under a second; ``cache_dir`` (optional, default off)
  stores the resized uint8 arrays as an .npz keyed by zip name, size and image size.

:func:`local_data_overrides` turns a folder of these datasets (``--data_root`` of ``launch/reproduce.py`` and
``launch/baselines.py``) into the ``config.data`` overrides that read one of them from it.
"""

from __future__ import annotations

import gzip
import os
import pathlib
import tempfile
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from neuralcodes_jax.data.core import (
    OMNIGLOT_ALPHABETS,
    OMNIGLOT_RESAMPLING,
    DataNotFoundError,
    Splits,
    check_choice,
    check_int,
    decode_png_strokes,
    make_splits,
    register,
    split_counts,
    split_indices,
)

MNIST_SPLIT_SCHEMES = ("standard", "test_only")
MNIST_TEST_ONLY_SIZES = (6000, 2000, 2000)
OMNIGLOT_SPLIT_SCHEMES = ("standard", "small1", "iwae")
OMNIGLOT_VALID_FRACTION = 0.1  # 'standard': of images_background
OMNIGLOT_SMALL_FRACTIONS = (0.1, 0.1)  # 'small1': valid, test
IWAE_TRAIN_STOP = 23845

# IDX element types (third magic byte) -> big-endian numpy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# ---------------------------------------------------------------------------------------------------------------
# File lookup.


def _require_dir(data_dir: pathlib.Path | None, dataset: str) -> pathlib.Path:
    if data_dir is None:
        raise DataNotFoundError(
            f"dataset {dataset!r} with source='local' needs data_dir (the folder holding its "
            f"files, or its parent with a '{dataset}/' sub-folder)"
        )
    return pathlib.Path(data_dir).expanduser()


def _search_dirs(data_dir: pathlib.Path, subdir: str) -> list[pathlib.Path]:
    return [data_dir / subdir, data_dir]


def find_file(data_dir: pathlib.Path, subdir: str, names: Sequence[str]) -> pathlib.Path | None:
    """First existing ``data_dir/subdir/name`` or ``data_dir/name`` over ``names``, else None."""
    for folder in _search_dirs(data_dir, subdir):
        for name in names:
            path = folder / name
            if path.is_file():
                return path
    return None


def _missing(
    dataset: str, data_dir: pathlib.Path, subdir: str, missing: Sequence[str], hint: str = ""
) -> DataNotFoundError:
    where = " and ".join(str(p) for p in _search_dirs(data_dir, subdir))
    return DataNotFoundError(
        f"dataset {dataset!r} (source='local'): missing {', '.join(missing)}; looked in "
        f"{where}.{(' ' + hint) if hint else ''}"
    )


def _idx_names(prefix: str, kind: str) -> list[str]:
    """Accepted names of one IDX file, e.g. prefix 't10k', kind 'images-idx3': the original
    't10k-images-idx3-ubyte' and the common 't10k-images.idx3-ubyte' spelling, each gzipped or not."""
    what, idx = kind.split("-")
    names = [f"{prefix}-{what}-{idx}-ubyte", f"{prefix}-{what}.{idx}-ubyte"]
    return [n + ext for n in names for ext in (".gz", "")]


# ---------------------------------------------------------------------------------------------------------------
# IDX format.


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file (the MNIST format), gzip-compressed or not (detected from the content).

    Layout: two zero bytes, an element-type byte (0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64), the number of dimensions d, then d big-endian uint32 sizes and the row-major big-endian data.
    Returns a native-endian array of that shape; ValueError on a malformed header or a size mismatch.
    """
    path = pathlib.Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file: bad magic number {raw[:4].hex()!r}")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes for {ndim} dimensions)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path}: IDX header announces shape {dims} ({expected} bytes) but the file has {len(raw)} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))


# ---------------------------------------------------------------------------------------------------------------
# Binarized MNIST.


def check_image_array(name: str, x: Any, lo: float, hi: float) -> np.ndarray:
    """``x`` as an array of 28x28 images ``[N, 28, 28]`` (also accepted: ``[N, 784]``, ``[N, 28, 28, 1]``) with finite
    values in ``[lo, hi]``; otherwise an error naming ``name`` (the file) and the problem."""
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"{name}: expected numeric image data, got dtype {x.dtype}")
    if x.ndim == 2 and x.shape[1] == 784:
        x = x.reshape(-1, 28, 28)
    elif x.ndim == 4 and x.shape[1:] == (28, 28, 1):
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"{name}: expected images of shape [N, 28, 28] (or [N, 784]), got shape {x.shape}")
    if np.issubdtype(x.dtype, np.floating):
        bad = ~np.isfinite(x)
        if bad.any():
            first = np.argwhere(bad)[0]
            raise ValueError(
                f"{name}: {int(bad.sum())} non-finite value(s) (NaN or inf), the first in image "
                f"{first[0]} at ({first[1]}, {first[2]})"
            )
    if x.size and (x.min() < lo or x.max() > hi):
        outside = int(np.sum((x < lo) | (x > hi)))
        raise ValueError(f"{name}: {outside} value(s) outside [{lo:g}, {hi:g}], range [{x.min()}, {x.max()}]")
    return x


def _check_binary(name: str, x: np.ndarray) -> np.ndarray:
    x = check_image_array(name, x, 0, 1)
    if x.size and not np.all((x == 0) | (x == 1)):
        raise ValueError(f"{name}: expected values in {{0, 1}} (binarized images), got values between them")
    return x.astype(np.uint8).reshape(-1, 28, 28, 1)


@register("binarized_mnist", "local", aliases=("binary_mnist",))
def load_binarized_mnist_local(*, data_dir: pathlib.Path | None, seed: int, limits: dict[str, int | None]) -> Splits:
    """Binary MNIST 50000/10000/10000 from ``binarized_mnist.npz`` (or the three ``.amat`` files)."""
    del seed
    root = _require_dir(data_dir, "binarized_mnist")
    npz = find_file(root, "binarized_mnist", ["binarized_mnist.npz"])
    parts = {}
    if npz is not None:
        with np.load(npz) as f:
            missing = [k for k in ("train", "valid", "test") if k not in f.files]
            if missing:
                raise ValueError(f"{npz} lacks keys {missing}; has {f.files}")
            for split in ("train", "valid", "test"):
                parts[split] = (_check_binary(f"{npz}[{split!r}]", f[split]), None)
    else:
        amats = {
            s: find_file(root, "binarized_mnist", [f"binarized_mnist_{s}.amat"]) for s in ("train", "valid", "test")
        }
        if any(p is None for p in amats.values()):
            raise _missing(
                "binarized_mnist",
                root,
                "binarized_mnist",
                ["binarized_mnist.npz (or binarized_mnist_{train,valid,test}.amat)"],
            )
        for split, path in amats.items():
            parts[split] = (_check_binary(str(path), np.loadtxt(path, dtype=np.float32)), None)
    return make_splits("binarized_mnist", parts, is_binary=True, limits=limits, scale=1.0)


# ---------------------------------------------------------------------------------------------------------------
# MNIST.


def _check_mnist(images: np.ndarray, labels: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{what}: expected uint8 images [N, 28, 28], got {images.dtype} {images.shape}")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"{what}: {labels.shape[0] if labels.ndim else labels} labels for {images.shape[0]} images")
    return images.reshape(-1, 28, 28, 1), labels


def mnist_standard_parts(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, num_valid: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Reference MNIST split: the first ``num_valid`` training images validate, the rest train."""
    num_valid = check_int("num_valid", num_valid, 1)
    if num_valid >= len(train_x):
        raise ValueError(f"num_valid={num_valid} must be smaller than the {len(train_x)} MNIST training images")
    return {
        "train": (train_x[num_valid:], train_y[num_valid:]),
        "valid": (train_x[:num_valid], train_y[:num_valid]),
        "test": (test_x, test_y),
    }


def mnist_test_only_parts(
    test_x: np.ndarray, test_y: np.ndarray, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """'test_only' scheme: seeded stratified 6000/2000/2000 split of the 10000 test images (scaled down
    proportionally, 60/20/20, when fewer are given)."""
    n = len(test_x)
    sizes = MNIST_TEST_ONLY_SIZES if n == sum(MNIST_TEST_ONLY_SIZES) else split_counts(n, 0.2, 0.2)
    idx = split_indices(n, sizes, seed=seed, labels=test_y)
    return {split: (test_x[i], test_y[i]) for split, i in zip(("train", "valid", "test"), idx)}


@register("mnist", "local")
def load_mnist_local(
    *,
    data_dir: pathlib.Path | None,
    seed: int,
    limits: dict[str, int | None],
    split_scheme: str = "standard",
    num_valid: int = 10000,
) -> Splits:
    """Grey MNIST from IDX files; ``split_scheme`` 'standard' (50k/10k/10k) or 'test_only' (6k/2k/2k)."""
    check_choice("split_scheme", split_scheme, MNIST_SPLIT_SCHEMES)
    root = _require_dir(data_dir, "mnist")
    prefixes = ("train", "t10k") if split_scheme == "standard" else ("t10k",)
    files, missing = {}, []
    for prefix in prefixes:
        for kind in ("images-idx3", "labels-idx1"):
            names = _idx_names(prefix, kind)
            files[(prefix, kind.split("-")[0])] = path = find_file(root, "mnist", names)
            if path is None:
                missing.append(f"{names[1]}[.gz]")
    if missing:
        hint = (
            "Only the test files are needed with split_scheme='test_only' (a 6000/2000/2000 split of the test set)."
            if split_scheme == "standard"
            else ""
        )
        raise _missing("mnist", root, "mnist", missing, hint)
    arrays = {
        prefix: _check_mnist(
            read_idx(files[(prefix, "images")]), read_idx(files[(prefix, "labels")]), f"MNIST {prefix} IDX files"
        )
        for prefix in prefixes
    }
    if split_scheme == "standard":
        parts = mnist_standard_parts(*arrays["train"], *arrays["t10k"], num_valid)
    else:
        parts = mnist_test_only_parts(*arrays["t10k"], seed)
    return make_splits("mnist", parts, is_binary=False, limits=limits, scale=255.0)


# ---------------------------------------------------------------------------------------------------------------
# Omniglot.


def alphabet_label(alphabet: str) -> int:
    """Index of an Omniglot alphabet in :data:`OMNIGLOT_ALPHABETS`; ValueError for an unknown name."""
    try:
        return OMNIGLOT_ALPHABETS.index(alphabet)
    except ValueError:
        raise ValueError(f"unknown Omniglot alphabet {alphabet!r}; known: {OMNIGLOT_ALPHABETS}") from None


def read_omniglot_zip(
    path: str | os.PathLike, image_size: int = 28, cache_dir: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Read an Omniglot zip of PNGs into ``(uint8 [N, s, s] with strokes high, int32 alphabet labels [N])``.

    Members are read in sorted path order; the alphabet is the folder two levels above each PNG. With
    ``cache_dir`` the result is stored in / loaded from ``omniglot_<zip stem>_<s>px_<filter>.npz`` there (reused
    only when the zip's byte size matches).
    """
    path = pathlib.Path(path)
    image_size = check_int("image_size", image_size, 1)
    zip_size = path.stat().st_size
    cache = None
    if cache_dir is not None:
        cache = pathlib.Path(cache_dir).expanduser() / (
            f"omniglot_{path.stem}_{image_size}px_{OMNIGLOT_RESAMPLING.lower()}.npz"
        )
        if cache.is_file():
            with np.load(cache) as f:
                if int(f["zip_size"]) == zip_size and f["images"].shape[1:] == (image_size, image_size):
                    return f["images"], f["labels"]
    with zipfile.ZipFile(path) as archive:
        members = sorted(n for n in archive.namelist() if n.lower().endswith(".png"))
        if not members:
            raise ValueError(f"{path} holds no PNG files")
        images = np.empty((len(members), image_size, image_size), dtype=np.uint8)
        labels = np.empty(len(members), dtype=np.int32)
        for i, member in enumerate(members):
            parts = member.split("/")
            if len(parts) < 3:
                raise ValueError(f"{path}: member {member!r} is not <alphabet>/<character>/<image>.png")
            labels[i] = alphabet_label(parts[-3])
            images[i] = decode_png_strokes(archive.read(member), image_size)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, images=images, labels=labels, zip_size=np.int64(zip_size))
        os.replace(tmp, cache)
    return images, labels


def _omniglot_mat(path: pathlib.Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from scipy.io import loadmat

    mat = loadmat(path)
    out = {}
    for key, target in (("data", "target"), ("testdata", "testtarget")):
        if key not in mat or target not in mat:
            raise ValueError(f"{path} lacks {key!r}/{target!r}; has {sorted(k for k in mat if not k.startswith('_'))}")
        x = np.asarray(mat[key], dtype=np.float64).T  # [N, 784]
        if x.ndim != 2 or x.shape[1] != 784:
            raise ValueError(f"{path}[{key!r}] must be [784, N], got shape {mat[key].shape}")
        images = x.reshape(-1, 28, 28, order="F")  # column-major, as the IWAE code
        images = check_image_array(f"{path}[{key!r}]", images, 0, 1)[..., None]
        out[key] = (images, np.argmax(np.asarray(mat[target]), axis=0))
    return out


@register("omniglot", "local")
def load_omniglot_local(
    *,
    data_dir: pathlib.Path | None,
    seed: int,
    limits: dict[str, int | None],
    split_scheme: str = "standard",
    image_size: int = 28,
    cache_dir: str | None = None,
) -> Splits:
    """Omniglot from the original zips ('standard', 'small1') or IWAE ``chardata.mat`` ('iwae')."""
    check_choice("split_scheme", split_scheme, OMNIGLOT_SPLIT_SCHEMES)
    image_size = check_int("image_size", image_size, 1)
    root = _require_dir(data_dir, "omniglot")
    if split_scheme == "iwae":
        if image_size != 28:
            raise ValueError(
                f"image_size must be 28 with split_scheme='iwae' (chardata.mat is 28x28), got {image_size}"
            )
        mat = find_file(root, "omniglot", ["chardata.mat"])
        if mat is None:
            raise _missing("omniglot", root, "omniglot", ["chardata.mat"])
        data = _omniglot_mat(mat)
        x, y = data["data"]
        if len(x) <= IWAE_TRAIN_STOP:
            raise ValueError(f"{mat}: 'data' has {len(x)} images, expected more than {IWAE_TRAIN_STOP}")
        parts = {
            "train": (x[:IWAE_TRAIN_STOP], y[:IWAE_TRAIN_STOP]),
            "valid": (x[IWAE_TRAIN_STOP:], y[IWAE_TRAIN_STOP:]),
            "test": data["testdata"],
        }
        return make_splits("omniglot", parts, is_binary=False, limits=limits, scale=1.0)

    needed = (
        ["images_background.zip", "images_evaluation.zip"]
        if split_scheme == "standard"
        else ["images_background_small1.zip"]
    )
    paths = {name: find_file(root, "omniglot", [name]) for name in needed}
    missing = [name for name, p in paths.items() if p is None]
    if missing:
        hint = "split_scheme='small1' needs only images_background_small1.zip." if split_scheme == "standard" else ""
        raise _missing("omniglot", root, "omniglot", missing, hint)
    arrays = {name: read_omniglot_zip(p, image_size, cache_dir) for name, p in paths.items()}
    return make_splits(
        "omniglot", omniglot_parts(split_scheme, arrays, seed), is_binary=False, limits=limits, scale=255.0
    )


def omniglot_parts(
    split_scheme: str, arrays: dict[str, tuple[np.ndarray, np.ndarray]], seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Split Omniglot arrays keyed by zip name (see the module docstring)."""
    if split_scheme == "standard":
        x, y = arrays["images_background.zip"]
        n_train, n_valid, _ = split_counts(len(x), OMNIGLOT_VALID_FRACTION, 0.0)
        tr, va = split_indices(len(x), (n_train, n_valid), seed=seed)
        x = x[..., None]
        test_x, test_y = arrays["images_evaluation.zip"]
        return {"train": (x[tr], y[tr]), "valid": (x[va], y[va]), "test": (test_x[..., None], test_y)}
    x, y = arrays["images_background_small1.zip"]
    idx = split_indices(len(x), split_counts(len(x), *OMNIGLOT_SMALL_FRACTIONS), seed=seed)
    return {split: (x[i][..., None], y[i]) for split, i in zip(("train", "valid", "test"), idx)}


# ---------------------------------------------------------------------------------------------------------------
# Config overrides for a folder of offline datasets.


def local_data_overrides(dataset: str, data_root: str | os.PathLike | None) -> tuple[dict[str, Any], str]:
    """``config.data`` overrides reading ``dataset`` from ``data_root`` when its files are there, and a note.

    ``data_root`` holds one sub-folder per dataset (``binarized_mnist/``, ``mnist/``, ``omniglot/``). Where only part
    of a dataset is there, the overrides pick the split scheme that fits and the note says so (MNIST test set only:
    'test_only'; Omniglot background-small-1 zip: 'small1'; the IWAE ``chardata.mat``: 'iwae'). Returns ``({}, "")``
    without a ``data_root`` and ``({}, note)`` when the dataset is not there (its config's default source is used).
    """
    if data_root is None:
        return {}, ""
    root = pathlib.Path(data_root)

    def has(folder: pathlib.Path, *names: str) -> bool:
        return all((folder / n).is_file() or (folder / (n + ".gz")).is_file() for n in names)

    if dataset == "binary_mnist":
        folder = root / "binarized_mnist"
        if folder.is_dir():
            return {"data.source": "local", "data.data_dir": str(folder)}, ""
    elif dataset == "mnist":
        folder = root / "mnist"
        if has(folder, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
            return {"data.source": "local", "data.data_dir": str(folder)}, ""
        if has(folder, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
            return (
                {"data.source": "local", "data.data_dir": str(folder), "data.split_scheme": "test_only"},
                "only the 10k MNIST test images are available: train/valid/test is a 6000/2000/2000 split of "
                "them (the paper trains on 50k), so absolute numbers are not comparable",
            )
    elif dataset == "omniglot":
        folder = root / "omniglot"
        if has(folder, "images_background.zip", "images_evaluation.zip"):
            return {"data.source": "local", "data.data_dir": str(folder)}, ""
        if has(folder, "images_background_small1.zip"):
            return (
                {"data.source": "local", "data.data_dir": str(folder), "data.split_scheme": "small1"},
                "only Omniglot 'images_background_small1' is available (split 'small1'); the paper uses the "
                "IWAE split (23k train / 8k test), so absolute numbers are not comparable",
            )
        if has(folder, "chardata.mat"):
            return {"data.source": "local", "data.data_dir": str(folder), "data.split_scheme": "iwae"}, ""
    return {}, f"no local files for {dataset} under the data root; the config's default source is used"
