"""QAT Studio: quantization-aware training made tangible, compiled to FHE with Concrete."""

__version__ = "0.1.0"
