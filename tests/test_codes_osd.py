"""Reed-Muller codes of any order, BCH / extended BCH codes of any length, OSD and soft ML decoding.

References are independent of the code under test: brute-force listing of codewords and float64 correlation in NumPy,
a naive OSD (rank tests column by column, pattern enumeration with ``itertools``), the octal generator polynomials of
Lin & Costello (Appendix C), the benchmark parity-check matrices of ``shared/data/ecc_codes`` and closed forms.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax.codes import gf2, linear, osd


def _all_codewords(g):
    k = g.shape[0]
    return gf2.matmul(gf2.int_to_bits(np.arange(1 << k), k), g)


def _min_distance(g):
    return int(_all_codewords(g).sum(axis=1)[1:].min())


def _same_code(g1, g2):
    return g1.shape == g2.shape and gf2.rank(np.concatenate([g1, g2])) == g1.shape[0] == gf2.rank(g1)


def _awgn_llr(code, batch, snr_db, seed):
    """BPSK over AWGN at Es/N0 = snr_db: codewords and LLRs 2 y / sigma^2 (float64)."""
    rng = np.random.default_rng(seed)
    c = code.encode(rng.integers(0, 2, (batch, code.k)))
    sigma = math.sqrt(0.5 / 10 ** (snr_db / 10))
    y = 1.0 - 2.0 * c + sigma * rng.standard_normal(c.shape)
    return c, 2.0 * y / sigma**2


def _corr(words, llr):
    return ((1.0 - 2.0 * np.asarray(words, np.float64)) * llr).sum(axis=1)


def _assert_same_decisions(got, want, llr, max_near_ties=1):
    """Same codewords except where the two decisions' float64 correlations tie to 1e-4 (float32 rounding)."""
    got, want = np.asarray(got), np.asarray(want)
    differ = ~np.all(got == want, axis=1)
    gap = np.abs(_corr(got, llr) - _corr(want, llr))
    assert np.all(gap[differ] < 1e-4), (np.flatnonzero(differ), gap[differ])
    assert differ.sum() <= max_near_ties


# ------------------------------------------------------------------------------------------- Reed-Muller
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_reed_muller_dimension_distance_and_duality(m):
    for r in range(m):
        code = linear.reed_muller(r, m)
        assert code.name == f"RM({r},{m})" and code.n == 1 << m
        assert code.k == sum(math.comb(m, i) for i in range(r + 1))
        if code.k <= 16:
            d = _min_distance(code.generator)
        else:  # RM(r, m)^perp = RM(m - r - 1, m): brute force on the dual
            dual = linear.reed_muller(m - r - 1, m)
            assert not np.any(gf2.matmul(code.generator, dual.generator.T))
            assert code.k + dual.k == code.n
            d = int(np.flatnonzero(linear.weight_enumerator(code)[1:])[0]) + 1
        assert d == 1 << (m - r)


def test_reed_muller_rows_are_monomial_evaluations_and_rm1_is_first_order():
    g = linear.reed_muller(2, 3).generator
    x = np.array([[(j >> (2 - i)) & 1 for j in range(8)] for i in range(3)], dtype=np.uint8)
    want = np.stack([np.ones(8, np.uint8), x[0], x[1], x[2], x[0] & x[1], x[0] & x[2], x[1] & x[2]])
    assert np.array_equal(g, want)
    for m in (2, 3, 4, 5, 6):
        assert _same_code(linear.reed_muller(1, m).generator, linear.reed_muller_first_order(m).generator)
    assert _same_code(linear.reed_muller(0, 4).generator, linear.repetition_code(16).generator)
    assert _same_code(linear.reed_muller(3, 4).generator, linear.single_parity_check_code(16).generator)


@pytest.mark.parametrize("r,m", [(4, 4), (-1, 3), (0, 0), (1, 11), (1.0, 3)])
def test_reed_muller_rejects_bad_orders(r, m):
    with pytest.raises(ValueError, match=r"\b[rm] must"):
        linear.reed_muller(r, m)


