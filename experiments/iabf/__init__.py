"""IABF / ABF experiment configs (Song et al. 2020): ``table1.py`` builds every run of Table 1."""
