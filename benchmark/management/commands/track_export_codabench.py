"""``python manage.py track_export_codabench <slug> <out.zip>``: a Codabench competition bundle.

The bundle runs a built track on Codabench (or its dev phase on any CodaLab-style platform)
with MICO's scoring program, ours (:mod:`scoring.codalab`)::

    competition.yaml           Codabench's version 2: pages, two phases, two tasks, a leaderboard
    logo.png  terms.md  overview.md  evaluation.md  data.md
    scoring_program.zip        score.py + a copy of the scoring package + plotly.min.js;
                               metadata.yaml (Codabench) and metadata (CodaLab) run
                               python3 score.py INPUT OUTPUT
    reference_data_dev.zip     <track>/<track>_<scenario>/dev/model_<i>/solution.csv
    reference_data_final.zip   the same for the final models

The keys of ``competition.yaml`` are those Codabench documents (its "YAML Structure" and
"Competition Bundle Structure" pages) and its version-2 unpacker reads
(``src/apps/competitions/unpackers/v2.py`` in codalab/codabench). The scoring program needs
an image with Python 3.11 or later, numpy and scipy (``--docker-image``; Codabench's default,
``codalab/codalab-legacy:py37``, has Python 3.7 and cannot run it).
"""

import datetime as dt
import io
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser

from benchmark.models import Phase, Scenario, Track
from benchmark.services import io as arena_io
from scoring.codalab import MICO_AVERAGE, program_files

#: Codabench's own image with Python 3.12, numpy and scipy (codalab/codalab-dockers).
DEFAULT_IMAGE = "codalab/codalab-legacy:py312"
#: Fixed entry times, so the same track exports the same bytes.
ENTRY_TIME = (2023, 1, 26, 0, 0, 0)
#: The leaderboard's submission rule for each of the track's final rules ("selected": the
#: participant puts the submissions they choose on the leaderboard).
SUBMISSION_RULES = {
    Track.Final.LATEST: "Force_Last",
    Track.Final.BEST_DEV: "Force_Best",
    Track.Final.SELECTED: "Add_And_Delete_Multiple",
}
#: The same rule in the words of the evaluation page.
FINAL_WORDS = {
    Track.Final.LATEST: "latest submission",
    Track.Final.BEST_DEV: "best submission on dev",
    Track.Final.SELECTED: "best submission on final among those they select",
}
PHASES = ((Phase.DEV.value, "Development"), (Phase.FINAL.value, "Final"))

TERMS = """# Terms

By taking part you agree to submit only predictions your team made, to keep one account per
team, and not to try to obtain the membership of dev or final challenge points by any means
other than the attack you submit. The organizers may disqualify entries that break these terms.
"""


def _when(moment: dt.datetime) -> str:
    """A datetime as Codabench reads a phase's ``start``/``end``: ``YYYY-MM-DD HH:MM:SS`` in UTC.

    It must stay a string in the YAML: Codabench turns a YAML timestamp into midnight of its
    day (``get_datetime`` treats every ``date`` as a day), but parses a string fully.
    """
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _metric_label(key: str) -> str:
    if key.startswith("TPR_FPR_"):
        return f"TPR@{int(key.removeprefix('TPR_FPR_')) / 100:g}%FPR"
    return key


