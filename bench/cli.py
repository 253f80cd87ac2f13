"""Command line: ``python -m bench {run,report}``.

Every error a user can cause ends in one line on stderr, ``error: <problem>;
<fix>``, and a non-zero exit; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from bench.backend import BACKENDS, BackendError, select

DEFAULT_RUNS_DIR = Path("results/runs")


class UsageError(Exception):
    """Bad command-line input; the message names the problem and the fix."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage problem in one line, pointing at --help."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


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
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _backend(text: str) -> str:
    if text in BACKENDS:
        return text
    close = difflib.get_close_matches(text, BACKENDS, n=1, cutoff=0.4)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise argparse.ArgumentTypeError(f"unknown backend {text!r}; {hint}choose from {', '.join(BACKENDS)}")


def _add_debug(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show full tracebacks on errors")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser(
        "run", help="train and evaluate losses on one backend",
        description="Train the ranking model with each loss and seed on one backend, evaluate "
                    "it on the test lists, and write timings and metrics to a JSON file. Each "
                    "finished run is saved at once, so an interrupted run loses nothing.")
    _add_debug(run)
    run.add_argument("--backend", type=_backend, default=None,
                     help=f"Keras backend: {', '.join(BACKENDS)} (default: $KERAS_BACKEND)")
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
                     help="accept MovieLens-format files that differ from the official release "
                          "(recorded in the results)")
    run.add_argument("--batch-size", type=_positive_int, default=1024, help="lists per batch (default: 1024)")
    run.add_argument("--list-size", type=_positive_int, default=5, help="movies per list (default: 5)")
    run.add_argument("--learning-rate", type=_positive_float, default=0.1,
                     help="Adagrad learning rate (default: 0.1)")
    run.add_argument("--out", type=Path, default=None,
                     help="results JSON (default: results/runs/<backend>.json); an existing file "
                          "is replaced unless --resume")
    run.add_argument("--resume", action="store_true",
                     help="keep the finished runs already in --out and run only the missing "
                          "(loss, seed) pairs; the configuration must match")
    run.add_argument("--distribution", choices=["none", "data-parallel"], default="none",
                     help="data-parallel: keras.distribution.DataParallel over all devices "
                          "(jax only; default: none)")
    run.add_argument("--quiet", action="store_true", help="print nothing but errors")
    run.add_argument("--no-native", action="store_true",
                     help="skip the native baselines (plain JAX/TensorFlow/PyTorch, losses mse and "
                          "pairwise_hinge) timed after each Keras run for the Keras/native ratio")

    _add_sweep_parser(commands)

    report = commands.add_parser(
        "report", help="render results/README.md from results JSON files",
        description="Read every results JSON and write markdown tables. Unreadable files are "
                    "named and skipped; the others are still reported.")
    _add_debug(report)
    report.add_argument("files", nargs="*", type=Path,
                        help="results files (default: results/runs/*.json)")
    report.add_argument("--out", type=Path, default=Path("results/README.md"),
                        help="markdown file to write (default: results/README.md)")
    from bench import compare, gate

    compare_parser = commands.add_parser(
        "compare", help="compare two results files: regressions and quality drops",
        description=compare.__doc__.split("\n\n")[0])
    _add_debug(compare_parser)
    compare.add_arguments(compare_parser)
    gate_parser = commands.add_parser(
        "gate", help="CI performance gate on the Keras/native step-time ratio",
        description=gate.__doc__.split("\n\n")[0])
    _add_debug(gate_parser)
    gate.add_arguments(gate_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    args = None
    try:
        args = build_parser().parse_args(argv)
        if args.command == "run":
            return command_run(args)
        if args.command == "sweep":
            return command_sweep(args)
        if args.command in ("compare", "gate"):
            from bench import compare, gate

            return {"compare": compare, "gate": gate}[args.command].command(args)
        return command_report(args)
    except KeyboardInterrupt:
        print(_interrupted_message(args), file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as error:
        if debug:
            raise
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2


def _interrupted_message(args: argparse.Namespace | None) -> str:
    command = getattr(args, "command", None)
    if command == "run" and args.out:
        return (f"interrupted; every run finished before the interruption is saved in {args.out} "
                "(continue with --resume)")
    if command == "sweep" and args.out:
        return f"interrupted; every point finished before the interruption is saved in {args.out}"
    return "interrupted"


def resolve_losses(requested: list[str]) -> tuple[str, ...]:
    from listrank import losses

    if "all" in requested:
        if requested != ["all"]:
            raise UsageError("'all' cannot be combined with other loss names in --loss")
        return tuple(losses.names())
    if len(set(requested)) != len(requested):
        raise UsageError("a loss is named twice in --loss; name each once")
    for name in requested:
        if name not in losses.names():
            losses.get(name)  # raises UnknownLossError with the valid names and a suggestion
    return tuple(requested)


def command_run(args: argparse.Namespace) -> int:
    backend = _selected_backend(args)
    # Imported only now: keras reads KERAS_BACKEND at import time.
    from bench.run import RunConfig, run_benchmark

    args.out = args.out or DEFAULT_RUNS_DIR / f"{backend}.json"
    config = RunConfig(
        backend=backend,
        losses=resolve_losses(args.loss),
        seeds=tuple(42 + i for i in range(args.seeds)),
        epochs=args.epochs,
        protocol=args.protocol,
        data_dir=args.data_dir,
        allow_unverified_data=args.allow_unverified_data,
        out=args.out,
        batch_size=args.batch_size,
        list_size=args.list_size,
        learning_rate=args.learning_rate,
        native=not args.no_native,
        distribution=args.distribution,
    )
    log = (lambda *_: None) if args.quiet else (lambda message: print(message, flush=True))
    return run_benchmark(config, log=log, resume=args.resume)


def _selected_backend(args: argparse.Namespace) -> str:
    """The backend from --backend or $KERAS_BACKEND, checked and selected (before keras is imported)."""
    backend = args.backend or os.environ.get("KERAS_BACKEND")
    if backend is None:
        raise UsageError(f"no backend given; pass --backend ({', '.join(BACKENDS)}) or set KERAS_BACKEND")
    backend = _backend_or_usage(backend)
    _check_distribution(backend, args.distribution)
    try:
        select(backend)
    except BackendError as error:
        raise UsageError(str(error)) from None
    return backend


def _check_distribution(backend: str, distribution: str) -> None:
    from bench.device import DistributionError, check_distribution

    try:
        check_distribution(backend, distribution)
    except DistributionError as error:
        raise UsageError(str(error)) from None


_SWEEP_AXES = ("list-size", "batch-size", "vocab-size", "embedding-dim")


def _add_sweep_parser(commands) -> None:
    sweep = commands.add_parser(
        "sweep", help="time training steps over list length, batch size, vocabulary, embedding size",
        description="Time short training runs on synthetic MovieLens-shaped data while one setting "
                    "varies: list length, batch size, item vocabulary or embedding dimension "
                    "(base: lists of 5, batch 256, 1,682 items, dimension 32). Each point is saved "
                    "as soon as it is timed.")
    _add_debug(sweep)
    sweep.add_argument("--backend", type=_backend, default=None,
                       help=f"Keras backend: {', '.join(BACKENDS)} (default: $KERAS_BACKEND)")
    sweep.add_argument("--loss", nargs="+", default=None, metavar="NAME",
                       help="loss names, or 'all' (default: pairwise_logistic softmax list_mle)")
    sweep.add_argument("--axis", nargs="+", choices=_SWEEP_AXES, default=["list-size", "batch-size"],
                       help="axes to sweep (default: list-size batch-size)")
    sweep.add_argument("--list-sizes", nargs="+", type=_positive_int, default=None, metavar="L",
                       help="list-size points (default: 5 10 20 50 100 200)")
    sweep.add_argument("--batch-sizes", nargs="+", type=_positive_int, default=None, metavar="B",
                       help="batch-size points (default: 256 512 1024 2048 4096 8192)")
    sweep.add_argument("--vocab-sizes", nargs="+", type=_positive_int, default=None, metavar="N",
                       help="item-vocabulary points (default: 1682 100000 1000000)")
    sweep.add_argument("--embedding-dims", nargs="+", type=_positive_int, default=None, metavar="D",
                       help="embedding-dimension points (default: 16 32 64 128 256)")
    sweep.add_argument("--windows", type=_positive_int, default=3,
                       help="timed windows per point (default: 3)")
    sweep.add_argument("--window-steps", type=_positive_int, default=2,
                       help="steps per timed window (default: 2)")
    sweep.add_argument("--seed", type=int, default=42, help="data and initialisation seed (default: 42)")
    sweep.add_argument("--distribution", choices=["none", "data-parallel"], default="none",
                       help="data-parallel: keras.distribution.DataParallel (jax only; default: none)")
    sweep.add_argument("--out", type=Path, default=None,
                       help="results JSON (default: results/runs/sweep-<backend>.json)")
    sweep.add_argument("--quiet", action="store_true", help="print nothing but errors")


def command_sweep(args: argparse.Namespace) -> int:
    backend = _selected_backend(args)
    from bench.sweep import AXES, DEFAULT_LOSSES, DEFAULT_VALUES, SweepConfig, run_sweep

    given = {"list-size": args.list_sizes, "batch-size": args.batch_sizes,
             "vocab-size": args.vocab_sizes, "embedding-dim": args.embedding_dims}
    for axis, values in given.items():
        if values and axis not in args.axis:
            raise UsageError(f"--{axis}s is given but --axis does not include {axis}; add it to --axis")
    if len(set(args.axis)) != len(args.axis):
        raise UsageError("an axis is named twice in --axis; name each once")
    if args.list_sizes and min(args.list_sizes) < 2:
        raise UsageError("--list-sizes must be at least 2: a ranking list needs two items")
    if args.vocab_sizes and min(args.vocab_sizes) < 20:
        raise UsageError("--vocab-sizes must be at least 20 items (each synthetic user rates 20 or more)")
    values = {axis: tuple(given[axis] or DEFAULT_VALUES[axis]) for axis in AXES}
    if "list-size" in args.axis and max(values["list-size"]) > 1682:
        raise UsageError("a list cannot be longer than the sweep's item vocabulary (1,682 items); "
                         "use --list-sizes of at most 1682")
    args.out = args.out or DEFAULT_RUNS_DIR / f"sweep-{backend}.json"
    config = SweepConfig(
        backend=backend,
        losses=resolve_losses(args.loss) if args.loss else DEFAULT_LOSSES,
        axes=tuple(args.axis),
        values=values,
        windows=args.windows,
        window_steps=args.window_steps,
        seed=args.seed,
        distribution=args.distribution,
        out=args.out,
    )
    return run_sweep(config, quiet=args.quiet)


def _backend_or_usage(name: str) -> str:
    try:
        return _backend(name)
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"{error} (from KERAS_BACKEND)") from None


def command_report(args: argparse.Namespace) -> int:
    from bench.report import write_report

    files = args.files or sorted(DEFAULT_RUNS_DIR.glob("*.json"))
    return write_report(files, args.out)
