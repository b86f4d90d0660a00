"""The `mediabot` command line: a thin layer over the services the bot uses."""
