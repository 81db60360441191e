"""Matching detections to ground-truth faces (shared by tests and the guard benchmark)."""

from __future__ import annotations


def _covers(box, point) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def _centre(box):
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def match_faces(detected: list, truth: list) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives).

    A detection matches a true face when each box covers the other's centre; each true face
    matches at most one detection.
    """
    free = list(truth)
    tp = 0
    for d in detected:
        hit = next((t for t in free if _covers(d, _centre(t)) and _covers(t, _centre(d))), None)
        if hit is not None:
            free.remove(hit)
            tp += 1
    return tp, len(detected) - tp, len(free)
