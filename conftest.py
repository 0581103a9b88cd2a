"""Loads the oraclebench pytest plugin for this checkout (`pytest benchmark --model NAME`).

The plugin lives in ``oraclebench/plugin.py``; other projects can load it with ``-p oraclebench.plugin``.
"""

pytest_plugins = ["oraclebench.plugin"]
