"""Fixture generators: MICO-layout trees and submission zips exactly as MICO's kit writes them.

MICO's starting kit writes each ``prediction.csv`` with ``csv.writer(f).writerow(predictions)``
(one row, ``\\r\\n``-terminated, float32 values as ``str`` prints them) and zips the files with
``zipfile.ZipFile(name, "w").write(path)``: stored (no compression), paths starting with the
track folder, no directory entries. Solutions are one comma-separated row of 0/1.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

Key = tuple[str, str, int]

#: MICO's model indices per phase.
MICO_MODELS: dict[str, range] = {
    "train": range(0, 100),
    "dev": range(100, 150),
    "final": range(150, 200),
}


def _csv_row(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()


def make_labels(
    *,
    scenarios: Sequence[str] = ("inf", "hi", "lo"),
    models: Mapping[str, Iterable[int]] | None = None,
    n_points: int = 200,
    seed: int = 0,
) -> dict[Key, NDArray[np.int64]]:
    """Membership of every model's challenge points: half members, in a random order."""
    rng = np.random.default_rng(seed)
    half = np.repeat([0, 1], n_points // 2)
    models = MICO_MODELS if models is None else models
    return {
        (scenario, phase, model): rng.permutation(half)
        for scenario in scenarios
        for phase, indices in models.items()
        for model in indices
    }


def make_predictions(
    labels: Mapping[Key, NDArray[np.int64]], *, signal: float = 1.0, seed: int = 1
) -> dict[Key, NDArray[np.float32]]:
    """Scores like the kit's loss attack: noisy, min-max normalised to [0, 1], float32."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, membership in labels.items():
        raw = signal * membership + rng.standard_normal(membership.shape[0])
        out[key] = ((raw - raw.min()) / (raw.max() - raw.min())).astype(np.float32)
    return out


def write_mico_tree(
    root: str | Path,
    labels: Mapping[Key, NDArray[np.int64]],
    *,
    track: str = "purchase100",
    solutions: Iterable[str] = ("train", "dev", "final"),
    seeds: bool = False,
) -> Path:
    """Write ``<root>/<track>/<track>_<scenario>/<phase>/model_<i>/``.

    Parameters
    ----------
    root : path
    labels : mapping
        ``(scenario, phase, model) -> membership``, as from :func:`make_labels`.
    track : str
    solutions : iterable of str
        Phases whose models get a ``solution.csv`` (MICO's ``ref/``: dev or final; a
        participant bundle: train only).
    seeds : bool
        Also write ``seed_challenge`` (every model) and ``seed_training``/``seed_membership``
        (train models), as in a participant bundle.

    Returns
    -------
    Path
        The track folder.
    """
    with_solution = set(solutions)
    for index, ((scenario, phase, model), membership) in enumerate(labels.items()):
        folder = Path(root) / track / f"{track}_{scenario}" / phase / f"model_{model}"
        folder.mkdir(parents=True, exist_ok=True)
        if phase in with_solution:
            (folder / "solution.csv").write_text(_csv_row(membership.tolist()), newline="")
        if seeds:
            (folder / "seed_challenge").write_text(str(1000 + index))
            if phase == "train":
                (folder / "seed_training").write_text(str(2000 + index))
                (folder / "seed_membership").write_text(str(3000 + index))
    return Path(root) / track


def prediction_csv(values: Iterable[object]) -> bytes:
    """A ``prediction.csv`` as the kit writes it: one ``csv.writer`` row."""
    return _csv_row(values).encode()


def make_predictions_zip(
    predictions: Mapping[Key, Sequence[object] | NDArray[np.generic]],
    *,
    track: str = "purchase100",
    phases: Iterable[str] = ("dev", "final"),
    prefix: bool = True,
    compression: int = zipfile.ZIP_STORED,
) -> bytes:
    """A submission zip, entries as MICO's kit adds them (sorted by model within a phase).

    Parameters
    ----------
    predictions : mapping
        ``(scenario, phase, model) -> values``.
    track : str
    phases : iterable of str
        Phases to include (the kit zips dev and final).
    prefix : bool
        Start paths with ``<track>/`` (the kit does); without it, the accepted variant.
    compression : int
        ``zipfile.ZIP_STORED`` as the kit, or ``ZIP_DEFLATED``.

    Returns
    -------
    bytes
    """
    wanted = set(phases)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for (scenario, phase, model), values in sorted(predictions.items()):
            if phase not in wanted:
                continue
            path = f"{track}_{scenario}/{phase}/model_{model}/prediction.csv"
            info = zipfile.ZipInfo(f"{track}/{path}" if prefix else path, (2023, 1, 26, 12, 0, 0))
            info.external_attr = 0o100644 << 16
            info.compress_type = compression
            archive.writestr(info, prediction_csv(values))
    return buffer.getvalue()
