"""Receive Sonoran CAD push events: check, validate, then publish or handle them.

The package never imports Flask: `main.py` hands it plain values (method, path, query,
headers, body stream) and turns its plain answers back into responses.
"""
