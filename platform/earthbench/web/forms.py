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
    file = forms.FileField(label="Predictions file")
    kind = forms.ChoiceField(choices=Submission.Kind.choices, initial="predictions")
    method_name = forms.CharField(required=False, max_length=200, label="Method name")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    paper_url = forms.URLField(required=False, label="Paper URL", assume_scheme="https")
    code_url = forms.URLField(required=False, label="Code URL", assume_scheme="https")
    git_commit = forms.RegexField(r"^[0-9a-fA-F]{0,64}$", required=False, label="Git commit")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="ci")
    scope_read = forms.BooleanField(required=False, initial=True, label="read")
    scope_submit = forms.BooleanField(required=False, initial=True, label="submit")
    expires_in_days = forms.IntegerField(required=False, min_value=1, max_value=3650, label="Expires in (days)")
