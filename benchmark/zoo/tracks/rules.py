"""The value rules of track files, each declared once with the sentence its failure reads as.

Every key's type is an ``Annotated`` pydantic type whose :func:`rule` turns any failure into
one sentence (``must be an integer >= 1, got 0``); :func:`sentences` turns a pydantic
``ValidationError`` into such sentences prefixed by the key path (``scenario[1].epsilon``).
Pydantic's own messages ("Input should be greater than or equal to 1") never reach a reader.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Literal, get_args

from annotated_types import Ge, Gt, Lt
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Strict,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

SLUG_RE = re.compile(r"[a-z0-9-]+")
FOLDER_RE = re.compile(r"[a-z0-9_-]+")

Phase = Literal["train", "dev", "final"]
Optimizer = Literal["adam", "sgd"]
Dtype = Literal["auto", "float32", "bfloat16"]
Accountant = Literal["prv", "rdp"]
Access = Literal["white-box", "black-box"]
FinalChoice = Literal["latest", "best-dev", "selected"]
Metric = Literal[
    "TPR_FPR_10",
    "TPR_FPR_100",
    "TPR_FPR_500",
    "TPR_FPR_1000",
    "TPR_FPR_1500",
    "TPR_FPR_2000",
    "AUC",
    "MIA",
    "accuracy",
]
PHASES: tuple[str, ...] = get_args(Phase)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
DTYPES: tuple[str, ...] = get_args(Dtype)
ACCOUNTANTS: tuple[str, ...] = get_args(Accountant)
ACCESS_MODES: tuple[str, ...] = get_args(Access)
PRIMARY_METRICS: tuple[str, ...] = get_args(Metric)

TRAINING_HINT = "(n is training_size: a top-level training = N clashes with [training])"
_RULE = "track_rule"


def _fail(sentence: str) -> PydanticCustomError:
    return PydanticCustomError(_RULE, "{sentence}", {"sentence": sentence})


def rule(phrase: str, **by_error: str) -> WrapValidator:
    """Report any failure of the wrapped type as ``"<phrase>, got <value>"``.

    ``by_error`` replaces the phrase for one kind of pydantic error
    (``less_than="must be below 1"``).
    """

    def wrap(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError as error:
            kind = error.errors()[0]["type"]
            raise _fail(f"{by_error.get(kind, phrase)}, got {value!r}") from None

    return WrapValidator(wrap)


def _choice(options: Any) -> WrapValidator:
    return rule(f"must be one of {', '.join(get_args(options))}")


def _registered(kind: str) -> AfterValidator:
    """A name that must be in the dataset or architecture registry (looked up when checked,
    so names registered after import count)."""

    def check(name: str) -> str:
        from benchmark.zoo.datasets import DATASETS
        from benchmark.zoo.models import ARCHITECTURES

        known = DATASETS if kind == "dataset" else ARCHITECTURES
        if name not in known:
            raise _fail(f"must be one of {', '.join(sorted(known))}, got {name!r}")
        return name

    return AfterValidator(check)


def _from_rfc3339(value: Any) -> Any:
    """Datetimes given as text (JSON uploads) parse; TOML already gives datetimes."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _non_empty_list(value: Any) -> Any:
    if not isinstance(value, list | tuple) or not value:
        raise _fail(f"must be a non-empty array of tables ([[scenario]]), got {value!r}")
    return value


Text = Annotated[str, Strict(), rule("must be a string")]
Name = Annotated[
    str, Strict(), StringConstraints(pattern=r"[^ \t\r\n]"), rule("must be a non-blank string")
]
Slug = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=f"^{SLUG_RE.pattern}$"),
    rule(f"must match {SLUG_RE.pattern} (no '_')"),
]
Folder = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=f"^{FOLDER_RE.pattern}$"),
    rule(f"must match {FOLDER_RE.pattern}"),
]
Count = Annotated[int, Strict(), Ge(1), rule("must be an integer >= 1")]
Size = Annotated[int, Strict(), Ge(0), rule("must be an integer >= 0")]
Positive = Annotated[float, Strict(), Gt(0), rule("must be a positive number")]
NonNegative = Annotated[float, Strict(), Ge(0), rule("must be a non-negative number")]
Flag = Annotated[bool, Strict(), rule("must be true or false")]
Epsilon = Annotated[
    Annotated[float, Strict(), Gt(0)] | Literal["inf"], rule('must be a positive number or "inf"')
]
Delta = Annotated[
    float, Strict(), Gt(0), Lt(1), rule("must be a positive number", less_than="must be below 1")
]
Moment = Annotated[
    AwareDatetime,
    Strict(),
    BeforeValidator(_from_rfc3339),
    rule("must be a datetime with a timezone"),
]
Domain = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"),
    rule("must be a lower-case domain name such as example.edu"),
]
FinalRule = Annotated[FinalChoice, _choice(FinalChoice)]
OptimizerName = Annotated[Optimizer, _choice(Optimizer)]
DtypeName = Annotated[Dtype, _choice(Dtype)]
AccountantName = Annotated[Accountant, _choice(Accountant)]
AccessName = Annotated[Access, _choice(Access)]
MetricName = Annotated[Metric, _choice(Metric)]
DatasetName = Annotated[str, Strict(), rule("must be a string"), _registered("dataset")]
ArchitectureName = Annotated[str, Strict(), rule("must be a string"), _registered("architecture")]
NonEmptyList = BeforeValidator(_non_empty_list)


def key_path(loc: tuple[int | str, ...]) -> str:
    """``("scenario", 1, "epsilon")`` -> ``"scenario[1].epsilon"``; ``()`` -> ``"track"``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "track"


_GENERIC: Mapping[str, Callable[[Any], str]] = {
    "missing": lambda _: "is missing",
    "extra_forbidden": lambda _: "is not a known key",
    "unexpected_keyword_argument": lambda _: "is not a known key",
    "model_type": lambda value: f"must be a table, got {value!r}",
    "dataclass_type": lambda value: f"must be a table, got {value!r}",
}


def sentences(error: ValidationError) -> Iterator[str]:
    """One ``"<key path> <sentence>"`` per error pydantic found, in the file's order."""
    for item in error.errors():
        path = key_path(item["loc"])
        if item["type"] == _RULE:
            sentence = item["msg"]
        elif item["type"] in _GENERIC:
            sentence = _GENERIC[item["type"]](item["input"])
        else:  # a rule without a sentence of its own: say what pydantic says
            sentence = f"is not valid ({item['msg']}), got {item['input']!r}"
        if path == "training" and isinstance(item["input"], int):
            sentence += f" {TRAINING_HINT}"
        yield f"{path} {sentence}"
