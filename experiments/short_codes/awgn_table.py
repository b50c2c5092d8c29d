"""Short block codes on BPSK-AWGN with soft decisions: the table of ``results/short_codes_awgn.md``.

Each row is a code with its decoders, run by ``codes.catalog.evaluate`` (Monte Carlo on device, the same messages
and noise for every decoder of a row, errors-to-stop, Clopper-Pearson intervals) beside the BI-AWGN normal
approximation and meta-converse at the row's ``(n, k)``. The gap to the normal approximation is read at BLER
1e-3 (log-linear interpolation between the two grid points around it; none when the curve does not cross it).

  python -m experiments.short_codes.awgn_table --workdir=workdirs/short_codes [--rows=polar,ldpc] [--smoke]

Rows finished in the workdir (``<row>.json``) are kept, so a rerun resumes; the report and the figure are rewritten
from every finished row (``--out``, default ``results/short_codes_awgn``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import time

from neuralcodes_jax.codes import bounds, catalog

_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
_RESULTS = os.path.join(_ROOT, "results")
_LEARNED = "results/learned_codes"  # relative to the repository root (row names stay machine-independent)
GRID_128 = "0.5:0.5:4"
GRID_SHORT = "0:1:7"

#: Row name -> (code, decoders, Eb/N0 grid, max blocks per point, what the row is).
ROWS = {
    "polar": ("polar5g:128,64,crc11", ["scl:8", "scl:32"], GRID_128, 200_000, "5G polar, CRC11, CRC-aided SCL"),
    "ldpc": (
        "ldpc5g:128,64",
        ["bp:20,flooding", "bp:20,layered"],
        GRID_128,
        200_000,
        "5G NR LDPC (base graph 2), sum-product BP, 20 iterations",
    ),
    "ebch": ("ebch:128,64", ["osd:2"], GRID_128, 200_000, "extended BCH, OSD order 2"),
    "ebch_osd3": ("ebch:128,64", ["osd:3"], GRID_128, 10_000, "extended BCH, OSD order 3"),
    "rm": ("rm:3,7", ["osd:2"], GRID_128, 200_000, "Reed-Muller RM(3,7), OSD order 2"),
    "bch63": (
        "bch:63,45",
        ["osd:1", "osd:2", "osd:3"],
        "2:0.5:6",
        50_000,
        "BCH(63,45), OSD orders 1-3 with the ML bracket",
    ),
    "learned_15_11": (
        f"file:{os.path.join(_LEARNED, 'hamming_15_11_generator.json')}",
        ["ml"],
        GRID_SHORT,
        200_000,
        "the learned (15,11) linear code, soft ML",
    ),
    "hamming_15_11": ("hamming:4", ["ml"], GRID_SHORT, 200_000, "Hamming(15,11), soft ML"),
    "learned_23_12": (
        f"file:{os.path.join(_LEARNED, 'golay_23_12_generators.json')}:0",
        ["ml"],
        GRID_SHORT,
        200_000,
        "the learned (23,12) linear code (Golay-equivalent), soft ML",
    ),
    "golay_23_12": ("golay", ["ml"], GRID_SHORT, 200_000, "Golay(23,12), soft ML"),
}


#: What the committed run shows (rewritten by hand when the rows change).
READING = """Reading (the committed run; seed 0, 100 errors per point or the row's block budget):

- Of the (128,64) codes, eBCH with OSD order 3 comes closest to the normal approximation: 0.28 dB at BLER 1e-3.
  OSD order 2 on the same code, and on RM(3,7), is about 0.8 dB behind it (1.05-1.09 dB from the NA).
- The 5G polar code with CRC11 is 0.64 dB from the NA under CA-SCL-32 and 1.08 dB under CA-SCL-8: with a list of
  8, the 11 CRC bits cost more rate than they buy in selection. The construction is Sionna's (the same frozen set,
  the same codewords up to its uplink rate-matching order), and on the same 1000 words at 2 dB both libraries'
  SCL-8 and SCL-32 BLERs agree within their intervals (`results/short_codes_speed.md`).
- 5G LDPC with 20 sum-product iterations: layered BP reaches BLER 1e-3 at 3.89 dB; flooding BP does not within
  4 dB (1.5e-3 there). At the same iteration count layered BP is 0.2-0.3 dB better (at BLER 1e-2 and 2e-3).
