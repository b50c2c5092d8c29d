"""Schedules of the learned linear code (issue 24): annealed softmin temperature, union -> softmin switch,
perturb-and-reoptimise cycles, the penalty floor, and the discrete polish stage (flip descent) against brute force."""

import itertools
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax.codes import flip_descent, gf2, relaxed
from neuralcodes_jax.methods import linear_code as lc


def _brute_spectrum(p_bits: np.ndarray, max_weight: int) -> np.ndarray:
    """Weight spectrum of [I | P] over nonzero messages of weight <= max_weight, by listing the codewords."""
    k, r = p_bits.shape
    msgs = gf2.int_to_bits(np.arange(1, 1 << k), k)
    msgs = msgs[msgs.sum(1) <= max_weight]
    words = np.concatenate([msgs, gf2.matmul(msgs, p_bits)], axis=1)
    return np.bincount(words.sum(1), minlength=k + r + 1).astype(np.float64)


def _softmin64(spec: np.ndarray, tau: float) -> float:
    w = np.arange(spec.size)
    return float(tau * np.log(np.sum(spec[1:] * np.exp(-w[1:] / tau))))


# ---------------------------------------------------------------------------------------- polish (flip descent)
@pytest.mark.parametrize("name", relaxed.SURROGATES)
def test_surrogate_values_equal_the_relaxed_surrogates(name):
    spec = _brute_spectrum(np.random.default_rng(0).integers(0, 2, (5, 4), dtype=np.uint8), 5)
    got = flip_descent.surrogate_values(spec[None], name, p=0.03, tau=0.3, distance=3)[0]
    want = float(relaxed.surrogate_loss(jnp.asarray(spec, jnp.float32), name, p=0.03, tau=0.3, distance=3))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("max_weight", [5, 2])
def test_neighbour_values_equal_brute_force_flips(max_weight):
    """Every single and double flip (including two entries of one column) against the listed codewords."""
    rng = np.random.default_rng(max_weight)
    p_bits = rng.integers(0, 2, (5, 4), dtype=np.uint8)
    msgs = flip_descent.message_bits(5, max_weight)

    def value_fn(spectra):
        return flip_descent.surrogate_values(spectra, "union", p=0.05, tau=0.5, distance=3)

    vals, moves = flip_descent.neighbour_values(p_bits, msgs, value_fn, pairs=True, chunk=37)
    assert len(moves) == 20 + 190 and any(a % 4 == b % 4 for a, b in moves[20:])
    for v, move in zip(vals, moves, strict=True):
        flipped = p_bits.reshape(-1).copy()
        flipped[list(move)] ^= 1
        want = value_fn(_brute_spectrum(flipped.reshape(5, 4), max_weight)[None])[0]
        assert v == pytest.approx(want, rel=1e-12)


def test_descent_ends_at_a_two_flip_local_minimum():
    p_bits = np.zeros((4, 4), np.uint8)  # d = 1: every message bit unprotected
    out = flip_descent.descend(p_bits, 4, "softmin", p=0.01, tau=0.5, distance=3)
    value = flip_descent.surrogate_values(
        _brute_spectrum(out["p_bits"], 4)[None], "softmin", p=0.01, tau=0.5, distance=3
    )[0]
    assert out["surrogate_after"] == pytest.approx(value) and value < out["surrogate_before"]
    for move in itertools.chain(((a,) for a in range(16)), itertools.combinations(range(16), 2)):
        flipped = out["p_bits"].reshape(-1).copy()
        flipped[list(move)] ^= 1
        v = flip_descent.surrogate_values(
            _brute_spectrum(flipped.reshape(4, 4), 4)[None], "softmin", p=0.01, tau=0.5, distance=3
        )[0]
        assert v >= value - 1e-9
    spec = _brute_spectrum(out["p_bits"], 4)
    assert np.flatnonzero(spec[1:])[0] + 1 == 3  # the best (8,4) codes have d = 4 or 3; not lower


