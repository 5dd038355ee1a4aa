"""``manage.py demo_user``: a demo participant with a fresh API token."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from earthbench.accounts.services import token_create, user_create


class Command(BaseCommand):
    help = "Create (or reuse) the demo user and print a new API token."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-password-123")
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--token-only", action="store_true")

    def handle(self, *args, **o):
        User = get_user_model()
        user = User.objects.filter(username=o["username"]).first()
        if user is None:
            user = user_create(username=o["username"], password=o["password"])
        _, key = token_create(user=user, name="demo")
        if o["token_only"]:
            self.stdout.write(key)
            return
        url = o["url"]
        self.stdout.write(
            f"""
Demo user: {o['username']} / {o['password']}   (log in at {url}/accounts/login/)
API token: {key}

Submit the sample file with curl (the README explains the Idempotency-Key):

  curl -sS -H "Authorization: Token {key}" \\
       -H "Idempotency-Key: demo-$(sha256sum var/demo-predictions.csv | cut -c1-16)" \\
       -F benchmark=eurosat-classification-v1 \\
       -F file=@var/demo-predictions.csv \\
       -F method_name="my first try" \\
       {url}/api/v1/submissions/

Then watch it: curl -sS -H "Authorization: Token {key}" {url}/api/v1/submissions/
Leaderboard:   curl -sS {url}/api/v1/benchmarks/eurosat-classification-v1/leaderboard/
"""
        )
