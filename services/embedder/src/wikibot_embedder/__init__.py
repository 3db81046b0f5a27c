"""Wikibot embedder service."""
