"""GF(2) algebra, classical code constructions and syndrome-table decoding (neuralcodes_jax.codes)."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax.codes import gf2, linear


def _span(rows: np.ndarray) -> set[int]:
    """Brute-force span of the rows over GF(2), as integers."""
    ints = gf2.bits_to_int(rows).tolist()
    out = {0}
    for v in ints:
        out |= {x ^ v for x in out}
    return out


# ------------------------------------------------------------------------------------------- GF(2)
def test_bits_int_roundtrip_msb_first():
    assert gf2.bits_to_int(np.array([1, 0, 1, 1])) == 11
    np.testing.assert_array_equal(gf2.int_to_bits(6, 4), [0, 1, 1, 0])
    x = np.arange(256)
    np.testing.assert_array_equal(gf2.bits_to_int(gf2.int_to_bits(x, 8)), x)


@pytest.mark.parametrize("seed", range(6))
def test_rank_row_reduce_null_space_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(1, 7), rng.integers(1, 9)
    a = (rng.random((rows, cols)) < 0.4).astype(np.uint8)
    r, pivots = gf2.row_reduce(a)
    span = _span(a)
    assert len(span) == 2 ** len(pivots) == 2 ** gf2.rank(a)
    assert _span(r) == span  # row operations keep the row space
    for i, p in enumerate(pivots):  # reduced echelon form
        np.testing.assert_array_equal(r[:, p], np.eye(rows, dtype=np.uint8)[i])
    assert not r[len(pivots) :].any()
    ns = gf2.null_space(a)
    assert ns.shape == (cols - len(pivots), cols)
    assert not gf2.matmul(a, ns.T).any()
    if ns.shape[0]:
        assert gf2.rank(ns) == ns.shape[0]
    # brute force: the null space has exactly 2^(cols - rank) vectors
    words = gf2.int_to_bits(np.arange(2**cols), cols)
    assert int((~gf2.matmul(words, a.T).any(axis=1)).sum()) == 2 ** (cols - len(pivots))


def test_systematic_form_and_inverse():
    rng = np.random.default_rng(7)
    mix = (rng.random((12, 12)) < 0.5).astype(np.uint8)
    while gf2.rank(mix) < 12:
        mix = (rng.random((12, 12)) < 0.5).astype(np.uint8)
    g = gf2.matmul(mix, linear.golay_code().generator[:, rng.permutation(23)])
    g_sys, perm = gf2.systematic_form(g)
    np.testing.assert_array_equal(g_sys[:, :12], np.eye(12, dtype=np.uint8))
    assert sorted(perm.tolist()) == list(range(23))
    assert _span(g_sys) == _span(g[:, perm])  # same code, coordinates reordered by perm
    a = (rng.random((6, 6)) < 0.5).astype(np.uint8)
    while gf2.rank(a) < 6:
        a = (rng.random((6, 6)) < 0.5).astype(np.uint8)
    np.testing.assert_array_equal(gf2.matmul(a, gf2.inverse(a)), np.eye(6, dtype=np.uint8))
    with pytest.raises(ValueError, match="singular"):
        gf2.inverse(np.array([[1, 1], [1, 1]]))
    with pytest.raises(ValueError, match="full row rank"):
        gf2.systematic_form(np.array([[1, 1, 0], [1, 1, 0]]))


def test_generator_parity_check_roundtrip():
    g = linear.golay_code().generator
    h = gf2.generator_to_parity_check(g)
    assert h.shape == (11, 23) and gf2.rank(h) == 11
    assert not gf2.matmul(g, h.T).any()
    g2 = gf2.parity_check_to_generator(h)
    assert _span(g2) == _span(g)


# ----------------------------------------------------------------------------------- constructions
@pytest.mark.parametrize(
    "make, n, k, d",
    [
        (lambda: linear.hamming_code(2), 3, 1, 3),
        (lambda: linear.hamming_code(3), 7, 4, 3),
        (lambda: linear.hamming_code(4), 15, 11, 3),
        (lambda: linear.extended_hamming_code(3), 8, 4, 4),
        (lambda: linear.golay_code(), 23, 12, 7),
        (lambda: linear.extended_golay_code(), 24, 12, 8),
        (lambda: linear.repetition_code(5), 5, 1, 5),
        (lambda: linear.single_parity_check_code(6), 6, 5, 2),
    ],
)
def test_constructions_parameters(make, n, k, d):
    code = make()
    assert (code.n, code.k) == (n, k) and code.rate == k / n
    cw = code.codewords()
    assert cw.shape == (2**k, n)
    assert np.unique(gf2.bits_to_int(cw)).size == 2**k
    weights = cw.sum(axis=1)
    assert weights[weights > 0].min() == d
    assert not gf2.matmul(cw, code.parity_check.T).any()
    np.testing.assert_array_equal(code.unencode(cw), code.messages())


def test_golay_weight_distribution_and_hamming_syndromes():
    w = np.bincount(linear.golay_code().codewords().sum(axis=1), minlength=24)
    expected = np.zeros(24, dtype=int)
    expected[[0, 7, 8, 11, 12, 15, 16, 23]] = [1, 253, 506, 1288, 1288, 506, 253, 1]
    np.testing.assert_array_equal(w, expected)
    h = linear.hamming_code(3)
    np.testing.assert_array_equal(gf2.bits_to_int(h.syndrome(np.eye(7, dtype=np.uint8))), np.arange(1, 8))
    np.testing.assert_array_equal(h.information_set, [2, 4, 5, 6])  # message bits, parity at 0, 1, 3


def test_dual_and_code_from_codewords():
    h = linear.hamming_code(3)
    simplex = h.dual()
    assert (simplex.n, simplex.k) == (7, 3)
    w = simplex.codewords().sum(axis=1)
    assert sorted(w.tolist()) == [0] + [4] * 7
    rebuilt = linear.code_from_codewords(h.codewords()[::-1])
    assert _span(rebuilt.generator) == _span(h.generator)
    with pytest.raises(ValueError, match="linear subspace"):
        linear.code_from_codewords(np.array([[0, 0, 0], [1, 1, 0], [0, 1, 1], [1, 1, 1]]))
    with pytest.raises(ValueError, match="distinct"):
        linear.code_from_codewords(np.array([[0, 0, 0], [0, 0, 0]]))


def test_encode_under_jit_matches_numpy():
    code = linear.hamming_code(4)
    msgs = code.messages()[:50]
    out = jax.jit(code.encode)(jnp.asarray(msgs))
    np.testing.assert_array_equal(np.asarray(out), code.encode(msgs))


def test_bad_input_errors_name_the_field():
    with pytest.raises(ValueError, match="k must be < n"):
        linear.LinearCode.from_generator(np.eye(4, dtype=np.uint8))
    with pytest.raises(ValueError, match="k must be < n"):
        linear.LinearCode.from_generator(np.ones((5, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="generator must be binary"):
        linear.LinearCode.from_generator(np.array([[1, 2, 0], [0, 1, 1]]))
    with pytest.raises(ValueError, match="parity_check must be binary"):
        linear.LinearCode.from_parity_check(np.array([[1, 0.5, 1]]))
    with pytest.raises(ValueError, match="full row rank"):
        linear.LinearCode.from_generator(np.array([[1, 1, 0, 0], [1, 1, 0, 0]]))
    with pytest.raises(ValueError, match="r must be in"):
        linear.hamming_code(1)
    with pytest.raises(ValueError, match="n must be in"):
        linear.repetition_code(1)
    with pytest.raises(ValueError, match="messages must have k=4"):
        linear.hamming_code(3).encode(np.zeros((2, 5), dtype=np.uint8))


# ---------------------------------------------------------------------------------- syndrome decoding
def test_golay_corrects_every_error_of_weight_at_most_3():
    code = linear.golay_code()
    dec = linear.SyndromeDecoder(code)
    # Perfect 3-error-correcting code: the 2^11 cosets have leaders of weights 0..3, no ties.
    np.testing.assert_array_equal(dec.leader_weight_distribution[:4], [1, 23, 253, 1771])
    assert dec.leader_weight_distribution.sum() == 2048
    errors = np.zeros((2048, 23), dtype=np.uint8)
    row = 0
    for w in range(4):
        for support in itertools.combinations(range(23), w):
            errors[row, list(support)] = 1
            row += 1
    assert row == 2048
    rng = np.random.default_rng(0)
    msgs = rng.integers(0, 2, (2048, 12)).astype(np.uint8)
    sent = code.encode(msgs)
    received = sent ^ errors
    np.testing.assert_array_equal(np.asarray(dec.decode(received)), sent)
    np.testing.assert_array_equal(dec.decode_numpy(received), sent)
    np.testing.assert_array_equal(np.asarray(dec.decode_messages(received)), msgs)
    np.testing.assert_array_equal(dec.decode_messages_numpy(received), msgs)


def test_coset_leader_tie_break_is_lexicographic():
    """Extended Hamming(8,4) has ties; the leader is the lexicographically first minimum-weight support."""
    code = linear.extended_hamming_code(3)
    dec = linear.SyndromeDecoder(code)
    words = gf2.int_to_bits(np.arange(256), 8)
    synd = gf2.bits_to_int(code.syndrome(words))
    for s in range(16):
        members = words[synd == s]
        w_min = members.sum(axis=1).min()
        supports = sorted(tuple(np.flatnonzero(m)) for m in members if m.sum() == w_min)
        np.testing.assert_array_equal(np.flatnonzero(dec.leaders[s]), supports[0])
    np.testing.assert_array_equal(dec.leader_weight_distribution, [1, 8, 7, 0, 0, 0, 0, 0, 0])


def test_decoders_agree_and_table_matches():
    code = linear.extended_hamming_code(3)
    dec = linear.SyndromeDecoder(code)
    words = gf2.int_to_bits(np.arange(256), 8)
    a = np.asarray(dec.decode(words))
    b = dec.decode_numpy(words)
    np.testing.assert_array_equal(a, b)
    assert not gf2.matmul(a, code.parity_check.T).any()  # outputs are codewords
    np.testing.assert_array_equal(dec.table(), gf2.bits_to_int(code.unencode(b)))
    # decoding distance equals the coset-leader weight: never worse than the nearest codeword
    dist_to_code = (words[:, None, :] != code.codewords()[None]).sum(-1).min(axis=1)
    np.testing.assert_array_equal((a != words).sum(axis=1), dist_to_code)
    with pytest.raises(ValueError, match="received must have n=8"):
        dec.decode(np.zeros((3, 7), dtype=np.uint8))
    assert math.isclose(code.rate, 0.5)
