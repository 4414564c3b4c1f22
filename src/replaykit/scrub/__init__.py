"""Secrets: one rule table (``patterns``), the sanitizer, the scanner and its allow-list."""
