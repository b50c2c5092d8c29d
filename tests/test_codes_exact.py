"""Exact BSC/BEC evaluation by enumeration and Monte Carlo (neuralcodes_jax.codes.exact).

References are closed forms (coding-anchors Sec. 2.2, 2.3, 2.6) and float64 brute force over all
(received word, codeword) pairs for small random codebooks.
"""

import fractions
import math

import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax.codes import exact, gf2, linear

PS = np.linspace(0.0, 0.5, 101)


def _brute_bsc(codebook, table, labels, p):
    """ML BLER, decoder BLER and BER by explicit double sums over (y, m)."""
    m, n = codebook.shape
    ys = gf2.int_to_bits(np.arange(2**n), n)
    d = (ys[:, None, :] != codebook[None]).sum(-1)
    like = p**d * (1 - p) ** (n - d)
    ml = 1 - like.max(axis=1).sum() / m
    bler = 1 - like[np.arange(2**n), table].sum() / m
    bit_err = (labels[None, :, :] != labels[table][:, None, :]).sum(-1)
    ber = (like * bit_err).sum() / (labels.shape[1] * m)
    return ml, bler, ber


def _brute_bec(codebook, delta, guess):
    _m, n = codebook.shape
    total = 0.0
    for e in range(2**n):
        erased = gf2.int_to_bits(e, n).astype(bool)
        w = erased.sum()
        proj = codebook[:, ~erased]
        consistent = (proj[:, None, :] == proj[None, :, :]).all(-1).sum(1)
        fail = 1 - 1 / consistent if guess == "uniform" else (consistent > 1)
        total += delta**w * (1 - delta) ** (n - w) * fail.mean()
    return total


# --------------------------------------------------------------------------------- closed forms
def test_hamming_7_4_bler_equals_perfect_code_formula():
    code = linear.hamming_code(3)
    poly = exact.ml_bler_bsc(code.codewords())
    ref = 1 - (1 - PS) ** 7 - 7 * PS * (1 - PS) ** 6
    np.testing.assert_allclose(poly(PS), ref, rtol=0, atol=1e-12)
    # exact power-basis coefficients: 21p^2 - 70p^3 + 105p^4 - 84p^5 + 35p^6 - 6p^7
    assert poly.power_coefficients() == [fractions.Fraction(c) for c in (0, 0, 21, -70, 105, -84, 35, -6)]
    assert poly == exact.syndrome_bler_bsc(code)


@pytest.mark.parametrize("r", [3, 4])
def test_hamming_bler_and_ber_closed_forms(r):
    code = linear.hamming_code(r)
    n = code.n
    dec = linear.SyndromeDecoder(code)
    ref_bler = 1 - (1 - PS) ** n - n * PS * (1 - PS) ** (n - 1)
    np.testing.assert_allclose(exact.ml_bler_bsc(code.codewords())(PS), ref_bler, atol=1e-12, rtol=0)
    np.testing.assert_allclose(exact.syndrome_bler_bsc(dec)(PS), ref_bler, atol=1e-12, rtol=0)
    ber_enum = exact.decoder_ber_bsc(code.codewords(), dec.table())
    ber_fast = exact.syndrome_ber_bsc(dec)
    assert ber_enum == ber_fast
    np.testing.assert_allclose(ber_fast(PS), exact.hamming_ber(r, PS), atol=1e-12, rtol=0)
    if r == 3:  # 9p^2 - 26p^3 + 30p^4 - 12p^5
        np.testing.assert_allclose(ber_fast(PS), 9 * PS**2 - 26 * PS**3 + 30 * PS**4 - 12 * PS**5, atol=1e-12)


