"""ifplay: self-play data and training loops that make language models follow instructions better."""

__version__ = "0.1.0"
