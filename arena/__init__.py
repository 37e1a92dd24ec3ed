"""The participant's side of MIA Arena: a REST client and the ``arena`` command line.

Pure Python (the standard library, tqdm, and the ``scoring`` package for offline validation):
``pip install`` of the repository gives a participant everything without a database.
"""

from arena.client import ApiError, Client

__all__ = ["ApiError", "Client"]
