"""augeoctl: verified operations runbooks for the Augeo Platform."""

__version__ = "0.1.0"
