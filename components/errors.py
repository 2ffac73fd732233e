"""The one exception type for problems a user can fix."""


class JidoError(Exception):
    """A problem with the user's input: a spec, a file, a column or a model URI.

    The message alone must tell the user what is wrong and what to do; the CLI
    prints it without a traceback and exits non-zero.
    """
