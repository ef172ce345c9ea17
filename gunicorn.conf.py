"""gunicorn settings: threaded workers, so a long download streams without holding a process."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "16"))
# Streams of large originals may run for minutes; idle keep-alive connections do not.
timeout = 120
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Several instances on one host must not share a control socket.
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = "info"


def on_starting(server):
    # A bad setting stops gunicorn here with one line naming it ("Error: ..."), before any
    # worker boots and dies with a traceback.
    from service import check_settings

    check_settings()
