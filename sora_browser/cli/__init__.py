"""The ``sora-browser`` command line (console script ``sora_browser.cli:main``).

``main`` (the group), one module per command family (``links``: download and resolve;
``batch``; ``temporal``: worker, submit and temporal-dev, with ``starter`` and ``results``
behind submit), the shared ``options``, the one ``runner``, the ``progress`` line and the
``json_output`` failure record.
"""

from .main import main

__all__ = ["main"]
