"""Writing predictions as a MICO submission zip."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from typing import BinaryIO

import numpy as np

from attacks.observations import ModelId

__all__ = ["write_submission_zip"]


def write_submission_zip(
    predictions: Mapping[str, Mapping[ModelId, np.ndarray]],
    destination: str | os.PathLike[str] | BinaryIO,
    *,
    track: str,
    folders: Mapping[str, str] | None = None,
) -> None:
    """Write predictions in MICO's layout, ``<track>/<track>_<scenario>/<phase>/model_<i>/``
    (or ``<track>/<folder>/...`` for a scenario that names its folder).

    Each ``prediction.csv`` is one comma-separated row of the model's scores, written with
    ``repr`` precision so no two distinct scores collapse.

    Parameters
    ----------
    predictions : mapping
        ``scenario -> {(phase, model index) -> scores of shape (K,)}``, e.g. the outputs of
        :func:`attacks.run` for every scenario of a track.
    destination : path or binary file object
    track : str, keyword-only
        Track slug, e.g. ``"purchase100"``.
    folders : mapping, keyword-only
        ``scenario -> folder`` for scenarios whose folder is not ``<track>_<scenario>``
        (MICO's DP-distinguisher track: ``{"cifar10": "cifar10_ddp"}``); see
        :func:`attacks.bundle.scenario_dirs`.

    Raises
    ------
    ValueError
        If a slug contains ``_`` where its folder name would be ambiguous, a folder is not
        one path segment, a score is outside [0, 1], or scores are not 1-d.

    Examples
    --------
    >>> import io
    >>> buffer = io.BytesIO()
    >>> write_submission_zip({"inf": {("dev", 100): np.array([0.25, 1.0])}}, buffer, track="demo")
    >>> zipfile.ZipFile(buffer).read("demo/demo_inf/dev/model_100/prediction.csv")
    b'0.25,1.0\\n'
    """
    folders = dict(folders or {})
    if "_" in track:
        raise ValueError(f"track slug {track!r} must not contain '_'")
    for folder in folders.values():
        if not folder or "/" in folder or "\\" in folder or folder in {".", ".."}:
            raise ValueError(f"scenario folder {folder!r} must be one path segment")
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for scenario, models in predictions.items():
            if scenario in folders:
                folder = folders[scenario]
            elif "_" in scenario:
                raise ValueError(f"scenario slug {scenario!r} must not contain '_'")
            else:
                folder = f"{track}_{scenario}"
            for (phase, index), scores in models.items():
                path = f"{track}/{folder}/{phase}/model_{index}/prediction.csv"
                scores = np.asarray(scores, dtype=np.float64)
                if scores.ndim != 1:
                    raise ValueError(f"{path}: scores must be 1-d, got shape {scores.shape}")
                bad = np.flatnonzero(~((scores >= 0.0) & (scores <= 1.0)))
                if bad.size:
                    raise ValueError(f"{path}: score {scores[bad[0]]} at {bad[0]} not in [0, 1]")
                archive.writestr(path, ",".join(repr(float(value)) for value in scores) + "\n")
