"""Resolvers: static parsing, a real browser, and the chain that falls back between them."""
