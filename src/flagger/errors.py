"""The flagger exception hierarchy: every error a user can cause is a ``FlaggerError``.

Messages say what was expected, what was found and how to fix it, so the CLI can print them as
one line and the API can return them as JSON without a stack trace.
"""

from __future__ import annotations


class FlaggerError(Exception):
    """Base class for errors caused by input, configuration or model files."""


class InputFileError(FlaggerError):
    """An input file is missing, empty, undecodable or lacks a required column."""


class ModelDirectoryError(FlaggerError):
    """A model directory is missing files, is corrupted, or was made by an incompatible version."""


class ConfigError(FlaggerError):
    """A configuration value is out of range or inconsistent with another."""
