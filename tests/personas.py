"""What the test personas know: their password, and the signatures they give with it."""

from pdca.services.accounts import Signature

PASSWORD = "correct horse battery"
VERIFIED_EFFECTIVE = Signature("verified effective", PASSWORD)
VERIFIED_NOT_EFFECTIVE = Signature("verified not effective", PASSWORD)
APPROVED_CLOSURE = Signature("approved closure", PASSWORD)
