"""Customer analytics: ingest, clean, segment, score and value customers, period by period.

The notebooks in ``notebooks/`` are thin; everything they do is a function in this package.
"""

__version__ = "0.1.0"
