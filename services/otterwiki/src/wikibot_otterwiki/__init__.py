"""Wikibot otterwiki service."""