def test_tabu_search_returns_its_best_code_and_leaves_local_minima():
    """Tabu search's best code carries the surrogate it reports (brute force); with tenure 0 and no uphill move
    available it is the descent; from the descent's two-flip local minima on (8,4) it reaches a strictly better
    code (the extended Hamming code, d = 4), which descent cannot."""
    rng = np.random.default_rng(3)
    escaped = 0
    for trial in range(6):
        start = rng.integers(0, 2, (4, 4), dtype=np.uint8)
        local = flip_descent.descend(start, 4, "softmin", p=0.01, tau=0.5, distance=4)
        out = flip_descent.tabu_search(
            local["p_bits"], 4, "softmin", p=0.01, tau=0.5, distance=4, iterations=60, tenure=4, seed=trial
        )
        value = flip_descent.surrogate_values(
            _brute_spectrum(out["p_bits"], 4)[None], "softmin", p=0.01, tau=0.5, distance=4
        )[0]
        assert out["surrogate_after"] == pytest.approx(value, rel=1e-12)
        assert out["surrogate_after"] <= out["surrogate_before"] == pytest.approx(local["surrogate_after"])
        spec = _brute_spectrum(out["p_bits"], 4)
        assert np.flatnonzero(spec[1:])[0] + 1 == 4  # the optimum: extended Hamming (8,4)
        escaped += out["surrogate_after"] < local["surrogate_after"] - 1e-9
    assert escaped >= 1  # at least one start was a local minimum that is not the optimum
    same = flip_descent.tabu_search(start, 4, "union", p=0.05, tau=0.5, distance=3, iterations=0, tenure=3)
    assert np.array_equal(same["p_bits"], start) and same["best_iteration"] == 0
    with pytest.raises(ValueError, match="tenure"):
        flip_descent.tabu_search(start, 4, "union", p=0.05, tau=0.5, distance=3, iterations=5, tenure=-1)


# ------------------------------------------------------------------------------------------------ schedules
def test_geometric_tau_and_the_switch_give_the_scheduled_surrogate():
    theta = jnp.asarray(np.random.default_rng(1).normal(size=(5, 4)), jnp.float32)
    spec = np.asarray(relaxed.expected_spectrum(theta), np.float64)
    m = lc.LinearCodeMethod(
        n=9,
        k=5,
        surrogate="softmin",
        tau=2.0,
        tau_schedule="geometric",
        tau_final=0.1,
        start="union",
        switch_fraction=0.25,
        steps=100,
    )
    union = float(np.log(spec @ relaxed.pairwise_error(9, m.p)))
    np.testing.assert_allclose(float(m._scheduled_value(theta, jnp.float32(0.0))), union, rtol=1e-5)
    np.testing.assert_allclose(
        float(m._scheduled_value(theta, jnp.float32(0.5))), _softmin64(spec, 2.0 * 0.05**0.5), rtol=1e-5
    )
    np.testing.assert_allclose(float(m._scheduled_value(theta, jnp.float32(1.0))), _softmin64(spec, 0.1), rtol=1e-4)
    np.testing.assert_allclose(float(m.surrogate_value(theta)), _softmin64(spec, 0.1), rtol=1e-4)
    # at tau = 0.02 exp(-w / tau) is below float32's range: the log-sum-exp still gives the float64 value
    cold = lc.LinearCodeMethod(n=9, k=5, surrogate="softmin", tau_schedule="geometric", tau_final=0.02)
    np.testing.assert_allclose(float(cold.surrogate_value(theta)), _softmin64(spec, 0.02), rtol=1e-4)


def test_penalty_floor_and_per_cycle_fade():
    m = lc.LinearCodeMethod(n=9, k=5, steps=100, cycles=2, anneal_fraction=0.5, penalty_floor=0.2)
    fades = [float(m._fade(jnp.int32(s))) for s in (0, 10, 25, 49, 50, 60)]
    np.testing.assert_allclose(fades, [1.0, 0.6, 0.2, 0.2, 1.0, 0.6], atol=1e-6)
    assert [s.steps for s in m.stages()] == [50, 1, 49]
    plain = lc.LinearCodeMethod(n=9, k=5, steps=100, cycles=2, anneal_fraction=0.5, restart_penalty=0.0)
    np.testing.assert_allclose(
        [float(plain._fade(jnp.int32(s))) for s in (0, 10, 50, 60)], [1.0, 0.6, 0.0, 0.0], atol=1e-6
    )


