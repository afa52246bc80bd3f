"""The topics and subscriptions a deployment has, created on the emulator under its names.

Names come from the deploy's prefix (`verify`'s `Names`, as deploy/terraform/pubsub.tf and
deploy/gcloud.sh name them); the worker's push subscription gets the deploy's ack deadline,
retry policy and dead-letter policy, and pushes to the worker's URL with the topic path, as
the deployed one does (the path becomes the CloudEvent's source). Two pull subscriptions
more belong to the console alone, so that reading them never takes a message from replay
or `verify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from local_stack.emulator import EmulatorRest
from sonoran_receiver.tools.verify_backends import Names

# deploy/terraform/pubsub.tf: the worker's timeout, its retry policy, and the dead-letter
# attempts' default (deploy/gcloud.sh --dead-letter-attempts).
ACK_DEADLINE_S: Final = 60
MIN_BACKOFF: Final = "10s"
MAX_BACKOFF: Final = "600s"
DEAD_LETTER_ATTEMPTS: Final = 10
PULL_RETENTION: Final = "604800s"


@dataclass(frozen=True)
class StackNames(Names):
    """The deploy's names plus the console's own subscriptions."""

    @property
    def console_events_subscription(self) -> str:
        return f"{self.prefix}-console-events"

    @property
    def console_quarantine_subscription(self) -> str:
        return f"{self.prefix}-console-quarantine"


def create_resources(
    rest: EmulatorRest, names: StackNames, worker_url: str, dead_letter_attempts: int
) -> None:
    """Every topic and subscription of the deployment, on a fresh (empty) emulator."""
    for topic in (names.events_topic, names.dead_letter_topic, names.quarantine_topic):
        rest.create_topic(topic)
    pulls = (
        (names.dead_letter_subscription, names.dead_letter_topic),
        (names.quarantine_subscription, names.quarantine_topic),
        (names.console_events_subscription, names.events_topic),
        (names.console_quarantine_subscription, names.quarantine_topic),
    )
    for subscription, topic in pulls:
        rest.create_subscription(subscription, _pull(rest, topic))
    events = rest.path("topics", names.events_topic)
    rest.create_subscription(
        names.worker_push_subscription,
        {
            **_pull(rest, names.events_topic),
            "pushConfig": {"pushEndpoint": f"{worker_url.rstrip('/')}/{events}"},
            "retryPolicy": {"minimumBackoff": MIN_BACKOFF, "maximumBackoff": MAX_BACKOFF},
            "deadLetterPolicy": {
                "deadLetterTopic": rest.path("topics", names.dead_letter_topic),
                "maxDeliveryAttempts": dead_letter_attempts,
            },
        },
    )


def _pull(rest: EmulatorRest, topic: str) -> dict[str, Any]:
    return {
        "topic": rest.path("topics", topic),
        "ackDeadlineSeconds": ACK_DEADLINE_S,
        "messageRetentionDuration": PULL_RETENTION,
    }
