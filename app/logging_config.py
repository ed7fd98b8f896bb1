"""Structured logging: JSON lines in production, readable lines in development.

Every record carries the current request id. Callers pass facts as `extra={...}`; secrets
(passwords, tokens, API keys) are never passed, and the access log omits query strings.
"""

import json
import logging
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

_HANDLER_NAME = "app"

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES}


_base_record_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: object, **kwargs: object) -> logging.LogRecord:
    record = _base_record_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        entry.update(_extra_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _escaped(text: str) -> str:
    """One line per record: a request path cannot forge another log line."""
    return _CONTROL_CHARACTERS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class ReadableFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        line = _escaped(self.formatMessage(record))
        fields = _extra_fields(record)
        if getattr(record, "request_id", None):
            fields["request_id"] = record.request_id
        if fields:
            line += " " + " ".join(_escaped(f"{key}={value}") for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


@dataclass
class _Episode:
    last_seen: float
    last_summary: float
    repeats: int = 0


class RepeatedFailureFilter(logging.Filter):
    """One full record (traceback included) per kind of failure, then while it lasts one summary
    line every `summary_seconds` counting the repeats: an outage cannot flood the logs.

    A kind is the logger, the message template and the exception type; warnings and errors only.
    A kind quiet for `summary_seconds` ends its episode: its next record is logged in full again.
    """

    MAX_KINDS = 1000

    def __init__(
        self, summary_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.summary_seconds = summary_seconds
        self._clock = clock
        self._episodes: OrderedDict[tuple, _Episode] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, str(record.msg), record.exc_info and record.exc_info[0])
        now = self._clock()
        episode = self._episodes.get(kind)
        if episode is None or now - episode.last_seen > self.summary_seconds:
            self._episodes[kind] = _Episode(last_seen=now, last_summary=now)
            self._episodes.move_to_end(kind)
            if len(self._episodes) > self.MAX_KINDS:
                self._episodes.popitem(last=False)
            if episode is not None and episode.repeats:
                _append(record, f"[{episode.repeats} more before this, not logged]")
            return True
        episode.last_seen = now
        episode.repeats += 1
        if now - episode.last_summary < self.summary_seconds:
            return False
        _append(
            record,
            f"[repeated {episode.repeats} times in the last "
            f"{now - episode.last_summary:.0f} s; first traceback logged earlier]",
        )
        record.exc_info = record.exc_text = record.stack_info = None
        episode.repeats, episode.last_summary = 0, now
        return True


def _append(record: logging.LogRecord, note: str) -> None:
    record.msg, record.args = f"{record.getMessage()} {note}", ()


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else ReadableFormatter())
    handler.addFilter(RepeatedFailureFilter())
    handler.set_name(_HANDLER_NAME)
    logging.setLogRecordFactory(_record_with_request_id)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER_NAME] + [handler]
    root.setLevel(level.upper())
    # Our access middleware logs each request once, with its request id; uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
