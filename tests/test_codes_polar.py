"""Polar codes (neuralcodes_jax.codes.polar): transform, constructions, SC / SCL / CA-SCL against brute force."""

import itertools
import math

import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax.codes import crc, polar

# A toy CRC (g = D^3 + D + 1) so that CA-SCL with every path kept (L >= 2^(K + 3)) is checkable against ML.
_TOY_CRC = crc.CrcPolynomial("toy3", (3, 1, 0))


def _kron_power(n: int) -> np.ndarray:
    g = np.array([[1]], dtype=np.int64)
    while g.shape[0] < n:
        g = np.kron(np.array([[1, 0], [1, 1]]), g)  # F (x) G: same as G (x) F for a Kronecker power
    return g


def _codebook(code: polar.PolarCode) -> tuple[np.ndarray, np.ndarray]:
    """All messages and their codewords by the explicit Kronecker power (and CRC by long division)."""
    msgs = np.array(list(itertools.product([0, 1], repeat=code.k)), dtype=np.int64)
    v = msgs if code.crc is None else np.asarray(crc.crc_attach(code.crc, msgs.astype(np.uint8)), np.int64)
    u = np.zeros((len(msgs), code.n), dtype=np.int64)
    u[:, list(code.info_positions)] = v
    return msgs, (u @ _kron_power(code.n)) % 2


def _awgn_llr(rng, x: np.ndarray, sigma: float) -> np.ndarray:
    y = (1.0 - 2.0 * x.astype(np.float64)) + sigma * rng.normal(size=x.shape)
    return 2.0 * y / sigma**2


def _ml(llr: np.ndarray, codewords: np.ndarray) -> np.ndarray:
    """Index of the codeword of maximum correlation sum_i (1 - 2 c_i) L_i, float64."""
    corr = llr.astype(np.float64) @ (1.0 - 2.0 * codewords.T)
    return np.argmax(corr, axis=1)


# ------------------------------------------------------------------------------------------ transform
def test_transform_and_encoder_against_kronecker_power():
    rng = np.random.default_rng(0)
    for n in (2, 4, 8, 16, 64):
        g = _kron_power(n)
        np.testing.assert_array_equal(polar.polar_transform_matrix(n), g)
        u = rng.integers(0, 2, (20, n)).astype(np.uint8)
        x = np.asarray(polar.polar_transform(u))
        np.testing.assert_array_equal(x, (u.astype(np.int64) @ g) % 2)
        np.testing.assert_array_equal(np.asarray(polar.polar_transform(x)), u)  # an involution
    for code in (polar.polar_code(16, 5), polar.polar_code(32, 10, "CRC6"), polar.polar_code(8, 1, _TOY_CRC)):
        msgs, cws = _codebook(code) if code.k <= 6 else (None, None)
        m = rng.integers(0, 2, (30, code.k)).astype(np.uint8) if msgs is None else msgs.astype(np.uint8)
        enc = np.asarray(polar.polar_encode(code, m))
        np.testing.assert_array_equal(enc, (m.astype(np.int64) @ code.generator) % 2)
        if cws is not None:
            np.testing.assert_array_equal(enc, cws)
        assert enc.shape == (len(m), code.n) and enc.dtype == np.uint8


# -------------------------------------------------------------------------------------- constructions
def test_5g_sequence_permutation_nested_and_known_entries():
    seq = polar.polar_5g_sequence(1024)
    assert sorted(seq.tolist()) == list(range(1024))
    # TS 38.212 Table 5.3.1.2-1, first and last entries.
    assert seq[:16].tolist() == [0, 1, 2, 4, 8, 16, 32, 3, 5, 64, 9, 6, 17, 10, 18, 128]
    assert seq[-6:].tolist() == [1007, 1015, 1019, 1021, 1022, 1023]
    for n in (2, 8, 32, 128, 512):
        sub = polar.polar_5g_sequence(n)
        assert sub.tolist() == [q for q in seq.tolist() if q < n]
        assert sorted(sub.tolist()) == list(range(n))
    code = polar.polar_code(128, 64, "CRC11")
    assert set(code.info_positions) == set(polar.polar_5g_sequence(128)[128 - 75 :].tolist())
    assert code.num_info == 75 and code.frozen_mask.sum() == 53 and code.generator.shape == (64, 128)
    assert polar.polar_code(8, 4).info_positions == (3, 5, 6, 7)