def test_uncoded_codebook():
    k = 4
    cb = gf2.int_to_bits(np.arange(2**k), k)
    np.testing.assert_allclose(exact.ml_bler_bsc(cb)(PS), 1 - (1 - PS) ** k, atol=1e-12, rtol=0)
    np.testing.assert_allclose(exact.uncoded_bler(k, PS), 1 - (1 - PS) ** k, atol=1e-12, rtol=0)
    np.testing.assert_allclose(exact.ml_ber_bsc(cb)(PS), PS, atol=1e-12, rtol=0)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_repetition_codes_including_ties(n):
    cb = linear.repetition_code(n).codewords()
    i = np.arange(n + 1)
    comb = np.array([math.comb(n, j) for j in i], dtype=float)
    terms = comb * PS[:, None] ** i * (1 - PS[:, None]) ** (n - i)
    # ML fails when more than n/2 bits flip; at exactly n/2 (even n) the tie is lost half the time.
    weight = np.where(2 * i > n, 1.0, np.where(2 * i == n, 0.5, 0.0))
    np.testing.assert_allclose(exact.ml_bler_bsc(cb)(PS), terms @ weight, atol=1e-12, rtol=0)
    if n % 2:
        np.testing.assert_allclose(exact.bounded_distance_bler(n, (n - 1) // 2, PS), terms @ weight, atol=1e-12)
    # any ML decoder (here: ties to the lowest index) attains the ML BLER
    assert exact.decoder_bler_bsc(cb, exact.ml_decoder_table(cb)) == exact.ml_bler_bsc(cb)


# ------------------------------------------------------------------------------ brute-force checks
@pytest.mark.parametrize("seed", range(4))
def test_random_nonlinear_codebooks_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 9))
    m = int(rng.integers(3, 13))
    cb = gf2.int_to_bits(rng.choice(2**n, m, replace=False), n)
    labels = gf2.int_to_bits(rng.choice(32, m, replace=False), 5)
    table = rng.integers(0, m, 2**n)
    ml = exact.ml_bler_bsc(cb)
    bler = exact.decoder_bler_bsc(cb, table, labels)
    ber = exact.decoder_ber_bsc(cb, table, labels)
    # the same decoder given as a function returning label bits
    as_bits = exact.decoder_ber_bsc(cb, lambda y: labels[table[gf2.bits_to_int(y)]], labels)
    assert as_bits == ber
    for p in (0.0, 0.02, 0.17, 0.5):
        ref = _brute_bsc(cb, table, labels, p)
        np.testing.assert_allclose([ml(p), bler(p), ber(p)], ref, atol=1e-13, rtol=0)
    ml_table = exact.ml_decoder_table(cb)
    ref = _brute_bsc(cb, ml_table, labels, 0.1)
    assert abs(exact.ml_ber_bsc(cb, labels)(0.1) - ref[2]) < 1e-13
    for guess in exact.BEC_GUESS_OPTIONS:
        got = exact.ml_bler_bec(cb, guess)
        for delta in (0.1, 0.55, 1.0):
            assert abs(got(delta) - _brute_bec(cb, delta, guess)) < 1e-13


def test_ml_table_ties_go_to_lowest_index():
    cb = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.uint8)
    table = exact.ml_decoder_table(cb)
    assert table[0b1000] == 0 and table[0b1010] == 0  # 1000: distance 1 to rows 0,1; 1010: to all three
    assert table[0b1110] == 1  # distance 1 to row 1 only
    words = gf2.int_to_bits(np.arange(16), 4)
    d = (words[:, None] != cb[None]).sum(-1)
    np.testing.assert_array_equal(table, np.argmin(d, axis=1))  # argmin takes the first minimum


def test_bit_output_decoder_outside_labels_counts_as_block_error():
    """Repetition(3), labels 00/11; the decoder outputs 10 (no message's label) on a majority of ones."""
    cb = linear.repetition_code(3).codewords()
    labels = np.array([[0, 0], [1, 1]], dtype=np.uint8)
    out = np.zeros((8, 2), dtype=np.uint8)
    out[:, 0] = gf2.int_to_bits(np.arange(8), 3).sum(1) >= 2
    q = 3 * PS**2 * (1 - PS) + PS**3  # majority flipped
    # message 0 is right iff the majority holds; message 1 is never right
    np.testing.assert_allclose(exact.decoder_bler_bsc(cb, out, labels)(PS), 1 - 0.5 * (1 - q), atol=1e-13)
    # bit errors: message 0 -> q * 1; message 1 -> (1-q) * 1 + q * 2; over k M = 4 bits
    np.testing.assert_allclose(exact.decoder_ber_bsc(cb, out, labels)(PS), (1 + 2 * q) / 4, atol=1e-13)


# ---------------------------------------------------------------------------- linear fast formulas
def test_fast_linear_formulas_agree_with_enumeration():
    for code in (linear.extended_hamming_code(3), linear.single_parity_check_code(5), linear.extended_hamming_code(4)):
        dec = linear.SyndromeDecoder(code)
        cw = code.codewords()
        assert exact.ml_bler_bsc(cw) == exact.syndrome_bler_bsc(dec)
        assert exact.decoder_bler_bsc(cw, dec.table()) == exact.syndrome_bler_bsc(dec)
        assert exact.decoder_ber_bsc(cw, dec.table()) == exact.syndrome_ber_bsc(dec)


