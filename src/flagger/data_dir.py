"""Where flagger keeps its state by default: the audit log and the label store.

One directory, ``$FLAGGER_DATA_DIR`` when set, else the user's data directory as ``platformdirs``
names it (``~/.local/share/flagger`` on Linux), so ``serve``, ``labels``, ``queue`` and
``retrain`` share one label store and nothing lands in the directory they are run from.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from flagger.errors import ConfigError

ENV_VAR = "FLAGGER_DATA_DIR"


def data_dir() -> Path:
    """The data directory, created on first use.

    Returns:
        ``$FLAGGER_DATA_DIR`` (``~`` expanded, made absolute), else the user data directory.

    Raises:
        ConfigError: if the directory cannot be created.
    """
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured).expanduser().absolute()
    else:
        path = Path(platformdirs.user_data_dir("flagger", appauthor=False))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the data directory {path} ({exc.strerror or exc}): set {ENV_VAR} "
            "to a writable directory, or give the label store (--db, FLAGGER_STORE_URL) and audit "
            "log (FLAGGER_AUDIT_LOG) explicitly"
        ) from exc
    return path


def default_audit_log() -> Path:
    """The audit log's default path: ``<data dir>/audit.jsonl``."""
    return data_dir() / "audit.jsonl"


def default_store_url() -> str:
    """The label store's default URL: a SQLite file, ``<data dir>/labels.db``."""
    return f"sqlite:///{data_dir() / 'labels.db'}"
