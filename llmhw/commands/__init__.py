"""One module per CLI command (exhaustive, search, ...); ``llmhw.cli`` only parses and dispatches."""
