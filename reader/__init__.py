"""The reader: a terminal RSS reader whose reason to exist is topic alerts."""

__version__ = "0.1.0"  # as pyproject.toml says; reader.config.VERSION is this
