"""The stack's console: a live page of every event that reached the local receiver.

It reads only what the stack produces: the receiver's and the worker's JSON log lines (the
files the supervisor writes) and two pull subscriptions of its own on the emulator (the
events topic and the quarantine topic). It has no copy of the receiver's logic: outcomes,
reasons and handler results are what those lines and messages say.
"""
