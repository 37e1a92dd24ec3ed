"""``python -m scoring codalab INPUT OUTPUT``: MICO's scoring program, for CodaLab and Codabench.

It runs where MICO's ``score.py`` ran and writes what it wrote:

- ``INPUT/ref/`` holds one track folder with the solutions of one phase (dev or final),
  ``<track>/<track>_<scenario>/<phase>/model_<i>/solution.csv``: the reference data of the
  phase being scored. ``INPUT/res/`` holds the submission as the platform extracted it, with or
  without the leading ``<track>/``; files of the other phase are skipped unread, every other
  file that is not scored (train models' predictions, a README, the ``metadata`` file Codabench
  writes there) is listed as a notice, and anything hostile or invalid fails the run (status 3,
  every problem on stderr).
- ``OUTPUT/scores.txt`` holds exactly MICO's lines: for the k-th scenario folder in sorted order
  ``scenario<k>_<metric>: <value>`` for AUC, MIA, accuracy and the six ``TPR_FPR`` metrics,
  then ``average_TPR_FPR_1000: <value>`` with no newline after it; values as Python prints a
  float. Both platforms parse it as ``key: value`` lines (Codabench as YAML).
- ``OUTPUT/scores.html``: the report of ``python -m scoring --html`` (metrics with intervals and
  ε lower bounds, ROC curves on linear and log-log axes, the unscored files), which CodaLab
  and Codabench show as the submission's detailed results.

MICO wrote AUC, MIA and accuracy in the iteration order of a set literal, which string hashing
randomises from one run to the next; this program writes them in one fixed order, one of those
MICO writes. Where MICO asserted (three scenarios exactly, no other folder in ``res/``), this
program scores any number of scenarios and lists stray folders as notices.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scoring.expected import Expected
from scoring.figures import report_html
from scoring.metrics import METRIC_KEYS
from scoring.scenario import score_scenario
from scoring.submission import (
    Notice,
    SubmissionError,
    read_prediction_tree,
    read_solutions,
)
from scoring.zipsafe import ignored

#: Exit status of an invalid submission, as ``python -m scoring`` (2 stays argparse's).
INVALID = 3
#: The metric MICO averages over scenarios on the last line of ``scores.txt``.
MICO_AVERAGE = "TPR_FPR_1000"
#: Each scenario's lines of ``scores.txt``, in the order written.
LINE_METRICS: tuple[str, ...] = (
    "AUC",
    "MIA",
    "accuracy",
    *(key for key in METRIC_KEYS if key.startswith("TPR_FPR_")),
)
#: Files the platform writes into ``res/`` beside the submission (Codabench: ``metadata``).
PLATFORM_FILES = ("metadata",)

#: ``score.py`` of a scoring program folder: this package, copied beside it, run as MICO ran.
SHIM = '''"""MIA Arena's scoring program for CodaLab and Codabench: score.py INPUT OUTPUT.

It runs ``python -m scoring codalab`` from the copy of the ``scoring`` package beside this
file (Python 3.11 or later with numpy and scipy), with plotly.js from plotly.min.js here.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scoring.codalab import main  # noqa: E402

