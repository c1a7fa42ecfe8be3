"""`seedfactory run [CONFIG.yaml] [--out DIR] [key=value ...]`: seeds to a trained, evaluated student.

    seedfactory run                                  # bundled invoice seeds, embedded models
    seedfactory run seeds.path=my_seeds.jsonl generate.num_tasks=100
    seedfactory run my.yaml --out runs/mine teacher.backend=openai teacher.base_url=http://127.0.0.1:8000/v1
    seedfactory keys                                 # every config key, its default and its help
    seedfactory review runs/invoice-fields --add-reviewer ana   # prints ana's token once
    seedfactory review runs/invoice-fields           # the review page on http://127.0.0.1:8765/
    seedfactory report runs/default                  # rebuild runs/default/report.html
    seedfactory runs runs/default                    # its training rounds (train.continue_from=latest)
    seedfactory tune runs/invoice-fields tune.trials=8   # Optuna search; writes runs/.../tune/best.yaml
    seedfactory serve runs/invoice-fields runs/mail  # both adapters, one base, OpenAI API on :8000
    seedfactory compare runs/a runs/b                # side by side; exit 2 when their eval sets differ
    seedfactory push runs/a --dataset me/d --model me/m   # dry run: what would go to the hub

Running the same command on the same --out resumes: finished stages are skipped, a stage whose
inputs or files changed is redone, requests lost to a server outage are asked again. One run at a
time per --out (a second one stops at once, naming the first). A problem the user can fix prints
one line and exits 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from seedfactory.schemas import RunConfig, load_config, load_schema
from seedfactory.schemas.config import config_help
from seedfactory.steps import STAGES
from seedfactory.timing import time_lines
from seedfactory.util.errors import SeedfactoryError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seedfactory", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run every stage (resumes in an existing --out)")
    r.add_argument("args", nargs="*", metavar="CONFIG.yaml | key=value",
                   help="an optional YAML config, then dotted overrides (see `seedfactory keys`)")
    r.add_argument("--out", type=Path, help="run directory (default: runs/<seed set>)")
    r.add_argument("--until", choices=list(STAGES), help="stop after this stage")
    r.add_argument("--no-progress", action="store_true", help="no progress bars")
    r.add_argument("--watch", action="store_true",
                   help="rebuild report.html after every stage; open it in a browser: it reloads itself while the "
                        "run goes")
    r.add_argument("--dry-run", action="store_true",
                   help="run a sample of the generate and judge requests (cached, so not paid twice), print the "
                        "requests, tokens and cost the whole run would take, and exit")
    r.add_argument("--sample", type=int, default=4, help="tasks sampled by --dry-run (default 4)")
    sub.add_parser("keys", help="list every config key with its default and help")
    v = sub.add_parser("review", help="serve a run's review queue as a web page, add reviewers, export/import verdicts")
    v.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory with review/queue.sqlite")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    v.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    v.add_argument("--add-reviewer", metavar="NAME", help="register a reviewer and print their token (shown once)")
    v.add_argument("--export", type=Path, metavar="FILE", help="write every queued row and its verdict")
    v.add_argument("--import", dest="import_", type=Path, metavar="FILE", help="record verdicts from a file")
    v.add_argument("--exchange", choices=["jsonl", "argilla", "label-studio"], default="jsonl",
                   help="the file format of --export/--import: flat JSONL lines (default), Argilla records "
                        "(rg.Dataset.records to_json/from_json) or Label Studio tasks with predictions and annotations")
    rep = sub.add_parser("report", help="write RUN_DIR/report.html from the run directory (and refresh the card)")
    rep.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    from seedfactory.export import OUT_HELP

    x = sub.add_parser("export", help="the run's student as a merged safetensors folder or a GGUF file")
    x.add_argument("run_dir", type=Path, help="a run directory with a trained adapter/")
    x.add_argument("--format", choices=["merged", "gguf"], default="merged")
    x.add_argument("--quant", default="q8_0", help="GGUF tensor type: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1")
    x.add_argument("--out", type=Path, help=OUT_HELP)
    _add_runs_parser(sub)
    from seedfactory import compare, push, serve, tune

    tune.add_parser(sub)
    serve.add_parser(sub)
    compare.add_parser(sub)
    push.add_parser(sub)
    return p


def _add_runs_parser(sub) -> None:
    r = sub.add_parser("runs", help="list a run directory's training rounds (continuous fine-tuning history)")
    r.add_argument("run_dir", type=Path, metavar="RUN_DIR")


def runs_command(args) -> int:
    """`seedfactory runs RUN_DIR`: one line per training round in RUN_DIR/train/rounds/."""
    from seedfactory.train.rounds import list_rounds, rounds_table

    if not (args.run_dir / "config.yaml").is_file():
        raise SeedfactoryError(f"{args.run_dir}: not a run directory (no config.yaml)")
    rounds = list_rounds(args.run_dir / "train" / "rounds")
    if not rounds:
        print(f"{args.run_dir}: no training rounds yet")
        return 0
    print(rounds_table(rounds))
    return 0


def open_store(queue: Path, schema: dict | None, cfg: RunConfig):
    """The review queue with the run's lease length and overlap share."""
    from seedfactory.review import ReviewStore

    return ReviewStore(queue, schema=schema, overlap=cfg.review.overlap, lease_minutes=cfg.review.lease_minutes)


