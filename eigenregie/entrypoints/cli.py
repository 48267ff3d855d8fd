"""`prb`: run, serve, work, relay, migrate, issue dev tokens, handle dead letters, and the deploy scripts for
ops (municipality, partners, db backup|restore, workers drain|resume, health all; logic in eigenregie/ops*.py)."""

from __future__ import annotations

import argparse
import gc
import getpass
import importlib
import signal
import sys
from datetime import timedelta
from pathlib import Path

from eigenregie.bootstrap import SERVICES, build_runtime
from shared.access import PARTNER_SCOPES
from shared.config import Settings, get_settings
from shared.logging import configure_logging
from shared.metrics import serve_metrics, watch_outboxes
from shared.tracing import configure as configure_tracing


def _services(names: list[str] | None) -> list[str]:
    chosen = names or list(SERVICES)
    unknown = [n for n in chosen if n not in SERVICES]
    if unknown:
        raise SystemExit(f"prb: unknown service {unknown[0]!r}; choose from {', '.join(SERVICES)}")
    return chosen


def cmd_migrate(args: argparse.Namespace) -> None:
    from shared.migrations import upgrade

    runtime = build_runtime(get_settings())
    for service in _services(args.services):
        upgrade(runtime.engine, service, runtime.spec(service).migrations)
        print(f"migrated {service}")


def cmd_revision(args: argparse.Namespace) -> None:
    from shared.migrations import revision, upgrade

    runtime = build_runtime(get_settings())
    migrations = runtime.spec(args.service).migrations
    upgrade(runtime.engine, args.service, migrations)
    revision(runtime.engine, args.service, migrations, args.message)


def cmd_demo(_args: argparse.Namespace) -> None:
    from eigenregie.initial_data import load_demo_data

    settings = get_settings()
    if not settings.embedded or settings.environment not in ("dev", "test"):
        raise SystemExit("prb: demo data loads only in embedded dev mode")
    print(load_demo_data(build_runtime(settings)))


def cmd_run(args: argparse.Namespace) -> None:
    """Embedded: migrate, load demo data once, serve everything on one port."""
    import uvicorn

    from eigenregie.entrypoints.web import create_app
    from shared.migrations import upgrade

    settings = get_settings()
    if not settings.embedded:
        raise SystemExit("prb run is the embedded mode; unset BROKER_URL, or use prb serve/worker/relay/beat")
    require_signing_keys(settings)
    configure_logging(settings.log_level, settings.log_json)
    configure_tracing(settings, process="embedded")
    runtime = build_runtime(settings)
    for service in SERVICES:
        upgrade(runtime.engine, service, runtime.spec(service).migrations)
    if not args.no_demo:
        from eigenregie.initial_data import load_demo_data

        print(load_demo_data(runtime), flush=True)
    app = create_app(runtime, embedded=True)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from eigenregie.entrypoints.web import create_app

    settings = get_settings()
    require_signing_keys(settings)
    configure_logging(settings.log_level, settings.log_json, service=args.service)
    configure_tracing(settings, process="api", service=args.service)
    runtime = build_runtime(settings, services=[args.service])
    app = create_app(runtime, embedded=False)
    serve_metrics(settings.metrics_port)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False, workers=None)


def require_signing_keys(settings: Settings) -> None:
    """A process that issues or validates tokens starts only with real signing keys (or a JWKS URL)
    in acceptance and production; a malformed key stops it in every environment."""
    from shared.signing_keys import require_configured

    require_configured(settings)


def _require_broker(settings: Settings, what: str) -> None:
    if settings.embedded:
        raise SystemExit(f"prb {what} needs BROKER_URL (Redis) and DATABASE_URL (PostgreSQL)")


def _freeze_startup_objects() -> None:
    """Move everything loaded at start-up out of the collector's reach: full collections in
    long-running workers then take ~15 ms instead of ~100-280 ms (docs/performance.md)."""
    gc.collect()
    gc.freeze()


def cmd_worker(args: argparse.Namespace) -> None:
    from eigenregie.entrypoints.worker import build_celery
    from shared.bus.consumer import tally

    settings = get_settings()
    _require_broker(settings, "worker")
    require_signing_keys(settings)
    configure_logging(settings.log_level, settings.log_json, service=args.service)
    configure_tracing(settings, process="worker", service=args.service)
    tally.seconds = settings.log_consumed_every_seconds
    app = build_celery((args.service,))
    serve_metrics(settings.metrics_port)
    _freeze_startup_objects()
    app.worker_main(
        [
            "worker",
            "--queues",
            args.service,
            "--hostname",
            f"{args.service}@%h",
            "--pool",
            args.pool,
            "--concurrency",
            str(args.concurrency),
            "--loglevel",
            settings.log_level,
            "--without-gossip",
            "--without-mingle",
        ]
    )


