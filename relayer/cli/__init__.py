"""Command-line interface (click). The only place that turns RelayerError into exit codes."""
