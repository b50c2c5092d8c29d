"""Codebook analysis and equivalence search (neuralcodes_jax.codes.structure)."""

import itertools

import numpy as np
import pytest

from neuralcodes_jax.codes import gf2, linear, structure


def _scramble(codebook, seed):
    """Permute columns, translate by a nonzero word and shuffle rows."""
    rng = np.random.default_rng(seed)
    m, n = codebook.shape
    t = rng.integers(0, 2, n).astype(np.uint8)
    t[rng.integers(n)] = 1  # nonzero translation
    return (codebook[:, rng.permutation(n)] ^ t)[rng.permutation(m)]


def _vasilev_15():
    """Vasil'ev's nonlinear perfect (15, 2^11, 3) code: (u, u+v, |u| + lambda(v) mod 2), v in Hamming(7,4)."""
    h = linear.hamming_code(3).codewords()
    lam = np.zeros(16, dtype=np.uint8)
    lam[1] = 1  # lambda(0) = 0 and a support of size 1: not linear
    u = np.repeat(gf2.int_to_bits(np.arange(128), 7), 16, axis=0)
    v = np.tile(h, (128, 1))
    parity = (u.sum(axis=1) & 1).astype(np.uint8) ^ np.tile(lam, 128)
    return np.concatenate([u, u ^ v, parity[:, None]], axis=1)


def _brute_force_equivalent(a, b):
    """Exhaustive search over all permutations and translations (tiny n only)."""
    n = a.shape[1]
    target = set(gf2.bits_to_int(b).tolist())
    for perm in itertools.permutations(range(n)):
        ints = gf2.bits_to_int(a[:, list(perm)])
        for t in {int(x) ^ int(ints[0]) for x in target}:  # the translation maps row 0 into b
            if set((ints ^ t).tolist()) == target:
                return True
    return False


# --------------------------------------------------------------------------------------- distances
def test_hamming_distance_structure():
    cw = linear.hamming_code(3).codewords()
    np.testing.assert_array_equal(structure.distance_distribution(cw), [1, 0, 0, 7, 7, 0, 0, 1])
    np.testing.assert_array_equal(structure.weight_distribution(cw), [1, 0, 0, 7, 7, 0, 0, 1])
    np.testing.assert_array_equal(structure.pairwise_distance_counts(cw), [0, 0, 0, 56, 56, 0, 0, 8])
    assert structure.minimum_distance(cw) == 3
    assert structure.is_linear(cw) and structure.is_coset_of_linear(cw) and structure.is_perfect(cw)
    assert structure.is_distance_invariant(cw) and structure.covering_radius(cw) == 1
    shifted = cw ^ np.array([1, 0, 0, 0, 0, 0, 0], dtype=np.uint8)
    assert not structure.is_linear(shifted) and structure.is_coset_of_linear(shifted)
    np.testing.assert_array_equal(structure.distance_distribution(shifted), [1, 0, 0, 7, 7, 0, 0, 1])
    x0, code = structure.coset_decomposition(shifted)
    assert gf2.bits_to_int(x0) == min(gf2.bits_to_int(shifted))
    assert set(gf2.bits_to_int(code.codewords() ^ x0).tolist()) == set(gf2.bits_to_int(shifted).tolist())


def test_perfection_and_covering_radius():
    assert structure.is_perfect(linear.golay_code().codewords())
    assert structure.is_perfect(linear.hamming_code(4).codewords())
    assert not structure.is_perfect(linear.extended_hamming_code(3).codewords())
    assert not structure.is_perfect(linear.extended_golay_code().codewords())
    assert structure.covering_radius(linear.golay_code().codewords()) == 3
    assert structure.covering_radius(linear.extended_golay_code().codewords()) == 4
    assert structure.is_perfect(linear.repetition_code(5).codewords())
    assert not structure.is_perfect(linear.repetition_code(4).codewords())


def test_repeated_codewords():
    cw = linear.hamming_code(3).codewords()
    rep = np.concatenate([cw[:5], cw[2:3], cw[7:9]])
    assert structure.num_distinct_codewords(rep) == 7
    np.testing.assert_array_equal(structure.distinct_codewords(rep), np.concatenate([cw[:5], cw[7:9]]))
    assert structure.minimum_distance(rep) == 0
    assert not structure.is_linear(rep) and not structure.is_perfect(rep)
    with pytest.raises(ValueError, match="codebook must have distinct codewords"):
        structure.find_equivalence(rep, rep)
    with pytest.raises(ValueError, match="at least 2 codewords"):
        structure.minimum_distance(cw[:1])
    with pytest.raises(ValueError, match="codebook must be binary"):
        structure.minimum_distance(cw * 3)


