"""What a run's report tells beyond its archive: the title, the simulated span the run played
and the script's story notes, saved in the run directory when the run ends (``story.json``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from common.runconfig import RUN_FILE
from ground.archive import Archive

STORY_FILE = "story.json"
#: Ground control's last status, as the runner saved it when the run ended.
STATUS_FILE = "status.json"


@dataclass(frozen=True)
class Story:
    """What the report tells beyond the archive: its title, the simulated span the run played
    (Unix seconds) and the script's notes."""

    title: str
    start: float
    end: float
    notes: tuple[tuple[float, str], ...] = ()

    @property
    def hours(self) -> float:
        """Simulated hours played."""
        return (self.end - self.start) / 3600


def save_story(run_dir: str | Path, story: Story) -> Path:
    """Keep ``story`` in the run directory for ``dawndusk report``; return the file's path."""
    target = Path(run_dir) / STORY_FILE
    target.write_text(json.dumps(asdict(story), indent=1))
    return target


class ReportError(ValueError):
    """A run directory whose files the report cannot read (the message names the file)."""


def load_story(run_dir: Path, archive: Archive) -> Story:
    """The saved story; for a run directory from before it was saved, one made of the start in
    ``run.json`` and the end from ground control's last status (or the last packet)."""
    saved = run_dir / STORY_FILE
    try:
        if saved.exists():
            data = json.loads(saved.read_text())
            return Story(str(data["title"]), float(data["start"]), float(data["end"]),
                         tuple((float(time), str(text)) for time, text in data["notes"]))
        saved = run_dir / RUN_FILE
        start = float(json.loads(saved.read_text())["clock"]["sim"])
        saved = run_dir / STATUS_FILE
        end = json.loads(saved.read_text()).get("time") if saved.exists() else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReportError(f"{saved}: {exc!r}") from None
    if not isinstance(end, int | float):
        end = archive.query("SELECT MAX(time) FROM packets")[0][0] or start
    return Story(f"dawndusk run: {run_dir.resolve().name}", start, float(end))
