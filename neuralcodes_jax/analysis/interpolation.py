"""Latent-space interpolation by bit flips (NECST section 6.1, Fig. 3 and Fig. 4).

* Between two images (Fig. 3): the code of a start test image moves to that of a target test image by flipping the
  differing bits one per frame (:func:`flip_path`), in a seeded random order (the paper reports the order matters
  little, the channel noise being i.i.d. over bits) or in index order; every intermediate code is decoded.
* Random flips of growing count (Fig. 4): one more random, never-before-flipped bit per frame
  (:func:`random_flip_path`).

Codes are the noiseless encoder's most probable code ``y_hat = 1[sigmoid(f_phi(x)) > 1/2]``; frames show the decoder
mean ``sigmoid(f_theta(y))`` (the Bernoulli probability, or the Gaussian decoder's mean), without channel noise.

To quantify "it takes a significant number of bit flips to alter the identity of the digit", :func:`identity_curve`
decodes test codes after ``k`` random flips and asks a pixel-space k-NN (fitted on the model's own training images,
never on test images) whether the decoded digit keeps its true label.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from neuralcodes_jax.analysis import model_io

ORDERS = ("random", "index")


def flip_path(start: np.ndarray, target: np.ndarray, order: str = "random", seed: int = 0) -> np.ndarray:
    """Codes from ``start`` to ``target`` [m] flipping one differing bit per frame: ``[d + 1, m]`` int8.

    ``d`` is the Hamming distance; frame 0 is ``start``, frame ``d`` is ``target``. ``order``: 'random' (a
    permutation of the differing bits drawn with ``numpy.random.default_rng(seed)``) or 'index' (ascending).
    """
    start = _check_code("start", start)
    target = _check_code("target", target)
    if start.shape != target.shape:
        raise ValueError(f"start and target must have the same length, got {start.shape} and {target.shape}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {list(ORDERS)}, got {order!r}")
    differing = np.flatnonzero(start != target)
    if order == "random":
        differing = np.random.default_rng(seed).permutation(differing)
    frames = np.repeat(start[None], len(differing) + 1, axis=0)
    for k, bit in enumerate(differing, start=1):
        frames[k:, bit] = target[bit]
    return frames


def random_flip_path(code: np.ndarray, num_flips: int, seed: int = 0) -> np.ndarray:
    """``code`` [m] with 0, 1, ..., ``num_flips`` cumulative random bit flips: ``[num_flips + 1, m]`` int8.

    Flips follow a seeded random permutation of the m positions, so each frame flips one more, never-flipped bit.
    """
    code = _check_code("code", code)
    m = code.shape[0]
    if not 0 <= num_flips <= m:
        raise ValueError(f"num_flips must be in [0, {m}] (the code length), got {num_flips}")
    order = np.random.default_rng(seed).permutation(m)[:num_flips]
    frames = np.repeat(code[None], num_flips + 1, axis=0)
    for k, bit in enumerate(order, start=1):
        frames[k:, bit] = 1 - code[bit]
    return frames


def _check_code(name: str, code: np.ndarray) -> np.ndarray:
    code = np.asarray(code)
    if code.ndim != 1 or not np.all((code == 0) | (code == 1)):
        raise ValueError(f"{name} must be a 1-D array of bits in {{0, 1}}, got shape {code.shape}")
    return code.astype(np.int8)


def shown_frames(num_flips: int, max_frames: int) -> np.ndarray:
    """Frame indices to draw for a path of ``num_flips`` flips: all of them, or ``max_frames`` evenly spaced ones
    including the first and the last."""
    if max_frames < 2:
        raise ValueError(f"max_frames must be >= 2, got {max_frames}")
    if num_flips + 1 <= max_frames:
        return np.arange(num_flips + 1)
    return np.unique(np.round(np.linspace(0, num_flips, max_frames)).astype(int))


def choose_pairs(labels: np.ndarray, num_pairs: int, seed: int = 0) -> list[tuple[int, int]]:
    """``num_pairs`` (start, target) indices of test images with different labels, seeded."""
    labels = np.asarray(labels)
    if num_pairs < 1:
        raise ValueError(f"num_pairs must be >= 1, got {num_pairs}")
    if len(np.unique(labels)) < 2:
        raise ValueError("labels must hold at least two classes to pick pairs of different digits")
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    while len(pairs) < num_pairs:
        a, b = (int(i) for i in rng.choice(len(labels), 2, replace=False))
        if labels[a] != labels[b]:
            pairs.append((a, b))
    return pairs


def pixel_classifier(model: model_io.LoadedModel, n_neighbors: int = 5):
    """k-NN on raw pixels fitted on the model's train + valid images (the judge of decoded digits)."""
    from sklearn.neighbors import KNeighborsClassifier

    s = model.splits
    if s.train_labels is None:
        raise ValueError(f"dataset {s.name!r} has no labels; the identity curve needs labelled data")
    x = np.concatenate([s.train, s.valid]).reshape(len(s.train) + len(s.valid), -1)
    y = np.concatenate([s.train_labels, s.valid_labels])
    return KNeighborsClassifier(n_neighbors=n_neighbors).fit(x, y)