def cmd_beat(_args: argparse.Namespace) -> None:
    from celery.beat import PersistentScheduler

    from eigenregie.entrypoints.worker import build_celery
    from shared.health import Heartbeat, heartbeat_path

    settings = get_settings()
    _require_broker(settings, "beat")
    configure_logging(settings.log_level, settings.log_json, service="beat")
    app = build_celery()
    app.conf.beat_max_loop_interval = 5  # tick (and beat the heart) at least every 5 s
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    heartbeat = Heartbeat(heartbeat_path(settings.data_dir, "beat"))
    serve_metrics(settings.metrics_port)

    class HeartbeatScheduler(PersistentScheduler):
        """Celery's scheduler; each tick also rewrites the heartbeat that `prb health beat` reads."""

        def tick(self, *args, **kwargs):
            interval = super().tick(*args, **kwargs)
            heartbeat(None)
            return interval

    app.Beat(
        loglevel=settings.log_level,
        schedule=str(settings.data_dir / "celerybeat-schedule"),
        scheduler=HeartbeatScheduler,
    ).run()


def cmd_health(args: argparse.Namespace) -> None:
    """One line and exit 0 (healthy) or 1: for Docker HEALTHCHECK and Kubernetes exec probes."""
    if args.component == "all":
        cmd_health_all(args)
    healthy, reason = _health(args, get_settings())
    print(reason, flush=True)
    raise SystemExit(0 if healthy else 1)


def _health(args: argparse.Namespace, settings: Settings) -> tuple[bool, str]:
    import socket

    from eigenregie import ops

    if args.component in ("relay", "beat"):
        return ops.heartbeat_health(settings, args.component)
    if args.component == "worker":
        if not args.service:
            return False, "worker: name the service, e.g. prb health worker budget"
        return ops.worker_health(settings, args.service, args.hostname or socket.gethostname(), args.timeout)
    return ops.api_health(args.url)


def cmd_health_all(args: argparse.Namespace) -> None:
    from eigenregie import ops

    healthy, lines = ops.health_all(
        get_settings(), SERVICES, args.api_url or ["http://127.0.0.1:8000"], skip=args.skip or (), timeout=args.timeout
    )
    print("\n".join(lines), flush=True)
    raise SystemExit(0 if healthy else 1)


def cmd_relay(args: argparse.Namespace) -> None:
    from shared.bus.celery_app import CeleryPublisher, make_celery
    from shared.bus.relay import OutboxRelay
    from shared.health import Heartbeat, heartbeat_path

    settings = get_settings()
    _require_broker(settings, "relay")
    configure_logging(settings.log_level, settings.log_json, service="relay")
    configure_tracing(settings, process="relay")
    runtime = build_runtime(settings)
    relay = OutboxRelay(
        runtime.engine,
        _services(args.services),
        CeleryPublisher(make_celery(settings)),
        poll_seconds=settings.relay_poll_seconds,
        batch_size=settings.relay_batch_size,
        redeliver_after_seconds=settings.redeliver_after_seconds,
        redeliver_max_seconds=settings.redeliver_max_seconds,
        sweep_seconds=settings.relay_sweep_seconds,
        linger_seconds=settings.relay_linger_seconds,
        heartbeat=Heartbeat(heartbeat_path(settings.data_dir, "relay")),
    )
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    watch_outboxes(runtime.engine, relay.services)
    serve_metrics(settings.metrics_port)
    _freeze_startup_objects()
    relay.run_forever()


