"""What the server and its clients agree on: paths and headers."""

API = "/v1"
CIRCUIT_HEADER = "X-Circuit-Id"  # the circuit the uploaded evaluation keys were made for
SECONDS_HEADER = "X-Server-Seconds"  # time the circuit ran for one prediction


def framing_problem(payload: bytes, what: str) -> str:
    """Why ``payload`` can't be one whole Cap'n Proto message (Concrete's format for keys and
    ciphertexts), or "" if its framing is sound: truncated or padded bytes are refused before
    Concrete reads them."""
    if len(payload) < 8:
        return f"the {what} are only {len(payload)} bytes"
    segments = int.from_bytes(payload[:4], "little") + 1
    if segments > 512:
        return f"the {what} are not in Concrete's format"
    header = 4 + 4 * segments
    header += header % 8  # padded to whole 8-byte words
    if len(payload) < header:
        return f"the {what} are cut short"
    words = sum(int.from_bytes(payload[4 + 4 * i: 8 + 4 * i], "little") for i in range(segments))
    expected = header + 8 * words
    if expected != len(payload):
        return f"the {what} should be {expected} bytes by their own header, but {len(payload)} arrived"
    return ""
