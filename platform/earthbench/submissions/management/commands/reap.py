from django.core.management.base import BaseCommand

from earthbench.submissions.services import reap_stuck_submissions


class Command(BaseCommand):
    help = "Requeue or fail submissions stuck past the scoring timeout."

    def handle(self, *args, **opts):
        self.stdout.write(str(reap_stuck_submissions()))
