"""listrank: one Keras 3 list-wise ranking model and one set of ranking losses."""

__version__ = "0.1.0"
