"""A child process that records into one cassette round after round, for the ``kill -9`` tests (test-only)."""

from __future__ import annotations

import textwrap


def recording_child(mode: str, calls: int) -> str:
    """The script: ``use_cassette(path, mode)`` around ``calls`` chat requests to a local server, forever."""
    return textwrap.dedent(f"""
        import sys, httpx
        from replaykit.config import Config
        from replaykit.recorder import use_cassette
        base, path = sys.argv[1], sys.argv[2]
        host_map = {{base: "https://api.openai.com"}}
        round_ = 0
        while True:
            round_ += 1
            with use_cassette(path, {mode!r}, config=Config(), host_map=host_map, target="sandbox"):
                with httpx.Client() as client:
                    for i in range({calls}):
                        message = {{"role": "user", "content": f"{{round_}}-{{i}}" * 20}}
                        client.post(base + "/v1/chat/completions", json={{"model": "m", "messages": [message]}})
            print("saved", round_, flush=True)
    """)
