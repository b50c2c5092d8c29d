"""Data layer: every dataset as in-memory float32 train/valid/test numpy arrays (:class:`Splits`).

Use :func:`load_splits` (or :func:`load_from_config` with ``config.data``); see
:mod:`neuralcodes_jax.data.sources` for the datasets, sources and how to add one.
"""

from neuralcodes_jax.data.core import (
    BINARIZE_MODES,
    OMNIGLOT_ALPHABETS,
    SOURCES,
    SPLIT_NAMES,
    DataNotFoundError,
    Splits,
    binarize,
    canonical_name,
    list_datasets,
    make_splits,
    register,
    split_indices,
)
from neuralcodes_jax.data.local import local_data_overrides, read_idx, read_omniglot_zip
from neuralcodes_jax.data.sources import load_from_config, load_splits

__all__ = [
    "BINARIZE_MODES",
    "OMNIGLOT_ALPHABETS",
    "SOURCES",
    "SPLIT_NAMES",
    "DataNotFoundError",
    "Splits",
    "binarize",
    "canonical_name",
    "list_datasets",
    "load_from_config",
    "load_splits",
    "local_data_overrides",
    "make_splits",
    "read_idx",
    "read_omniglot_zip",
    "register",
    "split_indices",
]