- BCH(63,45) against its ML curve: OSD orders 2 and 3 give the same curve (0.39 dB from the NA at 1e-3); order 1
  is 0.23 dB behind. ML decoding cannot be run at k = 45 (2^45 codewords), but it can be bracketed
  (`codes.awgn`, `ml_bracket`): a block that OSD decides as a codeword more likely than the one sent is an ML error
  too. All 596 blocks OSD-3 got wrong over the grid were such blocks (OSD-2: 594 of 599, OSD-1: 506 of 720), so
  on these blocks ML fails exactly where OSD-3 does: OSD-3's curve is the ML curve, within its Monte Carlo
  interval. (This row's decoding times were measured with other jobs running: not comparable with the others.)
- The learned codes: the (15,11) linear code (Hamming-equivalent) and the (23,12) one (Golay-equivalent) equal
  their references under soft ML at every point, within the intervals; Golay is 0.1 dB from the NA at (23,12),
  Hamming 0.8 dB at (15,11)."""


def ebno_at(ebno: list[float], bler: list[float], target: float = 1e-3) -> float | None:
    """Eb/N0 where a BLER curve crosses ``target`` (log-linear between grid points), or None."""
    for (e0, b0), (e1, b1) in zip(zip(ebno, bler), zip(ebno[1:], bler[1:])):
        if b0 >= target > b1 and b0 > 0:
            if b1 <= 0:
                return None
            t = (math.log(b0) - math.log(target)) / (math.log(b0) - math.log(b1))
            return e0 + t * (e1 - e0)
    return None


def run_row(name: str, workdir: str, smoke: bool) -> dict:
    path = os.path.join(workdir, f"{name}.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    code, decoders, grid, max_blocks, _ = ROWS[name]
    t0 = time.time()
    resolved = f"file:{os.path.join(_ROOT, code[5:])}" if code.startswith("file:") else code
    result = catalog.evaluate(
        resolved,
        decoders,
        catalog.parse_ebno("1,2" if smoke else grid),
        seed=0,
        batch_size=200 if smoke else 1000,
        target_block_errors=10 if smoke else 100,
        max_blocks=1000 if smoke else max_blocks,
        with_converse=not smoke,
        progress=lambda s: print(s, flush=True),
    )
    result["row"], result["code"], result["wall_seconds"] = name, code, time.time() - t0
    os.makedirs(workdir, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)
    return result


def gaps(result: dict) -> dict[str, float | None]:
    """Per decoder: Eb/N0 at BLER 1e-3 minus the normal approximation's."""
    na = bounds.biawgn_ebn0_db_at_bler(result["n"], result["k"], 1e-3, "normal")
    out = {}
    for spec, d in result["decoders"].items():
        at = ebno_at(result["ebno_db"], [p["bler"] for p in d["points"]])
        out[spec] = None if at is None else at - na
    return out


def report(results: list[dict], command: str) -> str:
    lines = [
        "# Short block codes on BPSK-AWGN with soft decisions",
        "",
        "Every number below was measured by the command at the end (`experiments/short_codes/awgn_table.py`). "
        "Monte Carlo on device: random messages, BPSK, AWGN, LLRs `2y/sigma^2`; each point stops after 100 "
        "block errors or its row's block budget; BLER with Clopper-Pearson 95% intervals (errors/blocks). "
        "All decoders of a row see the same messages and noise. NA: the BI-AWGN normal approximation with its "
        "third-order term; converse: the meta-converse (`codes.bounds`), both at the row's (n, k).",
        "",
        "## Gap to the normal approximation at BLER 1e-3",
        "",
        "| code | decoder | Eb/N0 at BLER 1e-3 (dB) | NA (dB) | gap (dB) | decoding time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        na = bounds.biawgn_ebn0_db_at_bler(r["n"], r["k"], 1e-3, "normal")
        for spec, gap in gaps(r).items():
            at = "not reached" if gap is None else f"{gap + na:.2f}"
            lines.append(
                f"| {ROWS[r['row']][4]} ({r['n']},{r['k']}) | {spec} | {at} | {na:.2f} | "
                f"{'-' if gap is None else f'{gap:.2f}'} | {r['decoders'][spec]['seconds']:.0f} |"
            )
    lines += ["", READING, "", "## The curves", ""]
    for r in results:
        lines += [f"### {ROWS[r['row']][4]}", "", catalog.markdown(r)]
    lines += ["![BLER vs Eb/N0](short_codes_awgn.png)", "", "Command:", "", f"    {command}", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--out", default=os.path.join(_RESULTS, "short_codes_awgn"))
    parser.add_argument("--smoke", action="store_true", help="two points, a few blocks (seconds)")
    args = parser.parse_args(argv)
    names = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = sorted(set(names) - set(ROWS))
    if unknown:
        raise SystemExit(f"--rows must name rows of {list(ROWS)}, got {unknown}")
    results = [run_row(name, args.workdir, args.smoke) for name in names]
    done = [
        json.loads(pathlib.Path(os.path.join(args.workdir, f"{n}.json")).read_text())
        for n in ROWS
        if os.path.exists(os.path.join(args.workdir, f"{n}.json"))
    ]
    command = f"python -m experiments.short_codes.awgn_table --workdir={args.workdir}"
    with open(args.out + ".md", "w") as f:
        f.write(report(done, command))
    catalog.plot([r for r in done if r["n"] == 128], args.out + ".png")
    print(f"{len(results)} rows run, {len(done)} in {args.out}.md")


if __name__ == "__main__":
    main()
