"""Evaluation helpers: ground truth and scoring of what the system finds, kept out of the product packages.

The future home of ``sdr-semcom eval``; today the guard's tests and ``benchmarks/guard_bench.py``
use :func:`~sdr_semcom.eval.truth.face_truth` and :func:`~sdr_semcom.eval.scoring.match_faces`.
"""
