"""Where `verify` looks: a deployed project through gcloud, or a local stack.

Both backends answer the same three questions, so `sonoran_receiver.tools.verify` runs the same
steps against either:

- `event_url()`: the event function's URL;
- `worker_records(event_id, since)`: what the worker logged about that event, and the
  statuses it answered pushes with, since `since`;
- `peek(subscription)`: how many messages (up to `PEEK_LIMIT`) a subscription holds,
  looked at without acknowledging them and released at once, so nothing is consumed.

`CloudBackend` runs gcloud (each call listed by `plan()`, which `--dry-run` prints);
`LocalBackend` reads the worker's log file and the Pub/Sub emulator's REST API, for the
tests and for a local stack (`make run`, the emulator, a worker).

Standard library only, like the sender: it runs from a bare checkout.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from sonoran_receiver.tools.send import event_url

# A peek looks at this many messages at most: enough to say "not empty" and how full.
PEEK_LIMIT: Final = 10
# gcloud calls that hang (a network problem) end after this long.
GCLOUD_TIMEOUT_S: Final = 120.0
HTTP_TIMEOUT_S: Final = 10.0


class BackendError(Exception):
    """A look-up failed; the message is safe to print (no key, no event text).

    `cause` and `fix` say what a known gcloud error usually means and the command that
    clears it; empty when the error is not one of those.
    """

    def __init__(self, message: str, cause: str = "", fix: str = "") -> None:
        super().__init__(message)
        self.cause = cause
        self.fix = fix


class NotFound(BackendError):
    """The function or subscription looked up does not exist."""


@dataclass(frozen=True)
class Names:
    """The deployment's resource names, from its prefix (as in `deploy/`)."""

    prefix: str = "sonorancad"

    @property
    def event_function(self) -> str:
        return f"{self.prefix}-event"

    @property
    def worker_function(self) -> str:
        return f"{self.prefix}-worker"

    @property
    def events_topic(self) -> str:
        return f"{self.prefix}-events"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.prefix}-events-dead-letter"

    @property
    def quarantine_topic(self) -> str:
        return f"{self.prefix}-quarantine"

    @property
    def worker_push_subscription(self) -> str:
        return f"{self.prefix}-worker-push"

    @property
    def dead_letter_subscription(self) -> str:
        return f"{self.prefix}-events-dead-letter"

    @property
    def quarantine_subscription(self) -> str:
        return f"{self.prefix}-quarantine-pull"

    def subscriptions_to_empty(self) -> tuple[str, str]:
        return (self.dead_letter_subscription, self.quarantine_subscription)


@dataclass(frozen=True)
class WorkerRecord:
    """One worker log line about an event, or one answer the worker gave a push."""

    message: str | None = None
    event_id: str | None = None
    failed: tuple[str, ...] = ()
    status: int | None = None


class Backend(Protocol):
    names: Names
    poll_s: float  # between looks at the worker's logs

    def event_url(self) -> str: ...

    def worker_records(self, event_id: str, since: str) -> list[WorkerRecord]: ...

    def peek(self, subscription: str) -> int: ...

    def plan(self) -> list[str]: ...


def _record(payload: Any, status: Any = None) -> WorkerRecord:
    """A WorkerRecord from a log line's JSON fields (ours: `logs.emit`)."""
    fields = payload if isinstance(payload, dict) else {}
    failed = fields.get("failed")
    return WorkerRecord(
        message=fields.get("message") if isinstance(fields.get("message"), str) else None,
        event_id=fields.get("event_id") if isinstance(fields.get("event_id"), str) else None,
        failed=tuple(str(name) for name in failed) if isinstance(failed, list) else (),
        status=status if isinstance(status, int) else None,
    )


# --- the cloud: gcloud ---------------------------------------------------------------------