def identity_curve(
    model: model_io.LoadedModel, judge, flip_counts: Sequence[int], num_images: int = 500, seed: int = 0
) -> dict:
    """Fraction of decoded test codes the pixel judge still labels correctly after ``k`` random bit flips.

    The first ``num_images`` test codes (thresholded) get ``k`` distinct random flips (seed ``seed + image index``)
    for each ``k`` in ``flip_counts`` and are decoded to their mean.
    """
    s = model.splits
    n = min(num_images, len(s.test))
    codes = model.codes(s.test[:n])
    k_max = max(flip_counts)
    paths = np.stack([random_flip_path(codes[i], k_max, seed + i) for i in range(n)])  # [n, k_max + 1, m]
    chosen = paths[:, list(flip_counts)]  # [n, K, m]
    decoded = model.decode_mean(chosen.reshape(-1, chosen.shape[-1]))
    pred = judge.predict(decoded.reshape(len(decoded), -1)).reshape(n, len(flip_counts))
    truth = s.test_labels[:n]
    judge_clean = float(np.mean(judge.predict(s.test[:n].reshape(n, -1)) == truth))
    return {
        "flip_counts": [int(k) for k in flip_counts],
        "num_images": n,
        "accuracy": [float(v) for v in np.mean(pred == truth[:, None], axis=0)],
        "same_as_unflipped": [float(v) for v in np.mean(pred == pred[:, :1], axis=0)],
        "judge_accuracy_on_test_images": judge_clean,
    }


def run(
    models: Sequence[model_io.LoadedModel],
    labels: Sequence[str],
    out_dir: str,
    *,
    num_pairs: int = 3,
    order: str = "random",
    max_frames: int = 26,
    max_random_flips: int = 100,
    random_flip_step: int = 4,
    curve_counts: Sequence[int] = (0, 5, 10, 15, 20, 30, 40, 50, 60, 80, 100),
    curve_images: int = 500,
    seed: int = 0,
) -> dict:
    """Interpolation strips and random-flip strips for each model on the same test images; writes
    ``interpolation.png``, ``interpolation_random.png``, ``interpolation_identity.png``, ``interpolation.json``
    and ``interpolation.md`` into ``out_dir``. Returns the JSON dict."""
    if len(models) != len(labels):
        raise ValueError(f"labels must name every model: {len(models)} models, {len(labels)} labels")
    bits = int(models[0].config.model.bits)
    curve_counts = [k for k in curve_counts if k <= bits]
    ref = models[0].splits
    _check_same_test_set(models)
    pairs = choose_pairs(ref.test_labels, num_pairs, seed)
    result: dict = {
        "pairs": [],
        "random": [],
        "identity": {},
        "order": order,
        "seed": seed,
        "models": [model_io.describe(m) for m in models],
        "labels": list(labels),
    }
    strips, random_strips = [], []
    for model, label in zip(models, labels):
        x_idx = sorted({i for pair in pairs for i in pair})
        codes = dict(zip(x_idx, model.codes(ref.test[x_idx])))
        for p, (a, b) in enumerate(pairs):
            frames = flip_path(codes[a], codes[b], order, seed + p)
            shown = shown_frames(len(frames) - 1, max_frames)
            images = model.decode_mean(frames[shown])
            every = "every flip" if len(shown) == len(frames) else f"{len(shown)} of the {len(frames)} frames"
            strips.append(
                (
                    f"{label}: test #{a} (digit {ref.test_labels[a]}) -> #{b} (digit "
                    f"{ref.test_labels[b]}), {len(frames) - 1} bits differ, {every}",
                    ref.test[a],
                    images,
                    ref.test[b],
                )
            )
            result["pairs"].append(
                {
                    "model": label,
                    "start": a,
                    "target": b,
                    "start_label": int(ref.test_labels[a]),
                    "target_label": int(ref.test_labels[b]),
                    "hamming_distance": int(len(frames) - 1),
                    "flips_shown": [int(k) for k in shown],
                }
            )
        a = pairs[0][0]
        frames = random_flip_path(codes[a], min(max_random_flips, bits), seed)[::random_flip_step]
        random_strips.append(
            (
                f"{label}: test #{a}, 0 to {min(max_random_flips, bits)} random flips, step {random_flip_step}",
                ref.test[a],
                model.decode_mean(frames),
                None,
            )
        )
        result["random"].append(
            {
                "model": label,
                "image": a,
                "flip_counts": list(range(0, min(max_random_flips, bits) + 1, random_flip_step)),
            }
        )
        judge = pixel_classifier(model)
        result["identity"][label] = identity_curve(model, judge, curve_counts, curve_images, seed)
    os.makedirs(out_dir, exist_ok=True)
    _draw_strips(
        strips,
        os.path.join(out_dir, "interpolation.png"),
        "Bit-flip interpolation between test codes (decoder mean per frame)",
    )
    _draw_strips(
        random_strips,
        os.path.join(out_dir, "interpolation_random.png"),
        "Random bit flips of growing count (decoder mean)",
    )
    _draw_identity(result["identity"], os.path.join(out_dir, "interpolation_identity.png"))
    model_io.write_json(os.path.join(out_dir, "interpolation.json"), result)
    with open(os.path.join(out_dir, "interpolation.md"), "w") as f:
        f.write(markdown(result))
    return result


