"""The ``framesift`` command line: one small module per subcommand over the public API."""
