"""Configs of the progressive-training experiments (learned binary codes, arXiv 2511.09221); see ``base.py``."""
