"""What is live on the show's host (the manifest the last deploy left) and what the next
deploy will change. Light: `podcast status` reads it without loading the audio stack."""

from __future__ import annotations

import json
from dataclasses import dataclass

from podcast.workspace import Workspace
from publish import state as publish_state

MANIFEST = "deploy-manifest.json"
FRONT = ("feed.xml", "index.html")  # sent after the media, so the feed never names a missing file


@dataclass(frozen=True)
class LiveFile:
    bytes: int
    sha256: str
    sent: str


@dataclass(frozen=True)
class Manifest:
    """What is live on the host, as the last deploy left it."""

    target: str
    files: dict[str, LiveFile]
    episodes: dict[str, list[int]]  # guid -> extract IDs live in it
    deployed: str

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "target": self.target,
                    "deployed": self.deployed,
                    "files": {k: v.__dict__ for k, v in sorted(self.files.items())},
                    "episodes": self.episodes,
                },
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )


def load_manifest(ws: Workspace) -> Manifest | None:
    path = ws.root / MANIFEST
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Manifest(
        data["target"],
        {k: LiveFile(**v) for k, v in data["files"].items()},
        {k: [int(x) for x in v] for k, v in data["episodes"].items()},
        data["deployed"],
    )


@dataclass(frozen=True)
class Plan:
    """What the next deploy will do."""

    send: tuple[str, ...]  # new or changed files (the feed and index last)
    delete: tuple[str, ...]  # files a deploy sent that the new state no longer lists (audio first)
    unchanged: int


def plan(ws: Workspace, manifest: Manifest | None) -> Plan:
    state = publish_state.load(ws)
    live = manifest.files if manifest else {}
    media = sorted(n for n in state.files if n not in FRONT)
    changed = [n for n in media if n not in live or live[n].sha256 != state.files[n]]
    front = [n for n in FRONT if n in state.files and (n not in live or live[n].sha256 != state.files[n])]
    gone = sorted((n for n in live if n not in state.files), key=lambda n: (not n.endswith(".mp3"), n))
    return Plan(tuple(changed + front), tuple(gone), len(state.files) - len(changed) - len(front))
