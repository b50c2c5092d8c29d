"""The neural-decoder base (``methods/_neural_decoder.py``) and its evaluator (``evaluators/neural_decoder.py``): the
code by name, bad inputs, the all-zero training LLRs, message decisions, and the -ln(BER) interval."""

from __future__ import annotations

import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from experiments.neural_decoders import neural_bp as nbp_config
from neuralcodes_jax import methods, run_config
from neuralcodes_jax.codes import bounds
from neuralcodes_jax.evaluators import neural_decoder as evaluator
from neuralcodes_jax.methods import _neural_decoder as nd

HAMMING_H = np.array([[1, 0, 1, 0, 1, 0, 1], [0, 1, 1, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1, 1]], np.uint8)


def config_for(name, data_dir=None):
    c = nbp_config.get_config("smoke")
    c.code.name = name
    c.code.data_dir = data_dir
    return c


def write(path, h):
    path.write_text("\n".join(" ".join(str(int(v)) for v in row) for row in h) + "\n")
    return path


def test_benchmark_name_is_looked_up_in_data_dir(tmp_path):
    write(tmp_path / "HAM_N7_K4.txt", HAMMING_H)
    m = methods.build(config_for("HAM_N7_K4", str(tmp_path)), None)
    assert (m.n, m.k) == (7, 4)
    np.testing.assert_array_equal(m.parity_check, HAMMING_H)  # BP runs on the file's matrix as given
    assert nd.benchmark_codes(str(tmp_path)) == {"HAM_N7_K4": str(tmp_path / "HAM_N7_K4.txt")}


def test_code_tables_are_built_once_and_again_when_the_file_changes(tmp_path):
    write(tmp_path / "HAM_N7_K4.txt", HAMMING_H)
    first = nd.code_tables("HAM_N7_K4", str(tmp_path))
    assert nd.code_tables("HAM_N7_K4", str(tmp_path)) is first
    assert methods.build(config_for("HAM_N7_K4", str(tmp_path)), None).tables is first
    permuted = HAMMING_H[:, [6, 5, 4, 3, 2, 1, 0]]
    write(tmp_path / "HAM_N7_K4.txt", permuted)
    os.utime(tmp_path / "HAM_N7_K4.txt", ns=(0, 12345))  # a new modification time, however fast the writes
    again = nd.code_tables("HAM_N7_K4", str(tmp_path))
    assert again is not first
    np.testing.assert_array_equal(again.parity_check, permuted)
    assert nd.code_tables("hamming:3", None) is nd.code_tables("hamming:3", str(tmp_path))  # specs read no folder


def test_unknown_code_name_names_it_and_the_available_ones(tmp_path):
    write(tmp_path / "HAM_N7_K4.txt", HAMMING_H)
    with pytest.raises(ValueError, match=r"code.name 'BCH_N99_K1'.*available: \['HAM_N7_K4'\]"):
        methods.build(config_for("BCH_N99_K1", str(tmp_path)), None)
    with pytest.raises(ValueError, match=r"code.name 'nosuch:1,2'.*code family must be one of"):
        methods.build(config_for("nosuch:1,2"), None)


@pytest.mark.parametrize(
    "what,h,match",
    [
        ("nonbinary", np.where(HAMMING_H == 1, 2, 0), "entries other than 0 and 1"),
        ("shape", HAMMING_H[:, :6], "has 6 columns, its name says n = 7"),
        ("rank", np.vstack([HAMMING_H[:2], HAMMING_H[0] ^ HAMMING_H[1]]), "has rank 2, its name says n - k = 3"),
    ],
)
def test_bad_matrix_files_are_refused_naming_the_file(tmp_path, what, h, match):
    path = write(tmp_path / "BAD_N7_K4.txt", h)
    with pytest.raises(ValueError, match=match) as err:
        methods.build(config_for("BAD_N7_K4", str(tmp_path)), None)
    assert "code.name 'BAD_N7_K4'" in str(err.value) and str(path) in str(err.value)
    with pytest.raises(ValueError, match=match):
        methods.build(config_for(f"file:{path}"), None)


def test_empty_or_non_finite_ebno_lists_are_refused():
    c = config_for("bch:15,7")
    c.channel.ebno_db = ()
    with pytest.raises(ValueError, match=r"channel.ebno_db must hold at least one Eb/N0 value"):
        methods.build(c, None)
    c = config_for("bch:15,7")
    c.eval.ebno_db = ()
    with pytest.raises(ValueError, match=r"eval.ebno_db must hold at least one Eb/N0 value"):
        run_config.parse(c)
    c = config_for("bch:15,7")
    c.channel.ebno_db = (1.0, float("nan"))
    with pytest.raises(ValueError, match=r"channel.ebno_db must hold finite"):
        methods.build(c, None)


