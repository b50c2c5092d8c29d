"""Codes and decoders by name (codes/catalog.py) and the AWGN command (launch/codes.py)."""

from __future__ import annotations

import json
import os
import pathlib

import jax
import numpy as np
import pytest

from neuralcodes_jax.codes import catalog, gf2

CASES = [
    ("polar5g:16,8,crc6", ("sc", "scl:4")),
    ("polarga:16,8,2.0", ("scl:2,nocrc",)),
    ("ldpc5g:64,32", ("bp:10,flooding,min_sum",)),
    ("bch:15,7", ("osd:1", "ml", "bp:8")),
    ("ebch:16,7", ("osd:2",)),
    ("rm:1,4", ("ml",)),
    ("hamming:3", ("osd:0",)),
    ("golay", ("ml",)),
]


def _codewords(code, u):
    return np.asarray(code.encode(jax.numpy.asarray(u)), np.uint8)


@pytest.mark.slow
@pytest.mark.parametrize("code_spec, decoders", CASES, ids=[c for c, _ in CASES])
def test_every_code_encodes_codewords_and_every_decoder_inverts_noiseless_words(code_spec, decoders):
    code = catalog.make_code(code_spec)
    rng = np.random.default_rng(0)
    u = rng.integers(0, 2, (16, code.k), dtype=np.uint8)
    c = _codewords(code, u)
    assert c.shape == (16, code.n)
    obj = code.obj
    h = obj.parity_check if hasattr(obj, "parity_check") and not callable(obj.parity_check) else None
    if h is not None:  # linear codes: every word satisfies H
        assert not gf2.matmul(c, np.asarray(h).T).any()
    if code_spec.startswith("polar"):  # polar (CRC included): c = u G over GF(2)
        np.testing.assert_array_equal(c, gf2.matmul(u, obj.generator))
    llr = 8.0 * (1.0 - 2.0 * c.astype(np.float32))  # noiseless, L = log P(0)/P(1)
    for spec in decoders:
        decoded = np.asarray(catalog.make_decoder(code, spec)(jax.numpy.asarray(llr)))
        np.testing.assert_array_equal(decoded, u, err_msg=f"{code_spec} {spec}")


@pytest.mark.slow
def test_the_benchmark_files_load_as_checked_parity_check_matrices(shared_data):
    folder = os.path.join(shared_data, "ecc_codes")
    for name, (n, k) in {
        "BCH_N31_K16.txt": (31, 16),
        "LDPC_N49_K24.alist": (49, 24),
        "POLAR_N64_K32.txt": (64, 32),
    }.items():
        code = catalog.make_code(f"file:{os.path.join(folder, name)}")
        assert (code.n, code.k) == (n, k)
        u = np.random.default_rng(1).integers(0, 2, (8, k), dtype=np.uint8)
        llr = 8.0 * (1.0 - 2.0 * _codewords(code, u).astype(np.float32))
        dec = "bp:10" if name.endswith(".alist") else "osd:1"  # BP on the LDPC file's redundant rows
        np.testing.assert_array_equal(np.asarray(catalog.make_decoder(code, dec)(llr)), u)


def test_bad_parity_check_files_are_refused(tmp_path):
    good = tmp_path / "h.txt"
    good.write_text("1 1 0 1 0 0\n0 1 1 0 1 0\n1 0 1 0 0 1\n")
    assert catalog.make_code(f"file:{good}").k == 3
    for text, match in (
        ("1 2 0\n0 1 1\n", "entries other than 0 and 1"),
        ("1 1 0\n1 1 0\n", "rank 1, not 2"),
        ("1 x\n", "not a matrix of integers"),
    ):
        bad = tmp_path / "bad.txt"
        bad.write_text(text)
        with pytest.raises(ValueError, match=match):
            catalog.make_code(f"file:{bad}")
    # A benchmark-style name states n and k: the rank must be n - k and the width n (redundant rows allowed).
    for text, match in (
        ("1 1 0 1 0 0\n0 1 1 0 1 0\n1 0 1 1 1 0\n", "rank 2, its name says n - k = 3"),
        ("1 1 0 1 0\n0 1 1 0 1\n", "5 columns, its name says n = 6"),
    ):
        bad = tmp_path / "BAD_N6_K3.txt"
        bad.write_text(text)
        with pytest.raises(ValueError, match=match):
            catalog.make_code(f"file:{bad}")
    with pytest.raises(ValueError, match="no file"):
        catalog.make_code(f"file:{tmp_path / 'missing.txt'}")


