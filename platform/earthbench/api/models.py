from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """The first response to a creating POST sent with an ``Idempotency-Key``.

    A retry with the same key and body gets this response again; the same key
    with another body is a 409. (Submissions have their own, content-aware rule.)
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key", "endpoint"], name="uniq_idempotency_record")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"
