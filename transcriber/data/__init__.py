"""Data files shipped with the transcriber (read with ``importlib.resources``)."""