def cmd_token(args: argparse.Namespace) -> None:
    from shared.auth import Principal, issue_token

    settings = get_settings()
    if settings.environment not in ("dev", "test"):
        raise SystemExit(
            f"prb token issues development tokens only (PRB_ENVIRONMENT=dev or test), not in "
            f"{settings.environment}: people log in through OpenID Connect there"
        )
    try:
        principal = Principal(
            subject=args.subject or f"{args.role}-{args.municipality}",
            role=args.role,
            municipality=args.municipality,
            client_id=args.client_id,
            provider_id=args.provider_id,
            scopes=tuple(args.scope or ()),
            organisation_kvk=args.organisation_kvk,
        )
    except ValueError as exc:
        raise SystemExit(f"prb token: {exc}") from None
    if principal.is_client_side() and not principal.client_id:
        raise SystemExit("prb token: --client-id is required for a client or representative token")
    if principal.role == "provider" and not principal.provider_id:
        raise SystemExit("prb token: --provider-id is required for a provider token")
    print(issue_token(principal, settings, timedelta(minutes=args.ttl_minutes or settings.token_ttl_minutes)))


def _publisher_for_replay(settings: Settings):

    if settings.embedded:
        from shared.bus.embedded import InProcessPublisher

        runtime = build_runtime(settings)
        return runtime, InProcessPublisher(
            runtime.engine, runtime.handlers_by_service(), max_attempts=settings.event_max_attempts, clock=runtime.clock
        )
    from shared.bus.celery_app import CeleryPublisher, make_celery

    return build_runtime(settings), CeleryPublisher(make_celery(settings))


def cmd_dead_letters(args: argparse.Namespace) -> None:
    from shared.bus.dead_letters import list_dead_letters

    letters = list_dead_letters(build_runtime(get_settings()).engine, service=args.service, include_replayed=args.all)
    if not letters:
        print("no dead letters")
        return
    print(f"{'id':36}  {'service':13}  {'event type':18}  {'tries':5}  {'created':19}  reason")
    for letter in letters:
        replayed = " (replayed)" if letter.replayed_at else ""
        print(
            f"{letter.id:36}  {letter.service:13}  {(letter.event_type or '?'):18}  {letter.attempts:5}  "
            f"{letter.created_at:%Y-%m-%d %H:%M:%S}  {letter.reason[:120]}{replayed}"
        )


def cmd_replay(args: argparse.Namespace) -> None:
    from shared.bus.dead_letters import DeadLetterNotFound, replay_dead_letter

    runtime, publisher = _publisher_for_replay(get_settings())
    try:
        letter = replay_dead_letter(
            runtime.engine, args.id, publisher, recheck_after_seconds=runtime.settings.redeliver_after_seconds
        )
    except DeadLetterNotFound as exc:
        raise SystemExit(f"prb events replay: {exc}") from None
    print(f"replayed {letter.id}: {letter.event_type} to {letter.service}")


def cmd_webhooks(args: argparse.Namespace) -> None:
    from services.notifications import webhook_delivery

    with build_runtime(get_settings(), services=["notifications"]).uow("notifications") as uow:
        try:
            print(webhook_delivery.ops_command(uow, args.webhooks_command, getattr(args, "id", None)))
        except LookupError as exc:
            raise SystemExit(f"prb webhooks {args.webhooks_command}: {exc}") from None


def _batch_size(text: str) -> int:
    size = int(text)
    if not 1 <= size <= 10_000:
        raise argparse.ArgumentTypeError("give 1 to 10000 rows")
    return size


def cmd_keys(args: argparse.Namespace) -> None:
    from shared import field_crypto

    if args.keys_command == "new-data-key":
        print(field_crypto.new_data_key())
        return
    if args.keys_command == "new-signing-key":
        from shared.signing_keys import new_private_key_pem

        print(new_private_key_pem(args.type), end="")
        return
    from services.intake.data_keys import rotate_client_keys, rotate_handover_keys, rotate_other_keys

    runtime = build_runtime(get_settings(), services=["intake"])
    try:
        for rotate in (rotate_client_keys, rotate_handover_keys):
            print(rotate(runtime.engine, field_crypto.current(), batch_size=args.batch_size), flush=True)
        for rotated in rotate_other_keys(runtime.engine, field_crypto.current(), batch_size=args.batch_size):
            print(rotated, flush=True)
    except field_crypto.UnreadableField as exc:
        raise SystemExit(f"prb keys rotate-data: {exc}") from None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment (a container without one)
        return "unknown"


def cmd_audit(args: argparse.Namespace) -> None:
    import json

    from eigenregie.audit_export import client_trail, record_export, verify_all

    runtime = build_runtime(get_settings())
    if args.audit_command == "export":
        for record in client_trail(runtime, args.municipality, args.client):
            print(json.dumps(record, ensure_ascii=False, sort_keys=True))
        record_export(runtime, args.municipality, args.client, f"cli:{args.operator or _os_user()}")
        return
    results = verify_all(runtime, args.municipality)
    print(json.dumps(results, indent=2, sort_keys=True))
    if not all(result["ok"] for result in results.values()):
        raise SystemExit(1)


