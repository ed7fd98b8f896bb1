"""Text rules shared by every request model."""

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def _refuse_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no legitimate name, ticker or password needs one.
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "Text must not contain NUL characters")
    return value


NoNul = AfterValidator(_refuse_nul)
