"""BLER and BER versus Eb/N0 on the BPSK-AWGN channel by Monte Carlo, on device.

:func:`simulate_awgn` runs, for every Eb/N0 of a grid, jitted batches of: uniform random messages (or the all-zero
codeword), the encoder, BPSK ``0 -> +1, 1 -> -1`` with unit symbol energy, Gaussian noise of std
``sigma = sqrt(1 / (2 R Eb/N0))``, channel LLRs ``L = 2 y / sigma^2`` (``log P(x=0|y) / P(x=1|y)``, as
:func:`neuralcodes_jax.codes.ldpc.channel_llr`), the decoder, and counts of block and bit errors. A point stops after
the batch in which its block errors reach ``target_block_errors``, or after exactly ``max_blocks`` blocks (the last
batch is masked, so one compiled step serves every point).

Intervals (``confidence``, default 95%):

* BLER: Clopper-Pearson on (block errors, blocks) (:func:`neuralcodes_jax.codes.exact.clopper_pearson_interval`);
  blocks are independent, so its coverage is at least the nominal one.
* BER: the bits of one block are not independent (a wrong block usually has several wrong bits), so a binomial
  interval on (bit errors, bits) is too narrow. We use a conservative block-level interval: each block contributes
  ``X_b = (bit errors of block b) / k`` in ``[0, 1]``, i.i.d. over blocks with mean BER, and the interval is
  Clopper-Pearson with ``sum_b X_b`` "successes" in ``blocks`` trials (Beta quantiles with real parameters). A
  variable in ``[0, 1]`` is dominated in the convex order by a Bernoulli variable of the same mean (Hoeffding,
  JASA 58, 1963, Thm. 3), so this is at least as wide as needed when the errors of a block are fully dependent, and
  wider than needed otherwise. ``ber_lo_bits, ber_hi_bits`` give the binomial interval on bits (independent bits),
  for reference only.

The ML bracket (``ml_bracket=True``, for decoders that return codewords, such as OSD): ML decoding minimises the
BLER, so the decoder's BLER bounds the ML BLER from above; a block that the decoder gets wrong with a codeword
strictly more likely than the one sent (a larger correlation ``sum_i L_i (1 - 2 c_i)``) is an error of ML decoding
too, so the rate of such blocks bounds it from below (Fossorier & Lin 1995, Sec. VI; Dimitrov et al. 2018 use the
same count). Where the two meet, the curve is the ML curve.

Reproducibility: the key of point ``i`` is ``fold_in(key, i)`` and that of its batch ``j`` is ``fold_in(., j)``, so
a fixed key gives the same counts whatever the other points do.

The all-zero mode (``all_zero=True``) sends the all-zero codeword and needs no encoder: for a linear code and a
decoder whose error probability does not depend on the codeword sent (symmetric channel, symmetric decoder such as
BP, min-sum, OSD or ML with random tie-breaking) it gives the same BLER, and BER if the message bits are codeword
bits (systematic encoding).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from neuralcodes_jax.codes.bounds import ebn0_db_to_sigma
from neuralcodes_jax.codes.exact import clopper_pearson_interval

__all__ = ["AwgnPoint", "simulate_awgn", "fractional_clopper_pearson_interval", "DECISION_OPTIONS"]

DECISION_OPTIONS = ("message", "codeword")


#: The Clopper-Pearson interval with a real number of successes (``exact.clopper_pearson_interval`` takes them).
fractional_clopper_pearson_interval = clopper_pearson_interval


@dataclasses.dataclass(frozen=True)
class AwgnPoint:
    """One Eb/N0 point: counts, rates and intervals (see the module docstring for the intervals)."""

    ebn0_db: float
    sigma: float
    blocks: int
    block_errors: int
    bler: float
    bler_lo: float
    bler_hi: float
    bit_errors: int
    bits_per_block: int
    ber: float
    ber_lo: float
    ber_hi: float
    ber_lo_bits: float
    ber_hi_bits: float
    confidence: float
    stopped_by: str
    #: With ``ml_bracket``: blocks whose wrong decision is a codeword strictly more likely than the one sent (ML
    #: decoding errs on each of them), and the Clopper-Pearson interval of their rate. The ML BLER lies between
    #: ``ml_bler_lo`` and the decoder's ``bler_hi`` (module docstring).
    ml_block_errors: int | None = None
    ml_bler_lo: float | None = None
    ml_bler_hi: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _step_impl(
    key: jax.Array,
    sigma: jax.Array,
    valid: jax.Array,
    *,
    encode: Callable | None,
    decode: Callable,
    k: int,
    n: int,
    batch_size: int,
    all_zero: bool,
    decision: str,
    ml_bracket: bool = False,
):
    k_msg, k_noise = jax.random.split(key)
    if all_zero:
        messages = jnp.zeros((batch_size, k), jnp.uint8)
        codewords = jnp.zeros((batch_size, n), jnp.uint8)
    else:
        messages = jax.random.bernoulli(k_msg, 0.5, (batch_size, k)).astype(jnp.uint8)
        codewords = jnp.asarray(encode(messages)).astype(jnp.uint8)
        if codewords.shape != (batch_size, n):
            raise ValueError(
                f"encode must map [B, k] = {messages.shape} to [B, n] = {(batch_size, n)}, got {codewords.shape}"
            )
    x = 1.0 - 2.0 * codewords.astype(jnp.float32)
    y = x + sigma * jax.random.normal(k_noise, (batch_size, n), jnp.float32)
    llr = 2.0 * y / (sigma * sigma)
    decoded = decode(llr)
    out = decoded
    if isinstance(out, (tuple, list)):
        out = out[0] if decision == "message" else out[1]
    truth = messages if decision == "message" else codewords
    out = jnp.asarray(out)
    if out.shape != truth.shape:
        raise ValueError(f"decode must return {decision} decisions of shape {truth.shape}, got {out.shape}")
    in_batch = jnp.arange(batch_size) < valid
    wrong = (out.astype(jnp.uint8) != truth) & in_batch[:, None]
    per_block = jnp.sum(wrong, axis=-1, dtype=jnp.int32)
    ml_errors = jnp.zeros((), jnp.int32)
    if ml_bracket:  # blocks decided as a codeword strictly more likely than the one sent (module docstring)
        chosen = jnp.asarray(decoded[1]).astype(jnp.float32)
        if chosen.shape != codewords.shape:
            raise ValueError(
                f"ml_bracket needs decode to return (messages, codewords [B, n] = {codewords.shape}), "
                f"got codewords of shape {chosen.shape}"
            )
        corr_chosen = jnp.sum(llr * (1.0 - 2.0 * chosen), axis=-1)
        corr_sent = jnp.sum(llr * x, axis=-1)
        wrong_word = jnp.any(chosen.astype(jnp.uint8) != codewords, axis=-1)
        ml_errors = jnp.sum(wrong_word & (corr_chosen > corr_sent) & in_batch, dtype=jnp.int32)
    return jnp.sum(per_block > 0, dtype=jnp.int32), jnp.sum(per_block, dtype=jnp.int32), ml_errors


_step = jax.jit(
    _step_impl, static_argnames=("encode", "decode", "k", "n", "batch_size", "all_zero", "decision", "ml_bracket")
)


def simulate_awgn(
    decode: Callable[[jax.Array], Any],
    k: int,
    n: int,
    ebn0_db: Sequence[float],
    encode: Callable[[jax.Array], jax.Array] | None = None,
    *,
    rate: float | None = None,
    key: Any = 0,
    batch_size: int = 1000,
    target_block_errors: int = 100,
    max_blocks: int = 100_000,
    confidence: float = 0.95,
    all_zero: bool = False,
    decision: str = "message",
    ml_bracket: bool = False,
    progress: Callable[[AwgnPoint], None] | None = None,
) -> list[AwgnPoint]:
    """Monte Carlo BLER/BER of an encoder/decoder pair on BPSK-AWGN over an Eb/N0 grid (dB).

    Args:
      decode: JAX function, channel LLRs float32 ``[B, n]`` -> message decisions uint8/bool ``[B, k]``, or a tuple
        ``(message decisions, codeword decisions [B, n])``. Called inside ``jax.jit``; pass the same function object
        across calls to reuse the compiled step.
      k, n: message and code length.
      ebn0_db: non-empty sequence of finite Eb/N0 values in dB.
      encode: JAX function, message bits uint8 ``[B, k]`` -> codeword bits ``[B, n]``; not used with ``all_zero``.
      rate: the rate in ``Eb/N0 = Es/N0 / R`` (default ``k / n``; give it for codes whose information rate differs,
        e.g. with a CRC).
      key: ``jax.random.key`` or an integer seed.
      batch_size: blocks per jitted step.
      target_block_errors: stop a point after the batch in which block errors reach this.
      max_blocks: stop a point after exactly this many blocks.
      confidence: level of the intervals, in (0, 1).
      all_zero: send the all-zero codeword (see the module docstring).
      decision: ``"message"`` (BER over the k message bits) or ``"codeword"`` (BLER/BER on the n codeword bits;
        ``decode`` must then return a tuple).
      ml_bracket: also count the blocks decided as a codeword strictly more likely than the one sent, which
        bound the ML BLER from below (module docstring); ``decode`` must return ``(messages, codewords)`` whose
        codeword decisions are codewords of the code (OSD and ML decoders return them).
      progress: called with each finished :class:`AwgnPoint`.

    Returns one :class:`AwgnPoint` per Eb/N0, in grid order.
    """
    k = _check_positive_int("k", k)
    n = _check_positive_int("n", n)
    batch_size = _check_positive_int("batch_size", batch_size)
    target_block_errors = _check_positive_int("target_block_errors", target_block_errors)
    max_blocks = _check_positive_int("max_blocks", max_blocks)
    grid = np.asarray(ebn0_db, dtype=np.float64).reshape(-1) if np.ndim(ebn0_db) <= 1 else None
    if grid is None:
        raise ValueError(f"ebn0_db must be a 1-D sequence of dB values, got shape {np.shape(ebn0_db)}")
    if grid.size == 0:
        raise ValueError("ebn0_db must contain at least one Eb/N0 value (got an empty grid)")
    if not np.all(np.isfinite(grid)):
        raise ValueError(f"ebn0_db values must be finite, got {grid.tolist()}")
    if rate is None:
        if k > n:
            raise ValueError(f"k must be <= n when rate is not given, got k={k}, n={n}")
        rate = k / n
    rate = float(rate)
    if not (math.isfinite(rate) and 0.0 < rate <= 1.0):
        raise ValueError(f"rate must be in (0, 1], got {rate}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if decision not in DECISION_OPTIONS:
        raise ValueError(f"decision must be one of {DECISION_OPTIONS}, got {decision!r}")
    if not callable(decode):
        raise ValueError(f"decode must be callable, got {decode!r}")
    if all_zero:
        encode = None
    elif not callable(encode):
        raise ValueError("encode must be a callable [B, k] -> [B, n] (or pass all_zero=True for a linear code)")
    if not isinstance(key, jax.Array):
        key = jax.random.key(int(key))
    elif not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(key)
    bits = k if decision == "message" else n
    rows = []
    for i, (db, sigma) in enumerate(zip(grid, np.atleast_1d(ebn0_db_to_sigma(grid, rate)))):
        point_key = jax.random.fold_in(key, i)
        blocks = block_errors = bit_errors = ml_errors = 0
        j = 0
        while True:
            size = min(batch_size, max_blocks - blocks)
            be, bi, me = _step(
                jax.random.fold_in(point_key, j),
                jnp.float32(sigma),
                jnp.int32(size),
                encode=encode,
                decode=decode,
                k=k,
                n=n,
                batch_size=batch_size,
                all_zero=bool(all_zero),
                decision=decision,
                ml_bracket=bool(ml_bracket),
            )
            block_errors += int(be)
            bit_errors += int(bi)
            ml_errors += int(me)
            blocks += size
            j += 1
            if block_errors >= target_block_errors:
                stopped = "target_block_errors"
                break
            if blocks >= max_blocks:
                stopped = "max_blocks"
                break
        bler_lo, bler_hi = clopper_pearson_interval(block_errors, blocks, confidence)
        ber_lo, ber_hi = fractional_clopper_pearson_interval(bit_errors / bits, blocks, confidence)
        bits_lo, bits_hi = clopper_pearson_interval(bit_errors, blocks * bits, confidence)
        row = AwgnPoint(
            float(db),
            float(sigma),
            blocks,
            block_errors,
            block_errors / blocks,
            bler_lo,
            bler_hi,
            bit_errors,
            bits,
            bit_errors / (blocks * bits),
            ber_lo,
            ber_hi,
            bits_lo,
            bits_hi,
            float(confidence),
            stopped,
        )
        if ml_bracket:
            ml_lo, ml_hi = clopper_pearson_interval(ml_errors, blocks, confidence)
            row = dataclasses.replace(row, ml_block_errors=ml_errors, ml_bler_lo=ml_lo, ml_bler_hi=ml_hi)
        rows.append(row)
        if progress is not None:
            progress(row)
    return rows