def test_training_llr_is_the_all_zero_word_at_the_drawn_ebno():
    c = config_for("bch:15,7")
    c.channel.ebno_db = (3.0,)
    m = methods.build(c, None)
    llr = np.asarray(m.training_llr(jax.random.key(0), 4000), np.float64)
    sigma = float(bounds.ebn0_db_to_sigma(3.0, 7 / 15))
    # L = 2 y / sigma^2 with y ~ N(1, sigma^2): mean 2 / sigma^2, std 2 / sigma.
    assert abs(llr.mean() - 2 / sigma**2) < 4 * (2 / sigma) / math.sqrt(llr.size)
    assert abs(llr.std() / (2 / sigma) - 1) < 0.02
    # Two far-apart points: each row is at one of them (row means ~0.3 or ~18), about half at each.
    c.channel.ebno_db = (-5.0, 10.0)
    m = methods.build(c, None)
    llr = np.asarray(m.training_llr(jax.random.key(1), 4000), np.float64)
    high = llr.mean(axis=1) > 5.0
    assert 0.45 < high.mean() < 0.55
    for rows, db in ((llr[~high], -5.0), (llr[high], 10.0)):
        s = float(bounds.ebn0_db_to_sigma(db, 7 / 15))
        assert abs(rows.mean() / (2 / s**2) - 1) < 0.03 and abs(rows.std() / (2 / s) - 1) < 0.03


@pytest.mark.parametrize("code", ["bch:15,7", "polar5g:16,8"])
def test_message_decisions_invert_the_encoder(code):
    m = methods.build(config_for(code), None)
    msgs = np.random.default_rng(0).integers(0, 2, (50, m.k)).astype(np.uint8)
    words = np.asarray(m.code.encode(jnp.asarray(msgs))).astype(np.uint8)
    assert not ((words.astype(int) @ m.parity_check.T.astype(int)) % 2).any()
    np.testing.assert_array_equal(np.asarray(m.tables.unencode(jnp.asarray(words))), msgs)


def test_neg_ln_ber_interval_covers_the_uncoded_ber():
    """Hard decisions of the channel LLRs (no decoding): the BER over codeword bits is Q(sqrt(2 R Eb/N0)) = Q(1 /
    sigma) (uncoded BPSK at Es/N0 = R Eb/N0); its -ln interval covers -ln of that."""
    m = methods.build(config_for("bch:15,7"), None)

    def hard(llr):
        bits = (llr < 0).astype(jnp.uint8)
        return m.tables.unencode(bits), bits

    ev = evaluator.EvalFields(ebno_db=(2.0, 4.0), batch_size=1000, target_block_errors=2000, max_blocks=50_000)
    rows = evaluator.simulate(hard, m.code, ev.ebno_db, jax.random.key(3), ev)
    for r in rows:
        want = -math.log(scipy.stats.norm.sf(1.0 / r["sigma"]))
        assert r["neg_ln_ber_lo"] <= want <= r["neg_ln_ber_hi"], r
        assert r["neg_ln_ber_hi"] - r["neg_ln_ber_lo"] < 0.5


def test_benchmark_command_refuses_an_empty_ebno_list():
    from experiments.neural_decoders import benchmark
    from launch import neural_decoders as launcher

    with pytest.raises(ValueError, match=r"--ebno must name at least one Eb/N0 value"):
        launcher.parse_ebno("")
    with pytest.raises(ValueError, match=r"--ebno must hold at least one Eb/N0 value"):
        benchmark.Settings(ebno_db=())


@pytest.mark.slow
def test_benchmark_command_writes_the_table(tmp_path):
    from experiments.neural_decoders import benchmark

    s = benchmark.Settings(ebno_db=(3.0,), batch_size=200, target_block_errors=5, max_blocks=400)
    results = benchmark.run(
        ["bch:15,7"],
        ["bp", "neural_bp", "ml"],
        s,
        str(tmp_path / "rows"),
        nbp_root=str(tmp_path / "none"),
        progress=lambda _: None,
    )
    cells = results["bch:15,7"]
    assert cells["neural_bp"] is None and cells["bp"]["points"][0]["blocks"] <= 400
    assert cells["ml"]["points"][0]["ebn0_db"] == 3.0
    benchmark.write(results, s, str(tmp_path / "t.md"), "cmd")
    text = (tmp_path / "t.md").read_text()
    assert "| bch:15,7 | 15 | 7 |" in text and (tmp_path / "t.json").is_file()
