"""The version, written once: pyproject.toml reads it from here (``tool.setuptools.dynamic``),
so the package metadata, ``sora_browser.__version__``, ``--version`` and the User-Agent the
tool sends archives all agree, and reading it costs no metadata lookup (~50 ms) at start-up."""

__version__ = "0.1.0"
