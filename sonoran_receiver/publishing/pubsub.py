"""The Pub/Sub sink: one message per accepted event, confirmed before the answer.

The vendor's forwarder never retries (docs/reference/push-events.md
"Timeouts, retries, ordering, duplicates"), so a `2xx` must mean Pub/Sub has the message: the
publish future is awaited for `PUBSUB_PUBLISH_TIMEOUT_S`, and anything short
of a message id becomes `PublishFailed` (the flow answers `503` with `Retry-After`).

Client settings, each against a default that does not fit one event per request:

- Batching: `max_latency=0`. The default batch waits up to 10 ms for company that one
  request never brings: 10 ms added to every answer. With no wait, a batch holds what
  concurrent requests published while the previous commit started, so a burst still
  shares RPCs. `bench/bench_publish.py` against the emulator, p50 per request over two
  runs: one request at a time 13.9-14.6 ms with the default, 1.6-2.3 ms with this; 16
  threads 13.8-15.3 ms and 6.1-6.3 ms. `max_messages=1` (one RPC per message) was as fast
  alone (1.0-1.5 ms) but slowest under 16 threads (16.7-21.4 ms).
- Retry and timeout per publish: the library retries a publish for up to 600 s by default
  with 60 s attempts, long after our answer. Here the retries stop, and the last attempt's
  deadline falls, at `PUBSUB_PUBLISH_TIMEOUT_S`: a publish we gave up on stops soon after
  (it may still have landed: a duplicate when the sender retries, which `content_key` is for).
- Flow control: at most `_PENDING_MESSAGES` / `_PENDING_BYTES` unconfirmed messages; past
  that a publish fails at once (`503`) instead of queueing work nobody waits for.

One client per process, created on first use (after gunicorn has forked, never before:
gRPC channels do not survive a fork) under a lock, and shared by every request thread.
The gRPC channel reconnects by itself once Pub/Sub is back; tests stop and restart the
emulator under the same process to prove it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sonoran_receiver import logs
from sonoran_receiver.publishing.sink import Message, PublishFailed

if TYPE_CHECKING:
    from google.api_core.retry import Retry
    from google.cloud.pubsub_v1 import PublisherClient
    from google.cloud.pubsub_v1.types import BatchSettings

# Far above what the request threads of one instance can have in flight (each waits for
# its own message), low enough to bound memory when Pub/Sub stops answering.
_PENDING_MESSAGES = 1000
_PENDING_BYTES = 64 * 1024 * 1024


class PubSubSink:
    """Publishes each event to one topic and waits for Pub/Sub to confirm it."""

    def __init__(
        self,
        topic_path: str,
        timeout_s: float,
        emulator_host: str | None = None,
        batch_settings: BatchSettings | None = None,
        topic_kind: str = "events",
    ) -> None:
        """`batch_settings=None` is `max_latency=0`, the setting chosen above; `topic_kind`
        names the topic in failure lines (`events` or `quarantine`) for alerts."""
        self._topic_path = topic_path
        self._topic_kind = topic_kind
        self._timeout_s = timeout_s
        self._emulator_host = emulator_host
        self._batch_settings = batch_settings
        self._lock = threading.Lock()
        self._client: tuple[PublisherClient, Retry] | None = None

    def publish(self, event: Message) -> None:
        """Return once Pub/Sub confirmed the message; raise PublishFailed otherwise."""
        try:
            client, retry = self._publisher()
            future = client.publish(
                self._topic_path,
                event.message_bytes(),
                retry=retry,
                timeout=self._timeout_s,
                **event.attributes(),
            )
            future.result(timeout=self._timeout_s)
        # Whatever went wrong (timeout, gRPC status, flow control, credentials), the event
        # is not stored: the answer must be 503, never 200 and never a crash.
        except Exception as failure:
            # Only the class name: exception texts can quote the request or the message.
            logs.error(
                "pubsub publish failed",
                type=event.type,
                event_id=event.event_id,
                error=type(failure).__name__,
                timeout_s=self._timeout_s,
                topic_kind=self._topic_kind,
            )
            raise PublishFailed(f"pubsub: {type(failure).__name__}") from failure

    def _publisher(self) -> tuple[PublisherClient, Retry]:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._new_client()
                client = self._client
        return client

    def _new_client(self) -> tuple[PublisherClient, Retry]:
        # The client library is imported here, on first use in the serving process, not at
        # start: gunicorn's arbiter then never holds its ~25 MiB, and nothing gRPC crosses a fork.
        import grpc  # noqa: PLC0415
        from google.api_core import exceptions as api_exceptions  # noqa: PLC0415
        from google.api_core import retry as api_retry  # noqa: PLC0415
        from google.cloud import pubsub_v1  # noqa: PLC0415
        from google.cloud.pubsub_v1.types import (  # noqa: PLC0415
            BatchSettings,
            LimitExceededBehavior,
            PublisherOptions,
            PublishFlowControl,
        )
        from google.pubsub_v1.services.publisher.transports import (  # noqa: PLC0415
            PublisherGrpcTransport,
        )

        # Short first waits so a blip costs milliseconds; the deadline is ours, not 600 s.
        # The codes are those the library itself retries a publish on.
        retry = api_retry.Retry(
            initial=0.05,
            maximum=1.0,
            multiplier=2.0,
            timeout=self._timeout_s,
            predicate=api_retry.if_exception_type(
                api_exceptions.Aborted,
                api_exceptions.Cancelled,
                api_exceptions.DeadlineExceeded,
                api_exceptions.InternalServerError,
                api_exceptions.ResourceExhausted,
                api_exceptions.ServiceUnavailable,
                api_exceptions.Unknown,
            ),
        )
        options = PublisherOptions(
            flow_control=PublishFlowControl(
                message_limit=_PENDING_MESSAGES,
                byte_limit=_PENDING_BYTES,
                limit_exceeded_behavior=LimitExceededBehavior.ERROR,
            ),
        )
        batches = self._batch_settings or BatchSettings(max_latency=0.0)
        if self._emulator_host is None:
            client = pubsub_v1.PublisherClient(batch_settings=batches, publisher_options=options)
            return client, retry
        # What the client does when it finds PUBSUB_EMULATOR_HOST in the environment (a
        # plain-text channel, no credentials), from the value read at start: the variable
        # may have changed since, and settings are read once.
        transport = PublisherGrpcTransport(channel=grpc.insecure_channel(self._emulator_host))
        client = pubsub_v1.PublisherClient(
            batch_settings=batches, publisher_options=options, transport=transport
        )
        return client, retry