@pytest.mark.parametrize(
    "spec, match",
    [
        ("turbo:1,2", "code family must be one of"),
        ("polar5g:64,80", "K > N"),
        ("polar5g:64,32,crc7", "the CRC must"),
        ("polar5g:64", "needs 2"),
        ("bch:15,x", "must be integers"),
        ("ldpc5g:128,64,1", "needs 2"),
        ("ref:nothing", "must be one of"),
        ("", "code must be a string"),
    ],
)
def test_bad_codes_name_the_spec(spec, match):
    with pytest.raises(ValueError, match=match):
        catalog.make_code(spec)


@pytest.mark.parametrize(
    "code_spec, spec, match",
    [
        ("bch:15,7", "scl:8", "needs a polar code"),
        ("polar5g:32,16", "scl:3", "power of two"),
        ("polar5g:32,16", "scl", "needs a list size"),
        ("bch:15,7", "osd:4", "order"),
        ("bch:15,7", "osd", "its order"),
        ("ebch:32,21", "ml", "16"),
        ("bch:15,7", "viterbi", "decoder must be one of"),
        ("bch:15,7", "bp:5,fast", "unknown options"),
    ],
)
def test_bad_decoders_name_the_spec(code_spec, spec, match):
    with pytest.raises(ValueError, match=match):
        catalog.make_decoder(catalog.make_code(code_spec), spec)


def test_ebno_grids():
    assert catalog.parse_ebno("0:0.5:2") == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert catalog.parse_ebno("1, 2.5") == [1.0, 2.5]
    for bad in ("5:1:4", "", "1:0:3", "a,b", "nan"):
        with pytest.raises(ValueError, match="ebno"):
            catalog.parse_ebno(bad)


@pytest.mark.slow
def test_the_command_writes_the_table_json_and_plot(tmp_path):
    out = str(tmp_path / "r" / "hamming")
    lines = []
    result = catalog.report(
        "bch:7,1",
        ["ml", "osd:1"],
        "-2,0",
        errors=20,
        max_blocks=2000,
        batch=500,
        seed=3,
        converse=False,
        out=out,
        log=lines.append,
    )
    assert set(result["decoders"]) == {"ml", "osd:1"}
    ml, osd1 = (result["decoders"][s]["points"] for s in ("ml", "osd:1"))
    # OSD of order >= k is ML, and every decoder sees the same messages and noise: the counts agree exactly.
    assert [p["block_errors"] for p in ml] == [p["block_errors"] for p in osd1]
    assert all(p["block_errors"] > 0 for p in ml)
    for p in ml:
        assert p["bler_lo"] <= p["bler"] <= p["bler_hi"] and p["blocks"] <= 2000
    saved = json.loads(pathlib.Path(out + ".json").read_text())
    assert saved["n"] == 7 and saved["k"] == 1 and len(saved["limits"]["normal_approximation"]) == 2
    assert os.path.getsize(out + ".png") > 0 and "| -2 |" in pathlib.Path(out + ".md").read_text()
    assert any("Eb/N0 0 dB" in line for line in lines)


def test_the_short_codes_table_runs_a_row_and_resumes(tmp_path):
    from experiments.short_codes import awgn_table

    work, out = str(tmp_path / "w"), str(tmp_path / "report")
    awgn_table.main(["--workdir", work, "--rows", "hamming_15_11", "--smoke", "--out", out])
    first = json.loads(pathlib.Path(os.path.join(work, "hamming_15_11.json")).read_text())
    assert first["code"] == "hamming:4" and first["n"] == 15 and first["k"] == 11
    awgn_table.main(["--workdir", work, "--rows", "hamming_15_11", "--smoke", "--out", out])  # resumes: no rerun
    again = json.loads(pathlib.Path(work, "hamming_15_11.json").read_text())
    assert again["wall_seconds"] == first["wall_seconds"]
    text = pathlib.Path(out + ".md").read_text()
    assert "Hamming(15,11), soft ML (15,11) | ml |" in text and "NA (dB)" in text
    assert awgn_table.ebno_at([1.0, 2.0], [1e-2, 1e-4]) == pytest.approx(1.5)
    assert awgn_table.ebno_at([1.0, 2.0], [1e-2, 5e-3]) is None


@pytest.mark.slow
def test_decoders_of_one_code_can_be_traced_one_after_the_other():
    """The BP tables a graph keeps are concrete even when first built inside a trace (a kept tracer once leaked
    into the next decoder's trace: flooding under jit, then layered)."""
    code = catalog.make_code("ldpc5g:64,32")
    u = np.random.default_rng(2).integers(0, 2, (4, code.k), dtype=np.uint8)
    llr = 6.0 * (1.0 - 2.0 * _codewords(code, u).astype(np.float32))
    for spec in ("bp:5,flooding", "bp:5,layered", "bp:5,flooding,min_sum"):
        decode = catalog.make_decoder(code, spec)
        np.testing.assert_array_equal(np.asarray(jax.jit(decode)(llr)), u)
        np.testing.assert_array_equal(np.asarray(decode(llr)), u)
