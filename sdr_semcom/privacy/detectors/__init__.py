"""Detector backends of the privacy guard, one file per family.

Every backend says in words what it finds (:attr:`Detector.finds`); the guard aligns database
entries with backends by MiniLM similarity of those words, so a new backend needs no change
elsewhere.
"""

from .base import Detection, Detector, ModelMissing

__all__ = ["Detection", "Detector", "ModelMissing"]
