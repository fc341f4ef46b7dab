"""``framesift serve``: warm pipelines behind an HTTP API, a page that shows the evidence, and
the same view offline (``framesift ask --report``).

The HTTP parts (``app``) need the ``serve`` extra (FastAPI, uvicorn); ``report``,
``library``, ``jobs`` and ``service`` do not.
"""
