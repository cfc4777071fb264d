"""The `callytics` command: analyse recordings, browse stored calls, manage API keys and models,
run backfill jobs."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from callytics_ray.errors import CallyticsError, ConfigError
from callytics_ray.export import FORMATS, render
from callytics_ray.settings import Settings, serve_app_settings

logger = logging.getLogger("callytics_ray.cli")


class CliError(Exception):
    """A one-line error for the user; exits with status 1."""


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    settings = Settings(**overrides)
    if getattr(args, "model", None):
        settings.asr.model = args.model
    if getattr(args, "language", None):
        settings.asr.options.language = args.language
    return settings


def _store(settings: Settings):
    from callytics_ray.storage import CallStore

    return CallStore.from_url(settings.database_url, echo=settings.storage.echo_sql)


# --- analyze -------------------------------------------------------------------------------------


def cmd_analyze(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from callytics_ray.pipeline import STAGES, LocalStages, analyze_file

    settings = _settings(args)
    missing = [p for p in args.files if not p.is_file()]
    if missing:
        raise CliError(f"no such file: {missing[0]}")
    store = None if args.no_store else _store(settings)
    vocabulary, tenant_version = _vocabulary(args.vocabulary, store)
    stages = LocalStages(settings)
    console = Console(stderr=True, soft_wrap=True)
    failures = 0
    for path in args.files:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
            console=console, transient=not console.is_terminal, disable=args.quiet,
        ) as progress:
            tasks = {s: progress.add_task(f"{path.name}: {s}", total=1, start=False) for s in STAGES}

            def hook(stage: str, event: str, seconds: float) -> None:
                task = tasks.get(stage)
                if task is None:
                    tasks[stage] = task = progress.add_task(f"{path.name}: {stage}", total=1, start=False)
                if event == "start":
                    progress.start_task(task)
                else:
                    progress.update(task, completed=1, description=f"{path.name}: {stage} {event} ({seconds:.1f} s)")

            try:
                analysis = analyze_file(
                    path, settings, stages=stages, store=store, hook=hook,
                    language=args.language, layout=args.layout,
                    agent_id=args.agent_id, customer_id=args.customer_id,
                    vocabulary=vocabulary, tenant_vocabulary_version=tenant_version,
                )
            except CallyticsError as err:
                failures += 1
                console.print(f"callytics: {path}: {err}", style="red", highlight=False)
                continue
        _emit(analysis, args.format, args.out, path)
        if analysis.errors:
            failures += 1
            console.print(f"callytics: {path}: stored as incomplete: {analysis.errors}", style="yellow", highlight=False)
        elif not args.quiet:
            console.print(
                f"{path.name}: call {analysis.call_id}, {analysis.audio.duration_s:.1f} s, "
                f"language {analysis.language} ({analysis.language_probability:.2f}), "
                f"{len(analysis.segments)} segments", highlight=False,
            )
    return 1 if failures else 0


def _vocabulary(given: list[str], store) -> tuple[tuple[str, ...], int | None]:
    """The terms the CLI's calls are recognised with: `--vocabulary`, then the stored vocabulary of
    the tenant the CLI stores calls under, as the gateway merges them; and that vocabulary's version."""
    from pydantic import TypeAdapter, ValidationError

    from callytics_ray.vocabulary import RequestTerms, merge_terms, parse_terms

    try:
        terms = TypeAdapter(RequestTerms).validate_python([t for value in given for t in parse_terms(value)])
    except (ValidationError, ValueError) as err:
        raise CliError(f"--vocabulary: {err}") from err
    if store is None:
        return tuple(terms), None
    stored = store.get_vocabulary(tenant="default")  # analyze stores calls under CallRequest's default tenant
    return merge_terms(terms, stored.terms), stored.version


def _emit(analysis, fmt: str, out: Path | None, source: Path) -> None:
    rendered = render(analysis, fmt)
    if out is None:
        sys.stdout.write(rendered if rendered.endswith("\n") else rendered + "\n")
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{source.stem}.{fmt}").write_text(rendered, encoding="utf-8")


# --- calls ---------------------------------------------------------------------------------------


