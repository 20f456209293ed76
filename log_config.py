"""Logging: the console plus ``logs/blog@PORT.log``, rotated daily, one file per port."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"

# tornadis warns on every failed connect during a Redis outage; our callers report it once.
QUIET_LOGGERS = ("tornadis",)


def setup_logging(port: int, log_dir: str, level: str = "INFO") -> Path:
    """Configure the root logger for this instance; returns the log file's path."""
    directory = Path(log_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"blog@{port}.log"
    formatter = logging.Formatter(FORMAT)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler()
    console.setFormatter(formatter)
    rotating = logging.handlers.TimedRotatingFileHandler(
        path, when="midnight", backupCount=14, encoding="utf-8"
    )
    rotating.setFormatter(formatter)
    root.addHandler(console)
    root.addHandler(rotating)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    return path
