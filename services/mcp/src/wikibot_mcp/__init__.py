"""Wikibot mcp service."""
