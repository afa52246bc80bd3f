"""Prove a deployment works end to end, one line per step, each ✓ or ✗ with cause and fix.

    SONORAN_API_KEY=... python -m sonoran_receiver.tools.verify --project P --region R
    python -m sonoran_receiver.tools.verify --project P --region R --dry-run   # every gcloud call
    python -m sonoran_receiver.tools.verify --local --url URL --worker-log FILE \\
        --emulator-host HOST --project P                                  # a local stack

Steps, in order (the worker step needs the sample's `event_id`, so it is skipped when the
sample was not accepted):

1. probe: a GET on the event URL answers `ok`;
2. sample event: a sample `EVENT_911` with the key of `SONORAN_API_KEY` is answered `200`;
3. worker: the worker logged `worker event handled` for that very `event_id`, within a
   bounded wait; otherwise its failing handlers, or the statuses it answered pushes with;
4. dead letters: the dead-letter subscription holds nothing;
5. quarantine: the quarantine subscription holds nothing.

The same steps run against a deployed project (`CloudBackend`, gcloud) and a local stack
(`LocalBackend`: the worker's log file and the Pub/Sub emulator), which is how `make test`
runs them. Exit status: 0 when every step passed, 1 when one failed, 2 on a usage error.

The key is read from `SONORAN_API_KEY` only, never from the command line, and never
printed; neither is any event text, nor any control character a target, gcloud or a log
sent. A gcloud call that fails shows gcloud's own `ERROR:` line, and for the usual ones (not
signed in, no Application Default Credentials, an API not enabled, a wrong project) the
command that fixes it. Without `--region`, the region is the
one deploy/gcloud.sh recorded for the project (or terraform.tfvars names), else the
script's default, us-central1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from sonoran_receiver.publishing.message import SERVER_RE, utc_timestamp
from sonoran_receiver.tools.send import KEY_ENV, event_url, post, printable, request_body
from sonoran_receiver.tools.verify_backends import (
    PEEK_LIMIT,
    Backend,
    BackendError,
    CloudBackend,
    LocalBackend,
    Names,
    NotFound,
    WorkerRecord,
)

SAMPLE_TYPE: Final = "EVENT_911"
# A cold start plus Pub/Sub's first push and log ingestion fit well within this.
DEFAULT_WAIT_S: Final = 120.0
HTTP_TIMEOUT_S: Final = 30.0
# How often the worker step says it is still waiting: a silent two minutes looks frozen.
PROGRESS_EVERY_S: Final = 15.0
# deploy/gcloud.sh's default region, and where it records each run's settings.
DEFAULT_REGION: Final = "us-central1"
ROOT: Final = Path(__file__).resolve().parents[2]
# Log timestamps come from Google's clocks: look back a little before our own start.
CLOCK_SKEW: Final = timedelta(minutes=2)

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


@dataclass(frozen=True)
class Check:
    """One step's result: passed (True), failed (False) or skipped (None)."""

    step: str
    passed: bool | None
    detail: str
    cause: str = ""
    fix: str = ""

    def line(self) -> str:
        mark = {True: "✓", False: "✗", None: "-"}[self.passed]
        text = f"{mark} {self.step}: {self.detail}"
        if self.cause:
            text += f". Likely cause: {self.cause}"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


@dataclass(frozen=True)
class Context:
    """What every step may need beside the backend."""

    backend: Backend
    key: str
    server: str | None
    where: str  # "project P" or "the local stack", for causes and fixes
    wait_s: float = DEFAULT_WAIT_S
    # Where "still waiting" lines go, and how often (the worker step may take minutes).
    progress: Callable[[str], None] = field(default=lambda _line: None)
    progress_every_s: float = PROGRESS_EVERY_S


# --- the steps ----------------------------------------------------------------------------


