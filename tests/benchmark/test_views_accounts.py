"""Accounts from a browser: sign up, log in, log out, reset a forgotten password."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from benchmark.models import EmailPreferences, OutgoingEmail

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a-long-enough-passphrase-42"


def test_signup_creates_the_account_and_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "ada",
            "email": "ada@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="ada").email == "ada@example.org"
    assert "ada" in client.get("/").content.decode()


def test_signup_lists_every_problem(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "", "email": "not-an-email", "password1": "x", "password2": "y"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in html
    assert "Enter a valid email address." in html
    assert "The two password fields didn" in html
    assert not User.objects.exists()


def test_signup_page_renders_for_anonymous_and_redirects_members(client, django_user_model):
    page = client.get("/accounts/signup/")
    assert page.status_code == 200
    assert 'name="password2"' in page.content.decode()
    client.force_login(django_user_model.objects.create_user("bob", password=PASSWORD))
    assert client.get("/accounts/signup/").status_code == 302


def test_login_and_logout(client, django_user_model):
    django_user_model.objects.create_user("cy", password=PASSWORD)
    assert client.get("/accounts/login/").status_code == 200
    wrong = client.post("/accounts/login/", {"username": "cy", "password": "wrong"})
    assert "Please enter a correct username and password" in wrong.content.decode()
    ok = client.post("/accounts/login/", {"username": "cy", "password": PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/"
    assert "Log out" in client.get("/").content.decode()
    client.post("/accounts/logout/")
    assert "Log in" in client.get("/").content.decode()


def test_password_reset_by_email(client, django_user_model, django_capture_on_commit_callbacks):
    django_user_model.objects.create_user("di", email="di@example.org", password=PASSWORD)
    assert client.get("/accounts/password_reset/").status_code == 200
    with django_capture_on_commit_callbacks() as queued:
        sent = client.post("/accounts/password_reset/", {"email": "di@example.org"})
    assert sent.status_code == 302
    assert not mail.outbox, "the request only queues the message"
    email = OutgoingEmail.objects.get(kind="password-reset")
    assert email.to == "di@example.org" and email.state == "pending"
    for callback in queued:
        callback()  # the job goes to the (eager) worker, which sends it
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["di@example.org"]
    email.refresh_from_db()
    assert email.state == "sent" and email.body == "", "the signed link is not kept"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", str(mail.outbox[0].body))
    assert link, mail.outbox[0].body
    form_page = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form_page.content.decode()
    new = "another-long-passphrase-43"
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert "Password changed" in done.content.decode()
    assert client.login(username="di", password=new)


def test_the_account_page_turns_e_mail_notices_on_and_off(client, django_user_model):
    user = django_user_model.objects.create_user("ed", email="ed@example.org", password=PASSWORD)
    assert client.get("/accounts/email/").status_code == 302, "log in first"
    client.force_login(user)
    page = client.get("/accounts/email/").content.decode()
    assert "ed@example.org" in page and 'href="/accounts/email/"' in page, "linked from the menu"
    assert 'name="submission_results"' in page and "checked" not in page, "all off at first"
    saved = client.post("/accounts/email/", {"submission_results": "on"}, follow=True)
    assert "Your e-mail preferences are saved." in saved.content.decode()
    preferences = EmailPreferences.objects.get(user=user)
    assert (preferences.submission_results, preferences.final_reveal) == (True, False)
    client.post("/accounts/email/", {})
    preferences.refresh_from_db()
    assert not preferences.submission_results, "an unticked box turns it off"
