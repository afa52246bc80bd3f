"""`make verify-local` and `make replay` against the stack running from this checkout.

    python -m local_stack.commands [--state-dir .stack] verify
    python -m local_stack.commands [--state-dir .stack] replay [--from dead-letter] [--dry-run]

Both read the running stack's state file (its URLs, emulator, project, prefix and worker log)
and run the project's own commands with it: `verify --local` with the dev key of the settings
(`SONORAN_API_KEYS` of the shell, .env or .env.example, as the stack's receiver got them),
and `replay` with the stack's emulator and the settings' SONORAN_STRICT_TYPES and
SONORAN_ROUTES.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from local_stack.state import StackState, dev_key
from sonoran_receiver.tools import replay, verify
from sonoran_receiver.tools.env_file import EnvFileError, environment
from sonoran_receiver.tools.run_local import ENV_FILES
from sonoran_receiver.tools.send import KEY_ENV

EXIT_NO_STACK: Final = 2


def verify_stack(state: StackState, environ: Mapping[str, str]) -> int:
    key = dev_key(environ)
    if key is None:
        print("verify-local: no key in SONORAN_API_KEYS (.env or .env.example)", file=sys.stderr)
        return EXIT_NO_STACK
    # verify reads the key from the environment only, never from its command line.
    os.environ[KEY_ENV] = key
    return verify.main(
        [
            "--local",
            f"--url={state.event_url}",
            f"--worker-log={state.worker_log}",
            f"--emulator-host={state.emulator_host}",
            f"--project={state.project}",
            f"--prefix={state.prefix}",
        ]
    )


def replay_stack(state: StackState, environ: Mapping[str, str], extra: Sequence[str]) -> int:
    stack_environ = {
        **environ,
        "PUBSUB_EMULATOR_HOST": state.emulator_host,
        "GOOGLE_CLOUD_PROJECT": state.project,
    }
    argv = ["--project", state.project, "--prefix", state.prefix, *extra]
    return replay.main(argv, stack_environ)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.commands")
    parser.add_argument("--state-dir", type=Path, default=Path(".stack"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("verify", help="verify --local against the running stack")
    replaying = commands.add_parser("replay", help="replay against the running stack")
    replaying.add_argument("--from", dest="source", choices=("quarantine", "dead-letter"))
    replaying.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    state = StackState.read(args.state_dir)
    if state is None:
        print(f"no stack runs from {args.state_dir}: start one with `make stack`", file=sys.stderr)
        return EXIT_NO_STACK
    try:
        environ = environment(ENV_FILES, os.environ)
    except EnvFileError as problem:
        print(problem, file=sys.stderr)
        return EXIT_NO_STACK
    if args.command == "verify":
        return verify_stack(state, environ)
    extra = [*(["--from", args.source] if args.source else []), *(["--dry-run"] * args.dry_run)]
    return replay_stack(state, environ, extra)


if __name__ == "__main__":
    sys.exit(main())
