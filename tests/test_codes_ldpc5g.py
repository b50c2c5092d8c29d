"""5G NR LDPC codes (neuralcodes_jax.codes.ldpc5g) and the layered / offset min-sum BP of codes.ldpc.

References: the counts and first entries of TS 38.212 Tables 5.3.2-1..3, the lifting sizes enumerated as ``a 2^j``,
exact GF(2) ranks, sparse syndromes of the lifted ``H``, and float64 NumPy BP (flooding and layered, one check at a
time) written from the update equations.

Compile budget: decoders run at one width (64 words: ``tile=64``, ``compaction=None``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax import codes
from neuralcodes_jax.codes import gf2, ldpc, ldpc5g

W64 = dict(tile=64, compaction=None)


@pytest.fixture(scope="module")
def c128():
    return ldpc5g.nr_ldpc(64, 128)


def _awgn_llr(bits, rate, ebno_db, seed):
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(1.0 / (2.0 * rate * 10 ** (ebno_db / 10.0)))
    y = 1.0 - 2.0 * bits.astype(np.float64) + sigma * rng.standard_normal(bits.shape)
    return (2.0 * y / sigma**2).astype(np.float32)


def _msgs(count, k, seed):
    return np.random.default_rng(seed).integers(0, 2, (count, k)).astype(np.uint8)


def _check_msg(others, algorithm, alpha, beta, clip):
    """Check-to-variable message from the other variable-to-check messages ``[W, d-1]`` (float64)."""
    if algorithm == "sum_product":
        x = np.prod(np.tanh(others / 2.0), axis=1)
        with np.errstate(divide="ignore"):
            return np.clip(np.log((1 + x) / (1 - x)), -clip, clip)
    sign = np.where(np.count_nonzero(others < 0, axis=1) % 2, -1.0, 1.0)
    return alpha * sign * np.maximum(np.min(np.abs(others), axis=1) - beta, 0.0)


def _reference_bp(h, llr, algorithm, max_iters, alpha=1.0, beta=0.0, layers=None, clip=ldpc.DEFAULT_LLR_CLIP):
    """Float64 BP from the equations: flooding (``layers`` None) or layered, checks of a layer one after the other
    (equal to all at once, as they share no variable). Outputs frozen at the first zero syndrome."""
    edges = h.astype(bool)
    m = h.shape[0]
    lv = np.clip(llr.astype(np.float64), -clip, clip)
    words = lv.shape[0]
    c2v = np.zeros((words,) + h.shape)
    post = lv.copy()
    out_bits, conv, iters = lv < 0, np.zeros(words, bool), np.full(words, max_iters)
    for it in range(1, max_iters + 1):
        if layers is None:
            v2c = np.where(edges, np.clip(post[:, None, :] - c2v, -clip, clip), 0.0)
            for c in range(m):
                cols = np.flatnonzero(edges[c])
                for v in cols:
                    c2v[:, c, v] = _check_msg(v2c[:, c, cols[cols != v]], algorithm, alpha, beta, clip)
            post = lv + c2v.sum(axis=1)
        else:
            for layer in layers:
                for c in layer:
                    cols = np.flatnonzero(edges[c])
                    v2c = np.clip(post[:, cols] - c2v[:, c, cols], -clip, clip)
                    new = np.stack(
                        [
                            _check_msg(v2c[:, np.arange(cols.size) != i], algorithm, alpha, beta, clip)
                            for i in range(cols.size)
                        ],
                        axis=1,
                    )
                    c2v[:, c, cols] = new
                    post[:, cols] = v2c + new
        bits = post < 0
        ok = ~gf2.matmul(bits.astype(np.uint8), h.T).any(axis=1)
        active = ~conv
        out_bits[active] = bits[active]
        iters[active & ok] = it
        conv |= ok
    return out_bits.astype(np.uint8), conv, iters


# ------------------------------------------------------------------------------------------------- tables
def test_lifting_sizes_are_table_5_3_2_1():
    sizes = {}
    for i, a in enumerate((2, 3, 5, 7, 9, 11, 13, 15)):
        for j in range(8):
            if a * 2**j <= 384:
                sizes[a * 2**j] = i
    assert len(ldpc5g.LIFTING_SIZES) == 51 == len(sizes)
    assert sorted(sizes) == list(ldpc5g.LIFTING_SIZES)
    assert all(ldpc5g.lifting_set_index(z) == i for z, i in sizes.items())


def test_base_graph_counts_and_entries():
    # TS 38.212: BG1 46 x 68 with 316 nonzero entries, BG2 42 x 52 with 197.
    for bg, shape, nnz in ((1, (46, 68), 316), (2, (42, 52), 197)):
        t = ldpc5g.base_graph_table(bg)
        assert t.shape == shape + (8,) and int((t[..., 0] >= 0).sum()) == nnz
        assert ((t >= 0).all(axis=2) | (t < 0).all(axis=2)).all()  # the same support in every set
        zmax = np.array([max(s) for s in ldpc5g.LIFTING_SETS])
        assert (t < zmax).all()  # V_ij < Z_max of its set
        kc = 22 if bg == 1 else 10
        assert (t[..., 0] >= 0)[:, kc + 4 :].sum(axis=0).tolist() == [1] * (shape[0] - 4)  # degree-1 extension
    # First entries of Table 5.3.2-2 (BG1) and 5.3.2-3 (BG2), row 0, column 0, sets 0..7.
    assert ldpc5g.base_graph_table(1)[0, 0].tolist() == [250, 307, 73, 223, 211, 294, 0, 135]
    assert ldpc5g.base_graph_table(2)[0, 0].tolist() == [9, 174, 0, 72, 3, 156, 143, 145]
    # BG1: rows 0..3 have 19 ones; the punctured columns 0 and 1 have degrees 30, 28 (BG2: 22, 23).
    assert (ldpc5g.base_graph_table(1)[:4, :, 0] >= 0).sum(axis=1).tolist() == [19, 19, 19, 19]
    assert (ldpc5g.base_graph_table(1)[:, :2, 0] >= 0).sum(axis=0).tolist() == [30, 28]
    assert (ldpc5g.base_graph_table(2)[:, :2, 0] >= 0).sum(axis=0).tolist() == [22, 23]


@pytest.mark.parametrize("bg, z", [(1, 2), (1, 5), (2, 3), (2, 7)])
def test_lifted_h_rank_gives_dimension_kc_z(bg, z):
    h = ldpc5g.lifted_parity_check(bg, z)
    kc = 22 if bg == 1 else 10
    assert h.shape == (ldpc5g.BASE_GRAPH_SHAPES[bg][0] * z, ldpc5g.BASE_GRAPH_SHAPES[bg][1] * z)
    assert ldpc.LdpcCode(h).k == kc * z
    # The parity part is square and invertible: a systematic word satisfying H is the unique codeword.
    assert gf2.rank(h[:, kc * z :]) == h.shape[0]
    # Circulants: each row block has the base graph row's weight in every row.
    bw = (ldpc5g.base_graph_table(bg)[..., 0] >= 0).sum(axis=1)
    np.testing.assert_array_equal(h.sum(axis=1), np.repeat(bw, z))
    sp = ldpc5g.lifted_parity_check(bg, z, sparse=True)
    np.testing.assert_array_equal(sp.toarray(), h)


@pytest.mark.parametrize("bg, z", [(1, 2), (1, 13), (1, 36), (1, 384), (2, 2), (2, 15), (2, 104), (2, 352)])
def test_every_codeword_satisfies_h(bg, z):
    code = ldpc5g.NrLdpcCode.lifted(bg, z)
    u = _msgs(16, code.k, seed=z)
    cw = code.encode_mother(u)
    assert cw.shape == (16, code.n_ldpc) and cw.dtype == np.uint8
    np.testing.assert_array_equal(cw[:, : code.k], u)  # systematic
    h = ldpc5g.lifted_parity_check(bg, z, sparse=True)
    assert not ((h @ cw.T.astype(np.int64)) % 2).any()
    assert cw[:, code.k :].any()  # parity bits not trivially zero
    # Linear: the sum of two codewords is the codeword of the sum of their messages.
    np.testing.assert_array_equal(code.encode_mother(u[:8] ^ u[8:]), cw[:8] ^ cw[8:])


# ---------------------------------------------------------------------------------------------- selection
def test_base_graph_and_lifting_selection():
    assert ldpc5g.select_base_graph(292, 0.9) == 2 and ldpc5g.select_base_graph(293, 0.9) == 1
    assert ldpc5g.select_base_graph(3824, 0.67) == 2 and ldpc5g.select_base_graph(3825, 0.67) == 1
    assert ldpc5g.select_base_graph(5000, 0.25) == 2 and ldpc5g.select_base_graph(5000, 0.26) == 1
    assert ldpc5g.select_lifting(64, 2) == (11, 5, 6)  # 6 * 11 = 66 >= 64 > 60
    assert ldpc5g.select_lifting(200, 2) == (26, 6, 8)  # K_b = 8: 8 * 26 = 208 >= 200 > 8 * 24
    assert ldpc5g.select_lifting(600, 2) == (72, 4, 9)  # K_b = 9 for 560 < K <= 640
    assert ldpc5g.select_lifting(8448, 1) == (384, 1, 22)
    assert ldpc5g.select_lifting(3840, 2) == (384, 1, 10)
    for k in range(1, 3841, 7):  # brute force over the table
        for bg in (1, 2):
            z, _, kb = ldpc5g.select_lifting(k, bg)
            assert kb * z >= k and not any(kb * y >= k for y in ldpc5g.LIFTING_SIZES if y < z)


def test_rate_matched_code_layout(c128):
    assert (c128.k, c128.n, c128.bg, c128.z, c128.k_ldpc, c128.num_filler) == (64, 128, 2, 11, 110, 46)
    pos = c128.transmitted_positions
    # The first 2Z systematic bits and the filler bits are not sent; the rest in order.
    np.testing.assert_array_equal(pos, np.concatenate([np.arange(22, 64), 110 + np.arange(86)]))
    u = _msgs(16, 64, seed=1)
    np.testing.assert_array_equal(c128.encode(u), c128.encode_mother(u)[:, pos])
    assert c128.num_row_blocks == 8 and c128.n_decoder == 18 * 11 and c128.graph.m == 88
    big = ldpc5g.nr_ldpc(1000, 1200)
    assert (big.bg, big.z) == (1, 48) and big.encode(_msgs(2, 1000, 0)).shape == (2, 1200)
    assert codes.nr_ldpc(64, 128) is c128
    # The pruned decoding graph is the top-left corner of the mother H (row blocks touching a sent bit).
    small = ldpc5g.NrLdpcCode.lifted(2, 2, k=16, n=40)
    assert (small.num_row_blocks, small.n_decoder) == (14, 48)  # 12 systematic + 28 parity bits sent
    pruned = small.ldpc_code(full=False)
    np.testing.assert_array_equal(pruned.parity_check, ldpc5g.lifted_parity_check(2, 2)[:28, :48])
    for name in ("check_vars", "check_mask", "var_edges", "var_mask"):
        np.testing.assert_array_equal(getattr(pruned.graph, name), getattr(small.graph, name))
    assert small.ldpc_code().k == 20


def test_encoder_jit_and_numpy_agree(c128):
    u = _msgs(8, 64, seed=2)
    out = jax.jit(lambda x: c128.encode(x))(jnp.asarray(u))
    assert isinstance(out, jax.Array)
    np.testing.assert_array_equal(np.asarray(out), c128.encode(u))


# ----------------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("k, n", [(64, 128), (300, 400)])
def test_noiseless_llrs_decode_exactly(k, n):
    code = ldpc5g.nr_ldpc(k, n)
    u = _msgs(64, k, seed=k)
    x = code.encode(u)
    llr = (1.0 - 2.0 * x.astype(np.float32)) * 4.0
    variants = (("layered", "min_sum"), ("flooding", "sum_product")) if k == 64 else (("layered", "min_sum"),)
    for schedule, algorithm in variants:
        r = code.decode(llr, schedule=schedule, algorithm=algorithm, **W64)
        np.testing.assert_array_equal(np.asarray(r.message), u)
        np.testing.assert_array_equal(np.asarray(r.codeword), x)
        assert np.asarray(r.converged).all()


def test_layered_matches_float64_reference():
    code = ldpc5g.NrLdpcCode.lifted(2, 2, k=16, n=40)  # a small rate-matched code: decoding graph 28 x 48
    h = np.zeros((code.graph.m, code.graph.n), np.uint8)
    rows = np.repeat(np.arange(code.graph.m)[:, None], code.graph.max_check_degree, axis=1)
    h[rows[code.graph.check_mask], code.graph.check_vars[code.graph.check_mask]] = 1
    u = _msgs(64, code.k, seed=5)
    llr = np.asarray(code.decoder_llr(_awgn_llr(code.encode(u), code.rate, 1.0, seed=6)))
    for algorithm, kw in (
        ("min_sum", dict(alpha=0.75, beta=0.0)),
        ("min_sum", dict(alpha=1.0, beta=0.3)),
        ("sum_product", {}),
    ):
        r = ldpc.bp_decode(
            code.graph, llr, schedule="layered", layers=code.layers, algorithm=algorithm, max_iters=12, **kw, **W64
        )
        ref = _reference_bp(h, llr, algorithm, 12, layers=code.layers, **kw)
        bits, conv, iters = (np.asarray(a) for a in r)
        assert 8 < conv.sum() < 56  # both converged and failed words
        # Convergence and iteration counts agree (at most one word at the edge of rounding), and so do the decisions
        # of converged words; words that never converge wander and may end on other bits (float32 vs float64).
        same = (conv == ref[1]) & (iters == ref[2]) & ((bits == ref[0]).all(axis=1) | ~conv)
        assert same.sum() >= 63, (algorithm, kw, same.sum())


def test_stacked_min_sum_equals_slotwise_update():
    # The layered decoder's min-sum (min / second min) against the flooding one's leave-one-out scans, bit for bit,
    # with ties (values on a coarse grid), zeros, padded slots and an offset.
    rng = np.random.default_rng(15)
    dc, rows, width = 7, 5, 16
    v = (rng.integers(-6, 7, (dc, rows, width)) * 0.5).astype(np.float32)
    mask = rng.random((dc, rows, 1)) < 0.8
    mask[:, 0] = False
    mask[0, 0] = True  # a check of degree 1
    for alpha, beta in ((0.75, 0.0), (1.0, 0.7)):
        a, b, c = np.float32(alpha), np.float32(beta), np.float32(ldpc.DEFAULT_LLR_CLIP)
        stacked = np.asarray(ldpc._min_sum_stacked(jnp.asarray(v), jnp.asarray(mask), a, b, c))
        slots = ldpc._check_update([jnp.asarray(x) for x in v], [jnp.asarray(x) for x in mask], "min_sum", a, c, b)
        for j in range(dc):
            ok = mask[j, :, 0]
            np.testing.assert_array_equal(stacked[j][ok], np.asarray(slots[j])[ok])


def test_offset_min_sum_against_reference_and_plain(c128):
    g = c128.graph
    h = np.zeros((g.m, g.n), np.uint8)
    rows = np.repeat(np.arange(g.m)[:, None], g.max_check_degree, axis=1)
    h[rows[g.check_mask], g.check_vars[g.check_mask]] = 1
    u = _msgs(64, 64, seed=7)
    llr = np.asarray(c128.decoder_llr(_awgn_llr(c128.encode(u), c128.rate, 2.0, seed=8)))
    plain = ldpc.bp_decode(g, llr, algorithm="min_sum", alpha=1.0, max_iters=10, **W64)
    zero = ldpc.bp_decode(g, llr, algorithm="min_sum", alpha=1.0, beta=0.0, max_iters=10, **W64)
    for a, b in zip(plain, zero):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    off = ldpc.bp_decode(g, llr, algorithm="min_sum", alpha=1.0, beta=0.5, max_iters=10, **W64)
    ref = _reference_bp(h, llr, "min_sum", 10, alpha=1.0, beta=0.5)
    conv = np.asarray(off.converged)
    same = (
        ((np.asarray(off.bits) == ref[0]).all(axis=1) | ~conv)
        & (conv == ref[1])
        & (np.asarray(off.iterations) == ref[2])
    )
    assert same.sum() >= 63 and conv.sum() > 32
    assert not np.array_equal(np.asarray(off.iterations), np.asarray(plain.iterations))  # the offset acts


def test_layered_agrees_with_flooding_and_needs_fewer_iterations(c128):
    u = _msgs(256, 64, seed=9)
    x = c128.encode(u)
    easy = _awgn_llr(x, c128.rate, 6.0, seed=10)
    kw = dict(algorithm="min_sum", max_iters=30, **W64)
    lay = c128.decode(easy, schedule="layered", **kw)
    flo = c128.decode(easy, schedule="flooding", **kw)
    np.testing.assert_array_equal(np.asarray(lay.codeword), np.asarray(flo.codeword))
    np.testing.assert_array_equal(np.asarray(lay.message), u)
    # Moderate SNR (2 dB, BLER ~0.15): layered needs ~0.7x the iterations on average; stated bound 0.85x.
    mid = _awgn_llr(x, c128.rate, 2.0, seed=11)
    lay = c128.decode(mid, schedule="layered", **kw)
    flo = c128.decode(mid, schedule="flooding", **kw)
    li, fi = float(np.mean(lay.iterations)), float(np.mean(flo.iterations))
    assert li < 0.85 * fi, (li, fi)
    # And it is not worse in block errors (within the sampling noise of 256 words).
    errs = lambda r: int((np.asarray(r.message) != u).any(axis=1).sum())
    assert errs(lay) <= errs(flo) + 5


def test_decode_inside_jit_equals_eager(c128):
    u = _msgs(64, 64, seed=12)
    llr = _awgn_llr(c128.encode(u), c128.rate, 3.0, seed=13)
    eager = c128.decode(llr, algorithm="min_sum", **W64)
    traced = jax.jit(lambda y: c128.decode(y, algorithm="min_sum"))(jnp.asarray(llr))
    for a, b in zip(eager, traced):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_tanner_graph_from_edges_and_default_layers():
    code = ldpc.LdpcCode.gallager(48, 3, 6, seed=0)
    h = code.parity_check
    rows, cols = np.nonzero(h)
    perm = np.random.default_rng(0).permutation(rows.size)  # any order of the entries
    g = ldpc.TannerGraph.from_edges(rows[perm], cols[perm], *h.shape)
    for name in ("check_vars", "check_mask", "var_edges", "var_mask"):
        np.testing.assert_array_equal(getattr(g, name), getattr(code.graph, name))
    layers = code.graph.default_layers
    np.testing.assert_array_equal(np.sort(np.concatenate(layers)), np.arange(h.shape[0]))
    for a in layers:  # no two checks of a layer share a variable
        assert h[a].sum(axis=0).max() == 1
    cw = code.encode(_msgs(64, code.k, seed=14))
    llr = (1.0 - 2.0 * cw.astype(np.float32)) * 3.0
    llr[:, :3] = -llr[:, :3]  # a few errors
    lay = ldpc.bp_decode(code, llr, schedule="layered", algorithm="min_sum", **W64)
    np.testing.assert_array_equal(np.asarray(lay.bits), cw)


# ---------------------------------------------------------------------------------------------- bad input
def test_bad_input_names_the_argument(c128):
    with pytest.raises(ValueError, match="z must be a lifting size"):
        ldpc5g.lifting_set_index(17)
    with pytest.raises(ValueError, match="z must be a lifting size"):
        ldpc5g.NrLdpcCode.lifted(1, 400)
    with pytest.raises(ValueError, match=r"bg \(the base graph\) must be 1 or 2"):
        ldpc5g.lifted_parity_check(3, 8)
    with pytest.raises(ValueError, match=r"bg \(the base graph\) must be 1 or 2"):
        ldpc5g.nr_ldpc(64, 128, bg=0)
    with pytest.raises(ValueError, match="k must be in"):
        ldpc5g.nr_ldpc(9000, 20000)
    with pytest.raises(ValueError, match="k must be <= 3840 for base graph 2"):
        ldpc5g.nr_ldpc(4000, 8000, bg=2)
    with pytest.raises(ValueError, match="n must be >= 65"):
        ldpc5g.nr_ldpc(64, 64)
    with pytest.raises(ValueError, match="n must be <="):
        ldpc5g.nr_ldpc(64, 10000)
    with pytest.raises(ValueError, match="k must be in"):
        ldpc5g.NrLdpcCode.lifted(2, 4, k=41)
    with pytest.raises(ValueError, match="bits must have shape"):
        c128.encode(np.zeros((2, 63), np.uint8))
    with pytest.raises(ValueError, match="llr must have shape"):
        c128.decode(np.zeros((2, 127), np.float32))
    with pytest.raises(ValueError, match="llr must not contain NaN"):
        c128.decode(np.full((2, 128), np.nan, np.float32))
    llr = np.zeros((1, c128.graph.n), np.float32)
    with pytest.raises(ValueError, match="schedule must be one of"):
        ldpc.bp_decode(c128.graph, llr, schedule="serial")
    with pytest.raises(ValueError, match="beta is the min-sum offset"):
        ldpc.bp_decode(c128.graph, llr, beta=0.5)
    with pytest.raises(ValueError, match="beta must be in"):
        ldpc.bp_decode(c128.graph, llr, algorithm="min_sum", beta=-0.1)
    with pytest.raises(ValueError, match="layers is for schedule='layered' only"):
        ldpc.bp_decode(c128.graph, llr, layers=c128.layers)
    with pytest.raises(ValueError, match="layers must partition"):
        ldpc.bp_decode(c128.graph, llr, schedule="layered", layers=c128.layers[:-1])
    with pytest.raises(ValueError, match=r"layers\[0\] has two checks sharing a variable"):
        ldpc.bp_decode(c128.graph, llr, schedule="layered", layers=[np.arange(c128.graph.m)])
