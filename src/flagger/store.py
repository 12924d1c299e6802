"""The label store: reviewers' decisions on messages, kept durably for retraining.

SQLAlchemy over a SQLite file by default (WAL mode, so the review API can write while a
retraining job reads) or any database URL SQLAlchemy supports (e.g. ``postgresql://...`` with a
driver installed). The schema is created and upgraded by Alembic migrations on open. Labels
are append-only: a new decision on a message adds a row, and history is never rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from flagger.data import Example
from flagger.errors import ConfigError
from flagger.labels import CATEGORIES, VECTORS

LABELS = ("sexist", "not sexist")
AUDIT, QUEUE = "audit", "queue"
PICKS = (AUDIT, QUEUE, None)


class Base(DeclarativeBase):
    """Declarative base of the label store's tables."""


class Case(Base):
    """A message someone labelled: its id, text and where it came from."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(512), unique=True, index=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(512), nullable=True)
    sent_at: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(64), default="api")
    # How it reached a reviewer: "audit" (a uniformly random pick, usable for calibration),
    # "queue" (the review queue's choice), or None (the API, an import without the mark).
    picked: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Label(Base):
    """One reviewer's decision on a case, at one time (append-only)."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    label: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(128), nullable=True)
    vector: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reviewer: Mapped[str] = mapped_column(String(256))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(128), nullable=True)
    model_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Feedback:
    """A reviewer's decision as it arrives (from the API or an import)."""

    message_id: str
    text: str
    label: str
    reviewer: str
    category: str | None = None
    vector: str | None = None
    note: str | None = None
    author: str | None = None
    sent_at: str | None = None
    model_version: str | None = None
    model_score: float | None = None
    source: str = "api"
    picked: str | None = None  # "audit" or "queue": how the case reached the reviewer

    def check(self) -> None:
        """Raises ConfigError naming the field when a value is not one flagger knows."""
        if self.picked not in PICKS:
            raise ConfigError(f"picked must be one of {list(PICKS)}, found {self.picked!r}")
        if self.label not in LABELS:
            raise ConfigError(f"label must be one of {list(LABELS)}, found {self.label!r}")
        if self.category is not None and self.category not in CATEGORIES:
            raise ConfigError(
                f"category must be one of {list(CATEGORIES)}, found {self.category!r}"
            )
        if self.vector is not None and self.vector not in VECTORS:
            raise ConfigError(f"vector must be one of {list(VECTORS)}, found {self.vector!r}")
        if self.label == "not sexist" and (self.category or self.vector):
            raise ConfigError("a 'not sexist' label cannot carry a category or vector")


def _sqlite_pragmas(connection: Any, _: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, and vice versa
    cursor.execute("PRAGMA synchronous=FULL")  # a committed label survives power loss
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the database's schema to the newest Alembic revision (a no-op when it is)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class LabelStore:
    """Reviewers' labels in a database; every write is one transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def add(self, feedback: Feedback) -> int:
        """Store a decision (creating its case on first sight); return the label's id.

        Raises:
            ConfigError: for an unknown label, category or vector.
        """
        feedback.check()
        now = datetime.now(UTC)
        with self.session() as session:
            case = session.scalar(select(Case).where(Case.message_id == feedback.message_id))
            if case is None:
                case = Case(
                    message_id=feedback.message_id,
                    text=feedback.text,
                    author=feedback.author,
                    sent_at=feedback.sent_at,
                    source=feedback.source,
                    picked=feedback.picked,
                    created_at=now,
                )
                session.add(case)
                session.flush()
            label = Label(
                case_id=case.id,
                label=feedback.label,
                category=feedback.category,
                vector=feedback.vector,
                reviewer=feedback.reviewer,
                note=feedback.note,
                model_version=feedback.model_version,
                model_score=feedback.model_score,
                created_at=now,
            )
            session.add(label)
            session.flush()
            return label.id

    def latest_labels(self) -> dict[str, tuple[Case, dict[str, Label]]]:
        """Per case (by message id), each reviewer's latest label."""
        return {
            message_id: (case, {label.reviewer: label for label in labels})  # oldest first
            for message_id, (case, labels) in self.all_labels().items()
        }

    def all_labels(self) -> dict[str, tuple[Case, list[Label]]]:
        """Per case (by message id), every label ever given, oldest first."""
        found: dict[str, tuple[Case, list[Label]]] = {}
        with self.session() as session:
            rows = session.execute(
                select(Case, Label).join(Label, Label.case_id == Case.id).order_by(Label.id)
            )
            for case, label in rows:
                found.setdefault(case.message_id, (case, []))[1].append(label)
        return found

    def disagreements(self) -> list[dict[str, Any]]:
        """Cases whose reviewers' latest labels differ: reported, never silently resolved."""
        return [
            {
                "id": message_id,
                "labels": {
                    reviewer: [label.label, label.category, label.vector]
                    for reviewer, label in by_reviewer.items()
                },
            }
            for message_id, (_, by_reviewer) in self.latest_labels().items()
            if len({(lb.label, lb.category, lb.vector) for lb in by_reviewer.values()}) > 1
        ]

    def training_examples(self) -> list[Example]:
        """Cases on whose label every reviewer agrees, as training examples."""
        examples = []
        for message_id, (case, by_reviewer) in self.latest_labels().items():
            decisions = {(lb.label, lb.category, lb.vector) for lb in by_reviewer.values()}
            if len(decisions) != 1:
                continue
            label, category, vector = decisions.pop()
            examples.append(
                Example(
                    id=message_id,
                    text=case.text,
                    sexist=int(label == "sexist"),
                    category=CATEGORIES.index(category) if category else None,
                    vector=VECTORS.index(vector) if vector else None,
                    split="train",
                )
            )
        return examples

    def audit_ids(self) -> set[str]:
        """Message ids of the cases picked uniformly at random for audit."""
        with self.session() as session:
            return set(session.scalars(select(Case.message_id).where(Case.picked == AUDIT)))

    def counts(self) -> dict[str, int]:
        """Cases and labels stored."""
        with self.session() as session:
            return {
                "cases": session.scalar(select(func.count(Case.id))) or 0,
                "labels": session.scalar(select(func.count(Label.id))) or 0,
            }

    def stats(self) -> dict[str, Any]:
        """Counts by label, category and reviewer, usable cases, and disagreements."""
        examples = self.training_examples()
        with self.session() as session:
            by = {
                column.key: dict(
                    session.execute(select(column, func.count()).group_by(column)).tuples().all()
                )
                for column in (Label.label, Label.category, Label.reviewer)
            }
        return {
            **self.counts(),
            "usable_cases": len(examples),
            "sexist_cases": sum(e.sexist == 1 for e in examples),
            "disagreements": len(self.disagreements()),
            "audit_cases": len(self.audit_ids()),
            "labels_by": {k: {str(n): c for n, c in v.items()} for k, v in by.items()},
        }
