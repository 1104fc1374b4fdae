"""Importing instruction, chat and preference files: parse, validate, write in whole batches, sync."""
