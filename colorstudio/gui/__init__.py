"""STAND-IN, written for packaging tests (issue 6): drop it for the real GUI (issue 4) when merging."""
