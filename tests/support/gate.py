"""A TCP relay on 127.0.0.1 in front of the Pub/Sub emulator that can be shut and opened.

Shut, it accepts each connection and closes it at once: the client's gRPC channel sees
Pub/Sub unavailable (`UNAVAILABLE`, a code the publisher retries), as when a backend drops
connections for a moment. Open, it relays bytes both ways to the emulator.

    with Gate(emulator.host, shut=True) as gate:
        ...  # point PUBSUB_EMULATOR_HOST at gate.host
        gate.open()
"""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.closing import ClosesOnExit


class Gate(ClosesOnExit):
    def __init__(self, target: str, *, shut: bool = False) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self._shut = threading.Event()
        if shut:
            self._shut.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def open(self) -> None:
        self._shut.clear()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for each in self._sockets:
                with contextlib.suppress(OSError):
                    each.close()
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._shut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_relay, args=(source, sink), daemon=True).start()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
