"""Command line: ``python -m attacks report <bundle-dir>`` and ``python -m attacks predict``.

``report`` runs every attack on each scenario's train models (first half shadows, second half
targets) and prints TPR at 0.1%, 1% and 10% FPR and the AUC. ``predict`` writes one attack's
predictions for the dev and final models as a MICO submission zip.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from attacks.registry import REGISTRY
from attacks.report import (
    HEADER,
    bundle_folders,
    find_tracks,
    format_row,
    format_table,
    predict_bundle,
    report,
)
from attacks.submission import write_submission_zip
from benchmark.zoo.device import DEVICES

BUNDLE_HELP = "a track directory (its <track>.dataset.json beside it) or its parent"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m attacks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rep = commands.add_parser("report", help="every attack on a bundle's train models")
    rep.add_argument("bundle", help=BUNDLE_HELP)
    rep.add_argument(
        "--attacks", default=",".join(REGISTRY), help="comma-separated names (default: all)"
    )
    rep.add_argument("--cache-dir", help="keep observations here between runs")
    rep.add_argument("--queries", type=int, default=1, help="queries per image (flip, shifts)")
    rep.add_argument("--device", choices=DEVICES, default="auto", help="auto: CUDA when present")
    rep.add_argument(
        "--solutions",
        help="an organizer's solutions directory: score the dev models instead of train halves",
    )
    pre = commands.add_parser("predict", help="a submission zip of one attack")
    pre.add_argument("bundle", help=BUNDLE_HELP)
    pre.add_argument("attack", choices=list(REGISTRY))
    pre.add_argument("-o", "--output", required=True, help="the zip to write")
    pre.add_argument("--cache-dir", help="keep observations here between runs")
    pre.add_argument("--queries", type=int, default=1, help="queries per image (flip, shifts)")
    pre.add_argument(
        "--url", help="a black-box track: query its models on this platform (attacks.remote)"
    )
    pre.add_argument("--token", help="the API token for --url (default: $ARENA_TOKEN)")
    pre.add_argument("--device", choices=DEVICES, default="auto", help="auto: CUDA when present")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "report":
            names = [name.strip() for name in args.attacks.split(",") if name.strip()]
            print("  ".join(HEADER), flush=True)
            rows = report(
                args.bundle,
                names=names,
                cache_dir=args.cache_dir,
                solutions=args.solutions,
                queries=args.queries,
                device=args.device,
                progress=lambda row: print("  ".join(format_row(row)), flush=True),
            )
            print()
            print(format_table(rows))
        else:
            tracks = find_tracks(args.bundle)
            if len(tracks) != 1:
                raise ValueError(f"{args.bundle} holds {len(tracks)} tracks; name one")
            token = args.token or os.environ.get("ARENA_TOKEN")
            if args.url and not token:
                raise ValueError("--url needs --token or $ARENA_TOKEN")
            predictions = predict_bundle(
                tracks[0],
                args.attack,
                cache_dir=args.cache_dir,
                queries=args.queries,
                device=args.device,
                url=args.url,
                token=token,
            )
            write_submission_zip(
                predictions,
                args.output,
                track=tracks[0].name,
                folders=bundle_folders(tracks[0]),
            )
            print(f"wrote {args.output}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
