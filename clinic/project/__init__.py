"""The project's wiring: settings, the root URLs, WSGI/ASGI, middleware, the staff site, the
deploy checks, error reports, the home page and the demo loader.

The one layer that may import every app (appointments -> conditions -> clinic below it); no app
imports it. docs/decisions.md, "Layout and dependency direction"; tests/test_layers.py holds it.
"""
