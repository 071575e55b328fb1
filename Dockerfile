# homeport's container image: the reconciler daemon (web UI, REST API, MCP and webhook on one port).
#   docker build -t homeport .                                # the common homelab: Proxmox, Docker, LXD,
#                                                             # Ansible, PostgreSQL
#   docker build --build-arg EXTRAS=all -t homeport:full .    # every provider (adds AWS, Azure, VMware,
#                                                             # Kubernetes: ~+130 MB)
#   docker build --build-arg EXTRAS=postgres,proxmox -t homeport:proxmox .
# BASE_IMAGE must be a Debian bookworm image with python3.11 that has venv (the official
# python:3.11-slim-bookworm does); the tests pass one built offline with debootstrap.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG UV_VERSION=0.13.8
ARG EXTRAS=postgres,proxmox,docker,lxd,ansible
# pip and uv trust the image's CA store (add a proxy's CA there), not only their bundled roots.
ENV UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# binutils: `strip` for trim-venv.sh (this stage only).
RUN apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends binutils && \
    rm -rf /var/lib/apt/lists/* && \
    python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
# Dependencies first (cached while only the code changes), then the project itself, not editable.
COPY pyproject.toml uv.lock README.md LICENSE ./
RUN extras=$(printf -- '--extra %s ' $(echo "$EXTRAS" | tr ',' ' ')) && \
    UV_PROJECT_ENVIRONMENT=/opt/homeport /opt/uv/bin/uv sync --frozen --no-dev --no-install-project \
        --no-cache --python python3 $extras
COPY reconciler reconciler
COPY mcp_server mcp_server
COPY charts charts
COPY desired-state desired-state
COPY migrations migrations
COPY ansible ansible
COPY terraform terraform
COPY deploy/container deploy/container
# Then what homeport never loads is dropped (deploy/container/trim-venv.sh says what and why).
RUN extras=$(printf -- '--extra %s ' $(echo "$EXTRAS" | tr ',' ' ')) && \
    UV_PROJECT_ENVIRONMENT=/opt/homeport /opt/uv/bin/uv sync --frozen --no-dev --no-editable \
        --no-cache --python python3 $extras && \
    deploy/container/trim-venv.sh /opt/homeport && \
    install -m 0755 deploy/container/entrypoint.sh /opt/homeport/bin/homeport-entrypoint && \
    install -m 0755 deploy/container/healthcheck.sh /opt/homeport/bin/homeport-healthcheck && \
    install -D -m 0644 deploy/container/start-bytecode.py /opt/homeport/share/homeport/start-bytecode.py

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="homeport" \
      org.opencontainers.image.description="GitOps for a homelab, with an MCP front door for AI agents" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/homeport-lab/homeport" \
      org.opencontainers.image.documentation="https://github.com/homeport-lab/homeport/blob/main/docs/quickstart.md"
# ssh: Ansible's configure step and Docker engines over ssh://. Nothing else from apt, and none of
# apt's caches (a base without debian's docker-clean config would keep ~80 MB of them).
# A lab mounted from the host belongs to another user: /etc/gitconfig lets libgit2 read it.
RUN apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-client && \
    apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old && \
    groupadd --system --gid 10001 homeport && \
    useradd --system --uid 10001 --gid homeport --home-dir /var/lib/homeport --shell /usr/sbin/nologin homeport && \
    install -d -o homeport -g homeport -m 0700 /var/lib/homeport && \
    printf '[safe]\n\tdirectory = *\n' > /etc/gitconfig
COPY --from=build /opt/homeport /opt/homeport
# The official base ships its standard library without bytecode, and the daemon (not root) cannot write
# any: compile just the modules the daemon and the CLI import (deploy/container/start-bytecode.py).
RUN /opt/homeport/bin/python3 /opt/homeport/share/homeport/start-bytecode.py
ENV PATH=/opt/homeport/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOMEPORT_STATE_DIR=/var/lib/homeport \
    HOMEPORT_DATABASE_URL=sqlite:////var/lib/homeport/state.db \
    HOMEPORT_PORT=9469
USER homeport:homeport
WORKDIR /var/lib/homeport
VOLUME ["/var/lib/homeport"]
EXPOSE 9469
# GET /healthz from bash alone (~5 ms; a Python probe costs ~150 ms of CPU each time), so checking every
# 2 s costs less than the former Python probe every 3 s and the container is reported healthy sooner.
HEALTHCHECK --interval=2s --timeout=3s --start-period=30s --retries=3 CMD ["homeport-healthcheck"]
ENTRYPOINT ["homeport-entrypoint"]
CMD ["daemon"]
