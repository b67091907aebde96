"""society: a simulator of AI societies for long-horizon deference.

>>> import society
>>> sorted(n for n in society.__all__ if not n.startswith("_"))[:3]
['InstanceAgent', 'RunResult', 'Scenario']
"""

from society.api import RunResult, load, replay, resume, run
from society.model import InstanceAgent, SocietyModel
from society.scenario import Scenario
from society.scenario_files import load_scenario

__version__ = "0.1.0"
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
]
