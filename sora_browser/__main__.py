"""``python -m sora_browser`` is the ``sora-browser`` command."""

from .cli import main

main()
