"""Support for the end-to-end journey (tests/integration/test_journey.py, docs/testing-e2e.md)."""
