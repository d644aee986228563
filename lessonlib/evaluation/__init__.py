"""Evaluation: trec_eval's measures, significance, agreement, calibration, error analysis, cost and trade-offs.

``lessonlib.evaluation.evaluate`` is the public face of :func:`lessonlib.evaluation.metrics.evaluate`.
"""

from lessonlib.evaluation.metrics import evaluate

__all__ = ["evaluate"]
