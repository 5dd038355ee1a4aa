"""The one exception a participant ever sees from the evaluator."""


class ValidationError(Exception):
    """Invalid submission or options: a one-line message naming file/line/id.

    The message is shown verbatim to the participant, so it must say what was
    expected and what was found, and must never leak hidden ground truth values.
    """

    def __init__(self, message: str):
        # Keep it one line: the CLI contract prints exactly one line on error.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)
