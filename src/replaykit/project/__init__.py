"""Project-level chores: scaffolding a project (``init``) and taking stock of its cassettes (``status``)."""

from __future__ import annotations
