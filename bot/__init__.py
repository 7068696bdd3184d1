"""Tandem: a Discord bot that runs cross-border peer-mentoring programmes."""

__version__ = "0.1.0"
