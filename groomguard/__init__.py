"""groomguard: grooming-risk detection for chat platforms.

This package is the shared contract (conversation schema, text normalisation, windowing, scores,
model bundle) imported by training, evaluation and serving. It never imports torch or transformers.
"""

__version__ = "0.1.0"
