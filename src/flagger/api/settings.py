"""Service configuration: one pydantic-settings class, read from ``FLAGGER_*`` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from flagger.backends import BackendName
from flagger.data_dir import default_audit_log, default_store_url


class ServiceSettings(BaseSettings):
    """Everything the review API can be told; each limit is named in the error that enforces it."""

    model_config = SettingsConfigDict(env_prefix="FLAGGER_", frozen=True)

    model: Path | None = Field(default=None, description="model directory (default: shipped)")
    registry: Path | None = Field(
        default=None, description="serve the registry's promoted version (overrides model)"
    )
    backend: BackendName = "auto"
    threads: int | None = Field(default=None, ge=1)
    api_keys: str = Field(
        default="", description="'key=role,key2=role2' (roles: classify, review, admin)"
    )
    keys_file: Path | None = Field(default=None, description="JSON lines of {name, role, sha256}")
    insecure_no_auth: bool = False
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    drain_max_bytes: int = Field(
        default=16_777_216,
        ge=0,
        description="an over-limit body up to this size is read and discarded before the 413, "
        "so that clients still sending it can read the answer; a larger one is cut off",
    )
    drain_timeout_s: float = Field(
        default=10.0, gt=0.0, description="time allowed for that draining; then the cut-off"
    )
    max_messages: int = Field(default=256, ge=1)
    max_chars: int = Field(default=20_000, ge=1)
    rate_limit_per_minute: int = Field(default=6000, ge=1, description="requests per key")
    batch_max_messages: int = Field(default=64, ge=1)
    batch_max_wait_ms: float = Field(default=5.0, ge=0.0)
    queue_max_messages: int = Field(default=2048, ge=1)
    model_timeout_s: float = Field(default=30.0, gt=0.0)
    audit_log: Path = Field(
        default_factory=default_audit_log,
        description="JSON lines of who did what (default: $FLAGGER_DATA_DIR/audit.jsonl)",
    )
    store_url: str = Field(
        default_factory=default_store_url,
        description="label store URL (default: SQLite at $FLAGGER_DATA_DIR/labels.db)",
    )
