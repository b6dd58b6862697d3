"""Invitations and forgotten passwords, through the pages people use: one-time links, their life,
who may send them, and a reset page that says nothing about who has an account."""

import datetime as dt
import re
from smtplib import SMTPException
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from units.invitations import (
    account_status,
    invitation_token_generator,
    invitations_request,
    invitations_send,
    password_reset_request,
    people_list,
    users_to_invite,
)
from units.models import AccountAction, AccountChange, Invitation, Role, User
from units.tests.factories import RoleAssignmentFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Cchc#Xa-Moi-2026"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def invitee(commune_a1):
    user = UserFactory(username="lan@xa.gov.vn", email="lan@xa.gov.vn", full_name="Nguyễn Thị Lan")
    user.set_unusable_password()
    user.save()
    RoleAssignmentFactory(user=user, role=Role.REPORTER, unit=commune_a1)
    return user


def link_in(message) -> str:
    return urlsplit(LINK.search(message.body).group(0)).path


def invite(user, by=None, capture=None):
    with capture(execute=True):
        invitations_request(users=[user], by=by)
    return mail.outbox[-1]


def set_password(client, path: str, password: str = NEW_PASSWORD):
    """Follow a link from a mail and choose a password, as the person would."""
    opened = client.get(path)
    assert opened.status_code == 302, opened.content  # the token moves into the session
    form_url = opened["Location"]
    assert client.get(form_url).status_code == 200
    return client.post(form_url, {"new_password1": password, "new_password2": password})


# --- The invitation ---


def test_an_invited_person_sets_their_own_password_once(client, invitee, django_capture_on_commit_callbacks):
    message = invite(invitee, capture=django_capture_on_commit_callbacks)
    assert message.to == ["lan@xa.gov.vn"]
    assert "lan@xa.gov.vn" in message.body  # the user name
    expires = timezone.localdate() + dt.timedelta(days=7)
    assert expires.strftime("%d/%m/%Y") in message.body
    assert "Xã Nghi Phong" in message.body  # the unit the role is on
    path = link_in(message)
    assert path.startswith("/accounts/invitation/")
    response = set_password(client, path)
    assert response.status_code == 302 and response["Location"] == "/accounts/invitation/done/"
    invitee.refresh_from_db()
    assert invitee.check_password(NEW_PASSWORD)
    assert AccountChange.objects.filter(user=invitee, action=AccountAction.ACTIVATED).count() == 1
    assert client.get(response["Location"]).status_code == 200
    assert client.post("/accounts/login/", {"username": "lan@xa.gov.vn", "password": NEW_PASSWORD}).status_code == 302
    client.post("/accounts/logout/")
    used = client.get(path)  # the link died when the password was set
    assert used.status_code == 200 and used.context["validlink"] is False
    assert 'data-testid="invalid-link"' in used.content.decode()


def test_a_wrong_or_truncated_token_is_refused(client, invitee):
    uid = urlsafe_base64_encode(force_bytes(invitee.pk))
    token = invitation_token_generator.make_token(invitee)
    for path in (
        f"/accounts/invitation/{uid}/{token[:-1]}x/",
        f"/accounts/invitation/{uid}/{token[:-3]}/",
        f"/accounts/invitation/{uid}/not-a-token/",
        f"/accounts/invitation/{urlsafe_base64_encode(force_bytes(999999))}/{token}/",
    ):
        response = client.get(path)
        assert response.status_code == 200 and response.context["validlink"] is False, path
    assert client.get(f"/accounts/invitation/{uid}/{token}/").status_code == 302


def test_an_invitation_and_a_reset_link_are_not_interchangeable(client, invitee):
    uid = urlsafe_base64_encode(force_bytes(invitee.pk))
    reset = default_token_generator.make_token(invitee)
    invitation = invitation_token_generator.make_token(invitee)
    assert client.get(f"/accounts/invitation/{uid}/{reset}/").context["validlink"] is False
    assert client.get(f"/accounts/password/reset/{uid}/{invitation}/").context["validlink"] is False


@pytest.mark.parametrize(("age", "valid"), [(dt.timedelta(days=7), True), (dt.timedelta(days=7, seconds=1), False)])
def test_an_invitation_lives_seven_days(client, invitee, monkeypatch, age, valid):
    sent = dt.datetime(2026, 12, 1, 8, 0, 0)
    monkeypatch.setattr(invitation_token_generator, "_now", lambda: sent)
    token = invitation_token_generator.make_token(invitee)
    monkeypatch.setattr(invitation_token_generator, "_now", lambda: sent + age)
    uid = urlsafe_base64_encode(force_bytes(invitee.pk))
    response = client.get(f"/accounts/invitation/{uid}/{token}/")
    assert (response.status_code == 302) is valid


