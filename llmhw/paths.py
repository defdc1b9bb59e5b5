"""Default locations of the project's inputs and outputs (relative to the working directory)."""
from __future__ import annotations

from pathlib import Path

INPUTS = Path("inputs")
HW_CONFIG_DIR = INPUTS / "hardware" / "config"
CONSTANTS_DIR = INPUTS / "hardware" / "constant"
MODEL_DIR = INPUTS / "software" / "model"
SYSTEM_DIR = INPUTS / "software" / "system"
DEFAULT_CONSTANTS = CONSTANTS_DIR / "7nm_default.yaml"
DEFAULT_SYSTEM = SYSTEM_DIR / "sys_default.yaml"
OUTPUTS = Path("outputs")
STUDIES = Path("studies")


def default_system_for(hw_path: str | Path) -> tuple[Path, bool]:
    """``inputs/software/system/<hw stem>.yaml`` if it exists, else sys_default.yaml (second item: fell back)."""
    candidate = SYSTEM_DIR / f"{Path(hw_path).stem}.yaml"
    if candidate.exists():
        return candidate, False
    return DEFAULT_SYSTEM, True