def test_restart_keeps_the_best_code_and_restarts_from_it():
    m = lc.LinearCodeMethod(n=10, k=5, restarts=3, steps=20, cycles=2, perturb=0.0, restart_scale=1.5)
    state = m.init(jax.random.key(0))
    step0, step1 = jax.jit(lambda s, k: m.train_step(s, None, k, 0)), jax.jit(lambda s, k: m.train_step(s, None, k, 1))
    for i in range(10):
        state, _ = step0(state, jax.random.key(i))
    theta = state["params"]["theta"]
    state, _ = step1(state, jax.random.key(10))
    best = state["params"]["best"]
    np.testing.assert_array_equal(np.asarray(best["signs"]), np.sign(np.asarray(theta)))
    np.testing.assert_allclose(np.asarray(best["value"]), np.asarray(jax.jit(m.binarized_values)(theta)), rtol=1e-6)
    # restarted at 1.5 sign(theta) with a fresh Adam state: the first update moves each entry by about lr
    np.testing.assert_allclose(np.abs(np.asarray(state["params"]["theta"]) - 1.5 * np.sign(theta)), m.lr, atol=1e-3)
    assert int(state["opt_state"][0].count) == 1
    # the generator takes the lowest of the current chains and the kept codes
    low = dict(best, value=best["value"].at[2].set(-1e9))
    g = m.generator(dict(state["params"], best=low))
    np.testing.assert_array_equal(g, relaxed.generator_from_logits(np.asarray(best["signs"][2])))
    # perturb: each entry of the best code flipped with that probability
    flip = lc.LinearCodeMethod(n=10, k=5, restarts=16, steps=20, cycles=2, perturb=0.3)
    st = flip.init(jax.random.key(1))
    st = dict(st, params=dict(st["params"], theta=st["params"]["theta"] + 1.0))
    out = jax.jit(flip._restart)(st, jax.random.key(2))
    frac = float(np.mean(np.asarray(out["params"]["theta"]) < 0))  # 400 entries: sd 0.023
    assert 0.2 < frac < 0.4


@pytest.mark.parametrize(
    "kw",
    [
        dict(surrogate="softmin", tau=2.0, tau_schedule="geometric"),
        dict(surrogate="softmin", start="union", switch_fraction=0.5),
        dict(cycles=2, perturb=0.2),
        dict(penalty_floor=0.1),
    ],
    ids=["anneal", "switch", "cycles", "floor"],
)
def test_each_schedule_trains_a_few_steps(kw):
    m = lc.LinearCodeMethod(n=9, k=5, restarts=2, steps=12, **kw)
    state = m.init(jax.random.key(0))
    steps = {}
    start = 0
    for stage, st in enumerate(m.stages()):
        steps.setdefault(stage, jax.jit(lambda s, k, stage=stage: m.train_step(s, None, k, stage)))
        for i in range(start, start + st.steps):
            state, metrics = steps[stage](state, jax.random.key(i))
            assert np.isfinite(float(metrics["loss"])) and 0.0 <= float(metrics["saturated"]) <= 1.0
        start += st.steps
    assert int(state["step"]) == 12
    assert m.generator(state["params"]).shape == (5, 9)


