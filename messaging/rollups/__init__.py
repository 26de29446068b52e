"""Batch counts and report rollups kept current as messages move (models.rollups).

- the trigger (migration 0010_rollups) turns every INSERT, UPDATE and DELETE of
  messaging_sentmessage into MessageDelta rows, whatever wrote it (ORM, bulk UPDATEs, the
  sending code's raw SQL, COPY, callbacks);
- `fold.rollups_fold` moves the deltas into the rollups (beat task every ROLLUPS_FOLD_SECONDS,
  `manage.py rollups_sweep`);
- `read` answers the batch pages and the reports from rollups + the deltas not folded yet, in
  one statement (one snapshot), so the figures are exact at once;
- `verify` recomputes days from the raw messages (`manage.py reports_verify`) and repairs them.
"""
