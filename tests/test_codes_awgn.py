"""Monte Carlo BLER/BER on BPSK-AWGN (neuralcodes_jax.codes.awgn) against closed forms."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from neuralcodes_jax.codes import awgn


def _identity(m):
    return m


def _hard(llr):
    return (llr < 0).astype(jnp.uint8)


def _mix_encode(m):
    # c_0 = m_0, c_j = m_j xor m_0: one wrong c_0 flips every decoded message bit (dependent bit errors)
    return (m ^ m[:, :1]).at[:, 0].set(m[:, 0])


def _mix_decode(llr):
    c = (llr < 0).astype(jnp.uint8)
    return (c ^ c[:, :1]).at[:, 0].set(c[:, 0])


def _rep_ml(llr):
    """Soft ML of the repetition code: (message [B, 1], codeword [B, n])."""
    bit = (jnp.sum(llr, axis=-1, keepdims=True) < 0).astype(jnp.uint8)
    return bit, jnp.broadcast_to(bit, llr.shape)


def _rep_encode(m):
    return jnp.broadcast_to(m, (m.shape[0], 3))


def _uncoded_ber(ebn0_db):
    return stats.norm.sf(math.sqrt(2.0 * 10.0 ** (ebn0_db / 10.0)))


def _coverage_threshold(reps, level):
    # the least count such that a coverage probability >= level falls below it with probability <= 1e-3
    return int(stats.binom.ppf(1e-3, reps, level))


def test_uncoded_matches_closed_form():
    k = 16
    rows = awgn.simulate_awgn(
        _hard,
        k,
        k,
        [0.0, 3.0, 6.0],
        _identity,
        key=3,
        batch_size=2000,
        target_block_errors=400,
        max_blocks=200_000,
        confidence=0.999,
    )
    for r in rows:
        p = _uncoded_ber(r.ebn0_db)
        assert r.bler_lo <= 1 - (1 - p) ** k <= r.bler_hi, r
        assert r.ber_lo <= p <= r.ber_hi, r
        assert r.ber_lo_bits <= p <= r.ber_hi_bits, r
        assert r.bler == r.block_errors / r.blocks and r.ber == r.bit_errors / (r.blocks * k)
        assert r.sigma == pytest.approx(math.sqrt(0.5 / 10 ** (r.ebn0_db / 10)), rel=1e-12)
        assert r.stopped_by == "target_block_errors" and r.block_errors >= 400
    assert rows[0].bler > rows[1].bler > rows[2].bler


def test_interval_coverage_over_independent_repetitions():
    # 100 points at the same Eb/N0 are 100 independent runs (keys fold_in(key, i)) of 256 blocks each.
    reps, k, db = 100, 16, 3.0
    p = _uncoded_ber(db)
    rows = awgn.simulate_awgn(
        _hard, k, k, [db] * reps, _identity, key=11, batch_size=256, target_block_errors=10**9, max_blocks=256
    )
    assert all(r.blocks == 256 and r.stopped_by == "max_blocks" for r in rows)
    assert len({r.block_errors for r in rows}) > 5
    need = _coverage_threshold(reps, 0.95)
    assert need >= 85
    bler_cover = sum(r.bler_lo <= 1 - (1 - p) ** k <= r.bler_hi for r in rows)
    ber_cover = sum(r.ber_lo <= p <= r.ber_hi for r in rows)
    assert bler_cover >= need, bler_cover
    assert ber_cover >= need, ber_cover


def test_ber_interval_with_dependent_bit_errors():
    # Bits of a block fail together: the binomial interval on bits under-covers, the block-level one does not.
    reps, k, db = 100, 8, 2.0
    p = _uncoded_ber(db)
    true_ber = (p + (k - 1) * 2 * p * (1 - p)) / k
    rows = awgn.simulate_awgn(
        _mix_decode, k, k, [db] * reps, _mix_encode, key=5, batch_size=128, target_block_errors=10**9, max_blocks=128
    )
    block_cover = sum(r.ber_lo <= true_ber <= r.ber_hi for r in rows)
    bits_cover = sum(r.ber_lo_bits <= true_ber <= r.ber_hi_bits for r in rows)
    assert block_cover >= _coverage_threshold(reps, 0.95), block_cover
    assert bits_cover < 85, bits_cover


def test_errors_to_stop_and_max_blocks():
    kw = dict(key=7, batch_size=100, max_blocks=100_000)
    (row,) = awgn.simulate_awgn(_hard, 8, 8, [4.0], _identity, target_block_errors=50, **kw)
    assert row.stopped_by == "target_block_errors"
    assert row.block_errors >= 50 and row.blocks % 100 == 0
    # the same key replays the same batches: one batch fewer has not reached the target yet
    (prev,) = awgn.simulate_awgn(
        _hard, 8, 8, [4.0], _identity, target_block_errors=10**9, **{**kw, "max_blocks": row.blocks - 100}
    )
    assert prev.blocks == row.blocks - 100 and prev.block_errors < 50 and prev.stopped_by == "max_blocks"
    # max_blocks that is not a multiple of the batch: exactly max_blocks blocks are counted
    (cut,) = awgn.simulate_awgn(
        _hard, 8, 8, [4.0], _identity, target_block_errors=10**9, key=7, batch_size=100, max_blocks=250
    )
    assert cut.blocks == 250 and cut.stopped_by == "max_blocks"
    (full,) = awgn.simulate_awgn(
        _hard, 8, 8, [4.0], _identity, target_block_errors=10**9, key=7, batch_size=100, max_blocks=300
    )
    assert cut.block_errors <= full.block_errors


def test_reproducible_and_progress():
    seen = []
    a = awgn.simulate_awgn(
        _hard, 8, 8, [1.0, 2.0], _identity, key=1, batch_size=64, target_block_errors=20, progress=seen.append
    )
    b = awgn.simulate_awgn(_hard, 8, 8, [1.0, 2.0], _identity, key=1, batch_size=64, target_block_errors=20)
    c = awgn.simulate_awgn(_hard, 8, 8, [1.0, 2.0], _identity, key=2, batch_size=64, target_block_errors=20)
    assert a == b and a != c and seen == a
    assert set(a[0].to_dict()) >= {
        "ebn0_db",
        "blocks",
        "block_errors",
        "bler",
        "bler_lo",
        "bler_hi",
        "bit_errors",
        "ber",
        "ber_lo",
        "ber_hi",
    }


def test_all_zero_mode_and_codeword_decisions():
    # repetition code (3, 1) with soft ML: BLER = Q(sqrt(3) / sigma) = Q(sqrt(2 Eb/N0)) at rate 1/3
    db = 2.0
    truth = _uncoded_ber(db)
    for kwargs in (dict(encode=_rep_encode), dict(all_zero=True)):
        for decision in ("message", "codeword"):
            (r,) = awgn.simulate_awgn(
                _rep_ml,
                1,
                3,
                [db],
                key=4,
                batch_size=4000,
                target_block_errors=300,
                confidence=0.999,
                decision=decision,
                **kwargs,
            )
            assert r.bler_lo <= truth <= r.bler_hi, (kwargs, decision, r)
            assert r.ber == pytest.approx(r.bler) and r.bits_per_block == (1 if decision == "message" else 3)
    # an explicit rate sets sigma from Eb/N0 (e.g. a CRC lowers the information rate)
    (r,) = awgn.simulate_awgn(_rep_ml, 1, 3, [db], all_zero=True, rate=0.25, max_blocks=100)
    assert r.sigma == pytest.approx(math.sqrt(0.5 / (0.25 * 10**0.2)))


def test_bad_input():
    with pytest.raises(ValueError, match="empty grid"):
        awgn.simulate_awgn(_hard, 4, 4, [], _identity)
    with pytest.raises(ValueError, match="finite"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0, np.nan], _identity)
    with pytest.raises(ValueError, match="rate"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0], _identity, rate=0.0)
    with pytest.raises(ValueError, match="rate"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0], _identity, rate=-0.5)
    with pytest.raises(ValueError, match="k must be <= n"):
        awgn.simulate_awgn(_hard, 5, 4, [1.0], _identity)
    with pytest.raises(ValueError, match="batch_size"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0], _identity, batch_size=0)
    with pytest.raises(ValueError, match="target_block_errors"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0], _identity, target_block_errors=0)
    with pytest.raises(ValueError, match="max_blocks"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0], _identity, max_blocks=True)
    with pytest.raises(ValueError, match="confidence"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0], _identity, confidence=1.0)
    with pytest.raises(ValueError, match="decision"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0], _identity, decision="bits")
    with pytest.raises(ValueError, match="encode"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0])
    with pytest.raises(ValueError, match="decode must return"):
        awgn.simulate_awgn(lambda llr: llr[:, :2] < 0, 4, 4, [1.0], _identity, max_blocks=10)
    with pytest.raises(ValueError, match="encode must map"):
        awgn.simulate_awgn(_hard, 4, 4, [1.0], lambda m: m[:, :3], max_blocks=10)


def test_fractional_clopper_pearson():
    from neuralcodes_jax.codes.exact import clopper_pearson_interval

    for x, t in ((0, 10), (3, 10), (10, 10), (17, 400)):
        assert awgn.fractional_clopper_pearson_interval(x, t) == pytest.approx(clopper_pearson_interval(x, t))
    lo, hi = awgn.fractional_clopper_pearson_interval(2.5, 10)
    lo2, hi2 = awgn.fractional_clopper_pearson_interval(3, 10)
    lo1, hi1 = awgn.fractional_clopper_pearson_interval(2, 10)
    assert lo1 < lo < lo2 and hi1 < hi < hi2


@pytest.mark.slow
def test_ml_bracket_orders_osd_ml_and_the_lower_bound():
    """On the same blocks: (blocks where OSD-0's wrong decision is likelier than the sent word) <= (ML errors) <=
    (OSD-0 errors); and ML's own bracket is tight (no ties with continuous noise: every ML error is likelier)."""
    from neuralcodes_jax.codes import catalog

    code = catalog.make_code("bch:15,7")
    kw = dict(key=4, batch_size=1000, target_block_errors=10**9, max_blocks=2000)
    runs = {}
    for spec in ("osd:0", "ml"):
        decode = catalog.make_decoder(code, spec, with_codewords=True)
        runs[spec] = awgn.simulate_awgn(decode, code.k, code.n, [2.0, 3.0], code.encode, ml_bracket=True, **kw)
    for osd0, ml in zip(runs["osd:0"], runs["ml"]):
        assert ml.ml_block_errors == ml.block_errors > 0
        assert 0 < osd0.ml_block_errors <= ml.block_errors < osd0.block_errors
        assert osd0.ml_bler_lo <= osd0.ml_block_errors / osd0.blocks <= osd0.ml_bler_hi
    result = {
        "code": "bch:15,7",
        "n": 15,
        "k": 7,
        "ebno_db": [2.0, 3.0],
        "limits": {"normal_approximation": [0, 0]},
        "decoders": {s: {"points": [p.to_dict() for p in r]} for s, r in runs.items()},
    }
    row = next(line for line in catalog.markdown(result).splitlines() if line.startswith("| 2 |"))
    o = runs["osd:0"][0]
    assert f"[{o.ml_bler_lo:.3g}, {o.bler_hi:.3g}] ({o.ml_block_errors} likelier)" in row
    plain = awgn.simulate_awgn(catalog.make_decoder(code, "osd:0"), code.k, code.n, [2.0], code.encode, **kw)[0]
    assert plain.ml_block_errors is None and plain.block_errors == runs["osd:0"][0].block_errors
    with pytest.raises(ValueError, match="with_codewords"):
        catalog.make_decoder(code, "bp:5", with_codewords=True)