# --- deploy scripts for ops (docs/operations.md, "Deploy scripts"); the logic is in eigenregie/ops*.py


def cmd_municipality(args: argparse.Namespace) -> None:
    from eigenregie import ops

    if args.municipality_command == "presets":
        print("\n".join(ops.list_presets()))
        return
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)  # log lines to stderr, the result to stdout
    runtime = build_runtime(settings, services=["intake", "budget"])
    print(
        "\n".join(
            ops.create_municipality(
                runtime,
                code=args.code,
                name=args.name,
                preset=args.preset,
                maximum=args.maximum,
                iban=args.iban,
                bic=args.bic,
                by=args.by,
                replace_existing=args.replace,
            )
        )
    )


def cmd_partners(args: argparse.Namespace) -> None:
    from eigenregie import ops

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)  # log lines to stderr, the secret to stdout only
    runtime = build_runtime(settings, services=["intake"])
    command = args.partners_command
    if command == "register":
        lines = ops.register_partner(
            runtime,
            municipality=args.municipality,
            name=args.name,
            kvk=args.kvk,
            kind=args.kind,
            scopes=args.scope,
            by=args.by,
        )
    elif command == "rotate":
        lines = ops.rotate_partner(runtime, municipality=args.municipality, app_id=args.id, by=args.by)
    elif command == "revoke":
        lines = ops.revoke_partner(runtime, municipality=args.municipality, app_id=args.id, by=args.by)
    else:
        lines = ops.list_partners(runtime, municipality=args.municipality)
    print("\n".join(lines), flush=True)


def cmd_db_backup(args: argparse.Namespace) -> None:
    from eigenregie.ops_backup import backup

    settings = get_settings()
    print("\n".join(backup(settings.effective_database_url, args.to, list(SERVICES), force=args.force)))


def cmd_db_restore(args: argparse.Namespace) -> None:
    from eigenregie.ops_backup import restore

    lines = restore(args.source, args.to_url, list(SERVICES), force=args.force, no_owner=args.no_owner)
    print("\n".join(lines))


