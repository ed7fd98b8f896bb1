"""Text rules shared by every request model."""

import re

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def _refuse_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no legitimate name, ticker or password needs one.
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "Text must not contain NUL characters")
    return value


NoNul = AfterValidator(_refuse_nul)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _refuse_control_characters(value: str) -> str:
    # Names and tickers are shown in lists, logs and exports: no line breaks, tabs, escapes.
    if _CONTROL_CHARACTERS.search(value):
        raise PydanticCustomError(
            "control_character", "Text must not contain control characters (tabs, line breaks...)"
        )
    return value


PlainText = AfterValidator(_refuse_control_characters)
