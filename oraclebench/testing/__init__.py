"""Helpers for testing oraclebench against real servers (a fault-injecting HTTP proxy)."""
