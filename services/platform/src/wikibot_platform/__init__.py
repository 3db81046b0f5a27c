"""Wikibot platform service."""