def check_probe(context: Context) -> tuple[Check, str | None]:
    """The event URL answers a GET with `ok`; returns the URL for the next step."""
    names = context.backend.names
    try:
        url = context.backend.event_url()
    except NotFound:
        return Check(
            "probe",
            False,
            f"{names.event_function} not found in {context.where}",
            cause="the event function is not deployed there",
            fix="deploy it (docs/deploy.md), or give the right --project, --region or --prefix",
        ), None
    except BackendError as error:
        detail = f"cannot find the event URL: {error}"
        return Check("probe", False, detail, cause=error.cause, fix=error.fix), None
    try:
        status, text = _get(url)
    except OSError as error:
        return Check(
            "probe",
            False,
            f"no answer from {url} ({_reason(error)})",
            cause="the function is not running or the URL is wrong",
            fix=f"read its logs: gcloud functions logs read {names.event_function}",
        ), None
    if status == 200 and text.startswith("ok"):
        return Check("probe", True, f"{url} answers ok"), url
    causes = {
        403: (
            "the function is not public: allUsers lacks roles/run.invoker on its Cloud Run "
            "service (an organization policy on allowed member domains can refuse it)",
            "re-run the deployment, or ask an organization admin to exempt the project",
        ),
        404: (
            "the URL's path differs from SONORAN_EVENT_PATH",
            "use the URL the deployment printed (ending in /sonorancad/event)",
        ),
    }
    logs = f"read its logs: gcloud functions logs read {names.event_function}"
    cause, fix = causes.get(status, ("the function fails to start", logs))
    return Check("probe", False, f"{url} answered {status}", cause=cause, fix=fix), None


def check_sample(context: Context, url: str) -> tuple[Check, str | None]:
    """A sample event with the user's key is answered 200; returns its event_id."""
    step = f"sample {SAMPLE_TYPE}"
    if not context.key:
        return Check(
            step,
            False,
            f"{KEY_ENV} is not set",
            fix=f"printf '{KEY_ENV}: ' >&2 && read -rs {KEY_ENV} && echo >&2 && export "
            f"{KEY_ENV} (the key stored in the API key secret; typing is not shown)",
        ), None
    target = event_url(url, context.server)
    try:
        status, _, answer = post(target, request_body(SAMPLE_TYPE, context.key), HTTP_TIMEOUT_S)
    except OSError as error:
        reason = _reason(error)
        return Check(
            step, False, f"no answer ({reason})", cause="the function stopped answering"
        ), None
    if status == 200:
        event_id = _answer_id(answer)
        if event_id:
            return Check(step, True, f"answered 200, event_id {event_id}"), event_id
        return Check(
            step,
            False,
            "answered 200 without an event_id",
            cause="the deployed release is older than this checkout",
            fix="redeploy",
        ), None
    causes = {
        401: (
            "the key you exported differs from the secret's",
            f"export the key stored in {context.backend.names.prefix}-api-keys as {KEY_ENV}",
        ),
        503: (
            "Pub/Sub did not confirm the event: the topic is missing or the event "
            "function's account may not publish to it",
            "re-run the deployment, then read the function's 'pubsub publish failed' lines",
        ),
    }
    cause, fix = causes.get(
        status,
        ("the deployed release refuses this checkout's sample", "redeploy this checkout"),
    )
    return Check(step, False, f"answered {status}", cause=cause, fix=fix), None


def check_worker(context: Context, event_id: str, since: str) -> Check:
    """The worker logged that it handled `event_id`, within the bounded wait."""
    started = time.monotonic()
    deadline = started + context.wait_s
    next_progress = started + context.progress_every_s
    context.progress(
        f"… worker: waiting up to {context.wait_s:.0f} s for the worker's line about event "
        f"{event_id} (Pub/Sub's push, a cold start, then log ingestion)"
    )
    records: list[WorkerRecord] = []
    while True:
        try:
            records = context.backend.worker_records(event_id, since)
        except BackendError as error:
            detail = f"cannot read the worker's logs: {error}"
            return Check("worker", False, detail, cause=error.cause, fix=error.fix)
        verdict = worker_verdict(records, event_id)
        if verdict is not None:
            return verdict
        # Refused pushes are retried (an IAM grant takes a while to apply after a deploy),
        # so they decide only once the wait is over.
        now = time.monotonic()
        if now >= deadline:
            return _worker_silent(records, event_id, context)
        if now >= next_progress:
            context.progress(
                f"… worker: still waiting, {now - started:.0f} s of {context.wait_s:.0f} s"
            )
            next_progress = now + context.progress_every_s
        time.sleep(min(context.backend.poll_s, max(deadline - time.monotonic(), 0)))


def worker_verdict(records: list[WorkerRecord], event_id: str) -> Check | None:
    """Handled or failed for this event, or None while its fate is unknown."""
    mine = [record for record in records if record.event_id == event_id]
    if any(record.message == "worker event handled" for record in mine):
        return Check("worker", True, f"handled event {event_id}")
    failed = sorted({name for record in mine for name in record.failed})
    if failed:
        return Check(
            "worker",
            False,
            f"handler(s) {', '.join(failed)} failed on event {event_id}",
            cause="a handler's target refuses it or its setting is wrong (webhook URL, "
            "forward URL or secret)",
            fix="read the worker's 'handler failed' lines, fix the setting, then replay the "
            "dead letters (docs/operations.md)",
        )
    return None