def review_command(args) -> int:
    """`seedfactory review RUN_DIR ...`: the run's own config sets leases and overlap."""
    from seedfactory.review import ReviewError
    from seedfactory.review.exchange import export_verdicts, import_verdicts

    queue = args.run_dir / "review" / "queue.sqlite"
    if not queue.is_file():
        raise ReviewError(f"{queue}: no review queue; run `seedfactory run --out {args.run_dir}` first")
    schema_file = args.run_dir / "split" / "schema.json"
    schema = load_schema(schema_file) if schema_file.is_file() else None
    config = args.run_dir / "config.yaml"
    with open_store(queue, schema, load_config(config if config.is_file() else None)) as store:
        if args.add_reviewer:
            token = store.add_reviewer(args.add_reviewer)
            print(f"reviewer {args.add_reviewer}: token {token}\n(shown once; only its hash is kept)")
            return 0
        if args.export:
            print(f"exported {export_verdicts(store, args.export, args.exchange)} rows to {args.export}")
            return 0
        if args.import_:
            counts = import_verdicts(store, args.import_, args.exchange)
            print(f"imported {sum(counts.values())} verdicts from {args.import_}: {counts}")
            return 0
        if not store.reviewers():
            raise ReviewError(f"no reviewers yet: add one with `seedfactory review {args.run_dir} --add-reviewer NAME`")
        from seedfactory.review.rows import RowContext
        from seedfactory.review.web import create_app, serve

        app = create_app(store, RowContext.load(args.run_dir, schema))
        print(f"review page: http://{args.host}:{args.port}/  ({store.counts()['pending']} rows pending; "
              "Ctrl-C stops)", flush=True)
        serve(app, args.host, args.port)
    return 0


def kept_lines(stages: dict) -> list[str]:
    """The strategies' (and topics', personas') share of kept rows: candidates > validate > judge > publish."""
    from seedfactory.report.reader import kept_rows

    lines = []
    for dim, rows in kept_rows(stages).items():
        lines.append(f"kept rows per {dim} (candidates > validate > judge > publish, share of the last):")
        lines += [f"  {r[0][:60]:<60} {' > '.join('-' if n is None else str(n) for n in r[1:5])}  {r[5]:.1%}"
                  for r in rows]
    return lines


