"""Faxed referrals: the text of each page, OCR for scans (reading.py), the fields it
suggests (extraction.py), and into the queue (intake.py, run in the worker; admin.py)."""
