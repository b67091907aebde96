"""society: a simulator of AI societies for long-horizon deference.

The public names are imported on first use, so ``society --help`` and light scripts do not pay
for the engine (mesa, scipy) they never touch.

>>> import society
>>> sorted(n for n in society.__all__ if not n.startswith("_"))[:3]
['InstanceAgent', 'RunResult', 'Scenario']
>>> society.run.__module__
'society.api'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from society.api import RunResult, load, replay, resume, run
    from society.model import InstanceAgent, SocietyModel
    from society.scanning import scan
    from society.scenario import Scenario
    from society.scenario_files import load_scenario

__version__ = "0.1.0"
_WHERE = {
    "RunResult": "society.api",
    "load": "society.api",
    "replay": "society.api",
    "resume": "society.api",
    "run": "society.api",
    "InstanceAgent": "society.model",
    "SocietyModel": "society.model",
    "Scenario": "society.scenario",
    "load_scenario": "society.scenario_files",
    "scan": "society.scanning",
}
__all__ = [
    "InstanceAgent",
    "RunResult",
    "Scenario",
    "SocietyModel",
    "__version__",
    "load",
    "load_scenario",
    "replay",
    "resume",
    "run",
    "scan",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'society' has no attribute {name!r}")
