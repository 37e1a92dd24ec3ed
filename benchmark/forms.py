"""Forms of the server-rendered pages. They parse input only; services do the work."""

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm
from django.contrib.auth.forms import UserCreationForm
from django.template import loader

from benchmark.models import DESCRIPTION_MAX, METHOD_MAX, URL_MAX, Access
from benchmark.services.submissions import HTTP_URL


class SignupForm(UserCreationForm):
    """Username, email (for password resets) and password twice."""

    email = forms.EmailField(
        required=True, help_text="Used only to send you a password reset link."
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class SubmissionMetadataForm(forms.Form):
    """What a submission is: every field optional (the submission service checks them)."""

    method = forms.CharField(
        label="Method",
        max_length=METHOD_MAX,
        required=False,
        help_text="Its name on the leaderboard, e.g. LiRA (offline, 16 shadows).",
    )
    description = forms.CharField(
        label="Short description",
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    paper_url = forms.CharField(
        label="Paper URL",
        max_length=URL_MAX,
        required=False,
        validators=[HTTP_URL],
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    code_url = forms.CharField(
        label="Code URL",
        max_length=URL_MAX,
        required=False,
        validators=[HTTP_URL],
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    access = forms.ChoiceField(
        label="Access to the models",
        choices=[("", "not stated"), *Access.choices],
        required=False,
    )


class SubmissionUploadForm(SubmissionMetadataForm):
    """A prediction zip in MICO's layout, and optionally what it is; the submission service
    validates its content."""

    field_order = ["file"]

    file = forms.FileField(
        label="Submission zip",
        help_text=(
            "<code>&lt;track&gt;_&lt;scenario&gt;/&lt;phase&gt;/model_&lt;i&gt;/prediction.csv</code>"
            " for every dev and final model,"
            " optionally inside a <code>&lt;track&gt;/</code> folder."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )


class EmailPreferencesForm(forms.Form):
    """Which notices a participant wants by e-mail (all off until turned on)."""

    submission_results = forms.BooleanField(
        label="When one of my uploads is scored or fails", required=False
    )
    final_reveal = forms.BooleanField(
        label="When the final leaderboard of a track I took part in is revealed", required=False
    )


class PasswordResetForm(DjangoPasswordResetForm):
    """Django's reset form, its message queued to be sent by a worker (``send_mail`` is the
    hook Django gives): a mail server that is slow or down never holds up or fails the page."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        from benchmark import services

        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        services.email_password_reset_queue(
            user=context["user"], to=to_email, subject=subject, body=body
        )


def _attack_choices() -> list[tuple[str, str]]:
    import attacks  # imported on first use: the registry pulls in numpy, torch and friends

    return [
        (name, f"{name}: {attack.summary}") for name, attack in sorted(attacks.REGISTRY.items())
    ]


class AttackRunForm(forms.Form):
    """The reference attack an organizer runs as a baseline."""

    attack = forms.ChoiceField(choices=_attack_choices)