def summary(stats: dict, out: Path) -> str:
    lines = [f"run directory: {out}", "", f"{'stage':<10}{'in':>6}{'out':>6}{'seconds':>9}  dropped"]
    for name, st in stats["stages"].items():
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(st.get("rejected", {}).items(), key=lambda kv: -kv[1]))
        lines.append(f"{name:<10}{st.get('in', ''):>6}{st.get('out', ''):>6}{st.get('seconds', 0):>9}  {dropped}")
    tok = stats.get("tokens", {})
    lines.append(f"total {stats['seconds']} s; teacher/judge tokens: {tok.get('prompt_tokens', 0)} prompt, "
                 f"{tok.get('completion_tokens', 0)} completion; {stats['rejects']} rows in rejects.jsonl")
    for model, t in stats.get("tokens_by_model", {}).items():
        lines.append(f"  {model}: {t.get('requests_sent', 0)} requests ({t.get('attempts', 0)} attempts), "
                     f"{t.get('prompt_tokens', 0)} prompt + {t.get('completion_tokens', 0)} completion tokens, "
                     f"cost {t.get('cost', 0):.4f}")
    lines += kept_lines(stats["stages"])
    lines += time_lines(stats)
    ev = out / "eval.json"
    if ev.is_file():
        from seedfactory.util.files import read_json

        e = read_json(ev)
        figures = ", ".join(f"{k} {e[k]['value']:.3f}" for k in ("base", "sft", "dpo", "teacher") if k in e)
        lines.append(f"eval ({e['base']['metric']}, n={e['base']['n']}): {figures}")
    if (out / "report.html").is_file():
        lines.append(f"report: {out / 'report.html'}")
    return "\n".join(lines)


def report_command(args) -> int:
    from seedfactory.report import build_report

    print(build_report(args.run_dir))
    return 0


def export_command(args) -> int:
    from seedfactory.export import export_run

    print(export_run(args.run_dir, args.format, args.quant, args.out))
    return 0


def keys_command(args) -> int:
    print("\n".join(config_help()))
    return 0


def run_command(args) -> int:
    config_path = None
    overrides = list(args.args)
    if overrides and "=" not in overrides[0]:
        config_path = overrides.pop(0)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cfg = load_config(config_path, overrides)
    out = args.out or Path("runs") / Path(cfg.seeds.path).stem
    if args.dry_run:
        from seedfactory.dryrun import dry_run, render

        print(render(dry_run(cfg, out, args.sample, progress=not args.no_progress)))
        return 0
    from seedfactory.pipeline import run

    stats = run(cfg, out, progress=not args.no_progress, until=args.until, watch=args.watch)
    print(summary(stats, out))
    if "stopped" in stats:
        print(f"seedfactory: stopped cleanly at the budget cap: {stats['stopped']}", file=sys.stderr)
        return 3
    return 0


def _command(name: str):
    """The function that runs subcommand `name` (tune and serve live in their own modules)."""
    if name in ("tune", "serve", "compare", "push"):
        from seedfactory import compare, push, serve, tune

        return {"tune": tune.command, "serve": serve.command, "compare": compare.command, "push": push.command}[name]
    return {"run": run_command, "keys": keys_command, "review": review_command, "runs": runs_command,
            "report": report_command, "export": export_command}[name]


# A user's mistake: our own error type (a bad key, a damaged file, a server outage, a refused
# export), or a path the system refused (missing, not a folder, no permission, disk full).
# Anything else is a bug and keeps its traceback.
USER_ERRORS = (SeedfactoryError, OSError)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command not in ("run", "tune") and extra or any(a.startswith("-") for a in extra):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:  # overrides may come after --out and friends
        if args.command == "tune":
            args.overrides = list(args.overrides) + extra
        else:
            args.args = list(args.args) + extra
    try:
        return _command(args.command)(args)
    except USER_ERRORS as e:  # one line, no traceback
        print("seedfactory: " + "; ".join(line.strip() for line in str(e).splitlines() if line.strip()),
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
