"""``arena``: the participant's command line (installed with the project; no Django needed).

    arena login http://127.0.0.1:8000 --username me     # asks for the password, keeps a token
    arena tracks
    arena download demo-purchase                         # progress bar, SHA-256 checked
    arena validate submission.zip --bundle demo-purchase-bundle/
    arena submit demo-purchase submission.zip --method "LiRA, 16 shadows" --wait
    arena leaderboard demo-purchase [--phase final|benchmark]
    arena register demo-purchase --accept-terms          # tracks with terms or approval
    arena team demo-purchase [--create "Owls" | --join CODE | --leave]
    arena select 42 [--unselect]                          # tracks with final = "selected"
    arena query demo-defences none/dev/16 points.npy -o released.npy   # black-box tracks

The token lives in ``$ARENA_CONFIG`` (default ``~/.config/arena/config.json``, mode 0600).
Exit status: 0 done, 1 refused by the server or unreachable, 2 usage, 3 an invalid zip.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from arena.client import ApiError, Client

METADATA = ("method", "description", "paper_url", "code_url", "access")


def config_path() -> Path:
    return Path(os.environ.get("ARENA_CONFIG") or Path.home() / ".config" / "arena" / "config.json")


def _save_config(url: str, token: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"url": url, "token": token}) + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)
    return path


def _client() -> Client:
    path = config_path()
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        raise SystemExit(f"arena: not logged in ({path} missing); run: arena login <url>") from None
    return Client(config["url"], token=config["token"])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arena", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    login = commands.add_parser("login", help="get an API token and keep it")
    login.add_argument("url", help="the platform, e.g. https://arena.example.org")
    login.add_argument("--username", help="asked for when missing")
    login.add_argument("--password", help="asked for when missing (or $ARENA_PASSWORD)")
    commands.add_parser("tracks", help="every track, with its phase dates and build progress")
    download = commands.add_parser("download", help="a track's participant bundle")
    download.add_argument("track")
    download.add_argument("-o", "--output", help="default: <track>-bundle.zip")
    validate = commands.add_parser("validate", help="check a zip against a bundle, offline")
    validate.add_argument("zip")
    validate.add_argument("--bundle", required=True, help="the unzipped bundle")
    submit = commands.add_parser("submit", help="upload a submission zip")
    submit.add_argument("track")
    submit.add_argument("zip")
    submit.add_argument("--method", help="the attack's name, shown on the leaderboard")
    submit.add_argument("--description", help="a sentence on what it does")
    submit.add_argument("--paper-url", dest="paper_url")
    submit.add_argument("--code-url", dest="code_url")
    submit.add_argument("--access", choices=["white-box", "black-box"])
    submit.add_argument("--wait", action="store_true", help="follow it until it is scored")
    board = commands.add_parser("leaderboard", help="a track's ranked entries")
    board.add_argument("track")
    board.add_argument("--phase", choices=["dev", "final", "benchmark"], default="dev")
    register = commands.add_parser("register", help="register for a track (terms, approval)")
    register.add_argument("track")
    register.add_argument("--accept-terms", action="store_true", help="accept the track's terms")
    team = commands.add_parser("team", help="your team on a track: show, form, join or leave")
    team.add_argument("track")
    action = team.add_mutually_exclusive_group()
    action.add_argument("--create", metavar="NAME", help="form a team with this name")
    action.add_argument("--join", metavar="CODE", help="join the team with this invite code")
    action.add_argument("--leave", action="store_true", help="leave your team")
    select = commands.add_parser("select", help="mark a submission to count for final")
    select.add_argument("submission", type=int)
    select.add_argument("--unselect", action="store_true", help="take the mark back")
    query = commands.add_parser("query", help="a black-box model's released outputs")
    query.add_argument("track")
    query.add_argument("model", help="<scenario>/<phase>/<index>, e.g. none/dev/16")
    query.add_argument("inputs", help="points: a .npy array (N, ...) or a .csv, one per line")
    query.add_argument("-o", "--output", help="write the outputs here (.npy or .csv)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ApiError as error:
        print(f"arena: {error.message or error}", file=sys.stderr)
        for problem in error.extra.get("problems", []):
            print(f"  {problem.get('path')}: {problem.get('reason')}", file=sys.stderr)
        return 1


def _login(args: argparse.Namespace) -> int:
    username = args.username or input("username: ")
    password = args.password or os.environ.get("ARENA_PASSWORD") or getpass.getpass("password: ")
    client = Client(args.url)
    token = client.login(username, password)
    kept = _save_config(client.url, token)
    print(f"logged in to {client.url} as {username}; token kept in {kept}")
    return 0


def _tracks(args: argparse.Namespace) -> int:
    rows = [("track", "name", "zoo", "submissions open", "final deadline")]
    for track in _client().tracks():
        zoo = f"{track['build_status']} {track['models_built']}/{track['models_total']}"
        dates = (track["dev_opens"], track["final_deadline"])
        rows.append((track["slug"], track["name"], zoo, *dates))
    _table(rows)
    return 0


def _download(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    destination = Path(args.output or f"{args.track}-bundle.zip")
    with tqdm(unit="B", unit_scale=True, desc=destination.name, mininterval=0.5) as bar:

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = _client().download(args.track, destination, progress=progress)
    print(f"{result['path']}: {result['bytes']} bytes, sha256 {result['sha256']} (checked)")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from scoring.cli import main as scoring_main

    return scoring_main(["validate", args.zip, "--bundle", args.bundle])


def _submit(args: argparse.Namespace) -> int:
    client = _client()
    metadata = {name: getattr(args, name) for name in METADATA if getattr(args, name)}
    summary = client.submit(args.track, args.zip, **metadata)
    print(f"submission {summary['id']}: {summary['status']}", flush=True)
    if not args.wait:
        return 0
    started = time.monotonic()
    detail: dict[str, Any] = {}
    for detail in client.follow(summary["id"]):
        print(f"  {time.monotonic() - started:5.1f} s  {detail['status']}", flush=True)
    if detail.get("status") == "failed":
        print(f"arena: {detail.get('message')}", file=sys.stderr)
        return 1
    rows = [("scenario", "phase", "TPR@0.1%FPR", "TPR@1%FPR", "TPR@10%FPR", "AUC", "95% CI")]
    for scenario, phases in detail.get("scores", {}).items():
        for phase, metrics in phases.items():
            ci = metrics.get("ci") or [None, None]
            rows.append((scenario, phase, *(f"{metrics[k]:.3f}" for k in (
                "TPR_FPR_10", "TPR_FPR_100", "TPR_FPR_1000", "AUC")),
                f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci[0] is not None else ""))  # fmt: skip
    _table(rows)
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    board = _client().leaderboard(args.track, args.phase)
    if not board["visible"]:
        print(f"the {args.phase} leaderboard of {args.track} is hidden until it is revealed")
        return 0
    rows = [("rank", "entry", board["primary"], "95% CI", *board["scenarios"])]
    for row in board["rows"]:
        name = f"baseline: {row['attack']}" if row["is_baseline"] else row["username"]
        if row.get("team"):
            name += f" ({', '.join(row['members'])})"
        per = row["per_scenario"]
        cells = [f"{per.get(s, {}).get(board['primary'], 0):.3f}" for s in board["scenarios"]]
        rank = "" if row["rank"] is None else str(row["rank"])
        ci = f"[{row['ci'][0]:.3f}, {row['ci'][1]:.3f}]"
        rows.append((rank, name, f"{row['score']:.4f}", ci, *cells))
    _table(rows)
    return 0


def _register(args: argparse.Namespace) -> int:
    client = _client()
    if not args.accept_terms:
        terms = client.registration(args.track)["terms"]
        if terms.strip():
            print(f"the terms of {args.track}:\n\n{terms}\n\nrun again with --accept-terms")
            return 2
    registration = client.register(args.track, accept_terms=args.accept_terms)
    print(f"{args.track}: registration {registration['status']}")
    return 0


def _team(args: argparse.Namespace) -> int:
    client = _client()
    if args.leave:
        client.team_leave(args.track)
        print(f"you left your team on {args.track}")
        return 0
    if args.create:
        team = client.team_create(args.track, args.create)
    elif args.join:
        team = client.team_join(args.track, args.join)
    else:
        found = client.team(args.track)
        if found is None:
            print(f"you take part in {args.track} alone")
            return 0
        team = found
    print(f"team {team['name']} ({len(team['members'])} of {team['max_team_size']}): "
          f"{', '.join(team['members'])}; invite code {team['invite_code']}")  # fmt: skip
    return 0


def _select(args: argparse.Namespace) -> int:
    result = _client().select(args.submission, selected=not args.unselect)
    state = "counts" if result["selected"] else "no longer counts"
    print(f"submission {result['id']} {state} for final")
    return 0


def _table(rows: Sequence[Sequence[Any]]) -> None:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())


def _query(args: argparse.Namespace) -> int:
    import numpy as np

    source = Path(args.inputs)
    try:
        if source.suffix == ".npy":
            points = np.load(source, allow_pickle=False)
        else:
            points = np.loadtxt(source, delimiter=",", ndmin=2)
    except (OSError, ValueError) as error:
        print(f"arena: cannot read {source}: {error}", file=sys.stderr)
        return 2
    integral = np.issubdtype(points.dtype, np.integer) or bool(np.all(points == np.round(points)))
    values = points.astype(np.int64 if integral else np.float64).tolist()
    outputs, remaining = _client().query(args.track, args.model, values)
    released = np.asarray(outputs)
    if args.output and args.output.endswith(".npy"):
        np.save(args.output, released)
    else:
        table = released.reshape(len(released), -1)
        np.savetxt(args.output or sys.stdout, table, delimiter=",", fmt="%.10g")
    print(f"{len(points)} rows queried; {remaining} left today on {args.track}", file=sys.stderr)
    return 0


COMMANDS = {
    "login": _login,
    "tracks": _tracks,
    "download": _download,
    "validate": _validate,
    "submit": _submit,
    "leaderboard": _leaderboard,
    "query": _query,
    "register": _register,
    "team": _team,
    "select": _select,
}
