"""Failure reasons of the trainer.

The dataset reasons and their messages are CLOVA Studio's (the vendor
reference, section 1.5), so the gateway maps one table for both; the
trainer adds a few codes of its own (spec.*, model.*, resource.oom).
docs/trainer.md has the table.
"""

from __future__ import annotations

# exit codes of `python -m trainer`
EXIT_OK = 0
EXIT_TRAIN = 1        # train.unknown, file.error while training
EXIT_INPUT = 2        # a bad dataset, spec or model directory: fails fast
EXIT_OOM = 3          # resource.oom
EXIT_CANCELLED = 143  # SIGTERM (scancel) or SIGINT

# CLOVA's messages, word for word
MSG_EXTENSION = ("Unavailable file extension. "
                 "Please check the file extension again.")
MSG_SIZE = ("Exceeded the disk usage limit. "
            "Please check if the file size is {limit} or less.")
MSG_ENCODING = "Unsupported charset"
MSG_JSON = "Invalid json format. {reason}"
MSG_REQUIRED = "Invalid dataset: required field empty. {column}"
MSG_UNEXPECTED = "Invalid dataset: unexpected column. {column}"
MSG_DUPLICATE = "Invalid dataset: duplicate columns. {column}"
MSG_ORDER = "Invalid dataset: column order"
MSG_COLUMN = "Invalid dataset: {column}"


class TrainerError(Exception):
    """A failure with a reason code, a short message for the gateway and
    an optional detail (line numbers, paths) for the log and result.json.
    """

    def __init__(self, reason: str, message: str, exit_code: int = EXIT_INPUT,
                 detail: str | None = None):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
        self.exit_code = exit_code
        self.detail = detail


class Cancelled(Exception):
    """SIGTERM or SIGINT arrived: stop, record, exit 143."""


def dataset_error(reason: str, message: str, detail: str | None = None
                  ) -> TrainerError:
    return TrainerError(reason, message, EXIT_INPUT, detail)


def spec_error(message: str) -> TrainerError:
    return TrainerError("spec.invalid", message, EXIT_INPUT)


def is_oom(exc: BaseException) -> bool:
    """CUDA or host allocation failures, whatever torch wraps them in."""
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    if name == "OutOfMemoryError":
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return ("out of memory" in text
                or "can't allocate memory" in text
                or "cuda_error_out_of_memory" in text)
    return False
