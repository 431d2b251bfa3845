"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in test_schemathesis.py: peers post referrals and their
updates as `application/jose` (a compact JWS is text), which schemathesis has no serializer for."""

import schemathesis

schemathesis.serializer.alias("application/jose", "text/plain")