def cmd_calls_list(args: argparse.Namespace) -> int:
    from callytics_ray.storage import CallFilter

    filters = CallFilter(
        tenant=args.tenant, language=args.language, agent_id=args.agent_id, sentiment=args.sentiment,
        status=args.status, min_duration_s=args.min_duration, max_duration_s=args.max_duration,
        created_after=args.since, created_before=args.until,
    )
    page = _store(_settings(args)).list_calls(filters, limit=args.limit, offset=args.offset)
    if args.json:
        print(page.model_dump_json(indent=2))
        return 0
    for c in page.items:
        duration = f"{c.duration_s:7.1f}s" if c.duration_s is not None else "      -"
        print(f"{c.id}  {c.created_at:%Y-%m-%d %H:%M}  {c.status:<10} {duration}  {c.language or '-':<3} {c.source_name or ''}")
    print(f"{len(page.items)} of {page.total} calls", file=sys.stderr)
    return 0


def cmd_calls_show(args: argparse.Namespace) -> int:
    store = _store(_settings(args))
    record = store.get_call(args.call_id)
    print(record.model_dump_json(indent=2))
    for state in store.stage_states(args.call_id):
        print(f"  {state.stage:<12} {state.status:<8} attempts={state.attempts} {state.error or ''}", file=sys.stderr)
    return 0


def cmd_calls_export(args: argparse.Namespace) -> int:
    analysis = _store(_settings(args)).get_analysis(args.call_id)
    rendered = render(analysis, args.format)
    if args.out:
        args.out.write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered if rendered.endswith("\n") else rendered + "\n")
    return 0


def cmd_calls_search(args: argparse.Namespace) -> int:
    hits = _store(_settings(args)).search(args.query, tenant=args.tenant, limit=args.limit)
    for h in hits:
        print(f"{h.call_id}  {h.start:7.2f}-{h.end:7.2f}  {h.speaker or '-':<12} {h.text}")
    print(f"{len(hits)} matches", file=sys.stderr)
    return 0


def cmd_calls_delete(args: argparse.Namespace) -> int:
    _store(_settings(args)).delete_call(args.call_id)
    print(f"deleted {args.call_id}", file=sys.stderr)
    return 0


# --- keys and models -----------------------------------------------------------------------------


