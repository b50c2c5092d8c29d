"""neuralcodes_jax: learned channel codes and neural joint source-channel coding in JAX/Flax."""

__version__ = "0.1.0"
