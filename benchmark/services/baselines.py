"""Reference attacks run over a track's zoo and filed as baseline submissions.

The attacks library is imported inside the functions: it loads torch and scikit-learn, which
the web process does not need.
"""

import io as stdio

from django.contrib.auth.models import User

from benchmark.errors import ApplicationError, NotReady
from benchmark.models import Access, AnyUser, Submission, Track
from benchmark.services import io
from benchmark.services.compute import worker_compute
from benchmark.services.files import zoo_pull
from benchmark.services.jobs import job_enqueue
from benchmark.services.submissions import submission_create
from benchmark.services.tracks import track_spec

#: Perturbed copies per point of the label-only baseline (Choquette-Choo et al. used 100s;
#: 30 keeps a baseline to seconds on a CPU worker, see attacks.label_only.COPIES).
ROBUSTNESS_COPIES = 30


def baselines_for(*, track: Track, names: list[str]) -> list[str]:
    """The reference attacks of ``names`` (``all``: every one) that can run on ``track``: a
    black-box track's baselines see what participants see, so none reads the weights."""
    import attacks

    chosen = sorted(attacks.REGISTRY) if "all" in names else [name for name in names if name]
    if track.access == Access.BLACK_BOX:
        chosen = [name for name in chosen if not attacks.get(name).white_box]
    return chosen


def attack_queue(*, track: Track, attack: str, by: AnyUser | None) -> None:
    """Queue ``attack`` on ``track`` (the ``attacks`` queue); its result becomes a baseline."""
    import attacks

    if attack not in attacks.REGISTRY:
        known = ", ".join(sorted(attacks.REGISTRY))
        raise ApplicationError(f"unknown attack {attack!r}; known: {known}")
    if track.build_status != Track.BuildStatus.READY:
        raise NotReady(f"the zoo of {track.slug} is not built yet ({track.build_status})")
    if attacks.get(attack).white_box and track.access == Access.BLACK_BOX:
        raise ApplicationError(
            f"{attack} reads the models' weights; {track.slug} is a black-box track, whose "
            "participants see only the released outputs"
        )
    by_id = by.pk if isinstance(by, User) else None
    attack_enqueue(track_id=track.pk, attack=attack, by_id=by_id)


def attack_enqueue(*, track_id: int, attack: str, by_id: int | None = None) -> None:
    """Queue one run of ``attack`` on a track (coalesced while one waits)."""
    from benchmark import tasks

    job_enqueue(
        task=tasks.run_attack, args=[track_id, attack, by_id], key=f"attack:{track_id}:{attack}"
    )


def attack_run(*, track_id: int, attack: str, by_id: int | None) -> Submission:
    """Compute observations per scenario, run the attack, file the zip as a baseline."""
    import attacks

    track = Track.objects.get(pk=track_id)
    spec = track_spec(track=track)
    chosen = attacks.get(attack)
    zoo_pull(track=track, parts=("participant",))
    device = worker_compute().device
    # gradients and robustness only for the attacks that read them (both cost forward passes)
    options = {
        "gradients": chosen.white_box,
        "robustness": ROBUSTNESS_COPIES if chosen.needs_robustness else 0,
        "device": device,
    }
    predictions = {
        scenario.slug: attacks.run(
            attack, attacks.observe_zoo(spec, scenario.slug, root=io.zoo_root(), **options)
        )
        for scenario in spec.scenarios
    }
    buffer = stdio.BytesIO()
    folders = {scenario.slug: scenario.folder for scenario in spec.scenarios}
    attacks.write_submission_zip(predictions, buffer, track=track.slug, folders=folders)
    user = User.objects.filter(pk=by_id).first() if by_id is not None else None
    return submission_create(
        track=track, user=user, upload=buffer.getvalue(), filename=f"{attack}.zip", attack=attack
    )
