"""An S3-compatible server for the tests: moto's S3 on 127.0.0.1.

Usage: moto_serve.py [PORT]   (0 or absent: a free port)

Prints "port N" on stdout once listening. Exits when stdin closes (the test
process that started it ended; not with MOTO_SERVE_NO_STDIN_WATCH=1, as
.ci/run starts it) or on SIGTERM.

moto checks a conditional put (If-None-Match: *, If-Match) and then stores
the object in two steps; in its threaded server two requests could both
pass the check. Here every request runs under one lock, so a conditional put
is atomic, as on S3.
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        with lock:
            return list(app(environ, start_response))

    server = make_server(
        "127.0.0.1",
        port,
        serialized,
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    os.environ["MOTO_PORT"] = str(server.server_port)

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            os._exit(0)

    if os.environ.get("MOTO_SERVE_NO_STDIN_WATCH") != "1":
        threading.Thread(target=watch_stdin, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"port {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
