"""The local training engine's trainer: `python -m trainer --spec SPEC.json`.

docs/trainer.md describes the spec, the datasets, the progress reports and
the failure reasons.
"""

__version__ = "1.0"
