"""What the server and its clients agree on: paths, headers and the framing of keys and ciphertexts."""
from __future__ import annotations

from typing import Optional

API = "/v1"
CIRCUIT_HEADER = "X-Circuit-Id"  # the circuit the uploaded evaluation keys were made for
SECONDS_HEADER = "X-Server-Seconds"  # time the circuit ran for one prediction


MAX_SEGMENTS = 512  # more than Concrete's messages ever have: bytes claiming more are something else


def framed_size(head: bytes) -> Optional[int]:
    """The size in bytes of the whole Cap'n Proto message (Concrete's format for keys and ciphertexts)
    that starts with ``head``, read from its segment table; None until ``head`` holds the table.
    Raises ValueError when these bytes can't start such a message."""
    if len(head) < 4:
        return None
    segments = int.from_bytes(head[:4], "little") + 1
    if segments > MAX_SEGMENTS:
        raise ValueError("too many segments")
    header = 4 + 4 * segments
    header += header % 8  # padded to whole 8-byte words
    if len(head) < header:
        return None
    words = sum(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "little") for i in range(segments))
    return header + 8 * words


def framing_problem(payload: bytes, what: str) -> str:
    """Why ``payload`` can't be one whole Concrete message, or "" if its framing is sound: truncated
    or padded bytes are refused before Concrete reads them."""
    if len(payload) < 8:
        return f"the {what} are only {len(payload)} bytes"
    try:
        expected = framed_size(payload)
    except ValueError:
        return f"the {what} are not in Concrete's format"
    if expected is None:
        return f"the {what} are cut short"
    if expected != len(payload):
        return f"the {what} should be {expected} bytes by their own header, but {len(payload)} arrived"
    return ""
