"""`manifest.json`: the loop's memory. One entry per stage with status, inputs, outputs, timings and
the hash of the configuration it ran with; rewritten atomically after every change."""

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DONE, RUNNING, STOPPED = "done", "running", "stopped"  # stopped: on the time budget, resumable


def config_hash(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (file contents, model names, settings)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@dataclass
class Manifest:
    """Stage records keyed like `iter-1/generate`, in execution order."""

    path: Path
    data: dict[str, Any]

    @classmethod
    def open(cls, path: Path, header: dict[str, Any]) -> "Manifest":
        """Load `path` if it exists (keeping its stages), else start a new manifest with `header`."""
        if path.is_file():
            data = json.loads(path.read_text())
            data.update(header)
        else:
            data = {**header, "stages": {}}
        manifest = cls(path, data)
        manifest.save()
        return manifest

    @property
    def stages(self) -> dict[str, dict[str, Any]]:
        return self.data["stages"]

    def is_done(self, key: str, digest: str) -> bool:
        """True when `key` finished with the same configuration hash."""
        entry = self.stages.get(key)
        return bool(entry) and entry["status"] == DONE and entry.get("config_hash") == digest

    def start(self, key: str, digest: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        self.stages[key] = {
            "status": RUNNING,
            "config_hash": digest,
            "inputs": inputs,
            "outputs": outputs,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "attempts": self.stages.get(key, {}).get("attempts", 0) + 1,
        }
        self.save()

    def finish(self, key: str, seconds: float, summary: dict[str, Any]) -> None:
        entry = self.stages[key]
        entry.update(status=DONE, seconds=round(seconds, 2), summary=summary)
        entry["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.save()

    def stop(self, key: str, progress: str | None) -> None:
        """Mark `key` stopped on the time budget, with how far it got (kept for the rerun)."""
        self.stages[key].update(status=STOPPED, progress=progress)
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        os.replace(tmp, self.path)