@pytest.mark.slow
def test_schedules_and_polish_through_the_loop(tmp_path):
    """The config path (what launch.main runs): every schedule at once, then the polish stage's own report."""
    from experiments.linear_code import codes as cfg
    from neuralcodes_jax import methods, sweeps, train

    c = cfg.get_config("hamming_15_11,anneal,switch,cycles4,floor,polish,smoke")
    c.code.n, c.code.k, c.eval.reference = 8, 4, "extended Hamming(8,4)"
    c.train.steps, c.train.steps_per_call, c.train.checkpoint_every_steps, c.num_seeds = 8, 8, 0, 2
    m = methods.build(c, None)
    assert (m.tau_schedule, m.start, m.cycles, m.penalty_floor) == ("geometric", "union", 4, 0.1)
    c.train.cycles = 2  # fewer stages to compile
    configs, workdirs, summaries = sweeps.seed_members(c, str(tmp_path))
    out = train.train_group(configs, workdirs, summaries=summaries, handle_signals=False)
    rep = json.loads(pathlib.Path(workdirs[0], "linear_code_report.json").read_text())
    pol = rep["polish"]
    assert pol["surrogate_after"] <= pol["surrogate_before"] and pol["flips"] == "single and double"
    summary = out["summaries"][0]
    assert pol["minimum_distance"] >= 3 and summary["polish"]["num_seeds"] == 2
    assert "2 perturb-and-reoptimise cycles" in summary["training"]
    # The discrete searches of experiments/linear_code/search.py from this run's code and from a random one.
    from experiments.linear_code import search

    for kind, random_start in (("columns", False), ("columns", True), ("tabu", False)):
        found = search.search_seed(
            pathlib.Path(workdirs[0]), search=kind, iterations=5, tenure=3, kick=1, random_start=random_start
        )
        assert found["search"] == kind and found["start"] == ("random" if random_start else "learned")
        assert found["surrogate_after"] <= found["surrogate_before"] and found["minimum_distance"] == 4
    with pytest.raises(ValueError, match="search must be one of"):
        search.search_seed(pathlib.Path(workdirs[0]), search="anneal", iterations=1, tenure=1, kick=1, random_start=0)


def test_bad_schedule_input_names_the_field():
    bad = [
        (dict(tau_schedule="cosine"), r"surrogate.tau_schedule must be one of"),
        (dict(tau_final=0.0), r"surrogate.tau_final must be"),
        (dict(start="hinge", switch_fraction=0.5), r"surrogate.start must be one of"),
        (dict(start="union", switch_fraction=1.0), r"surrogate.switch_fraction must be in \[0, 1\)"),
        (dict(start="union"), r"surrogate.start and surrogate.switch_fraction go together"),
        (dict(switch_fraction=0.3), r"surrogate.start and surrogate.switch_fraction go together"),
        (dict(cycles=0), r"train.cycles must be in \[1, 1024\]"),
        (dict(steps=100, cycles=3), r"train.cycles must divide train.steps=100"),
        (dict(perturb=0.7), r"train.perturb must be in \[0, 0.5\]"),
        (dict(restart_scale=-1.0), r"train.restart_scale must be"),
        (dict(penalty_floor=1.5), r"train.penalty_floor must be in \[0, 1\]"),
        (dict(restart_penalty=-0.5), r"train.restart_penalty must be"),
    ]
    for kw, msg in bad:
        with pytest.raises(ValueError, match=msg):
            lc.LinearCodeMethod(n=7, k=4, **kw)
    from experiments.linear_code import codes as cfg
    from neuralcodes_jax import methods
    from neuralcodes_jax.evaluators import linear_code as ev

    c = cfg.get_config("smoke")
    c.eval.polish = 3
    with pytest.raises(ValueError, match=r"eval.polish must be in \[0, 2\]"):
        ev.report_settings(c)
    c = cfg.get_config("smoke")
    c.surrogate.tau_schedule = "linear"
    with pytest.raises(ValueError, match=r"surrogate.tau_schedule must be one of"):
        methods.build(c, None)


# ---------------------------------------------------------------------------------------- column moves
def test_walsh_hadamard_equals_the_dense_transform():
    a = np.random.default_rng(0).normal(size=16)
    u = np.arange(16)
    signs = (-1.0) ** np.array([[bin(x & y).count("1") for y in u] for x in u])
    np.testing.assert_allclose(flip_descent.walsh_hadamard(a), signs @ a, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="power of 2"):
        flip_descent.walsh_hadamard(np.ones(12))


@pytest.mark.parametrize("name,max_weight", [("softmin", 5), ("union", 5), ("distance", 5), ("union", 2)])
def test_column_values_equal_brute_force_columns(name, max_weight):
    """Every one of the 2^k columns in place of each column j, against the listed codewords (float64)."""
    rng = np.random.default_rng(max_weight)
    p_bits = rng.integers(0, 2, (5, 4), dtype=np.uint8)
    kw = dict(p=0.05, tau=0.4, distance=3)
    for j in range(4):
        got = flip_descent.column_values(p_bits, j, max_weight, name, **kw)
        want = []
        for v in range(32):
            q = p_bits.copy()
            q[:, j] = (v >> np.arange(5)) & 1
            want.append(flip_descent.surrogate_values(_brute_spectrum(q, max_weight)[None], name, **kw)[0])
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="column j"):
        flip_descent.column_values(p_bits, 4, 5, name, **kw)


