"""Signals and their three properties (lecture sections 1 and 2), in three modules: ``generate`` (signals made
with three dials, each moving one property), ``measures`` (what each property is, measured) and ``report`` (every
measure of a signal beside its permuted copy, the lecture's table of data types)."""

from core.lecture.signals.generate import generate, hierarchy, melody, permute, target_length
from core.lecture.signals.measures import (SQUINT_MATRIX_MAX, autocorrelation, compositionality_score,
                                           correlation_length, local_statistics, power_spectrum, pyramid_energy,
                                           spectral_slope, squint_curve, stationarity_score, summary, summary_table)
from core.lecture.signals.report import compare, data_types

__all__ = ["SQUINT_MATRIX_MAX", "autocorrelation", "compare", "compositionality_score", "correlation_length",
           "data_types", "generate", "hierarchy", "local_statistics", "melody", "permute", "power_spectrum",
           "pyramid_energy", "spectral_slope", "squint_curve", "stationarity_score", "summary", "summary_table",
           "target_length"]