OPTIONS = {options}
sys.exit(main([*sys.argv[1:], *OPTIONS, "--plotly-js", str(HERE / "plotly.min.js")]))
'''


def scores_txt(metrics: Sequence[Mapping[str, float]], *, primary: str = MICO_AVERAGE) -> str:
    """The text of MICO's ``scores.txt`` for the scenarios' metrics, in scenario order.

    Parameters
    ----------
    metrics : sequence of mapping
        For each scenario (sorted by folder name, as MICO numbers them), its
        :data:`scoring.METRIC_KEYS`.
    primary : str
        A track whose primary metric is not MICO's gets one more line,
        ``average_<primary>: <value>``, after MICO's.

    Examples
    --------
    >>> keys = ("AUC", "MIA", "accuracy", "TPR_FPR_10", "TPR_FPR_100", "TPR_FPR_500",
    ...         "TPR_FPR_1000", "TPR_FPR_1500", "TPR_FPR_2000")
    >>> text = scores_txt([dict.fromkeys(keys, 0.5), dict.fromkeys(keys, 0.25)])
    >>> text.splitlines()[0], text.splitlines()[9], text.splitlines()[-1]
    ('scenario1_AUC: 0.5', 'scenario2_AUC: 0.25', 'average_TPR_FPR_1000: 0.375')
    """
    if not metrics:
        raise ValueError("scores.txt needs at least one scenario")
    lines = [
        f"scenario{number}_{key}: {float(scenario[key])}"
        for number, scenario in enumerate(metrics, 1)
        for key in LINE_METRICS
    ]
    averages = [MICO_AVERAGE] + ([primary] if primary != MICO_AVERAGE else [])
    for key in averages:
        lines.append(f"average_{key}: {float(np.mean([m[key] for m in metrics]))}")
    return "\n".join(lines)


def _track_folder(ref: Path) -> str:
    folders = sorted(
        child.name for child in ref.iterdir() if child.is_dir() and not ignored(child.name)
    )
    if len(folders) != 1:
        raise ValueError(f"{ref} must hold one track folder, found {folders}")
    return folders[0]


def score_codalab(
    input_dir: str | Path,
    output_dir: str | Path,
    *,
    primary: str = MICO_AVERAGE,
    delta: float = 1e-5,
    plotly_js: str | None = None,
) -> dict[str, Any]:
    """Score ``INPUT/res`` against ``INPUT/ref`` and write ``scores.txt`` and ``scores.html``.

    Parameters
    ----------
    input_dir, output_dir : path
        The platform's input (holding ``ref/`` and ``res/``) and output folders.
    primary : str
        The track's ranking metric (its interval is reported; see :func:`scores_txt`).
    delta : float
        δ of the ε lower bounds in the report.
    plotly_js : str, optional
        plotly.js for the report, if the plotly package is not installed.

    Returns
    -------
    dict
        ``{"track", "phase", "scenarios": {"<track>_<scenario>": {phase: {...}}}, "rank",
        "notices"}`` as ``python -m scoring`` prints it, ``notices`` as ``{"path", "reason"}``.

    Raises
    ------
    SubmissionError
        If ``res/`` is not a valid submission.
    ValueError
        If ``ref/`` is not the reference data of one track and one phase.
    """
    ref, res = Path(input_dir) / "ref", Path(input_dir) / "res"
    if not ref.is_dir():
        raise ValueError(f"{ref} is not a directory")
    expected = Expected.from_solutions_tree(ref, _track_folder(ref))
    if len(expected.phases) != 1:
        raise ValueError(f"{ref} must hold the solutions of one phase, found {expected.phases}")
    (phase,) = expected.phases
    labels = read_solutions(ref, expected)
    values, found = read_prediction_tree(res, expected)
    notices: list[Notice] = [notice for notice in found if notice[0] not in PLATFORM_FILES]
    scenarios: dict[str, dict[str, Any]] = {}
    for scenario in expected.scenarios:
        keys = [(scenario, phase, model) for model in expected.models[phase]]
        scenarios[expected.folders[scenario]] = {
            phase: score_scenario(
                [labels[key] for key in keys],
                [values[key] for key in keys],
                primary=primary,
                delta=delta,
            )
        }
    metrics = [phases[phase] for phases in scenarios.values()]
    rank = {phase: float(np.mean([scores[primary] for scores in metrics]))}
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores.txt").write_text(scores_txt(metrics, primary=primary), encoding="utf-8")
    rocs = {name: {phase: phases[phase].pop("roc")} for name, phases in scenarios.items()}
    result = {"track": expected.track, "scenarios": scenarios, "rank": rank}
    page = report_html(result, rocs, notices=notices, plotly_js=plotly_js)
    (out / "scores.html").write_text(page, encoding="utf-8")
    return {
        **result,
        "phase": phase,
        "notices": [{"path": path, "reason": reason} for path, reason in notices],
    }


def program_files(*, primary: str = MICO_AVERAGE) -> dict[str, bytes]:
    """The files of a scoring program folder for CodaLab or Codabench, by relative path.

    ``score.py`` (run as MICO's: ``score.py INPUT OUTPUT``) with a copy of this package under
    ``scoring/`` and plotly.js (from the plotly package) for the report, so the platform's
    image needs only Python 3.11 or later with numpy and scipy; ``metadata.yaml`` holds the
    command for Codabench's workers (its paths inside the submission container) and
    ``metadata`` the same command for CodaLab's, in CodaLab's variables.

    Parameters
    ----------
    primary : str
        The track's primary metric, passed to :func:`main` (see :func:`scores_txt`).
    """
    from plotly.offline import get_plotlyjs

    if primary not in METRIC_KEYS:
        raise ValueError(f"primary must be one of {', '.join(METRIC_KEYS)}, got {primary!r}")
    options = [] if primary == MICO_AVERAGE else ["--primary", primary]
    package = Path(__file__).resolve().parent
    files = {
        "score.py": SHIM.format(options=repr(options)).encode(),
        "metadata.yaml": b"command: python3 /app/program/score.py /app/input /app/output\n",
        "metadata": b"command: python3 $program/score.py $input $output\n",
        "plotly.min.js": get_plotlyjs().encode(),
    }
    for source in sorted(package.glob("*.py")):
        files[f"scoring/{source.name}"] = source.read_bytes()
    return files


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring codalab",
        description="MICO's scoring program for CodaLab and Codabench: score INPUT/res against "
        "INPUT/ref, write OUTPUT/scores.txt (MICO's lines) and OUTPUT/scores.html.",
    )
    parser.add_argument("input", type=Path, help="folder holding ref/ and res/")
    parser.add_argument("output", type=Path, help="folder to write scores.txt and scores.html")
    parser.add_argument("--primary", default=MICO_AVERAGE, choices=METRIC_KEYS)
    parser.add_argument("--delta", type=float, default=1e-5, help="δ of the ε lower bounds")
    parser.add_argument("--plotly-js", type=Path, help="plotly.js, without the plotly package")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m scoring codalab`` (and of the bundles' ``score.py``)."""
    args = parser().parse_args(argv)
    try:
        plotly_js = args.plotly_js.read_text(encoding="utf-8") if args.plotly_js else None
        result = score_codalab(
            args.input, args.output, primary=args.primary, delta=args.delta, plotly_js=plotly_js
        )
    except SubmissionError as error:
        for path, reason in [*error.problems, *error.notices]:
            print(f"{path}: {reason}", file=sys.stderr)
        return INVALID
    except (ValueError, OSError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"[*] Competition: {result['track']}, phase {result['phase']}")
    for number, (name, phases) in enumerate(result["scenarios"].items(), 1):
        scores = phases[result["phase"]]
        print(f"[*] scenario{number} = {name}: {args.primary} {scores[args.primary]:.4f}")
    for notice in result["notices"]:
        print(f"[!] {notice['path']}: {notice['reason']}")
    return 0
