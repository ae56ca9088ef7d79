"""CSV that spreadsheets open safely, written a row at a time (streamed exports: the audit log, analytics)."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """A file-like object whose write() hands back what it was given: ``csv.writer(Echo()).writerow(row)`` is the
    row's CSV line, to stream."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value) -> str:
    """A cell's text; one that starts with = + - @ (or a tab or carriage return), which a spreadsheet would run as
    a formula (CSV injection), is prefixed with '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