def test_golay_exact_evaluation_matches_coset_formula():
    code = linear.golay_code()
    dec = linear.SyndromeDecoder(code)
    cw = code.codewords()
    ml = exact.ml_bler_bsc(cw)  # enumerates 2^23 received words
    assert ml == exact.syndrome_bler_bsc(dec)
    np.testing.assert_allclose(ml(PS), exact.bounded_distance_bler(23, 3, PS), atol=1e-12, rtol=0)
    ber = exact.syndrome_ber_bsc(dec)
    # coding-anchors Sec. 2.3: P_b = (1/23) sum_w S_w p^w (1-p)^(23-w)
    s_w = [
        61985,
        263879,
        720797,
        1932667,
        4343504,
        7853120,
        11943624,
        15132712,
        15965082,
        14369894,
        10942250,
        6933718,
        3705944,
        1600984,
        510048,
        141680,
        40733,
        5819,
        529,
        23,
    ]
    assert exact.syndrome_ber_bsc(dec, codeword_bits=True) == exact.WeightPolynomial(23, [0] * 4 + s_w, 23)
    # systematic message bits have the codeword-bit BER (transitive automorphism group)
    assert ber == exact.syndrome_ber_bsc(dec, codeword_bits=True)


@pytest.mark.slow
def test_golay_generic_ber_matches_fast_formula():
    """Generic Walsh-Hadamard BER path at n = 23 (2k + 4 transforms of 2^23 entries)."""
    code = linear.golay_code()
    dec = linear.SyndromeDecoder(code)
    assert exact.decoder_ber_bsc(code.codewords(), dec.table()) == exact.syndrome_ber_bsc(dec)


def _same_printed_digits(value: float, printed: str) -> bool:
    """Whether ``value`` rounds to ``printed`` (e.g. "9.630e-3") at the printed number of digits."""
    decimals = len(printed.split("e")[0].split(".")[1])
    return f"{value:.{decimals}e}" == f"{float(printed):.{decimals}e}"


def test_anchor_table_2_2():
    """coding-anchors Sec. 2.2 table, to the printed digits."""
    table = {  # p: (uncoded 4b, H74 BLER, H74 BER, H15 BLER, H15 BER, Golay BLER, Golay BER)
        0.01: ("3.94e-2", "2.031e-3", "8.743e-4", "9.630e-3", "1.952e-3", "7.605e-5", "2.325e-5"),
        0.05: ("1.855e-1", "4.438e-2", "1.943e-2", "1.710e-1", "3.660e-2", "2.581e-2", "8.018e-3"),
        0.10: ("3.439e-1", "1.497e-1", "6.688e-2", "4.510e-1", "1.039e-1", "1.927e-1", "6.089e-2"),
    }
    codes = (linear.hamming_code(3), linear.hamming_code(4), linear.golay_code())
    decs = [linear.SyndromeDecoder(c) for c in codes]
    for p, row in table.items():
        values = [exact.uncoded_bler(4, p)]
        for dec in decs:
            values += [exact.syndrome_bler_bsc(dec)(p), exact.syndrome_ber_bsc(dec)(p)]
        for got, printed in zip(values, row):
            assert _same_printed_digits(got, printed), (p, got, printed)


def test_weight_polynomial_behaviour():
    poly = exact.WeightPolynomial(3, (0, 0, 6, 2), 2)
    assert poly.counts == (0, 0, 3, 1) and poly.denominator == 1  # reduced form
    assert abs(poly(0.2) - (3 * 0.04 * 0.8 + 0.008)) < 1e-15
    assert abs(poly.complement()(0.2) - (1 - poly(0.2))) < 1e-15
    assert isinstance(poly(0.1), float) and poly(np.array([0.1, 0.2])).shape == (2,)


# ---------------------------------------------------------------------------------------------- BEC
def test_bec_hamming_7_4_closed_form():
    cb = linear.hamming_code(3).codewords()
    d = np.linspace(0, 1, 41)
    fail = exact.ml_bler_bec(cb, guess="failure")
    ref = 7 * d**3 * (1 - d) ** 4 + sum(math.comb(7, j) * d**j * (1 - d) ** (7 - j) for j in range(4, 8))
    np.testing.assert_allclose(fail(d), ref, atol=1e-12, rtol=0)
    assert f"{fail(0.1):.2e}" == "7.32e-03"
    assert exact.ml_bler_bec(cb, method="enumerate") == exact.ml_bler_bec(cb, method="linear")
    assert exact.ml_bler_bec(cb, "failure", method="enumerate") == fail


def test_bec_linear_path_on_a_translated_code():
    code = linear.extended_hamming_code(3)
    cb = code.codewords() ^ np.array([1, 0, 1, 1, 0, 0, 0, 1], dtype=np.uint8)
    for guess in exact.BEC_GUESS_OPTIONS:
        assert exact.ml_bler_bec(cb, guess, method="linear") == exact.ml_bler_bec(cb, guess, method="enumerate")
    # uniform guessing: repetition(n) fails only if all n are erased, then half the time
    rep = linear.repetition_code(4).codewords()
    assert abs(exact.ml_bler_bec(rep)(0.3) - 0.3**4 / 2) < 1e-15


