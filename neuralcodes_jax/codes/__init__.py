"""Classical binary codes, exact evaluation and finite-blocklength limits.

Modules:
  gf2       exact GF(2) linear algebra on NumPy uint8 arrays (rank, row reduction, systematic form,
            null space, G <-> H) and bit/integer conversions (most significant bit first).
  linear    :class:`LinearCode`, Hamming / extended Hamming / Golay / extended Golay / repetition /
            single-parity-check constructions, coset-leader syndrome decoding (jitted JAX and NumPy).
  relaxed   (JAX) relaxed systematic generators: relaxed XOR, expected weight spectrum, surrogates.
  exact     exact BSC/BEC error rates of any codebook with n <= 24 by enumeration (polynomials in
            p), coset-leader formulas for linear codes, Monte Carlo with confidence intervals.
  bounds    capacity, dispersion, PPV meta-converse, RCU, normal approximation, Gallager exponent.
  analysis  distances, linearity / coset / perfection tests, equivalence to a reference code.
  crc       the 5G NR CRC polynomials (TS 38.212 Sec. 5.1: CRC6, CRC11, CRC16, CRC24A/B/C); parity bits, attach and
            check as a GF(2) matrix product, NumPy or jittable JAX.
  polar     polar codes of length 2^m <= 1024: 5G reliability sequence (TS 38.212 Table 5.3.1.2-1) or Gaussian
            approximation at a design SNR, optional CRC; butterfly encoder; jitted batched SC and (CRC-aided) SCL
            decoding on LLRs with list sizes 1 ... 32.

Conventions shared by all modules: bits are 0/1 ``uint8``; a bit vector ``b[0..n-1]`` is the integer
``sum_j b[j] 2^(n-1-j)``; message ``i`` of a code or codebook is row ``i`` and carries the ``k``-bit
label of ``i``. Exact evaluation uses NumPy float64/int64 (no JAX); decoders and Monte Carlo use JAX.
"""
from neuralcodes_jax.codes import analysis, bounds, crc, exact, gf2, linear, polar
from neuralcodes_jax.codes.analysis import (
    Equivalence, EquivalenceSearchError, are_equivalent, coset_decomposition, covering_radius,
    distance_distribution, distance_profiles, distinct_codewords, find_equivalence, is_coset_of_linear,
    is_distance_invariant, is_linear, is_perfect, minimum_distance, num_distinct_codewords,
    pairwise_distance_counts, reference_codes, summarize_codebook, weight_distribution)
from neuralcodes_jax.codes.crc import (
    CRC6, CRC11, CRC16, CRC24A, CRC24B, CRC24C, CRC_POLYNOMIALS, CrcPolynomial, crc_attach, crc_bits, crc_check,
    crc_generator_matrix, crc_polynomial)
from neuralcodes_jax.codes.bounds import (
    bec_capacity, bec_converse, bec_dispersion, bec_normal_approximation, bec_rcu, binary_entropy,
    bsc_capacity, bsc_converse, bsc_dispersion, bsc_normal_approximation, bsc_normal_approximation_log2m,
    bsc_rcu, gallager_bound, gallager_e0, gallager_exponent)
from neuralcodes_jax.codes.exact import (
    BEC_GUESS_OPTIONS, BSCEvaluation, MonteCarloResult, WeightPolynomial, bounded_distance_bler,
    clopper_pearson_interval, decoder_ber_bsc, decoder_bler_bsc, default_labels, evaluate_bsc, hamming_ber,
    ml_ber_bsc, ml_bler_bec, ml_bler_bsc, ml_decoder_table, monte_carlo, nearest_codeword_distances,
    syndrome_ber_bsc, syndrome_bler_bsc, uncoded_bler, validate_codebook, wilson_interval)
from neuralcodes_jax.codes.linear import (
    LinearCode, SyndromeDecoder, code_from_codewords, coset_leaders, extended_golay_code,
    extended_hamming_code, golay_code, hamming_code, repetition_code, single_parity_check_code)
from neuralcodes_jax.codes.polar import (
    PolarCode, PolarDecoded, ga_llr_means, ga_reliability_order, polar_5g_sequence, polar_code, polar_encode,
    polar_transform, polar_transform_matrix, sc_decode, scl_decode)

__all__ = [
    "analysis", "bounds", "exact", "gf2", "linear",
    # linear
    "LinearCode", "SyndromeDecoder", "code_from_codewords", "coset_leaders", "extended_golay_code",
    "extended_hamming_code", "golay_code", "hamming_code", "repetition_code", "single_parity_check_code",
    # exact
    "BEC_GUESS_OPTIONS", "BSCEvaluation", "MonteCarloResult", "WeightPolynomial", "bounded_distance_bler",
    "clopper_pearson_interval", "decoder_ber_bsc", "decoder_bler_bsc", "default_labels", "evaluate_bsc",
    "hamming_ber", "ml_ber_bsc", "ml_bler_bec", "ml_bler_bsc", "ml_decoder_table", "monte_carlo",
    "nearest_codeword_distances", "syndrome_ber_bsc", "syndrome_bler_bsc", "uncoded_bler",
    "validate_codebook", "wilson_interval",
    # bounds
    "bec_capacity", "bec_converse", "bec_dispersion", "bec_normal_approximation", "bec_rcu",
    "binary_entropy", "bsc_capacity", "bsc_converse", "bsc_dispersion", "bsc_normal_approximation",
    "bsc_normal_approximation_log2m", "bsc_rcu", "gallager_bound", "gallager_e0", "gallager_exponent",
    # analysis
    "Equivalence", "EquivalenceSearchError", "are_equivalent", "coset_decomposition", "covering_radius",
    "distance_distribution", "distance_profiles", "distinct_codewords", "find_equivalence",
    "is_coset_of_linear", "is_distance_invariant", "is_linear", "is_perfect", "minimum_distance",
    "num_distinct_codewords", "pairwise_distance_counts", "reference_codes", "summarize_codebook",
    "weight_distribution",
    "crc", "polar",
    # crc
    "CRC6", "CRC11", "CRC16", "CRC24A", "CRC24B", "CRC24C", "CRC_POLYNOMIALS", "CrcPolynomial", "crc_attach",
    "crc_bits", "crc_check", "crc_generator_matrix", "crc_polynomial",
    # polar
    "PolarCode", "PolarDecoded", "ga_llr_means", "ga_reliability_order", "polar_5g_sequence", "polar_code",
    "polar_encode", "polar_transform", "polar_transform_matrix", "sc_decode", "scl_decode",
]
