"""The shared base of neural decoders for a fixed code on BPSK-AWGN (neural BP, ECCT, ...; not a method itself).

The learned-decoder benchmark (Nachmani et al. 2018, "Deep learning methods for improved decoding of linear codes",
IEEE JSTSP; Choukroun and Wolf 2022, "Error Correction Code Transformer", NeurIPS, Table 1) fixes a code, sends
BPSK over AWGN and reports ``-ln(BER)`` at Eb/N0 = 4, 5, 6 dB. A decoder here is a function of channel LLRs
``L = log P(x=0|y) / P(x=1|y)`` ``[B, n]`` to output LLRs ``[B, n]`` of the same sign convention
(:meth:`NeuralDecoderMethod.decode_llr`); it trains on the channel outputs of the all-zero codeword
(:meth:`NeuralDecoderMethod.training_llr`), which is valid for decoders whose errors do not depend on the codeword
sent (BP-type decoders with symmetric updates, ECCT's magnitude-and-syndrome input) on a symmetric channel.

Config sections every neural decoder reads (:class:`NeuralDecoderConfig`; a method extends it):

* ``code.name``: a file of the benchmark (``BCH_N63_K45``, ``POLAR_N64_K32``, ``LDPC_N49_K24``, ...; looked up in
  ``code.data_dir``, default ``$NEURALCODES_SHARED_DATA/ecc_codes`` when that variable is set, else
  ``../shared/data/ecc_codes`` beside the repository) or any ``codes.catalog.make_code`` spec (``bch:63,45``,
  ``polar5g:64,32``, ``file:PATH``). BP runs on the file's matrix as given (``Code.bp_matrix``), else on the
  code's own parity-check matrix.
* ``channel.ebno_db``: the training Eb/N0 values (dB); each training example draws one uniformly. Default 2..7 dB,
  the range of ECCT's public code (``Main.py``: ``EbNo_range_train = range(2, 8)``, the noise std drawn per
  example); a method's config may set its paper's range.
* ``train.steps``, ``train.batch_size``, ``train.lr``: the step schedule, examples per step, learning rate.

The default evaluator is ``neural_decoder`` (``evaluators/neural_decoder.py``): BER/BLER of random codewords at
``eval.ebno_db`` with the error-count stop rule of :func:`codes.awgn.simulate_awgn` and ``-ln(BER)`` with its
interval.

A method subclasses :class:`NeuralDecoderMethod` and implements ``init_params(key)``, ``decode_llr(params, llr)``,
``optimizer()`` and, if the loss is not the BCE of the final output, ``loss(params, llr, key)``.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from neuralcodes_jax.codes import bounds, catalog, gf2
from neuralcodes_jax.config_utils import check_int, check_positive
from neuralcodes_jax.methods import base as base_lib

PyTree = Any

#: Environment variable of the shared data folder (its ``ecc_codes/`` holds the benchmark's matrices).
SHARED_DATA_ENV = "NEURALCODES_SHARED_DATA"
_BENCHMARK_SUFFIXES = (".txt", ".alist")
_HIGHEST = jax.lax.Precision.HIGHEST


def default_data_dir() -> str:
    """``$NEURALCODES_SHARED_DATA/ecc_codes`` when the variable is set, else ``../shared/data/ecc_codes`` beside
    the repository."""
    root = os.environ.get(SHARED_DATA_ENV)
    if root:
        return os.path.join(root, "ecc_codes")
    return str(Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ecc_codes")


def benchmark_codes(data_dir: str | None = None) -> dict[str, str]:
    """Name -> path of every parity-check file of the benchmark in ``data_dir`` (default :func:`default_data_dir`);
    empty when the folder is absent."""
    folder = data_dir or default_data_dir()
    if not os.path.isdir(folder):
        return {}
    out = {}
    for f in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(f)
        if ext in _BENCHMARK_SUFFIXES:
            out[stem] = os.path.join(folder, f)
    return out


def make_code(name: str, data_dir: str | None = None) -> catalog.Code:
    """The code ``name``: a benchmark file's name (``BCH_N63_K45``) or a ``codes.catalog.make_code`` spec
    (``bch:63,45``). ``ValueError`` naming ``code.name`` and the available benchmark names for an unknown name;
    a bad matrix file is refused by ``catalog.parity_check_from_file`` (wrong shape, non-binary, rank != n - k)
    with the file named."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"code.name must be a benchmark code name or a codes.catalog spec, got {name!r}")
    name = name.strip()
    if ":" in name:
        try:
            return catalog.make_code(name)
        except ValueError as err:
            raise ValueError(f"code.name {name!r}: {err}") from None
    available = benchmark_codes(data_dir)
    if name not in available:
        folder = data_dir or default_data_dir()
        raise ValueError(
            f"code.name {name!r} is neither a benchmark code in code.data_dir={folder!r} (available: "
            f"{sorted(available) or 'none: the folder is absent or empty'}) nor a codes.catalog "
            f"spec 'family:args' (families {list(catalog.CODE_FAMILIES)})"
        )
    try:
        code = catalog.make_code(f"file:{available[name]}")
    except ValueError as err:
        raise ValueError(f"code.name {name!r}: {err}") from None
    return dataclasses.replace(code, name=name)