def _statuses(records: list[WorkerRecord]) -> list[int]:
    return sorted({record.status for record in records if record.status is not None})


def _worker_silent(records: list[WorkerRecord], event_id: str, context: Context) -> Check:
    names = context.backend.names
    detail = f"no line for event {event_id} within {context.wait_s:.0f} s"
    statuses = _statuses(records)
    if any(status in (401, 403) for status in statuses):
        return Check(
            "worker",
            False,
            f"{detail}; the worker answered pushes with {statuses}",
            cause=f"the push subscription's account may not invoke {names.worker_function} "
            "(roles/run.invoker on its Cloud Run service), or its token's audience is not "
            "the worker's URL",
            fix="re-run the deployment; a grant made a minute ago may still be applying",
        )
    if 404 in statuses:
        return Check(
            "worker",
            False,
            f"{detail}; the worker answered pushes with {statuses}",
            cause="the push endpoint is not the worker's URL, or its ingress refuses Pub/Sub",
            fix=f"re-run the deployment so {names.prefix}-worker-push points at the worker",
        )
    if statuses:
        return Check(
            "worker",
            False,
            f"{detail}; the worker answered pushes with {statuses}",
            cause="the worker refuses the messages or fails to start",
            fix="read its 'worker refused message' lines: "
            f"gcloud functions logs read {names.worker_function}",
        )
    return Check(
        "worker",
        False,
        detail,
        cause=f"nothing reaches the worker: the push subscription {names.prefix}-worker-push "
        "is missing or points elsewhere, or the worker is not deployed",
        fix="re-run the deployment, then this command",
    )


def check_empty(context: Context, step: str, subscription: str, fix: str) -> Check:
    """The subscription holds nothing (looked at, not consumed)."""
    try:
        count = context.backend.peek(subscription)
    except NotFound:
        return Check(
            step,
            False,
            f"{subscription} not found in {context.where}",
            cause="the deployment is incomplete or older than this checkout",
            fix="re-run the deployment",
        )
    except BackendError as error:
        detail = f"cannot read {subscription}: {error}"
        return Check(step, False, detail, cause=error.cause, fix=error.fix)
    if count == 0:
        return Check(step, True, f"{subscription} is empty")
    held = f"{count} or more" if count >= PEEK_LIMIT else str(count)
    return Check(step, False, f"{subscription} holds {held} message(s)", fix=fix)


def run_steps(context: Context) -> Iterator[Check]:
    """Each step's result as soon as it is known (the worker step can take a while)."""
    names = context.backend.names
    since = utc_timestamp(datetime.now(UTC) - CLOCK_SKEW)
    probe, url = check_probe(context)
    yield probe
    event_id = None
    if url is None:
        yield Check(f"sample {SAMPLE_TYPE}", None, "skipped: the probe failed")
    else:
        sample, event_id = check_sample(context, url)
        yield sample
    if event_id is None:
        yield Check("worker", None, "skipped: no sample event was accepted")
    else:
        yield check_worker(context, event_id, since)
    yield check_empty(
        context,
        "dead letters",
        names.dead_letter_subscription,
        fix="these are events the worker failed on 10 times: fix the handler, then "
        "make replay PROJECT=... FROM=dead-letter (docs/operations.md)",
    )
    yield check_empty(
        context,
        "quarantine",
        names.quarantine_subscription,
        fix="these are events refused after a good key: see docs/quarantine.md, then "
        "make replay PROJECT=... once a release accepts them",
    )


# --- HTTP ---------------------------------------------------------------------------------


def _get(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method="GET")  # noqa: S310 - http(s) checked
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as answer:  # noqa: S310
            return answer.status, answer.read(1024).decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, ""


def _answer_id(answer: bytes) -> str | None:
    try:
        value = json.loads(answer)
    except ValueError:
        return None
    event_id = value.get("id") if isinstance(value, dict) else None
    return event_id if isinstance(event_id, str) else None


def _reason(error: OSError) -> str:
    return str(getattr(error, "reason", error))[:200]


