"""Forms of the server-rendered pages. They parse input only; services do the work."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm


class SignupForm(UserCreationForm):
    """Username, email (for password resets) and password twice."""

    email = forms.EmailField(
        required=True, help_text="Used only to send you a password reset link."
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class SubmissionUploadForm(forms.Form):
    """A prediction zip in MICO's layout; the submission service validates its content."""

    file = forms.FileField(
        label="Submission zip",
        help_text=(
            "<code>&lt;track&gt;_&lt;scenario&gt;/&lt;phase&gt;/model_&lt;i&gt;/prediction.csv</code>"
            " for every dev and final model,"
            " optionally inside a <code>&lt;track&gt;/</code> folder."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )


def _attack_choices() -> list[tuple[str, str]]:
    import attacks  # imported on first use: the registry pulls in numpy, torch and friends

    return [
        (name, f"{name}: {attack.summary}") for name, attack in sorted(attacks.REGISTRY.items())
    ]


class AttackRunForm(forms.Form):
    """The reference attack an organizer runs as a baseline."""

    attack = forms.ChoiceField(choices=_attack_choices)