def code_tables(name: str, data_dir: str | None = None) -> CodeTables:
    """``CodeTables.of(make_code(name, data_dir))``, computed once per process: the tables are read-only, and building
    them encodes the unit messages (a compiled JAX call). A benchmark file is read again when it changes (its
    modification time is part of the key); errors are raised afresh on every call."""
    if not isinstance(name, str) or not isinstance(data_dir, str | None):
        return CodeTables.of(make_code(name, data_dir))  # refused there, with the field named
    if ":" in name:  # a catalog spec reads no folder
        return _code_tables(name, "", None)
    folder = data_dir or default_data_dir()
    path = benchmark_codes(folder).get(name.strip())
    return _code_tables(name, folder, os.stat(path).st_mtime_ns if path else None)


@functools.lru_cache(maxsize=128)
def _code_tables(name: str, data_dir: str, stamp: int | None) -> CodeTables:
    del stamp  # only part of the key
    return CodeTables.of(make_code(name, data_dir))


# ----------------------------------------------------------------------------------------------------- the spec
@dataclasses.dataclass(frozen=True)
class CodeSection:
    """``code``: the fixed code (module docstring)."""

    name: str = "BCH_N63_K45"
    data_dir: str | None = None  # None: $NEURALCODES_SHARED_DATA/ecc_codes, else ../shared/data/ecc_codes


@dataclasses.dataclass(frozen=True)
class ChannelSection:
    """``channel``: BPSK-AWGN training channel; each example draws its Eb/N0 (dB) uniformly from ``ebno_db``."""

    ebno_db: tuple[float, ...] = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0)


@dataclasses.dataclass(frozen=True)
class TrainSection:
    """``train`` fields of a neural decoder (the loop's own are ``specs.LoopTrain``)."""

    steps: int = 10_000
    batch_size: int = 120
    lr: float = 1e-3


@dataclasses.dataclass(frozen=True)
class NeuralDecoderConfig:
    """What every neural decoder reads (a method's ``CONFIG`` extends it with its model and optimizer fields)."""

    code: CodeSection = CodeSection()
    channel: ChannelSection = ChannelSection()
    train: TrainSection = TrainSection()


def check_ebno(field: str, values: Any) -> tuple[float, ...]:
    """A non-empty tuple of finite Eb/N0 values in dB (``ValueError`` naming ``field`` otherwise)."""
    if isinstance(values, str) or not isinstance(values, (tuple, list)):
        raise ValueError(f"{field} must be a non-empty list of Eb/N0 values in dB, got {values!r}")
    if len(values) == 0:
        raise ValueError(f"{field} must hold at least one Eb/N0 value in dB, got an empty list")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise ValueError(f"{field} must hold finite Eb/N0 values in dB, got {values!r}")
        out.append(float(v))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------- the code
