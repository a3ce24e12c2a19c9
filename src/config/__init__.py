"""Central configuration: every setting, read from the environment and an optional `.env`."""

from config.config import ConfigError, Settings, load

__all__ = ["ConfigError", "Settings", "load"]
