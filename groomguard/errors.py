"""Exceptions shared across the project. Messages never contain chat text (privacy rule)."""


class GroomguardError(Exception):
    """Base class: a user-facing error with a one-line message."""


class DataError(GroomguardError):
    """Input data that does not match the canonical schema (message names file, line, field)."""


class BundleError(GroomguardError):
    """A model bundle that is missing, corrupted, or of a format this version cannot honour."""


class ConfigError(GroomguardError):
    """A configuration file or override that cannot be applied."""