def cmd_workers(args: argparse.Namespace) -> None:
    from eigenregie import ops
    from shared.bus.celery_app import make_celery

    settings = get_settings()
    _require_broker(settings, f"workers {args.workers_command}")
    control = make_celery(settings).control
    if args.workers_command == "drain":
        result = ops.drain_workers(control, args.service, timeout=args.timeout)
        print("\n".join(result.lines), flush=True)
        raise SystemExit(0 if result.drained else 1)
    if args.workers_command == "resume":
        print("\n".join(ops.resume_workers(control, args.service)))
        return
    print("\n".join(ops.worker_status(control, _services(args.services))))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seconds, e.g. 60, not {text!r}") from None
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError("give 0 to 86400 seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prb", description="Eigen Regie: personal reintegration budgets")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="embedded mode: everything in one process on SQLite")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-demo", action="store_true", help="do not load demo data")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("serve", help="distributed mode: one service's API")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="distributed mode: one service's Celery worker")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--pool", default="threads", choices=("threads", "prefork", "solo"))
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("beat", help="distributed mode: the scheduler")
    p.set_defaults(func=cmd_beat)

    p = sub.add_parser("relay", help="distributed mode: move outbox rows to the broker")
    p.add_argument("services", nargs="*")
    p.set_defaults(func=cmd_relay)

    p = sub.add_parser("health", help="probe: exit 0 if healthy, 1 if not, with a one-line reason")
    p.add_argument("component", choices=("relay", "beat", "worker", "api", "all"))
    p.add_argument("service", nargs="?", choices=SERVICES, help="for worker: which service's worker")
    p.add_argument("--hostname", help="worker: the host part of its name (default: this host)")
    p.add_argument("--timeout", type=float, default=3.0, help="worker: seconds to wait for the ping")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="api: where it listens")
    p.add_argument(
        "--api-url", action="append", metavar="URL", help="all: an API to ask /readyz (repeat; default the --url one)"
    )
    p.add_argument(
        "--skip", action="append", choices=("api", "workers", "relay", "beat"), help="all: leave a kind out (repeat)"
    )
    p.set_defaults(func=cmd_health)

    p = sub.add_parser("migrate", help="apply each service's migrations")
    p.add_argument("services", nargs="*")
    p.set_defaults(func=cmd_migrate)

    db = sub.add_parser("db", help="migration tools, backup and restore").add_subparsers(
        dest="db_command", required=True
    )
    p = db.add_parser("revision", help="autogenerate a migration for one service")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("-m", "--message", required=True)
    p.set_defaults(func=cmd_revision)
    p = db.add_parser("backup", help="pg_dump (custom format) of DATABASE_URL; embedded: every SQLite file")
    p.add_argument("--to", required=True, type=Path, metavar="FILE", help="the archive (embedded: a directory)")
    p.add_argument("--force", action="store_true", help="overwrite an existing backup")
    p.set_defaults(func=cmd_db_backup)
    p = db.add_parser("restore", help="pg_restore a backup into a fresh, empty database")
    p.add_argument("--from", dest="source", required=True, type=Path, metavar="FILE")
    p.add_argument("--to-url", required=True, metavar="URL", help="the target database (embedded: sqlite:///...)")
    p.add_argument(
        "--force", action="store_true", help="restore into a database that is not empty (drops what the backup has)"
    )
    p.add_argument("--no-owner", action="store_true", help="owned by the restoring user, without the grants")
    p.set_defaults(func=cmd_db_restore)

    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="demo_command", required=True)
    p = demo.add_parser("load")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("token", help="issue a development bearer token")
    p.add_argument(
        "--role",
        required=True,
        choices=[
            "client",
            "representative",
            "case_manager",
            "team_lead",
            "finance",
            "provider",
            "partner",
            "policy",
            "ops",
        ],
    )
    p.add_argument("--municipality", required=True, help="CBS code, e.g. 0014")
    p.add_argument("--subject", help="who (a staff id); defaults to role-municipality")
    p.add_argument("--client-id")
    p.add_argument("--provider-id")
    p.add_argument(
        "--scope",
        action="append",
        choices=PARTNER_SCOPES,
        help="a partner token's scope (repeat for more); real partners use POST /intake/v1/oauth/token",
    )
    p.add_argument("--organisation-kvk", help="a partner token's organisation (8 digits)")
    p.add_argument("--ttl-minutes", type=int, default=None, help="default: PRB_TOKEN_TTL_MINUTES")
    p.set_defaults(func=cmd_token)

    events = sub.add_parser("events", help="event bus operations").add_subparsers(dest="events_command", required=True)
    p = events.add_parser("dead-letters", help="list dead letters")
    p.add_argument("--service", choices=SERVICES)
    p.add_argument("--all", action="store_true", help="include replayed ones")
    p.set_defaults(func=cmd_dead_letters)
    p = events.add_parser("replay", help="send a dead letter to its service again")
    p.add_argument("id")
    p.set_defaults(func=cmd_replay)

    webhooks = sub.add_parser("webhooks", help="webhooks to partners")
    hooks = webhooks.add_subparsers(dest="webhooks_command", required=True)
    p = hooks.add_parser("failing", help="list paused subscriptions and those failing in a row")
    p.set_defaults(func=cmd_webhooks)
    p = hooks.add_parser("replay", help="queue a failed delivery again")
    p.add_argument("id", metavar="delivery_id")
    p.set_defaults(func=cmd_webhooks)
    p = hooks.add_parser("resume", help="resume a paused subscription")
    p.add_argument("id", metavar="subscription_id")
    p.set_defaults(func=cmd_webhooks)

    keys = sub.add_parser("keys", help="keys of the fields encrypted at rest (docs/operations.md)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    p = key_commands.add_parser(
        "rotate-data", help="encrypt every stored field again under the first PRB_DATA_KEYS key"
    )
    p.add_argument("--batch-size", type=_batch_size, default=500, help="rows per transaction (1-10000)")
    p.set_defaults(func=cmd_keys)
    p = key_commands.add_parser("new-data-key", help="print a new key for PRB_DATA_KEYS")
    p.set_defaults(func=cmd_keys)
    p = key_commands.add_parser("new-signing-key", help="print a new private key (PEM) for PRB_SIGNING_KEYS")
    p.add_argument("--type", choices=("rsa", "ec"), default="rsa", help="RSA 3072 (RS256) or EC P-256 (ES256)")
    p.set_defaults(func=cmd_keys)

    audit = sub.add_parser("audit", help="the audit trail of personal-data access (docs/architecture.md)")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    p = audit_commands.add_parser("export", help="one client's records from every service as JSON lines (art. 15)")
    p.add_argument("--client", required=True, metavar="CLIENT_ID")
    p.add_argument("--municipality", required=True, help="the municipality's CBS code, e.g. 0014")
    p.add_argument("--operator", default=None, help="who exports (recorded in the trail; default: the OS user)")
    p.set_defaults(func=cmd_audit)
    p = audit_commands.add_parser("verify", help="recompute each service's hash chain; exit 1 if one is broken")
    p.add_argument("--municipality", required=True)
    p.set_defaults(func=cmd_audit)
    municipality = sub.add_parser("municipality", help="set up a municipality")
    municipality_commands = municipality.add_subparsers(dest="municipality_command", required=True)
    p = municipality_commands.add_parser("create", help="store its policy and finance policy from a preset")
    p.add_argument("--code", required=True, help="its CBS code, 4 digits, e.g. 0363")
    p.add_argument("--name", required=True, help="e.g. Amsterdam")
    p.add_argument("--preset", required=True, help="a preset's name or code (prb municipality presets)")
    p.add_argument("--maximum", metavar="EUROS", help="the maximum budget of the preset's first scheme, e.g. 5000")
    p.add_argument("--iban", help="the municipality's bank account for payment runs")
    p.add_argument("--bic")
    p.add_argument("--by", default="prb-cli", help="who does it (the policy change log)")
    p.add_argument("--replace", action="store_true", help="overwrite a policy it already has")
    p.set_defaults(func=cmd_municipality)
    p = municipality_commands.add_parser("presets", help="list the presets")
    p.set_defaults(func=cmd_municipality)

    partner = sub.add_parser("partners", help="partner applications (OAuth2 client credentials)")
    partner_commands = partner.add_subparsers(dest="partners_command", required=True)
    p = partner_commands.add_parser("register", help="register one; prints its client id and secret once")
    p.add_argument("--municipality", required=True, help="CBS code, e.g. 0014")
    p.add_argument("--name", required=True)
    p.add_argument("--kvk", required=True, help="the organisation's KvK number (8 digits)")
    p.add_argument("--kind", required=True, help="uwv, reintegration_company, coach, school, employer, ...")
    p.add_argument("--scope", required=True, action="append", help="a scope it may ask for (repeat)")
    p.add_argument("--by", default="prb-cli", help="who does it")
    p.set_defaults(func=cmd_partners)
    for name, text in (("rotate", "a new secret; the old one stops at once"), ("revoke", "it can no longer sign in")):
        p = partner_commands.add_parser(name, help=text)
        p.add_argument("id", help="the application's id (prb partners list)")
        p.add_argument("--municipality", required=True)
        p.add_argument("--by", default="prb-cli")
        p.set_defaults(func=cmd_partners)
    p = partner_commands.add_parser("list", help="the municipality's applications")
    p.add_argument("--municipality", required=True)
    p.set_defaults(func=cmd_partners)

    workers = sub.add_parser("workers", help="drain and resume a service's Celery workers")
    worker_commands = workers.add_subparsers(dest="workers_command", required=True)
    p = worker_commands.add_parser("drain", help="stop taking tasks, wait until the running ones finished")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--timeout", type=_seconds, default=60.0, help="seconds to wait (exit 1 if still busy)")
    p.set_defaults(func=cmd_workers)
    p = worker_commands.add_parser("resume", help="take tasks again")
    p.add_argument("service", choices=SERVICES)
    p.set_defaults(func=cmd_workers)
    p = worker_commands.add_parser("status", help="each worker: taking tasks or drained, how many running")
    p.add_argument("services", nargs="*")
    p.set_defaults(func=cmd_workers)
    return parser


def main(argv: list[str] | None = None) -> None:
    from eigenregie.ops import OpsError
    from eigenregie.ops_backup import OpsFailed

    args = build_parser().parse_args(argv)
    where = " ".join(a for a in (argv if argv is not None else sys.argv[1:])[:2] if not a.startswith("-"))
    try:
        args.func(args)
    except OpsError as exc:  # bad input: the message names the argument
        print(f"prb {where}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except OpsFailed as exc:
        print(f"prb {where}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except ValueError as exc:  # settings that refuse to load, e.g. a default secret in production
        print(f"prb: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    importlib.import_module("eigenregie.entrypoints.cli").main()
