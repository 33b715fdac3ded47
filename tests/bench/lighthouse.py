"""Lighthouse scores of every public page type, on a phone and on a desktop.

Run with `make lighthouse`, which installs Lighthouse (npm, pinned in the Makefile) and points
it at Debian's Chromium. Serves the site as `make bench` does (gunicorn, production settings,
demo content) and prints the four category scores of each page, mobile then desktop, with the
audits that cost points. Exits 1 if a page fails an audit (other than those in DELIBERATE), so
the target can guard a release; it is not part of `make test` (Lighthouse needs Node.js and
takes about 7 minutes).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_site import ENV, WORK, gunicorn, manage  # noqa: E402

PORT = int(os.environ.get("LIGHTHOUSE_PORT", "8765"))
LIGHTHOUSE = os.environ.get("LIGHTHOUSE", "lighthouse")
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
# One page of each type, in English, and the Spanish home page.
PAGES = {
    "home": "/",
    "conditions": "/conditions/",
    "condition": "/conditions/failed-back-surgery-syndrome/",
    "treatments": "/treatments/",
    "treatment": "/treatments/radiofrequency-ablation/",
    "search": "/search/?q=sciatica",
    "doctors": "/doctors/",
    "doctor": None,  # the first doctor's page, found on the list
    "insurance": "/insurance/",
    "first visit": "/first-visit/",
    "locations": "/locations/",
    "location": "/locations/main-clinic/",
    "for physicians": "/providers/",
    "privacy": "/privacy/",
    "request form": "/appointments/request/",
    "referral form": "/appointments/refer/",
    "Spanish home": "/es/",
}


# Audits a page fails on purpose, and why. Search results are kept out of search engines
# (`noindex`, as Google advises for a site's own search), which Lighthouse's SEO category counts
# against the page; the scores are still printed, the audit named.
DELIBERATE = {
    "search": {"is-crawlable": "search results carry noindex on purpose"},
}


def first_doctor():
    import re
    import urllib.request

    html = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/doctors/").read().decode()
    return re.search(r'href="(/doctors/[^/"]+/)"', html).group(1)


def scores(url, preset):
    command = [
        LIGHTHOUSE,
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    report = json.loads(
        subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")},
        ).stdout
    )
    results = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    failing = [
        audit["id"]
        for audit in report["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 1
        and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
        and any(
            ref["id"] == audit["id"] and ref.get("weight", 0) > 0
            for name in CATEGORIES
            for ref in report["categories"][name]["auditRefs"]
        )
    ]
    return results, failing


def main():
    manage("migrate", "--noinput")
    manage("createcachetable")
    manage("collectstatic", "--noinput")
    manage("load_demo")
    server = gunicorn("clinic.project.wsgi", PORT, env={"STATIC_ROOT": ENV["STATIC_ROOT"]})
    below = []
    try:
        pages = {name: path or first_doctor() for name, path in PAGES.items()}
        print(f"Lighthouse on {len(pages)} pages (served by gunicorn, demo content; {WORK})")
        print(f"{'page':<16}{'preset':<9}" + "".join(f"{name[:14]:>16}" for name in CATEGORIES))
        for preset in ("mobile", "desktop"):
            for name, path in pages.items():
                results, failing = scores(f"http://127.0.0.1:{PORT}{path}", preset)
                print(
                    f"{name:<16}{preset:<9}"
                    + "".join(f"{results[category]:>16}" for category in CATEGORIES)
                    + (f"   below 1: {', '.join(failing)}" if failing else ""),
                    flush=True,
                )
                if set(failing) - set(DELIBERATE.get(name, {})):
                    below.append(f"{name} ({preset})")
    finally:
        server.terminate()
        server.wait()
    for name, audits in DELIBERATE.items():
        for audit, reason in audits.items():
            print(f"Failed on purpose: {name}, {audit}: {reason}.")
    if below:
        print("Under 100 (other than on purpose):", ", ".join(below))
        sys.exit(1)
    print("Every other audit passes: 100 in every category, mobile and desktop.")


if __name__ == "__main__":
    main()
