"""Time travel in a few lines for people (``dynamodb-dr restore``'s summary), from a report dict."""

from __future__ import annotations

from typing import Any


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Per table: the effective point and its distance from the one asked, the exports used, and
    puts / deletes / conflicts (with sample keys) / unchanged / reads / write units."""
    lines = []
    for name, result in report.get("tables", {}).items():
        travel = result.get("time_travel")
        if not travel:
            continue
        point = travel["effective_point"]
        if travel.get("effective_to") and travel["mode"] == "undo_window":
            point += f" to {travel['effective_to']}"
        full = "a full export + " if travel.get("full_export") else ""
        lines.append(
            f"{name} -> {result['target_table']}: {travel['mode']} {travel['requested_point']}: effective {point} "
            f"({travel['distance_seconds']:g} s before the point asked), {full}{len(travel['windows'])} windows"
        )
        counts = [f"{travel.get(k, 0)} {k}" for k in ("puts", "deletes") if k in travel]
        for key in ("conflicts", "unchanged", "reads", "extras_removed"):
            if travel.get(key) is not None and key in travel:
                counts.append(f"{travel[key]} {key.replace('_', ' ')}")
        if "write_units" in travel:
            counts.append(f"~{travel['write_units']} write units")
        lines.append(
            "  " + ", ".join(counts) + (" (dry run: nothing written)" if report.get("dry_run") else "")
        )
        for gap in travel.get("gaps_accepted", []):
            lines.append(
                f"  gap accepted: no export covers {gap['from']} to {gap['to']}; its changes are lost"
            )
        for conflict in travel.get("conflict_keys", [])[:5]:
            lines.append(f"  conflict {conflict['key']}: {conflict['reason']}")
        lines.extend(f"  note: {n}" for n in travel.get("notes", []))
    return lines
