"""Settings from the environment (prefix PRB_, plus DATABASE_URL and BROKER_URL as is).

Embedded mode is what you get with no DATABASE_URL and no BROKER_URL: SQLite under
`data_dir`, events handled in-process. Default secrets are refused outside embedded/dev.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.field_crypto import DEV_BSN_HASH_KEY, DEV_DATA_KEY, MIN_HASH_KEY_LENGTH, parse_data_keys

DEV_SECRET = "dev-only-secret-change-me-please-0123456789"
# The longest delay before a handler's next try (shared/bus/celery_app.retry_delay).
MAX_RETRY_DELAY_SECONDS = 600.0


class Settings(BaseSettings):
    # An error names the setting but never echoes the values (secrets and keys among them).
    model_config = SettingsConfigDict(env_prefix="PRB_", extra="ignore", env_file=None, hide_input_in_errors=True)

    environment: Literal["dev", "test", "acceptance", "production"] = "dev"
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "PRB_DATABASE_URL"))
    broker_url: str | None = Field(default=None, validation_alias=AliasChoices("BROKER_URL", "PRB_BROKER_URL"))
    data_dir: Path = Path("data")
    jwt_secret: str = DEV_SECRET
    jwt_issuer: str = "eigen-regie"
    # Encryption at rest (shared/field_crypto.py; docs/operations.md "Keys: encryption at rest"):
    # Fernet keys, comma separated, the first encrypts and every one decrypts; and the key of the
    # BSN's keyed hash. Empty: derived development keys (refused in acceptance and production).
    data_keys: str = Field(default="", repr=False)
    bsn_hash_key: str = Field(default="", repr=False)
    token_ttl_minutes: int = 8 * 60
    # Token signing (shared/signing_keys.py; docs/operations.md "Keys: signing keys and rotation"):
    # PEM private keys (or paths of PEM files), the first signs, all are published at
    # /.well-known/jwks.json. Empty: a development key derived from jwt_secret (refused in
    # acceptance and production). jwks_url: validate bearer tokens with the keys published there
    # (fetched, cached, fetched again when a token names an unknown kid) instead of local keys.
    signing_keys: str = Field(default="", repr=False)
    jwks_url: str | None = None
    # The web pages' log-in (OpenID Connect, eigenregie/web/oidc_login.py). No oidc_issuer in dev
    # and test: the local issuer (eigenregie/web/oidc_issuer.py) with the demo users. With one (a
    # broker for DigiD and eHerkenning, e.g. Keycloak) the pages log in there: its discovery
    # document at <issuer>/.well-known/openid-configuration, this client, and which ID token claims
    # carry the role, the municipality, the client's and the provider's id.
    oidc_issuer: str | None = None
    oidc_client_id: str = "eigen-regie-web"
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_scopes: str = "openid profile"
    oidc_role_claim: str = "role"
    oidc_municipality_claim: str = "municipality"
    oidc_client_id_claim: str = "client_id"
    oidc_provider_id_claim: str = "provider_id"
    log_level: str = "INFO"
    log_json: bool = True
    # A worker writes what it handled as one INFO line (`events.consumed`) per this many seconds;
    # each event's own `event.handled` line is at DEBUG (docs/performance.md).
    log_consumed_every_seconds: float = Field(default=60.0, ge=0)
    # Event delivery: tries before a dead letter, first retry delay (doubles each try).
    event_max_attempts: int = 5
    event_retry_base_seconds: float = 1.0
    relay_poll_seconds: float = 1.0
    # After a NOTIFY the relay waits this long before its pass, so that the commits right behind
    # join the same pass and broker message (docs/performance.md): latency for fewer messages.
    relay_linger_seconds: float = Field(default=0.02, ge=0, le=1)
    # Daily jobs (trajectories that expire, periodic invoices, ...) run at this hour, Dutch time.
    daily_jobs_hour: int = Field(default=6, ge=0, le=23)
    relay_batch_size: int = 500
    # Delivery sweeper (run by the relay): an event a subscriber has not recorded this long after
    # publishing is published again to that subscriber; the wait doubles per redelivery, up to the cap.
    redeliver_after_seconds: float = 60.0
    redeliver_max_seconds: float = 3600.0
    relay_sweep_seconds: float = 5.0
    # Redis: a message taken but not acked this long is given to a worker again. Longer than the
    # longest retry countdown (MAX_RETRY_DELAY_SECONDS): a retry waiting for its ETA is held unacked.
    broker_visibility_timeout_seconds: int = 1800
    # Traces (shared/tracing.py; docs/operations.md "Traces"): off unless an OTLP/HTTP endpoint is set,
    # a collector's base URL (http://otel-collector:4318; /v1/traces is added) or the full traces URL.
    # Headers as `key=value,key2=value2` (a vendor's API key); the share of new traces sampled (a
    # trace started upstream keeps its caller's decision, and every event of a trace follows it).
    otlp_endpoint: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    otlp_headers: str | None = Field(default=None, repr=False)
    otlp_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    tracing_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    # /readyz says "not ready" while the oldest unpublished outbox event is older than this.
    ready_outbox_max_age_seconds: float = 60.0
    # When set, every process (API, worker, relay, beat) serves Prometheus metrics on this port
    # only (shared/metrics.py); unset, the APIs answer GET /metrics on their own port.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # `prb health relay|beat`: the heartbeat (data_dir/<name>.heartbeat) must be this recent.
    heartbeat_max_age_seconds: float = 60.0
    # Request bodies larger than this answer 413 before the rest is read (shared/web.py
    # BodySizeLimitMiddleware). JSON and other small bodies; uploads (multipart, XML, PDF: the
    # 10 MiB document limit of uploaded attachments and documents, plus 1 MiB for the form
    # fields and multipart framing); and batch routes (paths ending in /bulk: up to 1000
    # invoices as JSON, or 1000 UBL files).
    max_json_body_bytes: int = Field(default=1024 * 1024, gt=0)
    max_upload_body_bytes: int = Field(default=11 * 1024 * 1024, gt=0)
    max_bulk_json_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_bulk_upload_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    # Rate limits (shared/rate_limit.py; the `limits` notation, several separated by ";"): each
    # log-in or partner application on the APIs, and each client address on a log-in POST (one of
    # the paths) or an API call without a valid token. Counted in memory in embedded mode, in
    # Redis when distributed (the broker, unless rate_limit_storage_url names another).
    rate_limit_enabled: bool = True
    rate_limit: str = "600/minute"
    rate_limit_login: str = "10/minute"
    # The web log-in, a partner application's token request. A POST to a path that is, or ends
    # with, one of these counts as a log-in ("/oauth/token": wherever a service mounts the token
    # endpoint). Not the local issuer's /oidc/authorize: the web log-in posts to it in process,
    # from one address for everybody.
    rate_limit_login_paths: str = "/login,/oauth/token"
    rate_limit_strategy: Literal["fixed-window", "moving-window", "sliding-window-counter"] = "moving-window"
    rate_limit_storage_url: str | None = Field(default=None, repr=False)
    rate_limit_key_prefix: str = Field(default="prb-ratelimit", min_length=1, max_length=60)
    # Webhooks to partners: tries per delivery, the first wait (doubles each try, less up to 20 %
    # jitter), the horizon after which a delivery fails however many tries are left, the HTTP
    # timeout, how many deliveries of one subscription one pass sends, and after how many failed
    # deliveries in a row a subscription pauses.
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_retry_base_seconds: float = Field(default=30.0, gt=0)
    webhook_retry_horizon_seconds: float = Field(default=24 * 3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_per_subscription_per_pass: int = Field(default=5, ge=1, le=100)
    webhook_pause_after_failed_deliveries: int = Field(default=3, ge=1)
    # The web pages: a session times out after this long without a request; with a base URL the
    # pages call the APIs over HTTP there (a gateway), without it in process.
    web_session_minutes: int = Field(default=30, ge=1, le=24 * 60)
    web_api_base_url: str | None = None
    # Messages to people (docs/operations.md). Links in mails and SMS point here.
    public_base_url: str = "http://127.0.0.1:8000"
    # Where a recipient's address is asked for at send time (the embedded app by default): a
    # client's, and an invoice supplier's when the invoices are served elsewhere (None: the same).
    directory_base_url: str = "http://127.0.0.1:8000"
    supplier_directory_base_url: str | None = None
    # Alerts for operators (a partner's webhook failed for good) when a municipality names no ops mailbox.
    ops_alert_email: str | None = Field(default=None, max_length=254)
    # E-mail: embedded mode writes .eml files under data_dir/mailbox unless smtp_host is set;
    # distributed mode sends over SMTP (compose: the mail catcher).
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, gt=0, le=65535)
    smtp_from: str = "Eigen Regie <noreply@eigenregie.local>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_send_every_seconds: float = Field(default=30.0, gt=0)
    # Retries: the first after this long, doubling (with jitter) up to the cap, this many tries in all.
    delivery_retry_base_seconds: float = Field(default=60.0, gt=0)
    delivery_retry_cap_seconds: float = Field(default=6 * 3600.0, gt=0)
    delivery_max_attempts: int = Field(default=8, ge=1)
    # SMS: "sink" appends to data_dir/sms_sink.jsonl (embedded mode, tests); "messagebird" posts to
    # the gateway's REST API (off by default; needs the access key).
    sms_provider: Literal["sink", "messagebird"] = "sink"
    sms_gateway_url: str = "https://rest.messagebird.com/messages"
    sms_access_key: str | None = None
    sms_originator: str = Field(default="Gemeente", max_length=11)
    # Reminders at their source (the owning services' daily scans): how many days before its
    # day a follow-up of each kind is said to be due soon, a trajectory's end, an orientation's end.
    reminder_lead_days_progress_report: int = Field(default=7, ge=0, le=366)
    reminder_lead_days_conversation: int = Field(default=3, ge=0, le=366)
    reminder_lead_days_milestone: int = Field(default=7, ge=0, le=366)
    reminder_lead_days_durability_check: int = Field(default=7, ge=0, le=366)
    reminder_lead_days_aftercare: int = Field(default=3, ge=0, le=366)
    reminder_trajectory_end_days: int = Field(default=30, ge=0, le=366)
    reminder_orientation_days: int = Field(default=14, ge=0, le=366)

    @property
    def embedded(self) -> bool:
        return self.broker_url is None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'eigenregie.db').as_posix()}"

    @field_validator("rate_limit", "rate_limit_login")
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError('a rate limit such as "600/minute" (several separated by ";")') from exc
        return value

    @model_validator(mode="after")
    def refuse_default_secrets_outside_dev(self) -> Settings:
        if self.environment in ("acceptance", "production"):
            if self.jwt_secret == DEV_SECRET or len(self.jwt_secret) < 32:
                raise ValueError(
                    f"PRB_JWT_SECRET must be set to a secret of at least 32 characters in {self.environment}"
                )
            if self.database_url is None or self.broker_url is None:
                raise ValueError(f"{self.environment} runs distributed: set DATABASE_URL and BROKER_URL")
            if not parse_data_keys(self.data_keys) or DEV_DATA_KEY in parse_data_keys(self.data_keys):
                raise ValueError(
                    f"PRB_DATA_KEYS must be set to one or more Fernet keys (not the development key) in "
                    f"{self.environment}: `prb keys new-data-key` makes one"
                )
            if self.bsn_hash_key == DEV_BSN_HASH_KEY or len(self.bsn_hash_key) < MIN_HASH_KEY_LENGTH:
                raise ValueError(
                    f"PRB_BSN_HASH_KEY must be set to a secret of at least {MIN_HASH_KEY_LENGTH} characters "
                    f"in {self.environment}"
                )
        parse_data_keys(self.data_keys)  # a malformed key is refused in every environment
        if self.bsn_hash_key and len(self.bsn_hash_key) < MIN_HASH_KEY_LENGTH:
            raise ValueError(f"PRB_BSN_HASH_KEY needs at least {MIN_HASH_KEY_LENGTH} characters")
        if self.broker_visibility_timeout_seconds <= MAX_RETRY_DELAY_SECONDS:
            raise ValueError(
                f"PRB_BROKER_VISIBILITY_TIMEOUT_SECONDS must exceed the longest retry delay "
                f"({MAX_RETRY_DELAY_SECONDS:.0f} s), or waiting retries are delivered twice"
            )
        if self.redeliver_after_seconds <= 0 or self.redeliver_max_seconds < self.redeliver_after_seconds:
            raise ValueError("PRB_REDELIVER_AFTER_SECONDS must be > 0 and at most PRB_REDELIVER_MAX_SECONDS")
        if not self.embedded and not self.database_url:
            raise ValueError("distributed mode (BROKER_URL set) needs DATABASE_URL pointing at PostgreSQL")
        if self.database_url and not self.embedded and self.database_url.startswith("sqlite"):
            raise ValueError("distributed mode (BROKER_URL set) needs PostgreSQL in DATABASE_URL")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