def test_the_invitation_life_is_a_setting(client, invitee, monkeypatch, settings):
    settings.INVITATION_TIMEOUT_DAYS = 14
    sent = dt.datetime(2026, 12, 1, 8, 0, 0)
    monkeypatch.setattr(invitation_token_generator, "_now", lambda: sent)
    token = invitation_token_generator.make_token(invitee)
    monkeypatch.setattr(invitation_token_generator, "_now", lambda: sent + dt.timedelta(days=10))
    uid = urlsafe_base64_encode(force_bytes(invitee.pk))
    assert client.get(f"/accounts/invitation/{uid}/{token}/").status_code == 302


def test_the_new_password_follows_the_portals_rules(client, invitee, django_capture_on_commit_callbacks):
    path = link_in(invite(invitee, capture=django_capture_on_commit_callbacks))
    response = set_password(client, path, "12345")
    assert response.status_code == 200 and response.context["form"].errors
    invitee.refresh_from_db()
    assert not invitee.has_usable_password()


def test_a_mail_server_failing_half_way_sends_the_rest_on_the_retry(invitee, commune_a2, monkeypatch):
    other = UserFactory(username="hung@xa.gov.vn", email="hung@xa.gov.vn")
    other.set_unusable_password()
    other.save()
    rows = invitations_request(users=[invitee, other], by=None)
    from django.core.mail import EmailMessage

    real_send, calls = EmailMessage.send, []

    def flaky(self, *args, **kwargs):
        calls.append(self.to)
        if len(calls) == 2:
            raise SMTPException("421 try later")
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", flaky)
    with pytest.raises(SMTPException):
        invitations_send([r.pk for r in rows])
    assert [m.to for m in mail.outbox] == [["lan@xa.gov.vn"]]
    assert invitations_send([r.pk for r in rows]) == 1  # the retry: only the one not sent
    assert [m.to for m in mail.outbox] == [["lan@xa.gov.vn"], ["hung@xa.gov.vn"]]
    assert invitations_send([r.pk for r in rows]) == 0  # a redelivery sends none twice


def test_the_worker_skips_someone_who_set_a_password_meanwhile(invitee):
    rows = invitations_request(users=[invitee], by=None)
    invitee.set_password(NEW_PASSWORD)
    invitee.save()
    assert invitations_send([r.pk for r in rows]) == 0 and mail.outbox == []


# --- Re-sending (the secretariat) ---


def test_the_secretariat_sends_an_invitation_again(
    client, login, secretariat, invitee, django_capture_on_commit_callbacks
):
    client = login(secretariat)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/units/setup/people/{invitee.pk}/invite/", {"next": "/units/setup/people/?q=lan"})
    assert response.status_code == 302 and response["Location"] == "/units/setup/people/?q=lan"
    invitation = Invitation.objects.get(user=invitee)
    assert invitation.requested_by == secretariat and invitation.sent_at is not None
    assert [m.to for m in mail.outbox] == [["lan@xa.gov.vn"]]


def test_resending_goes_back_only_to_a_page_of_the_portal(client, login, secretariat, invitee):
    response = login(secretariat).post(f"/units/setup/people/{invitee.pk}/invite/", {"next": "https://evil.example/"})
    assert response["Location"] == "/units/setup/people/"


@pytest.mark.parametrize("role", ["reporter_a", "unit_head_a", "steering"])
def test_only_the_secretariat_sends_invitations(client, login, invitee, role, request):
    response = login(request.getfixturevalue(role)).post(f"/units/setup/people/{invitee.pk}/invite/")
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_no_invitation_to_an_account_that_has_a_password_or_no_address(client, login, secretariat, reporter_a):
    client = login(secretariat)
    response = client.post(f"/units/setup/people/{reporter_a.pk}/invite/", follow=True)
    assert response.status_code == 200 and not Invitation.objects.exists()
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    nobody = UserFactory(username="khong.thu")
    nobody.set_unusable_password()
    nobody.save()
    client.post(f"/units/setup/people/{nobody.pk}/invite/")
    assert not Invitation.objects.exists()


def test_resending_is_a_post(client, login, secretariat, invitee):
    assert login(secretariat).get(f"/units/setup/people/{invitee.pk}/invite/").status_code == 405


# --- Where each account stands ---


def test_the_people_page_says_who_is_invited_and_who_is_activated(client, login, secretariat, invitee, reporter_a):
    rows = invitations_request(users=[invitee], by=secretariat)
    Invitation.objects.filter(pk=rows[0].pk).update(sent_at=timezone.now())
    never = UserFactory(username="chua.moi@xa.gov.vn", email="chua.moi@xa.gov.vn", full_name="Chưa Mời")
    never.set_unusable_password()
    never.save()
    page = login(secretariat).get("/units/setup/people/")
    assert page.status_code == 200
    statuses = {user.username: status.code for user, status in page.context["rows"]}
    assert statuses["lan@xa.gov.vn"] == "invited" and statuses["reporter.a"] == "activated"
    assert statuses["chua.moi@xa.gov.vn"] == "not_invited"
    assert timezone.localdate().strftime("%d/%m/%Y") in page.content.decode()
    pending = login(secretariat).get("/units/setup/people/", {"pending": "on"})
    assert {u.username for u, _s in pending.context["rows"]} == {"lan@xa.gov.vn", "chua.moi@xa.gov.vn"}
    found = login(secretariat).get("/units/setup/people/", {"q": "17700"})  # by unit code
    assert [u.username for u, _s in found.context["rows"]] == ["lan@xa.gov.vn"]


