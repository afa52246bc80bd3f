"""Receive Sonoran CAD push events: check, validate, then publish or handle them.

The package never imports Flask: `main.py` hands it plain values (method, path, query,
headers, body stream) and turns its plain answers back into responses.
"""

# Who this code is, for the `User-Agent` of every outgoing handler call (Discord asks for
# `DiscordBot (url, version)`). The project has no public address yet: its name stands in
# the URL's place rather than an address that is not ours. VERSION follows pyproject.toml's,
# which is not deployed.
PROJECT_URL = "sonoran-receiver"
VERSION = "0.1.0"
