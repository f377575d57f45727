"""One exception type for mistakes a user can fix; the CLI prints it without a traceback."""

import re


class UserError(Exception):
    """Bad input from the user (file, line, field or option). The message says what was expected."""


def first_line(e: BaseException, limit: int = 200) -> str:
    """A library's exception as one short plain line (its first line, terminal colour codes removed), to quote
    inside a UserError about the user's file."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()
    line = text.splitlines()[0] if text else ""
    return f"{type(e).__name__}: {line[:limit]}" if line else type(e).__name__