def test_column_descent_ends_where_no_column_move_helps():
    kw = dict(p=0.01, tau=0.5, distance=3)
    out = flip_descent.column_descent(np.zeros((4, 4), np.uint8), 4, "softmin", **kw)
    value = flip_descent.surrogate_values(_brute_spectrum(out["p_bits"], 4)[None], "softmin", **kw)[0]
    assert out["surrogate_after"] == pytest.approx(value, rel=1e-12) and value < out["surrogate_before"]
    assert out["columns_changed"] >= 1
    for j in range(4):
        assert flip_descent.column_values(out["p_bits"], j, 4, "softmin", **kw).min() >= value - 1e-12


def test_column_search_reaches_extended_hamming_and_checks_its_fields():
    """Iterated column descent on (8,4) from random codes ends at d = 4 (extended Hamming, the optimum) with the
    surrogate it reports; zero iterations is the column descent; bad fields name themselves."""
    kw = dict(p=0.01, tau=0.5, distance=4)
    for trial in range(4):
        start = np.random.default_rng(trial).integers(0, 2, (4, 4), dtype=np.uint8)
        out = flip_descent.column_search(start, 4, "softmin", iterations=30, kick=2, seed=trial, **kw)
        spec = _brute_spectrum(out["p_bits"], 4)
        assert np.flatnonzero(spec[1:])[0] + 1 == 4
        assert out["surrogate_after"] == pytest.approx(
            flip_descent.surrogate_values(spec[None], "softmin", **kw)[0], rel=1e-12
        )
        assert out["surrogate_after"] <= out["surrogate_before"]
    start = np.random.default_rng(9).integers(0, 2, (5, 4), dtype=np.uint8)
    none = flip_descent.column_search(start, 5, "union", iterations=0, **kw)
    assert none["surrogate_after"] == pytest.approx(
        flip_descent.column_descent(start, 5, "union", **kw)["surrogate_after"], rel=1e-12
    )
    with pytest.raises(ValueError, match="kick"):
        flip_descent.column_search(start, 5, "union", iterations=3, kick=5, **kw)
    with pytest.raises(ValueError, match="iterations"):
        flip_descent.column_search(start, 5, "union", iterations=-1, **kw)
    with pytest.raises(ValueError, match="k <= 22"):
        flip_descent.column_descent(np.zeros((23, 2), np.uint8), 1, "union", **kw)


def test_a_frame_change_keeps_the_code_up_to_coordinate_order():
    """``reframe`` moves [I | P] to another systematic generator of a permuted copy of the code: the same weight
    spectrum (so the same surrogate) and the same codewords once the coordinates are reordered."""
    p_bits = np.random.default_rng(5).integers(0, 2, (5, 4), dtype=np.uint8)
    state = flip_descent._Columns(p_bits, 5, "softmin", 0.01, 0.5, 3)
    before = state.value()
    order = state.reframe(np.random.default_rng(0))
    assert state.value() == pytest.approx(before, rel=1e-12)
    assert not np.array_equal(state.p_bits, p_bits)

    def codewords(p):
        return gf2.matmul(gf2.int_to_bits(np.arange(32), 5), np.concatenate([np.eye(5, dtype=np.uint8), p], axis=1))

    old = {tuple(c[order]) for c in codewords(p_bits)}
    assert old == {tuple(c) for c in codewords(state.p_bits)} and len(old) == 32
    kw = dict(p=0.01, tau=0.5, distance=4)
    out = flip_descent.column_search(np.zeros((4, 4), np.uint8), 4, "softmin", iterations=20, reframe=True, **kw)
    spec = _brute_spectrum(out["p_bits"], 4)
    assert np.flatnonzero(spec[1:])[0] + 1 == 4
    with pytest.raises(ValueError, match="every message"):
        flip_descent.column_search(np.zeros((5, 4), np.uint8), 2, "union", iterations=2, reframe=True, **kw)
