"""The one exception type for problems a user can fix."""


class JidoError(Exception):
    """A problem with the user's input: a spec, a file, a column or a model URI.

    The message alone must tell the user what is wrong and what to do; the CLI
    prints it without a traceback and exits non-zero.
    """


class InputProblems(JidoError):
    """Input that cannot be scored, with each problem as its own sentence (a scoring service returns them as a list)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("input cannot be scored:\n  - " + "\n  - ".join(problems))


def at_most(items: list[str], limit: int) -> list[str]:
    """The first ``limit`` of ``items``, then one that says how many more there are: a message stays short however many
    there are."""
    if len(items) <= limit:
        return list(items)
    return [*items[:limit], f"... and {len(items) - limit} more"]
