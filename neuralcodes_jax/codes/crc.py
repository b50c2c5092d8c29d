"""The cyclic redundancy checks of 5G NR (3GPP TS 38.212 Sec. 5.1), in NumPy and (jittable, batched) JAX.

TS 38.212 Sec. 5.1 attaches ``L`` parity bits ``p_0 ... p_{L-1}`` to ``A`` bits ``a_0 ... a_{A-1}`` so that

    a_0 D^{A+L-1} + ... + a_{A-1} D^L + p_0 D^{L-1} + ... + p_{L-1}

is divisible by the generator ``g(D)``: the parity bits are the remainder of ``a(D) D^L`` modulo ``g(D)``, most
significant (highest power) first, with a zero initial register, no reflection and no final XOR (the standard's own
definition; so ``CRC16`` is the catalogue's CRC-16/XMODEM, ``CRC24A`` CRC-24/LTE-A and ``CRC24B`` CRC-24/LTE-B).

The CRC is linear over GF(2): ``p = a P`` with a ``[A, L]`` matrix ``P`` whose row ``i`` is the remainder of
``D^{A-1-i+L}`` (:func:`crc_generator_matrix`, cached). Both NumPy and JAX inputs are encoded by this product (JAX:
an int32 matmul then ``& 1``, jittable and batched over any leading axes); a NumPy input gives a NumPy output and a
JAX (also traced) input a JAX output.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from neuralcodes_jax.codes import gf2
from neuralcodes_jax.config_utils import check_int as _check_int

__all__ = [
    "CrcPolynomial",
    "CRC6",
    "CRC11",
    "CRC16",
    "CRC24A",
    "CRC24B",
    "CRC24C",
    "CRC_POLYNOMIALS",
    "crc_polynomial",
    "crc_generator_matrix",
    "crc_bits",
    "crc_attach",
    "crc_check",
]


@dataclasses.dataclass(frozen=True)
class CrcPolynomial:
    """A CRC generator polynomial ``g(D) = sum_{e in exponents} D^e`` of degree ``L = exponents[0]``.

    Attributes:
      name: the name used in TS 38.212 (``'CRC24A'``, ...).
      exponents: the powers of ``D`` with coefficient 1, highest first (the highest is the degree, the last is 0).
    """

    name: str
    exponents: tuple[int, ...]

    @property
    def length(self) -> int:
        """Number of parity bits ``L`` (the degree)."""
        return self.exponents[0]

    @property
    def value(self) -> int:
        """``g(2)``: the polynomial as an integer, including the ``D^L`` term (e.g. ``0x11021`` for CRC16)."""
        return sum(1 << e for e in self.exponents)

    @property
    def coefficients(self) -> np.ndarray:
        """``uint8 [L + 1]``, the coefficients of ``D^L ... D^0`` (highest power first)."""
        out = np.zeros(self.length + 1, dtype=np.uint8)
        out[[self.length - e for e in self.exponents]] = 1
        return out


# TS 38.212 Sec. 5.1 (the six generator polynomials, in the standard's order).
CRC24A = CrcPolynomial("CRC24A", (24, 23, 18, 17, 14, 11, 10, 7, 6, 5, 4, 3, 1, 0))
CRC24B = CrcPolynomial("CRC24B", (24, 23, 6, 5, 1, 0))
CRC24C = CrcPolynomial("CRC24C", (24, 23, 21, 20, 17, 15, 13, 12, 8, 4, 2, 1, 0))
CRC16 = CrcPolynomial("CRC16", (16, 12, 5, 0))
CRC11 = CrcPolynomial("CRC11", (11, 10, 9, 5, 0))
CRC6 = CrcPolynomial("CRC6", (6, 5, 0))

CRC_POLYNOMIALS = {p.name: p for p in (CRC24A, CRC24B, CRC24C, CRC16, CRC11, CRC6)}
"""The 5G NR CRC polynomials of TS 38.212 Sec. 5.1 by name."""


def crc_polynomial(crc: Any) -> CrcPolynomial:
    """The :class:`CrcPolynomial` named by ``crc`` (a name of :data:`CRC_POLYNOMIALS`, any case, or an instance)."""
    if isinstance(crc, CrcPolynomial):
        return crc
    if isinstance(crc, str) and crc.upper() in CRC_POLYNOMIALS:
        return CRC_POLYNOMIALS[crc.upper()]
    raise ValueError(f"crc must be one of {tuple(CRC_POLYNOMIALS)} or a CrcPolynomial, got {crc!r}")


@functools.lru_cache(maxsize=64)
def _generator(poly: CrcPolynomial, k: int) -> np.ndarray:
    big_l = poly.length
    low = poly.value ^ (1 << big_l)  # g(D) - D^L
    mask = (1 << big_l) - 1
    rows = np.zeros((k, big_l), dtype=np.uint8)
    r = low  # D^L mod g
    for i in range(k - 1, -1, -1):  # row i is D^(k-1-i+L) mod g: row k-1 first, then multiply by D
        rows[i] = gf2.int_to_bits(r, big_l)
        r = ((r << 1) & mask) ^ (low if r >> (big_l - 1) else 0)
    rows.setflags(write=False)
    return rows


def crc_generator_matrix(crc: Any, k: int) -> np.ndarray:
    """``uint8 [k, L]``: the parity bits of ``k`` message bits ``a`` are ``a P mod 2`` (module docstring)."""
    return _generator(crc_polynomial(crc), _check_int("k", k, 1))


def _check_bits(bits: Any, min_len: int, what: str) -> Any:
    if isinstance(bits, jax.Array):
        if bits.ndim < 1 or bits.shape[-1] < min_len:
            raise ValueError(f"bits must have shape [..., {what}] with {what} >= {min_len}, got {bits.shape}")
        return bits
    arr = gf2.as_bits(bits, "bits")
    if arr.shape[-1] < min_len:
        raise ValueError(f"bits must have shape [..., {what}] with {what} >= {min_len}, got {arr.shape}")
    return arr


def _parity(poly: CrcPolynomial, msg: Any) -> Any:
    p = _generator(poly, int(msg.shape[-1]))
    if isinstance(msg, jax.Array):
        out = jnp.matmul(msg.astype(jnp.int32), jnp.asarray(p, jnp.int32), precision=jax.lax.Precision.HIGHEST)
        return (out & 1).astype(jnp.uint8)
    return ((msg.astype(np.int64) @ p.astype(np.int64)) & 1).astype(np.uint8)


def crc_bits(crc: Any, bits: Any) -> Any:
    """The ``L`` CRC parity bits ``[..., L]`` of message bits ``[..., k]`` (``k >= 1``), ``uint8``.

    ``crc`` is a name of :data:`CRC_POLYNOMIALS` or a :class:`CrcPolynomial`. NumPy in, NumPy out (entries must be
    0/1); JAX in (also traced), JAX out.
    """
    poly = crc_polynomial(crc)
    return _parity(poly, _check_bits(bits, 1, "k"))


def crc_attach(crc: Any, bits: Any) -> Any:
    """``[..., k + L]``: the message bits followed by their CRC parity bits (TS 38.212 Sec. 5.1)."""
    poly = crc_polynomial(crc)
    bits = _check_bits(bits, 1, "k")
    par = _parity(poly, bits)
    if isinstance(bits, jax.Array):
        return jnp.concatenate([bits.astype(jnp.uint8), par], axis=-1)
    return np.concatenate([bits, par], axis=-1)


def crc_check(crc: Any, bits: Any) -> Any:
    """``bool [...]``: whether words ``[..., k + L]`` (message then parity, ``k >= 1``) pass the CRC."""
    poly = crc_polynomial(crc)
    big_l = poly.length
    bits = _check_bits(bits, big_l + 1, f"k + {big_l}")
    msg, par = bits[..., :-big_l], bits[..., -big_l:]
    if isinstance(bits, jax.Array):
        return jnp.all(_parity(poly, msg) == par.astype(jnp.uint8), axis=-1)
    return np.all(_parity(poly, msg) == par, axis=-1)
