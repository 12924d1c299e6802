"""Prometheus metrics of the review API, on a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ServiceMetrics:
    """Requests, latency, batching, queueing and what the model said (never the text)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "flagger_requests_total", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "flagger_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "flagger_batch_messages",
            "Messages per shared forward pass",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "flagger_queue_wait_seconds",
            "Time a request waited for its batch to start",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "flagger_batch_seconds",
            "Time to score one shared batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "flagger_queue_messages", "Messages waiting to be scored", registry=self.registry
        )
        self.messages = Counter(
            "flagger_messages_total", "Messages scored", ["flagged"], registry=self.registry
        )
        self.scores = Histogram(
            "flagger_score",
            "Calibrated scores returned",
            buckets=tuple(i / 10 for i in range(1, 11)),
            registry=self.registry,
        )
