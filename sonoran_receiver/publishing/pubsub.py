"""The Pub/Sub sink: one message per accepted event, confirmed before the answer.

The vendor's forwarder never retries
(docs/reference/push-events.md "Timeouts, retries, ordering, duplicates"), so a `2xx` must
mean Pub/Sub has the message: each event is one `Publish` RPC, awaited by the request's own
thread for at most `PUBSUB_PUBLISH_TIMEOUT_S`, and anything short of a message id becomes
`PublishFailed` (the flow answers `503` with `Retry-After`).

The RPC goes through the generated client (`google.pubsub_v1.PublisherClient.publish`),
not the high-level `google.cloud.pubsub_v1.PublisherClient`: that one batches, starts a
commit thread per batch and hands the answer back through a future, which one event per
request never needs. Against the emulator the direct call took half the CPU and half the
latency per publish (`bench/RESULTS.md`, "Notes"). What the high-level client added and
still holds here:

- Retries: the generated method retries on the codes and with the backoff Google sets for
  `Publish` (`_RETRY_CODES`; waits from 0.1 s, times 4, at most 60 s between attempts),
  but the retries stop, and each attempt's gRPC deadline falls, at our deadline instead of
  Google's 600 s. A publish we gave up on may still have landed: a duplicate when the sender
  retries, which `content_key` is for.
- Bounded memory: at most one message in flight per request thread, each waited for.

One client per process, created on first use (after gunicorn has forked, never before:
gRPC channels do not survive a fork) under a lock, and shared by every request thread.
The gRPC channel reconnects by itself once Pub/Sub is back; tests stop and restart the
emulator under the same process to prove it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sonoran_receiver import logs
from sonoran_receiver.long_lived import built_for_good
from sonoran_receiver.publishing.sink import Message, PublishFailed

if TYPE_CHECKING:
    from google.api_core.retry import Retry
    from google.pubsub_v1 import PublisherClient, PublishRequest

# Google's retry settings for `Publish`, as the generated transport declares them
# (google/pubsub_v1/services/publisher/transports/base.py), but for its overall 600 s,
# which becomes ours. The backoff is in `_Publisher.create`.
_RETRY_CODES = (
    "Aborted",
    "Cancelled",
    "DeadlineExceeded",
    "InternalServerError",
    "ResourceExhausted",
    "ServiceUnavailable",
    "Unknown",
)
# An attempt the retry still starts just before our deadline gets this long, not zero.
_LAST_ATTEMPT_S = 0.01


class PubSubSink:
    """Publishes each event to one topic and waits for Pub/Sub to confirm it."""

    def __init__(
        self,
        topic_path: str,
        timeout_s: float,
        emulator_host: str | None = None,
        topic_kind: str = "events",
    ) -> None:
        """`topic_kind` names the topic in failure lines (`events` or `quarantine`) for
        alerts."""
        self._topic_path = topic_path
        self._topic_kind = topic_kind
        self._timeout_s = timeout_s
        self._emulator_host = emulator_host
        self._lock = threading.Lock()
        self._client: _Publisher | None = None

    def publish(self, event: Message) -> None:
        """Return once Pub/Sub confirmed the message; raise PublishFailed otherwise."""
        try:
            publisher = self._publisher()
            publisher.client.publish(
                request=publisher.request(self._topic_path, event),
                retry=publisher.retry,
                timeout=_UntilDeadline(self._timeout_s),
            )
        # Whatever went wrong (deadline, gRPC status, credentials), the event is not stored:
        # the answer must be 503, never 200 and never a crash.
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

    def _publisher(self) -> _Publisher:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = _Publisher.create(self._timeout_s, self._emulator_host)
                client = self._client
        return client


@dataclass(frozen=True)
class _Publisher:
    client: PublisherClient
    request_type: type[PublishRequest]
    # The protobuf classes under the generated (proto-plus) types.
    raw_request: Callable[..., Any]
    raw_message: Callable[..., Any]
    retry: Retry

    def request(self, topic_path: str, event: Message) -> PublishRequest:
        """The `Publish` request for one event, built as protobuf and wrapped, not copied.

        Built through the proto-plus types, the same request went through their per-field
        conversion (the seven attributes one by one): about 14 us of a few hundred per
        event, more with the caches cold between requests (`bench/RESULTS.md`, "Notes")."""
        message = self.raw_message(data=event.message_bytes(), attributes=event.attributes())
        request: PublishRequest = self.request_type.wrap(
            self.raw_request(topic=topic_path, messages=[message])
        )
        return request

    @classmethod
    def create(cls, timeout_s: float, emulator_host: str | None) -> _Publisher:
        # Imported on first use in the serving process, not at start: gunicorn's arbiter
        # then never holds it, and nothing gRPC crosses a fork. The library and its client
        # are big (about a third of a start's CPU): collecting while they are built only
        # slows the first event.
        with built_for_good():
            return cls._build(timeout_s, emulator_host)

    @classmethod
    def _build(cls, timeout_s: float, emulator_host: str | None) -> _Publisher:
        import grpc  # noqa: PLC0415
        from google.api_core import exceptions as api_exceptions  # noqa: PLC0415
        from google.api_core import retry as api_retry  # noqa: PLC0415
        from google.pubsub_v1 import (  # noqa: PLC0415
            PublisherClient,
            PublishRequest,
            PubsubMessage,
        )
        from google.pubsub_v1.services.publisher.transports import (  # noqa: PLC0415
            PublisherGrpcTransport,
        )

        retry = api_retry.Retry(
            predicate=api_retry.if_exception_type(
                *(getattr(api_exceptions, name) for name in _RETRY_CODES)
            ),
            initial=0.1,
            multiplier=4.0,
            maximum=60.0,
            timeout=timeout_s,
        )
        if emulator_host is None:
            client = PublisherClient()
        else:
            # What the client does when it finds PUBSUB_EMULATOR_HOST in the environment (a
            # plain-text channel, no credentials), from the value read at start: the
            # variable may have changed since, and settings are read once.
            channel = grpc.insecure_channel(emulator_host)
            client = PublisherClient(transport=PublisherGrpcTransport(channel=channel))
        return cls(client, PublishRequest, PublishRequest.pb(), PubsubMessage.pb(), retry)


class _UntilDeadline:
    """Each attempt's gRPC deadline: what remains of ours, counted from the first attempt.

    api_core's own `TimeToDeadlineTimeout` (what a number passed as `timeout` becomes)
    gives an attempt the whole timeout again once less than a second remains, so a late
    retry could double the wait.
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds

    def __call__(self, attempt: Callable[..., Any]) -> Callable[..., Any]:
        deadline = time.monotonic() + self._seconds

        def until_deadline(*args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = max(deadline - time.monotonic(), _LAST_ATTEMPT_S)
            return attempt(*args, **kwargs)

        return until_deadline
