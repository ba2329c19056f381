"""What the server and its clients agree on: paths and headers."""

API = "/v1"
CIRCUIT_HEADER = "X-Circuit-Id"  # the circuit the uploaded evaluation keys were made for
SECONDS_HEADER = "X-Server-Seconds"  # time the circuit ran for one prediction
