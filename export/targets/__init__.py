"""One module per export target; each registers itself with export.registry.register."""
