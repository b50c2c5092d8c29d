"""The papers' result tables as data, and the run grid that reproduces each (read by ``launch/reproduce.py``).

A :class:`Table` holds the published numbers (per dataset block and method, one value per noise level), the
metric each block uses (a key of ``eval.json`` rows, see ``evaluators/distortion.py``), which methods can be run
here, how a run's config is built, and which fields are swept for selection on validation. :func:`grid` expands a
table into :class:`Run` entries; ``experiments/iabf/table1.py:get_sweep`` and the reproduction harness both use it,
so the grid is defined once.

Tables:

* ``iabf_table1``: Song et al. 2020 (IABF), Table 1: NECST / ABF / IABF at BSC noise 0.1 ... 0.4 on Binary MNIST
  (100 bits), Omniglot (200), CIFAR10 (500), MNIST (100); lambda chosen from {0.1, 0.01, 0.001} on validation.
  On request also ``abf_ref``: ABF with the public code's flip rule (not in the paper).
  The caption says "L^2 squared reconstruction error loss (per image)", but the Binary MNIST numbers are the
  released code's per-pixel sigmoid cross-entropy in nats (reference-impls section 0); the other blocks are the
  per-image SSE of the released code.
* ``necst_fig3``: Choi et al. 2019 (NECST), Fig. 3 left: NECST vs VAE + rate-1/2 LDPC at noise 0 ... 0.5 on Binary
  MNIST (100 bits), Binary Omniglot (200) and random bits (50). Metric: the per-pixel error rate of the rounded
  output. Reason: on random bits a code that carries no information (noise 0.5) gives error rate 0.5, per-pixel MSE
  0.25 and per-pixel cross-entropy 0.693; the table reads 0.498 / 0.502 there (and 0.291 at noise 0 for 50 of 100
  bits, against 0.25 for a perfect 50-bit code). Only NECST is run here; VAE + LDPC is quoted.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

METRIC_LABELS = {
    "bce_per_pixel_nats": "per-pixel cross-entropy (nats)",
    "sse_per_image": "per-image squared error (SSE)",
    "mse_per_pixel": "per-pixel squared error (MSE)",
    "pixel_error_rate": "per-pixel error rate of the rounded output",
    "nll_per_image_nats": "-log p(x|y) per image (nats)",
}


@dataclasses.dataclass(frozen=True)
class Block:
    """One dataset block of a table: published values per method at the table's noise levels."""

    dataset: str
    title: str
    bits: int
    metric: str
    paper: Mapping[str, tuple[float, ...]]


