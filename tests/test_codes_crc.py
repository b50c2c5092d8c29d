"""5G NR CRCs (neuralcodes_jax.codes.crc) against catalogue check values and a bitwise long division."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax.codes import crc

# TS 38.212 Sec. 5.1, written out as integers g(2) (with the D^L term).
_SPEC = {"CRC24A": 0x1864CFB, "CRC24B": 0x1800063, "CRC24C": 0x1B2B117, "CRC16": 0x11021, "CRC11": 0xE21, "CRC6": 0x61}


def _long_division(poly: int, degree: int, bits: np.ndarray) -> np.ndarray:
    """Remainder of ``a(D) D^L mod g(D)`` by a shift register, one bit at a time (MSB first)."""
    reg = 0
    for b in list(bits) + [0] * degree:
        reg = (reg << 1) | int(b)
        if reg >> degree:
            reg ^= poly
    return np.array([(reg >> (degree - 1 - i)) & 1 for i in range(degree)], dtype=np.uint8)


def _ascii_bits(s: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(s, np.uint8))


def test_polynomials_are_those_of_ts38212():
    assert set(crc.CRC_POLYNOMIALS) == set(_SPEC)
    for name, value in _SPEC.items():
        p = crc.CRC_POLYNOMIALS[name]
        assert p.value == value and p.length == value.bit_length() - 1
        assert int("".join(map(str, p.coefficients)), 2) == value
    assert crc.crc_polynomial("crc11") is crc.CRC11


@pytest.mark.parametrize("name,check", [("CRC16", 0x31C3), ("CRC24A", 0xCDE703), ("CRC24B", 0x23EF52)])
def test_catalogue_check_values(name, check):
    # CRC-16/XMODEM, CRC-24/LTE-A, CRC-24/LTE-B: zero init, no reflection, no final XOR, message "123456789".
    bits = crc.crc_bits(name, _ascii_bits(b"123456789"))
    assert int("".join(map(str, bits)), 2) == check


@pytest.mark.parametrize("name", sorted(_SPEC))
def test_against_long_division_numpy_and_jax(name):
    rng = np.random.default_rng(len(name))
    p = crc.CRC_POLYNOMIALS[name]
    for k in (1, 5, 24, 77):
        msgs = rng.integers(0, 2, (6, k)).astype(np.uint8)
        want = np.stack([_long_division(_SPEC[name], p.length, m) for m in msgs])
        np.testing.assert_array_equal(crc.crc_bits(name, msgs), want)
        words = crc.crc_attach(name, msgs)
        np.testing.assert_array_equal(words, np.concatenate([msgs, want], axis=1))
        assert crc.crc_check(name, words).all()
        # The whole word is divisible by g (so is word(D) D^L): its long division leaves no remainder.
        assert not _long_division(_SPEC[name], p.length, words[0]).any()
    # JAX (jitted) on the last batch: same parity bits, and the check flags a corrupted word.
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda b: crc.crc_bits(name, b))(jnp.asarray(msgs))), want)
    bad = words.copy()
    bad[0, 3] ^= 1
    np.testing.assert_array_equal(
        np.asarray(jax.jit(lambda w: crc.crc_check(name, w))(jnp.asarray(bad))), [False] + [True] * 5
    )


@pytest.mark.parametrize("name", sorted(_SPEC))
def test_linearity_and_single_errors(name):
    rng = np.random.default_rng(7)
    a, b = rng.integers(0, 2, (2, 10, 40)).astype(np.uint8)
    np.testing.assert_array_equal(crc.crc_bits(name, a ^ b), crc.crc_bits(name, a) ^ crc.crc_bits(name, b))
    p = crc.crc_generator_matrix(name, 40)
    np.testing.assert_array_equal(crc.crc_bits(name, a), (a.astype(int) @ p) % 2)
    word = crc.crc_attach(name, a[:1])
    flipped = np.repeat(word, word.shape[1], axis=0) ^ np.eye(word.shape[1], dtype=np.uint8)
    assert not crc.crc_check(name, flipped).any()  # g(D) has >= 2 terms: every single error is detected


def test_bad_input():
    with pytest.raises(ValueError, match="crc must be one of"):
        crc.crc_bits("CRC7", np.zeros(4))
    with pytest.raises(ValueError, match="binary"):
        crc.crc_bits("CRC6", np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="bits must have shape"):
        crc.crc_check("CRC6", np.zeros(6, np.uint8))
    with pytest.raises(ValueError, match="k must be"):
        crc.crc_generator_matrix("CRC6", 0)
