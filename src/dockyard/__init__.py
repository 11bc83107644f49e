"""dockyard: the whole life of a container image, with no daemon."""

__version__ = "0.1.0"
__all__ = ["__version__"]
