"""Faxed referrals: read (reading.py), the fields found (extraction.py), into the queue
(intake.py, run in the worker)."""
