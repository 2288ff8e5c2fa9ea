class InvalidInputError(ValueError):
    """Input that breaks a documented rule. The message is one line, safe to show to users."""


class NotFoundError(LookupError):
    """A named or numbered entity does not exist."""

    def __str__(self) -> str:
        # LookupError quotes its argument like a KeyError would; we want the sentence as written.
        return str(self.args[0]) if self.args else "not found"


class ConflictError(RuntimeError):
    """The stored state changed under us (a uniqueness or compare-and-swap failure)."""
