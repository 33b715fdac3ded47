"""docs/nginx.conf, run as written in front of a real gunicorn of the site.

The test only changes what must differ here: ports, the upstream's port, and a throwaway
certificate; the rest is the operators' file verbatim.
"""

import gzip
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest

from tests.faults.conftest import (
    PROJECT,
    Server,
    Visitor,
    _NoRedirect,
    free_port,
    send_request,
    stop_process,
)

NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(path, os.X_OK)), None
)
SITE = "www.example-clinic.com"
SECURITY_HEADERS = [
    "Strict-Transport-Security",
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
]


@pytest.fixture(scope="module", autouse=True)
def _needs_nginx():
    if NGINX is None:
        message = "nginx is not installed (apt-get install nginx-light): nginx test skipped"
        if os.environ.get("CI"):
            pytest.fail(f"{message}, which CI does not allow.")
        pytest.skip(message)


def certificate(folder):
    """A self-signed certificate for the site's name and 127.0.0.1, valid for a day."""
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={SITE}", "-addext", f"subjectAltName=DNS:{SITE},IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def configured(upstream_port, http_port, https_port, cert, key):
    """docs/nginx.conf with this machine's ports and certificate; fails if the file changed
    shape, so the documented file and the tested one stay the same."""
    text = (PROJECT / "docs" / "nginx.conf").read_text()
    replacements = [
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("    listen [::]:80;\n", ""),
        ("    listen [::]:443 ssl http2;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        (f"/etc/letsencrypt/live/{SITE}/fullchain.pem", str(cert)),
        (f"/etc/letsencrypt/live/{SITE}/privkey.pem", str(key)),
    ]
    for old, new in replacements:
        assert text.count(old) == 1, f"docs/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx in the foreground, everything it writes in a temporary folder."""

    def __init__(self, folder, site_config, port):
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            (folder / name).mkdir(parents=True)
        # As root, nginx's workers would run as nobody, who cannot enter pytest's 0700 folders.
        user = "user root root;" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(
            f"""{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder}/logs/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{site_config}
}}
"""
        )
        self.folder = folder
        self.process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-e", str(folder / "logs" / "error.log"),
             "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx did not start: {self.process.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("nginx did not open its port")

    def stop(self):
        stop_process(self.process)


@pytest.fixture(scope="module")
def proxied_site(tmp_path_factory, app_database):
    """gunicorn with production proxy settings, behind nginx with docs/nginx.conf."""
    # Fresh form-limit counts: other tests saved requests from 127.0.0.1 in the same database.
    app_database.manage(
        "shell",
        "-c",
        "from appointments.models import RecentSubmission as R; R.objects.all().delete()",
    )
    server = Server(
        app_database,
        DJANGO_ALLOWED_HOSTS=f"{SITE},127.0.0.1",
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
        CLINIC_TRUSTED_PROXY_HOPS="1",
        CLINIC_SUBMISSIONS_PER_HOUR="1",
    )
    folder = tmp_path_factory.mktemp("nginx")
    cert, key = certificate(folder)
    http_port, https_port = free_port(), free_port()
    try:
        nginx = Nginx(
            folder / "run", configured(server.port, http_port, https_port, cert, key), https_port
        )
    except Exception:
        server.stop()
        raise
    context = ssl.create_default_context(cafile=str(cert))
    yield {"https_port": https_port, "http_port": http_port, "tls": context}
    nginx.stop()
    server.stop()


def fetch(site, path, headers=None, host=SITE):
    connection = http.client.HTTPSConnection(
        "127.0.0.1", site["https_port"], context=site["tls"], timeout=30
    )
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def test_each_security_header_arrives_exactly_once_over_tls(proxied_site):
    response, _ = fetch(proxied_site, "/")
    assert response.status == 200
    for name in SECURITY_HEADERS:
        # HSTS at all proves Django saw HTTPS through X-Forwarded-Proto.
        assert len(response.headers.get_all(name) or []) == 1, name
    assert "nginx/" not in response.headers.get("Server", "")


def test_the_host_reaches_django_which_refuses_unknown_names(proxied_site):
    response, body = fetch(proxied_site, "/")
    assert f'<link rel="canonical" href="https://{SITE}/">' in body.decode()
    response, _ = fetch(proxied_site, "/", host="attacker.example")
    assert response.status == 400


def test_html_is_gzip_compressed_when_the_browser_accepts_it(proxied_site):
    response, body = fetch(proxied_site, "/providers/", {"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "<html" in gzip.decompress(body).decode()
    response, body = fetch(proxied_site, "/providers/")
    assert "Content-Encoding" not in response.headers
    assert b"<html" in body


def test_plain_http_is_redirected_to_https(proxied_site):
    connection = http.client.HTTPConnection("127.0.0.1", proxied_site["http_port"], timeout=10)
    connection.request("GET", "/providers/?x=1", headers={"Host": SITE})
    response = connection.getresponse()
    connection.close()
    assert response.status == 301
    assert response.headers["Location"] == f"https://{SITE}/providers/?x=1"


def test_a_forged_x_forwarded_for_does_not_get_around_the_rate_limit(proxied_site):
    """The site saves one request an hour per client here; a client that claims a new address
    in X-Forwarded-For for each request is still the same client."""
    visitor = Visitor(f"https://127.0.0.1:{proxied_site['https_port']}", host=SITE)
    visitor.opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(visitor.jar),
        urllib.request.HTTPSHandler(context=proxied_site["tls"]),
        _NoRedirect,
    )
    # A browser's form post names its origin; Django checks it over HTTPS.
    visitor.headers["Origin"] = f"https://{SITE}"
    statuses = []
    for forged, phone in (("203.0.113.7", "(217) 555-0123"), ("198.51.100.23", "(217) 555-0124")):
        visitor.headers["X-Forwarded-For"] = forged
        status, _, body, _ = send_request(visitor, phone=phone)
        statuses.append(status)
        assert status != 403, body[:500]  # CSRF passed: the post reached the form
    assert statuses == [302, 429]  # the first is saved; the second, from the same client, not


def test_a_body_over_the_proxy_limit_is_refused_before_it_is_sent(proxied_site):
    """client_max_body_size: nginx answers from the declared length alone."""
    limit = int(re.search(r"client_max_body_size (\d+)m;", configured(1, 2, 3, "c", "k"))[1])
    connection = http.client.HTTPSConnection(
        "127.0.0.1", proxied_site["https_port"], context=proxied_site["tls"], timeout=30
    )
    connection.putrequest("POST", "/appointments/refer/", skip_host=True)
    connection.putheader("Host", SITE)
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(limit * 1024 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()
    connection.close()
    assert response.status == 413
