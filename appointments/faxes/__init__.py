"""Reading faxed referrals: the text of each page (OCR for scans) and the fields it suggests."""
