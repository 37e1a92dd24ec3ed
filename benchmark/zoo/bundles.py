"""Bundle layout (MICO's), atomic writes and the participant zip.

Participant tree (downloadable)::

    <out>/<track>.README.md                    how to use the bundle (README.md in the zip)
    <out>/<track>.dataset.json                 manifest: dataset, sizes, checksum, seeds
    <out>/<track>.population.csv               public population rows, one per line
    <out>/<track>/<track>_<scenario>/<phase>/model_<i>/
        model.pt           state_dict
        seed_challenge
        seed_training      train models, and dev/final when the track reveals it
        seed_membership    train models only
        solution.csv       train models only: one row of comma-separated 0/1

``<track>/`` holds scenario folders only, as MICO's archives do, so MICO's starting-kit loop
``for scenario in os.listdir("<track>")`` runs unchanged; the manifest and the population
lie beside it (bundles written before kept them inside: :func:`benchmark.zoo.splits.track_files`
reads both). The names carry the track's slug, so one build directory holds many tracks.

Organizer tree (the scorer's ``--solutions``)::

    <out>/solutions/<track>/<track>_<scenario>/<phase>/model_<i>/
        solution.csv       dev and final models
        record.json        every model: seeds, accuracies, ε spent, wall time

Every file is written under a temporary name and renamed, so a file that exists is whole.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from benchmark.zoo.bundle_readme import README, bundle_readme
from benchmark.zoo.splits import TrackFiles
from benchmark.zoo.tracks import TrackSpec

SOLUTIONS = "solutions"
RECORD = "record.json"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; bundles are read by the web server
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def model_dir(out_dir: str | Path, track: TrackSpec, scenario: str, phase: str, index: int) -> Path:
    """Participant directory of one model, ``<out>/<track>/<scenario folder>/<phase>/model_<i>``
    (the folder is ``<track>_<scenario>`` unless the track file names one)."""
    folder = track.scenario(scenario).folder
    return Path(out_dir) / track.slug / folder / phase / f"model_{index}"


def solution_dir(
    out_dir: str | Path, track: TrackSpec, scenario: str, phase: str, index: int
) -> Path:
    """Organizer directory of one model (same layout under ``solutions/``)."""
    folder = track.scenario(scenario).folder
    return Path(out_dir) / SOLUTIONS / track.slug / folder / phase / f"model_{index}"


def participant_files(track: TrackSpec, phase: str) -> tuple[str, ...]:
    """Files a model directory holds in the participant tree for ``phase``."""
    if phase == "train":
        return ("model.pt", "seed_challenge", "seed_training", "seed_membership", "solution.csv")
    if track.reveal_training_seeds:
        return ("model.pt", "seed_challenge", "seed_training")
    return ("model.pt", "seed_challenge")


def organizer_files(phase: str) -> tuple[str, ...]:
    """Files a model directory holds in the organizer tree for ``phase``."""
    return (RECORD,) if phase == "train" else ("solution.csv", RECORD)


def state_dict_bytes(state_dict: dict[str, torch.Tensor]) -> bytes:
    """``torch.save`` of a state dict, as bytes."""
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    return buffer.getvalue()


def solution_bytes(membership: torch.Tensor) -> bytes:
    """One row of comma-separated 0/1, in challenge order."""
    return (",".join(str(int(v)) for v in membership.tolist()) + "\n").encode()


def readme_path(out_dir: str | Path, track: str) -> Path:
    """The README of a track in a build directory, ``<out>/<track>.README.md``."""
    return Path(out_dir) / f"{track}.{README}"


def write_track_files(
    track: TrackSpec,
    out_dir: str | Path,
    *,
    manifest: dict[str, Any],
    populations: Mapping[str, torch.Tensor],
) -> None:
    """Write (or rewrite identically) the track's manifest, populations and README.

    They go beside ``<out>/<track>/`` (``populations``: file name to rows, the track's
    ``<track>.population.csv`` and one per scenario with data of its own); copies an older
    build left inside it are removed, so that ``<track>/`` holds scenario folders only.
    """
    if track.slug == SOLUTIONS:
        raise ValueError(f"track slug {SOLUTIONS!r} is reserved for the organizer tree")
    root = Path(out_dir) / track.slug
    files = TrackFiles.beside(root)
    write_atomic(files.manifest, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    for name, population in populations.items():
        rows = "".join(f"{int(i)}\n" for i in population.tolist())
        write_atomic(root.parent / name, rows.encode())
    write_atomic(readme_path(out_dir, track.slug), bundle_readme(track, manifest).encode())
    for stale in TrackFiles.inside(root):
        stale.unlink(missing_ok=True)


def write_model(
    track: TrackSpec,
    record: Any,
    state: dict[str, torch.Tensor],
    membership: torch.Tensor,
    out_dir: str | Path,
) -> None:
    """One model's files: weights and the seeds its phase reveals in the participant tree,
    its solution (dev/final) and ``record.json`` (a :class:`benchmark.zoo.build.ModelRecord`)
    in the organizer tree."""
    where = (track, record.scenario, record.phase, record.index)
    mine, theirs = model_dir(out_dir, *where), solution_dir(out_dir, *where)
    files = {"model.pt": state_dict_bytes(state), "solution.csv": solution_bytes(membership)}
    files |= {f"seed_{kind}": f"{seed}\n".encode() for kind, seed in record.seeds.items()}
    for name in participant_files(track, record.phase):
        write_atomic(mine / name, files[name])
    if record.phase != "train":
        write_atomic(theirs / "solution.csv", files["solution.csv"])
    record_json = json.dumps(record.to_dict(), indent=2, sort_keys=True) + "\n"
    write_atomic(theirs / RECORD, record_json.encode())


def scenario_population_files(manifest: dict[str, Any], files: TrackFiles) -> list[str]:
    """The population files of scenarios with data of their own (beyond the track's)."""
    names = {entry["population_file"] for entry in manifest.get("folders", {}).values()}
    return sorted(names - {files.population.name})


def zip_participant_bundle(track: TrackSpec, out_dir: str | Path, destination: str | Path) -> Path:
    """Zip the participant tree of ``track`` for download (no dev/final membership).

    The zip holds ``README.md``, ``<track>.dataset.json`` and ``<track>.population.csv``
    beside ``<track>/``, which holds the scenario folders only. A black-box track's zip holds
    no ``model.pt``: seeds, train solutions and the manifest's recipe only.

    Parameters
    ----------
    track : TrackSpec
    out_dir : str or Path
        The build directory.
    destination : str or Path
        The zip file to write (atomically).

    Returns
    -------
    Path
        ``destination``.

    Raises
    ------
    ValueError
        If the track is not built (no manifest beside ``<track>/``, or a scenario folder
        missing), or a dev/final model directory holds membership information (never written
        by :mod:`benchmark.zoo.build`; checked anyway).
    """
    root = Path(out_dir) / track.slug
    files = TrackFiles.beside(root)
    for path in files:
        if not path.is_file():
            raise ValueError(f"{root} is not a built track (no {path.name} beside it)")
    manifest = json.loads(files.manifest.read_text())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(README, bundle_readme(track, manifest))
        for path in files:
            archive.write(path, path.name)
        for name in scenario_population_files(manifest, files):
            archive.write(root.parent / name, name)
        for scenario in track.scenarios:
            folder = root / scenario.folder
            if not folder.is_dir():
                raise ValueError(f"{folder} is missing: the track is not built")
            for path in sorted(folder.rglob("*")):
                if not path.is_file() or path.name.startswith("."):
                    continue
                relative = path.relative_to(root.parent)
                phase = relative.parts[2]
                if path.name == "model.pt" and track.black_box:
                    continue  # participants query a black-box track's models, never hold them
                if phase in ("dev", "final"):
                    if path.name in ("seed_membership", "solution.csv"):
                        raise ValueError(f"{relative} leaks membership of a {phase} model")
                    if path.name == "seed_training" and not track.reveal_training_seeds:
                        raise ValueError(f"{relative}: the track does not reveal training seeds")
                archive.write(path, relative.as_posix())
    destination = Path(destination)
    write_atomic(destination, buffer.getvalue())
    return destination