@dataclasses.dataclass(frozen=True)
class Table:
    """A published table and how to reproduce it.

    Attributes:
      table_id: the harness's name for it.
      source: paper and table/figure.
      caption: what the published numbers are.
      noise_levels: BSC noise of the columns; one model is trained per level and tested at the same level.
      blocks: dataset blocks.
      methods: method keys in display order (``paper`` values may include methods that are not runnable).
      runnable: methods the harness can train.
      method_titles: display names.
      default_methods: the methods of the table's grid (default: ``runnable``); others run on request.
      method_variants: method -> the words put for ``{method}`` in ``config_variant`` (default: the method).
      config_module, config_variant: format strings with ``{dataset}`` and ``{method}`` giving the config module
        (``get_config(variant)``) of a run; ``smoke`` is appended to the variant for smoke runs.
      sweep: method -> {config field: candidate values}; one run per combination, the best by validation kept.
      notes: extra lines for the report.
    """

    table_id: str
    source: str
    caption: str
    noise_levels: tuple[float, ...]
    blocks: tuple[Block, ...]
    methods: tuple[str, ...]
    runnable: tuple[str, ...]
    method_titles: Mapping[str, str]
    config_module: str
    config_variant: str
    sweep: Mapping[str, Mapping[str, tuple[Any, ...]]] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    default_methods: tuple[str, ...] | None = None
    method_variants: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def block(self, dataset: str) -> Block:
        for b in self.blocks:
            if b.dataset == dataset:
                return b
        raise ValueError(
            f"dataset must be one of {[b.dataset for b in self.blocks]} for table {self.table_id!r}, got {dataset!r}"
        )

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(b.dataset for b in self.blocks)


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run of a table's grid."""

    table_id: str
    dataset: str
    method: str
    noise: float
    sweep: tuple[tuple[str, Any], ...]  # (field, value) pairs of the swept fields, sorted
    config_module: str
    config_variant: str

    @property
    def group(self) -> tuple[str, str, float]:
        """Runs of one group differ only in swept fields; the best by validation represents the group."""
        return (self.dataset, self.method, self.noise)

    @property
    def name(self) -> str:
        parts = [f"eps{self.noise:g}"] + [
            f"{k.split('.')[-1]}{v:g}" if isinstance(v, float) else f"{k.split('.')[-1]}{v}" for k, v in self.sweep
        ]
        return f"{self.dataset}/{self.method}/{'_'.join(parts)}"

    @property
    def overrides(self) -> dict[str, Any]:
        """Config overrides of this run: the training noise, a single test noise, the swept fields."""
        out: dict[str, Any] = {"channel.eps": self.noise, "eval.noise_levels": (self.noise,)}
        out.update(dict(self.sweep))
        return out

    def config_ref(self, smoke: bool = False) -> str:
        """``file.py:variant`` as ``launch.main --config`` takes it."""
        variant = ",".join(v for v in (self.config_variant, "smoke" if smoke else "") if v)
        path = self.config_module.replace(".", "/") + ".py"
        return f"{path}:{variant}" if variant else path


_IABF_TABLE1 = Table(
    table_id="iabf_table1",
    source="Song et al. 2020 (IABF), Table 1",
    caption="distortion on the test set at the training noise (lower is better); one model per noise level, "
    "the checkpoint with the lowest validation loss",
    noise_levels=(0.1, 0.2, 0.3, 0.4),
    blocks=(
        Block(
            "binary_mnist",
            "Binary MNIST",
            100,
            "bce_per_pixel_nats",
            {
                "necst": (0.116, 0.150, 0.193, 0.249),
                "abf": (0.114, 0.149, 0.191, 0.244),
                "iabf": (0.113, 0.147, 0.189, 0.241),
            },
        ),
        Block(
            "omniglot",
            "Omniglot",
            200,
            "sse_per_image",
            {
                "necst": (24.693, 31.538, 39.657, 47.888),
                "abf": (24.192, 31.430, 39.039, 47.827),
                "iabf": (24.132, 31.373, 38.936, 47.608),
            },
        ),
        Block(
            "cifar10",
            "CIFAR10",
            500,
            "sse_per_image",
            {
                "necst": (63.238, 74.402, 89.619, 117.803),
                "abf": (58.992, 71.338, 83.192, 116.874),
                "iabf": (55.351, 70.525, 83.193, 116.281),
            },
        ),
        Block(
            "mnist",
            "MNIST",
            100,
            "sse_per_image",
            {
                "necst": (14.439, 22.556, 34.377, 48.291),
                "abf": (13.369, 22.013, 33.319, 48.041),
                "iabf": (13.251, 22.026, 33.176, 46.555),
            },
        ),
    ),
    methods=("necst", "abf", "iabf", "abf_ref"),
    runnable=("necst", "abf", "iabf", "abf_ref"),
    default_methods=("necst", "abf", "iabf"),
    method_titles={"necst": "NECST", "abf": "ABF", "iabf": "IABF", "abf_ref": "ABF, reference flips"},
    method_variants={"abf_ref": "abf,ref_flip"},
    config_module="experiments.iabf.table1",
    config_variant="{dataset},{method}",
    sweep={"iabf": {"iabf.infomax_weight": (0.1, 0.01, 0.001)}},
    notes=(
        "The paper's caption says 'L2 squared reconstruction error (per image)'; the Binary MNIST values match "
        "the released code's per-pixel cross-entropy in nats, the others its per-image SSE.",
        "lambda is chosen from {0.1, 0.01, 0.001} per dataset and noise level by the validation criterion "
        "(-log p(x|y) at the training noise, the same for every method).",
        "'ABF, reference flips' (not in the paper; run with --methods=...,abf_ref) is ABF with the public "
        "code's flip rule: Gumbel-top-7 of softmax(g^2) of the batch-mean loss and its direction test.",
    ),
)

