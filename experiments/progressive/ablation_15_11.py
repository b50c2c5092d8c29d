"""The unstructured method at (15,11): the decoder first (issue 24, item 3; ``results/learned_codes_optimal.md``).

Paper: arXiv 2511.09221 (progressive training of an unstructured MLP encoder with a neural decoder). At (15,11) its
report row (``longer.py:15_11``) ends at d_min = 0 in 20 of 20 seeds, and the diagnosis says the decoder that
shapes the encoder's gradient is far from the posterior. Each variant changes one thing of that row (its name
says what), 20 seeds as one vmapped group:

* ``baseline``: the report row itself (``longer.py:15_11``: MLP encoder, linear softmax decoder, 2,500 stage-1
  steps of 256 messages, flip-plus-Gaussian relaxation, logit penalty 3);
* ``decoder_first``: the encoder frozen for the first 20 % of stage 1 (``train.decoder_first_fraction = 0.2``);
* ``decoder_steps4``: 4 decoder updates per encoder update (``train.decoder_steps = 4``);
* ``full_batch``: every stage-1 batch is all 2^11 = 2,048 messages once (``train.full_batch``, batch 2,048);
* ``wide_decoder``: a decoder with a hidden layer of 256 ReLU units instead of the linear softmax one;
* ``awgn_relaxation``: the stage-1 relaxation ``'awgn'`` (``z = 1 - 2c + sigma_p n``, ``sigma_p = 1/Q^-1(p)``)
  instead of flip-plus-Gaussian, with the paper's neural decoder: the control of the next row;
* ``posterior``: NOT the paper's method: the encoder is trained through the exact posterior of the relaxed
  codebook over all 2^11 messages (``train.training_decoder = 'posterior'``) under the ``'awgn'`` relaxation, where
  the posterior is one matmul (under flip-plus-Gaussian every example costs ``2^k n`` softplus terms, about 3 s
  per step for 20 seeds at batch 256 on this machine), in batches of 64 messages (each example scores all 2,048
  codewords; at batch 256 the step cost about 0.4 s for 20 seeds, four times the row's time limit); the paper's
  neural decoder (the same linear softmax decoder) is trained afterwards on the frozen code (stage 2, 1,000
  steps) and used at test time;
* ``posterior_long``: the posterior with a four times longer stage 1 (10,000 steps; the penalty fades four times
  more slowly);
* ``posterior_flip_gauss``: the same under the flip-plus-Gaussian relaxation of the report row, batches of 32
  messages (the posterior's cost);
* ``combined``: the paper's method with the two schedule ingredients together (decoder first + 4 decoder
  updates per encoder update; the wide decoder costs about five times the row's step, so it is left out).

Words that may be added: ``23_12`` (the same change at (23,12), Golay; the posterior at k = 12 scores 4,096
codewords per example), ``smoke``.

Commands (one row each, ~100 minutes of one core for the table; see the results file for the times):
  python -m launch.main --config=experiments/progressive/ablation_15_11.py:posterior --workdir=workdirs/abl/posterior
  python -m experiments.linear_code.diagnosis workdirs/abl/posterior
"""

from experiments.progressive import base, longer

#: The ablation rows (one config variant word each).
ROWS = (
    "baseline",
    "decoder_first",
    "decoder_steps4",
    "full_batch",
    "wide_decoder",
    "awgn_relaxation",
    "posterior",
    "posterior_long",
    "posterior_flip_gauss",
    "combined",
)
VARIANTS = ROWS + ("23_12", "smoke")


def get_config(arg=None):
    from experiments import common

    variant = common.parse_variant(arg, VARIANTS)
    rows = [v for v in ROWS if v in variant]
    if len(rows) > 1:
        raise ValueError(f"config variant must name at most one row of {list(ROWS)}, got {rows}")
    row = rows[0] if rows else "baseline"
    length = "23_12" if "23_12" in variant else "15_11"
    c = longer.get_config(length)
    c.name = f"ablation_{length}_{row}"
    if row in ("decoder_first", "combined"):
        c.train.decoder_first_fraction = 0.2
    if row in ("decoder_steps4", "combined"):
        c.train.decoder_steps = 4
    if row == "full_batch":
        c.train.full_batch = True
        c.train.batch_size = 1 << c.code.k
    if row == "wide_decoder":
        c.model.decoder_hidden = (256,)
    if row in ("awgn_relaxation", "posterior", "posterior_long"):
        c.channel.relaxation = "awgn"
    if row in ("posterior", "posterior_long"):
        c.train.batch_size = 64
    if row == "posterior_flip_gauss":
        c.train.batch_size = 32
    if row == "posterior_long":
        c.train.stage1_steps *= 4
    if row in ("posterior", "posterior_long", "posterior_flip_gauss"):
        c.train.training_decoder = "posterior"
        c.train.stage2_steps = 1000  # the neural decoder learns the frozen code from scratch
        c.train.stage2_lr = 3e-3
        if length == "23_12":
            # The paper's decoder at test time: the 4096-way linear softmax (correlation) decoder.
            c.model.decoder_output = "softmax"
            c.model.decoder_hidden = ()
            c.eval.neural_table = False
    base.apply_variant(c, variant)
    return c
