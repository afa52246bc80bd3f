"""The Pub/Sub emulator: whether it can run here, how to start it, its REST API to set up.

The emulator is `gcloud beta emulators pubsub start`, a Java server. The stack and the tests
(tests/support/emulator.py) start it with the same command and ask the same question first.
The REST client uses the standard library only, as `verify`'s local backend does.
"""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sonoran_receiver.tools.verify_backends import emulator_call

# What to install, per platform, when java or the emulator component is missing. The
# Debian package comes from Google's Cloud SDK apt repository; gcloud installed by Google's
# own installer (macOS, or a tarball) adds the component with its component manager.
INSTALL_LINES: Final = (
    "Debian/Ubuntu: sudo apt-get install default-jre-headless google-cloud-cli-pubsub-emulator",
    "  (from Google's Cloud SDK apt repository: https://cloud.google.com/sdk/docs/install#deb)",
    "  or, with gcloud from Google's installer: gcloud components install pubsub-emulator beta",
    "macOS: brew install openjdk && brew install --cask google-cloud-sdk",
    "  then: gcloud components install pubsub-emulator beta",
    "Windows: inside WSL (Ubuntu), the Debian/Ubuntu lines above",
)


def emulator_problem() -> str | None:
    """Why the emulator cannot run on this machine, or None when it can."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return "gcloud is not installed (Debian: google-cloud-cli)"
    if shutil.which("java") is None:
        return "java is not installed (Debian: default-jre-headless)"
    # The component lives beside gcloud's SDK root, whether installed by apt or by the
    # SDK's own installer (bin/gcloud -> ../platform/pubsub-emulator).
    sdk_root = Path(gcloud).resolve().parent.parent
    if not (sdk_root / "platform" / "pubsub-emulator").is_dir():
        return (
            "the Pub/Sub emulator component is not installed "
            "(Debian: google-cloud-cli-pubsub-emulator)"
        )
    return None


def emulator_command(host: str, project: str) -> list[str]:
    return [
        "gcloud",
        "beta",
        "emulators",
        "pubsub",
        "start",
        f"--host-port={host}",
        f"--project={project}",
    ]


def emulator_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` for the emulator's process: gcloud must never wait on a prompt nor look for
    updates, and an emulator host set for clients means nothing to the server."""
    child = {
        **environ,
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
    }
    child.pop("PUBSUB_EMULATOR_HOST", None)
    return child


@dataclass(frozen=True)
class EmulatorRest:
    """The emulator's REST API (the same paths as Pub/Sub's) at `host`, for `project`."""

    host: str
    project: str

    def path(self, kind: str, name: str) -> str:
        return f"projects/{self.project}/{kind}/{name}"

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}/", timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def create_topic(self, name: str) -> None:
        self._call("PUT", f"/v1/{self.path('topics', name)}", {})

    def create_subscription(self, name: str, body: dict[str, Any]) -> None:
        self._call("PUT", f"/v1/{self.path('subscriptions', name)}", body)

    def _call(self, method: str, path: str, body: dict[str, Any]) -> None:
        emulator_call(self.host, method, path, body)
