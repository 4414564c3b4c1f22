"""Project-level chores: scaffolding a project for replaykit (``init``) and taking stock of its cassettes
(``status``)."""

from __future__ import annotations
