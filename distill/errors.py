"""One exception type for mistakes a user can fix; the CLI prints it without a traceback."""


class UserError(Exception):
    """Bad input from the user (file, line, field or option). The message says what was expected."""