def _exact_phi(x: float) -> float:
    """1 - E[tanh(U/2)], U ~ N(x, 2x), by the trapezoid rule on a fine grid (float64)."""
    s = math.sqrt(2 * x)
    u = np.linspace(x - 12 * s, x + 12 * s, 200001)
    w = np.exp(-((u - x) ** 2) / (4 * x)) / math.sqrt(4 * math.pi * x)
    return 1.0 - float(np.trapezoid(np.tanh(u / 2) * w, u))


def test_ga_phi_and_known_constructions():
    for x in (0.3, 1.0, 3.0, 8.0, 15.0, 30.0):  # Chung's approximation of phi within a few percent
        assert math.exp(polar._log_phi(np.array(x))) == pytest.approx(_exact_phi(x), rel=0.06)
    # Arikan's (8, 4) example: information set {3, 5, 6, 7} over a range of design SNRs.
    for ebno in (-1.0, 1.0, 3.0, 6.0):
        assert polar.polar_code(8, 4, construction="ga", design_ebno_db=ebno).info_positions == (3, 5, 6, 7)
    mu = polar.ga_llr_means(2, 0.0)
    assert mu[1] == pytest.approx(2 * 4.0) and 0 < mu[0] < 4.0  # g doubles the mean, f degrades it


@pytest.mark.parametrize("esno_db", [-3.0, 2.0, 12.0])
def test_ga_partial_order_and_high_snr(esno_db):
    n = 1024
    mu = polar.ga_llr_means(n, esno_db)
    assert np.isfinite(mu).all() and (mu > 0).all()
    # Universal partial order: turning a 0 into a 1 in the index (an f into a g) never makes a channel worse.
    for i in range(n):
        for b in range(10):
            if not i >> b & 1:
                assert mu[i | 1 << b] >= mu[i] * (1 - 1e-9)
    order = polar.ga_reliability_order(n, esno_db)
    assert sorted(order.tolist()) == list(range(n)) and order[0] == 0 and order[-1] == n - 1
    code = polar.polar_code(n, 512, "CRC11", construction="ga", design_ebno_db=esno_db + 3)
    assert code.num_info == 523 and len(set(code.info_positions)) == 523
    # Close to the 5G sequence at a moderate design SNR: (128, 64) information sets share >= 60 channels.
    assert len(set(polar.ga_reliability_order(128, 0.0)[64:]) & set(polar.polar_5g_sequence(128)[64:])) >= 60


# ------------------------------------------------------------------------------------------- decoders
@pytest.mark.parametrize("n,k,construction,list_size", [(8, 4, "5g", 16), (16, 4, "ga", 16), (16, 3, "5g", 8)])
def test_scl_with_full_list_is_ml(n, k, construction, list_size):
    rng = np.random.default_rng(n + k)
    kw = {"design_ebno_db": 2.0} if construction == "ga" else {}
    code = polar.polar_code(n, k, construction=construction, **kw)
    msgs, cws = _codebook(code)
    sent = rng.integers(0, len(msgs), 300)
    llr = _awgn_llr(rng, cws[sent], 1.0).astype(np.float32)
    best = _ml(llr, cws)
    for fast in (True, False):
        out = polar.scl_decode(code, llr, list_size, fast=fast)
        np.testing.assert_array_equal(np.asarray(out.codeword), cws[best])
        np.testing.assert_array_equal(np.asarray(out.message), msgs[best])
    assert (best != sent).any()  # the noise is strong enough for ML to err: the comparison is not trivial
    sc = polar.sc_decode(code, llr)
    np.testing.assert_array_equal(np.asarray(sc.codeword), np.asarray(polar.scl_decode(code, llr, 1).codeword))


def test_ca_scl_with_full_list_is_ml_over_the_crc_code():
    rng = np.random.default_rng(3)
    code = polar.polar_code(16, 2, _TOY_CRC)  # 5 information channels, 32 paths
    msgs, cws = _codebook(code)
    sent = rng.integers(0, 4, 400)
    llr = _awgn_llr(rng, cws[sent], 1.1).astype(np.float32)
    best = _ml(llr, cws)
    out = polar.scl_decode(code, llr, 32)
    np.testing.assert_array_equal(np.asarray(out.message), msgs[best])
    np.testing.assert_array_equal(np.asarray(out.codeword), cws[best])
    assert np.asarray(out.crc_pass).all()
    plain = polar.scl_decode(code, llr, 32, crc_aided=False)  # ML over all 32 words of the 5-bit polar code
    assert not np.asarray(plain.crc_pass).all()


