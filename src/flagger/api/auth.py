"""API keys with roles: ``classify`` < ``review`` < ``admin``.

Keys come from ``FLAGGER_API_KEYS`` (``key=role,...``) or a keys file of hashed keys (JSON lines
``{"name", "role", "sha256"}``); only sha256 digests are kept in memory and compared in constant
time. Clients send ``Authorization: Bearer KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path

from flagger.errors import ConfigError

ROLES = ("classify", "review", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's name (for logs and the audit trail) and its role."""

    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this caller's role includes ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


def digest(key: str) -> str:
    """The sha256 hex digest a keys file stores for ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    """Known keys, by digest."""

    def __init__(self, entries: dict[str, Principal]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def load(cls, env_keys: str, keys_file: Path | None) -> KeyRing:
        """Read keys from the ``key=role`` list and the keys file.

        Raises:
            ConfigError: naming the malformed entry or unknown role.
        """
        entries: dict[str, Principal] = {}
        for index, item in enumerate(filter(None, (p.strip() for p in env_keys.split(","))), 1):
            key, sep, role = item.rpartition("=")
            if not sep or not key or role not in ROLES:
                raise ConfigError(
                    f"FLAGGER_API_KEYS entry {index}: expected key=role with role in {ROLES}"
                )
            entries[digest(key)] = Principal(f"key{index}", role)
        if keys_file is not None:
            try:
                lines = keys_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"{keys_file}: cannot read keys file ({exc.strerror})") from None
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    name, role, sha = str(item["name"]), str(item["role"]), str(item["sha256"])
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise ConfigError(
                        f'{keys_file}:{number}: expected {{"name", "role", "sha256"}}'
                    ) from None
                if role not in ROLES or len(sha) != 64:
                    raise ConfigError(f"{keys_file}:{number}: bad role or sha256 for {name!r}")
                entries[sha.lower()] = Principal(name, role)
        return cls(entries)

    def identify(self, key: str) -> Principal | None:
        """The principal holding ``key``, comparing digests in constant time."""
        candidate = digest(key)
        found = None
        for known, principal in self._entries.items():
            if hmac.compare_digest(known, candidate):
                found = principal  # keep looping: the time taken does not depend on the match
        return found
