"""flagger: flag sexist language in an organisation's messages, and say why."""

from flagger.errors import FlaggerError
from flagger.results import ScoreResult

__version__ = "0.1.0"

__all__ = ["Flagger", "FlaggerError", "ScoreResult", "__version__"]


def __getattr__(name: str) -> object:
    # Importing torch takes seconds; load the model class only when it is asked for.
    if name == "Flagger":
        from flagger.model import Flagger

        return Flagger
    raise AttributeError(f"module 'flagger' has no attribute {name!r}")