# ------------------------------------------------------------------------------------- equivalence
@pytest.mark.parametrize(
    "make",
    [
        lambda: linear.hamming_code(3),
        lambda: linear.hamming_code(4),
        lambda: linear.extended_hamming_code(3),
        lambda: linear.golay_code(),
    ],
)
def test_scrambled_reference_is_recognised(make):
    ref = make().codewords()
    other = _scramble(ref, seed=ref.shape[1])
    eq = structure.find_equivalence(other, ref)
    assert eq is not None
    # the returned permutation and translation map the codebook onto the reference exactly
    np.testing.assert_array_equal(eq.apply(other), ref[eq.codeword_map])
    assert sorted(eq.codeword_map.tolist()) == list(range(len(ref)))
    assert sorted(eq.permutation.tolist()) == list(range(ref.shape[1]))


def test_summary_names_the_reference():
    learned_like = _scramble(linear.hamming_code(3).codewords(), seed=5)
    summary = structure.summarize_codebook(learned_like)
    assert summary["equivalent_to"] == "Hamming(7,4)"
    assert summary["minimum_distance"] == 3 and summary["is_perfect"] and summary["is_coset_of_linear"]
    assert not summary["is_linear"] and summary["num_distinct"] == 16
    eq = summary["equivalence"]
    mapped = learned_like[:, eq["permutation"]] ^ np.array(eq["translation"], dtype=np.uint8)
    np.testing.assert_array_equal(mapped, linear.hamming_code(3).codewords()[eq["codeword_map"]])


def test_same_weight_distribution_but_not_equivalent():
    """Two [7,3] codes with weight distribution (1,0,3,0,3,0,1,0) and equal column weights."""
    a = linear.LinearCode.from_generator([[1, 0, 0, 0, 0, 0, 1], [0, 1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 1, 0, 0]])
    b = linear.LinearCode.from_generator([[1, 0, 0, 0, 0, 1, 0], [0, 0, 1, 0, 1, 1, 1], [0, 0, 0, 1, 0, 1, 0]])
    ca, cb = a.codewords(), b.codewords()
    np.testing.assert_array_equal(structure.weight_distribution(ca), structure.weight_distribution(cb))
    np.testing.assert_array_equal(np.sort(ca.sum(0)), np.sort(cb.sum(0)))
    assert not _brute_force_equivalent(ca, cb)
    assert structure.find_equivalence(ca, cb) is None
    assert structure.find_equivalence(_scramble(cb, 1), cb) is not None


@pytest.mark.slow
def test_nonlinear_perfect_code_is_not_hamming():
    """Same length, size, minimum distance and distance distribution as Hamming(15,11), both perfect."""
    v = _vasilev_15()
    ham = linear.hamming_code(4).codewords()
    assert structure.num_distinct_codewords(v) == 2048 and structure.minimum_distance(v) == 3
    assert structure.is_perfect(v) and not structure.is_coset_of_linear(v)
    np.testing.assert_array_equal(structure.distance_distribution(v), structure.distance_distribution(ham))
    assert structure.find_equivalence(v, ham) is None
    assert structure.find_equivalence(ham, v) is None
    # a scrambled copy of the nonlinear code is found (search over several translation candidates)
    other = _scramble(v, seed=11)
    eq = structure.find_equivalence(other, v)
    np.testing.assert_array_equal(eq.apply(other), v[eq.codeword_map])


@pytest.mark.parametrize("seed", range(3))
def test_equivalence_against_exhaustive_search(seed):
    """Random 6-word codebooks of length 6 whose distance profiles match, against brute force."""
    rng = np.random.default_rng(seed)
    checked = 0
    while checked < 4:
        a = gf2.int_to_bits(rng.choice(64, 6, replace=False), 6)
        b = gf2.int_to_bits(rng.choice(64, 6, replace=False), 6) if checked % 2 else _scramble(a, seed + checked)
        if sorted(map(tuple, structure.distance_profiles(a))) != sorted(map(tuple, structure.distance_profiles(b))):
            continue
        eq = structure.find_equivalence(a, b)
        assert (eq is not None) == _brute_force_equivalent(a, b)
        if eq is not None:
            assert set(gf2.bits_to_int(eq.apply(a)).tolist()) == set(gf2.bits_to_int(b).tolist())
        checked += 1


def test_shape_mismatch_is_not_equivalent():
    ham = linear.hamming_code(3).codewords()
    assert structure.find_equivalence(ham[:8], ham) is None
    assert not structure.are_equivalent(ham, linear.extended_hamming_code(3).codewords())
