from django.core.management.base import BaseCommand

from earthbench.submissions.tasks import reap_stuck_submissions


class Command(BaseCommand):
    help = (
        "Requeue or fail lost runs (stale heartbeat), queued submissions without a "
        "message, and submissions stuck past the scoring timeout (what beat runs)."
    )

    def handle(self, *args, **opts):
        self.stdout.write(str(reap_stuck_submissions()))
