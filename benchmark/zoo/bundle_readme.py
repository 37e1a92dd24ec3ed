"""The README of a participant bundle, written per track.

The text is built in Python rather than kept as a template file, so the bundle needs no
package data and every figure (scenarios, ε, m, model counts, limits) comes from the track's
:class:`~benchmark.zoo.tracks.TrackSpec`. Its ``python`` blocks run as written in the folder
the bundle was unzipped into (the test suite runs them on a tiny track).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from benchmark.zoo.splits import MANIFEST, POPULATION
from benchmark.zoo.tracks import PRIMARY_METRICS, ScenarioSpec, TrackSpec

README = "README.md"
"""Name of the README at the top of the participant zip."""

_FPR_LEVELS = {
    "TPR_FPR_10": "0.1%",
    "TPR_FPR_100": "1%",
    "TPR_FPR_500": "5%",
    "TPR_FPR_1000": "10%",
    "TPR_FPR_1500": "15%",
    "TPR_FPR_2000": "20%",
}
_OTHER_METRICS = {
    "AUC": "the area under the ROC curve",
    "MIA": "the membership advantage, max(TPR − FPR) over thresholds",
    "accuracy": "the best membership accuracy, max(1 − (FPR + (1 − TPR)) / 2) over thresholds",
}


def metric_description(metric: str) -> str:
    """What a metric key of :data:`~benchmark.zoo.tracks.PRIMARY_METRICS` measures, in words.

    >>> print(metric_description("AUC"))
    AUC, the area under the ROC curve
    """
    if metric in _FPR_LEVELS:
        level = _FPR_LEVELS[metric]
        return (
            f"TPR at FPR < {level} (the highest true-positive rate over thresholds whose "
            f"false-positive rate is strictly below {level})"
        )
    if metric in _OTHER_METRICS:
        return f"{metric}, {_OTHER_METRICS[metric]}"
    raise ValueError(f"metric must be one of {', '.join(PRIMARY_METRICS)}, got {metric!r}")


def _privacy(scenario: ScenarioSpec) -> str:
    if not scenario.private:
        return "ε = ∞ (no differential privacy)"
    return f"DP-SGD, ε = {scenario.epsilon:g}, δ = {scenario.delta:g}, clip {scenario.clip:g}"


def _indices(track: TrackSpec, phase: str) -> str:
    indices = track.models.phase_range(phase)
    if len(indices) == 1:
        return f"`model_{indices[0]}`"
    return f"`model_{indices[0]}` … `model_{indices[-1]}`"


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _folder_pattern(track: TrackSpec) -> str:
    """``<track>_<scenario>``, or ``<folder>`` where a scenario names its own."""
    named = any(s.folder != f"{track.slug}_{s.slug}" for s in track.scenarios)
    return "<folder>" if named else f"{track.slug}_<scenario>"


def _own_data(track: TrackSpec, scenario: ScenarioSpec) -> str:
    """A table cell: the scenario's dataset and architecture where they differ from the
    track's (MICO's DP-distinguisher track), else a dash."""
    own = []
    if scenario.dataset != track.dataset or scenario.dataset_path != track.dataset_path:
        own.append(f"`{scenario.dataset}`")
    if scenario.architecture != track.architecture:
        own.append(f"`{scenario.architecture}`")
    return ", ".join(own) or "—"


def _layout(track: TrackSpec) -> str:
    slug = track.slug
    hidden = "model.pt, seed_challenge" + (", seed_training" if track.reveal_training_seeds else "")
    entries = [
        (README, "this file"),
        (f"{slug}.{MANIFEST}", "the manifest: dataset, sizes, checksum, m, n, scenarios"),
        (f"{slug}.{POPULATION}", "the population: dataset row numbers, one per line"),
        (f"{slug}/", "scenario folders only, as in MICO's archives"),
        (f"  {_folder_pattern(track)}/", ""),
        (
            "    train/model_<i>/",
            "model.pt, seed_challenge, seed_training, seed_membership, solution.csv",
        ),
        ("    dev/model_<i>/", hidden),
        ("    final/model_<i>/", hidden),
    ]
    width = max(len(name) for name, _ in entries) + 2
    return "\n".join((name.ljust(width) + about).rstrip() for name, about in entries)


def _black_box(track: TrackSpec) -> str:
    """How a black-box track's models are queried (empty for a white-box track)."""
    if not track.black_box:
        return ""
    limits = track.limits
    rows = "\n".join(f"| `{s.slug}` | {s.defence.describe()} |" for s in track.scenarios)
    return f"""
## Querying the models (a black-box track)

This bundle holds no weights: the models (train ones included, their membership above) are
queried through the platform, as a prediction API. Each scenario releases its models' outputs
through its defences; `<track>.dataset.json` describes every scenario's architecture and
training recipe (`folders.<folder>.recipe`) and its release (`folders.<folder>.release`).

| scenario | release |
|---|---|
{rows}

`POST /api/v1/tracks/{track.slug}/query/` with `{{"model": "<scenario>/<phase>/<index>",
"inputs": [[...], ...]}}` answers `{{"outputs": [...]}}`: one released probability vector per
input, or one label for a label-only scenario. Any point of the dataset's feature space may be
sent. Each participant may query {limits.queries_per_day:,} rows a UTC day on this track, at
most {limits.query_batch:,} per request; the `X-Query-Budget-Remaining` header says what is
left. In Python (no Django needed):

```python
from attacks.remote import RemoteOracle

oracle = RemoteOracle("https://<platform>", token="<your API token>", track="{track.slug}",
                      model="{track.scenarios[0].slug}/train/0")
released = oracle.query(points.x.numpy())  # shape (N, C), or (N,) labels
```

`attacks.remote.observe_remote` gathers every model's released outputs on the challenge and
population points into the observations every reference attack reads.
"""


