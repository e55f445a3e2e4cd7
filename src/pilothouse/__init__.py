"""pilothouse: Kubernetes, written in Python, running real Linux containers."""

__version__ = "0.1.0"