@pytest.mark.parametrize(("days", "code"), [(7, "invited"), (8, "expired")])
def test_an_invitation_shows_as_expired_after_its_life(invitee, days, code):
    sent = timezone.now() - dt.timedelta(days=days) + dt.timedelta(minutes=1 if days == 7 else 0)
    Invitation.objects.create(user=invitee, requested_at=sent, sent_at=sent)
    user = people_list().get(pk=invitee.pk)
    assert account_status(user).code == code


def test_an_invitation_not_sent_yet_shows_so(invitee):
    invitations_request(users=[invitee], by=None)
    assert account_status(people_list().get(pk=invitee.pk)).code == "sending"


def test_pending_means_no_password_and_no_live_invitation(invitee, commune_a2):
    assert list(users_to_invite()) == [invitee]  # never invited
    Invitation.objects.create(user=invitee, requested_at=timezone.now(), sent_at=timezone.now())
    assert list(users_to_invite()) == []  # a live invitation in the inbox
    old = timezone.now() - dt.timedelta(days=8)
    Invitation.objects.update(requested_at=old, sent_at=old)
    assert list(users_to_invite()) == [invitee]  # expired


# --- Forgotten passwords ---


def test_the_sign_in_page_offers_a_forgotten_password_link(client):
    body = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in body


def test_a_reset_link_is_mailed_after_commit_and_sets_a_new_password(
    client, reporter_a, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=reporter_a.pk).update(email="baocao@nghean.gov.vn")
    assert client.get("/accounts/password/reset/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "BaoCao@NgheAn.gov.vn"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"
    assert [m.to for m in mail.outbox] == [["baocao@nghean.gov.vn"]]
    path = link_in(mail.outbox[0])
    assert path.startswith("/accounts/password/reset/")
    response = set_password(client, path)
    assert response["Location"] == "/accounts/password/reset/complete/"
    reporter_a.refresh_from_db()
    assert reporter_a.check_password(NEW_PASSWORD)
    assert AccountChange.objects.filter(user=reporter_a, action=AccountAction.RESET_DONE).exists()
    assert client.get(path).context["validlink"] is False  # once only


def test_the_reset_page_never_says_whether_an_address_has_an_account(
    client, reporter_a, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=reporter_a.pk).update(email="baocao@nghean.gov.vn")
    answers = []
    for email in ("baocao@nghean.gov.vn", "khongco@nghean.gov.vn"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/accounts/password/reset/", {"email": email}, follow=True)
        answers.append((response.status_code, response.redirect_chain, response.content))
    assert answers[0] == answers[1]
    assert len(mail.outbox) == 1


def test_someone_still_invited_may_use_the_reset_link_too(client, invitee, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "lan@xa.gov.vn"})
    assert [m.to for m in mail.outbox] == [["lan@xa.gov.vn"]]


def test_a_disabled_account_gets_no_reset_link(client, invitee, django_capture_on_commit_callbacks):
    User.objects.filter(pk=invitee.pk).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": "lan@xa.gov.vn"})
    assert mail.outbox == []


def test_no_more_than_three_reset_mails_an_hour_to_one_address(client, invitee, django_capture_on_commit_callbacks):
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/accounts/password/reset/", {"email": "lan@xa.gov.vn"})
    assert len(mail.outbox) == 3  # the third is still sent
    with django_capture_on_commit_callbacks(execute=True):
        held = client.post("/accounts/password/reset/", {"email": "LAN@xa.gov.vn"})
    assert held["Location"] == response["Location"]  # the page says the same
    assert len(mail.outbox) == 3  # the fourth is not


@pytest.mark.parametrize(("minutes", "sent"), [(59, 0), (60, 1)])
def test_the_reset_limit_counts_the_last_hour(invitee, django_capture_on_commit_callbacks, minutes, sent):
    start = timezone.now()
    for _ in range(3):
        password_reset_request(email="lan@xa.gov.vn", now=start)
    with django_capture_on_commit_callbacks(execute=True):
        assert password_reset_request(email="lan@xa.gov.vn", now=start + dt.timedelta(minutes=minutes)) == sent


def test_the_reset_limit_is_a_setting(invitee, settings):
    settings.PASSWORD_RESET_MAILS_PER_HOUR = 1
    assert password_reset_request(email="lan@xa.gov.vn") == 1
    assert password_reset_request(email="lan@xa.gov.vn") == 0
