"""Who is asking: the client's address, and a hash of it that is safe to keep."""

import hashlib

from django.conf import settings


def client_address(request):
    """REMOTE_ADDR, or with trusted proxies in front, the address the nearest proxy saw."""
    hops = settings.CLINIC_TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "")


def client_hash(request):
    """The client's address, keyed-hashed: lets us count a client without storing who it is."""
    address = client_address(request).encode()
    return hashlib.blake2b(
        address, key=settings.SECRET_KEY.encode()[:64], digest_size=16
    ).hexdigest()