def cmd_keys_create(args: argparse.Namespace) -> int:
    from callytics_ray.storage.keys import create_api_key

    scopes = tuple(s.strip() for s in args.scopes.split(",") if s.strip())
    secret, record = create_api_key(_store(_settings(args)).engine, tenant=args.tenant, scopes=scopes, name=args.name)
    print(secret)
    print(f"key {record.prefix} for tenant {record.tenant} with scopes {','.join(record.scopes)}; "
          "the secret above is shown only once", file=sys.stderr)
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from callytics_ray.storage.keys import revoke_api_key

    if not revoke_api_key(_store(_settings(args)).engine, args.prefix):
        raise CliError(f"no key with prefix {args.prefix}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The gateway and its console on this machine, every stage in-process (no Ray)."""
    import uvicorn

    from callytics_ray.api import build_local_app
    from callytics_ray.storage.keys import create_api_key, has_active_key

    settings = _settings(args)
    store = _store(settings)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base = f"http://{f'[{host}]' if ':' in host else host}:{args.port}"
    print(f"Callytics console: {base}/console   (API docs: {base}/docs)")
    if not settings.api.auth_required:
        print("auth is off (CALLYTICS_API__AUTH_REQUIRED=false): the console signs in with any key")
    elif args.new_key or not has_active_key(store.engine):
        secret, record = create_api_key(store.engine, tenant=args.tenant, scopes=("submit", "read", "admin"),
                                        name="callytics serve")
        print(f"API key for tenant {record.tenant} (submit, read, admin; shown only once): {secret}")
    else:
        print("sign in with an API key from `callytics keys create --tenant T` (or run with --new-key)")
    sys.stdout.flush()
    uvicorn.run(build_local_app(settings, store=store), host=args.host, port=args.port,
                log_level="warning" if args.verbose == 0 else "info")
    return 0


def cmd_models_resolve(args: argparse.Namespace) -> int:
    from callytics_ray.model_store import resolve_model

    settings = _settings(args)
    print(resolve_model(args.ref, kind=args.kind, cache_dir=settings.cache_dir, offline=settings.offline))
    return 0


def cmd_models_prefetch(args: argparse.Namespace) -> int:
    """Resolve every model the settings (or a Serve config's application) name, downloading hub
    models into the cache: run it where the hub is reachable, e.g. while building an image."""
    from callytics_ray.errors import ModelNotFoundError
    from callytics_ray.model_store import configured_models, resolve_model

    settings = _serve_config_settings(args.serve_config) if args.serve_config else _settings(args)
    failed = 0
    for kind, ref in configured_models(settings):
        try:
            path = resolve_model(ref, kind=kind, cache_dir=settings.cache_dir, offline=False)
        except ModelNotFoundError as err:
            failed += 1
            print(f"{kind:<20} {ref}: {err}", file=sys.stderr)
            continue
        print(f"{kind:<20} {ref} -> {path}")
        if kind == "sentence-embedding":
            failed += _prefetch_onnx_export(ref, path, settings)
    # The punctuation stage's true-casing statistics, as the SQLite store it reads at run time.
    from callytics_ray.punctuation.truecase_store import ensure_store

    try:
        print(f"{'truecase':<20} english.dist -> {ensure_store(settings.cache_dir)}")
    except (ImportError, RuntimeError, OSError) as err:
        failed += 1
        print(f"{'truecase':<20} english.dist: {err}", file=sys.stderr)
    if failed:
        raise CliError(f"{failed} model(s) could not be fetched (see above)")
    return 0


def _prefetch_onnx_export(ref: str, path: Path, settings: Settings) -> int:
    """Make the ONNX export a CPU encoder runs from (else the first replica makes it); 1 if it failed."""
    from callytics_ray.errors import ModelNotFoundError
    from callytics_ray.text.encoder import encoder_runtime
    from callytics_ray.text.onnx_export import ensure_export

    if encoder_runtime(settings.sentiment.encoder_runtime, settings.sentiment.device)[0] != "onnxruntime":
        return 0
    try:
        print(f"{'sentence-onnx':<20} {ref} -> {ensure_export(path, settings.cache_dir)}")
    except ModelNotFoundError as err:
        print(f"{'sentence-onnx':<20} {ref}: {err}", file=sys.stderr)
        return 1
    return 0


def _serve_config_settings(path: Path) -> Settings:
    """The Settings of the callytics application in a Serve config file."""
    import yaml

    try:
        return serve_app_settings(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError, ConfigError) as err:
        raise CliError(f"{path}: {err}") from err


def cmd_models_list(args: argparse.Namespace) -> int:
    from callytics_ray.model_store import BUNDLED

    for name, bundled in BUNDLED.items():
        print(f"bundled:{name:<22} {bundled.kind:<20} pip install {bundled.pip_name}")
    return 0


# --- parser --------------------------------------------------------------------------------------


def _datetime(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {value!r}") from err


def _backfill_pipeline(store, settings: Settings):
    """Re-analysis and redacted-copy backfills over the stages in this process."""
    import functools

    from callytics_ray.api.stored import load_call_request
    from callytics_ray.backfill.audio import PipelineChunkExecutor
    from callytics_ray.pipeline import LocalStages
    from callytics_ray.pipeline.assessment import item_judge

    return PipelineChunkExecutor(store, LocalStages(settings), settings, functools.partial(load_call_request, store),
                                 concurrency=settings.backfill.audio_concurrency, judge=item_judge(settings))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callytics", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    parser.add_argument("--database-url", help="overrides CALLYTICS_DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True)

    analyze = sub.add_parser("analyze", help="analyse recordings and store the results")
    analyze.add_argument("files", nargs="+", type=Path, metavar="FILE")
    analyze.add_argument("--model", help="speech model: bundled:whisper-base, bundled:whisper-tiny.en, a directory or a faster-whisper name")
    analyze.add_argument("--language", help="language hint, e.g. en or ko (default: detect)")
    analyze.add_argument("--layout", choices=("auto", "mono", "dual"), help="channel layout (default: auto)")
    analyze.add_argument("--format", choices=FORMATS, default="txt")
    analyze.add_argument("--out", type=Path, help="write <name>.<format> files here instead of stdout")
    analyze.add_argument("--vocabulary", action="append", default=[], metavar="TERMS",
                         help="terms the calls may contain (product names, people, jargon), comma-separated or "
                              "repeated; the stored tenant vocabulary is added after them")
    analyze.add_argument("--agent-id")
    analyze.add_argument("--customer-id")
    analyze.add_argument("--no-store", action="store_true", help="do not store results")
    analyze.add_argument("-q", "--quiet", action="store_true")
    analyze.set_defaults(func=cmd_analyze)

    calls = sub.add_parser("calls", help="stored calls").add_subparsers(dest="calls_command", required=True)
    lst = calls.add_parser("list")
    for flag in ("--tenant", "--language", "--agent-id", "--sentiment", "--status"):
        lst.add_argument(flag)
    lst.add_argument("--min-duration", type=float)
    lst.add_argument("--max-duration", type=float)
    lst.add_argument("--since", type=_datetime)
    lst.add_argument("--until", type=_datetime)
    lst.add_argument("--limit", type=int, default=50)
    lst.add_argument("--offset", type=int, default=0)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_calls_list)
    show = calls.add_parser("show")
    show.add_argument("call_id")
    show.set_defaults(func=cmd_calls_show)
    export = calls.add_parser("export")
    export.add_argument("call_id")
    export.add_argument("--format", choices=FORMATS, default="json")
    export.add_argument("--out", type=Path)
    export.set_defaults(func=cmd_calls_export)
    search = calls.add_parser("search")
    search.add_argument("query")
    search.add_argument("--tenant")
    search.add_argument("--limit", type=int, default=20)
    search.set_defaults(func=cmd_calls_search)
    delete = calls.add_parser("delete")
    delete.add_argument("call_id")
    delete.set_defaults(func=cmd_calls_delete)

    keys = sub.add_parser("keys", help="API keys for the HTTP gateway").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create")
    create.add_argument("--tenant", required=True)
    create.add_argument("--scopes", default="submit,read", help="comma-separated: submit,read,admin")
    create.add_argument("--name")
    create.set_defaults(func=cmd_keys_create)
    revoke = keys.add_parser("revoke")
    revoke.add_argument("prefix")
    revoke.set_defaults(func=cmd_keys_revoke)

    serve = sub.add_parser("serve", help="the HTTP gateway and its web console on this machine (no Ray)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--tenant", default="default", help="tenant of the key created when there is none")
    serve.add_argument("--new-key", action="store_true", help="create and print a new key even if one exists")
    serve.set_defaults(func=cmd_serve)

    from callytics_ray.backfill.command import add_commands as add_backfill_commands

    def store_and_settings(args: argparse.Namespace):
        settings = _settings(args)
        return _store(settings), settings

    add_backfill_commands(sub, store_and_settings, _datetime, _backfill_pipeline)

    models = sub.add_parser("models", help="model references").add_subparsers(dest="models_command", required=True)
    models.add_parser("list").set_defaults(func=cmd_models_list)
    resolve = models.add_parser("resolve", help="print the local directory of a model reference")
    resolve.add_argument("ref")
    resolve.add_argument("--kind", default="whisper")
    resolve.set_defaults(func=cmd_models_resolve)
    prefetch = models.add_parser("prefetch", help="resolve (and download) every model the settings name")
    prefetch.add_argument("--serve-config", type=Path, help="take the settings of this Serve config's application")
    prefetch.set_defaults(func=cmd_models_prefetch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    # Our progress is one line per stage; the libraries' tqdm bars (transformers' "Loading
    # weights", hub downloads) would interleave with it on stderr. tqdm reads TQDM_* once, when
    # it is first imported, which no module of the CLI does at import time: so here, before any.
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (CallyticsError, CliError, ValueError) as err:
        # One line, whatever the message (YAML and pydantic errors span several).
        print(f"callytics: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("callytics: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
