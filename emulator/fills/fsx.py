"""Placeholder: being written (FSx data repository associations, gaps 11 and 12)."""


def install():
    """Nothing yet."""
