"""Account mails: invitations and password-reset links. Thin: they take ids and call the services."""

from smtplib import SMTPException

from celery import shared_task

from .invitations import invitations_send, password_reset_send

# A mail server that is down or refuses for a while: try again, waiting longer each time.
MAIL_RETRY = {
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "max_retries": 8,
}


@shared_task(**MAIL_RETRY)
def send_invitations(invitation_ids: list[int]) -> int:
    """Send the invitations not sent yet (a retry or a redelivery sends none twice)."""
    return invitations_send(invitation_ids)


@shared_task(**MAIL_RETRY)
def send_password_reset(user_id: int) -> int:
    """Mail one account a link to set a new password."""
    return password_reset_send(user_id)