# ------------------------------------------------------------------------------------- Monte Carlo
def test_monte_carlo_hamming_bsc_within_confidence():
    code = linear.hamming_code(3)
    dec = linear.SyndromeDecoder(code)
    p = 0.1
    res = exact.monte_carlo(
        code.encode,
        dec.decode_messages,
        k=4,
        eps=p,
        key=0,
        target_block_errors=10**9,
        max_blocks=40_000,
        batch_size=10_000,
    )
    assert res.blocks == 40_000 and res.stopped_by == "max_blocks"
    ref_bler = exact.syndrome_bler_bsc(dec)(p)
    ref_ber = exact.syndrome_ber_bsc(dec)(p)
    se = math.sqrt(ref_bler * (1 - ref_bler) / res.blocks)
    assert abs(res.bler - ref_bler) < 5 * se  # 5 standard errors
    # BER: standard error over blocks (not bits), conservative since bit errors cluster in blocks
    assert abs(res.ber - ref_ber) < 5 * math.sqrt(ref_ber * (1 - ref_ber) / res.blocks)
    lo, hi = exact.clopper_pearson_interval(res.block_errors, res.blocks, confidence=0.9999)
    assert lo <= ref_bler <= hi
    lo, hi = res.bler_wilson
    assert lo < res.bler < hi and res.confidence == 0.95


def test_monte_carlo_stops_at_target_and_bec_channel():
    code = linear.repetition_code(3)

    def decode(y):  # first unerased symbol; all erased -> guess 0
        known = y != 2
        first = jnp.argmax(known, axis=-1)
        bit = jnp.take_along_axis(y, first[:, None], axis=-1)
        return jnp.where(known.any(-1, keepdims=True), bit, 0).astype(jnp.uint8)

    res = exact.monte_carlo(
        code.encode, decode, 1, 0.5, key=3, channel="bec", target_block_errors=200, max_blocks=10**6, batch_size=1000
    )
    assert res.stopped_by == "target_block_errors" and res.block_errors >= 200
    assert res.blocks % 1000 == 0 and res.blocks - 1000 < res.block_errors / 0.0625 * 2
    ref = exact.ml_bler_bec(code.codewords())(0.5)  # 0.5^3 / 2
    assert abs(res.bler - ref) < 5 * math.sqrt(ref * (1 - ref) / res.blocks)


def test_confidence_intervals():
    lo, hi = exact.clopper_pearson_interval(0, 100, 0.95)
    assert lo == 0.0 and abs(hi - (1 - 0.025 ** (1 / 100))) < 1e-12
    lo, hi = exact.wilson_interval(50, 100, 0.95)
    assert abs((lo + hi) / 2 - 0.5) < 1e-12 and abs(hi - lo - 2 * 0.0962) < 1e-3
    assert exact.wilson_interval(0, 10)[0] == 0.0


# --------------------------------------------------------------------------------------- bad input
def test_bad_input_errors_name_the_field():
    cb = linear.hamming_code(3).codewords()
    poly = exact.ml_bler_bsc(cb)
    with pytest.raises(ValueError, match=r"p must be in \[0, 0.5\], got 0.7"):
        poly(0.7)
    with pytest.raises(ValueError, match=r"p must be in \[0, 0.5\]"):
        exact.uncoded_bler(4, -0.1)
    with pytest.raises(ValueError, match=r"delta must be in \[0, 1\]"):
        exact.ml_bler_bec(cb)(1.5)
    rep = np.concatenate([cb, cb[:1]])
    with pytest.raises(ValueError, match="codebook must have distinct codewords: rows 0 and 16"):
        exact.ml_bler_bsc(rep)
    assert exact.ml_bler_bsc(rep, allow_repeated=True)(0.1) > poly(0.1)
    with pytest.raises(ValueError, match="codebook must be binary"):
        exact.ml_bler_bsc(cb * 2)
    with pytest.raises(ValueError, match="n must be <= 24"):
        exact.ml_bler_bsc(np.zeros((2, 25), dtype=np.uint8))
    with pytest.raises(ValueError, match="labels must have one row per codeword"):
        exact.decoder_ber_bsc(cb, np.zeros(128, dtype=np.int64), labels=np.zeros((3, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="decoder indices must be in"):
        exact.decoder_bler_bsc(cb, np.full(128, 16))
    with pytest.raises(ValueError, match="guess must be one of"):
        exact.ml_bler_bec(cb, guess="maybe")
    with pytest.raises(ValueError, match="labels must be given"):
        exact.ml_ber_bsc(cb[:5])
    with pytest.raises(ValueError, match="eps must be in"):
        exact.monte_carlo(lambda m: m, lambda y: y, 1, 0.7, 0)
