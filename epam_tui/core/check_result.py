"""One checklist item's result (shared by ``checks`` and ``checks_before``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, PENDING, UNKNOWN = "pass", "fail", "pending", "unknown"


@dataclass
class CheckResult:
    id: str
    phase: str  # before | during | after
    title: str
    verdict: str
    evidence: str
    where: dict | None = None
    manual: dict | None = field(default=None)
    values: dict | None = None  # the figures behind the verdict, for --json readers (fractions, points, epochs)

    @property
    def effective(self) -> str:
        """The verdict a reader acts on: a manual tick settles unknown/pending."""
        if self.manual and self.manual.get("tick") and self.verdict in (UNKNOWN, PENDING):
            return PASS
        return self.verdict

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "effective": self.effective}