def _epsilon(scenario: Scenario) -> str:
    return "∞" if scenario.epsilon is None else f"{scenario.epsilon:g}"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            info = zipfile.ZipInfo(name, ENTRY_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def _logo_png(size: int = 64) -> bytes:
    """A plain square PNG (Codabench requires an image): the arena's blue."""
    row = b"\x00" + bytes((0x00, 0x72, 0xB2)) * size
    pixels = zlib.compress(row * size)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def reference_data(track: Track, scenarios: list[Scenario]) -> dict[str, dict[str, bytes]]:
    """Per phase, the files of MICO's ``ref/``: every model's ``solution.csv`` of that phase.

    Raises
    ------
    CommandError
        Naming every missing or malformed solution (read as the scorer reads them).
    """
    expected = arena_io.expected_for_track(track=track, scenarios=[s.slug for s in scenarios])
    try:
        arena_io.read_labels(track=track, expected=expected)
    except ValueError as error:
        raise CommandError(str(error)) from error
    root = arena_io.solutions_dir(track=track).parent
    files: dict[str, dict[str, bytes]] = {}
    for scenario, phase, model in expected.model_keys():
        name = f"{expected.folder(scenario, phase, model)}/solution.csv"
        files.setdefault(phase, {})[name] = (root / name).read_bytes()
    return files


def competition(track: Track, scenarios: list[Scenario], *, docker_image: str) -> dict[str, Any]:
    """The ``competition.yaml`` of ``track``, as a mapping."""
    primary = track.primary
    label = _metric_label(primary)
    # The scorer numbers scenarios by sorted folder name, as MICO's did.
    folders = arena_io.scenario_folders(track=track)
    by_folder = sorted(scenarios, key=lambda s: folders.get(s.slug, f"{track.slug}_{s.slug}"))
    numbers = {s.slug: k for k, s in enumerate(by_folder, 1)}
    average = MICO_AVERAGE if primary == MICO_AVERAGE else primary
    columns = [
        {
            "title": f"Average {label}",
            "key": f"average_{average}",
            "index": 0,
            "sorting": "desc",
            "precision": 4,
        },
        *(
            {
                "title": f"{scenario.slug} (ε = {_epsilon(scenario)}): {label}",
                "key": f"scenario{numbers[scenario.slug]}_{primary}",
                "index": position,
                "sorting": "desc",
                "precision": 4,
            }
            for position, scenario in enumerate(scenarios, 1)
        ),
    ]
    limits = {"max_submissions_per_day": track.per_day, "max_submissions": track.total}
    return {
        "version": 2,
        "title": track.name,
        "description": (
            f"Membership inference on {track.name}: {len(scenarios)} scenarios of models that "
            "differ only in the privacy of their training; predict which challenge points "
            "each model trained on. In the style of MICO (SaTML 2023)."
        ),
        "image": "logo.png",
        "terms": "terms.md",
        "docker_image": docker_image,
        "enable_detailed_results": True,
        "pages": [
            {"title": "Overview", "file": "overview.md"},
            {"title": "Evaluation", "file": "evaluation.md"},
            {"title": "Data", "file": "data.md"},
            {"title": "Terms", "file": "terms.md"},
        ],
        "phases": [
            {
                "index": 0,
                "name": "Development",
                "description": (
                    "Submit predictions for every dev and final model; the leaderboard shows "
                    "the scores on the dev models."
                ),
                "start": _when(track.dev_opens),
                "end": _when(track.final_deadline),
                **limits,
                "tasks": [0],
            },
            {
                "index": 1,
                "name": "Final",
                "description": (
                    "The submissions of the development phase move here when it starts and "
                    "are scored on the final models, which decide the ranking."
                ),
                "start": _when(track.final_deadline),
                "auto_migrate_to_this_phase": True,
                **limits,
                "tasks": [1],
            },
        ],
        "tasks": [
            {
                "index": index,
                "name": f"{track.slug}: {phase} models",
                "description": f"Scores the predictions for the {phase} models.",
                "scoring_program": "scoring_program.zip",
                "reference_data": f"reference_data_{phase}.zip",
            }
            for index, (phase, _) in enumerate(PHASES)
        ],
        "leaderboards": [
            {
                "title": "Results",
                "key": "main",
                "submission_rule": SUBMISSION_RULES[Track.Final(track.final)],
                "columns": columns,
            }
        ],
    }


def pages(track: Track, scenarios: list[Scenario], *, data_url: str) -> dict[str, str]:
    """The markdown pages of the bundle, but the terms."""
    indices = arena_io.model_indices(track=track)
    counts = {phase: len(indices[phase]) for phase in ("train", "dev", "final")}
    folders = arena_io.scenario_folders(track=track)
    rows = "\n".join(
        f"| `{folders.get(s.slug, f'{track.slug}_{s.slug}')}` | {_epsilon(s)} "
        f"| {'—' if s.delta is None else s.delta} |"
        for s in scenarios
    )
    label = _metric_label(track.primary)
    where = f"Download it from {data_url}." if data_url else "The organizers publish it here."
    overview = f"""# {track.name}

Membership inference in the style of MICO (SaTML 2023). Each scenario has its own zoo of
models: {counts["train"]} train models (everything revealed), {counts["dev"]} dev models and
{counts["final"]} final models. Each model has {2 * track.challenge} challenge points, half of
them members of its training set. Predict, for every challenge point of every dev and final
model, how likely it is a member.

| scenario | ε | δ |
| --- | --- | --- |
{rows}
"""
    evaluation = f"""# Evaluation

A submission is a zip of `{track.slug}/<folder>/<phase>/model_<i>/prediction.csv`
for every dev and final model of every scenario, `<folder>` the scenario's folder in the table
above (the leading `{track.slug}/` may be left out):
one row of {2 * track.challenge} comma-separated numbers in [0, 1], in the order of that
model's challenge points; a `#` starts a comment, to the end of its line. Other files
(predictions for train models, a README) are not scored and do not refuse the submission.

For each scenario, every model's predictions are pooled and scored with one threshold, as MICO
scored them: TPR at FPR below 0.1%, 1%, 5%, 10%, 15% and 20%, AUC, MIA (max TPR − FPR) and
balanced accuracy. The ranking is the mean of {label} over the scenarios, on the dev models
during the development phase and on the final models in the final phase; only a participant's
{FINAL_WORDS[Track.Final(track.final)]} counts. Each
submission's detailed results show ROC curves, 95% bootstrap intervals and empirical lower
bounds on ε.

At most {track.per_day} submissions a day and {track.total} in all.
"""
    data = f"""# Data

The participant bundle of this track holds `{track.slug}/` with one folder per scenario,
`<folder>/<phase>/model_<i>/`: `model.pt` (the weights), `seed_challenge`, and for
train models `seed_training`, `seed_membership` and `solution.csv`; beside it
`{track.slug}.dataset.json` says which dataset the challenge points come from and how to
rebuild them from the seeds.

{where}
"""
    return {"overview.md": overview, "evaluation.md": evaluation, "data.md": data}


class Command(BaseCommand):
    help = (
        "Write a Codabench competition bundle of a built track: competition.yaml, the scoring "
        "program and the reference data of each phase."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("out", type=Path, help="the bundle zip to write")
        parser.add_argument(
            "--docker-image",
            default=DEFAULT_IMAGE,
            help="image of the scoring runs: Python 3.11+ with numpy and scipy "
            f"(default {DEFAULT_IMAGE})",
        )
        parser.add_argument("--terms", type=Path, help="terms of participation (markdown)")
        parser.add_argument("--logo", type=Path, help="competition logo (PNG)")
        parser.add_argument("--data-url", default="", help="where participants get the bundle")

    def handle(self, *args: Any, **options: Any) -> None:
        track = Track.objects.filter(slug=options["slug"]).first()
        if track is None:
            raise CommandError(f"no track {options['slug']!r}")
        if track.build_status != Track.BuildStatus.READY:
            raise CommandError(f"the zoo of {track.slug} is not built ({track.build_status})")
        scenarios = list(track.scenarios.order_by("position"))
        try:
            terms = options["terms"].read_text(encoding="utf-8") if options["terms"] else TERMS
            logo = options["logo"].read_bytes() if options["logo"] else _logo_png()
        except OSError as error:
            raise CommandError(str(error)) from error
        document = competition(track, scenarios, docker_image=options["docker_image"])
        files = {
            "competition.yaml": yaml.safe_dump(
                document, sort_keys=False, allow_unicode=True
            ).encode(),
            "logo.png": logo,
            "terms.md": terms.encode(),
            **{
                name: text.encode()
                for name, text in pages(track, scenarios, data_url=options["data_url"]).items()
            },
            "scoring_program.zip": _zip(program_files(primary=track.primary)),
        }
        for phase, files_of_phase in reference_data(track, scenarios).items():
            files[f"reference_data_{phase}.zip"] = _zip(files_of_phase)
        out: Path = options["out"]
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(_zip(files))
        except OSError as error:
            raise CommandError(f"cannot write {out}: {error}") from error
        self.stdout.write(
            f"{out}: Codabench bundle of {track.slug} ({len(scenarios)} scenarios, phases "
            f"Development from {_when(track.dev_opens)} and Final from "
            f"{_when(track.final_deadline)} UTC; scoring image {options['docker_image']})"
        )
