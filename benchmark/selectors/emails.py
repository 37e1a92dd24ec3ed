"""Reading what a participant asked to be told by e-mail."""

from django.contrib.auth.models import User

from benchmark.models import EmailPreferences


def email_preferences_get(*, user: User) -> EmailPreferences:
    """The user's e-mail preferences; every notice off (an unsaved row) until they set one."""
    return EmailPreferences.objects.filter(user=user).first() or EmailPreferences(user=user)
