"""Command line: ``python -m bench {run,report}``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bench.backend import BACKENDS, BackendError, select

DEFAULT_RUNS_DIR = Path("results/runs")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="train and evaluate losses on one backend",
        description="Train the ranking model with each loss and seed on one backend, evaluate "
                    "it on the test lists, and write timings and metrics to a JSON file.")
    run.add_argument("--backend", choices=BACKENDS, default=os.environ.get("KERAS_BACKEND"),
                     help="Keras backend (default: $KERAS_BACKEND)")
    run.add_argument("--loss", nargs="+", default=["all"], metavar="NAME",
                     help="loss names, or 'all' (default: all)")
    run.add_argument("--seeds", type=_positive_int, default=3,
                     help="number of seeds; seed i uses 42+i for split, sampling and init (default: 3)")
    run.add_argument("--epochs", type=_positive_int, default=5, help="training epochs (default: 5)")
    run.add_argument("--protocol", choices=["intended", "seed"], default="intended",
                     help="intended: 50 training lists per user (default); seed: 1 list per "
                          "user, as the Keras-RS example's code runs")
    run.add_argument("--data-dir", default=None,
                     help="folder with the ml-100k files (default: $LISTRANK_DATA_DIR, else "
                          "download the official archive into ~/.cache/listrank)")
    run.add_argument("--allow-unverified-data", action="store_true",
                     help="accept MovieLens-format files that differ from the official release")
    run.add_argument("--batch-size", type=_positive_int, default=1024, help="lists per batch (default: 1024)")
    run.add_argument("--list-size", type=_positive_int, default=5, help="movies per list (default: 5)")
    run.add_argument("--learning-rate", type=_positive_float, default=0.1, help="Adagrad learning rate (default: 0.1)")
    run.add_argument("--out", type=Path, default=None,
                     help="results JSON (default: results/runs/<backend>.json)")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")

    report = commands.add_parser(
        "report", help="render results/README.md from results JSON files",
        description="Read every results JSON and write markdown tables.")
    report.add_argument("files", nargs="*", type=Path,
                        help="results files (default: results/runs/*.json)")
    report.add_argument("--out", type=Path, default=Path("results/README.md"),
                        help="markdown file to write (default: results/README.md)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return command_run(args, parser)
        return command_report(args)
    except KeyboardInterrupt:
        print("interrupted; every run finished so far is saved", file=sys.stderr)
        return 130
    except Exception as error:  # clear one-line errors unless --debug
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2


def command_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.backend is None:
        parser.error("--backend is required (or set KERAS_BACKEND): one of " + ", ".join(BACKENDS))
    try:
        select(args.backend)
    except BackendError as error:
        parser.error(str(error))
    # Imported only now: keras reads KERAS_BACKEND at import time.
    from listrank import losses
    from bench.run import RunConfig, run_benchmark

    names = losses.names() if args.loss == ["all"] else args.loss
    for name in names:
        if name == "all":
            parser.error("'all' cannot be combined with other loss names")
        try:
            losses.get(name)
        except losses.UnknownLossError as error:
            parser.error(str(error))
    if len(set(names)) != len(names):
        parser.error("a loss is named twice in --loss")
    config = RunConfig(
        backend=args.backend,
        losses=tuple(names),
        seeds=tuple(42 + i for i in range(args.seeds)),
        epochs=args.epochs,
        protocol=args.protocol,
        data_dir=args.data_dir,
        allow_unverified_data=args.allow_unverified_data,
        out=args.out or DEFAULT_RUNS_DIR / f"{args.backend}.json",
        batch_size=args.batch_size,
        list_size=args.list_size,
        learning_rate=args.learning_rate,
    )
    log = (lambda *_: None) if args.quiet else (lambda message: print(message, flush=True))
    return run_benchmark(config, log=log)


def command_report(args: argparse.Namespace) -> int:
    from bench.report import write_report

    files = args.files or sorted(DEFAULT_RUNS_DIR.glob("*.json"))
    return write_report(files, args.out)
