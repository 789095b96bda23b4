"""Why a claim code was refused, each with its own code so the installer's CLI can say which."""

from __future__ import annotations

from edgeward.cloud.errors import CloudError


class ClaimRefused(CloudError):
    """Base: the code can't enroll a gateway. ``reason`` goes to the audit log, in the
    claim's account when the code is known."""

    reason = "refused"
    account_id: str | None = None
    claim_id: str | None = None

    def about(self, row: object) -> ClaimRefused:
        self.account_id = getattr(row, "account_id", None)
        self.claim_id = getattr(row, "id", None)
        return self


class ClaimTypo(ClaimRefused):
    status_code = 422
    code = "claim_code_typo"
    reason = "typo"


class ClaimUnknown(ClaimRefused):
    status_code = 404
    code = "claim_code_unknown"
    reason = "unknown"


class ClaimExpired(ClaimRefused):
    status_code = 410
    code = "claim_code_expired"
    reason = "expired"


class ClaimRevoked(ClaimRefused):
    status_code = 410
    code = "claim_code_revoked"
    reason = "revoked"


class ClaimUsed(ClaimRefused):
    status_code = 409
    code = "claim_code_used"
    reason = "used"