def _check_same_test_set(models: Sequence[model_io.LoadedModel]) -> None:
    ref = models[0].splits.test
    for m in models[1:]:
        if m.splits.test.shape != ref.shape or not np.array_equal(m.splits.test, ref):
            raise ValueError(
                f"every model must use the same test images to share the interpolation pairs; "
                f"{m.workdir} differs from {models[0].workdir}"
            )


def markdown(result: dict) -> str:
    lines = ["# Latent interpolation (NECST section 6.1)", "", "Models:", ""]
    lines += [f"- {d}" for d in result["models"]]
    lines += [
        "",
        "Codes are the thresholded encoder probabilities, frames the decoder mean; no channel noise. "
        f"Flip order: {result['order']} (seed {result['seed']}).",
        "",
        "![interpolation](interpolation.png)",
        "",
        "![random flips](interpolation_random.png)",
        "",
        "## Hamming distance between the start and target codes",
        "",
        "| model | start (digit) | target (digit) | bits differing |",
        "|---|---|---|---|",
    ]
    for p in result["pairs"]:
        lines.append(
            f"| {p['model']} | #{p['start']} ({p['start_label']}) | #{p['target']} ({p['target_label']}) | "
            f"{p['hamming_distance']} |"
        )
    first = next(iter(result["identity"].values()))
    lines += [
        "",
        "## Identity under random bit flips",
        "",
        f"Fraction of the first {first['num_images']} test images whose decoded code, after k random flips, "
        "a pixel k-NN (k = 5, fitted on the model's train + valid images) labels with the true digit. The judge "
        "labels the test images themselves correctly with the accuracy in the last column.",
        "",
        "| model | " + " | ".join(f"k={k}" for k in first["flip_counts"]) + " | judge on test images |",
        "|---|" + "---|" * (len(first["flip_counts"]) + 1),
    ]
    for label, c in result["identity"].items():
        lines.append(
            f"| {label} | "
            + " | ".join(f"{a:.3f}" for a in c["accuracy"])
            + f" | {c['judge_accuracy_on_test_images']:.3f} |"
        )
    worst = max(math.sqrt(a * (1 - a) / c["num_images"]) for c in result["identity"].values() for a in c["accuracy"])
    lines += [
        "",
        f"Binomial standard error of each entry: at most {worst:.3f}.",
        "",
        "![identity](interpolation_identity.png)",
        "",
    ]
    return "\n".join(lines)


def _draw_strips(strips, path: str, title: str, per_row: int = 26) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_row = min(per_row, max(len(s[2]) for s in strips))
    rows = []
    for caption, start, frames, target in strips:
        images = list(frames)
        grid_rows = [images[i : i + per_row] for i in range(0, len(images), per_row)]
        rows.append((caption, start, grid_rows, target))
    n_axes = sum(len(r[2]) for r in rows)
    fig, axes = plt.subplots(n_axes, 1, figsize=(per_row * 0.42 + 1.2, n_axes * 0.62 + 0.5), squeeze=False)
    i = 0
    for caption, start, grid_rows, target in rows:
        for j, row in enumerate(grid_rows):
            tiles = ([start] if j == 0 else [np.ones_like(start)]) + row
            tiles += [np.ones_like(start)] * (per_row + 1 - len(tiles))
            if target is not None:
                tiles.append(target if j == len(grid_rows) - 1 else np.ones_like(start))
            ax = axes[i, 0]
            ax.imshow(model_io.image_grid(np.stack(tiles)[None]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_title(
                    caption + " (first: input image" + (", last: target image)" if target is not None else ")"),
                    fontsize=7,
                    loc="left",
                )
            i += 1
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _draw_identity(curves: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for label, c in curves.items():
        ax.plot(c["flip_counts"], c["accuracy"], marker="o", ms=3, label=label)
    ax.set_xlabel("random bit flips k")
    ax.set_ylabel("decoded digit keeps its label")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
