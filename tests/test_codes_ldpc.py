"""LDPC codes and batched BP decoding (neuralcodes_jax.codes.ldpc).

References used here: brute-force cycle counts, known Tanner graphs, a float64 NumPy flooding BP written from the
update equations, exact BEC peeling, and (when installed) the C++ decoder of the PyPI ``ldpc`` package.

Compile budget: the small-code tests share one decoder width (64 words: ``tile=64``, ``compaction=None``) per
algorithm; only the compaction test adds the widths 16, 4 and 1.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax import channels
from neuralcodes_jax.codes import gf2, ldpc, linear

SMALL = dict(tile=64, compaction=None)  # one compiled width (64) for the small-code tests


@pytest.fixture(scope="module")
def small():
    """(3,6) Gallager code, n = 96, no 4-cycles."""
    return ldpc.LdpcCode.gallager(96, 3, 6, seed=0)


@pytest.fixture(scope="module")
def big():
    """(3,6) Gallager code, n = 1008 (the benchmark code)."""
    return ldpc.LdpcCode.gallager(1008, 3, 6, seed=0)


@pytest.fixture(scope="module")
def irregular():
    """An irregular code: column weights 2..4, row weights 3..9."""
    rng = np.random.default_rng(3)
    n, m = 30, 15
    h = np.zeros((m, n), np.uint8)
    for j in range(n):
        h[rng.choice(m, size=rng.integers(2, 5), replace=False), j] = 1
    return ldpc.LdpcCode(h, "irregular")


def _codewords(code, count, seed):
    rng = np.random.default_rng(seed)
    return code.encode(rng.integers(0, 2, (count, code.k)).astype(np.uint8))


def _bsc(words, p, seed):
    rng = np.random.default_rng(seed)
    return words ^ (rng.random(words.shape) < p).astype(np.uint8)


def _decode_np(code, llr, **kw):
    r = ldpc.bp_decode(code, llr, **kw)
    return np.asarray(r.bits), np.asarray(r.converged), np.asarray(r.iterations)


def _reference_bp(h, llr, algorithm, alpha, max_iters, clip=ldpc.DEFAULT_LLR_CLIP):
    """Float64 flooding BP straight from the update equations, dense ``[W, m, n]`` edge arrays, each word's output
    frozen at its first zero syndrome. Returns ``(bits [W, n], converged [W], iterations [W])``."""
    edges = h.astype(bool)
    lv = np.clip(llr.astype(np.float64), -clip, clip)
    v2c = np.where(edges, lv[:, None, :], 0.0)
    words = lv.shape[0]
    out_bits, conv, iters = lv < 0, np.zeros(words, bool), np.full(words, max_iters)
    for it in range(1, max_iters + 1):
        c2v = np.zeros_like(v2c)
        for c in range(h.shape[0]):
            cols = np.flatnonzero(edges[c])
            for v in cols:
                others = v2c[:, c, cols[cols != v]]
                if algorithm == "sum_product":
                    x = np.prod(np.tanh(others / 2.0), axis=1)
                    with np.errstate(divide="ignore"):
                        c2v[:, c, v] = np.clip(np.log((1 + x) / (1 - x)), -clip, clip)
                else:
                    sign = np.where(np.count_nonzero(others < 0, axis=1) % 2, -1.0, 1.0)
                    c2v[:, c, v] = alpha * sign * np.min(np.abs(others), axis=1)
        post = lv + c2v.sum(axis=1)
        bits = post < 0
        ok = ~gf2.matmul(bits.astype(np.uint8), h.T).any(axis=1)
        active = ~conv
        out_bits[active] = bits[active]
        iters[active & ok] = it
        conv |= ok
        v2c = np.where(edges, np.clip(post[:, None, :] - c2v, -clip, clip), 0.0)
    return out_bits, conv, iters


def _peel(h, erased):
    """Positions an exact BEC peeling decoder resolves (checks with one unknown variable, repeated)."""
    unknown = erased.copy()
    progress = True
    while progress:
        progress = False
        for c in range(h.shape[0]):
            u = np.flatnonzero(h[c].astype(bool) & unknown)
            if u.size == 1:
                unknown[u[0]] = False
                progress = True
    return erased & ~unknown


# ------------------------------------------------------------------------------------------- construction
def test_gallager_weights_bands_and_no_4cycles(small):
    h = small.parity_check
    assert h.shape == (48, 96)
    assert set(h.sum(axis=0).tolist()) == {3} and set(h.sum(axis=1).tolist()) == {6}
    np.testing.assert_array_equal(h[:16], np.kron(np.eye(16, dtype=np.uint8), np.ones((1, 6), np.uint8)))
    for band in range(3):  # each band has exactly one 1 per column
        np.testing.assert_array_equal(h[16 * band : 16 * (band + 1)].sum(axis=0), np.ones(96))
    assert ldpc.count_4cycles(h) == 0 and small.num_4cycles() == 0
    assert small.girth() == 6
    np.testing.assert_array_equal(ldpc.gallager_regular(96, 3, 6, seed=0), h)  # seeded
    assert not np.array_equal(ldpc.gallager_regular(96, 3, 6, seed=1), h)
    raw = ldpc.gallager_regular(96, 3, 6, seed=0, remove_4cycles=False)
    assert set(raw.sum(axis=0).tolist()) == {3} and set(raw.sum(axis=1).tolist()) == {6}
    assert ldpc.count_4cycles(raw) > 0  # the removal had work to do
    assert small.design_rate == 0.5 and small.k == 96 - small.rank >= 48


def test_gallager_warns_when_4cycles_remain():
    # n = 24 has 4 checks per band: two columns sharing two rows cannot all be separated.
    with pytest.warns(RuntimeWarning, match="4-cycles remain"):
        h = ldpc.gallager_regular(24, 3, 6, seed=0, max_tries=50)
    assert set(h.sum(axis=0).tolist()) == {3} and set(h.sum(axis=1).tolist()) == {6}


def test_peg_weights_and_bad_degrees():
    h = ldpc.peg_regular(100, 3, 6, seed=0)  # n = 100 is not a multiple of d_c: no Gallager code of this length
    assert h.shape == (50, 100) and h.dtype == np.uint8
    assert set(h.sum(axis=0).tolist()) == {3} and set(h.sum(axis=1).tolist()) == {6}
    np.testing.assert_array_equal(ldpc.peg_regular(100, 3, 6, seed=0), h)  # seeded
    with pytest.raises(ValueError, match="multiple of d_c"):
        ldpc.peg_regular(100, 3, 7, seed=0)
    with pytest.raises(ValueError, match="d_v must be an int"):
        ldpc.peg_regular(100, 0, 6, seed=0)


@pytest.mark.parametrize("seed", range(4))
def test_count_4cycles_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    h = (rng.random((6, 9)) < 0.45).astype(np.uint8)
    brute = sum(
        int(h[r1, c1] & h[r1, c2] & h[r2, c1] & h[r2, c2])
        for r1 in range(6)
        for r2 in range(r1 + 1, 6)
        for c1 in range(9)
        for c2 in range(c1 + 1, 9)
    )
    assert ldpc.count_4cycles(h) == brute


def test_girth_of_known_graphs():
    cycle6 = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], np.uint8)  # v0 c0 v1 c1 v2 c2 v0
    cycle8 = np.eye(4, dtype=np.uint8) + np.roll(np.eye(4, dtype=np.uint8), 1, axis=1)  # one 8-cycle
    tree = np.array([[1, 1, 0, 0], [0, 1, 1, 1]], np.uint8)
    assert ldpc.LdpcCode(linear.hamming_code(3).parity_check).girth() == 4
    assert ldpc.LdpcCode(cycle6).girth() == 6
    assert ldpc.LdpcCode(cycle8).girth() == 8
    assert ldpc.LdpcCode(cycle8).girth(max_girth=6) is None
    assert ldpc.LdpcCode(tree).girth() is None


def test_tanner_graph_tables_rebuild_h(irregular):
    g = irregular.graph
    h = irregular.parity_check
    m, n = h.shape
    rebuilt = np.zeros_like(h)
    rows = np.repeat(np.arange(m)[:, None], g.max_check_degree, axis=1)
    rebuilt[rows[g.check_mask], g.check_vars[g.check_mask]] = 1
    np.testing.assert_array_equal(rebuilt, h)
    edge_var = g.check_vars.T.reshape(-1)  # slot-major edge numbering
    for v in range(n):
        np.testing.assert_array_equal(np.sort(edge_var[g.var_edges[v, g.var_mask[v]]]), [v] * h[:, v].sum())
    assert g.num_edges == h.sum() and not g.check_regular and not g.var_regular


# ------------------------------------------------------------------------------------------------ the code
def test_code_dimension_generator_and_encoding(small):
    h = small.parity_check
    assert small.rank == gf2.rank(h) and small.k == 96 - small.rank
    g = small.generator
    assert g.shape == (small.k, 96) and not gf2.matmul(g, h.T).any() and gf2.rank(g) == small.k
    np.testing.assert_array_equal(g[:, small.information_positions], np.eye(small.k, dtype=np.uint8))
    msgs = np.random.default_rng(0).integers(0, 2, (20, small.k)).astype(np.uint8)
    cw = small.encode(msgs)
    assert cw.dtype == np.uint8 and not small.syndrome(cw).any()
    np.testing.assert_array_equal(small.unencode(cw), msgs)
    cw_jit = jax.jit(small.encode)(jnp.asarray(msgs))
    assert isinstance(cw_jit, jax.Array)
    np.testing.assert_array_equal(np.asarray(cw_jit), cw)
    assert not np.asarray(small.syndrome(cw_jit)).any()


def test_dependent_rows_give_true_rate(big):
    # Each band sums to the all-ones row, so rank <= m - d_v + 1 = 502 and k = 506 (coding-anchors sec. 1.2).
    assert (big.m, big.rank, big.k) == (504, 502, 506)
    assert big.rate == pytest.approx(506 / 1008) and big.num_4cycles() == 0


# ---------------------------------------------------------------------------------------------------- alist
HAND_ALIST = """4 2
2 3
1 2 1 2
3 3
1 0
1 2
2 0
1 2
1 2 4
2 3 4
"""


def test_alist_round_trip_and_mackay_format(irregular, small, tmp_path):
    h = irregular.parity_check
    text = ldpc.write_alist(h)
    assert text.splitlines()[0] == "30 15"
    np.testing.assert_array_equal(ldpc.read_alist(text), h)
    path = tmp_path / "code.alist"
    ldpc.write_alist(small.parity_check, path)
    np.testing.assert_array_equal(ldpc.read_alist(path), small.parity_check)
    np.testing.assert_array_equal(ldpc.read_alist(str(path)), small.parity_check)
    np.testing.assert_array_equal(ldpc.LdpcCode.from_alist(path).parity_check, small.parity_check)
    expected = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], np.uint8)
    np.testing.assert_array_equal(ldpc.read_alist(HAND_ALIST), expected)
    np.testing.assert_array_equal(ldpc.read_alist(HAND_ALIST.replace(" 0\n", "\n")), expected)  # unpadded


@pytest.mark.parametrize(
    "bad, match",
    [
        (HAND_ALIST.replace("1 2 4\n", "1 3 4\n"), "different matrices"),
        ("\n".join(HAND_ALIST.splitlines()[:7]), "ends early"),
        (HAND_ALIST.replace("2 3 4\n", "2 3 9\n"), "outside"),
        (HAND_ALIST.replace("2 3\n", "2 x\n"), "integers"),
    ],
)
def test_alist_malformed(bad, match):
    with pytest.raises(ValueError, match=match):
        ldpc.read_alist(bad)


# --------------------------------------------------------------------------------------------- channel LLRs
def test_channel_llr_conventions():
    llr = ldpc.channel_llr("bsc", np.array([[0, 1]]), 0.1)
    np.testing.assert_allclose(llr, [[np.log(9.0), -np.log(9.0)]], rtol=1e-6)
    np.testing.assert_allclose(llr, np.asarray(channels.bsc_llr(jnp.array([[0, 1]]), 0.1)), rtol=1e-6)
    assert isinstance(ldpc.channel_llr("bsc", jnp.array([0, 1]), 0.1), jax.Array)
    big = ldpc.DEFAULT_LLR_CLIP
    np.testing.assert_array_equal(ldpc.channel_llr("bec", np.array([0, 1, 2])), [big, -big, 0.0])
    np.testing.assert_array_equal(
        ldpc.channel_llr("bec", np.array([0, 1, 1]), 0.3, erasures=np.array([0, 0, 1], bool), known_llr=5.0),
        [5.0, -5.0, 0.0],
    )
    np.testing.assert_allclose(ldpc.channel_llr("awgn", np.array([0.5, -1.0]), 0.5), [4.0, -8.0])


@pytest.mark.parametrize(
    "args, match",
    [
        (("bsc", [0, 1], 0.5), r"p must be in \(0, 0.5\)"),
        (("bsc", [0, 1], 0.0), r"p must be in \(0, 0.5\)"),
        (("bsc", [0, 1], 0.7), r"p must be in \(0, 0.5\)"),
        (("bsc", [0, 2], 0.1), "binary"),
        (("bsc", [0, 1]), "param"),
        (("awgn", [0.1], 0.0), "sigma must be in"),
        (("bec", [0, 3]), "BEC symbols"),
        (("bec", [0, 1], 1.0), "erasure probability"),
        (("qsc", [0], 0.1), "channel must be one of"),
    ],
)
def test_channel_llr_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        ldpc.channel_llr(*args)


# -------------------------------------------------------------------------------------------------- decoder
@pytest.mark.parametrize("algorithm", ldpc.ALGORITHMS)
def test_every_single_error_is_corrected(small, algorithm):
    cw = np.repeat(_codewords(small, 1, 0), 96, axis=0)
    received = cw ^ np.eye(96, dtype=np.uint8)
    bits, conv, iters = _decode_np(small, ldpc.channel_llr("bsc", received, 0.05), algorithm=algorithm, **SMALL)
    np.testing.assert_array_equal(bits, cw)
    assert conv.all() and iters.max() <= 2


@pytest.mark.parametrize("algorithm", ldpc.ALGORITHMS)
def test_bec_erasures_are_peeled(small, algorithm):
    """On the BEC, BP is exact peeling: peelable positions are recovered, the rest stay at LLR 0 (decided 0)."""
    rng = np.random.default_rng(1)
    cw = _codewords(small, 64, 1)
    erased = rng.random(cw.shape) < rng.uniform(0.1, 0.45, (64, 1))
    y = np.where(erased, channels.ERASURE, cw)
    bits, conv, _ = _decode_np(small, ldpc.channel_llr("bec", y), algorithm=algorithm, **SMALL)
    stuck_words = 0
    for i in range(64):
        resolved = _peel(small.parity_check, erased[i])
        stuck = erased[i] & ~resolved
        np.testing.assert_array_equal(bits[i, ~stuck], cw[i, ~stuck])
        assert not bits[i, stuck].any()
        if not stuck.any():
            assert conv[i]
        stuck_words += bool(stuck.any())
    assert 5 <= stuck_words <= 59  # both outcomes are exercised
    np.testing.assert_array_equal(conv, ~small.syndrome(bits).any(axis=1))


@pytest.mark.parametrize("algorithm", ldpc.ALGORITHMS)
def test_failures_are_flagged(small, algorithm):
    y = _bsc(_codewords(small, 64, 2), 0.12, 2)
    bits, conv, iters = _decode_np(small, ldpc.channel_llr("bsc", y, 0.12), algorithm=algorithm, max_iters=10, **SMALL)
    np.testing.assert_array_equal(conv, ~small.syndrome(bits).any(axis=1))  # converged <=> H c = 0
    assert 0 < conv.sum() < 64
    assert (iters[~conv] == 10).all() and (iters >= 1).all() and (iters[conv] <= 10).all()


def test_early_stopping_is_per_codeword(small):
    """Easy and hard words in one batch decode exactly as each word alone (tile=1), whatever the compaction."""
    cw = _codewords(small, 64, 3)
    rng = np.random.default_rng(3)
    y = _bsc(cw, 0.15, 4)
    easy = np.arange(0, 64, 2)
    y[easy] = cw[easy] ^ (np.arange(96) == rng.integers(0, 96, (32, 1))).astype(np.uint8)  # one error each
    llr = ldpc.channel_llr("bsc", y, 0.05)
    alone = _decode_np(small, llr, tile=1)
    pooled = _decode_np(small, llr, tile=64, compaction=4)  # widths 64, 16, 4, 1
    full = _decode_np(small, llr, **SMALL)
    for out in (pooled, full, _decode_np(small, llr, tile=64, compaction=1)):
        for a, b in zip(alone, out):
            np.testing.assert_array_equal(a, b)
    bits, conv, iters = full
    np.testing.assert_array_equal(bits[easy], cw[easy])
    assert conv[easy].all() and iters[easy].max() <= 2 < iters.max() == 50  # the batch ran 50 iterations


def test_traced_call_matches_eager(small):
    llr = jnp.asarray(ldpc.channel_llr("bsc", _bsc(_codewords(small, 64, 5), 0.08, 5), 0.08))
    traced = jax.jit(lambda x: ldpc.bp_decode(small, x, algorithm="min_sum"))(llr)
    eager = ldpc.bp_decode(small, llr, algorithm="min_sum", **SMALL)
    for a, b in zip(traced, eager):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("algorithm", ldpc.ALGORITHMS)
def test_irregular_code_matches_float64_reference(irregular, algorithm):
    """Padded rows/columns: decisions and iteration counts equal a float64 dense reference on every word it decodes
    within the budget; float32 rounding may only move words that oscillate to the iteration limit."""
    y = _bsc(_codewords(irregular, 64, 6), 0.08, 6)
    llr = ldpc.channel_llr("bsc", y, 0.08)
    alpha = 0.8 if algorithm == "min_sum" else None
    bits, conv, iters = _decode_np(irregular, llr, algorithm=algorithm, alpha=alpha, max_iters=15, **SMALL)
    ref_bits, ref_conv, ref_iters = _reference_bp(irregular.parity_check, llr, algorithm, alpha or 1.0, 15)
    assert 40 <= ref_conv.sum() < 64 and (conv == ref_conv).mean() >= 0.95
    both = ref_conv & conv
    np.testing.assert_array_equal(bits[both], ref_bits[both])
    np.testing.assert_array_equal(iters[both], ref_iters[both])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(algorithm="belief"), "algorithm must be one of"),
        (dict(max_iters=0), "max_iters must be >= 1"),
        (dict(algorithm="min_sum", alpha=0.0), r"alpha must be in \(0, 1\]"),
        (dict(algorithm="min_sum", alpha=1.5), r"alpha must be in \(0, 1\]"),
        (dict(alpha=0.8), "must be None for sum_product"),
        (dict(llr_clip=-1.0), "llr_clip must be in"),
        (dict(tile=48), "tile must be a power of two"),
        (dict(compaction=0), "compaction must be >= 1"),
    ],
)
def test_bp_decode_bad_options(small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ldpc.bp_decode(small, np.zeros((2, 96)), **kwargs)


def test_bad_inputs(small):
    with pytest.raises(ValueError, match=r"llr must have shape \[B, n\] with n=96"):
        ldpc.bp_decode(small, np.zeros(96))
    with pytest.raises(ValueError, match=r"llr must have shape \[B, n\] with n=96"):
        ldpc.bp_decode(small, np.zeros((3, 95)))
    with pytest.raises(ValueError, match="NaN"):
        ldpc.bp_decode(small, np.full((1, 96), np.nan))
    with pytest.raises(ValueError, match="binary"):
        ldpc.bp_decode(np.array([[1, 2], [0, 1]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="2 axes"):
        ldpc.LdpcCode(np.ones(5))
    with pytest.raises(ValueError, match="binary"):
        ldpc.LdpcCode(np.array([[1, 0, 2]]))
    with pytest.raises(ValueError, match="k >= 1"):
        ldpc.LdpcCode(np.eye(4))
    with pytest.raises(ValueError, match="n must be a multiple of d_c=6"):
        ldpc.gallager_regular(100, 3, 6, seed=0)
    with pytest.raises(ValueError, match=r"d_v must be in \[1, 5\]"):
        ldpc.gallager_regular(96, 6, 6, seed=0)
    with pytest.raises(ValueError, match="messages must have k="):
        small.encode(np.zeros((2, small.k + 1)))


# ------------------------------------------------------------------------------------ oracle: C++ ldpc package
def _cpp_decode(h, y, p, algorithm, alpha, max_iters):
    bp = pytest.importorskip("ldpc", reason="the C++ oracle needs the PyPI package `ldpc`").BpDecoder
    dec = bp(
        h,
        error_rate=p,
        max_iter=max_iters,
        bp_method="product_sum" if algorithm == "sum_product" else "minimum_sum",
        ms_scaling_factor=alpha or 1.0,
        schedule="parallel",
        input_vector_type="received_vector",
    )
    out = [(dec.decode(w), dec.converge, dec.iter) for w in y]
    return (np.array([o[0] for o in out]), np.array([o[1] for o in out], bool), np.array([o[2] for o in out]))


@pytest.mark.parametrize("algorithm", ldpc.ALGORITHMS)
def test_same_decisions_as_cpp_decoder(small, algorithm):
    """Same schedule (flooding), same update rule and scaling, same max_iter, same received words.

    The decoders differ only in float32 vs float64 arithmetic, in clipping (at 40 here, none in C++), and in the tie
    rule at a posterior of exactly 0. Tolerances: convergence flags agree on >= 98% of the words; words converged
    in both have identical decisions (>= 99%) and iteration counts (>= 98%). Rounding can tip a word that is at the
    edge of converging; measured on 3000 words of the n=1008 code at p=0.05 and 0.07, at most 1 word per setting
    differed, and none here. Non-converged words may end on different bits after oscillating.
    """
    p, alpha = 0.06, (0.75 if algorithm == "min_sum" else None)
    y = _bsc(_codewords(small, 256, 7), p, 7)
    cpp_bits, cpp_conv, cpp_iters = _cpp_decode(small.parity_check, y, p, algorithm, alpha, 20)
    bits, conv, iters = _decode_np(
        small, ldpc.channel_llr("bsc", y, p), algorithm=algorithm, alpha=alpha, max_iters=20, **SMALL
    )
    assert 0.05 < 1 - cpp_conv.mean() < 0.6  # failures are exercised
    assert (conv == cpp_conv).mean() >= 0.98
    both = conv & cpp_conv
    assert (bits[both] == cpp_bits[both]).all(axis=1).mean() >= 0.99
    assert (iters[both] == cpp_iters[both]).mean() >= 0.98


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ldpc.ALGORITHMS)
def test_bler_n1008_agrees_with_cpp_decoder(big, algorithm):
    """(3,6) n=1008 on BSC(0.07), 256 words, max_iter 50.

    Both decoders see the same received words (a paired comparison), so their BLERs differ only through words
    decoded differently. The Monte Carlo standard error of a BLER near 0.15 with 256 independent words is
    sqrt(0.15 * 0.85 / 256) = 0.022; we require the paired difference to stay within 0.02 (at most 5 discordant
    words; measured: 0) and the BLER to lie in a range where a broken decoder would be caught.
    """
    p, alpha = 0.07, (0.75 if algorithm == "min_sum" else None)
    cw = _codewords(big, 256, 8)
    y = _bsc(cw, p, 8)
    cpp_bits, _, _ = _cpp_decode(big.parity_check, y, p, algorithm, alpha, 50)
    bits, conv, _ = _decode_np(big, ldpc.channel_llr("bsc", y, p), algorithm=algorithm, alpha=alpha, compaction=None)
    err = (bits != cw).any(axis=1)
    cpp_err = (cpp_bits != cw).any(axis=1)
    assert 0.02 <= cpp_err.mean() <= 0.5
    assert abs(err.mean() - cpp_err.mean()) <= 0.02 and (err != cpp_err).sum() <= 5
    assert (~conv <= err).all()  # a word flagged as failed is never the sent codeword
