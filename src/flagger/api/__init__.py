"""The live review API: a FastAPI app that classifies messages for reviewing systems."""

from flagger.api.app import create_app
from flagger.api.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app"]