@dataclass
class CloudBackend:
    """A deployed project, read with the gcloud CLI the user is signed in with."""

    project: str
    region: str
    names: Names = field(default_factory=Names)
    url: str | None = None
    gcloud: str = "gcloud"
    # A dozen reads of the logs in the default wait; ingestion takes seconds anyway.
    poll_s: float = 10.0

    # Each call is built by one method, used both to run it and to print it (--dry-run).

    def describe_call(self) -> list[str]:
        # The same look-up deploy/gcloud.sh makes for the URLs it prints.
        return [
            self.gcloud,
            "functions",
            "describe",
            self.names.event_function,
            f"--project={self.project}",
            f"--region={self.region}",
            "--format=value(serviceConfig.uri)",
        ]

    def logs_call(self, event_id: str, since: str) -> list[str]:
        # Our JSON lines arrive as `jsonPayload`; Cloud Run's request log of each push has
        # `httpRequest.status` (https://cloud.google.com/run/docs/logging, LogEntry
        # HttpRequest). A timestamp in the filter, since --freshness ignores it then.
        query = (
            'resource.type="cloud_run_revision" '
            f'AND resource.labels.service_name="{self.names.worker_function}" '
            f'AND timestamp>="{since}" '
            f'AND (jsonPayload.event_id="{event_id}" OR httpRequest.status>=400)'
        )
        return [
            self.gcloud,
            "logging",
            "read",
            query,
            f"--project={self.project}",
            "--limit=50",
            "--format=json",
        ]

    def pull_call(self, subscription: str) -> list[str]:
        # No --auto-ack: a peek, not a read (gcloud pubsub subscriptions pull).
        return [
            self.gcloud,
            "pubsub",
            "subscriptions",
            "pull",
            subscription,
            f"--project={self.project}",
            f"--limit={PEEK_LIMIT}",
            "--format=json",
        ]

    def release_call(self, subscription: str, ack_ids: list[str]) -> list[str]:
        # A deadline of 0 makes the peeked messages available again at once
        # (gcloud pubsub subscriptions modify-message-ack-deadline).
        return [
            self.gcloud,
            "pubsub",
            "subscriptions",
            "modify-message-ack-deadline",
            subscription,
            f"--project={self.project}",
            "--ack-deadline=0",
            f"--ack-ids={','.join(ack_ids)}",
        ]

    def plan(self) -> list[str]:
        """Every gcloud call a run makes, as shell lines, with placeholders."""
        calls = [] if self.url else [self.describe_call()]
        calls.append(self.logs_call("EVENT_ID", "START_TIME"))
        for subscription in self.names.subscriptions_to_empty():
            calls.append(self.pull_call(subscription))
            calls.append(self.release_call(subscription, ["ACK_ID"]))
        return [shlex.join(call) for call in calls]

    def event_url(self) -> str:
        if self.url:
            return self.url
        base = self._run(self.describe_call()).strip()
        if not base.startswith("https://"):
            raise BackendError(
                f"{self.names.event_function} has no URL in {self.project}/{self.region}"
            )
        return event_url(base, None)

    def worker_records(self, event_id: str, since: str) -> list[WorkerRecord]:
        entries = _json_list(self._run(self.logs_call(event_id, since)))
        records = []
        for entry in entries:
            status = (entry.get("httpRequest") or {}).get("status")
            records.append(_record(entry.get("jsonPayload"), status))
        return records

    def peek(self, subscription: str) -> int:
        received = _json_list(self._run(self.pull_call(subscription)))
        ack_ids = [str(each["ackId"]) for each in received if each.get("ackId")]
        if ack_ids:
            self._run(self.release_call(subscription, ack_ids))
        return len(received)

    def _run(self, call: list[str]) -> str:
        environment = {**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
        try:
            done = subprocess.run(  # noqa: S603 - a fixed gcloud call, no shell
                call,
                capture_output=True,
                text=True,
                timeout=GCLOUD_TIMEOUT_S,
                env=environment,
                check=False,
            )
        except FileNotFoundError:
            raise BackendError("gcloud is not installed (https://cloud.google.com/sdk)") from None
        except subprocess.TimeoutExpired:
            raise BackendError(f"gcloud did not answer within {GCLOUD_TIMEOUT_S:.0f} s") from None
        if done.returncode != 0:
            raise gcloud_error(done.stderr, done.returncode, self.project)
        return done.stdout


def gcloud_error(stderr: str, returncode: int, project: str) -> BackendError:
    """gcloud's own `ERROR:` line, with the cause and fix of the usual ones.

    gcloud prints its error on a line starting `ERROR:` and advice after it ("to select an
    already authenticated account to use."): the advice alone reads as nonsense, so the
    `ERROR:` line is what is shown, and the fix comes from the table below.
    """
    line = _error_line(stderr) or f"gcloud exited with {returncode}"
    known = _known_error(stderr, project)
    if known is not None:
        return BackendError(line, *known)
    if "NOT_FOUND" in stderr or "not found" in stderr.lower():
        return NotFound(line)
    return BackendError(line)


def _error_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    chosen = errors[0] if errors else (lines[-1] if lines else "")
    return chosen[:300].rstrip(".")


# The gcloud errors a first run meets: words of gcloud's message (lower case), then the
# cause and the fix, with {project} and {service} (the API named in the message) filled in.
# First match wins.
_KNOWN_ERRORS: Final = (
    (
        ("do not currently have an active account", "gcloud auth login"),
        "gcloud is not signed in",
        "gcloud auth login",
    ),
    (
        ("reauthentication", "refresh your current auth tokens"),
        "gcloud's sign-in has expired",
        "gcloud auth login",
    ),
    (
        ("default credentials", "application-default"),
        "no Application Default Credentials on this machine",
        "gcloud auth application-default login",
    ),
    (
        ("has not been used in project", "not enabled on project", "service_disabled"),
        "the API {service} is not enabled in project {project}",
        "gcloud services enable {service} --project={project} (the deployment enables every "
        "API it uses: was it run in this project?)",
    ),
    (
        ("may not exist", "project does not exist", "project not found", "valid project id"),
        "project {project} does not exist, or your account may not use it",
        "give --project the project id as `gcloud projects list` shows it (not its name or "
        "number), signed in as an account of that project (gcloud auth list)",
    ),
    (
        ("permission_denied", "does not have permission"),
        "your account lacks a role in project {project}",
        "gcloud auth list shows which account runs gcloud; a project Owner can grant it the role",
    ),
)


def _known_error(stderr: str, project: str) -> tuple[str, str] | None:
    """(cause, fix) of the gcloud errors a first run meets, or None."""
    text = stderr.lower()
    named = re.search(r"([a-z0-9-]+\.googleapis\.com)", stderr)
    service = named.group(1) if named else "the API it names"
    for markers, cause, fix in _KNOWN_ERRORS:
        if any(marker in text for marker in markers):
            values = {"project": project, "service": service}
            return cause.format(**values), fix.format(**values)
    return None


def _json_list(text: str) -> list[dict[str, Any]]:
    if not text.strip():
        return []
    try:
        value = json.loads(text)
    except ValueError:
        raise BackendError("gcloud printed something other than JSON") from None
    return [each for each in value if isinstance(each, dict)] if isinstance(value, list) else []


# --- a local stack: the worker's log file and the Pub/Sub emulator ---------------------------


@dataclass
class LocalBackend:
    """The event function at `url`, a worker writing `worker_log`, subscriptions on the
    emulator at `emulator_host` in `project`: the local stand-ins of the cloud's parts."""

    url: str
    worker_log: Path
    emulator_host: str
    project: str
    names: Names = field(default_factory=Names)
    poll_s: float = 0.2

    def plan(self) -> list[str]:
        base = f"http://{self.emulator_host}/v1/projects/{self.project}/subscriptions"
        lines = [f"read {self.worker_log} for the worker's lines about EVENT_ID"]
        for subscription in self.names.subscriptions_to_empty():
            lines.append(f"POST {base}/{subscription}:pull")
            lines.append(f"POST {base}/{subscription}:modifyAckDeadline")
        return lines

    def event_url(self) -> str:
        return self.url

    def worker_records(self, event_id: str, since: str) -> list[WorkerRecord]:
        # functions-framework writes the worker's stdout here; `since` needs no filter, as
        # the event_id is new. The local worker has no request log: statuses stay unknown.
        try:
            text = self.worker_log.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            reason = f"cannot read the worker log {self.worker_log}: {error.strerror}"
            raise BackendError(reason) from None
        records = []
        for line in text.splitlines():
            try:
                payload = json.loads(line)
            except ValueError:
                continue  # gunicorn's own lines
            record = _record(payload)
            if record.event_id == event_id:
                records.append(record)
        return records

    def peek(self, subscription: str) -> int:
        path = f"/v1/projects/{self.project}/subscriptions/{subscription}"
        # returnImmediately: an empty subscription answers at once instead of holding the
        # request open (deprecated for the service, honoured by the emulator).
        pulled = self._post(f"{path}:pull", {"maxMessages": PEEK_LIMIT, "returnImmediately": True})
        received = pulled.get("receivedMessages") or []
        ack_ids = [each["ackId"] for each in received if isinstance(each, dict) and "ackId" in each]
        if ack_ids:
            self._post(f"{path}:modifyAckDeadline", {"ackIds": ack_ids, "ackDeadlineSeconds": 0})
        return len(received)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return emulator_call(self.emulator_host, "POST", path, body)


def emulator_call(host: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One call of the emulator's REST API (Pub/Sub's paths) at `host`; its JSON answer."""
    request = urllib.request.Request(
        f"http://{host}{path}",
        data=json.dumps(body).encode("utf-8"),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as answer:  # noqa: S310
            value = json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        with error:
            if error.code == 404:
                raise NotFound(f"{path} not found") from None
            raise BackendError(f"{method} {path}: the emulator answered {error.code}") from None
    except (OSError, ValueError) as error:
        reason = f"the emulator at {host} did not answer: {error}"
        raise BackendError(reason) from None
    return value if isinstance(value, dict) else {}
