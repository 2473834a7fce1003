"""The one error a format reader raises: the reason a signed value cannot be read as readings."""


class FormatProblem(ValueError):
    """Its message is the dead letter's reason and the answer's `reason` (no health values)."""
