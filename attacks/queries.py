"""Augmented queries of image inputs: the original, a horizontal flip and one-pixel shifts.

LiRA's reference code queries each point under the augmentations the models were trained with
(flips and shifts); the statistic of each query is one coordinate of the Gaussian test.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["MAX_QUERIES", "augment"]

# (flip, shift down, shift right) of every query, in the order they are used.
_QUERIES = (
    (False, 0, 0),
    (True, 0, 0),
    (False, 0, 1),
    (False, 0, -1),
    (False, 1, 0),
    (False, -1, 0),
    (True, 0, 1),
    (True, 0, -1),
)

MAX_QUERIES = len(_QUERIES)
"""How many distinct queries :func:`augment` can make of a point."""


def _shift(x: torch.Tensor, down: int, right: int) -> torch.Tensor:
    """Translate images (..., H, W) by whole pixels, filling with zeros."""
    if down == 0 and right == 0:
        return x
    height, width = x.shape[-2:]
    padded = F.pad(x, (max(right, 0), max(-right, 0), max(down, 0), max(-down, 0)))
    top, left = max(-down, 0), max(-right, 0)
    return padded[..., top : top + height, left : left + width]


def augment(x: torch.Tensor, count: int) -> torch.Tensor:
    """The first ``count`` queries of every point.

    Parameters
    ----------
    x : torch.Tensor, shape (..., N, *input_shape)
        Points; images have an input shape (channels, height, width).
    count : int, 1 ≤ count ≤ :data:`MAX_QUERIES`
        1 for the original only; 2 adds the horizontal flip; then one-pixel shifts.

    Returns
    -------
    torch.Tensor, shape (count, ..., N, *input_shape)

    Raises
    ------
    ValueError
        If ``count`` is out of range, or above 1 for inputs that are not images.
    """
    if not 1 <= count <= MAX_QUERIES:
        raise ValueError(f"queries must be between 1 and {MAX_QUERIES}, got {count}")
    if count > 1 and x.ndim < 4:
        raise ValueError(f"augmented queries need images (..., N, C, H, W), got shape {x.shape}")
    out = []
    for flip, down, right in _QUERIES[:count]:
        query = torch.flip(x, dims=(-1,)) if flip else x
        out.append(_shift(query, down, right))
    return torch.stack(out)