def bundle_readme(track: TrackSpec, manifest: Mapping[str, Any]) -> str:
    """The Markdown README of ``track``'s participant bundle.

    Parameters
    ----------
    track : TrackSpec
    manifest : mapping
        The track's ``<track>.dataset.json`` (for the number of records, classes and the
        checksum).

    Returns
    -------
    str
    """
    slug, m = track.slug, track.challenge
    first = track.scenarios[0].folder
    pattern = _folder_pattern(track)
    dataset = manifest["dataset"]
    weights = "" if track.black_box else "`model.pt`, "
    hidden_seeds = (
        f"{weights}`seed_challenge`, `seed_training`"
        if track.reveal_training_seeds
        else f"{weights}`seed_challenge`"
    )
    rows = "\n".join(
        f"| `{s.slug}` | `{slug}/{s.folder}/` | {_privacy(s)} | {_own_data(track, s)} |"
        for s in track.scenarios
    )
    population = (
        f"{track.population:,} dataset rows that no model trains on, listed in "
        f"`{slug}.{POPULATION}` (known non-members, for calibrating attacks)"
        if track.population
        else f"none (as in MICO; `{slug}.{POPULATION}` is empty)"
    )
    if dataset["path"]:
        obtain = (
            f"`load_dataset` reads the file `{dataset['path']}` from the folder you run in, as "
            f"the organizers distribute it; if yours lies elsewhere, pass its path: "
            f'`load_dataset(**{{**manifest["dataset"], "path": "/data/{dataset["path"]}"}})`.'
        )
    else:
        obtain = (
            f"`load_dataset` rebuilds `{dataset['name']}` from its name, size and seed; "
            "nothing is downloaded."
        )
    revealed = (
        "\n`points.training` holds the other rows each model trained on: this track reveals "
        "`seed_training` for dev and final models too (a DP-distinguisher track).\n"
        if track.reveal_training_seeds
        else ""
    )
    limits = track.limits
    return f"""# {track.name} (`{slug}`): participant bundle

A membership-inference challenge in the style of MICO (the Microsoft Membership Inference
Competition). Every model below was trained on {track.training:,} rows of the dataset; for each of
its 2m = {2 * m} challenge points, half of them members of its training set, say how likely the
point is a member.

## The track

- Dataset: `{dataset["name"]}`, {manifest["records"]:,} records, {manifest["num_classes"]} \
classes (SHA-256 of the tensors: `{manifest["checksum_sha256"]}`).
- Architecture: `{track.architecture}`; each `model.pt` is a PyTorch `state_dict`.
- m = {m}: {m} members and {m} non-members among each model's {2 * m} challenge points;
  n = {track.training:,} training rows per model.
- Population: {population}.
- Models per scenario: {track.models.train} train ({_indices(track, "train")}, everything \
revealed), {track.models.dev} dev ({_indices(track, "dev")}, the live leaderboard), \
{track.models.final} final ({_indices(track, "final")}, hidden until the organizers reveal the \
final leaderboard).
- Phases: dev opens {_utc(track.phases.dev_opens)}; the final deadline is \
{_utc(track.phases.final_deadline)}.
- Limits: {limits.per_day} submissions a day and {limits.total:,} in all, \
{limits.invalid_per_day} invalid uploads a day, {limits.max_bytes:,} bytes per zip.

| scenario | folder | training | own dataset, architecture |
|---|---|---|---|
{rows}

## Layout

```
{_layout(track)}
```

`solution.csv` (train models only) is one row of {2 * m} comma-separated 0/1 values, 1 for a
member, in the order of the model's challenge points. Dev and final models hold
{hidden_seeds} and no membership.
{_black_box(track)}
## Rebuilding the challenge points

Install the MIA Arena repository (`pip install` of its checkout; `benchmark.zoo` needs no
database), then, in the folder holding this README:

```python
import json

from benchmark.zoo import challenge_points, load_dataset

with open("{slug}.{MANIFEST}") as file:
    manifest = json.load(file)
data = load_dataset(**manifest["dataset"])
assert data.checksum() == manifest["checksum_sha256"]
points = challenge_points("{slug}/{first}/train/model_0", data)
print(points.x.shape, points.y.shape)  # the {2 * m} challenge points, in prediction order
print(points.membership[:8])  # train models: True for members (solution.csv)
```

{obtain} `challenge_points` redraws a model's split from its seeds as MICO's `ChallengeDataset`
does, over the dataset rows outside the population: `seed_challenge` picks the {2 * m} challenge
points, `seed_membership` (train models) splits them into non-members and members,
`seed_training` picks the other training rows. For dev and final models `points.membership` is
`None`. A scenario with a dataset or architecture of its own (the table above) has them in
`manifest["folders"][<folder>]`, with the same keys as the manifest's top level.
{revealed}
## Writing the prediction zip

For every dev and final model of every scenario, write `prediction.csv`: one row of {2 * m}
comma-separated floats in [0, 1], higher for points more likely members, in the order of
`challenge_points`. The zip holds `{pattern}/<phase>/model_<i>/prediction.csv`, optionally
inside a `{slug}/` folder, for phases `dev` and `final`; a line starting with `#` is a comment.
Folder entries, `__MACOSX/` and dotfiles are ignored; other files (predictions for train
models, notes) are not scored and are listed as notices beside the scores. MICO's starting-kit
loop, here with a loss attack (each model's confidence in the true label):

```python
import os
import zipfile

import torch

from benchmark.zoo.models import architecture

with zipfile.ZipFile("submission.zip", "w") as archive:
    for scenario in sorted(os.listdir("{slug}")):
        facts = manifest["folders"][scenario]  # the scenario's dataset and architecture
        data = load_dataset(**facts["dataset"])
        for phase in ("dev", "final"):
            root = f"{slug}/{{scenario}}/{{phase}}"
            for folder in sorted(os.listdir(root), key=lambda d: int(d.split("_")[1])):
                path = f"{{root}}/{{folder}}"
                points = challenge_points(path, data)
                model = architecture(facts["architecture"])()
                model.load_state_dict(torch.load(f"{{path}}/model.pt", weights_only=True))
                with torch.no_grad():
                    logits = model(points.x)
                loss = torch.nn.functional.cross_entropy(logits, points.y, reduction="none")
                scores = torch.exp(-loss).tolist()  # in [0, 1]
                archive.writestr(f"{{path}}/prediction.csv", ",".join(map(str, scores)) + "\\n")
```

Every reference attack of the platform writes such a zip too:
`python -m attacks predict {slug} lira-offline -o submission.zip` (and `python -m attacks report
{slug}` scores each attack on the train models, half as shadows, half as targets).

## Validating it

```sh
python -m scoring validate submission.zip --bundle .
```

`--bundle` is the folder holding `{slug}/` (this one). It checks every path and value without
any solution, lists every problem with its path and exits with status 0 when the zip is valid.
The platform checks the same on upload; an invalid zip is refused and counts only against the
invalid-upload limit.

## Scoring

For each scenario and phase, the predictions of all models of that scenario are concatenated,
with their solutions, into one ROC curve: one global threshold per scenario over all models, so
make scores comparable across models. The ranking metric is
{metric_description(track.primary)}, averaged over the {len(track.scenarios)} scenarios: on the
dev models for the live leaderboard, on the final models once the organizers reveal the final
leaderboard (final scores stay hidden until then). Only your latest valid submission counts.
Each submission's page also shows TPR at FPR < 0.1%, 1%, 5%, 10%, 15% and 20%, the AUC, MIA =
max(TPR − FPR), the membership accuracy and ROC curves.
"""
