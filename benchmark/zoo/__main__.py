"""Command line: ``python -m benchmark.zoo build tracks/demo-purchase.toml --out DIR``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tqdm import tqdm

from benchmark.zoo.build import build_track, plan
from benchmark.zoo.bundles import zip_participant_bundle
from benchmark.zoo.device import DEVICES, Compute, use_cores
from benchmark.zoo.importer import Release, ReleaseError, import_release
from benchmark.zoo.tracks import load_track, track_schema


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m benchmark.zoo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="train and write every model of a track")
    build.add_argument("track", help="track file, e.g. tracks/demo-purchase.toml")
    build.add_argument("--out", required=True, help="build directory")
    build.add_argument("--zip", help="also write the participant bundle zip here")
    build.add_argument(
        "--threads", type=int, help="torch threads (default: every core this process may use)"
    )
    build.add_argument(
        "--device", choices=DEVICES, default="auto", help="auto: CUDA when present (default)"
    )
    check = commands.add_parser("check", help="validate track files")
    check.add_argument("tracks", nargs="+")
    commands.add_parser("schema", help="print the JSON Schema of track files")
    imported = commands.add_parser(
        "import", help="write a zoo trained elsewhere (MICO's archives) in the platform's layout"
    )
    imported.add_argument("release", help="the folder holding <track>/ (MICO's extracted archive)")
    imported.add_argument("--track", required=True, help="the track file it was trained for")
    imported.add_argument(
        "--solutions", required=True, help="the folder holding <track>/ of dev/final solutions"
    )
    imported.add_argument("--out", required=True, help="build directory")
    imported.add_argument("--zip", help="also write the participant bundle zip here")
    args = parser.parse_args(argv)
    if args.command == "schema":
        print(json.dumps(track_schema(), indent=2))  # = tracks/track.schema.json
        return 0
    if args.command == "import":
        return _import(args)
    if args.command == "check":
        for path in args.tracks:
            try:
                track = load_track(path)
            except ValueError as error:
                print(error, file=sys.stderr)
                return 1
            print(f"{path}: ok ({track.slug}, {len(plan(track))} chunks)")
        return 0
    use_cores(threads=args.threads)
    try:
        track = load_track(args.track)
        compute = Compute.resolve(device=args.device, dtype=track.train_defaults.dtype)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{track.slug}: training on {compute.describe()}")
    total = sum(len(chunk.indices) for chunk in plan(track))
    with tqdm(total=total, unit="model", desc=track.slug, mininterval=1.0) as bar:

        def progress(done: float, _total: int) -> None:
            bar.update(round(done, 2) - bar.n)  # tqdm redraws at most once a second

        records = build_track(track, args.out, progress, compute=compute)
    for scenario in track.scenarios:
        mine = [r for r in records if r.scenario == scenario.slug]
        train = sum(r.train_acc or 0.0 for r in mine) / len(mine)  # a build measures both
        held = sum(r.eval_acc or 0.0 for r in mine) / len(mine)
        spent = max((r.epsilon_spent or 0.0) for r in mine) if scenario.private else float("inf")
        print(
            f"{track.slug}/{scenario.folder}: {len(mine)} models, train acc {train:.3f}, "
            f"eval acc {held:.3f}, epsilon spent {spent:.2f}"
        )
    if args.zip:
        print(f"bundle: {zip_participant_bundle(track, args.out, args.zip)}")
    return 0


def _import(args: argparse.Namespace) -> int:
    try:
        track = load_track(args.track)
        release = Release.locate(track, args.release, args.solutions)
        records = import_release(track, release, args.out)
    except ReleaseError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"import refused: {str(error).splitlines()[0]}", file=sys.stderr)
        return 3
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{track.slug}: imported {len(records)} models to {args.out}")
    if args.zip:
        print(f"bundle: {zip_participant_bundle(track, args.out, args.zip)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
