"""Time travel: restore to a point in time from a chain of full and incremental exports, rewind or undo in place (issue 13)."""