# --- the command --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sonoran_receiver.tools.verify",
        description="Prove a deployment end to end: probe, sample event, worker, "
        "dead letters, quarantine.",
        epilog=f"The key comes from {KEY_ENV}, never from the command line. Exit status: 0 "
        "when every step passed, 1 when one failed, 2 on a usage error.",
    )
    parser.add_argument("--project", help="the Google Cloud project (the emulator's, --local)")
    parser.add_argument(
        "--region",
        help="the functions' region (default: the one deploy/gcloud.sh recorded for the "
        f"project, or terraform.tfvars names, else {DEFAULT_REGION})",
    )
    parser.add_argument("--prefix", default="sonorancad", help="the deployment's name prefix")
    parser.add_argument("--url", help="the event URL (default: looked up with gcloud)")
    parser.add_argument("--server", metavar="N", help="send the sample with ?server=N")
    parser.add_argument(
        "--wait", type=float, default=DEFAULT_WAIT_S, help="seconds to wait for the worker"
    )
    parser.add_argument("--dry-run", action="store_true", help="print every call, run none")
    local = parser.add_argument_group("a local stack instead of a project")
    local.add_argument("--local", action="store_true", help="check a local stack")
    local.add_argument("--worker-log", type=Path, help="the local worker's output file")
    local.add_argument("--emulator-host", help="the Pub/Sub emulator, host:port")
    return parser


class UsageError(Exception):
    pass


def backend_from(args: argparse.Namespace) -> tuple[Backend, str]:
    names = Names(args.prefix)
    if not args.project:
        raise UsageError("--project is required")
    if args.server is not None and not SERVER_RE.fullmatch(args.server):
        raise UsageError("--server must be 1 to 64 letters, digits, '_', '.' or '-'")
    if args.url is not None:
        try:
            event_url(args.url, None)
        except ValueError as error:
            raise UsageError(str(error)) from None
    if args.local:
        if not (args.url and args.worker_log and args.emulator_host):
            raise UsageError("--local needs --url, --worker-log and --emulator-host")
        backend = LocalBackend(
            url=event_url(args.url, None),
            worker_log=args.worker_log,
            emulator_host=args.emulator_host,
            project=args.project,
            names=names,
        )
        return backend, "the local stack"
    region = args.region or default_region(args.project, args.prefix)[0]
    url = event_url(args.url, None) if args.url else None
    return CloudBackend(args.project, region, names, url), f"project {args.project}"


def default_region(project: str, prefix: str) -> tuple[str, str]:
    """The region deploy/gcloud.sh would use for this project and prefix, and where it came
    from: its record of the last run, else terraform.tfvars when it names this project,
    else the script's default."""
    records = Path(os.environ.get("DEPLOY_SETTINGS_DIR") or ROOT / "deploy" / "gcloud-settings")
    recorded = _setting(records / f"{project}.{prefix}.env", r"REGION=(\S+)")
    if recorded:
        return recorded, "recorded by deploy/gcloud.sh"
    tfvars = ROOT / "deploy" / "terraform" / "terraform.tfvars"
    if _setting(tfvars, r'project_id\s*=\s*"([^"]+)"') == project:
        region = _setting(tfvars, r'region\s*=\s*"([^"]+)"')
        if region:
            return region, "from deploy/terraform/terraform.tfvars"
    return DEFAULT_REGION, "deploy/gcloud.sh's default"


def _setting(path: Path, pattern: str) -> str | None:
    """The first line of `path` matching `pattern` whole, its group; None without one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(rf"^\s*{pattern}\s*$", text, re.MULTILINE)
    return found.group(1) if found else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        backend, where = backend_from(args)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.dry_run:
        print(f"GET the event URL; POST a sample {SAMPLE_TYPE} with the key of ${KEY_ENV}")
        for line in backend.plan():
            print(line)
        return EXIT_OK
    if isinstance(backend, CloudBackend) and not args.region:
        _, source = default_region(backend.project, args.prefix)
        print(f"region {backend.region} ({source}; --region or REGION= to change it)")
    key = os.environ.get(KEY_ENV, "").strip()

    def progress(line: str) -> None:
        print(printable(line, key), flush=True)

    context = Context(backend, key, args.server, where, wait_s=args.wait, progress=progress)
    failed = False
    for check in run_steps(context):
        # Every line may quote the network (an event_id, a reason, a URL gcloud found).
        print(printable(check.line(), key), flush=True)
        failed = failed or check.passed is False
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
