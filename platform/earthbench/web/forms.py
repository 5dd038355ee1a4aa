from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from earthbench.submissions.models import Submission


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=False)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class SubmitForm(forms.Form):
    file = forms.FileField(
        label="Predictions file",
        help_text="A predictions file in the format of the Data tab, or a `docker save` "
        "tarball for a container submission.",
    )
    kind = forms.ChoiceField(
        choices=Submission.Kind.choices, initial="predictions", label="Submission kind"
    )
    method_name = forms.CharField(required=False, max_length=200, label="Method name")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Description"
    )
    paper_url = forms.URLField(required=False, label="Paper URL", assume_scheme="https")
    code_url = forms.URLField(required=False, label="Code URL", assume_scheme="https")
    git_commit = forms.RegexField(
        r"^[0-9a-fA-F]{0,64}$",
        required=False,
        label="Git commit",
        error_messages={"invalid": "a git commit is up to 64 hexadecimal characters"},
    )

    def __init__(self, *args, benchmark=None, **kwargs):
        super().__init__(*args, **kwargs)
        if benchmark is None:
            return
        choices = [
            (value, label)
            for value, label in Submission.Kind.choices
            if (value == "predictions" and benchmark.accepts_predictions)
            or (value == "container" and benchmark.accepts_containers)
        ]
        self.fields["kind"].choices = choices
        if len(choices) == 1:
            self.fields["kind"].initial = choices[0][0]
            self.fields["kind"].widget = forms.HiddenInput()
        file = self.fields["file"]
        if not benchmark.accepts_containers:
            file.help_text = "A predictions file in the format of the Data tab."
        elif not benchmark.accepts_predictions:
            file.label = "Model container"
            file.help_text = (
                "A `docker save` tarball of your model image (the container contract "
                "is in the docs; `earthbench push-image` does this for you)."
            )
        else:
            file.label = "Predictions file or model container"


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="ci")
    scope_read = forms.BooleanField(required=False, initial=True, label="read")
    scope_submit = forms.BooleanField(required=False, initial=True, label="submit")
    scope_tokens = forms.BooleanField(required=False, initial=False, label="tokens")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Expires in (days)"
    )


class TeamCreateForm(forms.Form):
    name = forms.CharField(min_length=2, max_length=100, label="Team name")


class TeamJoinForm(forms.Form):
    code = forms.CharField(max_length=32, label="Join code")


class BenchmarkYamlForm(forms.Form):
    file = forms.FileField(label="benchmark.yaml")
