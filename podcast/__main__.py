"""`python -m podcast` runs the command line."""

from podcast.cli import main

main()
