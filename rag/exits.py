"""Exit codes of the `rag` command, shared by its subcommand modules."""

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
