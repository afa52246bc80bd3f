"""Helpers shared by the test modules: the app under test, servers, environments."""
