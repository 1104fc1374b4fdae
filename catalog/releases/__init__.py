"""Releases: manifests, splits, profiles, shift, contamination, gates, export."""
