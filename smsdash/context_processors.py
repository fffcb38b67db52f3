from django.conf import settings


def runtime(request):
    """Lets every page say when jobs run inline (no Redis) instead of in background workers."""
    return {"jobs_inline": settings.JOBS_INLINE}