@dataclasses.dataclass(frozen=True, eq=False)
class CodeTables:
    """What a decoder needs of the code: ``n``, ``k``, ``parity_check`` (``uint8 [m, n]``, the matrix BP runs on),
    ``info_columns`` (``int [k]``) and ``unencode_matrix`` (``uint8 [k, k]``): message = codeword[:, info_columns]
    @ unencode_matrix (mod 2), for any linear encoder."""

    code: catalog.Code
    parity_check: np.ndarray
    info_columns: np.ndarray
    unencode_matrix: np.ndarray

    @classmethod
    def of(cls, code: catalog.Code) -> CodeTables:
        k = code.k
        g = np.asarray(code.encode(jnp.eye(k, dtype=jnp.uint8)), np.uint8)  # rows: codewords of unit messages
        if g.shape != (k, code.n):
            raise ValueError(f"code {code.name!r}: encoding the unit messages gave shape {g.shape}, not {(k, code.n)}")
        if code.bp_matrix is not None:
            h = np.asarray(code.bp_matrix, np.uint8)
        elif isinstance(getattr(code.obj, "parity_check", None), np.ndarray):
            h = np.asarray(code.obj.parity_check, np.uint8)
        else:
            h = gf2.generator_to_parity_check(g)
        if np.any(gf2.matmul(g, h.T)):
            raise ValueError(f"code {code.name!r}: its encoder's codewords do not satisfy the parity checks")
        _, pivots = gf2.row_reduce(g, f"generator of {code.name!r}")
        if len(pivots) != k:
            raise ValueError(f"code {code.name!r}: the encoder is not injective (generator rank {len(pivots)} < k={k})")
        cols = np.asarray(pivots, np.int64)
        inv = gf2.inverse(g[:, cols], f"generator of {code.name!r} on its pivot columns")
        for a in (h, cols, inv):
            a.setflags(write=False)
        return cls(code, h, cols, inv)

    @property
    def n(self) -> int:
        return self.code.n

    @property
    def k(self) -> int:
        return self.code.k

    def unencode(self, codewords: jax.Array) -> jax.Array:
        """Messages ``uint8 [B, k]`` of codewords ``[B, n]`` (jit-safe; exact float32 product of small integers)."""
        sub = jnp.take(codewords, jnp.asarray(self.info_columns), axis=-1).astype(jnp.float32)
        out = jnp.matmul(sub, jnp.asarray(self.unencode_matrix, jnp.float32), precision=_HIGHEST)
        return jnp.mod(out, 2.0).astype(jnp.uint8)


