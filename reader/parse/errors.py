"""The one error every feed parser raises: the body is not a usable feed.

Never carries a traceback's worth of detail: str() is shown to people as is.
"""


class ParseError(Exception):
    """The body is not a usable feed; str() is a short reason meant for people."""