# ------------------------------------------------------------------------------------------------- BCH
def test_bch_polynomials_match_the_tables():
    for (n, k), value in linear.BCH_GENERATOR_POLYNOMIALS.items():
        assert linear.bch_generator_polynomial(n, k) == value
    # Lin & Costello, Appendix C (octal).
    book = {
        (63, 57): 0o103,
        (63, 51): 0o12471,
        (63, 45): 0o1701317,
        (63, 36): 0o1033500423,
        (127, 120): 0o211,
        (127, 113): 0o41567,
        (127, 64): 0o1206534025570773100045,
    }
    for (n, k), g in book.items():
        assert linear.bch_generator_polynomial(n, k)[0] == g
    assert linear.bch_dimensions(15) == {11: 3, 7: 5, 5: 7, 1: 15}
    assert linear.bch_dimensions(31) == {26: 3, 21: 5, 16: 7, 11: 11, 6: 15, 1: 31}
    assert linear.bch_dimensions(127)[64] == 21 and linear.bch_dimensions(63)[45] == 7


def test_bch_distances_by_brute_force():
    for n in (15, 31):
        for k, delta in linear.bch_dimensions(n).items():
            code = linear.bch_code(n, k)
            assert (code.n, code.k, code.name) == (n, k, f"BCH({n},{k})")
            d = (
                _min_distance(code.generator)
                if k <= 16
                else int(np.flatnonzero(linear.weight_enumerator(code)[1:])[0]) + 1
            )
            assert d >= delta
            # Known true distances (MacWilliams & Sloane, Fig. 9.1): equal to the designed ones at these lengths.
            assert d == delta


@pytest.mark.parametrize(
    "n,k,d", [(16, 11, 4), (16, 7, 6), (16, 5, 8), (32, 26, 4), (32, 21, 6), (32, 16, 8), (32, 11, 12), (32, 6, 16)]
)
def test_extended_bch_distance(n, k, d):
    code = linear.extended_bch_code(n, k)
    assert (code.n, code.k, code.name) == (n, k, f"eBCH({n},{k})")
    if k <= 16:
        counts = np.bincount(_all_codewords(code.generator).sum(axis=1), minlength=n + 1)
    else:  # weights of the dual by brute force, then MacWilliams
        counts = linear.weight_enumerator(code)
    assert counts.sum() == 1 << k
    assert not np.any(counts[1::2])  # every codeword has even weight
    assert int(np.flatnonzero(counts[1:])[0]) + 1 == d


def test_extended_bch_128_64_and_bad_arguments():
    code = linear.extended_bch_code(128, 64)
    assert (code.n, code.k) == (128, 64)
    assert not np.any(code.generator.sum(axis=1) & 1)
    base = linear.bch_code(127, 64)
    assert np.array_equal(code.generator[:, :127], base.generator)
    for args, match in [
        ((100, 50), "n must be a power of two"),
        ((64, 44), "k must be one of"),
        ((2048, 1000), "n must be 2"),
        ((4, 1), "n must be"),
    ]:
        with pytest.raises(ValueError, match=match):
            linear.extended_bch_code(*args)
    with pytest.raises(ValueError, match="k must be one of"):
        linear.bch_code(63, 40)


def test_bch_matches_the_benchmark_parity_checks(shared_data):
    for n, k in [(31, 16), (63, 36), (63, 45), (63, 51)]:
        h = np.loadtxt(shared_data / "ecc_codes" / f"BCH_N{n}_K{k}.txt", dtype=np.uint8)
        code = linear.bch_code(n, k)
        assert h.shape == (n - k, n) and gf2.rank(h) == n - k
        assert not np.any(gf2.matmul(code.generator, h.T))  # the same code, coordinate for coordinate


# ------------------------------------------------------------------------------------------ references
def _naive_mrb(g, llr):
    order = np.argsort(-np.abs(llr), kind="stable")
    mrb = []
    for j in order:
        if gf2.rank(g[:, mrb + [int(j)]]) > len(mrb):
            mrb.append(int(j))
        if len(mrb) == g.shape[0]:
            break
    return mrb


