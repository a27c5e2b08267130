"""Choosing the format of a response: ``?format=`` first, else the ``Accept`` header (RFC 9110).

``Accept`` ranges are weighed by their ``q`` (default 1; an unparsable ``q`` drops the range);
a format takes the ``q`` of the most specific range matching one of its media types
(``text/csv`` beats ``text/*`` beats ``*/*``); ``q=0`` refuses it. The highest ``q`` wins; on a
tie an exact media type beats a wildcard, then the range listed first wins, then the order of
:class:`Format` (JSON first). No header, an empty one, or ``*/*`` give JSON.
"""

from __future__ import annotations

from reports_core.formats.model import XLSX_MEDIA_TYPE, Format

ACCEPTED_MEDIA_TYPES: dict[str, Format] = {
    "application/json": Format.JSON,
    "application/x-ndjson": Format.NDJSON,
    "application/ndjson": Format.NDJSON,
    "text/csv": Format.CSV,
    XLSX_MEDIA_TYPE: Format.XLSX,
    "application/pdf": Format.PDF,
}
_FORMAT_NAMES = ", ".join(f.value for f in Format)


class FormatError(ValueError):
    """No acceptable format: ``status`` 400 for a bad ``?format=`` (``parameter`` = ``format``),
    406 when nothing in ``Accept`` is available (``parameter`` None)."""

    def __init__(self, message: str, *, status: int, parameter: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.parameter = parameter


def parse_format(value: str) -> Format:
    """A format by name (``?format=``, ``--format``); :class:`FormatError` (400) when unknown."""
    try:
        return Format(value.strip().lower())
    except ValueError:
        raise FormatError(
            f"format must be one of {_FORMAT_NAMES} (got {value!r})", status=400, parameter="format"
        ) from None


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    """``(type, subtype, q)`` of every well-formed media range, in header order."""
    ranges = []
    for part in accept.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        if media == "*":
            media = "*/*"
        kind, slash, sub = media.partition("/")
        if not slash or not kind or not sub:
            continue
        q: float | None = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = None
                if q is not None and not 0.0 <= q <= 1.0:
                    q = None
        if q is not None:
            ranges.append((kind, sub, q))
    return ranges


def _weight(ranges: list[tuple[str, str, float]], media_type: str) -> tuple[float, int, int] | None:
    """``(q, specificity, -position)`` of the most specific range matching ``media_type``."""
    kind, _, sub = media_type.partition("/")
    best: tuple[float, int, int] | None = None
    best_specificity = 0
    for position, (r_kind, r_sub, q) in enumerate(ranges):
        if (r_kind, r_sub) == (kind, sub):
            specificity = 3
        elif r_kind == kind and r_sub == "*":
            specificity = 2
        elif (r_kind, r_sub) == ("*", "*"):
            specificity = 1
        else:
            continue
        if specificity > best_specificity:
            best_specificity = specificity
            best = (q, specificity, -position)
    return best


def negotiate(accept: str | None, format_param: str | None) -> Format:
    """The format of a response (see the module docstring); raises :class:`FormatError`."""
    if format_param is not None:
        return parse_format(format_param)
    if accept is None or not accept.strip():
        return Format.JSON
    ranges = _ranges(accept)
    if not ranges:
        return Format.JSON
    order = list(Format)
    candidates = []
    for media_type, fmt in ACCEPTED_MEDIA_TYPES.items():
        weight = _weight(ranges, media_type)
        if weight is not None and weight[0] > 0:
            candidates.append((weight, -order.index(fmt), fmt))
    if not candidates:
        raise FormatError(
            "none of the media types in Accept is available; available: "
            + ", ".join(ACCEPTED_MEDIA_TYPES)
            + f" (or ?format={'|'.join(f.value for f in Format)})",
            status=406,
            parameter=None,
        )
    return max(candidates, key=lambda c: (c[0], c[1]))[2]
