"""The report table of the linear method (``experiments/linear_code/table.py``): a row pooled from the seeds of one
variant trained as two groups equals the row of the same seeds trained as one group."""

import pytest

from experiments.linear_code import table


def _seed(i, d):
    ratio = {p: {"ratio": 1.0 + 0.1 * i + (0.5 if p == "0.01" else 0.0)} for p in ("0.01", "0.05")}
    return {
        "reference": "Golay(23,12)",
        "equivalent": d == 7,
        "minimum_distance": d,
        "generator": ["1" * 23] * 12,
        "ratio_to_converse": ratio,
        "polish": {
            "reference": "Golay(23,12)",
            "equivalent": d == 7,
            "minimum_distance": d,
            "generator": ["0" * 23] * 12,
            "ratio_to_converse": ratio,
        },
    }


def _summary(seeds, dists, seconds):
    def counts(extra):
        hist = {}
        for d in sorted(dists, reverse=True):
            hist[str(d)] = hist.get(str(d), 0) + 1
        out = {
            "num_seeds": len(seeds),
            "reached_distance": sum(d == 7 for d in dists),
            "equivalent": sum(d == 7 for d in dists),
            "equivalence_undecided": 0,
            "same_enumerator": sum(d == 7 for d in dists),
            "minimum_distance_histogram": hist,
        }
        return {**out, **extra}

    return {
        "name": "linear_golay_23_12_softmin_polish",
        "n": 23,
        "k": 12,
        "reference": "Golay(23,12)",
        "surrogate": "softmin",
        "training": "softmin, tau 0.5, 8 chains x 4000 steps",
        "train_seconds": seconds,
        "summary": counts({}),
        "polish": counts({"seconds": 2.0, "flips": "single and double"}),
        "seeds": [_seed(i, d) for i, d in zip(seeds, dists)],
        "workdirs": [f"workdirs/x/seed{i}" for i in seeds],
    }


def test_a_row_pooled_from_two_groups_equals_the_row_of_one_group():
    dists = [7, 5, 6, 7, 5]
    whole = _summary(range(5), dists, 30.0)
    pooled = table.pool_linear_summaries([_summary(range(2), dists[:2], 10.0), _summary(range(2, 5), dists[2:], 20.0)])
    for polished in (False, True):
        row_whole, golay_whole = table.linear_row(whole, polished)
        row_pooled, golay_pooled = table.linear_row(pooled, polished)
        cells_whole, cells_pooled = row_whole.split(" | "), row_pooled.split(" | ")
        assert cells_pooled[:-1] == cells_whole[:-1]  # all but the seconds
        assert cells_pooled[-1].startswith("10 + 20") and golay_pooled == golay_whole
    assert "| 5 | 2 | 2 | 7 (2), 6 (1), 5 (2) |" in row_pooled
    with pytest.raises(ValueError, match="share seeds"):
        table.pool_linear_summaries([_summary(range(2), dists[:2], 1.0), _summary(range(1, 3), dists[:2], 1.0)])
    other = dict(_summary(range(2, 4), dists[:2], 1.0), training="softmin, tau 0.5, 1 chain x 4000 steps")
    with pytest.raises(ValueError, match="one variant"):
        table.pool_linear_summaries([_summary(range(2), dists[:2], 1.0), other])
