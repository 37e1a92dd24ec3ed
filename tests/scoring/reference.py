"""Slow, literal reference implementations that the fast scoring code is checked against."""

import numpy as np

FPR_LEVELS = (0.001, 0.01, 0.05, 0.1, 0.15, 0.2)


def literal_roc(labels, scores):
    """ROC points by looping over thresholds, then scikit-learn's drop of collinear points."""
    labels = [int(y) for y in labels]
    scores = [float(s) for s in scores]
    positives = sum(labels)
    negatives = len(labels) - positives
    points = []
    for threshold in sorted(set(scores), reverse=True):
        tp = sum(1 for y, s in zip(labels, scores) if s >= threshold and y == 1)
        fp = sum(1 for y, s in zip(labels, scores) if s >= threshold and y == 0)
        points.append((fp, tp))
    kept = []
    for i, point in enumerate(points):
        if 0 < i < len(points) - 1:
            before, after = points[i - 1], points[i + 1]
            step_in = (point[0] - before[0], point[1] - before[1])
            step_out = (after[0] - point[0], after[1] - point[1])
            if step_in == step_out:
                continue
        kept.append(point)
    kept.insert(0, (0, 0))
    fpr = [fp / negatives for fp, _ in kept]
    tpr = [tp / positives for _, tp in kept]
    return fpr, tpr


def literal_score(labels, scores):
    """MICO's metrics, one threshold at a time."""
    fpr, tpr = literal_roc(labels, scores)
    out = {}
    for level in FPR_LEVELS:
        best = 0.0
        for f, t in zip(fpr, tpr):
            if f < level and t > best:
                best = t
        out[f"TPR_FPR_{round(level * 1e4)}"] = best
    area = 0.0
    for i in range(1, len(fpr)):
        area += (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2
    out["AUC"] = area
    out["MIA"] = max(t - f for f, t in zip(fpr, tpr))
    out["accuracy"] = max(1 - (f + (1 - t)) / 2 for f, t in zip(fpr, tpr))
    out["fpr"] = np.array(fpr)
    out["tpr"] = np.array(tpr)
    return out
