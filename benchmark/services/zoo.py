"""Building a track's zoo on Celery: one task per chunk of models, then the bundle.

The heavy lifting is the pure :mod:`benchmark.zoo` library (imported inside the functions, so
the web process never loads torch); this module records what it built
(``ZooModel`` rows, progress) and decides, under a row lock, which task finishes the build.
"""

import hashlib
from typing import Any

from django.conf import settings
from django.db import transaction

from benchmark.models import Scenario, Track, ZooModel
from benchmark.services import io
from benchmark.services.baselines import attack_enqueue, baselines_for
from benchmark.services.compute import worker_compute
from benchmark.services.files import zoo_pull, zoo_push
from benchmark.services.jobs import job_enqueue
from benchmark.services.tracks import track_spec


def zoo_build_queue(*, track: Track) -> bool:
    """Queue (or resume) the zoo build of a track that is not ready; chunks whose files are
    complete are skipped, so this only redoes what was lost. Returns whether it queued."""
    if track.build_status == Track.BuildStatus.READY:
        return False
    from benchmark import tasks

    job_enqueue(task=tasks.zoo_build_track, args=[track.pk], key=f"zoo:{track.pk}")
    return True


def zoo_build_start(*, track_id: int) -> int:
    """Mark the track as building; returns how many chunks its plan has (0: nothing to do)."""
    from benchmark.zoo import build as zoo_build

    with transaction.atomic():
        track = Track.objects.select_for_update().get(pk=track_id)
        if track.build_status == Track.BuildStatus.READY:
            return 0
        track.build_status = Track.BuildStatus.BUILDING
        track.build_message = ""
        track.save(update_fields=["build_status", "build_message"])
    return len(zoo_build.plan(track_spec(track=track)))


def zoo_build_fan_out(*, track_id: int) -> int:
    """Start (or resume) a build: one ``zoo_build_chunk`` job per chunk, in one transaction.
    Chunks whose files are complete are skipped by the library, so a resume redoes only what
    was lost. Returns how many chunk jobs were queued."""
    from benchmark import tasks

    chunks = zoo_build_start(track_id=track_id)
    with transaction.atomic():
        for chunk_index in range(chunks):
            job_enqueue(
                task=tasks.zoo_build_chunk,
                args=[track_id, chunk_index],
                key=f"chunk:{track_id}:{chunk_index}",
            )
    return chunks


def _record_models(track: Track, records: list[Any]) -> None:
    scenarios = {scenario.slug: scenario for scenario in track.scenarios.all()}
    with transaction.atomic():
        for record in records:
            scenario = scenarios[record.scenario]
            ZooModel.objects.update_or_create(
                scenario=scenario,
                phase=record.phase,
                index=record.index,
                defaults={
                    "seeds": dict(record.seeds),
                    "train_accuracy": record.train_acc,
                    "eval_accuracy": record.eval_acc,
                    "epsilon_spent": record.epsilon_spent,
                    "wall_seconds": record.wall_s,
                    "dtype": record.dtype,
                    "device": record.device,
                    "path": io.model_path(
                        track=track,
                        scenario=record.scenario,
                        phase=record.phase,
                        index=record.index,
                    ),
                },
            )
            if record.noise_multiplier is not None and scenario.noise_multiplier is None:
                Scenario.objects.filter(pk=scenario.pk).update(
                    noise_multiplier=record.noise_multiplier
                )
        locked = Track.objects.select_for_update().get(pk=track.pk)
        locked.models_built = ZooModel.objects.filter(scenario__track=locked).count()
        locked.save(update_fields=["models_built"])


def zoo_build_chunk(*, track_id: int, chunk_index: int) -> None:
    """Train one chunk (skipped by the library when its files are complete), record it, and
    finish the build if it was the last one."""
    from benchmark.zoo import build as zoo_build

    track = Track.objects.get(pk=track_id)
    if track.build_status != Track.BuildStatus.BUILDING:
        return
    spec = track_spec(track=track)
    chunk = zoo_build.plan(spec)[chunk_index]
    records = list(zoo_build.build_chunk(spec, chunk, io.zoo_root(), compute=worker_compute()))
    zoo_push(track=track, parts=("participant", "solutions"))
    _record_models(track, records)
    zoo_finalize(track_id=track_id)


def zoo_import_run(*, track_id: int, release: str, solutions: str) -> None:
    """Copy a checked release into the zoo (weights, seeds, solutions, records), record its
    models and finish the track as a build would; a release that turns out not to match (its
    seeds against the dataset) fails the track with every problem."""
    from pathlib import Path

    from benchmark.zoo.importer import Release, ReleaseError, import_release

    track = Track.objects.get(pk=track_id)
    if track.build_status != Track.BuildStatus.BUILDING:
        return
    spec = track_spec(track=track)
    try:
        records = import_release(spec, Release(Path(release), Path(solutions)), io.zoo_root())
    except ReleaseError as error:
        zoo_build_fail(track_id=track_id, message=f"import: {error}")
        return
    zoo_push(track=track, parts=("participant", "solutions"))
    _record_models(track, records)
    zoo_finalize(track_id=track_id)


def _fingerprint(track: Track) -> str:
    digest = hashlib.sha256(track.spec_text.encode())
    for seeds in (
        ZooModel.objects.filter(scenario__track=track)
        .order_by("scenario__position", "index")
        .values_list("seeds", flat=True)
    ):
        digest.update(repr(sorted(seeds.items())).encode())
    return digest.hexdigest()


def zoo_finalize(*, track_id: int) -> bool:
    """Once every model is recorded: write the participant bundle, mark the track ready and
    queue its baselines. Exactly one caller does it (row lock + status check)."""
    from benchmark.zoo.bundles import zip_participant_bundle

    with transaction.atomic():
        track = Track.objects.select_for_update().get(pk=track_id)
        if track.build_status != Track.BuildStatus.BUILDING:
            return False
        if track.models_built < track.models_total:
            return False
        name = f"bundles/{track.slug}.zip"
        zoo_pull(track=track, parts=("participant",))  # chunks trained on other machines
        bundle = zip_participant_bundle(
            track_spec(track=track), io.zoo_root(), io.zoo_root() / name
        )
        write_checksum(bundle)
        zoo_push(track=track, parts=("bundle",))
        track.bundle.name = name
        track.zoo_fingerprint = _fingerprint(track)
        track.build_status = Track.BuildStatus.READY
        track.save(update_fields=["bundle", "zoo_fingerprint", "build_status"])
        for attack in baselines_for(track=track, names=list(settings.ARENA_AUTO_BASELINES)):
            attack_enqueue(track_id=track.pk, attack=attack)
    return True


def write_checksum(path: Any) -> str:
    """``<path>.sha256`` beside a bundle (what downloads are checked against)."""
    from pathlib import Path

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    Path(f"{path}.sha256").write_text(f"{digest.hexdigest()}\n")
    return digest.hexdigest()


def zoo_build_fail(*, track_id: int, message: str) -> None:
    Track.objects.filter(pk=track_id).exclude(build_status=Track.BuildStatus.READY).update(
        build_status=Track.BuildStatus.FAILED, build_message=message[:2000]
    )
