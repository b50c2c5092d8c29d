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
  structure distances, linearity / coset / perfection tests, equivalence to a reference code.
  osd       (JAX) ordered-statistics decoding of order 0..3 and soft ML decoding by correlation (k <= 16).
  ldpc5g    5G NR LDPC codes (TS 38.212 base graphs, every lifting size, encoder, shortening and
            puncturing), decoded by ``ldpc.bp_decode`` (flooding or layered, sum-product or min-sum).
  awgn      (JAX) Monte Carlo BLER/BER versus Eb/N0 on BPSK-AWGN with Clopper-Pearson intervals.
  crc       the 5G NR CRC polynomials (TS 38.212 Sec. 5.1: CRC6, CRC11, CRC16, CRC24A/B/C); parity bits, attach and
            check as a GF(2) matrix product, NumPy or jittable JAX.
  polar     polar codes of length 2^m <= 1024: 5G reliability sequence (TS 38.212 Table 5.3.1.2-1) or Gaussian
            approximation at a design SNR, optional CRC; butterfly encoder; jitted batched SC and (CRC-aided) SCL
            decoding on LLRs with list sizes 1 ... 32.

Conventions shared by all modules: bits are 0/1 ``uint8``; a bit vector ``b[0..n-1]`` is the integer
``sum_j b[j] 2^(n-1-j)``; message ``i`` of a code or codebook is row ``i`` and carries the ``k``-bit
label of ``i``. Exact evaluation uses NumPy float64/int64 (no JAX); decoders and Monte Carlo use JAX.
"""
from neuralcodes_jax.codes import awgn, bounds, crc, exact, gf2, ldpc5g, linear, osd, polar, structure
from neuralcodes_jax.codes.awgn import AwgnPoint, fractional_clopper_pearson_interval, simulate_awgn
from neuralcodes_jax.codes.bounds import (
    BIAWGN_BOUNDS,
    bec_capacity,
    bec_converse,
    bec_dispersion,
    bec_normal_approximation,
    bec_rcu,
    biawgn_capacity,
    biawgn_converse,
    biawgn_dispersion,
    biawgn_ebn0_db_at_bler,
    biawgn_normal_approximation,
    biawgn_normal_approximation_log2m,
    biawgn_normal_approximation_rate,
    biawgn_rcu,
    biawgn_rcu_s_parameter,
    binary_entropy,
    bsc_capacity,
    bsc_converse,
    bsc_dispersion,
    bsc_normal_approximation,
    bsc_normal_approximation_log2m,
    bsc_rcu,
    ebn0_db_to_sigma,
    esn0_db_to_sigma,
    gallager_bound,
    gallager_e0,
    gallager_exponent,
    sigma_to_ebn0_db,
    sigma_to_esn0_db,
)
from neuralcodes_jax.codes.crc import (
    CRC6,
    CRC11,
    CRC16,
    CRC24A,
    CRC24B,
    CRC24C,
    CRC_POLYNOMIALS,
    CrcPolynomial,
    crc_attach,
    crc_bits,
    crc_check,
    crc_generator_matrix,
    crc_polynomial,
)
from neuralcodes_jax.codes.exact import (
    BEC_GUESS_OPTIONS,
    BSCEvaluation,
    MonteCarloResult,
    WeightPolynomial,
    bounded_distance_bler,
    clopper_pearson_interval,
    decoder_ber_bsc,
    decoder_bler_bsc,
    default_labels,
    evaluate_bsc,
    hamming_ber,
    ml_ber_bsc,
    ml_bler_bec,
    ml_bler_bsc,
    ml_decoder_table,
    monte_carlo,
    nearest_codeword_distances,
    syndrome_ber_bsc,
    syndrome_bler_bsc,
    uncoded_bler,
    validate_codebook,
    wilson_interval,
)
from neuralcodes_jax.codes.ldpc5g import NrLdpcCode, NrLdpcResult, nr_ldpc
from neuralcodes_jax.codes.linear import (
    PRIMITIVE_POLYNOMIALS,
    LinearCode,
    SyndromeDecoder,
    bch_code,
    bch_dimensions,
    bch_generator_polynomial,
    code_from_codewords,
    coset_leaders,
    extended_bch_code,
    extended_golay_code,
    extended_hamming_code,
    golay_code,
    hamming_code,
    reed_muller,
    repetition_code,
    single_parity_check_code,
)
from neuralcodes_jax.codes.osd import SoftDecision, ml_decode, osd_decode, osd_num_patterns
from neuralcodes_jax.codes.polar import (
    PolarCode,
    PolarDecoded,
    ga_llr_means,
    ga_reliability_order,
    polar_5g_sequence,
    polar_code,
    polar_encode,
    polar_transform,
    polar_transform_matrix,
    sc_decode,
    scl_decode,
)
from neuralcodes_jax.codes.structure import (
    Equivalence,
    EquivalenceSearchError,
    are_equivalent,
    coset_decomposition,
    covering_radius,
    distance_distribution,
    distance_profiles,
    distinct_codewords,
    find_equivalence,
    is_coset_of_linear,
    is_distance_invariant,
    is_linear,
    is_perfect,
    minimum_distance,
    num_distinct_codewords,
    pairwise_distance_counts,
    reference_codes,
    summarize_codebook,
    weight_distribution,
)

__all__ = [
    "structure", "bounds", "exact", "gf2", "linear",
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
    # structure
    "Equivalence", "EquivalenceSearchError", "are_equivalent", "coset_decomposition", "covering_radius",
    "distance_distribution", "distance_profiles", "distinct_codewords", "find_equivalence",
    "is_coset_of_linear", "is_distance_invariant", "is_linear", "is_perfect", "minimum_distance",
    "num_distinct_codewords", "pairwise_distance_counts", "reference_codes", "summarize_codebook",
    "weight_distribution",
    "osd",
    # linear: BCH of any length, Reed-Muller of any order
    "PRIMITIVE_POLYNOMIALS", "bch_code", "bch_dimensions", "bch_generator_polynomial", "extended_bch_code",
    "reed_muller",
    # osd
    "SoftDecision", "ml_decode", "osd_decode", "osd_num_patterns",
    # ldpc5g
    "ldpc5g", "NrLdpcCode", "NrLdpcResult", "nr_ldpc",
    # BI-AWGN limits (bounds) and the AWGN Monte Carlo evaluator (awgn)
    "awgn", "BIAWGN_BOUNDS", "biawgn_capacity", "biawgn_converse", "biawgn_dispersion", "biawgn_ebn0_db_at_bler",
    "biawgn_normal_approximation", "biawgn_normal_approximation_log2m", "biawgn_normal_approximation_rate",
    "biawgn_rcu", "biawgn_rcu_s_parameter", "ebn0_db_to_sigma", "esn0_db_to_sigma", "sigma_to_ebn0_db",
    "sigma_to_esn0_db", "AwgnPoint", "fractional_clopper_pearson_interval", "simulate_awgn",
    "crc", "polar",
    # crc
    "CRC6", "CRC11", "CRC16", "CRC24A", "CRC24B", "CRC24C", "CRC_POLYNOMIALS", "CrcPolynomial", "crc_attach",
    "crc_bits", "crc_check", "crc_generator_matrix", "crc_polynomial",
    # polar
    "PolarCode", "PolarDecoded", "ga_llr_means", "ga_reliability_order", "polar_5g_sequence", "polar_code",
    "polar_encode", "polar_transform", "polar_transform_matrix", "sc_decode", "scl_decode",
]