_NECST_FIG3 = Table(
    table_id="necst_fig3",
    source="Choi et al. 2019 (NECST), Fig. 3 (left)",
    caption="reconstruction error on the test set at the training noise (lower is better)",
    noise_levels=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    blocks=(
        Block(
            "binary_mnist",
            "Binary MNIST",
            100,
            "pixel_error_rate",
            {
                "vae_ldpc": (0.047, 0.064, 0.094, 0.120, 0.144, 0.150),
                "necst": (0.039, 0.052, 0.066, 0.091, 0.125, 0.131),
            },
        ),
        Block(
            "omniglot",
            "Binary Omniglot",
            200,
            "pixel_error_rate",
            {
                "vae_ldpc": (0.048, 0.058, 0.076, 0.092, 0.106, 0.100),
                "necst": (0.035, 0.045, 0.057, 0.070, 0.080, 0.080),
            },
        ),
        Block(
            "random_bits",
            "Random bits",
            50,
            "pixel_error_rate",
            {
                "vae_ldpc": (0.352, 0.375, 0.411, 0.442, 0.470, 0.502),
                "necst": (0.291, 0.357, 0.407, 0.456, 0.500, 0.498),
            },
        ),
    ),
    methods=("vae_ldpc", "necst"),
    runnable=("necst",),
    method_titles={"vae_ldpc": "VAE + LDPC", "necst": "NECST"},
    config_module="experiments.necst.{dataset}",
    config_variant="",
    notes=(
        "The figure does not name its metric; the per-pixel error rate is the one consistent with the random-"
        "bits row (0.5 when the code carries no information). Every metric is in each run's eval.json.",
    ),
)

TABLES: dict[str, Table] = {t.table_id: t for t in (_IABF_TABLE1, _NECST_FIG3)}


def get_table(table_id: str) -> Table:
    if table_id not in TABLES:
        raise ValueError(f"table must be one of {sorted(TABLES)}, got {table_id!r}")
    return TABLES[table_id]


def _subset(field: str, requested: Sequence[Any] | None, allowed: Sequence[Any]) -> list[Any]:
    if requested is None:
        return list(allowed)
    bad = [r for r in requested if r not in allowed]
    if bad or not requested:
        raise ValueError(f"{field} must be a non-empty subset of {list(allowed)}, got {list(requested)}")
    return [a for a in allowed if a in requested]


def grid(
    table_id: str,
    datasets: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    noise_levels: Sequence[float] | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> list[Run]:
    """The runs reproducing ``table_id`` (restricted to the given datasets / methods / noise levels).

    ``fixed`` pins swept fields to one value (e.g. ``{'iabf.infomax_weight': 0.01}``), removing them from the sweep.
    Order: dataset, method, noise, sweep values.
    """
    table = get_table(table_id)
    fixed = dict(fixed or {})
    runs = []
    if methods is None:
        methods = table.default_methods or table.runnable
    for dataset in _subset("datasets", datasets, table.datasets):
        for method in _subset("methods", methods, table.runnable):
            words = table.method_variants.get(method, method)
            sweep = {k: v for k, v in table.sweep.get(method, {}).items() if k not in fixed}
            keys = sorted(sweep)
            for noise in _subset("noise_levels", noise_levels, table.noise_levels):
                for values in itertools.product(*(sweep[k] for k in keys)):
                    runs.append(
                        Run(
                            table_id=table_id,
                            dataset=dataset,
                            method=method,
                            noise=float(noise),
                            sweep=tuple(zip(keys, values)),
                            config_module=table.config_module.format(dataset=dataset, method=words),
                            config_variant=table.config_variant.format(dataset=dataset, method=words),
                        )
                    )
    return runs
