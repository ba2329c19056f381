"""Demo mode: the guide's story step by step, and the full-screen presentation view."""
