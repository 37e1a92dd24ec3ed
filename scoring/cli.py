"""``python -m scoring``: score a submission zip against solutions, validate it, or run as
MICO's scoring program on CodaLab and Codabench (``codalab``, :mod:`scoring.codalab`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scoring import codalab
from scoring.expected import Expected
from scoring.figures import report_html
from scoring.metrics import METRIC_KEYS
from scoring.scenario import score_scenario
from scoring.submission import SubmissionError, read_solutions, read_submission_with_notices

#: Exit status of an invalid submission (2 stays argparse's usage error).
INVALID = 3


def _score_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring",
        description="Score a submission zip with MICO's metrics. "
        "To check a zip against a participant bundle instead: python -m scoring validate ZIP "
        "--bundle DIR. As MICO's scoring program on CodaLab or Codabench: python -m scoring "
        "codalab INPUT OUTPUT.",
    )
    parser.add_argument("--solutions", required=True, type=Path, help="solutions tree (MICO ref/)")
    parser.add_argument("--predictions", required=True, type=Path, help="submission zip")
    parser.add_argument("--track", help="track to score when DIR holds several")
    parser.add_argument("--primary", default="TPR_FPR_1000", choices=METRIC_KEYS)
    parser.add_argument("--delta", type=float, default=1e-5, help="δ of the ε lower bound")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    parser.add_argument("--roc", action="store_true", help="include downsampled ROC curves")
    parser.add_argument("--html", type=Path, help="write a self-contained HTML report here")
    return parser


def _validate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring validate",
        description="Check a submission zip against a participant bundle, without solutions.",
    )
    parser.add_argument("zip", type=Path, help="submission zip")
    parser.add_argument("--bundle", required=True, type=Path, help="participant bundle folder")
    parser.add_argument("--track", help="track to check when the bundle holds several")
    parser.add_argument("--n-points", type=int, help="2m, if the bundle has no train solutions")
    return parser


def _report_problems(error: SubmissionError) -> int:
    for path, reason in [*error.problems, *error.notices]:
        print(f"{path}: {reason}", file=sys.stderr)
    return INVALID


def score_submission(
    solutions: Path,
    predictions: Path,
    *,
    track: str | None = None,
    primary: str = "TPR_FPR_1000",
    delta: float = 1e-5,
    seed: int = 0,
) -> dict[str, Any]:
    """The CLI's result: every scenario and phase of ``solutions`` scored, with the rank.

    Returns
    -------
    dict
        ``{"track", "scenarios": {"<track>_<scenario>": {phase: {...}}}, "rank": {phase: ...},
        "notices": [{"path", "reason"}, ...]}`` where each ``{...}`` is
        :func:`scoring.score_scenario`'s result (``roc`` included) and ``notices`` lists the
        files of the zip that were not scored.

    Raises
    ------
    SubmissionError
        If the submission is invalid.
    """
    expected = Expected.from_solutions_tree(solutions, track)
    labels = read_solutions(solutions, expected)
    values, notices = read_submission_with_notices(predictions, expected)
    scenarios: dict[str, dict[str, Any]] = {}
    for scenario in expected.scenarios:
        name = expected.folders[scenario]
        scenarios[name] = {}
        for phase, models in expected.models.items():
            keys = [(scenario, phase, model) for model in models]
            scenarios[name][phase] = score_scenario(
                [labels[key] for key in keys],
                [values[key] for key in keys],
                primary=primary,
                delta=delta,
                seed=seed,
            )
    rank = {
        phase: float(np.mean([scenarios[name][phase][primary] for name in scenarios]))
        for phase in expected.phases
    }
    return {
        "track": expected.track,
        "scenarios": scenarios,
        "rank": rank,
        "notices": [{"path": path, "reason": reason} for path, reason in notices],
    }


def _score(argv: Sequence[str]) -> int:
    args = _score_parser().parse_args(argv)
    try:
        result = score_submission(
            args.solutions,
            args.predictions,
            track=args.track,
            primary=args.primary,
            delta=args.delta,
            seed=args.seed,
        )
    except SubmissionError as error:
        return _report_problems(error)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    rocs = {
        scenario: {phase: scores["roc"] for phase, scores in phases.items()}
        for scenario, phases in result["scenarios"].items()
    }
    if not args.roc:
        for phases in result["scenarios"].values():
            for scores in phases.values():
                del scores["roc"]
    if args.html:
        notices = [(notice["path"], notice["reason"]) for notice in result["notices"]]
        args.html.write_text(report_html(result, rocs, notices=notices), encoding="utf-8")
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _validate(argv: Sequence[str]) -> int:
    args = _validate_parser().parse_args(argv)
    try:
        expected = Expected.from_bundle(args.bundle, args.track, n_points=args.n_points)
        _, notices = read_submission_with_notices(args.zip, expected)
    except SubmissionError as error:
        return _report_problems(error)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"ok: {expected.n_files} predictions of {expected.n_points} values for track "
        f"{expected.track} (scenarios {', '.join(expected.scenarios)}; "
        f"phases {', '.join(expected.phases)})"
    )
    for path, reason in notices:
        print(f"{path}: {reason}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; ``validate`` or ``codalab`` as the first argument selects that command."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["validate"]:
        return _validate(arguments[1:])
    if arguments[:1] == ["codalab"]:
        return codalab.main(arguments[1:])
    return _score(arguments)
