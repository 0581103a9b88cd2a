"""Shared by the suite's own tests.

pytester's in-process runs restore ``sys.modules`` afterwards, dropping every module first imported
inside them. numpy, pandas and matplotlib cannot be imported twice in one process (a second
``matplotlib.artist`` makes a ``Figure`` fail ``isinstance(fig, Artist)``), so a report built after an
in-process ``--report`` run failed, whichever test file ran first. Importing them once here, before any
test, keeps them in every snapshot.
"""

import importlib.util

for _name in ("numpy", "pandas", "matplotlib.figure", "matplotlib.backends.backend_agg"):
    if importlib.util.find_spec(_name.split(".")[0]) is not None:
        __import__(_name)
