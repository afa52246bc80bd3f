"""The whole pipeline on one machine (`make stack`), and its console. Never deployed.

The deploy paths allow-list what the functions run (main.py, sonoran_receiver/, handlers/,
requirements.txt), so nothing here reaches the source archive; tests/deploy/ checks it.
Imports point one way: this package uses sonoran_receiver's tools, never the reverse.
"""
