"""nginx configurations for the HTTP, HTTPS and TLS echo ceilings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 20000;
    use epoll;
}}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} backlog=4096{ssl};
{ssl_files}
        location / {{
            default_type text/plain;
            return 200 "Hello, World!";
        }}
    }}
}}
"""


# TLS echo: nginx's stream module ends TLS and proxies the plaintext to the C
# echo server; both processes' CPU counts (nginx has no echo of its own).
NGINX_STREAM_CONF = """\
load_module {module};
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 20000;
    use epoll;
}}
stream {{
    server {{
        listen 127.0.0.1:{port} ssl backlog=4096;
{ssl_files}
        proxy_pass 127.0.0.1:{backend};
        proxy_buffer_size 64k;
        tcp_nodelay on;
    }}
}}
"""

NGINX_SSL_FILES = """\
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;"""


def nginx_conf(
    tmp: Path,
    port: int,
    tls: tuple[Path, Path] | None,
    stream_module: Path | None = None,
    backend: int | None = None,
) -> str:
    """nginx.conf for ``port``: HTTP ``return 200``, over TLS with ``tls`` (cert, key).

    With ``stream_module`` and ``backend``, a TLS echo instead: the stream
    module ends TLS and proxies the plaintext to the echo server on ``backend``.
    """
    ssl_files = "" if tls is None else NGINX_SSL_FILES.format(cert=tls[0], key=tls[1])
    if stream_module is not None and backend is not None:
        return NGINX_STREAM_CONF.format(
            module=stream_module, tmp=tmp, port=port, backend=backend, ssl_files=ssl_files
        )
    ssl = "" if tls is None else " ssl"
    return NGINX_CONF.format(tmp=tmp, port=port, ssl=ssl, ssl_files=ssl_files)
