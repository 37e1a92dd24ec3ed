"""Factories for the competition's rows, and tiny built tracks whose files are written to disk.

A "ready" track here has no trained weights: scoring only needs the organizer-only solutions
(``solution.csv`` per dev/final model), which :func:`ready_track` writes with a seeded RNG.
"""

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import cast

import factory
import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from benchmark.models import Scenario, Track
from benchmark.services.zoo import write_checksum

TRACK_TOML = """\
slug = "{slug}"
name = "Tiny {slug}"
dataset = "digits"
population = 100
architecture = "cnn-digits"
challenge = {m}
training_size = {n}
models = {{ train = {train}, dev = {dev}, final = {final} }}
chunk = {chunk}
primary = "TPR_FPR_1000"

[training]
optimizer = "adam"
lr = 0.001
epochs = {epochs}
batch = 64
lr_step = 5
lr_gamma = 0.9
dtype = "float32"

[limits]
per_day = {per_day}
total = {total}
invalid_per_day = {invalid_per_day}
max_bytes = {max_bytes}

[phases]
dev_opens = {dev_opens}
final_deadline = {final_deadline}

[[scenario]]
slug = "inf"
epsilon = "inf"
"""
DP_SCENARIO = """
[[scenario]]
slug = "lo"
epsilon = 4.0
delta = 1e-5
clip = 2.6
"""


def track_toml(
    slug: str = "tiny",
    *,
    m: int = 10,
    n: int = 200,
    train: int = 2,
    dev: int = 4,
    final: int = 4,
    chunk: int = 4,
    epochs: int = 1,
    per_day: int = 5,
    total: int = 20,
    invalid_per_day: int = 3,
    max_bytes: int = 200_000,
    dev_opens: dt.datetime | None = None,
    final_deadline: dt.datetime | None = None,
    dp: bool = True,
) -> str:
    """A tiny track file: scenario ``inf`` and, with ``dp``, ``lo`` (ε = 4)."""
    now = timezone.now().replace(microsecond=0)
    opens = dev_opens or now - dt.timedelta(days=1)
    deadline = final_deadline or now + dt.timedelta(days=30)
    return TRACK_TOML.format(
        slug=slug,
        m=m,
        n=n,
        train=train,
        dev=dev,
        final=final,
        chunk=chunk,
        epochs=epochs,
        per_day=per_day,
        total=total,
        invalid_per_day=invalid_per_day,
        max_bytes=max_bytes,
        dev_opens=opens.isoformat().replace("+00:00", "Z"),
        final_deadline=deadline.isoformat().replace("+00:00", "Z"),
    ) + (DP_SCENARIO if dp else "")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda i: f"user{i}")
    password = factory.django.Password("pw-for-tests-1")


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda i: f"organizer{i}")
    is_staff = True


def _labels(rng: np.random.Generator, m: int) -> np.ndarray:
    labels = np.zeros(2 * m, dtype=int)
    labels[rng.permutation(2 * m)[:m]] = 1
    return labels


def ready_track(
    slug: str = "tiny",
    *,
    seed: int = 0,
    final_rule: str = "latest",
    m: int = 10,
    train: int = 2,
    dev: int = 4,
    final: int = 4,
    per_day: int = 5,
    total: int = 20,
    invalid_per_day: int = 3,
    max_bytes: int = 200_000,
    dev_opens: dt.datetime | None = None,
    final_deadline: dt.datetime | None = None,
) -> Track:
    """A built track: rows, scenarios, solutions and a bundle on disk under ARENA_ZOO_ROOT.

    The rows are written directly (no zoo build): scoring needs only the solutions.
    """
    now = timezone.now()
    root = Path(settings.ARENA_ZOO_ROOT)
    bundle = root / "bundles" / f"{slug}.zip"
    bundle.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr(f"{slug}/README.txt", "tiny bundle")
    write_checksum(bundle)
    scenarios = (("inf", None, None, None), ("lo", 4.0, 1e-5, 2.6))
    per_phase = train + dev + final
    track = Track.objects.create(
        slug=slug,
        name=f"Tiny {slug}",
        spec_text=track_toml(slug, m=m, train=train, dev=dev, final=final),
        spec={"models": {"train": train, "dev": dev, "final": final}, "challenge": m},
        final=final_rule,
        dev_opens=dev_opens or now - dt.timedelta(days=1),
        final_deadline=final_deadline or now + dt.timedelta(days=30),
        per_day=per_day,
        total=total,
        invalid_per_day=invalid_per_day,
        max_bytes=max_bytes,
        challenge=m,
        build_status=Track.BuildStatus.READY,
        models_total=per_phase * len(scenarios),
        models_built=per_phase * len(scenarios),
        bundle=f"bundles/{slug}.zip",
        zoo_fingerprint="test",
    )
    rng = np.random.default_rng(seed)
    for position, (scenario, epsilon, delta, clip) in enumerate(scenarios):
        Scenario.objects.create(
            track=track, slug=scenario, position=position, epsilon=epsilon, delta=delta, clip=clip
        )
        for phase, indices in (
            ("dev", range(train, train + dev)),
            ("final", range(train + dev, per_phase)),
        ):
            for index in indices:
                folder = root / "solutions" / slug / f"{slug}_{scenario}" / phase
                folder = folder / f"model_{index}"
                folder.mkdir(parents=True, exist_ok=True)
                labels = _labels(rng, m)
                (folder / "solution.csv").write_text(",".join(map(str, labels)) + "\n")
    return track


def solutions(track: Track) -> dict[tuple[str, str, int], np.ndarray]:
    """The labels :func:`ready_track` wrote, per (scenario, phase, model)."""
    root = Path(settings.ARENA_ZOO_ROOT) / "solutions" / track.slug
    found = {}
    for path in root.glob("*/*/model_*/solution.csv"):
        scenario = path.parts[-4].split("_", 1)[1]
        found[(scenario, path.parts[-3], int(path.parts[-2][6:]))] = np.array(
            [int(v) for v in path.read_text().strip().split(",")]
        )
    return found


def submission_zip(track: Track, *, skill: float = 1.0, seed: int = 0) -> bytes:
    """A valid submission: scores = sigmoid(skill * (2 * label - 1) + noise)."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for (scenario, phase, index), labels in sorted(solutions(track).items()):
            logits = skill * (2 * labels - 1) + rng.normal(size=labels.shape)
            scores = 1 / (1 + np.exp(-logits))
            path = f"{track.slug}/{track.slug}_{scenario}/{phase}/model_{index}/prediction.csv"
            archive.writestr(path, ",".join(f"{v:.6f}" for v in scores) + "\n")
    return buffer.getvalue()


def broken_zip(track: Track) -> bytes:
    """A zip with two problems: a value outside [0, 1] and a stray file."""
    data = io.BytesIO(submission_zip(track))
    out = io.BytesIO()
    with zipfile.ZipFile(data) as source, zipfile.ZipFile(out, "w") as archive:
        names = sorted(source.namelist())
        for name in names:
            content = source.read(name)
            if name == names[0]:
                content = b"1.5," + content.split(b",", 1)[1]
            archive.writestr(name, content)
        archive.writestr(f"{track.slug}/notes.txt", "hello")
    return out.getvalue()


def make_user(**fields: object) -> User:
    """A participant (the factory, typed for callers)."""
    return cast(User, UserFactory(**fields))


def make_staff(**fields: object) -> User:
    """An organizer."""
    return cast(User, StaffFactory(**fields))
