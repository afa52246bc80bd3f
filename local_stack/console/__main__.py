"""`python -m local_stack.console`: the console on 127.0.0.1, started by `make stack`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from werkzeug.serving import make_server

from local_stack.console.app import ConsoleConfig, create_app
from local_stack.console.feed import Feed
from local_stack.console.sources import Reader
from local_stack.resources import StackNames
from local_stack.state import all_keys, dev_key


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.console")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--event-url", required=True)
    parser.add_argument("--emulator-host", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--receiver-log", type=Path, required=True)
    parser.add_argument("--worker-log", type=Path, required=True)
    args = parser.parse_args()
    environ = dict(os.environ)
    feed = Feed(all_keys(environ))
    names = StackNames(args.prefix)
    Reader(
        feed,
        emulator_host=args.emulator_host,
        project=args.project,
        names=names,
        receiver_log=args.receiver_log,
        worker_log=args.worker_log,
    ).start()
    config = ConsoleConfig(
        port=args.port,
        event_url=args.event_url,
        project=args.project,
        prefix=args.prefix,
        key=dev_key(environ),
        environ=environ,
    )
    # Werkzeug's request lines would repeat every poll; its errors still show.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", args.port, create_app(feed, config), threaded=True)
    print(f"console on http://127.0.0.1:{args.port}/", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
