"""Tests of the vendor sandboxes: harness.py starts and calls the sandbox; one module per vendor, test_server.py for what they share, test_registry.py for the registry."""
