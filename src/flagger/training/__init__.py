"""Training: the typed recipe (``TrainingConfig``), the loop (``train``) and the model card."""

from flagger.training.config import TrainingConfig
from flagger.training.trainer import TrainingResult, train

__all__ = ["TrainingConfig", "TrainingResult", "train"]