def _naive_osd(g, llr, order):
    """Fossorier-Lin OSD in float64, re-encoding every test pattern of weight <= order on the MRB."""
    k = g.shape[0]
    out = []
    for x in llr:
        mrb = _naive_mrb(g, x)
        inv = gf2.inverse(g[:, mrb])
        z = (x[mrb] < 0).astype(np.uint8)
        pats = [np.zeros(k, np.uint8)]
        for w in range(1, order + 1):
            for s in itertools.combinations(range(k), w):
                e = np.zeros(k, np.uint8)
                e[list(s)] = 1
                pats.append(e)
        cands = gf2.matmul(gf2.matmul(np.array(pats) ^ z, inv), g)
        out.append(cands[int(np.argmax(_corr(cands, x)))])
    return np.array(out)


def _brute_ml(g, llr):
    words = _all_codewords(g)
    return words[np.argmax(llr @ (1.0 - 2.0 * words.T), axis=1)]


def _random_code_with_repeated_columns(k, n, seed):
    """Full-rank random generator whose columns repeat (so reliable positions are often dependent)."""
    rng = np.random.default_rng(seed)
    while True:
        base = rng.integers(0, 2, (k, n // 2)).astype(np.uint8)
        g = np.concatenate([base, base[:, : n - n // 2]], axis=1)[:, rng.permutation(n)]
        if gf2.rank(g) == k:
            return linear.LinearCode.from_generator(g, "random")


# ------------------------------------------------------------------------------------------------- ML
def test_ml_decode_is_brute_force_correlation_ml():
    code = linear.extended_golay_code()
    for snr, seed in [(-1.0, 0), (2.0, 1)]:
        _c, llr = _awgn_llr(code, 120, snr, seed)
        got = osd.ml_decode(code, llr, chunk=1000, batch_size=50)  # 1000 does not divide 4096
        _assert_same_decisions(got.codewords, _brute_ml(code.generator, llr), llr)
        assert np.array_equal(code.encode(np.asarray(got.messages)), np.asarray(got.codewords))
        np.testing.assert_allclose(np.asarray(got.correlation), _corr(got.codewords, llr), rtol=1e-5, atol=1e-3)


# ------------------------------------------------------------------------------------------------ OSD
def test_osd0_is_hard_decision_reencoding_of_the_mrb():
    codes = [linear.extended_bch_code(32, 16), _random_code_with_repeated_columns(7, 20, 3)]
    for i, code in enumerate(codes):
        _, llr = _awgn_llr(code, 40, 1.0, 10 + i)
        got = np.asarray(osd.osd_decode(code, llr, order=0).codewords)
        for x, c in zip(llr, got):
            mrb = _naive_mrb(code.generator, x)
            u = gf2.matmul((x[mrb] < 0).astype(np.uint8), gf2.inverse(code.generator[:, mrb]))
            assert np.array_equal(c, gf2.matmul(u, code.generator))


@pytest.mark.parametrize("order", [1, 2, 3])
def test_osd_matches_a_naive_osd(order):
    codes = [_random_code_with_repeated_columns(12, 24, 5)] + ([linear.golay_code()] if order == 2 else [])
    for i, code in enumerate(codes):
        _, llr = _awgn_llr(code, 40, 0.0, 20 + i)
        got = osd.osd_decode(code, llr, order=order, batch_size=16)
        _assert_same_decisions(got.codewords, _naive_osd(code.generator, llr, order), llr)
        np.testing.assert_allclose(np.asarray(got.correlation), _corr(got.codewords, llr), rtol=1e-5, atol=1e-3)


@pytest.mark.slow
def test_osd_of_order_k_is_ml():
    simplex = linear.hamming_code(3).dual()  # (7, 3)
    codes = [simplex, _random_code_with_repeated_columns(3, 10, 7), _random_code_with_repeated_columns(2, 6, 8)]
    for i, code in enumerate(codes):
        for snr in (-3.0, 0.0, 3.0):
            _, llr = _awgn_llr(code, 60, snr, 100 * i + int(snr) + 10)
            got = osd.osd_decode(code, llr, order=code.k)
            _assert_same_decisions(got.codewords, osd.ml_decode(code, llr).codewords, llr)
            _assert_same_decisions(got.codewords, _brute_ml(code.generator, llr), llr)
            assert np.array_equal(np.asarray(got.messages), np.asarray(code.unencode(np.asarray(got.codewords))))


def test_osd_is_monotone_in_order_and_decodes_ebch_128_64():
    code = linear.extended_bch_code(128, 64)
    c, llr = _awgn_llr(code, 48, -1.0, 3)  # Eb/N0 = 2 dB: OSD-0 fails on about half the words
    llr[:4] = 4.0 * (1.0 - 2.0 * c[:4])  # noiseless words
    order0 = osd.osd_decode(code, llr, order=0)
    got = osd.osd_decode(code, llr, order=2)
    assert np.all(np.asarray(got.correlation) >= np.asarray(order0.correlation) - 1e-3)
    assert np.mean(np.asarray(got.correlation) > np.asarray(order0.correlation) + 1e-3) > 0.2
    words = np.asarray(got.codewords)
    assert np.array_equal(words[:4], c[:4])
    assert not np.any(gf2.matmul(words, code.parity_check.T))  # codewords
    assert np.array_equal(code.encode(np.asarray(got.messages)), words)
    assert np.mean(np.all(words == c, axis=1)) >= 0.9 > np.mean(np.all(np.asarray(order0.codewords) == c, axis=1)) + 0.2


def test_osd_under_jit_and_from_a_generator_matrix():
    code = linear.hamming_code(3)
    _, llr = _awgn_llr(code, 16, 1.0, 4)
    eager = osd.osd_decode(code, llr, order=2)
    jitted = jax.jit(lambda x: osd.osd_decode(code, x, order=2).codewords)(jnp.asarray(llr, jnp.float32))
    assert np.array_equal(np.asarray(jitted), np.asarray(eager.codewords))
    from_g = osd.osd_decode(code.generator, llr, order=2)
    assert np.array_equal(np.asarray(from_g.codewords), np.asarray(eager.codewords))
    assert osd.osd_num_patterns(64, 3) == 43745 and osd.osd_num_patterns(64, 2) == 2081


def test_bad_input_is_refused():
    code = linear.hamming_code(3)
    llr = np.zeros((2, 7))
    for order, match in [(4, r"order must be in \[0, 3\]"), (-1, "order must be"), (1.0, "order must be an int")]:
        with pytest.raises(ValueError, match=match):
            osd.osd_decode(code, llr, order=order)
    with pytest.raises(ValueError, match="order must be <= k=1"):
        osd.osd_decode(linear.repetition_code(5), np.zeros((2, 5)), order=2)
    with pytest.raises(ValueError, match=r"code.k must be <= 16"):
        osd.ml_decode(linear.extended_bch_code(32, 21), np.zeros((2, 32)))
    for decode in (osd.osd_decode, osd.ml_decode):
        with pytest.raises(ValueError, match="llr must be finite"):
            decode(code, np.array([[0.0] * 6 + [np.nan]]))
        with pytest.raises(ValueError, match="llr must be finite"):
            decode(code, np.array([[0.0] * 6 + [np.inf]]))
        with pytest.raises(ValueError, match=r"llr must have shape \[B, n\] with n=7"):
            decode(code, np.zeros((2, 8)))
        with pytest.raises(ValueError, match=r"llr must have shape"):
            decode(code, np.zeros(7))
        with pytest.raises(ValueError, match="llr must hold at least one word"):
            decode(code, np.zeros((0, 7)))
        with pytest.raises(ValueError, match="generator must have full row rank"):
            decode(np.array([[1, 1, 0, 1], [1, 1, 0, 1]]), np.zeros((1, 4)))
        with pytest.raises(ValueError, match="batch_size must be"):
            decode(code, llr, batch_size=0)
