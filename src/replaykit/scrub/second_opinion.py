"""A second opinion from detect-secrets: its maintained plugin set, run on the text as a file on disk.

replaykit's own rules (``replaykit.scrub.patterns``) know provider traffic; detect-secrets knows the long tail of
vendor token families (Slack, Stripe, Twilio, SendGrid, Azure, Artifactory, …). Both run at write time and in
``replaykit scan``, and a finding from either refuses the write. detect-secrets is used through its API with its
own plugins and filters, except three. Its two high-entropy plugins flag every event-stream frame, response id
and reasoning signature in provider traffic (measured on the shared real cassettes), which would refuse every
real recording; replaykit's own entropy rule covers headers, where credentials without a known shape travel.
Its keyword plugin flags any value under a name like ``secret`` (a git sha, a Secrets Manager id);
replaykit's credential-name rules cover names with the precision replay needs.
A finding whose value is a placeholder (REDACTED, EXAMPLE keys, ``${ENV_NAME}``) is dropped, as for our rules.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

_NOISY = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "KeywordDetector"})
_PLUGINS: list[dict[str, str]] = []


def _plugins() -> list[dict[str, str]]:
    """Every plugin detect-secrets ships, except the high-entropy ones."""
    if not _PLUGINS:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

        classes: list[Any] = list(get_mapping_from_secret_type_to_class().values())
        names = {str(c.__name__) for c in classes}
        _PLUGINS.extend({"name": n} for n in sorted(names - _NOISY))
    return _PLUGINS


@dataclass(frozen=True)
class Opinion:
    """One detect-secrets finding: the plugin's name, the 1-based line and the secret (never printed)."""

    kind: str
    line: int
    secret: str


def scan_text(text: str, suffix: str = ".yaml") -> list[Opinion]:
    """Run detect-secrets' default plugins over ``text`` as if it were a file with this suffix."""
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import transient_settings

    fd, name = tempfile.mkstemp(suffix=suffix, prefix="replaykit-scan-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        with transient_settings({"plugins_used": _plugins()}):
            found = [Opinion(s.type, s.line_number, s.secret_value or "") for s in scan_file(name)]
    finally:
        os.unlink(name)
    return [o for o in found if o.secret]