# -------------------------------------------------------------------------------------------------- the method
@dataclasses.dataclass(frozen=True, eq=False)
class NeuralDecoderMethod(base_lib.Method):
    """Base of neural decoders of a fixed code on BPSK-AWGN (module docstring). Subclasses add their fields (with
    defaults), extend :class:`NeuralDecoderConfig`, and implement :meth:`init_params`, :meth:`decode_llr` and
    :meth:`optimizer` (and :meth:`loss` if it is not the BCE of the final output)."""

    code_name: str = CodeSection.name
    data_dir: str | None = CodeSection.data_dir
    ebno_db: tuple[float, ...] = ChannelSection.ebno_db
    steps: int = TrainSection.steps
    batch_size: int = TrainSection.batch_size
    lr: float = TrainSection.lr

    CONFIG = NeuralDecoderConfig

    group_fields = ()
    uses_data = False
    has_validation = False
    evaluator = "neural_decoder"

    def __post_init__(self) -> None:
        # The code's tables are derived state, not a field: a method is described by its config values.
        object.__setattr__(self, "_tables", code_tables(self.code_name, self.data_dir))
        object.__setattr__(self, "ebno_db", check_ebno("channel.ebno_db", self.ebno_db))
        check_int("train.steps", self.steps, 1)
        check_int("train.batch_size", self.batch_size, 1)
        check_positive("train.lr", self.lr)

    @staticmethod
    def base_kwargs(spec: NeuralDecoderConfig) -> dict[str, Any]:
        """The constructor arguments of the base fields from a parsed spec (subclasses add their own)."""
        return {
            "code_name": spec.code.name,
            "data_dir": spec.code.data_dir,
            "ebno_db": spec.channel.ebno_db,
            "steps": spec.train.steps,
            "batch_size": spec.train.batch_size,
            "lr": spec.train.lr,
        }

    @classmethod
    def from_spec(cls, spec: Any, data: Any = None) -> NeuralDecoderMethod:
        return cls(**cls.base_kwargs(spec))

    # -- the code ------------------------------------------------------------------------------------------
    @property
    def tables(self) -> CodeTables:
        return self._tables  # type: ignore[attr-defined]

    @property
    def code(self) -> catalog.Code:
        return self.tables.code

    @property
    def n(self) -> int:
        return self.tables.n

    @property
    def k(self) -> int:
        return self.tables.k

    @property
    def parity_check(self) -> np.ndarray:
        """The parity-check matrix BP runs on: ``Code.bp_matrix`` if set (a benchmark file as given), else the
        code's own."""
        return self.tables.parity_check

    @property
    def rate(self) -> float:
        return self.k / self.n

    @property
    def channel(self) -> tuple[float, ...]:
        """The training channel: its Eb/N0 values (dB)."""
        return self.ebno_db

    def eval_settings(self) -> dict[str, Any]:
        return {"code": self.code.name, "n": self.n, "k": self.k, "train_ebno_db": list(self.ebno_db)}

    # -- the decoder -----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def init_params(self, key: jax.Array) -> PyTree: ...

    @abc.abstractmethod
    def decode_llr(self, params: PyTree, llr: jax.Array) -> jax.Array:
        """Output LLRs ``[B, n]`` (positive = bit 0) of channel LLRs ``[B, n]``."""

    @abc.abstractmethod
    def optimizer(self) -> optax.GradientTransformation: ...

    def llr_decoder(self, params: PyTree) -> Callable[[jax.Array], tuple[jax.Array, jax.Array]]:
        """A jit-safe ``llr [B, n] -> (message decisions uint8 [B, k], codeword decisions uint8 [B, n])``, as
        :func:`codes.awgn.simulate_awgn` expects with ``decision='codeword'``."""
        tables = self.tables

        def decode(llr: jax.Array) -> tuple[jax.Array, jax.Array]:
            bits = (self.decode_llr(params, llr) < 0).astype(jnp.uint8)
            return tables.unencode(bits), bits

        return decode

    # -- training ----------------------------------------------------------------------------------------------
    def sigmas(self) -> np.ndarray:
        """Noise std of each training Eb/N0 at the code's rate, float32 ``[len(ebno_db)]``."""
        return np.atleast_1d(bounds.ebn0_db_to_sigma(np.asarray(self.ebno_db), self.rate)).astype(np.float32)

    def training_llr(self, key: jax.Array, batch: int) -> jax.Array:
        """Channel LLRs ``[batch, n]`` of the all-zero codeword (BPSK +1), each example at an Eb/N0 drawn uniformly
        from ``channel.ebno_db``: ``L = 2 y / sigma^2``, ``y = 1 + sigma z``."""
        k_snr, k_noise = jax.random.split(key)
        sig = jnp.asarray(self.sigmas())[jax.random.randint(k_snr, (batch, 1), 0, len(self.ebno_db))]
        y = 1.0 + sig * jax.random.normal(k_noise, (batch, self.n), jnp.float32)
        return 2.0 * y / (sig * sig)

    def loss(self, params: PyTree, llr: jax.Array, key: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Default loss: mean binary cross-entropy of the output LLRs against the all-zero codeword,
        ``softplus(-L_out)`` (``P(bit = 1) = sigmoid(-L_out)``); aux: the output's bit error rate."""
        out = self.decode_llr(params, llr)
        return jnp.mean(jax.nn.softplus(-out)), {"ber": jnp.mean((out < 0).astype(jnp.float32))}

    def stages(self) -> tuple[base_lib.Stage, ...]:
        return (base_lib.Stage("train", self.steps),)

    def init(self, key: jax.Array, example_x: Any = None) -> PyTree:
        params = self.init_params(key)
        return {"params": params, "opt_state": self.optimizer().init(params), "step": jnp.zeros((), jnp.int32)}

    def train_step(self, state: PyTree, x: Any, key: jax.Array, stage: int = 0) -> tuple[PyTree, dict]:
        k_data, k_loss = jax.random.split(key)
        llr = self.training_llr(k_data, self.batch_size)
        (loss, aux), grads = jax.value_and_grad(self.loss, has_aux=True)(state["params"], llr, k_loss)
        params, opt_state = self.apply_gradients(self.optimizer(), state["params"], state["opt_state"], grads)
        grad_norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads)))
        metrics = {"loss": loss, "grad_norm": grad_norm, **aux}
        return {"params": params, "opt_state": opt_state, "step": state["step"] + 1}, metrics
