"""The model registry: immutable, verified model versions, one promoted, and a history.

A registry is a directory::

    registry.json            which version is promoted, every version's evaluation, the history
    versions/NAME-VERSION/   a complete model directory (manifest-checked), never modified
    frozen/                  the frozen evaluation set every version is measured on

A version enters with its evaluation on the frozen set (Task A macro-F1 and behavioural-suite
failures). ``promote`` refuses a candidate more than ``MAX_F1_DROP`` below the promoted version
or failing more suite cases, unless forced, and records who forced it and why. ``rollback``
returns to the version promoted before. ``registry.json`` is replaced atomically.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from flagger.errors import ConfigError
from flagger.model_dir import check_model_dir

REGISTRY_FILE = "registry.json"
MAX_F1_DROP = 0.005


class Evaluation(BaseModel):
    """How a version did on the registry's frozen set and behavioural suite."""

    task_a: float
    suite_failures: int
    suite_cases: int = 0
    frozen_set_sha256: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class Version(BaseModel):
    """A registered model version."""

    id: str  # name@version
    directory: str  # relative to the registry root
    added_at: str
    evaluation: Evaluation


class Event(BaseModel):
    """One change to what is promoted."""

    time: str
    action: str  # promote | rollback
    version: str
    previous: str | None
    by: str
    forced: bool = False
    reason: str | None = None


class RegistryState(BaseModel):
    """The contents of ``registry.json``."""

    promoted: str | None = None
    versions: dict[str, Version] = Field(default_factory=dict)
    history: list[Event] = Field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Registry:
    """A registry directory, read on open and written atomically on every change."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.file = self.root / REGISTRY_FILE
        if self.file.exists():
            try:
                self.state = RegistryState.model_validate_json(self.file.read_text())
            except ValueError as exc:
                raise ConfigError(f"{self.file}: unreadable registry ({exc})") from None
        else:
            self.state = RegistryState()

    def _save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.file.with_name(REGISTRY_FILE + ".tmp")
        with partial.open("w", encoding="utf-8") as handle:
            handle.write(self.state.model_dump_json(indent=2))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.file)

    def get(self, version_id: str) -> Version:
        """A registered version.

        Raises:
            ConfigError: naming the versions there are.
        """
        found = self.state.versions.get(version_id)
        if found is None:
            known = ", ".join(self.state.versions) or "none"
            raise ConfigError(f"no version {version_id!r} in {self.root} (registered: {known})")
        return found

    def path(self, version_id: str) -> Path:
        """The directory of a registered version, verified against its manifest.

        Raises:
            ModelDirectoryError: if a file of that version was changed or removed.
        """
        directory = self.root / self.get(version_id).directory
        check_model_dir(directory)
        return directory

    def promoted_path(self) -> Path:
        """The promoted version's directory (what the API serves).

        Raises:
            ConfigError: if nothing has been promoted yet.
        """
        if self.state.promoted is None:
            raise ConfigError(f"{self.root}: no version promoted yet (flagger models promote ID)")
        return self.path(self.state.promoted)

    def add(self, model_dir: str | Path, evaluation: Evaluation) -> Version:
        """Copy a verified model directory in as a new, read-only version.

        Raises:
            ModelDirectoryError: if the directory is incomplete or tampered with.
            ConfigError: if that name@version is already registered (versions are immutable).
        """
        source, info = check_model_dir(model_dir)
        version_id = f"{info.name}@{info.version}"
        if version_id in self.state.versions:
            raise ConfigError(
                f"{version_id} is already registered; versions are immutable, give the new "
                "model another version"
            )
        relative = f"versions/{info.name}-{info.version}"
        target = self.root / relative
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(source, partial)
        check_model_dir(partial)  # the copy is intact before it becomes a version
        os.replace(partial, target)
        for file in target.iterdir():
            file.chmod(0o444)
        version = Version(id=version_id, directory=relative, added_at=_now(), evaluation=evaluation)
        self.state.versions[version_id] = version
        self._save()
        return version

    def gate(self, candidate: Version) -> list[str]:
        """Why ``candidate`` may not replace the promoted version (empty: it may)."""
        if self.state.promoted is None:
            return []
        current = self.get(self.state.promoted).evaluation
        new = candidate.evaluation
        problems = []
        if current.frozen_set_sha256 != new.frozen_set_sha256:
            problems.append("the two versions were evaluated on different frozen sets")
        if new.task_a < current.task_a - MAX_F1_DROP:
            problems.append(
                f"Task A macro-F1 {new.task_a:.4f} is more than {MAX_F1_DROP} below "
                f"{self.state.promoted}'s {current.task_a:.4f}"
            )
        if new.suite_failures > current.suite_failures:
            problems.append(
                f"fails {new.suite_failures} behavioural cases, "
                f"{self.state.promoted} fails {current.suite_failures}"
            )
        return problems

    def promote(
        self, version_id: str, *, by: str, force: bool = False, reason: str | None = None
    ) -> Event:
        """Make a version the one served.

        Raises:
            ConfigError: if the gate refuses it and ``force`` is not given.
        """
        candidate = self.get(version_id)
        self.path(version_id)  # never promote a tampered copy
        problems = self.gate(candidate)
        if problems and not force:
            raise ConfigError(
                f"not promoting {version_id}: {'; '.join(problems)} (--force to override, "
                "with --reason)"
            )
        event = Event(
            time=_now(),
            action="promote",
            version=version_id,
            previous=self.state.promoted,
            by=by,
            forced=bool(problems) and force,
            reason=reason,
        )
        self.state.promoted = version_id
        self.state.history.append(event)
        self._save()
        return event

    def rollback(self, *, by: str, reason: str | None = None) -> Event:
        """Promote again the version that was promoted before the current one.

        Raises:
            ConfigError: if there is nothing to roll back to.
        """
        previous = next(
            (
                e.previous
                for e in reversed(self.state.history)
                if e.action == "promote" and e.version == self.state.promoted
            ),
            None,
        )
        if previous is None:
            raise ConfigError(f"{self.root}: no earlier promoted version to roll back to")
        self.path(previous)
        event = Event(
            time=_now(),
            action="rollback",
            version=previous,
            previous=self.state.promoted,
            by=by,
            reason=reason,
        )
        self.state.promoted = previous
        self.state.history.append(event)
        self._save()
        return event

    def describe(self) -> list[dict[str, Any]]:
        """One row per version, for ``flagger models list``."""
        return [
            {
                "id": v.id,
                "promoted": v.id == self.state.promoted,
                "task_a": v.evaluation.task_a,
                "suite_failures": v.evaluation.suite_failures,
                "added_at": v.added_at,
            }
            for v in self.state.versions.values()
        ]
