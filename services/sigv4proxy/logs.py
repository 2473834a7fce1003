"""One JSON object per log line. Only fields passed in `extra` that are on the safe list are
written: no bodies, no URLs, no headers, no client addresses."""

import json
import logging
import sys

_SAFE_FIELDS = (
    "upstream",
    "outcome",
    "healthy",
    "status",
    "code",
    "error",
    "workers",
    "bind",
    "chain_id",  # the chain id an upstream answered: public, and what an operator must see
    "reason",
)


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for field in _SAFE_FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        return json.dumps(line)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger("pulseledger.proxy")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    # websockets logs every refused handshake (a wrong Origin) with a traceback: one JSON line
    # instead, without the exception text.
    ws_logger = logging.getLogger("websockets")
    ws_logger.handlers[:] = [handler]
    ws_logger.setLevel(logging.WARNING)
    ws_logger.propagate = False
    # botocore's DEBUG output includes canonical requests and signatures.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
