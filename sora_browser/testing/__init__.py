"""The built-in fixture site: realistic Sora-like share pages and a signed-URL CDN on loopback.

Used by the test suite, ``make demo`` and the benchmarks. Nothing here is imported by the
library itself.
"""