@pytest.mark.slow
def test_ca_scl_selection_and_fast_nodes_match_bit_by_bit():
    rng = np.random.default_rng(5)
    code = polar.polar_code(16, 4, "CRC6")
    m = rng.integers(0, 2, (400, code.k)).astype(np.uint8)
    x = np.asarray(polar.polar_encode(code, m))
    llr = _awgn_llr(rng, x, 0.85).astype(np.float32)
    aided = polar.scl_decode(code, llr, 4)
    plain = polar.scl_decode(code, llr, 4, crc_aided=False)
    slow = polar.scl_decode(code, llr, 4, fast=False)
    for out in (aided, slow):  # fast subtrees keep the same list
        np.testing.assert_array_equal(np.asarray(out.codeword), np.asarray(aided.codeword))
    a_cw, p_cw = np.asarray(aided.codeword), np.asarray(plain.codeword)
    p_ok, a_ok = np.asarray(plain.crc_pass), np.asarray(aided.crc_pass)
    np.testing.assert_array_equal(a_cw[p_ok], p_cw[p_ok])  # the most likely path passes: both pick it
    assert (a_ok >= p_ok).all() and a_ok.sum() > p_ok.sum()
    assert (np.asarray(aided.message) != m).any(axis=1).sum() < (np.asarray(plain.message) != m).any(axis=1).sum()
    # Decisions are codewords whose message and CRC are what the decoder reports.
    np.testing.assert_array_equal(np.asarray(polar.polar_encode(code, aided.message))[a_ok], a_cw[a_ok])
    # SC: fast nodes, bit by bit and SCL with L = 1 agree.
    sc = np.asarray(polar.sc_decode(code, llr).codeword)
    np.testing.assert_array_equal(np.asarray(polar.sc_decode(code, llr, fast=False).codeword), sc)
    np.testing.assert_array_equal(np.asarray(polar.scl_decode(code, llr, 1).codeword), sc)
    # Noiseless LLRs (any magnitude) decode exactly.
    clean = (1.0 - 2.0 * x[:50]) * np.linspace(0.1, 20, 50)[:, None]
    for out in (polar.sc_decode(code, clean), polar.scl_decode(code, clean, 4)):
        np.testing.assert_array_equal(np.asarray(out.message), m[:50])
        np.testing.assert_array_equal(np.asarray(out.codeword), x[:50])


def test_bad_input():
    with pytest.raises(ValueError, match="k must be <= n - crc_length"):
        polar.polar_code(8, 9)
    with pytest.raises(ValueError, match="k must be <= n - crc_length"):
        polar.polar_code(16, 11, "CRC6")
    with pytest.raises(ValueError, match="n must be a power of two"):
        polar.polar_code(12, 4)
    with pytest.raises(ValueError, match="n must be in"):
        polar.polar_code(2048, 4)
    with pytest.raises(ValueError, match="construction must be one of"):
        polar.polar_code(8, 4, construction="rm")
    with pytest.raises(ValueError, match="design_ebno_db"):
        polar.polar_code(8, 4, construction="ga")
    with pytest.raises(ValueError, match="info_positions"):
        polar.PolarCode(8, 2, (5, 3))
    code = polar.polar_code(8, 4)
    llr = np.zeros((2, 8), np.float32)
    for bad in (3, 0, 64, 6, True):
        with pytest.raises(ValueError, match="list_size must be a power of two"):
            polar.scl_decode(code, llr, bad)
    nan = llr.copy()
    nan[1, 2] = np.nan
    with pytest.raises(ValueError, match="llr must not contain NaN"):
        polar.scl_decode(code, nan, 2)
    with pytest.raises(ValueError, match="llr must not contain NaN"):
        polar.sc_decode(code, jnp.asarray(nan))
    with pytest.raises(ValueError, match="infinite"):
        polar.scl_decode(code, np.where(nan == nan, -np.inf, 0.0), 4)
    with pytest.raises(ValueError, match="llr must have shape"):
        polar.sc_decode(code, np.zeros((2, 16)))
    with pytest.raises(ValueError, match="bits must have shape"):
        polar.polar_encode(code, np.zeros((2, 5), np.uint8))
