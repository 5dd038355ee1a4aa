import os

from django.core.wsgi import get_wsgi_application

# Fail closed: production unless dev or test settings are chosen explicitly
# (`make demo`, pytest, .ci); production refuses to start without a real secret.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earthbench.settings.production")
application = get_wsgi_application()
